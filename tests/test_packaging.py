"""What the Docker image runs: the wheel, installed on its own, and the image itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # long end to end: `make test` runs it, `make check` not


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload, no-any-return]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)]
    )
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("reportbot-*.whl")
    return path


def test_wheel_alone_imports_migrates_and_renders(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    installed = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ]
    )
    assert installed.returncode == 0, installed.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}  # before the source tree's editable install
    work = tmp_path / "work"
    work.mkdir()

    def bot(*args: str) -> subprocess.CompletedProcess[str]:
        return _run([sys.executable, "-m", "bot", *args], env=env, cwd=work)

    where = _run([sys.executable, "-c", "import bot; print(bot.__file__)"], env=env, cwd=work)
    assert where.stdout.startswith(str(target))
    assert bot("--version").returncode == 0
    dump = target / "bot" / "data" / "communitycare-cspr-feed-dump.txt"
    imported = bot("import", str(dump))  # the wheel's migrations and embedded dump
    assert imported.returncode == 0, imported.stderr
    preview = bot("digest", "preview", "demo", "--since", "2000-01-01", "--format", "html")
    assert preview.returncode == 0 and "Toddler" in preview.stdout  # the wheel's templates
    health = bot("health")
    assert health.returncode == 1
    assert "no worker has completed a tick yet" in health.stderr


def _docker_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker command on this machine"
    info = _run(["docker", "info", "--format", "{{.ServerVersion}}"])
    if info.returncode != 0:
        lines = (info.stderr or info.stdout).strip().splitlines() or ["no answer"]
        return f"no Docker daemon reachable ({lines[-1][:120]})"
    return None


def test_docker_image_runs_version_and_health() -> None:
    problem = _docker_problem()
    if problem is not None:
        pytest.skip(f"Docker image not built: {problem}")
    tag = "reportbot:test"
    built = _run(["docker", "build", "-t", tag, str(ROOT)])
    assert built.returncode == 0, built.stderr[-2000:]
    version = _run(["docker", "run", "--rm", tag, "--version"])
    assert version.returncode == 0 and "reportbot" in version.stdout
    health = _run(["docker", "run", "--rm", tag, "health"])
    assert health.returncode == 1  # no archive in a fresh volume: one line, not a traceback
    assert health.stderr.startswith("reportbot: error: no archive at state/reportbot.db")
