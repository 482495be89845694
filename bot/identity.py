"""Item identity: which entries are "the same item", and whether an item's content changed.

Identity, in order of preference:
  1. the GUID, normalised: URL-like GUIDs are compared without their scheme and with the host
     lower-cased, so a WordPress feed flipping between http:// and https:// does not duplicate;
  2. else the link, normalised the same way;
  3. else a hash of title + publication date + content.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_url(value: str) -> str | None:
    """`value` without scheme, with a lower-case host and no default port; None if not a URL."""
    value = value.strip()
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if port is not None and port != _DEFAULT_PORTS[parts.scheme.lower()]:
        host = f"{host}:{port}"
    rest = parts.path or "/"
    if parts.query:
        rest += "?" + parts.query
    if parts.fragment:
        rest += "#" + parts.fragment
    return host + rest


def item_key(guid: str, link: str, title: str, published: datetime | None, content: str) -> str:
    """The identity key of an item within its feed."""
    guid = guid.strip()
    if guid:
        return "guid:" + (normalise_url(guid) or guid)
    link = link.strip()
    if link:
        return "link:" + (normalise_url(link) or link)
    stamp = published.isoformat() if published else ""
    return "hash:" + _digest(title.strip(), stamp, content.strip())


def content_hash(title: str, summary: str, text: str) -> str:
    """What decides whether an item was edited: its words, not its metadata or markup."""
    return _digest(title, summary, text)


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")  # unit separator: ("ab", "c") and ("a", "bc") differ
    return h.hexdigest()
