"""Admin pages behind a login: feeds and their health with "poll now", the outbox by
state with retry, and the subscribers of each subscription.

  GET/POST /admin/login          the password (argon2), rate-limited per IP and account
  POST     /admin/logout
  GET      /admin                feeds: health, last and next poll, errors; workers
  POST     /admin/feeds/poll     marks one feed due now: the worker polls it on its tick
  GET      /admin/outbox         deliveries by state
  POST     /admin/outbox/retry   what `reportbot deliveries retry` does
  GET      /admin/subscribers    config addresses, web sign-ups, unsubscribes

Everything is off (404) unless [web] admin_password_hash_env names a variable. The pages
read and write the archive only: polling and sending stay the worker's.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot import addresses, ratelimit
from bot.errors import ConfigError
from bot.models import DeliveryState, Signup
from bot.webapp import auth
from bot.webapp.base import archive, config, page
from bot.webapp.forms import (
    checked_form,
    checked_public_form,
    client_ip,
    no_store,
    public_csrf,
    secret,
    set_cookie,
    text,
)

log = logging.getLogger("reportbot.web")
# failed logins: a person mistypes a few times; a guesser needs millions
LOGIN_PER_IP = ratelimit.Limit("login-ip", 5, 900)
LOGIN_PER_ACCOUNT = ratelimit.Limit("login-account", 20, 900)
OUTBOX_ROWS = 200  # the newest of a state shown; `reportbot deliveries` lists them all
RETRYABLE = (DeliveryState.FAILED, DeliveryState.UNKNOWN, DeliveryState.DEAD)
WORKERS_SINCE = timedelta(days=1)
HEALTH_MAX_AGE = timedelta(minutes=5)  # `reportbot health`'s default --max-age


def _password_hash(request: Request) -> str:
    """The admin password's hash; 404 when the admin pages are off."""
    web = config(request).web
    if web is None or not web.admin_password_hash_env:
        raise HTTPException(404)
    try:
        return web.admin_password_hash()
    except ConfigError as exc:
        log.error("admin login impossible", extra={"error": str(exc)})
        raise HTTPException(503, "The admin login is not set up: see the server's log.") from exc


def _session(request: Request) -> auth.Session | None:
    value = request.cookies.get(auth.SESSION_COOKIE)
    if not value:
        return None
    return auth.read_session(secret(request), value, _password_hash(request))


def _login_redirect() -> Response:
    return RedirectResponse("/admin/login", status_code=303)


def _admin_page(
    request: Request, session: auth.Session, name: str, context: dict[str, object]
) -> Response:
    csrf = auth.csrf_field(secret(request), session.csrf)
    return no_store(page(request, name, {**context, "csrf": csrf, "admin": True}))


async def login(request: Request) -> Response:
    stored = _password_hash(request)
    if request.method == "GET":
        if _session(request) is not None:
            return RedirectResponse("/admin", status_code=303)
        return _login_form(request)
    form = await checked_public_form(request)
    store = archive(request)
    buckets = [
        (ratelimit.bucket(LOGIN_PER_IP, client_ip(request)), LOGIN_PER_IP.window),
        (ratelimit.bucket(LOGIN_PER_ACCOUNT, auth.ACCOUNT), LOGIN_PER_ACCOUNT.window),
    ]
    # the attempt is recorded before it is judged, as /subscribe does: counting first and
    # recording after the password check let parallel attempts all pass the same count
    attempts = await run_in_threadpool(store.rate_hit, buckets)
    if ratelimit.over(LOGIN_PER_IP, attempts[0]) or ratelimit.over(LOGIN_PER_ACCOUNT, attempts[1]):
        log.warning("admin login rate limit", extra={"attempts": attempts})
        raise HTTPException(429, "Too many failed logins: wait a quarter of an hour.")
    # argon2 takes tens of milliseconds of CPU by design: off the event loop
    if not await run_in_threadpool(auth.password_ok, stored, text(form, "password")):
        log.warning("admin login failed")
        return _login_form(request, problem="Wrong password.", status=401)
    log.info("admin logged in")
    response = RedirectResponse("/admin", status_code=303)
    value = auth.new_session(secret(request), stored)
    set_cookie(request, response, auth.SESSION_COOKIE, value, max_age=auth.SESSION_MAX_AGE)
    return response


def _login_form(request: Request, *, problem: str = "", status: int = 200) -> Response:
    csrf = public_csrf(request)
    body = page(
        request, "admin_login.html.j2", {"csrf": csrf.field, "problem": problem}, status=status
    )
    return no_store(csrf.keep(request, body))


async def logout(request: Request) -> Response:
    _password_hash(request)
    session = _session(request)
    if session is None:
        return _login_redirect()
    await checked_form(request, session.csrf)
    response = _login_redirect()
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


def feeds(request: Request) -> Response:
    from bot import health

    _password_hash(request)
    session = _session(request)
    if session is None:
        return _login_redirect()
    store = archive(request)
    now = datetime.now(UTC)
    keys = [f.id for f in config(request).feeds] or None
    context = {
        # what `reportbot health` says: the database, its schema, the last worker tick
        "health": health.problems(store.url, HEALTH_MAX_AGE, now=now),
        "feeds": store.feed_status(keys=keys),
        "workers": store.workers(since=now - WORKERS_SINCE),
        "counts": store.outbox_counts(),
        "polled": request.query_params.get("polled", ""),
        "now": now,
    }
    return _admin_page(request, session, "admin_feeds.html.j2", context)


async def poll_now(request: Request) -> Response:
    _password_hash(request)
    session = _session(request)
    if session is None:
        return _login_redirect()
    form = await checked_form(request, session.csrf)
    key = text(form, "feed")
    if not await run_in_threadpool(archive(request).poll_soon, key):
        raise HTTPException(404, "No feed has this key.")
    log.info("poll now", extra={"feed": key})
    return RedirectResponse(f"/admin?polled={key}", status_code=303)


def outbox(request: Request) -> Response:
    _password_hash(request)
    session = _session(request)
    if session is None:
        return _login_redirect()
    try:
        state = DeliveryState(request.query_params.get("state", DeliveryState.DEAD.value))
    except ValueError as exc:
        raise HTTPException(400, "There is no such state.") from exc
    store = archive(request)
    rows = store.deliveries(state)[-OUTBOX_ROWS:][::-1]  # the newest first
    context = {
        "state": state,
        "states": list(DeliveryState),
        "counts": store.outbox_counts(),
        "rows": rows,
        "retryable": state in RETRYABLE,
        "retried": request.query_params.get("retried", ""),
        "signup_mails": store.signup_mail_counts(),
    }
    return _admin_page(request, session, "admin_outbox.html.j2", context)


async def retry(request: Request) -> Response:
    _password_hash(request)
    session = _session(request)
    if session is None:
        return _login_redirect()
    form = await checked_form(request, session.csrf)
    try:
        delivery_id = int(text(form, "delivery"))
    except ValueError as exc:
        raise HTTPException(400, "Which delivery?") from exc
    # parsed before the retry: a bad state must not leave a retried delivery behind a 500
    try:
        state = DeliveryState(text(form, "state") or DeliveryState.DEAD.value)
    except ValueError as exc:
        raise HTTPException(400, "Which outbox list?") from exc
    if not await run_in_threadpool(archive(request).retry_delivery, delivery_id):
        raise HTTPException(404, "No delivery with this number can be retried.")
    log.info("delivery retried", extra={"delivery_id": delivery_id, "via": "admin"})
    return RedirectResponse(
        f"/admin/outbox?state={state.value}&retried={delivery_id}",
        status_code=303,
    )


def subscribers(request: Request) -> Response:
    _password_hash(request)
    session = _session(request)
    if session is None:
        return _login_redirect()
    store = archive(request)
    gone = store.unsubscribed()
    signed: dict[str, list[Signup]] = {}
    for found in store.signups():
        signed.setdefault(found.subscription, []).append(found)
    rows = []
    for sub in config(request).subscriptions:
        left = gone.get(sub.id, set())
        listed = {addresses.key(a) for a in sub.email}
        rows.append(
            {
                "sub": sub,
                "configured": [(a, a.lower() in left) for a in sub.email],
                "signups": [
                    (s, s.address.lower() in left)
                    for s in signed.get(sub.id, [])
                    if addresses.key(s.address) not in listed
                ],
                "unsubscribed": sorted(left),
            }
        )
    return _admin_page(request, session, "admin_subscribers.html.j2", {"rows": rows})


routes: list[BaseRoute] = [
    Route("/admin/login", login, methods=["GET", "POST"], name="admin_login"),
    Route("/admin/logout", logout, methods=["POST"], name="admin_logout"),
    Route("/admin", feeds, methods=["GET"], name="admin_feeds"),
    Route("/admin/feeds/poll", poll_now, methods=["POST"], name="admin_poll"),
    Route("/admin/outbox", outbox, methods=["GET"], name="admin_outbox"),
    Route("/admin/outbox/retry", retry, methods=["POST"], name="admin_retry"),
    Route("/admin/subscribers", subscribers, methods=["GET"], name="admin_subscribers"),
]
