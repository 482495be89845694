"""Import files and recompute facts.

import:     read file ─► dump.parse_dump | parse.parse_feed ─► archive.add ─► AddResult
                                                (extract.extract runs inside, per new/updated item)
reextract:  archive.items ─► extract.extract ─► archive.store_facts
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.archive import Archive, Extractor
from bot.dump import looks_like_dump, parse_dump
from bot.errors import InputError
from bot.extract import RecurringIndex, extract
from bot.models import (
    AddResult,
    Extraction,
    Item,
    ParsedFeed,
)
from bot.parse import parse_feed

log = logging.getLogger("reportbot.pipeline")


def read_document(path: Path) -> ParsedFeed:
    """One file → ParsedFeed, whatever its format (feed dump, RSS, Atom)."""
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(source, "no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(source, "is a directory, not a file") from exc
    except OSError as exc:
        raise InputError(source, f"cannot read: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = ""
    if text and looks_like_dump(text):
        return parse_dump(text, source)
    return parse_feed(data, source)


def fact_extractor() -> Extractor:
    """Extraction for items being archived; boilerplate that recurs across the document's
    items (promo boxes) is recognised with an index built once per document."""
    indexes: dict[int, RecurringIndex] = {}

    def run(parsed: ParsedFeed, item: Item) -> Extraction:
        index = indexes.get(id(parsed))
        if index is None:
            index = indexes[id(parsed)] = RecurringIndex(i.text for i in parsed.items)
        return extract(item.text, index)

    return run


def import_files(
    archive: Archive,
    paths: Sequence[Path],
    feed_key: str | None = None,
    refused: list[InputError] | None = None,
) -> tuple[AddResult, ...]:
    """Read every file first, then archive them all in one transaction: all or nothing.
    With a `refused` list, a file that cannot be read is put there and the rest go on."""
    documents = []
    for path in paths:
        try:
            documents.append(read_document(path))
        except InputError as exc:
            if refused is None:
                raise
            refused.append(exc)
            continue
        for warning in documents[-1].warnings:  # read, with something left out or repaired
            log.warning(
                "document read with a warning", extra={"source": str(path), "warning": warning}
            )
    return archive.add([(doc, feed_key) for doc in documents], fact_extractor())


def reextract(archive: Archive, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every item's facts with this extractor version; returns the item count."""
    feeds = archive.feeds()
    per_feed = [archive.items(feed_key=feed.key) for feed in feeds]
    total = sum(len(items) for items in per_feed)
    done = 0
    for items in per_feed:
        index = RecurringIndex(s.item.text for s in items)
        facts = [(s.id, extract(s.item.text, index)) for s in items]
        archive.store_facts(facts)
        done += len(items)
        if progress is not None:
            progress(done, total)
    return total
