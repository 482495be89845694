"""The admin login and the forms' CSRF tokens.

Passwords: argon2id (argon2-cffi); the hash comes from the variable [web]
admin_password_hash_env names (`reportbot admin hash-password` makes one).

Session: a cookie signed and timed with itsdangerous, its key derived from the [web]
secret for this purpose only (the serializer's salt). It holds a CSRF token and a
fingerprint of the password hash, so changing the password ends every session. Nothing is
kept on the server: any web process reads any session.

CSRF: every form carries a hidden `csrf` field, checked on every POST. Admin forms: the
field is derived from the session's token (session-bound). Forms without a session
(login, subscribe, confirm, manage): signed double submit, the field derived from a random
value in the `rb_csrf` cookie; a page on another site can neither read that cookie nor
compute the field without the [web] secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "rb_session"
CSRF_COOKIE = "rb_csrf"
SESSION_MAX_AGE = 12 * 3600
ACCOUNT = "admin"  # the one admin account; its login attempts are limited as one
_SESSION = "reportbot/admin-session"
_CSRF = b"reportbot/csrf"


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


# argon2 takes 64 MiB for each check by design: a burst of logins must not each take
# their own (a thread pool of 40 would be 2.5 GB), so at most two run at once per process.
_CHECKS = threading.BoundedSemaphore(2)


def password_ok(stored_hash: str, password: str) -> bool:
    """Whether `password` matches; False for a hash that is not one (never raises)."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    with _CHECKS:
        try:
            return PasswordHasher().verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False


@dataclass(frozen=True)
class Session:
    csrf: str


def _fingerprint(stored_hash: str) -> str:
    return hashlib.sha256(stored_hash.encode()).hexdigest()[:16]


def _sessions(secret: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SESSION)


def new_session(secret: bytes, stored_hash: str) -> str:
    """A signed session cookie's value for a fresh login."""
    payload = {"csrf": secrets.token_urlsafe(24), "pw": _fingerprint(stored_hash)}
    return _sessions(secret).dumps(payload)


def read_session(secret: bytes, value: str, stored_hash: str) -> Session | None:
    """The session a cookie holds, if its signature is good, it is not older than
    SESSION_MAX_AGE and the password has not changed since; else None."""
    try:
        payload = _sessions(secret).loads(value, max_age=SESSION_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("pw") != _fingerprint(stored_hash):
        return None
    csrf = payload.get("csrf")
    return Session(csrf=csrf) if isinstance(csrf, str) and csrf else None


def new_csrf_value() -> str:
    """The random value of a fresh `rb_csrf` cookie."""
    return secrets.token_urlsafe(24)


def csrf_field(secret: bytes, base: str) -> str:
    """The form field for `base` (a session's token, or the rb_csrf cookie's value)."""
    key = hmac.new(secret, _CSRF, hashlib.sha256).digest()  # a key for this purpose only
    return hmac.new(key, base.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, base: str | None, given: str | None) -> bool:
    """Whether a POSTed field matches its base (constant-time); False if either is missing."""
    if not base or not given:
        return False
    return hmac.compare_digest(csrf_field(secret, base), given)
