"""E-mail digests through the outbox to a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from bot import schema
from bot.archive import Archive
from bot.config import (
    ChannelConfig,
    Config,
    SmtpConfig,
    SubscriptionConfig,
    WebConfig,
    WorkerConfig,
)
from bot.deliver.smtp import clean_header
from bot.models import DeliveryState
from bot.pipeline import deliver_due, due_period
from bot.pipeline.deliver import deliver_cycle
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


# -- issue 11: international addresses, preconditions, backfill -------------------------


@dataclass
class _EnvelopeSink(Sink):
    """Also keeps the envelope recipients of each message it accepted."""

    rcpt: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if reply.startswith("250"):
            self.rcpt.extend(envelope.rcpt_tos)
        return reply


def _sink(**smtp: Any) -> Iterator[tuple[_EnvelopeSink, int]]:
    handler = _EnvelopeSink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **smtp)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture(params=[True, False], ids=["smtputf8", "no-smtputf8"])
def intl_sink(request: pytest.FixtureRequest) -> Iterator[tuple[_EnvelopeSink, int, bool]]:
    for handler, port in _sink(enable_SMTPUTF8=request.param):
        yield handler, port, request.param


def test_non_ascii_address_never_stops_the_batch_nor_repeats_it(
    filled: Archive,
    intl_sink: tuple[_EnvelopeSink, int, bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.feedserver import FeedServer, Reply

    handler, port, smtputf8 = intl_sink
    base = _config(port, backfill=True)
    addresses = ("ann@example.org", "zoë@example.org", "bob@exämple.org")
    mail = base.subscriptions[0].model_copy(update={"email": addresses})
    hook = ChannelConfig(kind="webhook", url_env="HOOK_URL", secret_env="HOOK_KEY")  # type: ignore[arg-type]
    team = SubscriptionConfig(id="team", backfill=True, channel=hook)
    config = Config(smtp=base.smtp, subscriptions=(mail, team), worker=WorkerConfig(lease=1.0))
    with FeedServer() as receiver:
        receiver.routes["/hook"] = lambda h: Reply(200, b"ok")
        monkeypatch.setenv("HOOK_URL", receiver.url("/hook"))
        monkeypatch.setenv("HOOK_KEY", "k" * 20)
        first = deliver_due(filled, config, "t", now_period=True)
        for _lease in range(2):  # past the lease, twice: nothing comes back from `sending`
            time.sleep(1.2)
            again = deliver_due(filled, config, "t")
            assert (again.queued, again.sent, again.failed, again.dead) == (0, 0, 0, 0)
        assert len(receiver.posts) == 1  # the webhook in the same batch went, once
    assert filled.deliveries(DeliveryState.SENDING) == []
    ids = [m["Message-ID"] for m in handler.received]
    assert len(ids) == len(set(ids))  # every message exactly once
    if smtputf8:
        assert (first.sent, first.dead) == (4, 0)
        everyone = ["ann@example.org", "bob@xn--exmple-cua.org", "zoë@example.org"]
        assert sorted(handler.rcpt) == everyone
        (raw,) = [m for m in handler.raw if "zoë".encode() in m]
        assert "\r\nTo: zoë@example.org\r\n".encode() in raw  # UTF-8 as it is (RFC 6532)
        return
    assert (first.sent, first.dead) == (3, 1)
    assert sorted(handler.rcpt) == ["ann@example.org", "bob@xn--exmple-cua.org"]
    (dead,) = filled.deliveries(DeliveryState.DEAD)
    assert dead.recipient == "zoë@example.org"
    assert (dead.last_error or "").startswith(f"smtp 127.0.0.1:{port}: the server does not offer")
    assert "SMTPUTF8" in (dead.last_error or "")


def _accept_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"bot", b"pw")
    return AuthResult(success=ok)


@pytest.mark.parametrize("missing", ["web secret", "smtp password"])
def test_a_missing_secret_holds_rows_pending_until_it_is_set(
    filled: Archive,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    missing: str,
) -> None:
    from bot.cli import run

    for handler, port in _sink(authenticator=_accept_login, auth_require_tls=False):
        login = 'user = "bot"\npassword_env = "SMTP_PW"\n' if missing == "smtp password" else ""
        web = '[web]\npublic_url = "https://bot.example.org"\nsecret_env = "WEB_KEY"\n'
        cfg = tmp_path / "rb.toml"
        cfg.write_text(
            f'[archive]\nurl = "{filled.url}"\n[worker]\nlease = "1s"\n'
            f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n{login}'
            'from = "bot@example.org"\n'
            f"{web if missing == 'web secret' else ''}"
            '[[subscriptions]]\nid = "weekly"\nbackfill = true\nemail = ["a@example.org"]\n'
        )
        problem = (
            "web: $WEB_KEY must hold a key of at least 16 characters"
            if missing == "web secret"
            else "smtp: $SMTP_PW is not set"
        )
        for _lease in range(2):  # and again once a lease would have expired
            assert run(["--config", str(cfg), "digest", "send", "--now"]) == 1
            (row,) = filled.deliveries()  # never claimed: not `sending`, never uncertain
            assert (row.state, row.last_error, row.attempts) == ("pending", problem, 0)
            assert not row.uncertain
            err = capsys.readouterr().err
            assert f"reportbot: error: weekly: {problem}: 1 deliveries wait" in err
            time.sleep(1.1)
        assert run(["--config", str(cfg), "deliveries", "--state", "pending"]) == 0
        assert "must hold" in capsys.readouterr().out or missing == "smtp password"
        monkeypatch.setenv("WEB_KEY", "0123456789abcdef-key")
        monkeypatch.setenv("SMTP_PW", "pw")
        assert run(["--config", str(cfg), "deliveries", "retry", str(row.id)]) == 0
        assert run(["--config", str(cfg), "digest", "send"]) == 0
        assert "sent 1" in capsys.readouterr().out
        (sent,) = filled.deliveries(DeliveryState.SENT)
        assert not sent.uncertain and len(handler.received) == 1


def test_a_period_from_1970_ends_at_the_latest_schedule_time() -> None:
    """Found directly: walking a two-minute schedule from 1970 never reached today."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    now = datetime(2026, 12, 1, 17, 31, 10, tzinfo=UTC)
    period = due_period("*/2 * * * *", timezone="Europe/London", start=epoch, now=now)
    assert period == (epoch, datetime(2026, 12, 1, 17, 30, tzinfo=UTC))


def test_backfill_on_a_two_minute_schedule_sends_the_archive_at_once(
    filled: Archive, sink: tuple[Sink, int]
) -> None:
    handler, port = sink
    with filled.engine.begin() as conn:  # an archive that was there before the subscription
        yesterday = datetime.now(UTC) - timedelta(days=1)
        conn.execute(sa.update(schema.items).values(first_seen=yesterday))
        conn.execute(sa.update(schema.item_feeds).values(first_seen=yesterday))
    config = _config(port, backfill=True, schedule="*/2 * * * *")
    summary = deliver_due(filled, config, "t")  # no --now: the schedule decides
    assert (summary.queued, summary.sent) == (2, 2)
    published = [s.item.published for s in filled.items() if s.item.published is not None]
    first, last = min(published), max(published)
    assert (first.year, last.year) == (2024, 2025)  # so the subject names both years
    period = f"{first:%-d %B %Y} to {last:%-d %B %Y}"
    assert str(handler.received[0]["Subject"]) == f"Safeguarding reviews: 10 new items, {period}"
    assert deliver_due(filled, config, "t").queued == 0  # and only once


def _public_config(port: int) -> Config:
    """A public subscription whose only recipients are the web site's sign-ups."""
    web = WebConfig(public_url="https://bot.example.org", secret_env="RB_TEST_WEB_KEY")
    config = _config(port, backfill=True)
    weekly = SubscriptionConfig(
        id="weekly", name="Safeguarding reviews", backfill=True, public=True
    )
    return config.model_copy(update={"web": web, "subscriptions": (weekly,)})


@pytest.mark.parametrize("recipients", ["config", "sign-ups"])
def test_preview_shows_exactly_what_the_next_send_delivers(
    filled: Archive, sink: tuple[Sink, int], recipients: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a digest went out, the preview holds only what came since (not the last
    7 days), rendered as the e-mail that `digest send` then delivers (with sign-ups only:
    its unsubscribe link too, for the first of them)."""
    from bot.pipeline import import_files, preview_digest
    from tests.conftest import DATA

    handler, port = sink
    config = _config(port, backfill=True)
    if recipients == "sign-ups":
        monkeypatch.setenv("RB_TEST_WEB_KEY", "k" * 32)
        config = _public_config(port)
        filled.confirm_signup("weekly", "z@example.org", "z@example.org")
    deliver_due(filled, config, "t", now_period=True)
    handler.received.clear()
    import_files(filled, [DATA / "wordpress-rss20.xml"])
    preview = preview_digest(filled, config, "weekly", fmt="text")
    assert "Racial bias" not in preview.body  # sent already, in the first digest
    deliver_due(filled, config, "t", now_period=True)
    sent = handler.received[0]
    assert sent["Subject"] == preview.subject
    body = sent.get_body(("plain",))
    assert body is not None
    sent_text = body.get_content().replace("\r\n", "\n")  # e-mail lines end in CRLF
    assert sent_text.strip() == preview.body.strip()
    assert ("/unsubscribe?" in preview.body) == (recipients == "sign-ups")


def test_preview_of_a_new_subscription_stores_nothing(
    filled: Archive, sink: tuple[Sink, int]
) -> None:
    from bot.pipeline import preview_digest

    _, port = sink
    before = filled.counts()
    preview_digest(filled, _config(port), "weekly", fmt="text")
    with filled.engine.connect() as conn:
        assert conn.execute(sa.select(schema.subscriptions)).all() == []
    assert filled.counts() == before


class _StallingSink(Sink):
    """Accepts the first message, holds the second after its data came until `release`."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.received:
            self.arrived.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


def _signup_config(port: int) -> Config:
    smtp = SmtpConfig.model_validate(
        {"host": "127.0.0.1", "port": port, "security": "none", "from": "bot@example.org"}
    )
    web = WebConfig(public_url="https://bot.example.org", secret_env="RB_TEST_WEB_KEY")
    weekly = SubscriptionConfig(id="weekly", public=True)
    return Config(smtp=smtp, web=web, subscriptions=(weekly,))


def test_a_cancelled_cycle_records_the_confirmation_mails_and_gives_back_the_rest(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C or SIGTERM while a confirmation e-mail waits on the server: the one
    accepted and the one held are recorded (held: may have arrived, so not sent again),
    the one not begun is pending again at once, and nothing is left `sending`."""
    monkeypatch.setenv("RB_TEST_WEB_KEY", "k" * 32)
    handler, port = _StallingSink(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    config = _signup_config(port)
    for address in ["a@example.org", "b@example.org", "c@example.org"]:
        archive.queue_signup_mail("weekly", address)

    async def cancel_at_the_stall() -> None:
        cycle = asyncio.create_task(deliver_cycle(archive, config, "t"))
        assert await asyncio.to_thread(handler.arrived.wait, 30), "never reached the server"
        cycle.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cycle

    try:
        asyncio.run(cancel_at_the_stall())
        assert archive.signup_mail_counts() == {"sent": 2, "pending": 1}
        assert len(handler.received) == 1
        handler.release.set()
        deliver_due(archive, config, "t")  # the next cycle sends only the one not begun
    finally:
        handler.release.set()
        controller.stop()
    assert archive.signup_mail_counts() == {"sent": 3}
    # the held message never got its 250 (the server dropped it with the connection), so
    # the sink holds the first and the one not begun: a second send of the held one would
    # be a third message here
    tos = [str(m["To"]) for m in handler.received]
    assert len(tos) == len(set(tos)) == 2
