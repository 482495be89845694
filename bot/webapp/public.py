"""The public pages: latest items, an item with its figures and quotes, and the one-click
unsubscribe endpoint of the e-mails (RFC 8058) that bot/web.py served before.

Handlers are plain functions where they only read: Starlette runs them in its thread pool,
so a slow database never blocks the event loop.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.extract import claim_parts
from bot.urls import safe_url
from bot.webapp.base import archive, config, error_page, page
from bot.webapp.highlight import fact_spans, segments
from bot.weblinks import token_ok

log = logging.getLogger("reportbot.web")
LATEST_LIMIT = 50


def latest(request: Request) -> Response:
    items = archive(request).items(limit=LATEST_LIMIT)
    return page(request, "latest.html.j2", {"items": items})


def item(request: Request) -> Response:
    item_id: int = request.path_params["item_id"]
    found = archive(request).item_page(item_id)
    if found is None:
        raise HTTPException(404, "No item has this number.")
    stored = found.stored
    extraction = stored.extraction
    context = {
        "stored": stored,
        "item": stored.item,
        "link": safe_url(stored.item.link),
        "feeds": found.feeds,
        "figures": [claim_parts(f) for f in extraction.figures] if extraction else [],
        "quotes": list(extraction.quotes) if extraction else [],
        "segments": segments(stored.item.text, fact_spans(stored.item.text, extraction)),
    }
    return page(request, "item.html.j2", context)


def _signed(request: Request) -> tuple[str, str] | Response:
    """(subscription, address) of a valid unsubscribe link, else the page to answer with."""
    query = request.query_params
    sub, address, given = query.get("s", ""), query.get("a", ""), query.get("t", "")
    web = config(request).web
    if web is None or not (sub and address):
        return error_page(request, 404)
    secret: bytes = request.app.state.secret
    if not token_ok(secret, subscription=sub, address=address, given=given):
        return error_page(request, 403, "This link is not valid: use one from a recent e-mail.")
    return sub, address


async def unsubscribe(request: Request) -> Response:
    """GET shows one button (link scanners and mail previews fetch links, so a GET never
    unsubscribes); POST, from that button or the mail client's one-click (body
    "List-Unsubscribe=One-Click"), records the unsubscribe at once."""
    found = _signed(request)
    if isinstance(found, Response):
        return found
    sub, address = found
    # the button posts back to the same signed link
    action = f"/unsubscribe?{request.url.query}"
    context = {"subscription": sub, "address": address, "action": action}
    if request.method == "GET":
        return page(request, "unsubscribe.html.j2", {**context, "done": False})
    await request.body()  # the one-click body says nothing more than the link does
    await run_in_threadpool(archive(request).unsubscribe, sub, address, via="one-click")
    log.info("unsubscribed", extra={"subscription": sub, "via": "one-click"})
    return page(request, "unsubscribe.html.j2", {**context, "done": True})


routes: list[BaseRoute] = [
    Route("/", latest, name="latest"),
    Route("/item/{item_id:int}", item, name="item"),
    Route("/unsubscribe", unsubscribe, methods=["GET", "POST"], name="unsubscribe"),
]
