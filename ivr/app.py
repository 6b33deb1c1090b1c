"""create_app(): wires the live configuration, call records, text messages and webhooks together."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from ivr import clock
from ivr.core.errors import IvrError
from ivr.core.facts import Fact
from ivr.core.flow import no_line
from ivr.core.state import Call
from ivr.live import LiveRelease, Publisher
from ivr.notify.alerts import Alerts
from ivr.notify.outbox import Outbox, Report, Text
from ivr.notify.sms import TextSender
from ivr.records.ingest import Ingester
from ivr.records.journal import Journal
from ivr.records.recorder import Recorder
from ivr.records.store import CallStore
from ivr.services import Services, london_now
from ivr.settings import SettingError, Settings
from ivr.web import admin, card, health, metrics, pages, twiml, voice, week

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
    if settings.serve not in ("releases", "working-files"):
        raise StartupRefused(f"IVR_SERVE must be 'releases' or 'working-files', not {settings.serve!r}")

    texts = TextSender(settings.account_sid, settings.auth_token, overrides.get("IVR_TWILIO_HTTP_CLIENT"))
    store = CallStore(
        settings.database_url,
        instance_path=Path(app.instance_path),
        hash_key=settings.hash_key.encode() or None,
        keep_numbers=settings.keep_caller_numbers,
    )
    try:
        store.upgrade()
    except Exception:  # a database outage must not stop calls being answered
        log.exception("the call records database cannot be reached or upgraded; calls are answered regardless")
    clock_now = overrides.get("IVR_CLOCK") or london_now
    journal = Journal(settings.journal_folder)
    recorder = Recorder(store, journal, simulated=settings.simulated)
    outbox = Outbox(texts, _text_outcomes(recorder, clock_now))
    alerts = Alerts(outbox, settings.alert_number, settings.alert_from)
    ingester = Ingester(recorder, journal, store, settings.ingest_seconds, alerts, settings.backlog_alert_seconds)
    if settings.ingest_seconds > 0:
        ingester.start()
    else:  # stored as each webhook writes it: what a test or a simulation reads back is there at once
        recorder.after_append = ingester.run_once
    publisher = Publisher(store, settings.release_cache)
    live = LiveRelease(settings.config_dir, publisher, settings.follow_seconds, clock_now)
    live.boot(from_releases=settings.serve != "working-files")
    if settings.webhooks and not settings.simulated:  # a simulated call names its line in the URL
        _check_default_line(settings, live)
    services = Services(
        settings=settings,
        live=live,
        publisher=publisher,
        store=store,
        recorder=recorder,
        ingester=ingester,
        texts=texts,
        outbox=outbox,
        alerts=alerts,
        clock=clock_now,
        static_twiml=twiml.render(no_line(), "Polly.Amy", "en-GB"),
    )
    services.install(app)
    if settings.follow_seconds > 0:
        live.start()

    if settings.webhooks:
        voice.init_app(app)
    pages.init_app(app)  # templates, /assets/, security headers (none under /voice), the /admin check
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(week.bp)  # /admin/<line>/week, behind the password like all of /admin
    app.register_blueprint(card.bp)  # /card/<line>, public
    if settings.run_clock:
        clock.start_in_app(services)
    return app


def _check_default_line(settings: Settings, live: LiveRelease) -> None:
    """`POST /voice` from a number no line lists goes to IVR_DEFAULT_LINE, never to a line picked by name.

    In production it must be set when any line lists no Twilio `numbers`: a deploy without it is
    refused at start. Once a release is live, a worker always boots (a release must never stop
    gunicorn): such calls hear the 999 message and the problem is logged as critical.
    Elsewhere its absence is logged. A default the files lack is logged too.
    """
    if settings.default_line:
        if live.static_lines and settings.default_line not in live.static_lines:
            log.error("IVR_DEFAULT_LINE %r is not a configured line: such calls hear the 999 message", settings.default_line)
        return
    unlisted = sorted(key for key, line in live.static_lines.items() if not line.flow.numbers)
    if not unlisted:
        return
    problem = (
        f"IVR_DEFAULT_LINE is not set and {', '.join(unlisted)} list no Twilio numbers: "
        "set it to the line that answers POST /voice for a called number no line lists"
    )
    if settings.env == "production" and live.source != "release":
        raise StartupRefused(problem)
    log.log(
        logging.CRITICAL if settings.env == "production" else logging.WARNING,
        "%s (until then such calls hear the 999 message)",
        problem,
    )


def _text_outcomes(recorder: Recorder, clock_now: Any) -> Report:
    """What the text worker tells the call records: each text's outcome as an SMS fact on its call."""

    def report(text: Text, detail: dict[str, Any]) -> None:
        if text.call:  # an alert belongs to no call
            call = Call(text.call, None, text.sender, clock_now())
            recorder.record(text.line, call, [(Fact.SMS, detail)], f"sms:{text.key}")

    return report


def _check_mode(settings: Settings) -> None:
    if settings.env not in ("development", "production"):
        raise StartupRefused(f"IVR_ENV must be 'development' or 'production', not {settings.env!r}")
    if settings.public_url and not _is_base_url(settings.public_url):
        raise StartupRefused(f"IVR_PUBLIC_URL={settings.public_url!r} is not a base URL like https://phones.example.gov.uk")
    if settings.auth_token:
        if settings.public_url or settings.trusted_hosts:
            return
        # Otherwise whoever sends a request chooses the host its signature is checked against and its TwiML points at.
        if settings.env == "production":
            raise StartupRefused(
                "IVR_PUBLIC_URL is not set: set it to the https URL Twilio calls (or IVR_TRUSTED_HOSTS to the host names it uses)"
            )
        log.warning("IVR_PUBLIC_URL and IVR_TRUSTED_HOSTS are not set: any Host or X-Forwarded-Host header is believed")
        return
    if settings.env == "production":
        raise StartupRefused("TWILIO_AUTH_TOKEN is not set: production mode will not serve unsigned webhooks")
    banner = (
        "DEVELOPMENT MODE: TWILIO_AUTH_TOKEN is not set, so webhook signatures are NOT checked"
        + ("" if settings.public_url or settings.trusted_hosts else " and any Host or X-Forwarded-Host header is believed")
        + ". Never expose this to the internet."
    )
    log.warning("*" * len(banner))
    log.warning(banner)
    log.warning("*" * len(banner))


def _is_base_url(url: str) -> bool:
    """http(s), a host, a valid port if any, and no query or fragment: every signature is checked against it."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.query and not parts.fragment
