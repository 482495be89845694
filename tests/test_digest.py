"""Choosing a subscription's items: feeds by id or tag, keywords, period, cap."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot import digest
from bot.config import SubscriptionConfig
from bot.models import Extraction, Figure, Item, StoredItem

T0 = datetime(2025, 4, 1, tzinfo=UTC)


def _stored(n: int, title: str, text: str = "", seen: datetime = T0, feed: str = "a") -> StoredItem:
    item = Item(
        key=f"k{n}",
        guid=f"g{n}",
        link=f"https://x.org/{n}",
        title=title,
        published=T0 - timedelta(days=n),
        text=text,
    )
    return StoredItem(
        id=n,
        feed_key=feed,
        item=item,
        content_hash="h",
        previous_content_hash=None,
        first_seen=seen,
        last_seen=seen,
    )


def _sub(**kw: object) -> SubscriptionConfig:
    return SubscriptionConfig(id="s", email=("a@example.org",), **kw)  # type: ignore[arg-type]


def _titles(sub: SubscriptionConfig, items: list[StoredItem]) -> list[str]:
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=1)
    built = digest.build(sub, items, feed_titles={}, start=start, end=end)
    return [i.title for i in built.items]


def test_whole_word_include_and_exclude() -> None:
    items = [_stored(0, "Race report"), _stored(1, "Racecourse news"), _stored(2, "Other", "race")]
    assert _titles(_sub(include=("race",)), items) == ["Race report", "Other"]
    assert _titles(_sub(exclude=("RACE",)), items) == ["Racecourse news"]


def test_period_is_by_first_archived() -> None:
    items = [_stored(0, "In"), _stored(1, "Late", seen=T0 + timedelta(days=2))]
    assert _titles(_sub(), items) == ["In"]


def test_max_items_keeps_the_newest() -> None:
    items = [_stored(n, f"t{n}") for n in range(5)]
    assert _titles(_sub(max_items=2), items) == ["t0", "t1"]


def test_feeds_by_id_or_tag() -> None:
    keys = ["cspr", "ofsted", "other"]
    tags = {"cspr": ["safeguarding"], "ofsted": ["inspections", "safeguarding"]}
    assert digest.feed_keys(_sub(feeds=("safeguarding",)), keys, tags) == {"cspr", "ofsted"}
    assert digest.feed_keys(_sub(feeds=("other",)), keys, tags) == {"other"}
    assert digest.feed_keys(_sub(), keys, tags) is None


def test_shorten_cuts_at_a_word() -> None:
    assert digest.shorten("one two three four", 12) == "one two…"
    assert digest.shorten("short", 12) == "short"


def test_a_digest_states_the_range_of_its_items_own_dates() -> None:
    """A backfilled first period starts at the archive's oldest item, not at 1970; what a
    reader is told is when the items are from (published, else first archived)."""
    seen = T0 + timedelta(days=400)  # archived long after they were published
    items = [_stored(n, f"t{n}", seen=seen) for n in (3, 0, 7)]  # published T0 - n days
    undated = replace(_stored(9, "undated", seen=seen), item=replace(items[0].item, published=None))
    start, end = datetime(1970, 1, 1, tzinfo=UTC), seen + timedelta(days=1)
    built = digest.build(_sub(), items, feed_titles={}, start=start, end=end)
    assert (built.period_start, built.period_end) == (T0 - timedelta(days=7), T0)
    with_undated = digest.build(_sub(), [*items, undated], feed_titles={}, start=start, end=end)
    assert (with_undated.period_start, with_undated.period_end) == (T0 - timedelta(days=7), seen)
    empty = digest.build(_sub(), [], feed_titles={}, start=start, end=end)
    assert (empty.period_start, empty.period_end) == (start, end)


def test_a_publication_date_after_archiving_is_not_believed() -> None:
    future = _stored(0, "from the future", seen=T0)
    future = replace(future, item=replace(future.item, published=T0 + timedelta(days=30)))
    assert digest.span([future]) == (T0, T0)


def _figure(text: str, claim: str, *, core: bool = True, salience: float = 0.9) -> Figure:
    return Figure(
        text=text,
        start=0,
        end=len(text),
        kind="percent",
        value=None,
        low=None,
        high=None,
        unit="%",
        what="",
        sentence=claim,
        salience=salience,
        claim=claim,
        core=core,
    )


def _shown(*figures: Figure) -> list[str]:
    stored = replace(_stored(0, "T"), extraction=Extraction("2", figures, ()))
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=1)
    (item,) = digest.build(_sub(), [stored], feed_titles={}, start=start, end=end).items
    return [f.claim for f in item.figures]


def test_a_figure_without_a_readable_claim_is_not_shown() -> None:
    readable = "49% of children in rapid reviews had experienced neglect"
    assert _shown(
        _figure("27%", "27% of children"),
        _figure("15", "15 relating"),
        _figure("8%", ""),
        _figure("49%", readable, salience=0.5),
    ) == [readable]


def test_narrative_numbers_never_reach_a_digest() -> None:
    sample = _figure("246", "The report, based on an analysis of 246 rapid reviews", core=False)
    assert _shown(sample) == []


def test_two_figures_with_the_same_claim_are_shown_once() -> None:
    claim = "More than half the cases (289 or 54%) involved neglect"
    assert _shown(_figure("289", claim), _figure("54%", claim)) == [claim]


def test_with_the_sites_address_each_item_links_to_its_page() -> None:
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=1)
    items = [_stored(1, "One"), _stored(2, "Two")]
    built = digest.build(
        _sub(), items, feed_titles={}, start=start, end=end, public_url="https://bot.example.org/"
    )
    assert [i.page for i in built.items] == [
        "https://bot.example.org/item/1",
        "https://bot.example.org/item/2",
    ]
    plain = digest.build(_sub(), items, feed_titles={}, start=start, end=end)
    assert {i.page for i in plain.items} == {""}
