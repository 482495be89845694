"""The archive's web rows: sign-ups, queued confirmation e-mails, rate-limit hits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.archive import Archive
from bot.models import MailState


def test_confirming_twice_is_one_signup(archive: Archive) -> None:
    assert archive.confirm_signup("weekly", "Zoë@example.org", "zoë@example.org")
    assert not archive.confirm_signup("weekly", "zoë@example.org", "zoë@example.org")
    assert [s.address for s in archive.signups()] == ["Zoë@example.org"]
    assert [s.subscription for s in archive.signups_of("zoë@example.org")] == ["weekly"]


def test_rate_hits_count_per_bucket_within_the_window(archive: Archive) -> None:
    assert archive.rate_hit([("a", 60), ("b", 60)]) == [1, 1]
    assert archive.rate_hit([("a", 60)]) == [2]
    assert archive.rate_count([("a", 60), ("b", 60), ("c", 60)]) == [2, 1, 0]
    assert archive.rate_count([("a", 0)]) == [0]  # a window that holds no past hit


def test_a_claimed_mail_is_not_claimed_again(archive: Archive) -> None:
    archive.queue_signup_mail("weekly", "a@example.org")
    (mail,) = archive.claim_signup_mails(60)
    assert (mail.recipient, mail.attempts) == ("a@example.org", 1)
    assert archive.claim_signup_mails(60) == []


def test_a_mail_to_retry_waits_for_its_time(archive: Archive) -> None:
    archive.queue_signup_mail("weekly", "a@example.org")
    (mail,) = archive.claim_signup_mails(60)
    later = datetime.now(UTC) + timedelta(minutes=10)
    archive.finish_signup_mail(mail.id, MailState.PENDING, error="451 busy", retry_at=later)
    assert archive.claim_signup_mails(60) == []
    assert archive.signup_mail_counts() == {"pending": 1}


def test_an_expired_lease_is_claimed_again(archive: Archive) -> None:
    archive.queue_signup_mail("weekly", "a@example.org")
    archive.claim_signup_mails(-1)  # a worker that died holding it
    (again,) = archive.claim_signup_mails(60)
    assert again.attempts == 2


def test_poll_soon_makes_a_feed_due(archive: Archive) -> None:
    archive.sync_feeds([("cc", "https://example.org/feed", "CC")])
    assert archive.poll_soon("cc") and not archive.poll_soon("nope")


def test_a_released_mail_is_pending_again_without_the_claims_attempt(archive: Archive) -> None:
    archive.queue_signup_mail("weekly", "a@example.org")
    (mail,) = archive.claim_signup_mails(60)
    assert archive.release_signup_mails([(mail.id, mail.attempts + 1)]) == 0  # not this claim
    assert archive.release_signup_mails([(mail.id, mail.attempts)]) == 1
    assert archive.signup_mail_counts() == {"pending": 1}
    (again,) = archive.claim_signup_mails(60)  # at once: no lease to wait out
    assert again.attempts == mail.attempts
