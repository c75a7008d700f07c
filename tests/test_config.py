"""Settings: defaults, the TOML file, environment overrides, operator-friendly
errors, and a token that never leaks into a repr or a log line."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, Secret, Settings, load_settings

TOKEN = "123456:AAHsecret-token-VALUE_xyz"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------- defaults


def test_defaults() -> None:
    settings = load_settings(environ={})

    assert settings.telegram_api_url == "https://api.telegram.org/bot"
    assert settings.telegram_file_url == "https://api.telegram.org/file/bot"
    assert settings.db_path == Path("./data/phananh.db")
    assert settings.tz_name == "Asia/Ho_Chi_Minh"
    assert settings.tz == ZoneInfo("Asia/Ho_Chi_Minh")
    assert settings.locate_max_km == 1.0
    assert settings.default_language == "vi"
    assert not settings.telegram_token
    assert settings.telegram_token.reveal() == ""


def test_defaults_agree_with_the_dataclass() -> None:
    assert load_settings(environ={}) == Settings()


def test_reads_os_environ_when_no_mapping_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PHANANH_DB", str(tmp_path / "env.db"))
    monkeypatch.setenv("PHANANH_TZ", "Europe/Paris")
    monkeypatch.delenv("PHANANH_CONFIG", raising=False)

    settings = load_settings()

    assert settings.db_path == tmp_path / "env.db"
    assert settings.tz_name == "Europe/Paris"


# ------------------------------------------------------- file and environment


def test_toml_file_named_by_phananh_config_is_read(tmp_path: Path) -> None:
    config = _write(
        tmp_path / "phananh.toml",
        f"""\
telegram_token = "{TOKEN}"
telegram_api_url = "http://127.0.0.1:8081/bot"
telegram_file_url = "http://files.example.org/file/bot"
db = "{tmp_path / "from-file.db"}"
tz = "Asia/Bangkok"
locate_max_km = 2.5
default_language = "en"
""",
    )

    settings = load_settings(environ={"PHANANH_CONFIG": str(config)})

    assert settings.telegram_token.reveal() == TOKEN
    assert settings.telegram_api_url == "http://127.0.0.1:8081/bot"
    assert settings.telegram_file_url == "http://files.example.org/file/bot"
    assert settings.db_path == tmp_path / "from-file.db"
    assert settings.tz_name == "Asia/Bangkok"
    assert settings.locate_max_km == 2.5
    assert settings.default_language == "en"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = _write(
        tmp_path / "phananh.toml",
        'telegram_token = "from-file"\ndb = "file.db"\ntz = "Asia/Bangkok"\n'
        'locate_max_km = 2.5\ndefault_language = "en"\n',
    )

    settings = load_settings(
        environ={
            "PHANANH_CONFIG": str(config),
            "PHANANH_TELEGRAM_TOKEN": TOKEN,
            "PHANANH_DB": "env.db",
            "PHANANH_TZ": "Europe/Paris",
            "PHANANH_LOCATE_MAX_KM": "0.5",
        }
    )

    assert settings.telegram_token.reveal() == TOKEN
    assert settings.db_path == Path("env.db")
    assert settings.tz_name == "Europe/Paris"
    assert settings.locate_max_km == 0.5
    # Not overridden: still the file's value.
    assert settings.default_language == "en"


def test_an_empty_variable_does_not_blank_the_file_value(tmp_path: Path) -> None:
    config = _write(tmp_path / "phananh.toml", 'db = "file.db"\n')

    settings = load_settings(environ={"PHANANH_CONFIG": str(config), "PHANANH_DB": ""})

    assert settings.db_path == Path("file.db")


@pytest.mark.parametrize(
    ("api_url", "file_url"),
    [
        ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot"),
        ("https://bot-api.example.org/bot", "https://bot-api.example.org/file/bot"),
    ],
)
def test_file_url_is_derived_from_a_custom_api_url(api_url: str, file_url: str) -> None:
    settings = load_settings(environ={"PHANANH_TELEGRAM_API_URL": api_url})

    assert settings.telegram_api_url == api_url
    assert settings.telegram_file_url == file_url


def test_file_url_is_derived_from_the_api_url_in_the_file(tmp_path: Path) -> None:
    config = _write(tmp_path / "phananh.toml", 'telegram_api_url = "http://127.0.0.1:8081/bot"\n')

    settings = load_settings(environ={"PHANANH_CONFIG": str(config)})

    assert settings.telegram_file_url == "http://127.0.0.1:8081/file/bot"


def test_an_explicit_file_url_is_kept() -> None:
    settings = load_settings(
        environ={
            "PHANANH_TELEGRAM_API_URL": "http://127.0.0.1:8081/bot",
            "PHANANH_TELEGRAM_FILE_URL": "http://127.0.0.1:9999/files/bot",
        }
    )

    assert settings.telegram_file_url == "http://127.0.0.1:9999/files/bot"


# ------------------------------------------------------------------- errors


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"

    with pytest.raises(ConfigError) as info:
        load_settings(environ={"PHANANH_CONFIG": str(missing)})

    assert str(info.value) == f"config file not found: {missing}"


def test_invalid_toml(tmp_path: Path) -> None:
    config = _write(tmp_path / "broken.toml", 'db = "unterminated\n')

    with pytest.raises(ConfigError) as info:
        load_settings(environ={"PHANANH_CONFIG": str(config)})

    message = str(info.value)
    assert message.startswith(f"config file {config} is not valid UTF-8 TOML: ")
    assert "line 1" in message


def test_unknown_keys_are_named(tmp_path: Path) -> None:
    # `token` and `database` are plausible typos for `telegram_token` and `db`.
    config = _write(tmp_path / "typo.toml", 'token = "x"\ndatabase = "x.db"\ntz = "UTC"\n')

    with pytest.raises(ConfigError) as info:
        load_settings(environ={"PHANANH_CONFIG": str(config)})

    assert str(info.value) == f"config file {config}: unknown keys database, token"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PHANANH_TZ": "Mars/Olympus_Mons"}, "unknown time zone: 'Mars/Olympus_Mons'"),
        ({"PHANANH_TZ": "../../etc/passwd"}, "unknown time zone: '../../etc/passwd'"),
        ({"PHANANH_LOCATE_MAX_KM": "one"}, "locate_max_km must be a number"),
        ({"PHANANH_LOCATE_MAX_KM": "0"}, "locate_max_km must be a positive number"),
        ({"PHANANH_LOCATE_MAX_KM": "-2"}, "locate_max_km must be a positive number"),
        ({"PHANANH_DEFAULT_LANGUAGE": "fr"}, "default_language must be 'vi' or 'en', not 'fr'"),
        ({"PHANANH_DEFAULT_LANGUAGE": "VI"}, "default_language must be 'vi' or 'en', not 'VI'"),
    ],
)
def test_bad_values_are_config_errors(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=environ)

    assert str(info.value) == message


def test_bad_values_in_the_file_are_config_errors_too(tmp_path: Path) -> None:
    config = _write(tmp_path / "phananh.toml", 'locate_max_km = "far"\n')

    with pytest.raises(ConfigError, match="locate_max_km must be a number"):
        load_settings(environ={"PHANANH_CONFIG": str(config)})


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_non_finite_locate_max_km_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="locate_max_km"):
        load_settings(environ={"PHANANH_LOCATE_MAX_KM": value})


def test_config_path_that_is_a_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file"):
        load_settings(environ={"PHANANH_CONFIG": str(tmp_path)})


def test_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "latin1.toml"
    config.write_bytes(b'db = "H\xe0 N\xf4i.db"\n')  # "Hà Nôi" saved as Latin-1

    with pytest.raises(ConfigError, match="config file"):
        load_settings(environ={"PHANANH_CONFIG": str(config)})


# ------------------------------------------------------------- the token


def _settings_with_token(tmp_path: Path) -> Settings:
    return load_settings(
        environ={"PHANANH_TELEGRAM_TOKEN": TOKEN, "PHANANH_DB": str(tmp_path / "x.db")}
    )


def test_token_is_kept_but_not_shown(tmp_path: Path) -> None:
    settings = _settings_with_token(tmp_path)

    assert settings.telegram_token.reveal() == TOKEN
    for text in (
        repr(settings),
        str(settings),
        f"{settings}",
        f"{settings!r}",
        repr(settings.telegram_token),
        str(settings.telegram_token),
        str(dataclasses.asdict(settings)),
    ):
        assert TOKEN not in text
        assert "123456" not in text
    assert "***" in repr(settings)


def test_token_from_the_file_is_not_shown_either(tmp_path: Path) -> None:
    config = _write(tmp_path / "phananh.toml", f'telegram_token = "{TOKEN}"\n')

    settings = load_settings(environ={"PHANANH_CONFIG": str(config)})

    assert settings.telegram_token.reveal() == TOKEN
    assert TOKEN not in repr(settings)


def test_token_never_reaches_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings_with_token(tmp_path)
    log = logging.getLogger("phananh.test_config")

    with caplog.at_level(logging.DEBUG, logger="phananh.test_config"):
        log.info("settings: %s", settings)
        log.info("settings: %r", settings)
        log.warning(settings)
        log.debug("token: %s", settings.telegram_token)
        log.debug("fields: %s", dataclasses.asdict(settings))

    assert len(caplog.records) == 5
    assert str(tmp_path / "x.db") in caplog.text  # the settings were really logged
    assert TOKEN not in caplog.text
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_secret_compares_by_value_and_is_falsy_when_empty() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"
    assert bool(Secret("a"))
    assert not Secret("")
    assert repr(Secret("")) == "Secret('')"


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = _settings_with_token(tmp_path)

    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.tz_name = "UTC"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.telegram_token = Secret("other")  # type: ignore[misc]

    assert settings.tz_name == "Asia/Ho_Chi_Minh"
    assert settings.telegram_token.reveal() == TOKEN
