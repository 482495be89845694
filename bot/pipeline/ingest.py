"""Import files and recompute facts.

import:     read file ─► dump.parse_dump | parse.parse_feed ─► archive.add ─► AddResult
                                                (extract.extract runs inside, per new/updated item)
reextract:  archive.items ─► extract.extract_batch (sandbox) ─► archive.store_facts
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.archive import Archive, Extractor
from bot.config import WorkerConfig
from bot.decide import Facts, MissingFacts
from bot.dump import looks_like_dump, parse_dump
from bot.errors import InputError
from bot.extract import RecurringIndex, extract, extract_batch, headline
from bot.models import (
    AddResult,
    Extraction,
    Item,
    ParsedFeed,
    StoredItem,
)
from bot.parse import parse_feed
from bot.pipeline.poll import sandbox_for
from bot.sandbox import Sandbox

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
        return extract(item.text, index, title=headline(item.title, item.summary, item.text))

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


@dataclass(frozen=True)
class ReextractSummary:
    items: int  # items whose facts were extracted again
    missing: int  # of those, still without facts (failed again within the sandbox's limits)


async def reextract(
    archive: Archive,
    worker: WorkerConfig,
    *,
    missing_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ReextractSummary:
    """Recompute stored facts with this extractor version, in the sandbox with the [worker]
    limits (an article that overran them once may do so again): every item, or with
    `missing_only` just those stored with their facts missing. A feed's items go to the
    sandbox together; when that fails, one by one, so one hostile article costs only its own
    facts, which stay missing with the new reason."""
    work = []
    for feed in archive.feeds():
        every = archive.items(feed_key=feed.key)
        targets = archive.items(feed_key=feed.key, facts_missing=True) if missing_only else every
        # a story several feeds carried is extracted once, with the feed that brought it first
        targets = [s for s in targets if s.feed_key == feed.key]
        if targets:
            work.append((targets, [s.item.text for s in every]))
    total = sum(len(targets) for targets, _ in work)
    done = missing = 0
    async with sandbox_for(worker, workers=os.cpu_count() or 1) as sandbox:
        slots = asyncio.Semaphore(sandbox.size)

        async def one(targets: list[StoredItem], feed_texts: list[str]) -> None:
            nonlocal done, missing
            async with slots:
                facts = await _facts_of(sandbox, [s.item for s in targets], feed_texts)
            archive.store_facts([(s.id, f) for s, f in zip(targets, facts, strict=True)])
            done += len(targets)
            missing += sum(1 for f in facts if isinstance(f, MissingFacts))
            if progress is not None:
                progress(done, total)

        await asyncio.gather(*(one(targets, texts) for targets, texts in work))
    return ReextractSummary(items=total, missing=missing)


async def _facts_of(sandbox: Sandbox, items: list[Item], feed_texts: list[str]) -> list[Facts]:
    texts = [i.text for i in items]
    titles = [headline(i.title, i.summary, i.text) for i in items]
    try:
        batch: list[Facts] = await sandbox.run(extract_batch, texts, feed_texts, titles)
        return batch
    except Exception as exc:  # a limit, or the extractor's own failure on some article
        if len(items) == 1:
            return [MissingFacts(f"extraction in the sandbox failed: {exc}")]
    return [(await _facts_of(sandbox, [item], feed_texts))[0] for item in items]
