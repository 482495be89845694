"""CLI start-up: wall time of whole commands, side by side with a bare interpreter.

.venv/bin/python bench/cli_start.py [--runs 15]

Each command runs in a fresh process against a config and a SQLite archive made here (the
dump imported once), as an admin would type it; the best and the median of N runs are
printed. The target (issue 12): `--help`, `status` and `config check` within 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DUMP = ROOT / "bot" / "data" / "communitycare-cspr-feed-dump.txt"
EXAMPLE = ROOT / "config" / "reportbot.example.toml"


def timed(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    bot = str(Path(sys.executable).with_name("reportbot"))
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "reportbot.toml"
        config.write_text(
            EXAMPLE.read_text(encoding="utf-8").replace(
                "sqlite:///state/reportbot.db", f"sqlite:///{tmp}/a.db"
            ),
            encoding="utf-8",
        )
        env = {**os.environ, "REPORTBOT_CONFIG": str(config), "COLUMNS": "120"}
        subprocess.run([bot, "import", str(DUMP)], env=env, check=True, capture_output=True)
        cases = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("reportbot --help", [bot, "--help"]),
            ("reportbot config check", [bot, "config", "check"]),
            ("reportbot status", [bot, "status"]),
            ("reportbot archive list", [bot, "archive", "list", "--limit", "5"]),
        ]
        print(f"{'command':28} {'best':>8} {'median':>8}   ({args.runs} runs each)")
        for name, argv in cases:
            best, median = timed(argv, env, args.runs)
            print(f"{name:28} {best * 1000:6.0f} ms {median * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
