"""Log lines for operators: key=value by default, JSON with --log-format json; secrets never.

Every record passes a filter that scrubs its message, its fields and its traceback: URLs are
cut to scheme, host and port (a webhook URL carries its token in the path; a feed URL may carry
one in its query), and every secret value the configuration points at (SMTP password,
channel URLs and keys, the web key) is replaced wherever it appears. httpx logs each request
with its full URL at INFO, so its loggers (and other chatty libraries') are held at WARNING.

The standard library's logging does this with two small formatters and a filter; a logging
framework would add a second API for the same lines.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

FORMATS = ("kv", "json")
_URL = re.compile(
    r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://([^/\s\"'<>@]*@)?(\[[0-9a-fA-F:.]+\]|[^/\s\"'<>?#:\[]+)(:\d+)?"
    r"[^\s\"'<>]*"
)
_QUIET = ("httpx", "httpcore", "apscheduler", "alembic", "asyncio", "aiosmtpd", "mail.log")
# LogRecord's own attributes; anything else on a record came in through `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_secrets: set[str] = set()


def setup(fmt: str = "kv", level: str = "INFO") -> None:
    """Send reportbot's log records to stderr in `fmt`; called once by the CLI."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    handler.addFilter(Scrub())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def add_secrets(values: Iterable[str]) -> None:
    """Values to hide from every line from now on (too short ones would hide too much)."""
    _secrets.update(v for v in values if len(v) >= 6)


def scrub(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    # the port stays (where a server listens is no secret, and tells two servers apart)
    return _URL.sub(lambda m: f"{m.group(1)}://{m.group(3)}{m.group(4) or ''}/…", text)


class Scrub(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        for key, value in _fields(record).items():
            if isinstance(value, str):
                setattr(record, key, scrub(value))
        if record.exc_info:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class KeyValueFormatter(logging.Formatter):
    """ts=... level=warning logger=reportbot.pipeline msg="..." feed_id=cspr error="..." """

    def format(self, record: logging.LogRecord) -> str:
        pairs = {**_base(record), **_fields(record)}
        if record.exc_text:
            pairs["exception"] = record.exc_text
        return " ".join(f"{k}={_kv(v)}" for k, v in pairs.items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {**_base(record), **_fields(record)}
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False, default=str)


def _base(record: logging.LogRecord) -> dict[str, Any]:
    when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
    return {
        "ts": when.replace("+00:00", "Z"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _kv(value: Any) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "=\n\t\\'):
        return text
    return json.dumps(text, ensure_ascii=False)
