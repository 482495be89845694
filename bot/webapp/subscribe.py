"""Subscribing to public subscriptions (double opt-in) and managing a subscription."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
