"""Web speed on a big archive: search latency on SQLite and PostgreSQL (this part), and the
item page under load (bench/web_item.py).

    .venv/bin/python bench/web.py [--items 100000] [--db sqlite,postgresql] [--rounds 20]
                                  [--parts search,items] [--workers 1 2] [--seconds 10]

The archive: `--items` items generated from the supplied dump's ten articles, each one an
article with its sentences shuffled and about one word in twelve replaced from a vocabulary
(the dump's own words plus made-up words drawn with a Zipf law, so that there are common,
middling and rare words as in a real archive), spread over 20 feeds and three years, with
the article's figures and its quotes under speakers drawn from 2,000 names (the facts' spans
do not match the shuffled text: search does not read them). Inserted in bulk through the
schema, then indexed the way migration 0012 does. The SQLite file is kept in
state/bench/ under a name that changes with GENERATION and the schema's head revision;
PostgreSQL gets a database of its own, dropped at the end.

Each query runs `--rounds` times after one warm-up; prints p50 and p95 per query and over
all of them (target: search p95 <= 50 ms on each database).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from web_item import item_pages  # bench/ is on the path when this file is run

from bot import schema
from bot.archive import Archive, index
from bot.archive.base import _head_revision
from bot.dump import parse_dump
from bot.extract import extract
from bot.models import Extraction, Item, extraction_to_json
from bot.searchquery import SearchQuery, parse

ROOT = Path(__file__).resolve().parent.parent
DUMP = ROOT / "bot" / "data" / "communitycare-cspr-feed-dump.txt"
CACHE = ROOT / "state" / "bench"
GENERATION = 2  # bump when the generated archive changes
PG_SERVER = os.environ.get("REPORTBOT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
FEEDS = 20
SPEAKERS = 2000
MADE_UP_WORDS = 50_000
SUBSTITUTE = 1 / 12  # share of an article's words replaced
CHUNK = 1000
START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
_FIRST = "Ann Ben Cara Dev Eli Fay Gus Hana Ivo Jon Kai Lea Mo Nia Omar Pia Raj Sue Tom Uma".split()
_LAST = (
    "Hudson Davis Smith Patel Jones Khan Brown Wilson Taylor Evans Walker Wright Green Hall "
    "Wood Clarke Hughes Lewis Young Allen Reid Shaw Ellis Mills Ward Cole Ford Lane Bell Hunt"
).split()


@dataclass(frozen=True)
class Article:
    item: Item
    sentences: tuple[tuple[str, ...], ...]  # each sentence's words
    facts: Extraction


@dataclass(frozen=True)
class Query:
    name: str
    text: str
    filters: dict[str, Any]
    page: int = 1  # 2: time the second page (the first page's cursor followed)


def _articles() -> list[Article]:
    doc = parse_dump(DUMP.read_text(encoding="utf-8"), str(DUMP))
    return [
        Article(
            item=item,
            sentences=tuple(
                tuple(s.split()) for p in item.text.split("\n\n") for s in _SENTENCE.split(p) if s
            ),
            facts=extract(item.text, title=item.title),
        )
        for item in doc.items
    ]


def _vocabulary(articles: list[Article]) -> tuple[list[str], list[float]]:
    """The dump's words, then made-up ones; weights 1/rank (Zipf) over the whole list."""
    rng = random.Random(3)
    seen: dict[str, None] = {}
    for article in articles:
        for sentence in article.sentences:
            seen.update(dict.fromkeys(w.strip(".,;:!?()‘’“”\"'").lower() for w in sentence))
    words = [w for w in seen if w.isalpha()]
    made_up: set[str] = set()
    while len(made_up) < MADE_UP_WORDS:
        made_up.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    words += sorted(made_up - set(words))
    return words, [1 / rank for rank in range(1, len(words) + 1)]


def generate(n: int, seed: int = 14) -> Iterator[tuple[list[dict[str, Any]], list[Item]]]:
    """Item rows (without feed_id's final value resolved: feed numbers 1..FEEDS) in chunks,
    with their Items (for the quotes)."""
    rng = random.Random(seed)
    articles = _articles()
    words, weights = _vocabulary(articles)
    cumulative = list(_accumulate(weights))

    def pick(k: int) -> list[str]:  # one call for many: a call each was most of the time
        return rng.choices(words, cum_weights=cumulative, k=k)

    speakers = [f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(SPEAKERS)]
    speaker_weights = list(_accumulate([1 / r for r in range(1, SPEAKERS + 1)]))
    rows: list[dict[str, Any]] = []
    facts_of: list[Extraction] = []
    for k in range(n):
        article = articles[k % len(articles)]
        order = list(article.sentences)
        rng.shuffle(order)
        out: list[str] = []
        for sentence in order:
            out += sentence
            out.append("\n\n" if rng.random() < 0.2 else "")
        every = round(1 / SUBSTITUTE)
        spots = range(rng.randrange(every), len(out), every)
        for at, word in zip(spots, pick(len(spots)), strict=True):
            if out[at]:
                out[at] = word
        text = " ".join(out).replace(" \n\n ", "\n\n").replace("  ", " ").strip()
        title_words = article.item.title.split()
        for word in pick(2):
            title_words[rng.randrange(len(title_words))] = word
        title = " ".join(title_words)
        published = START + SPAN * (k / n) + timedelta(minutes=rng.randint(0, 600))
        quotes = tuple(
            replace(q, speaker=rng.choices(speakers, cum_weights=speaker_weights)[0])
            if q.speaker and rng.random() < 0.7
            else q
            for q in article.facts.quotes
        )
        facts = replace(article.facts, quotes=quotes)
        guid = f"https://bench.example.org/?p={k}"
        rows.append(
            {
                "feed_no": k % FEEDS,
                "key": f"guid:{guid}",
                "guid": guid,
                "link": guid,
                "title": title,
                "author": "",
                "published": published,
                "updated": None,
                "summary": " ".join(text.split()[:40]),
                "text": text,
                "html": None,
                "content_hash": f"{k:064x}",
                "previous_content_hash": None,
                "first_seen": published,
                "last_seen": published,
                "changed_at": None,
                "comments_url": "",
                "comments_feed_url": "",
                "comments_count": None,
                "image_url": "",
                "image_credit": "",
                "facts": extraction_to_json(facts),
                "extractor_version": facts.version,
                "facts_error": None,
                "search_facts": index.facts_text(facts),
                "figure_count": index.figure_count(facts),
            }
        )
        facts_of.append(facts)
        if len(rows) == CHUNK:
            yield rows, facts_of
            rows, facts_of = [], []
    if rows:
        yield rows, facts_of


def _accumulate(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for w in weights:
        total += w
        yield total


def load(url: str, n: int) -> float:
    """Fill an empty archive at `url` with n generated items; seconds taken."""
    started = time.perf_counter()
    archive = Archive(url)
    archive.upgrade()
    now = datetime.now(UTC)
    with archive.engine.begin() as conn:
        feed_ids = [
            conn.execute(
                schema.feeds.insert().values(
                    key=f"feed-{f}",
                    title=f"Bench feed {f}",
                    link=f"https://bench.example.org/{f}/",
                    url=f"https://bench.example.org/{f}/feed",
                    description="",
                    language="en",
                    created_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            for f in range(FEEDS)
        ]
        sqlite = conn.dialect.name == "sqlite"
        # indexed in one pass at the end, as the migration does (row by row into a GIN
        # index was several times slower)
        if sqlite:
            conn.exec_driver_sql(f"DROP TABLE {index.FTS_TABLE}")
        else:
            conn.exec_driver_sql("ALTER TABLE items DISABLE TRIGGER items_search")
            conn.exec_driver_sql("DROP INDEX ix_items_search, ix_items_title_tsv")
        done = 0
        for rows, facts in generate(n):
            for row in rows:
                row["feed_id"] = feed_ids[row.pop("feed_no")]
            ids = conn.execute(
                schema.items.insert().returning(schema.items.c.id, sort_by_parameter_order=True),
                rows,
            ).scalars()
            quotes: list[dict[str, Any]] = []
            for pk, row, extraction in zip(ids, rows, facts, strict=True):
                quotes += index.quote_rows(pk, row["published"], extraction)
            index.insert_quotes(conn, quotes)
            done += len(rows)
            print(f"\r  {done} items", end="", flush=True)
        print()
        if sqlite:
            conn.exec_driver_sql(index.FTS_CREATE)
        else:
            conn.exec_driver_sql("ALTER TABLE items ENABLE TRIGGER items_search")
        index.rebuild(conn)
        for statement in () if sqlite else index.PG_INDEXES:
            conn.exec_driver_sql(statement)
    with archive.engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        conn.commit()
    archive.close()
    return time.perf_counter() - started


def queries(archive: Archive) -> list[Query]:
    """A realistic mix: the words picked from the generated archive's own vocabulary."""
    with archive.engine.connect() as conn:
        speaker = conn.execute(
            sa.select(schema.quotes.c.speaker)
            .group_by(schema.quotes.c.speaker)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).scalar_one()
    words, _ = _vocabulary(_articles())
    rare = words[-25_000]  # far in the Zipf tail: a handful of items
    middling = words[len(words) // 10]
    year = START + timedelta(days=365)
    return [
        Query("common word", "children", {}),
        Query("common word, page 2", "children", {}, page=2),
        Query("topic word", "neglect", {}),
        Query("middling word", middling, {}),
        Query("rare word", rare, {}),
        Query("no such word", "qqxzzy", {}),
        Query("two words", "safeguarding review", {}),
        Query("phrase", '"child protection"', {}),
        Query("rare phrase", f'"{middling} {rare}"', {}),
        Query("OR", "adoption OR fostering", {}),
        Query("-word", "safeguarding -racial", {}),
        Query("speaker", "said", {"speaker": speaker}),
        Query(
            "feed and dates",
            "council",
            {"feed": "feed-3", "since": year, "until": year + timedelta(days=90)},
        ),
        Query("has figures", "social workers", {"has_figures": True}),
        Query("hostile", 'NEAR(child* "unbalanced ^ : OR -', {}),
    ]


def time_search(archive: Archive, rounds: int) -> list[tuple[str, list[float], int]]:
    results = []
    for q in queries(archive):
        parsed = parse(q.text)

        def run(q: Query = q, parsed: SearchQuery = parsed) -> int:
            page = archive.search(parsed, **q.filters)
            if q.page == 2 and page.next_cursor:
                page = archive.search(parsed, **q.filters, cursor=page.next_cursor)
            return len(page.hits)

        hits = run()
        results.append((f"{q.name}: {q.text[:40]}", _times(run, rounds), hits))
    return results


def time_speakers(archive: Archive, rounds: int) -> list[tuple[str, list[float], int]]:
    first = archive.speakers()
    top = max(first.speakers, key=lambda s: s.quote_count).name

    def second_page() -> int:
        return len(archive.speakers(cursor=first.next_cursor).speakers)

    return [
        ("speakers, page 1", _times(lambda: len(archive.speakers().speakers), rounds), 50),
        ("speakers, page 2", _times(second_page, rounds), 50),
        (
            f"speaker_quotes: {top}",
            _times(lambda: len(archive.speaker_quotes(top).quotes), rounds),
            20,
        ),
        ("latest, page 1", _times(lambda: len(archive.latest().items), rounds), 20),
    ]


def _times(run: Callable[[], int], rounds: int) -> list[float]:
    run()
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(db: str, rows: list[tuple[str, list[float], int]]) -> float:
    everything: list[float] = []
    for name, times, hits in rows:
        everything += times
        print(
            f"  {name:52s} p50 {_p(times, 50):7.1f} ms  p95 {_p(times, 95):7.1f} ms  ({hits} hits)"
        )
    p95 = _p(everything, 95)
    print(f"  {db} all: p50 {_p(everything, 50):.1f} ms, p95 {p95:.1f} ms")
    return p95


def _p(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def sqlite_archive(n: int) -> str:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"web-g{GENERATION}-{_head_revision()}-{n}.db"
    if not path.exists():
        partial = path.with_suffix(".partial")
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)
        print(f"generating {n} items into {path} (kept for the next run)")
        took = load(f"sqlite:///{partial}", n)
        print(f"  generated and indexed in {took:.0f} s")
        partial.rename(path)
    return f"sqlite:///{path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL database (to EXPLAIN)"
    )
    parser.add_argument("--parts", default="search,items", help="search, items or both")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="web processes")
    parser.add_argument("--seconds", type=int, default=10, help="of load per item-page run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--reuse", metavar="NAME", help="time a kept PostgreSQL database")
    args = parser.parse_args()
    parts = set(args.parts.split(","))

    def measure(db: str, url: str) -> None:
        if "search" in parts:
            archive = Archive(url)
            report(f"{db} search", time_search(archive, args.rounds))
            report(f"{db} pages", time_speakers(archive, args.rounds))
            archive.close()
        if "items" in parts:
            item_pages(
                url,
                items=args.items,
                workers=args.workers,
                seconds=args.seconds,
                connections=args.connections,
            )

    # stopped with SIGTERM: unwind, so that the PostgreSQL database is dropped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    print(f"load: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} cores")
    for db in args.db.split(","):
        if db == "sqlite":
            url = sqlite_archive(args.items)
            print(f"SQLite, {args.items} items:")
            measure("SQLite", url)
        elif db == "postgresql":
            name = args.reuse or f"reportbot_bench_web_{os.getpid()}"
            url = f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
            if not args.reuse:
                with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
                    admin.execute(f'CREATE DATABASE "{name}"')
            try:
                if not args.reuse:
                    print(f"generating {args.items} items into PostgreSQL database {name}")
                    print(f"  generated and indexed in {load(url, args.items):.0f} s")
                print(f"PostgreSQL, {args.items} items:")
                measure("PostgreSQL", url)
            finally:
                if args.keep or args.reuse:
                    print(f"kept: database {name}")
                else:
                    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
                        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            parser.error(f"--db: unknown database {db!r} (sqlite, postgresql)")
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
