"""The router's settings: every environment variable, read in one place, as plain values.

Light on purpose (no Flask, database or Twilio): `ivr check` reads the configuration folder from here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ivr.config.loader import PROJECT_DIR
from ivr.core.errors import IvrError


class SettingError(IvrError, ValueError):
    """An environment variable whose value cannot be used."""

    def __init__(self, name: str, value: object, wanted: str) -> None:
        super().__init__(f"{name}={value!r} is not {wanted}")
        self.name = name


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the router; each field is read from the variable named in `_VARIABLES` (see README)."""

    env: str = "production"
    auth_token: str = ""
    account_sid: str = ""
    public_url: str = ""
    trusted_hosts: tuple[str, ...] = ()  # host names (or host:port) Twilio may call us by, when no public URL is set
    config_dir: Path = PROJECT_DIR
    instance_path: Path = PROJECT_DIR / "instance"
    database_url: str | None = None
    default_line: str = ""
    keep_caller_numbers: bool = False
    hash_key: str = ""
    follow_seconds: float = 1.0  # how often each process looks for a new live release; 0: never (tests)
    auto_publish: bool | None = None  # None (unset): on in development, off in production
    settle_seconds: float = 2.0  # working files must be unchanged this long before they are auto-published
    serve: str = "releases"  # or "working-files": serve the files in config_dir as they are (`ivr simulate`)
    run_clock: bool = False
    alert_number: str = ""
    alert_from: str = ""
    retention_days: int = 400
    admin_password: str = ""
    simulated: bool = False  # calls are played by `ivr simulate`, and marked so in the records
    webhooks: bool = True  # False in the clock process, which answers no calls
    journal_dir: Path | None = None  # where call records wait for the database; default <instance>/journal
    ingest_seconds: float = 0.25  # how often the journal is stored; 0: as each webhook writes it (tests, simulate)
    backlog_alert_seconds: float = 120.0  # alert when a record has waited this long for the database

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the environment (`os.environ` by default); unset variables keep their defaults."""
        return cls.from_mapping(os.environ if environ is None else environ)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], base: Settings | None = None) -> Settings:
        """`base` (the defaults) with each variable in `values` applied; text or typed values alike."""
        known = {f.name: f for f in fields(cls)}
        changes: dict[str, Any] = {}
        for name, attribute in _VARIABLES.items():
            if name not in values:
                continue
            value = values[name]
            kind = str(known[attribute].type)
            changes[attribute] = _parse(name, value, kind)
        current = base or cls()
        return cls(**{**{f: getattr(current, f) for f in known}, **changes})

    @property
    def development(self) -> bool:
        return self.env == "development"

    @property
    def publishes_automatically(self) -> bool:
        """Valid, settled working files go live by themselves (the default in development only)."""
        return self.development if self.auto_publish is None else self.auto_publish

    @property
    def journal_folder(self) -> Path:
        """Where this machine's processes append call records until the database has them."""
        return self.journal_dir or self.instance_path / "journal"

    @property
    def release_cache(self) -> Path:
        """Where this machine keeps the releases it served, and the last-good pointer."""
        return self.instance_path / "releases"


_VARIABLES: dict[str, str] = {
    "IVR_ENV": "env",
    "TWILIO_AUTH_TOKEN": "auth_token",
    "TWILIO_ACCOUNT_SID": "account_sid",
    "IVR_PUBLIC_URL": "public_url",
    "IVR_TRUSTED_HOSTS": "trusted_hosts",
    "IVR_CONFIG_DIR": "config_dir",
    "IVR_INSTANCE_PATH": "instance_path",
    "DATABASE_URL": "database_url",
    "IVR_DEFAULT_LINE": "default_line",
    "IVR_KEEP_CALLER_NUMBERS": "keep_caller_numbers",
    "IVR_HASH_KEY": "hash_key",
    "IVR_FOLLOW_SECONDS": "follow_seconds",
    "IVR_AUTO_PUBLISH": "auto_publish",
    "IVR_SETTLE_SECONDS": "settle_seconds",
    "IVR_SERVE": "serve",
    "IVR_RUN_CLOCK": "run_clock",
    "IVR_ALERT_NUMBER": "alert_number",
    "IVR_ALERT_FROM": "alert_from",
    "IVR_RETENTION_DAYS": "retention_days",
    "IVR_ADMIN_PASSWORD": "admin_password",
    "IVR_SIMULATED": "simulated",
    "IVR_WEBHOOKS": "webhooks",
    "IVR_JOURNAL_DIR": "journal_dir",
    "IVR_INGEST_SECONDS": "ingest_seconds",
    "IVR_BACKLOG_ALERT_SECONDS": "backlog_alert_seconds",
}


def _parse(name: str, value: Any, kind: str) -> Any:
    # Field types are strings here (`from __future__ import annotations`).
    if kind == "bool | None":
        return None if value is None or str(value).strip() == "" else _parse(name, value, "bool")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("", "0", "false", "no", "off"):
            return False
        raise SettingError(name, value, "a yes/no flag (1 or 0)")
    if kind in ("int", "float"):
        try:
            number = int(value) if kind == "int" else float(value)
        except (TypeError, ValueError):
            raise SettingError(name, value, "a number") from None
        if number < 0:
            raise SettingError(name, value, "zero or more")
        return number
    if kind == "Path | None":
        return Path(value) if str(value).strip() else None
    if kind == "Path":
        return Path(value)
    if kind == "str | None":
        return str(value) if value else None
    if kind == "tuple[str, ...]":
        # Comma-separated text, or a list; host names compare lower-case.
        items = str(value).split(",") if isinstance(value, str) else [str(item) for item in value]
        hosts = tuple(item.strip().lower() for item in items if item.strip())
        if any(not _HOST.fullmatch(host) for host in hosts):
            raise SettingError(name, value, "a comma-separated list of host names, each maybe with :port")
        return hosts
    if name in _STRIPPED:
        return str(value).strip()
    return str(value)


_HOST = re.compile(r"[a-z0-9.-]+(:[0-9]{1,5})?|\[[0-9a-f:.]+\](:[0-9]{1,5})?")  # no scheme, path or credentials
# A pasted secret or URL often carries a space or newline; a token of spaces is no token at all.
_STRIPPED = frozenset({"TWILIO_AUTH_TOKEN", "IVR_PUBLIC_URL"})
