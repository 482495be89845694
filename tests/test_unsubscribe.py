"""Unsubscribing: the web site's one-click endpoint (RFC 8058) on a real port, the signed
link in each e-mail, `subscribers remove`, and that an unsubscribe stops even a queued
message."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot import weblinks as web
from bot.archive import Archive
from bot.config import Config, WebConfig
from bot.pipeline import deliver_due
from bot.webapp import create_app
from bot.webapp.serve import Background
from tests.smtpsink import Sink, free_port
from tests.test_deliver import _config

SECRET = b"0123456789abcdef-test"


@pytest.fixture
def web_config(monkeypatch: pytest.MonkeyPatch) -> WebConfig:
    monkeypatch.setenv("REPORTBOT_WEB_SECRET", SECRET.decode())
    return WebConfig(public_url="https://bot.example.org", listen=f"127.0.0.1:{free_port()}")


@pytest.fixture
def endpoint(web_config: WebConfig, filled: Archive) -> Iterator[Background]:
    """The whole site on a real port, as `reportbot run` serves it."""
    server = Background(create_app(Config(web=web_config), filled.url), web_config.listen)
    yield server.start()
    server.shutdown()


def _local(link: str, web_config: WebConfig) -> str:
    """The public link, sent to where the endpoint listens in this test."""
    parts = urlsplit(link)
    return f"http://{web_config.listen}{parts.path}?{parts.query}"


def _with_web(port: int, web_config: WebConfig) -> Config:
    base = _config(port, backfill=True)
    return Config(smtp=base.smtp, subscriptions=base.subscriptions, web=web_config)


def test_email_carries_one_click_headers(
    filled: Archive,
    sink: tuple[Sink, int],
    web_config: WebConfig,
) -> None:
    handler, port = sink
    deliver_due(filled, _with_web(port, web_config), "t", now_period=True)
    msg = handler.received[0]
    https = str(msg["List-Unsubscribe"]).strip(" <>")  # no mailto: to our own From
    assert https == web.unsubscribe_link(web_config, SECRET, "weekly", str(msg["To"]))
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert https.replace("&", "&amp;") in html  # the footer link is the same


def test_one_click_post_unsubscribes_and_next_send_skips_the_address(
    filled: Archive,
    sink: tuple[Sink, int],
    web_config: WebConfig,
    endpoint: Background,
) -> None:
    handler, port = sink
    link = web.unsubscribe_link(web_config, SECRET, "weekly", "a@example.org")
    request = urllib.request.Request(
        _local(link, web_config), data=b"List-Unsubscribe=One-Click", method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert filled.unsubscribed("weekly") == {"weekly": {"a@example.org"}}
    deliver_due(filled, _with_web(port, web_config), "t", now_period=True)
    assert [m["To"] for m in handler.received] == ["b@example.org"]


def test_get_shows_a_button_and_does_not_unsubscribe(
    filled: Archive,
    web_config: WebConfig,
    endpoint: Background,
) -> None:
    link = web.unsubscribe_link(web_config, SECRET, "weekly", "a@example.org")
    with urllib.request.urlopen(_local(link, web_config), timeout=10) as response:
        page = response.read().decode()
    assert '<form method="post"' in page and "a@example.org" in page
    assert filled.unsubscribed() == {}


def test_forged_link_is_refused(
    filled: Archive,
    web_config: WebConfig,
    endpoint: Background,
) -> None:
    link = web.unsubscribe_link(web_config, SECRET, "weekly", "a@example.org")
    forged = link.replace("a%40example.org", "b%40example.org")
    request = urllib.request.Request(_local(forged, web_config), data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    assert err.value.code == 403
    assert filled.unsubscribed() == {}


def test_unsubscribe_cancels_a_message_already_queued(
    filled: Archive,
    sink: tuple[Sink, int],
) -> None:
    handler, port = sink
    config = _config(port, backfill=True)
    states = filled.subscription_states(["weekly"], backfill={"weekly": None})
    created, _ = states["weekly"]
    from datetime import UTC, datetime

    filled.queue_period("weekly", ["a@example.org", "b@example.org"], created, datetime.now(UTC))
    filled.unsubscribe("weekly", "A@example.org", via="cli")
    summary = deliver_due(filled, config, "t")
    assert (summary.sent, summary.cancelled) == (1, 1)
    assert [m["To"] for m in handler.received] == ["b@example.org"]
    (cancelled,) = filled.deliveries("cancelled")
    assert cancelled.recipient == "a@example.org" and cancelled.last_error == "unsubscribed"


def test_cli_subscribers_remove_list_and_add(
    filled: Archive,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import run

    cfg = tmp_path / "rb.toml"
    cfg.write_text(
        f'[archive]\nurl = "{filled.url}"\n'
        "# the weekly digest\n"
        '[[subscriptions]]\nid = "weekly"\nemail = ["a@example.org"]\n'
    )
    assert run(["--config", str(cfg), "subscribers", "remove", "weekly", "a@example.org"]) == 0
    assert "a@example.org unsubscribed from weekly" in capsys.readouterr().out
    assert run(["--config", str(cfg), "subscribers", "list"]) == 0
    assert "unsubscribed" in capsys.readouterr().out
    assert run(["--config", str(cfg), "subscribers", "remove", "weekly", "z@example.org"]) == 1
    assert "z@example.org is not a subscriber of 'weekly'" in capsys.readouterr().err
    assert run(["--config", str(cfg), "subscribers", "add", "weekly", "a@example.org"]) == 0
    assert run(["--config", str(cfg), "subscribers", "add", "weekly", "c@example.org"]) == 0
    text = cfg.read_text()
    assert "# the weekly digest" in text and "c@example.org" in text
    assert filled.unsubscribed() == {}


def test_config_check_warns_that_email_without_web_has_no_one_click(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import run

    cfg = tmp_path / "rb.toml"
    mail = (
        '[smtp]\nhost = "127.0.0.1"\nsecurity = "none"\nfrom = "bot@example.org"\n'
        '[[subscriptions]]\nid = "weekly"\nemail = ["a@example.org"]\n'
    )
    cfg.write_text(mail)
    assert run(["--config", str(cfg), "config", "check"]) == 0  # a warning, not an error
    out, err = capsys.readouterr()
    assert "config OK" in out
    assert "warning: web: not configured, so e-mail subscriptions have no one-click" in err
    cfg.write_text(mail + '[web]\npublic_url = "https://bot.example.org"\n')
    # --no-env: [web]'s signing key variable is not set in this test
    assert run(["--config", str(cfg), "config", "check", "--no-env"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_emails_link_items_to_the_site_when_web_is_set(
    filled: Archive, sink: tuple[Sink, int], web_config: WebConfig
) -> None:
    handler, port = sink
    deliver_due(filled, _with_web(port, web_config), "t", now_period=True)
    text = handler.received[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "All its figures and quotes: https://bot.example.org/item/" in text
