"""The item page under load, for bench/web.py: `reportbot web` serving an archive in its own
processes, and `wrk` (Debian's package; a Python keep-alive load generator in another process
when wrk is missing) asking for random item pages over keep-alive connections. Prints
requests/s, latency percentiles, each server process's resident memory after the run, and
the server's CPU time per request: on a machine shared with other jobs the rate falls with
the load, the CPU per request does not.

Target: >= 300 requests/s on the 2-core machine, web process RSS <= 150 MB.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

SECRET = "bench-web-secret-0123456789"
WRK_SCRIPT = """
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/item/" .. math.random(1, {items}))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes used so far (/proc/PID/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in found.read_text().split()] if found.exists() else []


def serve(config: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "REPORTBOT_WEB_SECRET": SECRET}
    command = [sys.executable, "-m", "bot", "--config", str(config), "--log-level", "warning"]
    server = subprocess.Popen(
        [*command, "web", "--listen", f"127.0.0.1:{port}", "--workers", str(workers)], env=env
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/item/1", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("reportbot web did not answer within 60 s")


def load_wrk(port: int, items: int, seconds: int, connections: int) -> tuple[float, str]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(items=items))
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            script.name,
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    note = f"p50 {lat.get('50')}, p90 {lat.get('90')}, p99 {lat.get('99')}"
    return rate, note + (f", {errors.group(1)} non-2xx" if errors else "")


def _client(port: int, items: int, until: float, counts: multiprocessing.Queue[int]) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port)
    done = 0
    while time.monotonic() < until:
        conn.request("GET", f"/item/{random.randint(1, items)}")
        response = conn.getresponse()
        response.read()
        done += response.status == 200
    counts.put(done)


def load_python(port: int, items: int, seconds: int, connections: int) -> tuple[float, str]:
    """Keep-alive connections, one per process (http.client), when wrk is not installed."""
    counts: multiprocessing.Queue[int] = multiprocessing.Queue()
    until = time.monotonic() + seconds
    procs = [
        multiprocessing.Process(target=_client, args=(port, items, until, counts))
        for _ in range(min(connections, 4))
    ]
    for p in procs:
        p.start()
    total = sum(counts.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds, f"python load generator, {len(procs)} connections"


def item_pages(
    url: str, *, items: int, workers: Sequence[int], seconds: int, connections: int
) -> None:
    """Serve the archive at `url` (items 1..`items`) with each number of web processes and
    load its item pages."""
    load = load_wrk if shutil.which("wrk") else load_python
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "reportbot.toml"
        config.write_text(
            f'[archive]\nurl = "{url}"\n[web]\npublic_url = "https://bot.example.org"\n'
        )
        for count in workers:
            port = free_port()
            server = serve(config, port, count)
            try:
                load(port, items, 2, connections)  # warm-up: pools, caches
                pids = children(server.pid) if count > 1 else [server.pid]
                cpu = cpu_seconds(pids)
                rate, note = load(port, items, seconds, connections)
                per_request = (cpu_seconds(pids) - cpu) / max(1.0, rate * seconds)
                memory = ", ".join(f"{rss_mb(p):.0f}" for p in pids)
                print(
                    f"  item page, {count} web process(es), {connections} connections: "
                    f"{rate:.0f} requests/s ({note}); RSS MB per process: {memory}; "
                    f"server CPU {per_request * 1000:.2f} ms per request "
                    f"(= {1 / per_request:.0f} requests/s per free core)",
                    flush=True,
                )
            finally:
                server.terminate()
                server.wait(15)
