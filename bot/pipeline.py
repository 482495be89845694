"""The only module that composes stages.

import:  read file ─► dump.parse_dump | parse.parse_feed ─► archive.add (one transaction)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.archive import Archive
from bot.dump import looks_like_dump, parse_dump
from bot.errors import InputError
from bot.models import AddResult, ParsedFeed
from bot.parse import parse_feed


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


def import_files(
    archive: Archive, paths: Sequence[Path], feed_key: str | None = None
) -> tuple[AddResult, ...]:
    """Read every file first, then archive them all in one transaction: all or nothing."""
    documents = [read_document(path) for path in paths]
    return archive.add([(doc, feed_key) for doc in documents])
