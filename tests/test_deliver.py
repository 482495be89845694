"""E-mail digests through the outbox to a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import sqlalchemy as sa

from bot import schema
from bot.archive import Archive
from bot.config import Config, SmtpConfig, SubscriptionConfig
from bot.deliver.smtp import clean_header
from bot.models import DeliveryState
from bot.pipeline import deliver_due, due_period
from tests.smtpsink import Sink, free_port


def _config(port: int, **sub: object) -> Config:
    fields: dict[str, object] = {"name": "Safeguarding reviews", **sub}
    subscription = SubscriptionConfig(
        id="weekly",
        email=("a@example.org", "b@example.org"),
        **fields,  # type: ignore[arg-type]
    )
    smtp = SmtpConfig.model_validate(
        {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "from": "reportbot <bot@example.org>",
        }
    )
    return Config(smtp=smtp, subscriptions=(subscription,))


def test_now_sends_one_message_per_address(filled: Archive, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    config = _config(port, backfill=True)
    summary = deliver_due(filled, config, "t", now_period=True)
    assert (summary.queued, summary.sent, summary.failed, summary.dead) == (2, 2, 0, 0)
    assert sorted(m["To"] for m in handler.received) == ["a@example.org", "b@example.org"]
    msg = handler.received[0]
    assert msg["Subject"].startswith("Safeguarding reviews: 10 new items")
    assert msg["List-Id"] == "<weekly.example.org>"
    assert msg["List-Unsubscribe"] is None  # without [web]: no link that leads nowhere
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Message-ID"] != handler.received[1]["Message-ID"]


def test_second_run_sends_nothing(filled: Archive, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    config = _config(port, backfill=True)
    deliver_due(filled, config, "t", now_period=True)
    summary = deliver_due(filled, config, "t")
    assert (summary.queued, summary.sent) == (0, 0) and len(handler.received) == 2


def test_new_subscription_has_no_backlog(filled: Archive, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    summary = deliver_due(filled, _config(port), "t", now_period=True)
    assert summary.sent == 0 and handler.received == []  # an empty period sends nothing


def test_451_is_retried_later_with_the_same_message_id(
    filled: Archive, sink: tuple[Sink, int]
) -> None:
    handler, port = sink
    config = _config(port, backfill=True)
    handler.reply = "451 try again later"
    summary = deliver_due(filled, config, "t", now_period=True)
    assert (summary.failed, summary.sent) == (2, 0)
    failed = filled.deliveries("failed")
    assert len(failed) == 2 and "451" in (failed[0].last_error or "")
    handler.reply = "250 OK"
    assert deliver_due(filled, config, "t").sent == 0  # not before its retry time
    with filled.engine.begin() as conn:
        conn.execute(sa.update(schema.deliveries).values(next_attempt_at=datetime.now(UTC)))
    assert deliver_due(filled, config, "t").sent == 2
    assert {d.attempts for d in filled.deliveries("sent")} == {2}


def test_connection_dropped_mid_data_is_retried(filled: Archive, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    handler.reply = "drop"
    summary = deliver_due(filled, _config(port, backfill=True), "t", now_period=True)
    assert (summary.sent, summary.failed, summary.dead) == (0, 2, 0)
    assert handler.received == [] and len(filled.deliveries("failed")) == 2


def test_550_is_dead_at_once(filled: Archive, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    handler.reply = "550 no such user"
    summary = deliver_due(filled, _config(port, backfill=True), "t", now_period=True)
    assert summary.dead == 2 and len(filled.deliveries("dead")) == 2


def test_unreachable_server_fails_for_retry_naming_the_server(filled: Archive) -> None:
    port = free_port()
    summary = deliver_due(filled, _config(port, backfill=True), "t", now_period=True)
    assert summary.failed == 2
    errors = {d.last_error for d in filled.deliveries(DeliveryState.FAILED)}
    assert errors == {f"smtp 127.0.0.1:{port}: connection refused"}


def test_header_injection_is_neutralised(filled: Archive, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    config = _config(port, backfill=True, name="Weekly\r\nBcc: evil@example.net")
    deliver_due(filled, config, "t", now_period=True)
    msg = handler.received[0]
    assert msg["Bcc"] is None and "evil@example.net" in msg["Subject"]
    assert clean_header("a\r\nb\x00c") == "a  b c"


def test_three_week_outage_gives_one_period() -> None:
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday's digest time
    now = start + timedelta(weeks=3, hours=1)
    period = due_period("0 8 * * mon", timezone="Europe/London", start=start, now=now)
    assert period == (start, datetime(2026, 11, 23, 8, 0, tzinfo=UTC))


def test_not_due_before_the_schedule() -> None:
    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    later = start + timedelta(days=6)
    assert due_period("0 8 * * mon", timezone="Europe/London", start=start, now=later) is None


@pytest.mark.parametrize(
    "night", [datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 10, 25, tzinfo=UTC)]
)
def test_daylight_saving_nights_send_once(night: datetime) -> None:
    """Daily at 01:30 London time across the clock change: one period per day, none lost."""
    base = start = night - timedelta(days=1)
    ends = []
    for quarter in range(0, 72 * 4):  # the worker looks every 15 minutes for three days
        now = base + timedelta(minutes=15 * quarter)
        period = due_period("30 1 * * *", timezone="Europe/London", start=start, now=now)
        if period is not None:
            ends.append(period[1])
            start = period[1]
    assert len(ends) == len(set(ends)) == 3
    gaps = {b - a for a, b in pairwise(ends)}
    assert all(timedelta(hours=23) <= g <= timedelta(hours=25) for g in gaps)


def test_cli_digest_send_and_deliveries(
    filled: Archive, sink: tuple[Sink, int], tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    from bot.cli import run

    handler, port = sink
    cfg = Path(str(tmp_path)) / "rb.toml"
    cfg.write_text(
        f'[archive]\nurl = "{filled.url}"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nfrom = "bot@example.org"\n'
        '[[subscriptions]]\nid = "weekly"\nbackfill = true\nemail = ["a@example.org"]\n'
        '[[subscriptions]]\nid = "team"\nchannel = { kind = "slack", url_env = "SLACK_URL" }\n'
    )
    assert run(["--config", str(cfg), "digest", "send", "--now"]) == 0
    out, err = capsys.readouterr()
    assert "queued 1, sent 1, failed 0 (will retry), dead 0" in out
    assert err == ""  # the new Slack subscription has no items yet: nothing queued for it
    assert run(["--config", str(cfg), "deliveries", "--state", "sent"]) == 0
    assert "a@example.org" in capsys.readouterr().out
    assert run(["--config", str(cfg), "deliveries", "retry", "99"]) == 1
    assert "no pending, failed, unknown or dead delivery with id 99" in capsys.readouterr().err
    assert len(handler.received) == 1


def test_non_ascii_subject_and_sender_are_encoded(filled: Archive, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    base = _config(port, backfill=True, name="Revues de sécurité — hebdo")
    assert base.smtp is not None
    smtp = base.smtp.model_copy(update={"from_": "Équipe veille <bot@example.org>"})
    deliver_due(filled, Config(smtp=smtp, subscriptions=base.subscriptions), "t", now_period=True)
    msg = handler.received[0]
    assert msg["Subject"].startswith("Revues de sécurité — hebdo: 10 new items")
    assert msg["From"].addresses[0].display_name == "Équipe veille"
    headers = handler.raw[0].split(b"\r\n\r\n", 1)[0]
    assert b"Subject: =?utf-8?" in headers and headers.isascii()  # RFC 2047, 7-bit


def test_consecutive_periods_hold_every_item_once(
    filled: Archive, sink: tuple[Sink, int], tmp_path: object
) -> None:
    from pathlib import Path

    from bot.pipeline import import_files
    from tests.feedserver import rss

    handler, port = sink
    config = _config(port, backfill=True)
    deliver_due(filled, config, "t", now_period=True)
    later = Path(str(tmp_path)) / "later.xml"
    later.write_bytes(rss([("g1", "Panel review one", "x"), ("g2", "Panel review two", "y")]))
    import_files(filled, [later])
    deliver_due(filled, config, "t", now_period=True)
    to_a = [m for m in handler.received if m["To"] == "a@example.org"]
    counts = [str(m["Subject"]).split(": ")[1].split(",")[0] for m in to_a]
    assert counts == ["10 new items", "2 new items"]
    second = to_a[1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Panel review one" in second and "Toddler" not in second


def test_clock_going_back_sends_nothing_and_then_one_period(
    filled: Archive, sink: tuple[Sink, int]
) -> None:
    handler, port = sink
    config = _config(port, backfill=True)
    first = deliver_due(filled, config, "t", now_period=True)
    assert first.sent == 2
    (row,) = filled.deliveries()[:1]
    back = row.period_end - timedelta(hours=2)  # the clock jumped back two hours
    assert deliver_due(filled, config, "t", now=back).queued == 0
    week = row.period_end + timedelta(days=8)  # and forward past the next Monday 08:00
    assert deliver_due(filled, config, "t", now=week).queued == 0  # nothing new to send
    ends = {d.period_end for d in filled.deliveries()}
    assert len(ends) == 1 and len(handler.received) == 2
    with filled.engine.connect() as conn:
        last = conn.execute(sa.select(schema.subscriptions.c.last_period_end)).scalar_one()
    assert last > row.period_end  # the empty period was passed over, not queued again later
