"""Settings are read once at start into a frozen object.

Environment variables override an optional TOML file named by
``PHANANH_CONFIG``; nothing else in the code reads the environment.  The token
is wrapped so it never shows up in a log line or a ``repr``.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.daysoff import DaysOff, days_off, missing_list_warning
from bot.domain.digest import DigestSchedule
from bot.domain.worktime import WEEKDAYS, QuietHours, WorkCalendar
from bot.i18n import t

DEFAULT_API_URL = "https://api.telegram.org/bot"
# Zalo's Bot Platform (older clients use https://bot-api.zapps.me/bot).
DEFAULT_ZALO_API_URL = "https://bot-api.zaloplatforms.com/bot"
# Zalo publishes no rate limit: messages a second, kept well under what its
# Official Account API documents, so a burst never runs into one unknown.
DEFAULT_ZALO_RATE = 5.0
# What Zalo's setWebhook accepts as a secret token.
ZALO_SECRET_LENGTH = range(8, 257)
DEFAULT_DB = "./data/phananh.db"
DEFAULT_TZ = "Asia/Ho_Chi_Minh"
DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8080
# How log lines are written: "text" for a person, "json" (one object a line) for a log system.
LOG_FORMATS = ("text", "json")
# A media link's signature is only as strong as its key.
MEDIA_SECRET_MIN = 32


class ConfigError(Exception):
    """A setting is missing or malformed.  What is wrong is a catalogue entry
    (``config.…``) so the operator reads it in the command line's
    language (`text`); ``str()`` is the English, for logs and tracebacks."""

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(self.text("en"))

    def text(self, language: str) -> str:
        """What is wrong, in ``language`` (a ConfigError given as a
        parameter, in the same language)."""
        params = {
            name: value.text(language) if isinstance(value, ConfigError) else value
            for name, value in self.params.items()
        }
        return t(language, self.key, **params)

    def given_as(self, name: str) -> ConfigError:
        """The same mistake, said after where the value was given
        (``PHANANH_DB``, ``--to``)."""
        return ConfigError("config.in_setting", name=name, problem=self)


class Secret:
    """A string that hides itself from ``repr``, ``str`` and logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


POSTGRES_SCHEMES = ("postgresql", "postgres")
# What a PostgreSQL URL's query may set (libpq's names): where the server's
# Unix socket is, and whether to use TLS.
POSTGRES_OPTIONS = ("host", "sslmode")
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


# Where a printed command's URL leaves the password out (`PostgresUrl.for_a_command`).
PASSWORD_PLACEHOLDER = "PASSWORD"


@dataclass(frozen=True, repr=False)
class PostgresUrl:
    """``postgresql://user:pass@host:port/db``: where the PostgreSQL engine
    connects.  The password is a `Secret`, and the URL prints (in a log
    line, an error, a ``repr``) with ``***`` in its place.  The driver is
    given the parts, never the URL, so no error it raises can quote it."""

    host: str
    port: int
    database: str
    user: str
    password: Secret = field(default_factory=lambda: Secret(""))
    sslmode: str | None = None

    @classmethod
    def parse(cls, text: str) -> PostgresUrl:
        """The URL's parts; a ConfigError (which never quotes the password)
        for anything this program would not know how to use."""
        try:
            parts = urlsplit(text.strip())
            port = parts.port or 5432
        except ValueError as exc:
            raise ConfigError("config.pg_port") from exc
        if parts.scheme not in POSTGRES_SCHEMES:
            raise ConfigError("config.pg_scheme")
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = sorted(set(options) - set(POSTGRES_OPTIONS))
        if unknown:
            raise ConfigError(
                "config.pg_unknown", unknown=", ".join(unknown), known=", ".join(POSTGRES_OPTIONS)
            )
        sslmode = options.get("sslmode")
        if sslmode is not None and sslmode not in SSL_MODES:
            raise ConfigError("config.pg_sslmode", modes=", ".join(SSL_MODES))
        host = options.get("host") or unquote(parts.hostname or "")
        database = unquote(parts.path.lstrip("/"))
        user = unquote(parts.username or "")
        if not host or not database or not user:
            raise ConfigError("config.pg_parts")
        return cls(host, port, database, user, Secret(unquote(parts.password or "")), sslmode)

    def reveal(self) -> str:
        """The whole URL, password included: only for a child process's
        environment (``PHANANH_DB``), never for printing."""
        return self._text(quote(self.password.reveal(), safe="") if self.password else "")

    def __str__(self) -> str:
        return self._text("***" if self.password else "")

    def for_a_command(self) -> str:
        """The URL with the word ``PASSWORD`` where the password goes, as
        the README writes it: for a command printed for someone to copy
        (``***`` would be taken for the password), never the password."""
        return self._text(PASSWORD_PLACEHOLDER if self.password else "")

    def _text(self, password: str) -> str:
        user = quote(self.user, safe="")
        secret = f":{password}" if password else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        database = quote(self.database, safe="")
        query = f"?sslmode={self.sslmode}" if self.sslmode else ""
        if host.startswith("/"):  # a Unix socket's folder
            query = f"?host={quote(host, safe='/')}" + (
                f"&sslmode={self.sslmode}" if self.sslmode else ""
            )
            return f"postgresql://{user}{secret}@:{self.port}/{database}{query}"
        return f"postgresql://{user}{secret}@{host}:{self.port}/{database}{query}"

    __repr__ = __str__


def is_url(text: str) -> bool:
    """``PHANANH_DB`` names a server (``scheme://…``), not a file."""
    return "://" in text


def default_file_url(api_url: str) -> str:
    """The file endpoint lives beside the API endpoint: same scheme and host."""
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}/file/bot"


@dataclass(frozen=True)
class Settings:
    telegram_token: Secret = field(default_factory=lambda: Secret(""))
    telegram_api_url: str = DEFAULT_API_URL
    telegram_file_url: str = ""
    db_path: Path = Path(DEFAULT_DB)
    # Set when PHANANH_DB is a postgresql:// URL: the PostgreSQL engine, and
    # db_path is not used.
    db_url: PostgresUrl | None = None
    tz_name: str = DEFAULT_TZ
    # How far from a residential group's centre a shared location may fall
    # and still be attributed to it.
    locate_max_km: float = 1.0
    default_language: str = "vi"
    # Working time, holidays and quiet hours (bot/domain/worktime.py).
    work_start: time = time(7, 30)
    work_end: time = time(17, 0)
    work_days: frozenset[int] = frozenset(range(5))
    # None: Vietnam's public holidays, built in (bot/daysoff.py); a set
    # replaces them.  The decreed bridge days off and the make-up days
    # worked in exchange are added either way.
    holidays: frozenset[date] | None = None
    bridge_days: frozenset[date] = frozenset()
    makeup_days: frozenset[date] = frozenset()
    quiet_start: time = time(21, 0)
    quiet_end: time = time(7, 0)
    briefing_time: time = time(7, 30)
    # The weekly digest to leaders (None: not sent; /digest still works).
    digest: DigestSchedule | None = field(default_factory=DigestSchedule)
    sweep_seconds: int = 30
    # Pace messages under Telegram's flood limits (handlers/telegram/ratelimit.py).
    rate_limit: bool = True
    # Webhook mode: the secret Telegram sends back with every update (random
    # at each start when not set).
    webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    # Signs the links to kept photos that channels sending photos by URL use
    # (bot/app/media.py); random at each start when not set (links made
    # before a restart then stop working).
    media_secret: Secret = field(default_factory=lambda: Secret(""))
    # Whether reports hide the resident's name from the cadre unless the
    # resident chooses to show it (FixMyStreet's default: hidden).
    anonymous_by_default: bool = True
    # New complaints one resident may file in an hour.
    max_reports_per_hour: int = 10
    # New requests one Open311 key may POST in an hour (a leaked or looping
    # integration cannot flood the ward's cadres).
    open311_posts_per_hour: int = 600
    # For links printed on the command line (invites, posters) when the bot
    # has not run yet to learn its own name.
    bot_username: str = ""
    # The Zalo bot (handlers/zalo/): its token, the Bot API's base URL (the
    # bot appends <token>/<method>, as for Telegram), the secret of its
    # webhook (set: Zalo posts updates to PHANANH_PUBLIC_URL + /zalo; unset:
    # long polling), and how many messages a second it sends at most.
    zalo_token: Secret = field(default_factory=lambda: Secret(""))
    zalo_api_url: str = DEFAULT_ZALO_API_URL
    zalo_webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    zalo_rate: float = DEFAULT_ZALO_RATE
    # The Zalo bot's link (https://zalo.me/…): set, the posters show it and
    # the group's code to send it (Zalo has no links that start a report).
    zalo_bot_link: str = ""
    # The bot's own web server (bot/http.py: webhooks, media links), behind a
    # reverse proxy that provides the HTTPS.  Port 0 picks a free port (tests).
    http_host: str = DEFAULT_HTTP_HOST
    http_port: int = DEFAULT_HTTP_PORT
    # The port was configured (PHANANH_HTTP_PORT, or `run --port`): the server
    # listens even for long polling without a public URL, for /metrics and
    # the health checks (bot/metrics.py).
    http_port_given: bool = False
    # The HTTPS base under which the reverse proxy makes that server reachable
    # ("" when it is not: the server then listens only for a webhook).
    public_url: str = ""
    # "json": log lines as JSON objects, one a line (bot/logs.py).
    log_format: str = "text"

    def __post_init__(self) -> None:
        if not self.telegram_file_url:
            object.__setattr__(self, "telegram_file_url", default_file_url(self.telegram_api_url))
        try:
            ZoneInfo(self.tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError("config.tz", value=self.tz_name) from exc
        if self.default_language not in ("vi", "en"):
            raise ConfigError("config.language", value=self.default_language)
        if not math.isfinite(self.locate_max_km) or self.locate_max_km <= 0:
            raise ConfigError("config.locate_positive")
        if self.work_end <= self.work_start:
            raise ConfigError("config.work_hours_order")
        if not self.work_days:
            raise ConfigError("config.work_days_empty")
        if self.max_reports_per_hour < 1:
            raise ConfigError("config.at_least_one", name="max_reports_per_hour")
        if self.open311_posts_per_hour < 1:
            raise ConfigError("config.at_least_one", name="open311_posts_per_hour")
        if self.media_secret and len(self.media_secret.reveal()) < MEDIA_SECRET_MIN:
            raise ConfigError("config.media_secret_short", least=MEDIA_SECRET_MIN)
        if not 10 <= self.sweep_seconds <= 600:
            raise ConfigError("config.sweep_range")
        self._check_zalo()
        if self.zalo_bot_link and not _https_url(self.zalo_bot_link):
            raise ConfigError("config.zalo_bot_link", value=self.zalo_bot_link)
        if not 0 <= self.http_port <= 65535:
            raise ConfigError("config.http_port_range")
        if not self.http_host.strip():
            raise ConfigError("config.http_host_empty")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError("config.log_format", value=self.log_format)
        if self.public_url:
            parts = urlsplit(self.public_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError("config.public_url", value=self.public_url)
            object.__setattr__(self, "public_url", self.public_url.rstrip("/"))
        both = sorted(self.bridge_days & self.makeup_days)
        if both:
            raise ConfigError("config.bridge_and_makeup", day=both[0].isoformat())

    def _check_zalo(self) -> None:
        if urlsplit(self.zalo_api_url).scheme not in ("http", "https"):
            raise ConfigError(
                "config.zalo_api_url", default=DEFAULT_ZALO_API_URL, value=self.zalo_api_url
            )
        if not math.isfinite(self.zalo_rate) or not 0 < self.zalo_rate <= 1000:
            raise ConfigError("config.zalo_rate_range")
        secret = self.zalo_webhook_secret.reveal()
        if not secret:
            return
        if len(secret) not in ZALO_SECRET_LENGTH or not secret.isprintable() or " " in secret:
            raise ConfigError("config.zalo_secret_shape")
        if not self.public_url:
            raise ConfigError("config.zalo_secret_needs_url")

    @property
    def zalo_webhook_url(self) -> str | None:
        """Where Zalo posts updates (webhook mode), or None: long polling."""
        if not self.zalo_webhook_secret or not self.public_url:
            return None
        return self.public_url.rstrip("/") + "/zalo"

    @property
    def database(self) -> Path | PostgresUrl:
        """Where the store lives: a file (SQLite) or a server (PostgreSQL).
        Printed, a URL hides its password."""
        return self.db_url if self.db_url is not None else self.db_path

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    def days_off(self) -> DaysOff:
        return days_off(self.holidays, self.bridge_days, self.makeup_days)

    def holiday_warning(self, today: date) -> str | None:
        """What to tell the operator when this or next year has no holidays."""
        return missing_list_warning(
            self.days_off(), self.holidays is not None, today, self.default_language
        )

    def calendar(self) -> WorkCalendar:
        off = self.days_off()
        return WorkCalendar(
            self.tz,
            self.work_start,
            self.work_end,
            self.work_days,
            off.holidays,
            off.makeup_days,
        )

    def quiet_hours(self) -> QuietHours:
        return QuietHours(self.tz, self.quiet_start, self.quiet_end)


# TOML key -> environment variable.  The TOML keys are the variable names
# without the prefix, in lower case.
_ENV_NAMES = {
    "telegram_token": "PHANANH_TELEGRAM_TOKEN",
    "telegram_api_url": "PHANANH_TELEGRAM_API_URL",
    "telegram_file_url": "PHANANH_TELEGRAM_FILE_URL",
    "db": "PHANANH_DB",
    "tz": "PHANANH_TZ",
    "locate_max_km": "PHANANH_LOCATE_MAX_KM",
    "default_language": "PHANANH_DEFAULT_LANGUAGE",
    "work_hours": "PHANANH_WORK_HOURS",
    "work_days": "PHANANH_WORK_DAYS",
    "holidays": "PHANANH_HOLIDAYS",
    "bridge_days": "PHANANH_BRIDGE_DAYS",
    "makeup_days": "PHANANH_MAKEUP_DAYS",
    "quiet_hours": "PHANANH_QUIET_HOURS",
    "briefing_time": "PHANANH_BRIEFING_TIME",
    "digest_time": "PHANANH_DIGEST_TIME",
    "sweep_seconds": "PHANANH_SWEEP_SECONDS",
    "rate_limit": "PHANANH_RATE_LIMIT",
    "bot_username": "PHANANH_BOT_USERNAME",
    "zalo_bot_link": "PHANANH_ZALO_BOT_LINK",
    "zalo_token": "PHANANH_ZALO_TOKEN",
    "zalo_api_url": "PHANANH_ZALO_API_URL",
    "zalo_webhook_secret": "PHANANH_ZALO_WEBHOOK_SECRET",
    "zalo_rate": "PHANANH_ZALO_RATE",
    "max_reports_per_hour": "PHANANH_MAX_REPORTS_PER_HOUR",
    "open311_posts_per_hour": "PHANANH_OPEN311_POSTS_PER_HOUR",
    "webhook_secret": "PHANANH_WEBHOOK_SECRET",
    "media_secret": "PHANANH_MEDIA_SECRET",
    "anonymous_by_default": "PHANANH_ANONYMOUS_BY_DEFAULT",
    "http_host": "PHANANH_HTTP_HOST",
    "http_port": "PHANANH_HTTP_PORT",
    "public_url": "PHANANH_PUBLIC_URL",
    "log_format": "PHANANH_LOG_FORMAT",
}


def _https_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme == "https" and bool(parts.netloc) and not any(c.isspace() for c in text)


def _clock_time(value: object, name: str) -> time:
    try:
        hours, minutes = str(value).strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise ConfigError("config.clock_time", name=name, value=str(value)) from exc


def _span(value: object, name: str) -> tuple[time, time]:
    """ "07:30-17:00" -> (07:30, 17:00)."""
    parts = str(value).split("-")
    if len(parts) != 2:
        raise ConfigError("config.span", name=name, value=str(value))
    return _clock_time(parts[0], name), _clock_time(parts[1], name)


def _digest(value: object) -> DigestSchedule | None:
    """ "mon 07:30" (a weekday and a time), or "off"."""
    text = str(value).strip().lower()
    if text in ("off", "no", "false", "none"):
        return None
    parts = text.split()
    if len(parts) != 2 or parts[0][:3] not in WEEKDAYS:
        raise ConfigError("config.digest_time", value=str(value))
    return DigestSchedule(WEEKDAYS.index(parts[0][:3]), _clock_time(parts[1], "digest_time"))


def _items(value: object) -> list[str]:
    """A TOML array, or a comma-separated environment variable."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def _weekdays(value: object) -> frozenset[int]:
    days = set()
    for item in _items(value):
        name = item.lower()[:3]
        if name not in WEEKDAYS:
            raise ConfigError("config.unknown_day", value=item)
        days.add(WEEKDAYS.index(name))
    return frozenset(days)


def _dates(value: object, name: str) -> frozenset[date]:
    out = set()
    for item in _items(value):
        try:
            out.add(date.fromisoformat(item))
        except ValueError as exc:
            raise ConfigError("config.not_a_date", name=name, value=item) from exc
    return frozenset(out)


def _whole(value: object, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise ConfigError("config.whole", name=name) from exc


def _flag(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError("config.flag", name=name, value=str(value))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError("config.file_missing", path=str(path)) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError("config.file_not_toml", path=str(path), error=str(exc)) from exc
    except OSError as exc:
        raise ConfigError("config.file_unreadable", path=str(path), error=exc.strerror) from exc
    unknown = sorted(set(data) - set(_ENV_NAMES))
    if unknown:
        raise ConfigError("config.file_unknown_keys", path=str(path), keys=", ".join(unknown))
    return data


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings once: TOML file first, environment on top."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    config_path = env.get("PHANANH_CONFIG")
    if config_path:
        raw.update(_read_toml(Path(config_path)))
    for key, var in _ENV_NAMES.items():
        if env.get(var):
            raw[key] = env[var]
    try:
        locate = float(raw.get("locate_max_km", 1.0))
    except (TypeError, ValueError) as exc:
        raise ConfigError("config.locate_number") from exc
    try:
        zalo_rate = float(raw.get("zalo_rate", DEFAULT_ZALO_RATE))
    except (TypeError, ValueError) as exc:
        raise ConfigError("config.zalo_rate_number") from exc
    timing: dict[str, Any] = {}
    if "work_hours" in raw:
        timing["work_start"], timing["work_end"] = _span(raw["work_hours"], "work_hours")
    if "work_days" in raw:
        timing["work_days"] = _weekdays(raw["work_days"])
    for name in ("holidays", "bridge_days", "makeup_days"):
        if name in raw:
            timing[name] = _dates(raw[name], name)
    if "quiet_hours" in raw:
        timing["quiet_start"], timing["quiet_end"] = _span(raw["quiet_hours"], "quiet_hours")
    if "briefing_time" in raw:
        timing["briefing_time"] = _clock_time(raw["briefing_time"], "briefing_time")
    if "digest_time" in raw:
        timing["digest"] = _digest(raw["digest_time"])
    for name in ("sweep_seconds", "max_reports_per_hour", "open311_posts_per_hour", "http_port"):
        if name in raw:
            timing[name] = _whole(raw[name], name)
    if "anonymous_by_default" in raw:
        timing["anonymous_by_default"] = _flag(raw["anonymous_by_default"], "anonymous_by_default")
    if "rate_limit" in raw:
        timing["rate_limit"] = _flag(raw["rate_limit"], "rate_limit")
    db = str(raw.get("db", DEFAULT_DB))
    if is_url(db):
        try:
            timing["db_url"] = PostgresUrl.parse(db)
        except ConfigError as exc:
            raise exc.given_as("PHANANH_DB") from exc
        db = DEFAULT_DB
    return Settings(
        **timing,
        telegram_token=Secret(str(raw.get("telegram_token", ""))),
        telegram_api_url=str(raw.get("telegram_api_url", DEFAULT_API_URL)),
        telegram_file_url=str(raw.get("telegram_file_url", "")),
        db_path=Path(db),
        tz_name=str(raw.get("tz", DEFAULT_TZ)),
        locate_max_km=locate,
        default_language=str(raw.get("default_language", "vi")),
        bot_username=str(raw.get("bot_username", "")).lstrip("@"),
        zalo_bot_link=str(raw.get("zalo_bot_link", "")).strip(),
        webhook_secret=Secret(str(raw.get("webhook_secret", ""))),
        http_host=str(raw.get("http_host", DEFAULT_HTTP_HOST)).strip(),
        public_url=str(raw.get("public_url", "")).strip(),
        http_port_given="http_port" in raw,
        log_format=str(raw.get("log_format", "text")).strip().lower(),
        media_secret=Secret(str(raw.get("media_secret", ""))),
        zalo_token=Secret(str(raw.get("zalo_token", "")).strip()),
        zalo_api_url=str(raw.get("zalo_api_url", DEFAULT_ZALO_API_URL)).strip(),
        zalo_webhook_secret=Secret(str(raw.get("zalo_webhook_secret", ""))),
        zalo_rate=zalo_rate,
    )
