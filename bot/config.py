"""Configuration: TOML (tomllib) → pydantic models.

Every problem is reported at once with its key path (`feeds[2].url: not an http(s) URL`);
unknown keys are errors. The file is found via --config, else $REPORTBOT_CONFIG, else
config/reportbot.toml when it exists; with none, the defaults apply. The database URL:
--database, else $REPORTBOT_DATABASE_URL, else [archive] url.
"""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from bot import __version__
from bot.archive import DEFAULT_URL
from bot.errors import ConfigError

DEFAULT_PATH = Path("config/reportbot.toml")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> float:
    """Seconds from "90s", "60m", "1h", "1d", or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError('expected a duration such as "60m"')
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", str(value))
    if not m:
        raise ValueError(f"{value!r} is not a duration: write it as 90s, 60m, 1h or 1d")
    return float(m.group(1)) * _UNITS[m.group(2)]


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArchiveConfig(_Strict):
    url: str = DEFAULT_URL


class WorkerConfig(_Strict):
    concurrency: int = Field(default=20, ge=1, le=500)
    per_host: int = Field(default=2, ge=1, le=20)
    connect_timeout: Duration = 10.0
    read_timeout: Duration = 30.0
    total_timeout: Duration = 60.0
    parse_timeout: Duration = 20.0
    parse_memory_mb: int = Field(default=1024, ge=64)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    lease: Duration = 600.0
    user_agent: str = f"reportbot/{__version__} (+https://github.com/reportbot/reportbot)"


class FeedConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    url: str
    title: str = ""
    interval: Duration = 3600.0
    tags: tuple[str, ...] = ()
    allow_private: bool = False

    @model_validator(mode="after")
    def _check(self) -> FeedConfig:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url: {self.url!r} is not an http(s) URL")
        if self.interval < 60:
            raise ValueError("interval: must be at least 1m (polite polling)")
        return self


class SmtpConfig(_Strict):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"]  # required: no silent downgrade
    user: str = ""
    password_env: str = ""
    from_: str = Field(alias="from")
    reply_to: str = ""
    connections: int = Field(default=2, ge=1, le=10)  # sent over at once, per batch

    @model_validator(mode="after")
    def _check(self) -> SmtpConfig:
        if self.security == "none" and self.host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError('security: "none" is only allowed to a relay on loopback')
        return self

    def password(self) -> str:
        """The login password, read when needed from the variable `password_env` names."""
        value = os.environ.get(self.password_env, "") if self.password_env else ""
        if not value:
            raise ConfigError(f"smtp: ${self.password_env or 'password_env'} is not set")
        return value


class ChannelKind(StrEnum):
    """The chat platforms; each is one file in bot/deliver/ (named as its value)."""

    SLACK = "slack"
    TEAMS = "teams"
    DISCORD = "discord"
    WEBHOOK = "webhook"


class ChannelConfig(_Strict):
    kind: ChannelKind
    url_env: str = ""
    url_file: str = ""
    secret_env: str = ""  # webhook only: HMAC key for X-Reportbot-Signature

    @model_validator(mode="after")
    def _check(self) -> ChannelConfig:
        if bool(self.url_env) == bool(self.url_file):
            raise ValueError("url_env: give exactly one of url_env or url_file (never the URL)")
        if self.kind == "webhook" and not self.secret_env:
            raise ValueError("secret_env: a webhook channel needs the HMAC key's variable name")
        return self

    def url(self) -> str:
        """The webhook URL, read when needed: it is a secret, so it is never in the file."""
        if self.url_env:
            value = os.environ.get(self.url_env, "").strip()
            where = f"${self.url_env}"
        else:
            where = self.url_file
            try:
                value = Path(self.url_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"{self.kind}: cannot read url_file {where}: {exc.strerror}"
                ) from exc
        if not value:
            raise ConfigError(f"{self.kind}: the webhook URL in {where} is not set")
        if urlsplit(value).scheme not in ("http", "https"):
            raise ConfigError(f"{self.kind}: the value of {where} is not an http(s) URL")
        return value

    def secret(self) -> bytes:
        value = os.environ.get(self.secret_env, "") if self.secret_env else ""
        if self.kind == "webhook" and not value:
            raise ConfigError(f"{self.kind}: the signing key ${self.secret_env} is not set")
        return value.encode()


def listen_address(listen: str) -> tuple[str, int]:
    """("host", port) from "host:port" ("[::1]:9464" too); ValueError if it is not one."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"listen: {listen!r} is not host:port")
    return host.strip("[]"), int(port)


class MetricsConfig(_Strict):
    """The Prometheus endpoint (/metrics), served by `reportbot run`."""

    listen: str = "127.0.0.1:9464"

    @model_validator(mode="after")
    def _check(self) -> MetricsConfig:
        listen_address(self.listen)
        return self


class WebConfig(_Strict):
    """The one-click unsubscribe endpoint (RFC 8058). Links are signed with an HMAC key."""

    public_url: str  # how subscribers reach it, e.g. https://bot.example.org
    listen: str = "127.0.0.1:8025"
    secret_env: str = "REPORTBOT_WEB_SECRET"

    @model_validator(mode="after")
    def _check(self) -> WebConfig:
        if urlsplit(self.public_url).scheme != "https":
            raise ValueError("public_url: must be an https URL (RFC 8058 one-click)")
        listen_address(self.listen)
        return self

    def secret(self) -> bytes:
        value = os.environ.get(self.secret_env, "")
        if len(value) < 16:
            raise ConfigError(f"web: ${self.secret_env} must hold a key of at least 16 characters")
        return value.encode()


class SubscriptionConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = ""
    feeds: tuple[str, ...] = ()  # feed ids or tags; empty: every feed
    include: tuple[str, ...] = ()  # whole words, any of them, in title or text
    exclude: tuple[str, ...] = ()
    mode: Literal["digest", "each"] = "digest"
    schedule: str = "0 8 * * mon"
    timezone: str = "Europe/London"
    max_items: int = Field(default=50, ge=1, le=500)
    template: str = ""
    backfill: bool = False
    email: tuple[str, ...] = ()
    channel: ChannelConfig | None = None

    @model_validator(mode="after")
    def _check(self) -> SubscriptionConfig:
        if bool(self.email) == (self.channel is not None):
            raise ValueError(
                "email: give exactly one destination: email = [...] or channel = {...}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from exc
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(self.schedule, timezone=ZoneInfo(self.timezone))
        except ValueError as exc:
            raise ValueError(f"schedule: {self.schedule!r} is not a crontab line: {exc}") from exc
        if self.template and not Path(self.template).is_dir():
            raise ValueError(f"template: {self.template!r} is not a folder of templates")
        for address in self.email:
            if "@" not in address or any(c in address for c in "\r\n,;<> "):
                raise ValueError(f"email: {address!r} is not one e-mail address")
        return self


class Config(_Strict):
    archive: ArchiveConfig = ArchiveConfig()
    worker: WorkerConfig = WorkerConfig()
    feeds: tuple[FeedConfig, ...] = ()
    smtp: SmtpConfig | None = None
    subscriptions: tuple[SubscriptionConfig, ...] = ()
    admin: ChannelConfig | None = None
    web: WebConfig | None = None
    metrics: MetricsConfig | None = None

    def subscription(self, sub_id: str) -> SubscriptionConfig:
        for sub in self.subscriptions:
            if sub.id == sub_id:
                return sub
        known = ", ".join(s.id for s in self.subscriptions) or "none configured"
        raise ConfigError(f"no subscription with id {sub_id!r} in the config (known: {known})")

    @model_validator(mode="after")
    def _unique_ids(self) -> Config:
        seen: set[str] = set()
        for n, feed in enumerate(self.feeds):
            if feed.id in seen:
                raise ValueError(f"feeds[{n}].id: {feed.id!r} is used by another feed")
            seen.add(feed.id)
        return self

    def secret_values(self) -> list[str]:
        """Every secret the config points at, as set now: for logs to hide."""
        names: list[str] = []
        channels = [s.channel for s in self.subscriptions if s.channel] + (
            [self.admin] if self.admin else []
        )
        for channel in channels:
            names += [channel.url_env, channel.secret_env]
        if self.smtp is not None:
            names.append(self.smtp.password_env)
        if self.web is not None:
            names.append(self.web.secret_env)
        values = [os.environ.get(name, "") for name in names if name]
        for channel in channels:
            if channel.url_file:
                with contextlib.suppress(OSError):  # reported when the channel is used
                    values.append(Path(channel.url_file).read_text(encoding="utf-8").strip())
        return [v for v in values if v]

    def feed(self, feed_id: str) -> FeedConfig:
        for feed in self.feeds:
            if feed.id == feed_id:
                return feed
        known = ", ".join(f.id for f in self.feeds) or "none configured"
        raise ConfigError(f"no feed with id {feed_id!r} in the config (known: {known})")


def config_path(path: Path | None = None) -> tuple[Path, bool]:
    """The config file to use, and whether it was asked for explicitly."""
    if path is not None:
        return path, True
    if os.environ.get("REPORTBOT_CONFIG"):
        return Path(os.environ["REPORTBOT_CONFIG"]), True
    return DEFAULT_PATH, False


def problems(path: Path | None = None) -> list[str]:
    """Every problem with the configuration, each with its key path; [] when it is valid."""
    return _read(path)[0]


def load(path: Path | None = None) -> Config:
    """Read the configuration; a missing default file means defaults."""
    found, config = _read(path)
    if found or config is None:
        more = (
            f" (and {len(found) - 1} more: run `reportbot config check`)" if len(found) > 1 else ""
        )
        raise ConfigError(found[0] + more)
    return config


def _read(path: Path | None) -> tuple[list[str], Config | None]:
    """The file read and validated once: (problems, the config when there are none)."""
    chosen, explicit = config_path(path)
    if not chosen.exists():
        return ([f"{chosen}: config file not found"], None) if explicit else ([], Config())
    try:
        raw = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{chosen}: cannot read config file: {exc}"], None
    except tomllib.TOMLDecodeError as exc:
        return [f"{chosen}: not valid TOML: {exc}"], None
    found: list[str] = []
    config: Config | None = None
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        found = [f"{chosen}: {_describe(err)}" for err in exc.errors(include_url=False)]
    # checked on the raw table too, so a duplicate shows even beside other errors
    ids = [f.get("id") for f in raw.get("feeds", []) if isinstance(f, dict)]
    for n, feed_id in enumerate(ids):
        if feed_id is not None and feed_id in ids[:n]:
            problem = f"{chosen}: feeds[{n}].id: {feed_id!r} is used by another feed"
            if problem not in found:
                found.append(problem)
    return found, (config if not found else None)


def warnings(config: Config) -> list[str]:
    """What works but should be known: `config check` prints these without failing."""
    found: list[str] = []
    if config.web is None and any(s.email for s in config.subscriptions):
        found.append(
            "web: not configured, so e-mail subscriptions have no one-click unsubscribe "
            "(List-Unsubscribe, RFC 8058), which large mailbox providers require of bulk "
            "senders: add a [web] section (docs/CONFIG.md)"
        )
    return found


def database_url(config: Config, override: str | None = None) -> str:
    return override or os.environ.get("REPORTBOT_DATABASE_URL") or config.archive.url


def _describe(err: Any) -> str:
    loc = _path(tuple(err["loc"]))
    msg = str(err["msg"]).removeprefix("Value error, ")
    # our own validators name the field in the message already ("url: ...")
    if ":" in msg.split(" ", 1)[0]:
        field, _, rest = msg.partition(": ")
        loc = f"{loc}.{field}" if loc else field
        msg = rest
    if err["type"] == "extra_forbidden":
        msg = "unknown key (check its spelling against docs/CONFIG.md)"
    return f"{loc}: {msg}" if loc else msg


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
