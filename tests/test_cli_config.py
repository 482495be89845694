"""`reportbot config check`: every problem at once, one line each, exit 2; `--no-env`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import run

_CONFIG = """
[[feeds]]
id = "a"
url = "https://example.org/feed"
allow_private = "yes"

[[subscriptions]]
id = "weekly"
feeds = ["b"]
email = ["bob@"]

[[subscriptions]]
id = "weekly"
channel = { kind = "slack", url_env = "T_SLACK_URL" }
"""


def _check(capsys: pytest.CaptureFixture[str], path: Path, *flags: str) -> tuple[int, str, str]:
    code = run(["--config", str(path), "config", "check", *flags])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_problem_on_its_own_line_with_its_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rb.toml"
    path.write_text(_CONFIG)
    code, out, err = _check(capsys, path)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{path}: feeds[0].allow_private: 'yes' is not a boolean: write true or false, "
        "without quotes",
        f"{path}: subscriptions[0].email[0]: 'bob@' is not one e-mail address: "
        "There must be something after the @-sign.",
        f"{path}: subscriptions[0].feeds[0]: 'b' is neither the id nor a tag of a feed in "
        "[[feeds]]",
        f"{path}: subscriptions[1].id: 'weekly' is used by another subscription",
        f"{path}: subscriptions[1].channel.url_env: $T_SLACK_URL is not set (or is empty) here",
    ]


def test_no_env_checks_a_config_away_from_its_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rb.toml"
    path.write_text(
        '[[subscriptions]]\nid = "team"\nchannel = { kind = "slack", url_env = "T_SLACK_URL" }\n'
    )
    code, _, err = _check(capsys, path)
    assert (code, err) == (
        2,
        f"{path}: subscriptions[0].channel.url_env: $T_SLACK_URL is not set (or is empty) here\n",
    )
    code, out, err = _check(capsys, path, "--no-env")
    assert (code, err) == (0, "") and out.startswith("config OK")
    monkeypatch.setenv("T_SLACK_URL", "https://hooks.slack.com/services/T/B/x")
    code, out, err = _check(capsys, path)
    assert (code, err) == (0, "") and out.startswith("config OK")
