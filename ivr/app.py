"""create_app(): wires the live configuration, call records, text messages and webhooks together."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from ivr import clock
from ivr.config.live import LiveConfig
from ivr.core.errors import ConfigError, IvrError
from ivr.core.flow import static_fallback
from ivr.notify.alerts import Alerts
from ivr.notify.sms import TextSender
from ivr.records.recorder import Recorder
from ivr.records.store import CallStore
from ivr.services import Services, SettingError, Settings, london_now
from ivr.web import admin, health, twiml, voice

log = logging.getLogger(__name__)


class StartupRefused(IvrError, RuntimeError):
    """The app will not serve calls in this configuration."""


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """The web app. `test_config` replaces settings from the environment, variable by variable.

    Besides the variables, a test may pass `IVR_CLOCK` (a callable giving the instant now) and
    `IVR_TWILIO_HTTP_CLIENT` (a stand-in for twilio's HTTP client).
    """
    overrides = dict(test_config or {})
    try:
        settings = Settings.from_mapping(overrides, Settings.from_env())
    except SettingError as exc:
        raise StartupRefused(str(exc)) from exc
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # twilio's HTTP client logs request parameters, which include callers' numbers.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    if settings.webhooks:
        _check_mode(settings)

    texts = TextSender(settings.account_sid, settings.auth_token, overrides.get("IVR_TWILIO_HTTP_CLIENT"))
    alerts = Alerts(texts, settings.alert_number, settings.alert_from)
    store = CallStore(
        settings.database_url,
        instance_path=Path(app.instance_path),
        hash_key=settings.hash_key.encode() or None,
        keep_numbers=settings.keep_caller_numbers,
    )
    store.upgrade()
    try:
        live = LiveConfig(settings.config_dir, settings.reload_seconds, on_refused=alerts.config_refused)
    except ConfigError as exc:
        raise StartupRefused(f"the configuration in {settings.config_dir} is invalid:\n{exc}") from exc
    snapshot = live.current()
    default = settings.default_line or sorted(snapshot.flows)[0]
    if default not in snapshot.flows:
        raise StartupRefused(f"IVR_DEFAULT_LINE {default!r} is not a configured line")
    if default != settings.default_line:
        settings = Settings.from_mapping({"IVR_DEFAULT_LINE": default}, settings)
    # The answer of last resort, built while everything is known to work.
    flow = snapshot.flows[default]
    services = Services(
        settings=settings,
        live=live,
        store=store,
        recorder=Recorder(store, simulated=settings.simulated),
        texts=texts,
        alerts=alerts,
        clock=overrides.get("IVR_CLOCK") or london_now,
        static_twiml=twiml.render(static_fallback(flow.line), flow.flow.voice, flow.flow.language),
    )
    services.install(app)

    if settings.webhooks:
        voice.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(admin.bp)
    if settings.run_clock:
        clock.start_in_app(services)
    return app


def _check_mode(settings: Settings) -> None:
    if settings.env not in ("development", "production"):
        raise StartupRefused(f"IVR_ENV must be 'development' or 'production', not {settings.env!r}")
    if settings.auth_token:
        return
    if settings.env == "production":
        raise StartupRefused("TWILIO_AUTH_TOKEN is not set: production mode will not serve unsigned webhooks")
    banner = "DEVELOPMENT MODE: TWILIO_AUTH_TOKEN is not set, so webhook signatures are NOT checked. Never expose this to the internet."
    log.warning("*" * len(banner))
    log.warning(banner)
    log.warning("*" * len(banner))
