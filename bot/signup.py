"""Web sign-ups to public subscriptions: the signed links, the confirmation e-mail, the
rate limits and the retry rule for that e-mail. Pure functions; the archive keeps the rows,
bot.webapp.subscribe serves the pages, bot.pipeline.deliver sends the queued e-mails.

Links are signed and timed with itsdangerous (a well-kept library: its serializer signs
the payload, the time and a purpose "salt" that derives a key per kind of link from the one
[web] secret, so a confirm link cannot be replayed as a manage link):
  {public_url}/subscribe/confirm?t=TOKEN   (sub, address), valid CONFIRM_MAX_AGE
  {public_url}/subscribe/manage?t=TOKEN    (address), valid MANAGE_MAX_AGE
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.models import Dead, MailState, Outcome, Rendered, Retry, Sent, Unknown
from bot.ratelimit import Limit

CONFIRM_MAX_AGE = 2 * 86400  # a confirmation link works for two days
MANAGE_MAX_AGE = 30 * 86400
MAIL_ATTEMPTS = 5  # a confirmation e-mail is given up after this many tries
_CONFIRM = "reportbot/signup-confirm"
_MANAGE = "reportbot/signup-manage"


# Per client IP: a person signs up to a few lists, a script to many. Per address: however
# many IPs ask, an inbox gets at most this many confirmation e-mails a day (no mail bomb).
SUBSCRIBE_PER_IP = Limit("subscribe-ip", 10, 3600)
SUBSCRIBE_PER_ADDRESS = Limit("subscribe-address", 3, 86400)


def _serializer(secret: bytes, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=purpose)


def confirm_token(secret: bytes, subscription: str, address: str) -> str:
    return _serializer(secret, _CONFIRM).dumps([subscription, address])


def read_confirm_token(secret: bytes, token: str) -> tuple[str, str] | None:
    """(subscription, address) of a valid, unexpired confirm token; None otherwise."""
    try:
        found = _serializer(secret, _CONFIRM).loads(token, max_age=CONFIRM_MAX_AGE)
    except BadSignature:  # expired (SignatureExpired) too
        return None
    if isinstance(found, list) and len(found) == 2 and all(isinstance(part, str) for part in found):
        return found[0], found[1]
    return None


def manage_token(secret: bytes, address: str) -> str:
    return _serializer(secret, _MANAGE).dumps(address)


def read_manage_token(secret: bytes, token: str) -> str | None:
    """The address of a valid, unexpired manage token; None otherwise."""
    try:
        found = _serializer(secret, _MANAGE).loads(token, max_age=MANAGE_MAX_AGE)
    except BadSignature:
        return None
    return found if isinstance(found, str) else None


def link(public_url: str, path: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{path}?{urlencode({'t': token})}"


def confirmation_email(*, title: str, confirm: str, manage: str) -> tuple[Rendered, Rendered]:
    """The confirmation e-mail (text, HTML) for subscription `title`."""
    from bot import render

    context = {
        "title": title,
        "confirm": confirm,
        "manage": manage,
        "hours": CONFIRM_MAX_AGE // 3600,
    }
    subject = f"Confirm your subscription to {title}"
    text, html = (
        Rendered(format=fmt, subject=subject, body=render.template(name).render(**context))
        for fmt, name in (("text", "web/signup_email.txt.j2"), ("html", "web/signup_email.html.j2"))
    )
    return text, html


def mail_outcome(
    outcome: Outcome, *, attempts: int, now: datetime
) -> tuple[MailState, datetime | None, str]:
    """What to record after one try to send a confirmation e-mail: (state, retry at,
    error). Unknown counts as sent: a second confirmation e-mail is worse than none
    arriving, since the person can ask again."""
    if isinstance(outcome, Sent | Unknown):
        return MailState.SENT, None, ""
    if isinstance(outcome, Dead):
        return MailState.DEAD, None, outcome.reason
    assert isinstance(outcome, Retry)
    if attempts >= MAIL_ATTEMPTS:
        return MailState.DEAD, None, outcome.error
    return MailState.PENDING, now + timedelta(minutes=5 * 2**attempts), outcome.error


def recipients(configured: Sequence[str], signed_up: Sequence[str]) -> list[str]:
    """The config's addresses, then the sign-ups not already among them (compared by
    bot.addresses' key: the same mailbox in another case is one recipient)."""
    from bot import addresses

    seen = {addresses.key(a) or a.lower() for a in configured}
    out = list(configured)
    for address in signed_up:
        k = addresses.key(address) or address.lower()
        if k not in seen:
            seen.add(k)
            out.append(address)
    return out
