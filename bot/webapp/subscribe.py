"""Subscribing to public subscriptions (double opt-in) and managing them from a link.

  GET  /subscribe            the form: an address and a public subscription
  POST /subscribe            queues a confirmation e-mail; the same page for every address
  GET  /subscribe/confirm    from the e-mail's signed link: one "Confirm" button
  POST /subscribe/confirm    records the sign-up (and takes back an earlier unsubscribe)
  GET  /subscribe/manage     from a signed link: the address's subscriptions
  POST /subscribe/manage     unsubscribes from one of them

Nothing here tells whether an address is subscribed: the POST answers the same page
whatever the address, without looking it up, and only queues the e-mail (the worker sends
it), so it takes as long either way. Only the holder of a signed link sent to the address
sees its subscriptions.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot import addresses, ratelimit, signup
from bot.config import SubscriptionConfig
from bot.webapp.base import archive, config, error_page, page
from bot.webapp.forms import (
    checked_public_form,
    client_ip,
    no_store,
    public_csrf,
    secret,
    text,
)

log = logging.getLogger("reportbot.web")
_BAD_LINK = (
    "This link is not valid or has expired: ask for a new one on the subscribe page."
)


def _public(request: Request) -> list[SubscriptionConfig]:
    """The subscriptions anyone may sign up to; 404 when there are none (or no [web])."""
    cfg = config(request)
    found = [s for s in cfg.subscriptions if s.public and s.channel is None]
    if cfg.web is None or not found:
        raise HTTPException(404, "There is nothing to subscribe to here.")
    return found


def _form(
    request: Request, *, address: str = "", chosen: str = "", problem: str = "", status: int = 200
) -> Response:
    csrf = public_csrf(request)
    context = {
        "subscriptions": _public(request),
        "address": address,
        "chosen": chosen or request.query_params.get("s", ""),
        "problem": problem,
        "csrf": csrf.field,
    }
    return csrf.keep(request, page(request, "subscribe.html.j2", context, status=status))


def subscribe_form(request: Request) -> Response:
    return _form(request)


async def subscribe(request: Request) -> Response:
    subs = {s.id: s for s in _public(request)}
    form = await checked_public_form(request)
    written, chosen = text(form, "address"), text(form, "subscription")
    if chosen not in subs:
        return _form(request, address=written, problem="Choose one of the lists.", status=400)
    try:
        address = addresses.parse(written)
    except ValueError:
        problem = "That is not an e-mail address: check it and try again."
        return _form(request, address=written, chosen=chosen, problem=problem, status=400)
    store = archive(request)
    per_ip, per_address = signup.SUBSCRIBE_PER_IP, signup.SUBSCRIBE_PER_ADDRESS
    buckets = [
        (ratelimit.bucket(per_ip, client_ip(request)), per_ip.window),
        (ratelimit.bucket(per_address, address.key), per_address.window),
    ]
    counts = await run_in_threadpool(store.rate_hit, buckets)
    if ratelimit.over(per_ip, counts[0]):
        log.warning("subscribe rate limit", extra={"limit": "ip"})
        raise HTTPException(429, "Too many sign-ups from here: try again in an hour.")
    # an address past its limit gets the same page, and no more e-mail today
    if not ratelimit.over(per_address, counts[1]):
        await run_in_threadpool(store.queue_signup_mail, chosen, address.written)
    sub = subs[chosen]
    context = {"title": sub.name or sub.id, "hours": signup.CONFIRM_MAX_AGE // 3600}
    return no_store(page(request, "subscribe_sent.html.j2", context))


def _confirm_target(request: Request, token: str) -> tuple[SubscriptionConfig, str] | None:
    found = signup.read_confirm_token(secret(request), token)
    if found is None:
        return None
    sub_id, address = found
    sub = next((s for s in _public(request) if s.id == sub_id), None)
    return (sub, address) if sub is not None else None


async def confirm(request: Request) -> Response:
    """GET shows the button (mail scanners fetch links; a GET changes nothing); POST
    records the sign-up."""
    _public(request)
    if request.method == "GET":
        token = request.query_params.get("t", "")
        target = _confirm_target(request, token)
        if target is None:
            return no_store(error_page(request, 400, _BAD_LINK))
        sub, address = target
        csrf = public_csrf(request)
        context = {
            "title": sub.name or sub.id,
            "address": address,
            "token": token,
            "csrf": csrf.field,
            "done": False,
        }
        return no_store(csrf.keep(request, page(request, "subscribe_confirm.html.j2", context)))
    form = await checked_public_form(request)
    token = text(form, "t")
    target = _confirm_target(request, token)
    if target is None:
        return no_store(error_page(request, 400, _BAD_LINK))
    sub, address = target
    parsed = addresses.parse(address)  # it was parsed when it was asked for: it parses
    await run_in_threadpool(archive(request).confirm_signup, sub.id, parsed.written, parsed.key)
    log.info("signed up", extra={"subscription": sub.id, "via": "web"})
    manage = f"/subscribe/manage?t={signup.manage_token(secret(request), parsed.written)}"
    context = {"title": sub.name or sub.id, "address": parsed.written, "manage": manage}
    return no_store(page(request, "subscribe_confirm.html.j2", {**context, "done": True}))


def _subscriptions_of(request: Request, address: str) -> list[tuple[SubscriptionConfig, bool]]:
    """Every e-mail subscription with whether `address` receives it (configured or
    signed up, and not unsubscribed)."""
    store = archive(request)
    key = addresses.key(address) or address.lower()
    signed = {s.subscription for s in store.signups_of(key)}
    gone = store.unsubscribed()
    out = []
    for sub in config(request).subscriptions:
        if sub.channel is not None:
            continue
        listed = sub.id in signed or any(addresses.key(a) == key for a in sub.email)
        receives = listed and address.lower() not in gone.get(sub.id, set())
        if receives or sub.public:
            out.append((sub, receives))
    return out


async def manage(request: Request) -> Response:
    token = request.query_params.get("t", "") if request.method == "GET" else ""
    left = ""
    if request.method == "POST":
        form = await checked_public_form(request)
        token = text(form, "t")
    address = signup.read_manage_token(secret(request), token)
    if address is None or config(request).web is None:
        return no_store(error_page(request, 400, _BAD_LINK))
    if request.method == "POST":
        chosen = text(form, "subscription")
        known = {s.id for s in config(request).subscriptions if s.channel is None}
        if chosen not in known:
            return no_store(error_page(request, 400, "There is no such list."))
        await run_in_threadpool(archive(request).unsubscribe, chosen, address, via="web")
        log.info("unsubscribed", extra={"subscription": chosen, "via": "manage"})
        left = chosen
    rows = await run_in_threadpool(_subscriptions_of, request, address)
    csrf = public_csrf(request)
    context = {
        "address": address,
        "rows": rows,
        "token": token,
        "csrf": csrf.field,
        "left": next((s.name or s.id for s, _ in rows if s.id == left), left),
    }
    return no_store(csrf.keep(request, page(request, "subscribe_manage.html.j2", context)))


routes: list[BaseRoute] = [
    Route("/subscribe", subscribe_form, methods=["GET"], name="subscribe_form"),
    Route("/subscribe", subscribe, methods=["POST"], name="subscribe"),
    Route("/subscribe/confirm", confirm, methods=["GET", "POST"], name="subscribe_confirm"),
    Route("/subscribe/manage", manage, methods=["GET", "POST"], name="subscribe_manage"),
]
