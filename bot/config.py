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
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_DB = "./data/phananh.db"
DEFAULT_TZ = "Asia/Ho_Chi_Minh"


class ConfigError(Exception):
    """A setting is missing or malformed; the message is meant for the operator."""


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
    tz_name: str = DEFAULT_TZ
    # How far from a residential group's centre a shared location may fall
    # and still be attributed to it.
    locate_max_km: float = 1.0
    default_language: str = "vi"

    def __post_init__(self) -> None:
        if not self.telegram_file_url:
            object.__setattr__(self, "telegram_file_url", default_file_url(self.telegram_api_url))
        try:
            ZoneInfo(self.tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"unknown time zone: {self.tz_name!r}") from exc
        if self.default_language not in ("vi", "en"):
            raise ConfigError(
                f"default_language must be 'vi' or 'en', not {self.default_language!r}"
            )
        if not math.isfinite(self.locate_max_km) or self.locate_max_km <= 0:
            raise ConfigError("locate_max_km must be a positive number")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)


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
}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid UTF-8 TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from exc
    unknown = sorted(set(data) - set(_ENV_NAMES))
    if unknown:
        raise ConfigError(f"config file {path}: unknown keys {', '.join(unknown)}")
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
        raise ConfigError("locate_max_km must be a number") from exc
    return Settings(
        telegram_token=Secret(str(raw.get("telegram_token", ""))),
        telegram_api_url=str(raw.get("telegram_api_url", DEFAULT_API_URL)),
        telegram_file_url=str(raw.get("telegram_file_url", "")),
        db_path=Path(str(raw.get("db", DEFAULT_DB))),
        tz_name=str(raw.get("tz", DEFAULT_TZ)),
        locate_max_km=locate,
        default_language=str(raw.get("default_language", "vi")),
    )
