"""create_app(): wires the live configuration, call records, text messages and webhooks together."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

from ivr import clock
from ivr import config as config_module
from ivr.config.live import LiveConfig
from ivr.core.errors import ConfigError, IvrError
from ivr.core.flow import static_fallback
from ivr.notify.alerts import Alerts
from ivr.notify.sms import TextSender
from ivr.records.recorder import Recorder
from ivr.records.store import CallStore
from ivr.web import admin, health, twiml, voice

LONDON = ZoneInfo("Europe/London")
log = logging.getLogger(__name__)


class StartupRefused(IvrError, RuntimeError):
    """The app will not serve calls in this configuration."""


def london_now() -> datetime:
    return datetime.now(LONDON)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def settings_from_env() -> dict[str, Any]:
    """The app's settings from the environment (see README: Environment)."""
    return {
        "IVR_ENV": os.environ.get("IVR_ENV", "production"),
        "TWILIO_AUTH_TOKEN": os.environ.get("TWILIO_AUTH_TOKEN", ""),
        "TWILIO_ACCOUNT_SID": os.environ.get("TWILIO_ACCOUNT_SID", ""),
        "IVR_PUBLIC_URL": os.environ.get("IVR_PUBLIC_URL", ""),
        "IVR_CONFIG_DIR": str(config_module.default_config_dir()),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or None,
        "IVR_DEFAULT_LINE": os.environ.get("IVR_DEFAULT_LINE", ""),
        "IVR_KEEP_CALLER_NUMBERS": _env_flag("IVR_KEEP_CALLER_NUMBERS"),
        "IVR_RELOAD_SECONDS": float(os.environ.get("IVR_RELOAD_SECONDS", "2")),
        "IVR_RUN_CLOCK": _env_flag("IVR_RUN_CLOCK"),
        "IVR_ALERT_NUMBER": os.environ.get("IVR_ALERT_NUMBER", ""),
        "IVR_ALERT_FROM": os.environ.get("IVR_ALERT_FROM", ""),
        "IVR_RETENTION_DAYS": int(os.environ.get("IVR_RETENTION_DAYS", "400")),
        "IVR_CLOCK": london_now,
        "IVR_SIMULATED": False,
        "IVR_TWILIO_HTTP_CLIENT": None,
        "IVR_WEBHOOKS": True,
        "IVR_ADMIN_PASSWORD": os.environ.get("IVR_ADMIN_PASSWORD", ""),
    }


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The web app. `test_config` replaces settings from the environment, key by key."""
    instance = (test_config or {}).get("IVR_INSTANCE_PATH") or os.environ.get("IVR_INSTANCE_PATH")
    app = Flask(__name__, instance_path=str(instance or config_module.PROJECT_DIR / "instance"))
    app.config.from_mapping(settings_from_env())
    if test_config:
        app.config.update(test_config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # twilio's HTTP client logs request parameters, which include callers' numbers.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    if app.config["IVR_WEBHOOKS"]:
        _check_mode(app)

    texts = TextSender(app.config["TWILIO_ACCOUNT_SID"], app.config["TWILIO_AUTH_TOKEN"], app.config["IVR_TWILIO_HTTP_CLIENT"])
    app.extensions["ivr.texts"] = texts
    app.extensions["ivr.alerts"] = Alerts(texts, app.config["IVR_ALERT_NUMBER"], app.config["IVR_ALERT_FROM"])
    store = CallStore(
        app.config["DATABASE_URL"], instance_path=Path(app.instance_path), keep_numbers=app.config["IVR_KEEP_CALLER_NUMBERS"]
    )
    store.upgrade()
    app.extensions["ivr.store"] = store
    app.extensions["ivr.recorder"] = Recorder(store, simulated=app.config["IVR_SIMULATED"])

    def refused(exc: ConfigError) -> None:
        app.extensions["ivr.alerts"].config_refused(exc)

    try:
        live = LiveConfig(Path(app.config["IVR_CONFIG_DIR"]), app.config["IVR_RELOAD_SECONDS"], on_refused=refused)
    except ConfigError as exc:
        raise StartupRefused(f"the configuration in {app.config['IVR_CONFIG_DIR']} is invalid:\n{exc}") from exc
    app.extensions["ivr.live"] = live
    snapshot = live.current()
    default = app.config["IVR_DEFAULT_LINE"] or sorted(snapshot.flows)[0]
    if default not in snapshot.flows:
        raise StartupRefused(f"IVR_DEFAULT_LINE {default!r} is not a configured line")
    app.config["IVR_DEFAULT_LINE"] = default
    # The answer of last resort, built while everything is known to work.
    flow = snapshot.flows[default]
    app.extensions["ivr.static_twiml"] = twiml.render(static_fallback(flow.line), flow.flow.voice, flow.flow.language)

    if app.config["IVR_WEBHOOKS"]:
        voice.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(admin.bp)
    if app.config["IVR_RUN_CLOCK"]:
        clock.start_in_app(app)
    return app


def _check_mode(app: Flask) -> None:
    mode = app.config["IVR_ENV"]
    if mode not in ("development", "production"):
        raise StartupRefused(f"IVR_ENV must be 'development' or 'production', not {mode!r}")
    if app.config["TWILIO_AUTH_TOKEN"]:
        return
    if mode == "production":
        raise StartupRefused("TWILIO_AUTH_TOKEN is not set: production mode will not serve unsigned webhooks")
    banner = "DEVELOPMENT MODE: TWILIO_AUTH_TOKEN is not set, so webhook signatures are NOT checked. Never expose this to the internet."
    log.warning("*" * len(banner))
    log.warning(banner)
    log.warning("*" * len(banner))
