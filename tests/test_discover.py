"""Feed autodiscovery on HTML pages."""

from __future__ import annotations

from bot.discover import candidates, looks_like_html

PAGE = b"""<!doctype html><html><head><title>News</title>
<link rel="stylesheet" href="/s.css">
<link rel="alternate" type="application/rss+xml" title="All news" href="/feed/">
<link rel="alternate" type="application/atom+xml" title="Reviews" href="https://x.example/reviews.atom">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="alternate" type="application/rss+xml" title="again" href="/feed/">
<link rel="alternate" hreflang="fr" href="/fr/">
</head><body></body></html>"""


def test_announced_feeds_resolve_against_the_page() -> None:
    found = candidates(PAGE, "https://x.example/news/")
    assert [(c.url, c.title) for c in found] == [
        ("https://x.example/feed/", "All news"),
        ("https://x.example/reviews.atom", "Reviews"),
    ]


def test_base_href_wins_over_the_page_url() -> None:
    page = b'<html><head><base href="https://cdn.example/"><link rel="alternate" ' \
        b'type="application/rss+xml" href="f.xml"></head></html>'
    assert [c.url for c in candidates(page, "https://x.example/")] == ["https://cdn.example/f.xml"]


def test_a_page_without_links_has_no_candidates() -> None:
    assert candidates(b"<html><body>no feeds</body></html>", "https://x.example/") == []


def test_html_is_told_from_a_feed_served_as_text_html() -> None:
    assert looks_like_html(b"  <!DOCTYPE html><html>", "")
    assert looks_like_html(b"<div>hi</div>", "text/html; charset=utf-8")
    assert not looks_like_html(b'<?xml version="1.0"?><rss>', "text/html")
    assert not looks_like_html(b"<rss version='2.0'>", "application/rss+xml")
