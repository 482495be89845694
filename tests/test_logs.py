"""Log lines: key=value or JSON, with feed/delivery fields, and never a secret."""

from __future__ import annotations

import json
import logging

import pytest

from bot import logs
from bot.archive import Archive
from bot.cli import run
from tests.feedserver import FeedServer, Reply

TOKEN_URL = "https://hooks.slack.com/services/T0000/B0000/abcdefSECRETtoken"


def _line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err.strip()


def test_key_value_line_carries_fields(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("kv")
    logging.getLogger("reportbot.t").warning(
        "poll failed", extra={"feed_id": "cspr", "error": 'HTTP 503 "busy"'}
    )
    line = _line(capsys)
    assert " level=warning logger=reportbot.t " in line
    assert line.endswith('msg="poll failed" feed_id=cspr error="HTTP 503 \\"busy\\""')


def test_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("json")
    logging.getLogger("reportbot.t").error(
        "delivery dead", extra={"delivery_id": 7, "subscription": "weekly"}
    )
    data = json.loads(_line(capsys))
    assert data["msg"] == "delivery dead" and data["delivery_id"] == 7
    assert data["subscription"] == "weekly" and data["ts"].endswith("Z")


def test_urls_are_cut_to_scheme_and_host(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("kv")
    logging.getLogger("reportbot.t").warning("posting to %s failed", TOKEN_URL)
    line = _line(capsys)
    assert "https://hooks.slack.com/…" in line and "SECRET" not in line


def test_configured_secrets_are_hidden_in_fields_and_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.setup("kv")
    logs.add_secrets(["hunter2-smtp-password"])
    try:
        raise RuntimeError("login refused for hunter2-smtp-password")
    except RuntimeError:
        logging.getLogger("reportbot.t").exception(
            "smtp failed", extra={"error": "auth hunter2-smtp-password"}
        )
    line = _line(capsys)
    assert "hunter2" not in line
    assert (
        'error="auth [redacted]"' in line and "RuntimeError: login refused for [redacted]" in line
    )


def test_httpx_request_lines_are_silenced(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("kv", "debug")
    logging.getLogger("httpx").info("HTTP Request: POST %s", TOKEN_URL)
    assert _line(capsys) == ""


def test_failed_chat_delivery_is_logged_with_its_ids_and_no_token(
    filled: Archive,
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pathlib import Path

    with FeedServer() as receiver:
        receiver.routes["/services/T0/B0/tok3nSECRET"] = lambda h: Reply(500, b"oops")
        monkeypatch.setenv("SLACK_URL", receiver.url("/services/T0/B0/tok3nSECRET"))
        cfg = Path(str(tmp_path)) / "rb.toml"
        cfg.write_text(
            f'[archive]\nurl = "{filled.url}"\n[[subscriptions]]\nid = "team"\nbackfill = true\n'
            'channel = { kind = "slack", url_env = "SLACK_URL" }\n'
        )
        assert run(["--config", str(cfg), "--log-format", "json", "digest", "send", "--now"]) == 0
    err = capsys.readouterr().err
    (record,) = [json.loads(line) for line in err.splitlines()]
    assert record["msg"] == "delivery failed" and record["subscription"] == "team"
    assert record["delivery_id"] == filled.deliveries()[0].id
    assert "tok3n" not in err


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8025/unsubscribe?a=x", "http://127.0.0.1:8025/…"),
        ("http://[::1]:18097/", "http://[::1]:18097/…"),
        ("https://user:pw@hooks.example.org/T/B/X", "https://hooks.example.org/…"),
    ],
)
def test_a_url_keeps_its_host_and_port_but_not_its_path_or_credentials(
    url: str, shown: str
) -> None:
    assert logs.scrub(f"listening on {url} now") == f"listening on {shown} now"
