"""The public pages: latest items, an item with its figures and quotes, search, speakers,
a search as an Atom feed, a small JSON API, and the e-mails' one-click unsubscribe endpoint
(RFC 8058).

Handlers that only read are plain functions: Starlette runs them in its thread pool, so a
slow database never blocks the event loop. Every feed-supplied string reaches the page
through the templates' autoescape; links only through bot.urls.safe_url.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.archive.search import INT64_MAX, SearchHit
from bot.digest import shorten
from bot.errors import QueryError
from bot.export import iso
from bot.extract import claim_parts
from bot.models import StoredItem
from bot.searchquery import parse
from bot.urls import safe_url
from bot.webapp import atom
from bot.webapp.base import archive, config, error_page, page
from bot.webapp.forms import no_store
from bot.webapp.highlight import fact_spans, segments
from bot.webapp.params import BadParam, Filters, filters
from bot.weblinks import token_ok

log = logging.getLogger("reportbot.web")
PAGE_SIZE = 20
FEED_SIZE = 50  # entries of a search's Atom feed
API_MAX = 100


def latest(request: Request) -> Response:
    wanted = filters(request.query_params)
    arch = archive(request)
    found = arch.latest(
        feed=wanted.feed or None,
        since=wanted.since_at,
        until=wanted.until_at,
        limit=PAGE_SIZE,
        cursor=wanted.cursor or None,
    )
    feeds = arch.feeds()
    context = {
        "items": found.items,
        "next": wanted.query(cursor=found.next_cursor) if found.next_cursor else None,
        "filters": wanted,
        "feeds": feeds,
        "titles": {f.key: f.title for f in feeds},
    }
    return page(request, "latest.html.j2", context)


def item(request: Request) -> Response:
    item_id: int = request.path_params["item_id"]
    # no id is past signed 64 bits: such a number would overflow the driver (a 500)
    found = archive(request).item_page(item_id) if item_id <= INT64_MAX else None
    if found is None:
        raise HTTPException(404, "No item has this number.")
    if found.stored.merged_into is not None:  # a copy folded into that story (0011)
        return RedirectResponse(f"/item/{found.stored.merged_into}", status_code=301)
    stored = found.stored
    extraction = stored.extraction
    context = {
        "stored": stored,
        "item": stored.item,
        "link": safe_url(stored.item.link),
        "feeds": found.feeds,
        "figures": [claim_parts(f) for f in extraction.figures] if extraction else [],
        # a word or two in quotation marks with no one saying it is emphasis, not a quote
        # (still marked in the text)
        "quotes": [q for q in extraction.quotes if q.speaker or q.kind == "full"]
        if extraction
        else [],
        "segments": segments(stored.item.text, fact_spans(stored.item.text, extraction)),
    }
    return page(request, "item.html.j2", context)


def _search(request: Request, wanted: Filters, *, limit: int) -> tuple[list[SearchHit], str | None]:
    if not wanted.q:
        return [], None
    found = archive(request).search(
        parse(wanted.q),
        feed=wanted.feed or None,
        since=wanted.since_at,
        until=wanted.until_at,
        speaker=wanted.speaker or None,
        has_figures=wanted.has_figures,
        limit=limit,
        cursor=wanted.cursor or None,
    )
    return list(found.hits), found.next_cursor


def search(request: Request) -> Response:
    wanted = filters(request.query_params)
    hits, next_cursor = _search(request, wanted, limit=PAGE_SIZE)
    feeds = archive(request).feeds()
    context = {
        "hits": hits,
        "next": wanted.query(cursor=next_cursor) if next_cursor else None,
        "filters": wanted,
        "feeds": feeds,
        "titles": {f.key: f.title for f in feeds},
        "atom": f"/search.atom?{wanted.query()}" if wanted.q else "",
    }
    return page(request, "search.html.j2", context)


def search_atom(request: Request) -> Response:
    wanted = filters(request.query_params)
    if not wanted.q:
        raise HTTPException(400, "Give the words to follow: /search.atom?q=…")
    hits, _ = _search(request, wanted, limit=FEED_SIZE)
    base = _site_base(request)
    body = atom.search_feed(
        hits,
        title=f"reportbot: {wanted.q}",
        self_url=f"{base}/search.atom?{wanted.query()}",
        page_url=f"{base}/search?{wanted.query()}",
        item_base=base,
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def speakers(request: Request) -> Response:
    cursor = request.query_params.get("cursor") or None
    found = archive(request).speakers(limit=100, cursor=cursor)
    context = {
        "speakers": found.speakers,
        "next": f"cursor={found.next_cursor}" if found.next_cursor else None,
    }
    return page(request, "speakers.html.j2", context)


def speaker(request: Request) -> Response:
    name: str = request.path_params["name"]
    cursor = request.query_params.get("cursor") or None
    found = archive(request).speaker_quotes(name, limit=PAGE_SIZE, cursor=cursor)
    if not found.quotes and cursor is None:
        raise HTTPException(404, "Nobody of this name is quoted in the archive.")
    context = {
        "name": name,
        "quotes": found.quotes,
        "next": f"cursor={found.next_cursor}" if found.next_cursor else None,
    }
    return page(request, "speaker.html.j2", context)


def api_items(request: Request) -> Response:
    """GET /api/items?q=&since=&cursor=&limit=: JSON, newest first (or search order with q);
    docs/WEB.md describes it."""
    params = request.query_params
    try:
        wanted = filters({k: params.get(k, "") for k in ("q", "feed", "cursor")})
        since = _moment(params.get("since", ""))
        limit = _limit(params.get("limit", ""))
        base = _site_base(request)
        if wanted.q:
            hits = archive(request).search(
                parse(wanted.q),
                feed=wanted.feed or None,
                since=since,
                limit=limit,
                cursor=wanted.cursor or None,
            )
            items, next_cursor = [_hit_json(h, base) for h in hits.hits], hits.next_cursor
        else:
            listed = archive(request).latest(
                feed=wanted.feed or None, since=since, limit=limit, cursor=wanted.cursor or None
            )
            items, next_cursor = [_item_json(s, base) for s in listed.items], listed.next_cursor
    except (BadParam, QueryError) as exc:
        return ApiJSON({"error": str(exc)}, status_code=400)
    return ApiJSON({"items": items, "next_cursor": next_cursor})


class ApiJSON(JSONResponse):
    """JSON with <, > and & written as unicode escapes: still the same JSON to any client, but
    feed text can never read as markup should a browser or a careless page take it as HTML."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def _moment(raw: str) -> datetime | None:
    """`since` of the API: a day (2025-03-31) or an ISO 8601 moment with its zone."""
    if not raw.strip():
        return None
    try:
        when = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadParam(f"since: {raw[:40]!r} is not a date or ISO 8601 time") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _limit(raw: str) -> int:
    if not raw:
        return PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= API_MAX:
        raise BadParam(f"limit: give a number from 1 to {API_MAX}")
    return int(raw)


def _hit_json(hit: SearchHit, base: str) -> dict[str, Any]:
    return {
        "id": hit.item_id,
        "feed": hit.feed_key,
        "guid": hit.guid,
        "title": hit.title,
        "link": safe_url(hit.link),
        "published": iso(hit.published),
        "page": f"{base}/item/{hit.item_id}",
        "snippet": "".join(f.text for f in hit.snippet),
    }


def _item_json(stored: StoredItem, base: str) -> dict[str, Any]:
    item = stored.item
    return {
        "id": stored.id,
        "feed": stored.feed_key,
        "guid": item.guid,
        "title": item.title,
        "link": safe_url(item.link),
        "published": iso(item.published),
        "page": f"{base}/item/{stored.id}",
        "snippet": shorten(item.summary or item.text, 240),
    }


def _site_base(request: Request) -> str:
    """The site's address for absolute links: [web] public_url, else as this request came."""
    site = request.app.state.site
    return site.public_url.rstrip("/") if site.public_url else str(request.base_url).rstrip("/")


def _signed(request: Request) -> tuple[str, str] | Response:
    """(subscription, address) of a valid unsubscribe link, else the page to answer with."""
    query = request.query_params
    sub, address, given = query.get("s", ""), query.get("a", ""), query.get("t", "")
    if config(request).web is None or not (sub and address):
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
    # the page shows the address: kept out of every cache, as the other signed-link pages
    if request.method == "GET":
        return no_store(page(request, "unsubscribe.html.j2", {**context, "done": False}))
    # the body (RFC 8058: "List-Unsubscribe=One-Click") is left unread: it says nothing
    # the signed link does not, and reading it would let any size into memory
    await run_in_threadpool(archive(request).unsubscribe, sub, address, via="one-click")
    log.info("unsubscribed", extra={"subscription": sub, "via": "one-click"})
    return no_store(page(request, "unsubscribe.html.j2", {**context, "done": True}))


routes: list[BaseRoute] = [
    Route("/", latest, name="latest"),
    Route("/item/{item_id:int}", item, name="item"),
    Route("/search", search, name="search"),
    Route("/search.atom", search_atom, name="search_atom"),
    Route("/speakers", speakers, name="speakers"),
    Route("/speakers/{name:path}", speaker, name="speaker"),
    Route("/api/items", api_items, name="api_items"),
    Route("/unsubscribe", unsubscribe, methods=["GET", "POST"], name="unsubscribe"),
]
