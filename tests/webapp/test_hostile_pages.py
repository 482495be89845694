"""A hostile feed (markup, event handlers and javascript: URLs in titles, text, quotes,
speakers and roles) renders inert on every page: parsed as a browser would, no page holds a
script, a handler attribute or a link to anything but http(s) or the site itself. The browser
check (no dialog, no console error) is tests/webapp/test_browser.py."""

from __future__ import annotations

import re

import pytest
from lxml import html as lxml_html
from starlette.testclient import TestClient

from bot.archive import Archive

URL_ATTRIBUTES = ("href", "src", "action", "formaction", "srcset", "data", "poster")


def _pages(archive: Archive, client: TestClient) -> list[str]:
    ids = [s.id for s in archive.items() if s.feed_key.startswith("hostile")]
    speakers = re.findall(r'href="(/speakers/[^"]+)"', client.get("/speakers").text)
    return [
        "/",
        *(f"/item/{n}" for n in ids),
        "/search?q=alert",
        "/search?q=script",
        "/search?q=councils&figures=1",
        "/speakers",
        *speakers,
    ]


def _inert(page: str, path: str) -> None:
    tree = lxml_html.fromstring(page)
    assert not tree.xpath("//script|//iframe|//object|//embed|//svg|//img|//style"), path
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (path, element.tag, name)
            if name.lower() in URL_ATTRIBUTES:
                assert re.match(r"(https?://|/(?!/)|\?|#)", value), (path, name, value)


def test_every_page_of_a_hostile_archive_is_inert(
    hostile: Archive, hostile_client: TestClient
) -> None:
    pages = _pages(hostile, hostile_client)
    assert len(pages) > 8
    for path in pages:
        response = hostile_client.get(path)
        assert response.status_code == 200, path
        _inert(response.text, path)


def test_hostile_strings_are_shown_as_text(hostile: Archive, hostile_client: TestClient) -> None:
    """Escaped, not dropped: a reader sees what the feed said."""
    (facts,) = [s for s in hostile.items() if s.feed_key == "hostile-facts"]
    page = hostile_client.get(f"/item/{facts.id}").text
    assert "&lt;svg onload=alert(&#39;t&#39;)&gt;Facts" in page
    assert "&lt;img src=x onerror=alert(&#39;speaker&#39;)&gt; Eve" in page
    assert "javascript:alert(&#39;role&#39;)" in page  # the role, as text
    assert "Read at the source" not in page  # its javascript: link is no link


@pytest.mark.parametrize("path", ["/search.atom?q=alert", "/api/items?q=alert"])
def test_feeds_out_carry_hostile_strings_as_text(hostile_client: TestClient, path: str) -> None:
    body = hostile_client.get(path).text
    assert "<script" not in body and "javascript:" not in body
