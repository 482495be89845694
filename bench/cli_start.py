"""CLI start-up: wall time of whole commands, side by side with a bare interpreter.

.venv/bin/python bench/cli_start.py [--runs 15]

Each command runs in a fresh process against a config and a SQLite archive made here (the
dump imported once), as an admin would type it; the best and the median of N runs are
printed, and the best CPU time (user + system) of the process: on a machine shared with other
work the wall time is mostly waiting for a core, the CPU time much less so. `config check`
runs twice: on the example config as shipped (one feed), and with every commented-out
section of it switched on (SMTP, subscriptions with addresses and a crontab, channels, web),
as a deployed config has them. The target (issue 12): `--help`, `status` and `config check`
within 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DUMP = ROOT / "bot" / "data" / "communitycare-cspr-feed-dump.txt"
EXAMPLE = ROOT / "config" / "reportbot.example.toml"


# the variables the example's commented-out sections name, set so that the check passes
SECRETS = {
    "REPORTBOT_SMTP_PASSWORD": "bench",
    "REPORTBOT_SLACK_URL": "https://hooks.slack.com/services/T0/B0/bench",
    "REPORTBOT_ADMIN_SLACK_URL": "https://hooks.slack.com/services/T0/B0/admin",
    "REPORTBOT_WEB_SECRET": "0123456789abcdef0123456789abcdef",
}


def timed(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float, float]:
    """Best and median wall time, and best CPU time of the child, over `runs` runs."""
    times, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(times), statistics.median(times), min(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    bot = str(Path(sys.executable).with_name("reportbot"))
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "reportbot.toml"
        example = EXAMPLE.read_text(encoding="utf-8").replace(
            "sqlite:///state/reportbot.db", f"sqlite:///{tmp}/a.db"
        )
        config.write_text(example, encoding="utf-8")
        full = Path(tmp) / "full.toml"
        full.write_text(re.sub(r"(?m)^# (\[|[a-z_]+ = )", r"\1", example), encoding="utf-8")
        env = {**os.environ, **SECRETS, "REPORTBOT_CONFIG": str(config), "COLUMNS": "120"}
        subprocess.run([bot, "import", str(DUMP)], env=env, check=True, capture_output=True)
        cases = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            # the floors: every command needs click; config check pydantic; status both
            ("  import click", [sys.executable, "-c", "import click"]),
            ("  import pydantic models", [sys.executable, "-c", "import bot.config"]),
            ("  import sqlalchemy", [sys.executable, "-c", "import sqlalchemy"]),
            ("reportbot --help", [bot, "--help"]),
            ("reportbot config check", [bot, "config", "check"]),
            ("  every section on", [bot, "--config", str(full), "config", "check"]),
            ("reportbot status", [bot, "status"]),
            ("reportbot archive list", [bot, "archive", "list", "--limit", "5"]),
        ]
        print(f"{'command':28} {'best':>8} {'median':>8} {'best CPU':>9}   ({args.runs} runs each)")
        for name, argv in cases:
            best, median, cpu = timed(argv, env, args.runs)
            print(f"{name:28} {best * 1000:5.0f} ms {median * 1000:5.0f} ms {cpu * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
