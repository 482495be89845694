"""The one URL policy: only http and https become links, wherever a link reaches a reader
(archive intake, e-mail, chat, exports, the web). Anything else (javascript:, data:,
vbscript:, file:, mailto: in an item link, …) is not a link: callers get "" and show text."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

LINK_SCHEMES = frozenset({"http", "https"})
# Browsers drop these anywhere in a URL before reading its scheme ("java\tscript:" runs).
_INVISIBLE = dict.fromkeys([*range(0x00, 0x21), 0x7F], None)


def safe_url(url: str | None, *, base: str | None = None) -> str:
    """`url` resolved against `base` (the feed's or page's own URL) when relative, if the
    result is an absolute http(s) URL with a host; else "". Whitespace around is removed."""
    if not url:
        return ""
    url = url.strip()
    # A relative URL that hides a scheme behind control characters must not sneak through
    # urljoin as a path: judge the scheme on the string a browser would see.
    squeezed = url.translate(_INVISIBLE)
    if not squeezed:
        return ""
    if base and not _has_scheme(squeezed):
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced [ in the host, for example
        return ""
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.hostname:
        return ""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return ""  # a tab or newline inside a URL is never a real link
    return url.replace(" ", "%20")


def _has_scheme(url: str) -> bool:
    head, sep, _ = url.partition(":")
    return bool(sep) and head.isascii() and head[:1].isalpha() and all(
        c.isalnum() or c in "+-." for c in head
    )
