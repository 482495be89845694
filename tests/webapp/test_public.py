"""The public pages over the dump's ten articles, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from bot.archive import Archive
from bot.archive.search import encode_cursor
from bot.config import Config, WebConfig
from bot.pipeline import import_files
from bot.webapp import create_app, public
from tests.conftest import DUMP
from tests.folded import fold_live_copies

ATOM = "{http://www.w3.org/2005/Atom}"


def _item_links(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<a class="title" href="/item/(\d+)"', html)]


def _dates(html: str) -> list[str]:
    return re.findall(r'<time datetime="([^"]+)"', html.split('<main id="main">', 1)[1])


def _next(html: str) -> str | None:
    found = re.search(r'href="([^"]+)" rel="next"', html)
    return found.group(1).replace("&amp;", "&") if found else None


# -- latest ---------------------------------------------------------------------------


def test_latest_lists_every_item_newest_first(client: TestClient, filled: Archive) -> None:
    page = client.get("/").text
    assert len(_item_links(page)) == 10
    dates = _dates(page)
    assert dates == sorted(dates, reverse=True) and len(dates) == 10


def test_latest_pages_by_keyset_without_gaps_or_repeats(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(public, "PAGE_SIZE", 4)
    seen: list[int] = []
    url: str | None = "/"
    while url is not None:
        page = client.get(url).text
        seen += _item_links(page)
        url = _next(page)
    assert len(seen) == 10 and len(set(seen)) == 10


def test_latest_filters_by_date(client: TestClient) -> None:
    page = client.get("/?since=2025-01-01&until=2025-03-11").text
    dates = _dates(page)
    assert dates and all("2025-01-01" <= d[:10] <= "2025-03-11" for d in dates)
    assert "2025-03-11" in {d[:10] for d in dates}  # "to" includes its whole day


def test_latest_filters_by_feed(client: TestClient, filled: Archive) -> None:
    (feed,) = filled.feeds()
    assert len(_item_links(client.get(f"/?feed={feed.key}").text)) == 10
    page = client.get("/?feed=no-such-feed").text
    assert _item_links(page) == [] and "No items match these filters." in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=yesterday", "since: &#39;yesterday&#39; is not a date like 2025-03-31"),
        ("since=2025-05-01&until=2025-01-01", "is after"),
        ("cursor=forged", "the page link is not valid"),
    ],
)
def test_a_bad_filter_is_one_line_and_400(client: TestClient, query: str, message: str) -> None:
    response = client.get(f"/?{query}")
    assert response.status_code == 400
    assert message in response.text and "Traceback" not in response.text


# -- item -------------------------------------------------------------------------------


def test_item_page_shows_title_source_date_and_feed(client: TestClient, filled: Archive) -> None:
    stored = filled.items(limit=1)[0]
    page = client.get(f"/item/{stored.id}").text
    assert "<h1>Racial bias greatly affects child protection practice" in page
    assert f'<a href="{stored.item.link}" rel="noopener noreferrer nofollow">' in page
    assert '<time datetime="2025-04-03T07:06:37Z">3 Apr 2025</time>' in page
    assert filled.feeds()[0].title in page


def test_item_page_shows_figures_as_claims_with_the_figure_in_bold(
    client: TestClient, filled: Archive
) -> None:
    stored = filled.items(limit=1)[0]
    page = client.get(f"/item/{stored.id}").text
    assert (
        "<li>A Community Care poll with almost <strong>1,000</strong> votes revealed that 71% "
        in page
    )


def test_item_page_shows_quotes_with_speaker_and_role(client: TestClient, filled: Archive) -> None:
    stored = next(
        s for s in filled.items() if s.extraction and any(q.role for q in s.extraction.quotes)
    )
    quote = next(q for q in stored.extraction.quotes if q.role)  # type: ignore[union-attr]
    page = client.get(f"/item/{stored.id}").text
    assert f">{quote.speaker}</a>, {quote.role}</span>" in page


def test_item_text_marks_each_figure_at_its_span(client: TestClient, filled: Archive) -> None:
    stored = filled.items(limit=1)[0]
    page = client.get(f"/item/{stored.id}").text
    text = page.split('<div class="text">', 1)[1]
    marked = re.findall(r'<mark class="figure">([^<]+)</mark>', text)
    assert marked == [f.text for f in stored.extraction.figures]  # type: ignore[union-attr]
    assert 'almost <mark class="figure">1,000</mark> votes' in page


def test_unknown_item_is_404(client: TestClient) -> None:
    response = client.get("/item/999999")
    assert response.status_code == 404 and "No item has this number." in response.text


def test_an_item_number_past_64_bits_is_404(client: TestClient) -> None:
    response = client.get("/item/99999999999999999999")
    assert response.status_code == 404 and "No item has this number." in response.text


def test_a_cursor_holding_a_number_past_64_bits_is_400(client: TestClient) -> None:
    response = client.get(f"/?cursor={encode_cursor('l', None, 10**30)}")
    assert response.status_code == 400 and "the page link is not valid" in response.text


# -- search -----------------------------------------------------------------------------


def test_search_highlights_the_words_in_snippets(client: TestClient) -> None:
    page = client.get("/search?q=racism").text
    assert _item_links(page)
    assert re.search(r"<mark>racism</mark>", page, re.IGNORECASE)


def test_search_without_words_shows_the_form_only(client: TestClient) -> None:
    page = client.get("/search").text
    assert '<input type="search" name="q"' in page and _item_links(page) == []


def test_search_filters_by_speaker_and_figures(client: TestClient, filled: Archive) -> None:
    with_figures = {s.id for s in filled.items() if s.extraction and s.extraction.figures}
    found = set(_item_links(client.get("/search?q=children&figures=1").text))
    assert found and found <= with_figures
    speaker = next(
        q.speaker
        for s in filled.items()
        for q in (s.extraction.quotes if s.extraction else ())
        if q.speaker
    )
    said = {
        s.id
        for s in filled.items()
        if s.extraction and any(q.speaker == speaker for q in s.extraction.quotes)
    }
    found = set(
        _item_links(
            client.get(
                "/search", params={"q": "the OR children OR social", "speaker": speaker}
            ).text
        )
    )
    assert found and found <= said


def test_search_pages_keep_the_filters(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public, "PAGE_SIZE", 2)
    first = client.get("/search?q=social&since=2024-01-01").text
    link = _next(first)
    assert link is not None and "q=social" in link and "since=2024-01-01" in link
    assert not set(_item_links(first)) & set(_item_links(client.get(link).text))


def test_search_links_its_atom_feed(client: TestClient) -> None:
    page = client.get("/search?q=panel").text
    assert '<link rel="alternate" type="application/atom+xml"' in page
    assert 'href="/search.atom?q=panel"' in page


# -- speakers ---------------------------------------------------------------------------


def test_speakers_lists_everyone_quoted_with_counts(client: TestClient, filled: Archive) -> None:
    page = client.get("/speakers").text
    assert '<a href="/speakers/Amanda%20Allard">Amanda Allard</a>' in page
    rows = re.findall(r'<td class="num">(\d+)</td>', page)
    assert rows and all(int(n) >= 1 for n in rows)


def test_speaker_page_lists_their_quotes_with_dates_and_items(client: TestClient) -> None:
    page = client.get("/speakers/Amanda%20Allard").text
    assert "<h1>What Amanda Allard said</h1>" in page
    assert "life can be like imprisonment" in page
    assert re.search(r'<a href="/item/\d+">‘Door could be open to abuse’', page)
    assert "<time datetime=" in page


def test_unknown_speaker_is_404(client: TestClient) -> None:
    assert client.get("/speakers/Nobody%20Here").status_code == 404


# -- out of the site --------------------------------------------------------------------


def test_search_as_atom_is_a_feed_of_item_pages(client: TestClient) -> None:
    response = client.get("/search.atom?q=panel")
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    entries = root.findall(f"{ATOM}entry")
    assert entries and root.findtext(f"{ATOM}title") == "reportbot: panel"
    for entry in entries:
        page = entry.find(f"{ATOM}link[@rel='alternate']")
        assert page is not None
        assert re.fullmatch(r"https://bot\.example\.org/item/\d+", page.get("href", ""))


def test_atom_without_words_is_400(client: TestClient) -> None:
    assert client.get("/search.atom").status_code == 400


def test_api_lists_items_newest_first_with_pages(client: TestClient) -> None:
    first = client.get("/api/items?limit=6").json()
    assert len(first["items"]) == 6 and first["next_cursor"]
    rest = client.get(f"/api/items?limit=6&cursor={first['next_cursor']}").json()
    assert len(rest["items"]) == 4 and rest["next_cursor"] is None
    ids = [i["id"] for i in first["items"] + rest["items"]]
    assert len(set(ids)) == 10
    item = first["items"][0]
    assert set(item) == {"id", "feed", "guid", "title", "link", "published", "page", "snippet"}
    assert item["page"] == f"https://bot.example.org/item/{item['id']}"


def test_api_searches_and_filters_by_since(client: TestClient) -> None:
    found = client.get("/api/items?q=panel&since=2025-03-01T00:00:00Z").json()["items"]
    assert found and all(i["published"] >= "2025-03-01" for i in found)


def test_api_bad_input_is_a_json_400(client: TestClient) -> None:
    response = client.get("/api/items?since=soon")
    assert response.status_code == 400
    assert json.loads(response.text) == {"error": "since: 'soon' is not a date or ISO 8601 time"}


# -- rows folded into another story (migration 0011) ----------------------------------


@pytest.fixture
def folded_client(archive: Archive, web_config: WebConfig) -> Iterator[tuple[TestClient, int, int]]:
    """The dump's articles each copied under a second feed before 0011, then migrated; the
    site over it, with one (copy id, story id)."""
    import_files(archive, [DUMP])
    copy, story = next(iter(fold_live_copies(archive).items()))
    app = create_app(Config(web=web_config), archive.url)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client, copy, story


def test_item_page_of_a_folded_copy_redirects_to_its_story(
    folded_client: tuple[TestClient, int, int],
) -> None:
    client, copy, story = folded_client
    response = client.get(f"/item/{copy}")
    assert response.status_code == 301 and response.headers["location"] == f"/item/{story}"


def test_listings_leave_out_folded_copies(folded_client: tuple[TestClient, int, int]) -> None:
    client, copy, _ = folded_client
    assert len(_item_links(client.get("/").text)) == 10
    assert copy not in _item_links(client.get("/").text)
    assert copy not in _item_links(client.get("/search?q=Racial").text)
    api = client.get("/api/items?limit=50").json()["items"]
    assert len(api) == 10 and copy not in [i["id"] for i in api]
