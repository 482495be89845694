"""Chat and webhook deliveries through the outbox to real HTTP receivers on 127.0.0.1.

The receivers stand in for Slack, Discord, Teams and a generic webhook: they answer what each
platform documents (200 "ok", 204/200 with ?wait=true, 202, 429 + Retry-After, 4xx with the
platform's message) and record every POST for the assertions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot import schema
from bot.archive import Archive
from bot.config import ChannelConfig, Config, SubscriptionConfig
from bot.models import DeliveryState
from bot.pipeline import deliver_due
from tests.feedserver import FeedServer, Reply

SECRET = "s3cret-key-for-tests"


def _config(
    receiver: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    path: str,
    admin: str | None = None,
    **sub: object,
) -> Config:
    monkeypatch.setenv("HOOK_URL", receiver.url(path))
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    channel = ChannelConfig(kind=kind, url_env="HOOK_URL", secret_env="HOOK_SECRET")  # type: ignore[arg-type]
    fields: dict[str, object] = {"backfill": True, **sub}
    subscription = SubscriptionConfig(id="team", name="Team", channel=channel, **fields)  # type: ignore[arg-type]
    admin_channel = None
    if admin is not None:
        monkeypatch.setenv("ADMIN_URL", receiver.url(admin))
        admin_channel = ChannelConfig(kind="slack", url_env="ADMIN_URL")
    return Config(subscriptions=(subscription,), admin=admin_channel)


def _ok(body: bytes = b"ok", status: int = 200) -> Reply:
    return Reply(status, body, {"Content-Type": "text/plain"})


def test_each_mode_posts_every_item_once_oldest_first(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.routes["/hook"] = lambda h: _ok()
    cfg = _config(receiver, monkeypatch, "webhook", "/hook", mode="each")
    summary = deliver_due(filled, cfg, "w1")
    assert summary.sent == 10 and summary.dead == 0
    published = [json.loads(p.body)["items"][0]["published"] for p in receiver.posts]
    assert published == sorted(published)
    assert deliver_due(filled, cfg, "w1").sent == 0  # a second run sends nothing
    assert len(receiver.posts) == 10


def test_webhook_is_signed_with_timestamp_and_key(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.routes["/hook"] = lambda h: _ok()
    deliver_due(filled, _config(receiver, monkeypatch, "webhook", "/hook"), "w1", now_period=True)
    (post,) = receiver.posts
    stamp = post.headers["x-reportbot-timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + post.body, hashlib.sha256)
    assert post.headers["x-reportbot-signature"] == "sha256=" + expected.hexdigest()
    assert abs(int(stamp) - datetime.now(UTC).timestamp()) < 60
    assert post.headers["x-reportbot-delivery"].startswith("digest:team:")
    assert post.headers["content-type"] == "application/json"
    assert len(json.loads(post.body)["items"]) == 10


def test_discord_posts_with_wait_true(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.routes["/discord?wait=true"] = lambda h: Reply(200, b'{"id": "1"}')
    cfg = _config(receiver, monkeypatch, "discord", "/discord")
    assert deliver_due(filled, cfg, "w1", now_period=True).sent == 1
    assert {p.path for p in receiver.posts} == {"/discord?wait=true"}
    for post in receiver.posts:
        assert json.loads(post.body)["allowed_mentions"] == {"parse": []}


def test_slack_posts_at_most_one_a_second(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.routes["/slack"] = lambda h: _ok()
    cfg = _config(receiver, monkeypatch, "slack", "/slack", mode="each", include=("racial",))
    summary = deliver_due(filled, cfg, "w1")
    assert summary.sent == len(receiver.posts) >= 3
    gaps = [b.at - a.at for a, b in zip(receiver.posts, receiver.posts[1:], strict=False)]
    assert min(gaps) >= 1.0  # paced from each answer, so arrivals are a second apart too


def test_429_waits_for_retry_after_and_holds_the_destination(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.routes["/hook"] = lambda h: Reply(429, b"slow down", {"Retry-After": "900"})
    cfg = _config(receiver, monkeypatch, "webhook", "/hook", mode="each")
    before = datetime.now(UTC)
    summary = deliver_due(filled, cfg, "w1")
    assert summary.failed == 10 and summary.sent == 0
    assert len(receiver.posts) == 1  # the other nine were held back, not sent into a 429
    for d in filled.deliveries("failed"):
        assert "429" in (d.last_error or "")
    d = schema.deliveries
    with filled.engine.connect() as conn:
        retry_times = conn.execute(sa.select(d.c.next_attempt_at)).scalars().all()
    assert all(t >= before + timedelta(seconds=899) for t in retry_times)


def test_500_is_retried_and_404_is_dead_with_the_platform_message(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.routes["/hook"] = lambda h: Reply(500, b"oops")
    cfg = _config(receiver, monkeypatch, "webhook", "/hook")
    assert deliver_due(filled, cfg, "w1", now_period=True).failed == 1
    receiver.routes["/gone"] = lambda h: Reply(404, b"channel_not_found")
    cfg = _config(receiver, monkeypatch, "slack", "/gone")
    (failed,) = filled.deliveries("failed")
    filled.retry_delivery(failed.id)
    assert deliver_due(filled, cfg, "w1").dead == 1
    (dead,) = filled.deliveries("dead")
    assert dead.last_error == "slack: HTTP 404: channel_not_found"


def test_dead_delivery_alerts_the_admin_channel_once(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.routes["/hook"] = lambda h: Reply(400, b'{"message": "Invalid Form Body"}')
    receiver.routes["/admin"] = lambda h: _ok()
    cfg = _config(receiver, monkeypatch, "webhook", "/hook", admin="/admin")
    summary = deliver_due(filled, cfg, "w1", now_period=True)
    assert summary.dead == 1 and summary.alerts == 1
    (alert,) = [p for p in receiver.posts if p.path == "/admin"]
    text = json.loads(alert.body)["blocks"][0]["text"]["text"]
    assert "delivery_dead" in text and "Invalid Form Body" in text
    assert deliver_due(filled, cfg, "w1").alerts == 0
    assert filled.events(undelivered_only=True) == []


def test_admin_alerts_stay_queued_while_the_admin_channel_fails(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    filled.record_event("feed_unhealthy", "feed cspr failed 10 times: HTTP 503")
    receiver.routes["/admin"] = lambda h: Reply(503, b"down")
    cfg = _config(receiver, monkeypatch, "webhook", "/hook", admin="/admin")
    assert deliver_due(filled, cfg, "w1").alerts == 0
    assert len(filled.events(undelivered_only=True)) == 1
    receiver.routes["/admin"] = lambda h: _ok()
    assert deliver_due(filled, cfg, "w1").alerts == 1


def test_split_digest_resumes_at_the_first_part_not_sent(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([_ok(), Reply(503, b"busy")])
    receiver.routes["/hook"] = lambda h: next(answers, _ok())
    # Discord holds at most 10 embeds a message: 10 items + header split into parts
    cfg = _config(receiver, monkeypatch, "discord", "/hook", max_items=10)
    receiver.routes["/hook?wait=true"] = receiver.routes["/hook"]
    assert deliver_due(filled, cfg, "w1", now_period=True).failed == 1
    (failed,) = filled.deliveries("failed")
    assert failed.parts_sent == 1
    filled.retry_delivery(failed.id)
    assert deliver_due(filled, cfg, "w1").sent == 1
    bodies = [json.loads(p.body) for p in receiver.posts]
    assert len(bodies) == 3  # part 1, part 2 refused, part 2 again; part 1 never twice
    assert bodies[1] == bodies[2] != bodies[0]


def test_no_answer_after_sending_is_unknown_and_sent_again_once(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([Reply(hang_up=True)])
    receiver.routes["/hook"] = lambda h: next(answers, _ok())
    cfg = _config(receiver, monkeypatch, "webhook", "/hook")
    summary = deliver_due(filled, cfg, "w1", now_period=True)
    assert summary.unknown == 1
    (row,) = filled.deliveries("unknown")
    assert row.uncertain
    filled.retry_delivery(row.id)
    assert deliver_due(filled, cfg, "w1").sent == 1
    assert deliver_due(filled, cfg, "w1").sent == 0
    keys = [p.headers["x-reportbot-delivery"] for p in receiver.posts]
    assert len(keys) == 2 and keys[0] == keys[1]  # the receiver can drop the duplicate
    (sent,) = filled.deliveries("sent")
    assert sent.uncertain


def test_unset_url_variable_holds_the_row_pending_with_its_name(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _config(receiver, monkeypatch, "slack", "/slack")
    monkeypatch.delenv("HOOK_URL")
    summary = deliver_due(filled, cfg, "w1", now_period=True)
    assert (summary.held, summary.failed) == (1, 0)
    (row,) = filled.deliveries(DeliveryState.PENDING)  # never claimed, so never uncertain
    assert row.last_error == "slack: the webhook URL in $HOOK_URL is not set"
    assert (row.attempts, row.uncertain) == (0, False)


def test_teams_gets_one_adaptive_card(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.routes["/teams"] = lambda h: Reply(202, b"")
    cfg = _config(receiver, monkeypatch, "teams", "/teams")
    assert deliver_due(filled, cfg, "w1", now_period=True).sent == 1
    (post,) = receiver.posts
    card = json.loads(post.body)["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert len(post.body) <= 28 * 1024


def test_missing_smtp_holds_the_emails_but_chats_still_go(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.routes["/hook"] = lambda h: _ok()
    chat = _config(receiver, monkeypatch, "webhook", "/hook")
    mail = SubscriptionConfig(id="weekly", email=("a@example.org",), backfill=True)
    cfg = Config(subscriptions=(*chat.subscriptions, mail))
    summary = deliver_due(filled, cfg, "w1", now_period=True)
    assert (summary.sent, summary.held) == (1, 1)
    assert summary.problems == ("weekly: no [smtp] section in the config",)
    assert len(receiver.posts) == 1  # the chat went out
    (waiting,) = filled.deliveries(DeliveryState.PENDING)
    assert waiting.recipient == "a@example.org"
    assert waiting.last_error == "no [smtp] section in the config"


def test_backfill_webhook_states_the_range_of_its_items(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Backfill on a two-minute schedule: the archive goes in the first call, and the JSON
    says when its items are from, not 1970."""
    from bot.digest import span
    from bot.export import iso

    with filled.engine.begin() as conn:  # an archive that was there before the subscription
        yesterday = datetime.now(UTC) - timedelta(days=1)
        conn.execute(sa.update(schema.items).values(first_seen=yesterday))
        conn.execute(sa.update(schema.item_feeds).values(first_seen=yesterday))
    receiver.routes["/hook"] = lambda h: _ok()
    cfg = _config(receiver, monkeypatch, "webhook", "/hook", schedule="*/2 * * * *")
    assert deliver_due(filled, cfg, "w1").sent == 1  # no --now: the schedule decides
    (post,) = receiver.posts
    body = json.loads(post.body)
    first, last = span(filled.items()) or (None, None)
    assert body["period"] == {"start": iso(first), "end": iso(last)}
    assert body["period"]["start"].startswith("2024-01-30") and len(body["items"]) == 10


def test_429_with_an_http_date_waits_until_that_date(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from email.utils import format_datetime

    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=900)
    stamp = format_datetime(when, usegmt=True)
    receiver.routes["/hook"] = lambda h: Reply(429, b"slow down", {"Retry-After": stamp})
    cfg = _config(receiver, monkeypatch, "webhook", "/hook")
    assert deliver_due(filled, cfg, "w1", now_period=True).failed == 1
    d = schema.deliveries
    with filled.engine.connect() as conn:
        (retry_at,) = conn.execute(sa.select(d.c.next_attempt_at)).scalars().all()
    assert retry_at >= when - timedelta(seconds=2)


def test_a_request_that_cannot_be_made_is_retried_and_the_batch_goes_on(
    filled: Archive, receiver: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.routes["/hook"] = lambda h: _ok()
    good = _config(receiver, monkeypatch, "webhook", "/hook")
    monkeypatch.setenv("BAD_URL", "http://exa mple.org:99999/hook")  # httpx refuses it
    bad_channel = ChannelConfig(kind="slack", url_env="BAD_URL")  # type: ignore[arg-type]
    bad = SubscriptionConfig(id="bad", backfill=True, channel=bad_channel)
    cfg = Config(subscriptions=(bad, *good.subscriptions))
    summary = deliver_due(filled, cfg, "w1", now_period=True)
    assert (summary.sent, summary.failed) == (1, 1)
    (failed,) = filled.deliveries(DeliveryState.FAILED)
    assert failed.subscription == "bad" and (failed.last_error or "").startswith("slack: ")
    assert not failed.uncertain  # nothing left, so no possible duplicate


def test_deliveries_and_status_say_when_a_failed_webhook_is_tried_again(
    filled: Archive,
    receiver: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import run

    monkeypatch.setenv("COLUMNS", "300")  # one table row a line
    receiver.routes["/hook"] = lambda h: Reply(500, b"oops")
    cfg = _config(receiver, monkeypatch, "webhook", "/hook")
    assert deliver_due(filled, cfg, "w1", now_period=True).failed == 1
    (failed,) = filled.deliveries(DeliveryState.FAILED)
    assert failed.next_attempt_at is not None
    when = failed.next_attempt_at.strftime("%Y-%m-%d %H:%M UTC")
    assert run(["--database", filled.url, "deliveries"]) == 0
    assert f"webhook: HTTP 500: oops; retry at {when}" in capsys.readouterr().out
    assert run(["--database", filled.url, "status"]) == 0
    assert f"next retry at {when}" in capsys.readouterr().out
    receiver.routes["/gone"] = lambda h: Reply(404, b"channel_not_found")
    cfg = _config(receiver, monkeypatch, "slack", "/gone")
    filled.retry_delivery(failed.id)
    assert deliver_due(filled, cfg, "w1").dead == 1
    assert run(["--database", filled.url, "deliveries"]) == 0
    assert "channel_not_found; dead: gave up after 2 attempts" in capsys.readouterr().out
