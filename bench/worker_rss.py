"""Memory of the real worker: `reportbot run` against the local feed farm of bench/poll.py.

    .venv/bin/python bench/worker_rss.py [--feeds 1000] [--seconds 150] [--tick 2]

Starts the farm, writes a config for its feeds, runs `reportbot run` as its own process and
prints its resident memory every 10 s: the first tick is a cold cycle over every feed, the
ticks after it find nothing due (the feeds' interval is an hour) and show the idle worker.
While the cold tick runs, APScheduler skips the ticks that would overlap it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from poll import rss_mb, serve_farm  # bench/ is on the path when this file is run

REPORTBOT = Path(sys.executable).with_name("reportbot")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=150)
    parser.add_argument("--tick", type=float, default=2.0)
    args = parser.parse_args()
    manager = multiprocessing.Manager()
    ports, ready = manager.list(), manager.Event()
    farm = multiprocessing.Process(
        target=serve_farm, args=(args.feeds, 0.05, ready, ports), daemon=True
    )
    farm.start()
    ready.wait(120)
    port_list = list(ports)
    with tempfile.TemporaryDirectory() as tmp:
        lines = ["[archive]", f'url = "sqlite:///{tmp}/worker.db"', "[worker]", "concurrency = 100"]
        for n in range(args.feeds):
            url = f"http://127.0.0.1:{port_list[n % len(port_list)]}/feed/{n}"
            lines += ["[[feeds]]", f'id = "f{n}"', f'url = "{url}"', "allow_private = true"]
        config = Path(tmp) / "reportbot.toml"
        config.write_text("\n".join(lines) + "\n")
        command = [str(REPORTBOT), "--config", str(config), "--log-level", "error"]
        worker = subprocess.Popen([*command, "run", "--tick", str(args.tick)])
        try:
            for elapsed in range(10, args.seconds + 1, 10):
                time.sleep(10)
                print(f"{elapsed:4d} s: worker RSS {rss_mb(worker.pid):4.0f} MB", flush=True)
        finally:
            worker.terminate()
            worker.wait(15)
    farm.kill()


if __name__ == "__main__":
    main()
