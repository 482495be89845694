"""What the site's forms share: the CSRF check on every POST, cookies with the right
flags, the client's address for rate limits. The rules themselves are in bot.webapp.auth."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from bot.webapp import auth
from bot.webapp.base import config

MAX_FORM_FIELDS = 20  # our forms have a handful; a flood of fields is refused unparsed


def secret(request: Request) -> bytes:
    """The [web] key (read once by create_app)."""
    found: bytes = request.app.state.secret
    return found


def client_ip(request: Request) -> str:
    """The peer's address. Behind a reverse proxy every request comes from the proxy (the
    server trusts no forwarded header), so the per-IP limits then count all clients as one."""
    return request.client.host if request.client is not None else "unknown"


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None
) -> None:
    """HttpOnly, SameSite=Lax, and Secure when the site's public URL is https."""
    web = config(request).web
    secure = web is not None and web.public_url.startswith("https://")
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
    )


@dataclass(frozen=True)
class PublicCsrf:
    """The CSRF field of a form shown without a session, and the cookie value to set
    when the visitor has none yet (signed double submit: bot.webapp.auth)."""

    field: str
    new_cookie: str | None

    def keep(self, request: Request, response: Response) -> Response:
        if self.new_cookie is not None:
            set_cookie(request, response, auth.CSRF_COOKIE, self.new_cookie, max_age=None)
        return response


def public_csrf(request: Request) -> PublicCsrf:
    current = request.cookies.get(auth.CSRF_COOKIE)
    value = current or auth.new_csrf_value()
    return PublicCsrf(
        field=auth.csrf_field(secret(request), value),
        new_cookie=None if current else value,
    )


async def checked_form(request: Request, base: str | None) -> FormData:
    """The POSTed form, once its `csrf` field matches `base` (the session's token, or the
    rb_csrf cookie's value); 403 otherwise."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    given = form.get("csrf")
    if not auth.csrf_ok(secret(request), base, given if isinstance(given, str) else None):
        raise HTTPException(
            403, "The form expired or came from another site: reload the page and try again."
        )
    return form


async def checked_public_form(request: Request) -> FormData:
    return await checked_form(request, request.cookies.get(auth.CSRF_COOKIE))


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def no_store(response: Response) -> Response:
    """Pages with a session or a signed link in them stay out of every cache."""
    response.headers["cache-control"] = "no-store"
    return response
