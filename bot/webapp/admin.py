"""Admin pages: feeds and their health, the outbox, subscribers (behind a login)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
