"""Feed autodiscovery: the feeds an HTML page announces with
<link rel="alternate" type="application/rss+xml|atom+xml" href="…"> (the RSS Autodiscovery
spec; what Miniflux and browsers follow). Pure: page bytes in, candidate URLs out."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree, html

from bot.urls import safe_url

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/xml",
     "text/xml", "application/rdf+xml"}
)


@dataclass(frozen=True)
class Candidate:
    url: str
    title: str
    type: str


def candidates(page: bytes, base: str) -> list[Candidate]:
    """The page's announced feeds, resolved against its <base href> or URL, http(s) only,
    each once, in page order."""
    try:
        doc = html.fromstring(page, parser=html.HTMLParser(no_network=True, huge_tree=False))
    except (etree.ParserError, ValueError):
        return []
    base_tag = doc.find(".//base")
    base_href = base_tag.get("href") if base_tag is not None else None
    base = safe_url(base_href, base=base) if base_href else base
    found: dict[str, Candidate] = {}
    for link in doc.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rels or kind not in FEED_TYPES:
            continue
        url = safe_url(link.get("href"), base=base)
        if url and url not in found:
            found[url] = Candidate(url, " ".join((link.get("title") or "").split()), kind)
    return list(found.values())


def looks_like_html(body: bytes, content_type: str) -> bool:
    """An HTML page rather than a feed: served as text/html, or starting like one (servers
    often send feeds as text/html too, so the body decides when it starts like XML)."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:256].lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return True
    return content_type.split(";")[0].strip().lower() == "text/html" and not head.startswith(
        (b"<?xml", b"<rss", b"<feed", b"<rdf")
    )
