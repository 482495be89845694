"""Edit the config file with tomlkit, which keeps the admin's comments and layout; an edited
file replaces the old one only if it is a valid config, and atomically (a crash leaves the
old file or the new one, never half of one).

tomlkit hangs the comments and blank lines that follow a table's last key on that table, so
deleting a `[[feeds]]` table as tomlkit offers it deletes the comments after it too (in the
example config, the templates of every later section). `remove_table` and `append_table`
move that trailing text to where it stands in the file instead.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.items import AoT, Array, Comment, Item, Table, Whitespace

from bot import config as config_mod
from bot.errors import ConfigError

_Trivia = Comment | Whitespace


def read_toml(path: Path) -> tomlkit.TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except Exception as exc:  # tomlkit raises several kinds; all mean "fix the file"
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def write_checked(path: Path, doc: tomlkit.TOMLDocument) -> None:
    """Replace `path` with `doc` if `doc` is a valid config: written to a temporary file in
    the same folder, flushed to disk, given the old file's mode, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(tomlkit.dumps(doc))
            out.flush()
            os.fsync(out.fileno())
        found = config_mod.problems(tmp)
        if found:
            raise ConfigError(found[0].replace(str(tmp), str(path)) + " (file left unchanged)")
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def tables(doc: tomlkit.TOMLDocument, key: str) -> list[Table]:
    """The tables of an array of tables (`[[key]]`); [] when absent or written `key = []`."""
    value = doc.get(key)
    if isinstance(value, AoT):
        return list(value)
    if isinstance(value, Array) and len(value) == 0:
        return []
    if value is None:
        return []
    raise ConfigError(f"`{key}` must be written as [[{key}]] tables to be edited by reportbot")


def append_table(doc: tomlkit.TOMLDocument, key: str, entry: dict[str, Any]) -> None:
    """Add `[[key]]` with `entry`'s keys after the last one, before the comments that follow
    it (they describe what comes next in the file)."""
    table = tomlkit.table()
    for name, value in entry.items():
        table[name] = value
    current = doc.get(key)
    if isinstance(current, AoT) and len(current):
        last = current[-1]
        tail = _take_trailing(last.value)
        blank = bool(tail) and isinstance(tail[0], Whitespace)
        last.value.append(None, tail[0] if blank else Whitespace("\n"))
        current.append(table)
        for item in tail[1:] if blank else tail:
            table.value.append(None, item)
        return
    if current is not None:  # `feeds = []`: a key of the root table, which no header may follow
        del doc[key]
    if doc.body and not doc.as_string().endswith("\n\n"):
        doc.add(tomlkit.nl())
    doc.append(key, tomlkit.aot())
    aot = doc[key]
    assert isinstance(aot, AoT)
    aot.append(table)


def remove_table(doc: tomlkit.TOMLDocument, key: str, index: int) -> None:
    """Delete the index-th `[[key]]` table and only its header and keys: the comments and
    blank lines after it stay in the file where they stood."""
    aot = doc[key]
    assert isinstance(aot, AoT)
    tail = _take_trailing(aot[index].value)
    if index > 0:
        holder: Container = aot[index - 1].value
        _append_trivia(holder, tail)
        del aot[index]
        return
    _hand_to_predecessor(doc, key, tail)
    if len(aot) > 1:
        del aot[0]
        return
    position = _position(doc, key)
    last_thing = all(k is None and isinstance(v, _Trivia) for k, v in doc.body[position + 1 :])
    del doc[key]
    if last_thing and position:
        # the blank line append_table put above a first table goes with it (a clean round
        # trip); popping from the root is safe here: no key follows, so no index moves
        above = doc.body[position - 1][1]
        body = above.value.body if isinstance(above, Table) else doc.body[:position]
        if body and isinstance(body[-1][1], Whitespace):
            (above.value.body if isinstance(above, Table) else doc.body).pop(len(body) - 1)


def _take_trailing(body: Container) -> list[Item]:
    """Remove and return the comments and blank lines after the last key of a table."""
    items = body.body
    cut = len(items)
    while cut and items[cut - 1][0] is None and isinstance(items[cut - 1][1], _Trivia):
        cut -= 1
    tail = [item for _, item in items[cut:]]
    del items[cut:]
    return tail


def _hand_to_predecessor(doc: tomlkit.TOMLDocument, key: str, tail: list[Item]) -> None:
    """Put `tail` just before `[[key]]`: at the end of the table above it, or into the root
    before the first table when nothing is above it."""
    body = doc.body
    position = _position(doc, key)
    above = body[position - 1][1] if position else None
    if isinstance(above, Table) and not above.is_super_table():
        _append_trivia(above.value, tail)
        return
    if position and isinstance(above, Whitespace) and tail and isinstance(tail[0], Whitespace):
        tail = tail[1:]
    _insert_trivia(doc, position, tail)


def _position(doc: tomlkit.TOMLDocument, key: str) -> int:
    return next(i for i, (k, _) in enumerate(doc.body) if k is not None and k.key == key)


def _append_trivia(holder: Container, tail: list[Item]) -> None:
    """Append comments and blank lines to a table, without doubling the blank line that
    separated the removed table from the one above it."""
    body = holder.body
    if body and isinstance(body[-1][1], Whitespace) and tail and isinstance(tail[0], Whitespace):
        tail = tail[1:]
    for item in tail:
        holder.append(None, item)


def _insert_trivia(container: Container, index: int, items: list[Item]) -> None:
    """Insert comments and blank lines at `index` of a container's body. tomlkit's own
    `_insert_at` wants a key; its key map holds body positions, so those behind the
    insertion move on by the number inserted (as `_insert_at` does)."""
    count = len(items)
    mapping: dict[Any, int | tuple[int, ...]] = container._map
    for key, where in list(mapping.items()):
        if isinstance(where, tuple):
            mapping[key] = tuple(w + count if w >= index else w for w in where)
        elif where >= index:
            mapping[key] = where + count
    container.body[index:index] = [(None, item) for item in items]
