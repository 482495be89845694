"""The web site: Starlette on uvicorn, server-rendered Jinja2 pages, no script.

`create_app(config, archive_url)` builds the app; each area keeps its routes in its own
module (public: browse, item, search, speakers, feeds out, unsubscribe; admin; subscribe).
The process keeps no state of its own beyond the archive's connection pool: several run
side by side on one database.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from bot import render
from bot.errors import QueryError
from bot.webapp import admin, public, subscribe
from bot.webapp.base import SecurityHeaders, bad_request, http_error, server_error
from bot.webapp.params import BadParam

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger("reportbot.web")
# `reportbot web --workers N` hands the config to each worker process through these
CONFIG_ENV = "REPORTBOT_CONFIG"
DATABASE_ENV = "REPORTBOT_DATABASE_URL"


@dataclass(frozen=True)
class Site:
    """What every template may show about the site itself."""

    title: str
    public_url: str  # "" when [web] is not configured: links stay relative


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    app.state.archive.close()


def create_app(config: Config, archive_url: str) -> Starlette:
    from bot.archive import Archive

    archive = Archive(archive_url)
    routes = [
        *public.routes,
        *subscribe.routes,
        *admin.routes,
        Mount("/static", StaticFiles(directory=render.templates_dir() / "web" / "static")),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={
            HTTPException: http_error,
            BadParam: bad_request,
            QueryError: bad_request,
            500: server_error,
        },
        lifespan=_lifespan,
    )
    app.state.config = config
    app.state.archive = archive
    # the unsubscribe links' key, read once: a missing key fails here, not on a subscriber
    app.state.secret = config.web.secret() if config.web is not None else b""
    app.state.site = Site(
        title="reportbot", public_url=config.web.public_url if config.web else ""
    )
    return app


def app_from_environment() -> Starlette:
    """The app for a uvicorn worker process (`reportbot web --workers N`): the command put
    the config file and database URL in the environment."""
    from pathlib import Path

    from bot import config as config_mod

    path = os.environ.get(CONFIG_ENV)
    loaded = config_mod.load(Path(path) if path else None)
    return create_app(loaded, config_mod.database_url(loaded, os.environ.get(DATABASE_ENV)))
