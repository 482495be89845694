"""Import speed: the supplied dump, parsed and archived into a fresh SQLite file, N times.

.venv/bin/python bench/import_dump.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bot.archive import Archive
from bot.pipeline import import_files, read_document

DUMP = Path(__file__).resolve().parent.parent / "bot" / "data" / "communitycare-cspr-feed-dump.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    start = time.perf_counter()
    for _ in range(args.rounds):
        read_document(DUMP)
    parse_s = (time.perf_counter() - start) / args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive(f"sqlite:///{tmp}/bench.db")
        archive.upgrade()
        start = time.perf_counter()
        import_files(archive, [DUMP])
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        import_files(archive, [DUMP])
        again_s = time.perf_counter() - start
        archive.close()
    print(f"parse dump (10 items):        {parse_s * 1000:8.1f} ms")
    print(f"first import into SQLite:     {first_s * 1000:8.1f} ms")
    print(f"repeat import (all unchanged): {again_s * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
