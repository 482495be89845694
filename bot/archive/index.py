"""The search index and the quotes table, kept in step with the items in the caller's write
transaction.

SQLite: `items_fts`, a contentless FTS5 table (rowid = item id) over title, search_facts
(figure claims, quote texts, speakers and roles), summary and the text's first
INDEXED_TEXT_CHARS characters. Contentless, because the facts column and the bounded text
are not columns FTS5 could read back; removing a row therefore gives FTS5 the values it
indexed, read from the item row before it changes (`unindex`).

PostgreSQL: `items.search`, a weighted tsvector (title A, facts B, summary and text C) that a
BEFORE INSERT OR UPDATE trigger computes (migration 0012), a GIN index on it and one on the
title's own tsvector (title matches rank first). Only the quotes table is written from here.

`quotes`: one row per quote with a named speaker, for the speakers pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot import schema
from bot.models import Extraction, StoredItem, extraction_from_json

# Text indexed per item: the dump's longest article is 14,000 characters; an article of
# hundreds of KB (a pasted report) would cost its whole length on every write and add only
# words already met in its first pages.
INDEXED_TEXT_CHARS = 10_000
_CHUNK = 500  # ids per IN (...): well under SQLite's bound-parameter limit
FTS_TABLE = "items_fts"
# What the migrations create beside bot.schema's tables (the schema test leaves these out).
SEARCH_OBJECTS = frozenset(
    {FTS_TABLE, "search", "ix_items_search", "ix_items_title_tsv"}
    | {f"{FTS_TABLE}_{shadow}" for shadow in ("data", "idx", "docsize", "config", "content")}
)
# The tokenizer: Porter stemming like PG_CONFIG below, so that "neglected" finds "neglect"
# on both, and no stop words.
FTS_CREATE = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, search_facts, summary, text, "
    "content='', tokenize='porter unicode61 remove_diacritics 2')"
)
_FTS_VALUES = f"title, search_facts, summary, substr(text, 1, {INDEXED_TEXT_CHARS})"

# PostgreSQL's text search configuration: 'english' (Snowball stemming, like FTS5's Porter)
# without its stop words, which FTS5 does not have: a phrase such as "we must act now" then
# means the same four words side by side on both databases.
PG_CONFIG = "reportbot_english"
PG_CONFIG_CREATE = (
    f"CREATE TEXT SEARCH DICTIONARY {PG_CONFIG}_stem (TEMPLATE = snowball, Language = english)",
    f"CREATE TEXT SEARCH CONFIGURATION {PG_CONFIG} (COPY = english)",
    f"ALTER TEXT SEARCH CONFIGURATION {PG_CONFIG} ALTER MAPPING FOR asciihword, asciiword, "
    f"hword, hword_asciipart, hword_part, word WITH {PG_CONFIG}_stem",
)
# PostgreSQL's trigger function, the same weights and bound.
PG_FUNCTION = f"""
CREATE FUNCTION items_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search :=
        setweight(to_tsvector('{PG_CONFIG}'::regconfig, NEW.title), 'A')
        || setweight(to_tsvector('{PG_CONFIG}'::regconfig, NEW.search_facts), 'B')
        || setweight(to_tsvector('{PG_CONFIG}'::regconfig,
                     NEW.summary || ' ' || left(NEW.text, {INDEXED_TEXT_CHARS})), 'C');
    RETURN NEW;
END
$$
"""
PG_TRIGGER = (
    "CREATE TRIGGER items_search BEFORE INSERT OR UPDATE OF title, summary, text, search_facts"
    " ON items FOR EACH ROW EXECUTE FUNCTION items_search_vector()"
)
_DATE = schema.UTCDateTime()
PG_TITLE_VECTOR = f"to_tsvector('{PG_CONFIG}'::regconfig, title)"
PG_INDEXES = (
    "CREATE INDEX ix_items_search ON items USING gin (search)",
    f"CREATE INDEX ix_items_title_tsv ON items USING gin ({PG_TITLE_VECTOR})",
    # Frequencies of 10x more words than the default: with the default, a word met in 165
    # items of 100,000 was guessed at 500 and a search walked all the items by id (120 ms
    # instead of 7). ANALYZE (autovacuum) reads them.
    "ALTER TABLE items ALTER COLUMN search SET STATISTICS 1000",
    "ALTER INDEX ix_items_title_tsv ALTER COLUMN 1 SET STATISTICS 1000",
)


def facts_text(facts: Extraction | None) -> str:
    """What the index holds of an item's facts: figure claims, quotes, speakers, roles."""
    if facts is None:
        return ""
    lines = [f.claim or f.sentence or f.text for f in facts.figures]
    lines += [" ".join(p for p in (q.text, q.speaker, q.role) if p) for q in facts.quotes]
    return "\n".join(lines)


def figure_count(facts: Extraction | None) -> int:
    return len(facts.figures) if facts is not None else 0


def speaker_key(name: str) -> str:
    """The form speakers are grouped and looked up by: case and spacing do not matter."""
    return " ".join(name.split()).casefold()


def unindex(conn: Connection, ids: Sequence[int]) -> None:
    """Take these items out of the index and the quotes table, BEFORE their row changes:
    SQLite's contentless index must be given the values it indexed."""
    for chunk in _chunks(ids):
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, search_facts, summary, "
                f"text) SELECT 'delete', id, {_FTS_VALUES} FROM items "
                f"WHERE id IN ({','.join('?' * len(chunk))})",
                tuple(chunk),
            )
        conn.execute(schema.quotes.delete().where(schema.quotes.c.item_id.in_(chunk)))


def index(conn: Connection, stored: Iterable[StoredItem]) -> None:
    """Put these items (just inserted, or rewritten after `unindex`) in the index and their
    named quotes in the quotes table."""
    items = list(stored)
    if conn.dialect.name == "sqlite":
        for chunk in _chunks([s.id for s in items]):
            _fts_insert(conn, chunk)
    rows = [
        quote_rows(s.id, s.item.published or s.first_seen, s.extraction)
        for s in items
        if s.extraction is not None
    ]
    insert_quotes(conn, [r for rs in rows for r in rs])


def reindex(conn: Connection, ids: Sequence[int]) -> None:
    """Like `index`, from the stored rows of these items (after `unindex`)."""
    t = schema.items
    for chunk in _chunks(ids):
        if conn.dialect.name == "sqlite":
            _fts_insert(conn, chunk)
        query = sa.select(t.c.id, t.c.facts, t.c.published, t.c.first_seen).where(t.c.id.in_(chunk))
        rows: list[dict[str, Any]] = []
        for row in conn.execute(query):
            facts = extraction_from_json(row.facts) if row.facts else None
            rows += quote_rows(row.id, row.published or row.first_seen, facts)
        insert_quotes(conn, rows)


def quote_rows(item_id: int, when: datetime, facts: Extraction | None) -> list[dict[str, Any]]:
    """The quotes table's rows for one item's facts (quotes without a speaker are left out:
    they belong to nobody's page)."""
    if facts is None:
        return []
    return [
        {
            "item_id": item_id,
            "speaker": " ".join(q.speaker.split()),
            "speaker_key": speaker_key(q.speaker),
            "role": q.role,
            "text": q.text,
            "span_start": q.start,
            "span_end": q.end,
            "quoted_at": when,
        }
        for q in facts.quotes
        if q.speaker.strip()
    ]


_QUOTE_COLUMNS = (
    "item_id",
    "speaker",
    "speaker_key",
    "role",
    "text",
    "span_start",
    "span_end",
    "quoted_at",
)


def insert_quotes(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert quote rows with the driver's executemany: SQLAlchemy's per-row parameter
    processing cost a third of the quotes' share of a poll's archive write."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    # the processor SQLAlchemy itself applies (SQLite: its own text format of dates)
    to_db: Callable[[Any], Any] = _DATE.dialect_impl(conn.dialect).bind_processor(conn.dialect) or (
        lambda value: value
    )
    conn.exec_driver_sql(
        f"INSERT INTO quotes ({', '.join(_QUOTE_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_QUOTE_COLUMNS))})",
        [(*(r[c] for c in _QUOTE_COLUMNS[:-1]), to_db(r["quoted_at"])) for r in rows],
    )


def rebuild(conn: Connection) -> None:
    """Index every item again from its row (after a copy into SQLite, or to repair); the
    quotes table is filled from the stored facts by the caller (migration 0012)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')")
        conn.exec_driver_sql(
            f"INSERT INTO {FTS_TABLE}(rowid, title, search_facts, summary, text) "
            f"SELECT id, {_FTS_VALUES} FROM items"
        )
    else:
        conn.exec_driver_sql("UPDATE items SET search_facts = search_facts")  # the trigger


def _fts_insert(conn: Connection, ids: Sequence[int]) -> None:
    conn.exec_driver_sql(
        f"INSERT INTO {FTS_TABLE}(rowid, title, search_facts, summary, text) "
        f"SELECT id, {_FTS_VALUES} FROM items WHERE id IN ({','.join('?' * len(ids))})",
        tuple(ids),
    )


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])
