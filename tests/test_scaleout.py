"""Three workers on PostgreSQL, one SIGKILLed every few seconds (bench/scaleout.py, small)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PG_URL, ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _bench() -> object:
    spec = importlib.util.spec_from_file_location("scaleout", ROOT / "bench" / "scaleout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["scaleout"] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_killed_workers_lose_nothing_and_never_overlap(tmp_path: Path) -> None:
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_URL} is required in CI: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} not reachable: {exc}")
    bench = _bench()
    # 135 s spans at least two minute boundaries: on a loaded machine the workers may archive
    # nothing before the first one (its period is then empty), and the second still falls
    # while workers are being killed
    report = bench.run(  # type: ignore[attr-defined]
        feeds=60, subscriptions=30, workers=3, seconds=135, kill_every=4, work=tmp_path
    )
    print(report)
    assert report.kills >= 10
    assert report.published > 60 and report.archived == report.published
    # a period every minute while workers were being killed, and the final one
    assert report.deliveries >= 2 * 30
    assert report.ok(), report
