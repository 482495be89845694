"""Configuration: TOML (tomllib) → pydantic models.

Every problem is reported at once with its key path (`feeds[2].url: not an http(s) URL`):
each key is checked on its own (types strictly: "yes" is not a boolean), then the rules
across keys and tables run over whatever the file holds, so one broken key does not hide
the rest. Unknown keys are errors. The file is found via --config, else $REPORTBOT_CONFIG,
else config/reportbot.toml when it exists; with none, the defaults apply. The database URL:
--database, else $REPORTBOT_DATABASE_URL, else [archive] url.

Environment variables the config names are checked by `problems(env=True)` (`config check`)
only: commands that send read them when they send, so a missing Slack URL does not keep the
e-mail digests from going out.
"""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from bot import __version__, addresses
from bot.errors import ConfigError

DEFAULT_PATH = Path("config/reportbot.toml")
DEFAULT_URL = "sqlite:///state/reportbot.db"  # the archive when nothing names one
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
Loc = tuple[int | str, ...]
_COLLECT = "collect"  # validation context of `_read`, which runs every table's rules itself


@dataclass(frozen=True)
class Problem:
    """One thing to fix, where it is: ("feeds", 2, "url") prints as feeds[2].url."""

    loc: Loc
    message: str

    def __str__(self) -> str:
        path = _path(self.loc)
        return f"{path}: {self.message}" if path else self.message


def _as_tuple(value: Any) -> Any:
    """TOML arrays arrive as lists; strict validation takes only tuples for tuple fields."""
    return tuple(value) if isinstance(value, list) else value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def _https_url(value: str) -> str:
    if urlsplit(value).scheme != "https":
        raise ValueError("must be an https URL (RFC 8058 one-click)")
    return value


def _polite(seconds: float) -> float:
    if seconds < 60:
        raise ValueError("must be at least 1m (polite polling)")
    return seconds


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


def _crontab(line: str) -> str:
    from apscheduler.triggers.cron import CronTrigger  # only when a subscription is read

    try:  # whether a line parses does not depend on the zone it is read in
        CronTrigger.from_crontab(line, timezone=ZoneInfo("UTC"))
    except ValueError as exc:
        raise ValueError(f"{line!r} is not a crontab line: {exc}") from exc
    return line


def _template_dir(folder: str) -> str:
    if folder and not Path(folder).is_dir():
        raise ValueError(f"{folder!r} is not a folder of templates")
    return folder


def _host_port(listen: str) -> str:
    listen_address(listen)
    return listen


def _address(value: str) -> str:
    addresses.parse(value)  # kept as written: the delivery and unsubscribe keys depend on it
    return value


def _sender(value: str) -> str:
    addresses.parse(value, display_name=True)
    return value


def _reply_to(value: str) -> str:
    return _sender(value) if value else value  # empty: replies go to `from`


StrList = Annotated[tuple[str, ...], BeforeValidator(_as_tuple)]
Address = Annotated[str, AfterValidator(_address)]


class _Strict(BaseModel):
    """A table of the config. Its keys are checked one by one (fields); `rules` checks keys
    against each other, over plain values, so that `_read` can run the rules of a table
    whose other keys failed and report every problem in one pass."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def rules(cls, v: Mapping[str, Any]) -> Iterator[Problem]:
        """Problems across keys; v holds the table's keys (by their TOML names), defaults
        filled in. A value of the wrong type is already reported: rules skip it."""
        return iter(())

    @model_validator(mode="after")
    def _rules_hold(self, info: ValidationInfo) -> Self:
        if info.context != _COLLECT:  # built in code: fail on the first broken rule
            for problem in self.rules(self.model_dump(by_alias=True)):
                raise ValueError(str(problem))
        return self


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
    url: Annotated[str, AfterValidator(_http_url)]
    title: str = ""
    interval: Annotated[Duration, AfterValidator(_polite)] = 3600.0
    tags: StrList = ()
    allow_private: bool = False


_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class SmtpConfig(_Strict):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"]  # required: no silent downgrade
    user: str = ""
    password_env: str = ""
    from_: Annotated[str, AfterValidator(_sender)] = Field(alias="from")
    reply_to: Annotated[str, AfterValidator(_reply_to)] = ""
    connections: int = Field(default=2, ge=1, le=10)  # sent over at once, per batch

    @classmethod
    def rules(cls, v: Mapping[str, Any]) -> Iterator[Problem]:
        host = v.get("host")
        if v.get("security") == "none" and isinstance(host, str) and host not in _LOOPBACK:
            yield Problem(("security",), '"none" is only allowed to a relay on loopback')

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


def _channel_kind(value: object) -> object:
    """TOML gives the kind as a string; strict validation wants the enum itself."""
    if isinstance(value, str):
        try:
            return ChannelKind(value)
        except ValueError:
            kinds = ", ".join(repr(k.value) for k in ChannelKind)
            raise ValueError(f"{value!r} is not one of {kinds}") from None
    return value


class ChannelConfig(_Strict):
    kind: Annotated[ChannelKind, BeforeValidator(_channel_kind)]
    url_env: str = ""
    url_file: str = ""
    secret_env: str = ""  # webhook only: HMAC key for X-Reportbot-Signature

    @classmethod
    def rules(cls, v: Mapping[str, Any]) -> Iterator[Problem]:
        url_env, url_file = v.get("url_env"), v.get("url_file")
        if (
            isinstance(url_env, str)
            and isinstance(url_file, str)
            and bool(url_env) == bool(url_file)
        ):
            yield Problem(("url_env",), "give exactly one of url_env or url_file (never the URL)")
        if v.get("kind") == "webhook" and v.get("secret_env") == "":
            yield Problem(("secret_env",), "a webhook channel needs the HMAC key's variable name")

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
        raise ValueError(f"{listen!r} is not host:port")
    return host.strip("[]"), int(port)


class MetricsConfig(_Strict):
    """The Prometheus endpoint (/metrics), served by `reportbot run`."""

    listen: Annotated[str, AfterValidator(_host_port)] = "127.0.0.1:9464"


class WebConfig(_Strict):
    """The one-click unsubscribe endpoint (RFC 8058). Links are signed with an HMAC key."""

    public_url: Annotated[str, AfterValidator(_https_url)]  # e.g. https://bot.example.org
    listen: Annotated[str, AfterValidator(_host_port)] = "127.0.0.1:8025"
    secret_env: str = "REPORTBOT_WEB_SECRET"
    # names the variable holding the admin password's argon2 hash; empty: no admin pages
    admin_password_hash_env: str = ""

    def secret(self) -> bytes:
        value = os.environ.get(self.secret_env, "")
        if len(value) < 16:
            raise ConfigError(f"web: ${self.secret_env} must hold a key of at least 16 characters")
        return value.encode()

    def admin_password_hash(self) -> str:
        """The admin password's argon2 hash, read when needed (`reportbot admin hash-password`
        makes one). ConfigError when the admin pages are off or the variable holds no hash."""
        if not self.admin_password_hash_env:
            raise ConfigError("web: admin_password_hash_env is not set, so there is no admin")
        name = self.admin_password_hash_env
        value = os.environ.get(name, "").strip()
        if not value:
            raise ConfigError(
                f"web: ${name} is not set: put the hash `reportbot admin hash-password` "
                "makes in it"
            )
        import argon2  # here, not at the top: `config check` starts without it otherwise

        try:
            argon2.extract_parameters(value)
        except argon2.exceptions.InvalidHashError as exc:
            raise ConfigError(
                f"web: ${name} does not hold a valid argon2 hash (a password, or a hash cut "
                "short?): make one with `reportbot admin hash-password`"
            ) from exc
        return value


class SubscriptionConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = ""
    feeds: StrList = ()  # feed ids or tags; empty: every feed
    include: StrList = ()  # whole words, any of them, in title or text
    exclude: StrList = ()
    mode: Literal["digest", "each"] = "digest"
    schedule: Annotated[str, AfterValidator(_crontab)] = "0 8 * * mon"
    timezone: Annotated[str, AfterValidator(_zone)] = "Europe/London"
    max_items: int = Field(default=50, ge=1, le=500)
    template: Annotated[str, AfterValidator(_template_dir)] = ""
    backfill: bool = False
    email: Annotated[tuple[Address, ...], BeforeValidator(_as_tuple)] = ()
    channel: ChannelConfig | None = None
    # anyone may sign up on the web site (double opt-in); its addresses then live in the
    # archive beside `email`, which may be empty
    public: bool = False

    @classmethod
    def rules(cls, v: Mapping[str, Any]) -> Iterator[Problem]:
        channel = v.get("channel") is not None
        if v.get("public") is True and channel:
            yield Problem(("public",), "only an e-mail subscription can be public (no channel)")
        elif bool(v.get("email")) == channel and not (v.get("public") is True and not channel):
            yield Problem(
                ("email",), "give exactly one destination: email = [...] or channel = {...}"
            )
        first: dict[str, int] = {}
        for n, address in enumerate(_entries(v.get("email"))):
            key = addresses.key(address) if isinstance(address, str) else None
            if key is not None and key in first:
                yield Problem(
                    ("email", n),
                    f"{address!r} is listed already, as email[{first[key]}] "
                    "(addresses are compared ignoring case)",
                )
            elif key is not None:
                first[key] = n


class Config(_Strict):
    archive: ArchiveConfig = ArchiveConfig()
    worker: WorkerConfig = WorkerConfig()
    feeds: Annotated[tuple[FeedConfig, ...], BeforeValidator(_as_tuple)] = ()
    smtp: SmtpConfig | None = None
    subscriptions: Annotated[tuple[SubscriptionConfig, ...], BeforeValidator(_as_tuple)] = ()
    admin: ChannelConfig | None = None
    web: WebConfig | None = None
    metrics: MetricsConfig | None = None

    @classmethod
    def rules(cls, v: Mapping[str, Any]) -> Iterator[Problem]:
        """Across tables: ids unique, every feed a subscription names is configured."""
        feeds, subs = _tables_of(v.get("feeds")), _tables_of(v.get("subscriptions"))
        yield from _unique_ids("feeds", feeds, "feed")
        yield from _unique_ids("subscriptions", subs, "subscription")
        names = {f.get("id") for f in feeds.values()}
        names.update(tag for f in feeds.values() for tag in _entries(f.get("tags")))
        for n, sub in subs.items():
            for k, name in enumerate(_entries(sub.get("feeds"))):
                if isinstance(name, str) and name not in names:
                    yield Problem(
                        ("subscriptions", n, "feeds", k),
                        f"{name!r} is neither the id nor a tag of a feed in [[feeds]]",
                    )

    def subscription(self, sub_id: str) -> SubscriptionConfig:
        for sub in self.subscriptions:
            if sub.id == sub_id:
                return sub
        known = ", ".join(s.id for s in self.subscriptions) or "none configured"
        raise ConfigError(f"no subscription with id {sub_id!r} in the config (known: {known})")

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
            names += [self.web.secret_env, self.web.admin_password_hash_env]
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


def _entries(value: Any) -> list[Any]:
    """The items of a TOML array (or of a tuple, in a dumped model); [] for anything else."""
    return list(value) if isinstance(value, list | tuple) else []


def _tables_of(value: Any) -> dict[int, Mapping[str, Any]]:
    """The tables of an array of tables, by position; entries that are not tables skipped."""
    return {n: t for n, t in enumerate(_entries(value)) if isinstance(t, Mapping)}


def _unique_ids(key: str, tables: Mapping[int, Mapping[str, Any]], what: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for n, table in tables.items():
        table_id = table.get("id")
        if isinstance(table_id, str) and table_id in seen:
            yield Problem((key, n, "id"), f"{table_id!r} is used by another {what}")
        elif isinstance(table_id, str):
            seen.add(table_id)


def config_path(path: Path | None = None) -> tuple[Path, bool]:
    """The config file to use, and whether it was asked for explicitly."""
    if path is not None:
        return path, True
    if os.environ.get("REPORTBOT_CONFIG"):
        return Path(os.environ["REPORTBOT_CONFIG"]), True
    return DEFAULT_PATH, False


def problems(path: Path | None = None, *, env: bool = False) -> list[str]:
    """Every problem with the configuration, each with its key path; [] when it is valid.
    env: also that every environment variable (and url_file) the config names is set."""
    return _read(path, env=env)[0]


def load(path: Path | None = None) -> Config:
    """Read the configuration; a missing default file means defaults. Environment variables
    are not required here: each sender checks its own when it sends."""
    found, config = _read(path, env=False)
    if found or config is None:
        more = (
            f" (and {len(found) - 1} more: run `reportbot config check`)" if len(found) > 1 else ""
        )
        raise ConfigError(found[0] + more)
    return config


def database_url(config: Config, override: str | None = None) -> str:
    return override or os.environ.get("REPORTBOT_DATABASE_URL") or config.archive.url


def _read(path: Path | None, *, env: bool) -> tuple[list[str], Config | None]:
    """The file read and validated once: (problems, the config when there are none)."""
    chosen, explicit = config_path(path)
    if not chosen.exists():
        return ([f"{chosen}: config file not found"], None) if explicit else ([], Config())
    try:
        data = chosen.read_bytes()
    except OSError as exc:
        return [f"{chosen}: cannot read config file: {exc}"], None
    return parse(data, chosen, env=env)


def parse(data: bytes, path: Path, *, env: bool = False) -> tuple[list[str], Config | None]:
    """The file's bytes validated: (problems, each prefixed with `path`; the config when there
    are none). Also used by the worker's live reload, which hashes the same bytes."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return [f"{path}: cannot read config file: {exc}"], None
    except tomllib.TOMLDecodeError as exc:
        return [f"{path}: not valid TOML: {exc}"], None
    found, config = check(raw, env=env)
    return [f"{path}: {problem}" for problem in found], config


def check(raw: Mapping[str, Any], *, env: bool = False) -> tuple[list[Problem], Config | None]:
    """Every problem in a parsed config, in file-section order; the Config if there is none.

    Pydantic stops at a table's model validator once one of its keys failed, so the rules
    across keys are not model validators here: they run over the raw tables, every time."""
    found: list[Problem] = []
    config: Config | None = None
    try:
        config = Config.model_validate(raw, strict=True, context=_COLLECT)
    except ValidationError as exc:
        found = [_problem(err) for err in exc.errors(include_url=False)]
    for loc, cls, table in _tables(raw):
        defaults = {
            (f.alias or name): f.get_default(call_default_factory=True)
            for name, f in cls.model_fields.items()
            if not f.is_required()
        }
        found += [Problem((*loc, *p.loc), p.message) for p in cls.rules(defaults | dict(table))]
    if env:
        found += _env_problems(raw)
    order = list(Config.model_fields)
    found.sort(key=lambda p: _rank(p.loc, order))
    return found, (config if not found else None)


def _rank(loc: Loc, order: list[str]) -> tuple[int, int]:
    """Sections in the model's order, the tables of an array in the file's; stable within."""
    section = order.index(loc[0]) if loc and loc[0] in order else len(order)
    return section, (loc[1] if len(loc) > 1 and isinstance(loc[1], int) else -1)


def warnings(config: Config) -> list[str]:
    """What works but should be known: `config check` prints these without failing."""
    found: list[str] = []
    if config.web is None and any(s.email for s in config.subscriptions):
        found.append(
            "web: not configured, so e-mail subscriptions have no one-click unsubscribe "
            "(List-Unsubscribe, RFC 8058), which large mailbox providers require of bulk "
            "senders: add a [web] section (docs/CONFIG.md)"
        )
    public = [s.id for s in config.subscriptions if s.public]
    if public and (config.web is None or config.smtp is None):
        found.append(
            f"subscriptions {', '.join(public)}: public, but sign-ups need [web] (the site) "
            "and [smtp] (the confirmation e-mail)"
        )
    return found


def _tables(raw: Mapping[str, Any]) -> Iterator[tuple[Loc, type[_Strict], Mapping[str, Any]]]:
    """The tables that have rules or name secrets, with their models; the root first."""
    yield (), Config, raw
    sections: dict[str, type[_Strict]] = {
        "smtp": SmtpConfig,
        "admin": ChannelConfig,
        "web": WebConfig,
    }
    for name, cls in sections.items():
        if isinstance(raw.get(name), Mapping):
            yield (name,), cls, raw[name]
    for n, sub in _tables_of(raw.get("subscriptions")).items():
        yield ("subscriptions", n), SubscriptionConfig, sub
        if isinstance(sub.get("channel"), Mapping):
            yield ("subscriptions", n, "channel"), ChannelConfig, sub["channel"]


def _env_problems(raw: Mapping[str, Any]) -> Iterator[Problem]:
    """Each secret the config points at is there: variables set and not empty, url_file
    readable, the values usable (a URL, a long enough key). Read with the same methods the
    senders use, so the messages match what a send would say."""
    for loc, cls, table in _tables(raw):
        for key, name in table.items():
            named = key.endswith("_env") and isinstance(name, str) and bool(name)
            if named and not os.environ.get(name, "").strip():
                yield Problem((*loc, key), f"${name} is not set (or is empty) here")
        if cls is WebConfig:  # its variable has a default name, so it is named even if unset
            name = table.get("secret_env", "REPORTBOT_WEB_SECRET")
            if "secret_env" not in table and not os.environ.get(name, "").strip():
                yield Problem((*loc, "secret_env"), f"${name} is not set (or is empty) here")
            elif isinstance(name, str) and os.environ.get(name, "").strip():
                web = WebConfig.model_construct(secret_env=name)
                yield from _failure((*loc, "secret_env"), web.secret)
            hash_env = table.get("admin_password_hash_env")
            if isinstance(hash_env, str) and os.environ.get(hash_env, "").strip():
                web = WebConfig.model_construct(admin_password_hash_env=hash_env)
                yield from _failure((*loc, "admin_password_hash_env"), web.admin_password_hash)
        if cls is ChannelConfig:
            kind, url_env, url_file = (
                str(table.get("kind")),
                table.get("url_env"),
                table.get("url_file"),
            )
            if isinstance(url_env, str) and os.environ.get(url_env, "").strip():  # unset: above
                channel = ChannelConfig.model_construct(kind=kind, url_env=url_env)
                yield from _failure((*loc, "url_env"), channel.url)
            if isinstance(url_file, str) and url_file:
                channel = ChannelConfig.model_construct(kind=kind, url_file=url_file)
                yield from _failure((*loc, "url_file"), channel.url)


def _failure(loc: Loc, read: Callable[[], object]) -> Iterator[Problem]:
    try:
        read()
    except ConfigError as exc:
        yield Problem(loc, str(exc))


# pydantic's words for a wrong type, said as what was found and what to write instead
_TYPES = {
    "bool_type": "is not a boolean: write true or false, without quotes",
    "int_type": "is not a whole number: write it without quotes",
    "float_type": "is not a number: write it without quotes",
    "string_type": "is not a string: put it in quotes",
    "tuple_type": 'is not a list: write it as ["a", "b"]',
    "model_type": "is not a table",
    "model_attributes_type": "is not a table",
    "dict_type": "is not a table",
}


def _problem(err: Any) -> Problem:
    loc: Loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return Problem(loc, "unknown key (check its spelling against docs/CONFIG.md)")
    if kind == "missing":
        return Problem(loc, "missing: this key is required")
    if kind in _TYPES:
        return Problem(loc, f"{err['input']!r} {_TYPES[kind]}")
    return Problem(loc, str(err["msg"]).removeprefix("Value error, "))


def _path(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
