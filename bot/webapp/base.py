"""What every page of the site shares: the template environment (bot.render's, the same one
the e-mails use), the archive and config of the running app, security headers and error pages.

Each area's module (public, admin, subscribe) lists its routes in `routes`; handlers reach
the archive with `archive(request)` and answer with `page(request, name, context)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import render

if TYPE_CHECKING:
    from bot.archive import Archive
    from bot.config import Config

# No inline script or style anywhere: the site has one stylesheet and no script at all, so
# whatever a feed manages to smuggle into a page cannot run or restyle it.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    # unsubscribe and manage links carry an address and its signature in the query
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    429: "Too many requests",
    500: "Something went wrong",
}


def templates() -> jinja2.Environment:
    """bot.render's environment for the built-in templates (compiled once per process); the
    site's templates live in templates/web/."""
    return render.environment(None)


def archive(request: Request) -> Archive:
    found: Archive = request.app.state.archive
    return found


def config(request: Request) -> Config:
    found: Config = request.app.state.config
    return found


def page(
    request: Request, name: str, context: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    """templates/web/`name` rendered with `context` (plus `request` and `site`)."""
    body = templates().get_template(f"web/{name}").render(
        request=request, site=request.app.state.site, **context
    )
    return HTMLResponse(body, status_code=status)


def error_page(request: Request, status: int, message: str = "") -> HTMLResponse:
    title = ERROR_TITLES.get(status, "Error")
    return page(request, "error.html.j2", {"title": title, "message": message}, status=status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.detail != ERROR_TITLES.get(exc.status_code) else ""
    response = error_page(request, exc.status_code, detail if isinstance(detail, str) else "")
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def bad_request(request: Request, exc: Exception) -> Response:
    """A filter or page link that is not valid (BadParam, QueryError): its one line."""
    return error_page(request, 400, str(exc))


async def server_error(request: Request, exc: Exception) -> Response:
    return error_page(request, 500, "The error was logged; try again later.")


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response (a plain ASGI middleware: Starlette's
    BaseHTTPMiddleware would add a task and a queue to every request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", ())}
                extra = [h for h in SECURITY_HEADERS if h[0] not in names]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
