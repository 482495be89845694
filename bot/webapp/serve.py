"""Serving the app with uvicorn: in the foreground (`reportbot web`, one or more worker
processes) or in a thread beside the worker (`reportbot run` with [web] configured)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from typing import TYPE_CHECKING

import uvicorn

from bot.config import listen_address
from bot.errors import WebError

if TYPE_CHECKING:
    from starlette.applications import Starlette

# httptools parses HTTP/1.1 several times faster than h11 (bench/web.py); no access log:
# unsubscribe URLs hold an address and its signature, and reportbot logs its own lines.
_OPTIONS: dict[str, object] = {
    "http": "httptools",
    "access_log": False,
    "log_config": None,
    "server_header": False,
    "proxy_headers": False,
}


def _config(app: Starlette | str, listen: str, **more: object) -> uvicorn.Config:
    host, port = listen_address(listen)
    return uvicorn.Config(app, host=host, port=port, **_OPTIONS, **more)  # type: ignore[arg-type]


def serve_foreground(
    *, listen: str, workers: int, config_path: str | None, database: str
) -> None:
    """Serve until SIGTERM or Ctrl-C. Several workers are separate processes that build the
    app from the environment (bot.webapp.app_from_environment)."""
    from bot.webapp import CONFIG_ENV, DATABASE_ENV

    if config_path:
        os.environ[CONFIG_ENV] = config_path
    os.environ[DATABASE_ENV] = database
    host, port = listen_address(listen)
    _check_listen(host, port)
    uvicorn.run(
        "bot.webapp:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        **_OPTIONS,  # type: ignore[arg-type]
    )


def _check_listen(host: str, port: int) -> None:
    """One clear line now if the address cannot be listened on: uvicorn would log it among
    its start-up lines and exit 3 (the port may still be taken in between: then it does)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.create_server((host, port), family=family):
            pass
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise WebError(f"web: could not listen on {host}:{port}: {why}") from exc


class Background:
    """The app served by uvicorn in a daemon thread; `shutdown()` stops it."""

    def __init__(self, app: Starlette, listen: str) -> None:
        self.server = uvicorn.Server(_config(app, listen))
        self.thread = threading.Thread(target=self._run, name="reportbot-web", daemon=True)

    def _run(self) -> None:
        # uvicorn exits when it cannot bind its port: start() reports that
        with contextlib.suppress(SystemExit):
            self.server.run()

    def start(self, timeout: float = 10.0) -> Background:
        """Start serving; WebError if it is not listening within `timeout` seconds."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.shutdown()
                where = f"{self.server.config.host}:{self.server.config.port}"
                raise WebError(f"web: could not listen on {where}: is the port in use?")
            time.sleep(0.02)
        return self

    def shutdown(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
