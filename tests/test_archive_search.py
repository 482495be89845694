"""Search, speakers and newest-first pages: one table of cases, run on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot import schema
from bot.archive import Archive
from bot.archive.search import decode_cursor, encode_cursor
from bot.errors import QueryError
from bot.identity import item_key
from bot.models import Extraction, FeedInfo, Figure, Item, ParsedFeed, Quote
from bot.searchquery import parse
from tests.folded import fold_live_copies

FEED_A = FeedInfo(title="Care news", link="https://a.example.org/")
FEED_B = FeedInfo(title="Inspections", link="https://b.example.org/")


def _figure(text: str, claim: str) -> Figure:
    return Figure(text, 0, len(text), "percent", 10.0, None, None, "%", "", claim, 0.9, claim)


def _quote(text: str, speaker: str, role: str) -> Quote:
    return Quote(text, 0, len(text), speaker, role, "full", text)


# guid: (feed, title, text, published, figures, quotes)
CORPUS: dict[str, tuple[FeedInfo, str, str, datetime, tuple[Figure, ...], tuple[Quote, ...]]] = {
    "g1": (
        FEED_A,
        "Neglect review published",
        "The panel found neglect in many families. Councils must act on the findings.",
        datetime(2025, 1, 1, tzinfo=UTC),
        (_figure("12%", "12% of reviews cited neglect"),),
        (_quote("We must act now", "Annie Hudson", "panel chair"),),
    ),
    "g2": (
        FEED_A,
        "Funding for adoption",
        "Councils cut adoption budgets while fostering placements rose sharply.",
        datetime(2025, 2, 1, tzinfo=UTC),
        (),
        (),
    ),
    "g3": (
        FEED_B,
        "Inspection results",
        "Ofsted reported that cases of neglect rose in the north.",
        datetime(2025, 3, 1, tzinfo=UTC),
        (_figure("10%", "neglect cases rose 10%"),),
        (_quote("Standards are slipping", "annie  hudson", "chair of the panel"),),
    ),
    "g4": (
        FEED_B,
        "Social media and safeguarding",
        "Social media harms children; self-neglect among teenagers is rising.",
        datetime(2024, 6, 1, tzinfo=UTC),
        (),
        (_quote("Platforms must do more", "Jahnine Davis", "panel member"),),
    ),
    "g5": (
        FEED_A,
        "Reforms announced",
        "The chair of the panel welcomed reforms to fostering and adoption. Budgets remain tight.",
        datetime(2024, 9, 1, tzinfo=UTC),
        (),
        (),
    ),
}

IDS = {guid: n for n, guid in enumerate(CORPUS, start=1)}


@pytest.fixture
def corpus(archive: Archive) -> Archive:
    """An archive holding CORPUS, in order (item ids 1..5), with its figures and quotes."""
    for guid, (feed, title, text, published, figures, quotes) in CORPUS.items():
        item = Item(
            key=item_key(guid, "", title, published, text),
            guid=guid,
            link=f"https://x.example.org/{guid}",
            title=title,
            published=published,
            text=text,
        )
        doc = ParsedFeed(feed=feed, items=(item,), source="test", format="test")
        facts = Extraction("test", figures, quotes)
        archive.add([(doc, None)], extractor=lambda _doc, _item, f=facts: f)
    return archive


# (query, filters, expected guids in order: title matches first, then newest archived first)
CASES: list[tuple[str, dict[str, object], list[str]]] = [
    ("neglect", {}, ["g1", "g4", "g3"]),
    ("NEGLECT", {}, ["g1", "g4", "g3"]),
    ("adoption", {}, ["g2", "g5"]),
    ('"chair of the panel"', {}, ["g5", "g3"]),
    ('"panel chair"', {}, ["g1"]),
    ("adoption OR ofsted", {}, ["g2", "g5", "g3"]),
    ("adoption -fostering", {}, []),
    ("adoption or fostering", {}, ["g2", "g5"]),
    ("the", {}, ["g5", "g3", "g1"]),
    ('"we must act now"', {}, ["g1"]),
    ('neglect -"social media"', {}, ["g1", "g3"]),
    ("councils neglect", {}, ["g1"]),
    ("annie hudson", {}, ["g3", "g1"]),
    ("neglect", {"feed": "b-example-org"}, ["g4", "g3"]),
    ("neglect", {"since": datetime(2025, 1, 1, tzinfo=UTC)}, ["g1", "g3"]),
    ("neglect", {"until": datetime(2025, 1, 1, tzinfo=UTC)}, ["g4"]),
    (
        "neglect",
        {"since": datetime(2024, 1, 1, tzinfo=UTC), "until": datetime(2025, 2, 1, tzinfo=UTC)},
        ["g1", "g4"],
    ),
    ("neglect", {"feed": "a-example-org", "until": datetime(2024, 1, 1, tzinfo=UTC)}, []),
    ("neglect", {"speaker": "Annie Hudson"}, ["g1", "g3"]),
    ("neglect", {"speaker": "nobody"}, []),
    ("neglect", {"has_figures": True}, ["g1", "g3"]),
    ("", {}, []),
    ("-neglect", {}, []),
    ("OR", {}, []),
]


@pytest.mark.parametrize(("q", "filters", "expected"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_search_cases(
    corpus: Archive, q: str, filters: dict[str, object], expected: list[str]
) -> None:
    page = corpus.search(parse(q), **filters)  # type: ignore[arg-type]
    assert [h.item_id for h in page.hits] == [IDS[g] for g in expected]


def test_title_match_ranks_higher(corpus: Archive) -> None:
    hits = corpus.search(parse("neglect")).hits
    assert [h.rank > hits[-1].rank for h in hits] == [True, False, False]


HOSTILE = [
    '"unbalanced',
    'NEAR(neglect, 2) * : ^ "" AND NOT',
    "title:neglect",
    "neglect*",
    "^neglect",
    "' OR 1=1 --",
    "!!neglect & | <-> :*",
    "x" * 1000,
    "neglect " * 200,
    "-",
    '""',
    "\x00neglect",
]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_input_is_plain_text(corpus: Archive, q: str) -> None:
    page = corpus.search(parse(q))
    assert all(h.item_id in IDS.values() for h in page.hits)


def test_syntax_characters_are_words(corpus: Archive) -> None:
    assert [h.item_id for h in corpus.search(parse("neglect* ^families: (councils")).hits] == [1]


def test_pages_follow_each_other(corpus: Archive) -> None:
    seen, cursor = [], None
    while True:
        page = corpus.search(parse("neglect OR adoption"), limit=2, cursor=cursor)
        seen += [h.item_id for h in page.hits]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [IDS[g] for g in ("g2", "g1", "g5", "g4", "g3")]


@pytest.mark.parametrize("number", [10**30, -(2**63) - 1, 2**63])
def test_a_cursor_number_past_64_bits_is_a_query_error(number: int) -> None:
    with pytest.raises(QueryError, match="page link is not valid"):
        decode_cursor(encode_cursor("s", 0, number), "s", int, int)


def test_forged_cursor_is_a_query_error(corpus: Archive) -> None:
    with pytest.raises(QueryError, match="page link is not valid"):
        corpus.search(parse("neglect"), cursor="not-a-cursor")


def test_snippet_highlights_the_words(corpus: Archive) -> None:
    (hit,) = corpus.search(parse("ofsted OR fostering -adoption")).hits
    assert [f.text for f in hit.snippet if f.highlighted] == ["Ofsted"]


def test_speakers_group_spellings(corpus: Archive) -> None:
    """One speaker whatever the case or spacing, under the newest quote's spelling."""
    page = corpus.speakers()
    assert [(s.name, s.quote_count) for s in page.speakers] == [
        ("annie hudson", 2),
        ("Jahnine Davis", 1),
    ]
    assert page.speakers[0].roles == ("chair of the panel", "panel chair")
    assert page.speakers[0].last_quoted == datetime(2025, 3, 1, tzinfo=UTC)


def test_speakers_pages(corpus: Archive) -> None:
    first = corpus.speakers(limit=1)
    assert first.next_cursor is not None
    second = corpus.speakers(limit=1, cursor=first.next_cursor)
    assert [s.name for s in second.speakers] == ["Jahnine Davis"]
    assert second.next_cursor is None


def test_speaker_quotes_newest_first(corpus: Archive) -> None:
    page = corpus.speaker_quotes("ANNIE HUDSON", limit=1)
    assert [(q.item_id, q.text, q.role) for q in page.quotes] == [
        (3, "Standards are slipping", "chair of the panel")
    ]
    rest = corpus.speaker_quotes("annie hudson", cursor=page.next_cursor)
    assert [q.item_id for q in rest.quotes] == [1] and rest.next_cursor is None


def test_latest_pages_newest_first(corpus: Archive) -> None:
    first = corpus.latest(limit=3)
    second = corpus.latest(limit=3, cursor=first.next_cursor)
    assert [s.id for s in first.items + second.items] == [3, 2, 1, 5, 4]
    assert second.next_cursor is None


def test_latest_filters(corpus: Archive) -> None:
    page = corpus.latest(feed="a-example-org", since=datetime(2024, 12, 1, tzinfo=UTC))
    assert [s.id for s in page.items] == [2, 1]


def _ids(archive: Archive, q: str) -> list[int]:
    return [h.item_id for h in archive.search(parse(q)).hits]


def test_edited_item_is_found_by_its_new_words(corpus: Archive) -> None:
    feed, title, _, published, *_ = CORPUS["g2"]
    item = Item(
        key=item_key("g2", "", title, published, ""),
        guid="g2",
        link="https://x.example.org/g2",
        title=title,
        published=published,
        text="Kinship carers were left without support.",
    )
    (result,) = corpus.add([(ParsedFeed(feed, (item,), "test", "test"), None)])
    assert [s.id for s in result.updated] == [2]
    assert (_ids(corpus, "kinship"), _ids(corpus, "budgets")) == ([2], [5])


def test_reextracted_facts_replace_quotes_and_index(corpus: Archive) -> None:
    facts = Extraction("test", (), (_quote("Budgets are tight", "Ann Lee", "treasurer"),))
    corpus.store_facts([(1, facts)])
    assert [s.name for s in corpus.speakers().speakers] == [
        "Ann Lee",
        "annie hudson",
        "Jahnine Davis",
    ]
    assert _ids(corpus, "treasurer") == [1]
    assert _ids(corpus, '"We must act now"') == []
    assert corpus.search(parse("neglect"), has_figures=True).hits[0].item_id == 3


def test_migration_indexes_existing_items(unmigrated_url: str) -> None:
    """Items archived before migration 0012 are found, and their speakers listed, after it."""
    from alembic import command

    from bot.archive import _alembic_config
    from bot.models import extraction_to_json

    arch = Archive(unmigrated_url)
    cfg = _alembic_config()
    with arch._write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010")
    when = datetime(2025, 1, 1, tzinfo=UTC)
    with arch.engine.begin() as conn:  # rows as 0010 knew them
        feed_id = conn.execute(
            sa.text(
                "INSERT INTO feeds (key, title, link, url, description, language, created_at)"
                " VALUES ('f', 't', 'l', '', '', '', :now) RETURNING id"
            ),
            {"now": when},
        ).scalar_one()
        for guid, (_, title, text, _, figures, quotes) in CORPUS.items():
            facts = extraction_to_json(Extraction("test", figures, quotes))
            conn.execute(
                schema.items.insert()
                .values(
                    feed_id=feed_id,
                    key=guid,
                    guid=guid,
                    link="",
                    title=title,
                    author="",
                    summary="",
                    text=text,
                    content_hash="x",
                    first_seen=when,
                    last_seen=when,
                    comments_url="",
                    comments_feed_url="",
                    image_url="",
                    image_credit="",
                    facts=facts,
                    extractor_version="test",
                )
                .execution_options(render_nulls=False),
            )
    arch.upgrade()
    assert _ids(arch, "neglect") == [1, 4, 3]
    assert next((s.name, s.quote_count) for s in arch.speakers().speakers) == ("annie hudson", 2)
    assert [h.item_id for h in arch.search(parse("neglect"), has_figures=True).hits] == [1, 3]
    arch.close()


@pytest.fixture
def joined(filled: Archive) -> Archive:
    """The dump imported, then the same articles archived under a second feed, "live":
    one item each, carried by both feeds (the dump's feed first)."""
    stories = filled.items()
    live = ParsedFeed(
        feed=FeedInfo(title="Live"),
        items=tuple(s.item for s in stories),
        source="test",
        format="test",
    )
    filled.add([(live, "live")])
    assert {s.feed_keys[1:] for s in filled.items()} == {("live",)}
    return filled


def test_latest_finds_a_story_under_a_feed_that_joined_it(joined: Archive) -> None:
    ids = {s.id for s in joined.items()}
    assert {s.id for s in joined.latest(feed="live", limit=50).items} == ids


def test_search_finds_a_story_under_a_feed_that_joined_it(joined: Archive) -> None:
    everywhere = {h.item_id for h in joined.search(parse("Racial")).hits}
    assert everywhere
    assert {h.item_id for h in joined.search(parse("Racial"), feed="live").hits} == everywhere
    # a date window reads the feed's id range (_id_window): the same items
    until = datetime(2100, 1, 1, tzinfo=UTC)
    windowed = joined.search(parse("Racial"), feed="live", until=until)
    assert {h.item_id for h in windowed.hits} == everywhere


@pytest.fixture
def folded(filled: Archive) -> tuple[Archive, dict[int, int]]:
    """The dump's articles each copied under a second feed before 0011, then migrated: the
    copies stay as rows folded into their story ({copy id: story id})."""
    copies = fold_live_copies(filled)
    assert len(copies) == 10
    return filled, copies


def test_search_leaves_out_folded_copies(folded: tuple[Archive, dict[int, int]]) -> None:
    archive, copies = folded
    hits = [h.item_id for h in archive.search(parse("Racial"), limit=50).hits]
    assert hits and not set(hits) & copies.keys()


def test_latest_leaves_out_folded_copies(folded: tuple[Archive, dict[int, int]]) -> None:
    archive, copies = folded
    listed = [s.id for s in archive.latest(limit=50).items]
    assert len(listed) == 10 and not set(listed) & copies.keys()


def test_speakers_count_no_quote_of_a_folded_copy(filled: Archive) -> None:
    before = [(s.name, s.quote_count) for s in filled.speakers(limit=500).speakers]
    copies = fold_live_copies(filled)
    assert [(s.name, s.quote_count) for s in filled.speakers(limit=500).speakers] == before
    name = before[0][0]
    quoted = {q.item_id for q in filled.speaker_quotes(name, limit=100).quotes}
    assert quoted and not quoted & copies.keys()


def test_item_page_of_a_folded_copy_names_its_story(
    folded: tuple[Archive, dict[int, int]],
) -> None:
    archive, copies = folded
    copy, story = next(iter(copies.items()))
    found = archive.item_page(copy)
    assert found is not None and found.stored.merged_into == story
