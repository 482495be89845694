"""Item identity: which entries are "the same item", and whether an item's content changed.

Identity, in order of preference:
  1. the GUID, normalised: URL-like GUIDs are compared without their scheme and with the host
     lower-cased, so a WordPress feed flipping between http:// and https:// does not duplicate;
  2. else the link, normalised the same way;
  3. else a hash of title + publication date + content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

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


# -- one story across feeds ---------------------------------------------------------------
#
# An item's key identifies it within ONE feed. The same article can reach the archive through
# several feeds (a dump imported, then the live feed polled; a tag feed and the main feed), with
# the same or a different GUID. `Story` holds what identifies an article whatever feed carried
# it; `same_story` decides, without the database, whether two are one article.

_TRACKING_PARAMS = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")


@dataclass(frozen=True)
class Story:
    """What identifies an article across feeds ("" where the item has none)."""

    guid: str  # the GUID normalised, when it names the article everywhere (a URL or a URI)
    link: str  # the canonical link (see canonical_link)
    text_hash: str  # hash of title + text, whitespace folded; "" without text


def canonical_link(url: str) -> str:
    """The link as the article's address: scheme and host case, default port, a trailing
    slash, tracking parameters (utm_*, fbclid, ...) and the fragment do not count. A bare
    site address (no path, no query) names a site, not an article: ""."""
    normal = normalise_url(url)
    if normal is None:
        return ""
    parts = urlsplit("//" + normal)
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(_TRACKING_PARAMS)
        ]
    )
    path = parts.path.rstrip("/")
    if not path and not query:
        return ""
    return parts.netloc + path + ("?" + query if query else "")


def story_guid(guid: str) -> str:
    """The GUID when it can name the article across feeds: a URL, or a URI with a scheme
    (tag:, urn:). A bare number or word ("1234") is unique within its feed only: ""."""
    guid = guid.strip()
    normal = normalise_url(guid)
    if normal is not None:
        return normal
    scheme, sep, rest = guid.partition(":")
    if sep and rest and scheme.isascii() and scheme.isalpha() and len(guid) >= 8:
        return guid
    return ""


def text_hash(title: str, text: str) -> str:
    """The words of the article: title and text with whitespace folded; "" without text (a
    title alone, "Weekly update", is not one article)."""
    body = " ".join(text.split())
    if not body:
        return ""
    return _digest(" ".join(title.split()), body)


def story_of(guid: str, link: str, title: str, text: str) -> Story:
    return Story(guid=story_guid(guid), link=canonical_link(link), text_hash=text_hash(title, text))


def same_story(a: Story, b: Story) -> bool:
    """One article: the same GUID, or the same canonical link, or the same words."""
    return any(x and x == y for x, y in zip(astuple(a), astuple(b), strict=True))


def match_story(story: Story, candidates: Sequence[tuple[int, Story]]) -> int | None:
    """The first candidate (by id: the oldest item) that is the same story, or None."""
    for item_id, other in sorted(candidates, key=lambda c: c[0]):
        if same_story(story, other):
            return item_id
    return None


def group_stories(stories: Sequence[tuple[int, int, Story]]) -> dict[int, int]:
    """Items (id, feed id, story) that are one story carried by DIFFERENT feeds, grouped: the
    id of each item to fold into another -> the id it folds into (the oldest of its group).
    Items of one feed are never grouped with each other (within a feed, the key decides)."""
    canonical: dict[int, int] = {}  # item id -> the group's item id
    feeds_of: dict[int, set[int]] = {}  # group's item id -> its feeds
    seen: dict[tuple[int, str], int] = {}  # (field, value) -> group's item id
    for item_id, feed_id, story in sorted(stories, key=lambda s: s[0]):
        values = [(n, v) for n, v in enumerate(astuple(story)) if v]
        group = next(
            (
                g
                for g in (seen.get(v) for v in values)
                if g is not None and feed_id not in feeds_of[g]
            ),
            None,
        )
        if group is None:
            group = item_id
            feeds_of[group] = set()
        else:
            canonical[item_id] = group
        feeds_of[group].add(feed_id)
        for v in values:
            seen.setdefault(v, group)
    return canonical
