"""Settings read from the environment in one place, and the services an app is built on."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.app import StartupRefused, create_app
from ivr.services import services_of
from ivr.settings import SettingError, Settings


def test_defaults_without_any_variable() -> None:
    """With no variable set, the router is in production mode, keeps 400 days and hashes caller numbers."""
    settings = Settings.from_env({})
    assert (settings.env, settings.retention_days, settings.keep_caller_numbers, settings.database_url) == (
        "production",
        400,
        False,
        None,
    )
    assert settings.config_dir == Path(__file__).resolve().parent.parent


def test_each_variable_reaches_its_field() -> None:
    """Text from the environment becomes the typed value of its field."""
    settings = Settings.from_env(
        {
            "IVR_ENV": "development",
            "IVR_RETENTION_DAYS": "3650",
            "IVR_FOLLOW_SECONDS": "0.5",
            "IVR_KEEP_CALLER_NUMBERS": "yes",
            "IVR_RUN_CLOCK": "0",
            "IVR_CONFIG_DIR": "/srv/router",
            "DATABASE_URL": "postgresql://db/ivr",
            "IVR_PUBLIC_URL": "https://phones.example.gov.uk",
        }
    )
    assert settings.development
    assert (settings.retention_days, settings.follow_seconds, settings.keep_caller_numbers, settings.run_clock) == (
        3650,
        0.5,
        True,
        False,
    )
    assert (settings.config_dir, settings.database_url, settings.public_url) == (
        Path("/srv/router"),
        "postgresql://db/ivr",
        "https://phones.example.gov.uk",
    )


def test_an_empty_database_url_means_the_default() -> None:
    """DATABASE_URL set but empty is the embedded SQLite default, not a URL of nothing."""
    assert Settings.from_env({"DATABASE_URL": ""}).database_url is None


@pytest.mark.parametrize(
    ("name", "value", "wanted"),
    [
        ("IVR_RETENTION_DAYS", "a year", "is not a number"),
        ("IVR_RETENTION_DAYS", "-1", "is not zero or more"),
        ("IVR_FOLLOW_SECONDS", "soon", "is not a number"),
        ("IVR_KEEP_CALLER_NUMBERS", "perhaps", "is not a yes/no flag"),
    ],
    ids=["words-for-days", "negative-days", "words-for-seconds", "unclear-flag"],
)
def test_a_bad_value_is_named(name: str, value: str, wanted: str) -> None:
    """A value that cannot be used is refused with the variable, the value and what it should be."""
    with pytest.raises(SettingError) as refused:
        Settings.from_env({name: value})
    assert str(refused.value) == f"{name}={value!r} {wanted}" + (" (1 or 0)" if "flag" in wanted else "")


def test_the_app_refuses_to_start_on_a_bad_setting(settings: dict[str, object]) -> None:
    """create_app turns a bad setting into one line that names it, not a traceback from deep inside."""
    with pytest.raises(StartupRefused, match=r"^IVR_RETENTION_DAYS='forever' is not a number$"):
        create_app({**settings, "IVR_RETENTION_DAYS": "forever"})


def test_the_app_carries_its_settings_and_services(settings: dict[str, object]) -> None:
    """The services object holds the settings given, the default line as set (never one picked by name) and the objects built from them."""
    app = create_app({**settings, "IVR_DEFAULT_LINE": "isle-of-wight", "IVR_RETENTION_DAYS": 30})
    services = services_of(app)
    assert services.settings.retention_days == 30
    assert services.settings.default_line == "isle-of-wight"
    assert services.recorder.store is services.store
    assert services.static_twiml.startswith("<?xml")
