"""Twilio voice webhooks. Every answer is TwiML; whatever fails, the caller is still connected."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request
from werkzeug.exceptions import HTTPException

from ivr.config.live import Snapshot
from ivr.core.facts import Fact
from ivr.core.flow import CallFlow, Reply, Where, sms_text, static_fallback
from ivr.core.numbers import caller_number, mask
from ivr.web import twiml
from ivr.web.health import count
from ivr.web.security import base_url, is_signed

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")


def init_app(app: Flask) -> None:
    """Register the webhooks, and answer any other failure under /voice with TwiML too."""
    app.register_blueprint(bp)
    app.config["MAX_CONTENT_LENGTH"] = app.config.get("MAX_CONTENT_LENGTH") or 64 * 1024  # Twilio's posts are small

    @app.errorhandler(HTTPException)
    def _voice_errors(error: HTTPException) -> Response | HTTPException:
        # A path Twilio should never ask for (404), a method it does not use (405): still TwiML.
        if not request.path.startswith("/voice") or error.code == 403:
            return error
        if error.code == 413:  # too big to read, so its signature cannot be checked; not Twilio's
            return Response("Forbidden", status=403)
        token = current_app.config.get("TWILIO_AUTH_TOKEN")
        if token and not is_signed(request, token, current_app.config.get("IVR_PUBLIC_URL", "")):
            return Response("Forbidden", status=403)
        log.warning("%s for %s; answering with the safe route", error.code, request.path)
        count("safe_answer")
        reply, flow = _safe_reply(None, None)
        return _twiml(flow, None, reply)


@bp.before_request
def _check_signature() -> None:
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    if not token:
        return  # development mode, announced loudly at start
    if not is_signed(request, token, current_app.config.get("IVR_PUBLIC_URL", "")):
        log.warning("403 for %s: missing or wrong X-Twilio-Signature", request.path)
        count("forbidden")
        abort(403)


@dataclass(frozen=True)
class Call:
    """What one webhook request tells us about the call."""

    sid: str
    caller: str | None  # E.164, or None when withheld or not a number
    called: str
    step: int
    now: datetime


def _call() -> Call:
    form = request.form
    return Call(
        sid=form.get("CallSid", "")[:64],
        caller=caller_number(form.get("From", "")[:32]),
        called=form.get("To", "")[:32],
        step=_int(request.args.get("n"), 0, 0, 10_000),
        now=current_app.config["IVR_CLOCK"](),
    )


def _snapshot() -> Snapshot:
    snapshot: Snapshot = current_app.extensions["ivr.live"].current()
    return snapshot


def _flow_for(snapshot: Snapshot, line: str | None) -> CallFlow:
    """The named line, else the line of the called number, else the configured default."""
    if line and line in snapshot.flows:
        return snapshot.flows[line]
    by_number = snapshot.config.line_for_number(request.form.get("To", ""))
    if by_number is not None:
        return snapshot.flows[by_number.key]
    # The default line may have gone from a reloaded configuration; any line beats no answer.
    return snapshot.flows.get(current_app.config.get("IVR_DEFAULT_LINE", "")) or snapshot.flows[min(snapshot.flows)]


def webhook(handler: Callable[..., Reply]) -> Callable[..., Response]:
    """Run a handler as a Twilio webhook: record what happened, and never answer with an error."""

    @functools.wraps(handler)
    def wrapper(**kwargs: Any) -> Response:
        call = None
        flow = None
        try:
            call = _call()
            snapshot = _snapshot()
            flow = _flow_for(snapshot, kwargs.pop("line", None))
            reply = handler(flow, call, snapshot, **kwargs)
            reply = _stamped(reply, snapshot.config.digest)
            count(handler.__name__)
        except Exception:  # noqa: BLE001 - the caller must be connected whatever went wrong
            log.exception("webhook %s failed; answering with the safe route", request.path)
            count("safe_answer")
            reply, flow = _safe_reply(flow, call)
        _record(flow, call, reply)
        return _twiml(flow, call, reply)

    return wrapper


def _stamped(reply: Reply, digest: str) -> Reply:
    """Each routing decision names the configuration it was taken under (it may change mid-call)."""
    facts = [(kind, {**detail, "config_digest": digest} if kind is Fact.ROUTE else detail) for kind, detail in reply.facts]
    return Reply(reply.verbs, facts)


def _safe_reply(flow: CallFlow | None, call: Call | None) -> tuple[Reply, CallFlow | None]:
    try:
        flow = flow or _flow_for(_snapshot(), None)
        return flow.safe(call.now if call else None), flow
    except Exception:  # noqa: BLE001 - even the live configuration may be what broke
        log.exception("safe route failed; answering with the static list")
        return Reply([]), flow


def _twiml(flow: CallFlow | None, call: Call | None, reply: Reply) -> Response:
    try:
        if flow is None or not reply.verbs:
            body = current_app.extensions["ivr.static_twiml"]
        else:
            body = twiml.render(
                reply.verbs,
                flow.flow.voice,
                flow.flow.language,
                base_url(request, current_app.config.get("IVR_PUBLIC_URL", "")),
                (call.step if call else 0) + 1,
            )
    except Exception:  # noqa: BLE001
        log.exception("rendering TwiML failed; answering with the static list")
        body = current_app.extensions["ivr.static_twiml"]
    return Response(body, status=200, mimetype="text/xml")


def _record(flow: CallFlow | None, call: Call | None, reply: Reply) -> None:
    if call is None or not call.sid or flow is None:
        return
    recorder = current_app.extensions.get("ivr.recorder")
    if recorder is not None:
        recorder.record(flow.line.key, call, reply.facts, f"{call.step}:{request.path}")


# -- the caller's side ---------------------------------------------------------------------------


@bp.route("", methods=["POST", "GET"])
@bp.route("/<line>", methods=["POST", "GET"])
@webhook
def answer(flow: CallFlow, call: Call, snapshot: Snapshot) -> Reply:
    """A new call."""
    recorder = current_app.extensions.get("ivr.recorder")
    if recorder is not None and call.sid:
        recorder.started(flow.line.key, call, snapshot.config.digest)
    log.info("call %s to %s from %s", call.sid, flow.line.key, mask(call.caller or "anonymous"))
    return flow.answer()


@bp.route("/<line>/menu/<menu>", methods=["POST", "GET"])
@webhook
def menu(flow: CallFlow, call: Call, snapshot: Snapshot, menu: str) -> Reply:
    return flow.menu(_where(flow, menu))


@bp.route("/<line>/input/<menu>", methods=["POST", "GET"])
@webhook
def menu_input(flow: CallFlow, call: Call, snapshot: Snapshot, menu: str) -> Reply:
    digits = request.form.get("Digits", "")[:8]
    speech = request.form.get("SpeechResult", "")[:200]
    return flow.menu_input(_where(flow, menu), digits, speech, call.now, call.caller, call.sid)


@bp.route("/<line>/code", methods=["POST", "GET"])
@webhook
def code(flow: CallFlow, call: Call, snapshot: Snapshot) -> Reply:
    where = _where(flow, request.args.get("trail", "").split(".")[-1])
    return flow.code_input(where, request.form.get("Digits", "").rstrip("#")[:8], call.now, call.caller, call.sid)


@bp.route("/<line>/connect/<service>", methods=["POST", "GET"])
@webhook
def connect(flow: CallFlow, call: Call, snapshot: Snapshot, service: str) -> Reply:
    return flow.connect(_service(flow, service), call.now, _via(), caller=call.caller, call_sid=call.sid)


@bp.route("/<line>/dialled/<service>", methods=["POST", "GET"])
@webhook
def dialled(flow: CallFlow, call: Call, snapshot: Snapshot, service: str) -> Reply:
    attempt = _int(request.args.get("attempt"), 1, 1, 1000)
    recorder = current_app.extensions.get("ivr.recorder")
    accepted = recorder.accepted(call.sid, attempt) if recorder is not None else None
    known = flow.line.schedule.destinations
    tried = tuple(k for k in request.args.get("tried", "").split(",") if k in known)
    return flow.dialled(
        _service(flow, service),
        call.now,
        _via(),
        tried,
        _int(request.args.get("round"), 1, 1, 10),
        attempt,
        request.form.get("DialCallStatus", ""),
        accepted,
        request.form.get("DialCallDuration", ""),
        call.caller,
        call.sid,
    )


@bp.route("/<line>/again/<service>", methods=["POST", "GET"])
@webhook
def again(flow: CallFlow, call: Call, snapshot: Snapshot, service: str) -> Reply:
    digits = request.form.get("Digits", "")
    if digits == flow.flow.keys.shortcut:
        return flow.ask_code(Where((flow.flow.start,)))
    return flow.again(
        _service(flow, service),
        call.now,
        _via(),
        _int(request.args.get("round"), 2, 1, 10),
        _int(request.args.get("attempt"), 0, 0, 1000),
        call.caller,
        call.sid,
    )


@bp.route("/<line>/details/<destination>", methods=["POST", "GET"])
@webhook
def details(flow: CallFlow, call: Call, snapshot: Snapshot, destination: str) -> Reply:
    dest = flow.line.schedule.destinations[destination]
    digits = request.form.get("Digits", "")
    sent = None
    if digits == "1":
        sender = current_app.extensions["ivr.texts"]
        twilio_number = request.form.get("To", "")
        sent = bool(call.caller) and sender.send(call.caller, twilio_number, sms_text(flow.line, dest))
        reply = flow.details_input(dest, digits, sent)
        return Reply(reply.verbs, [(Fact.SMS, {"to_masked": mask(call.caller or ""), "sent": sent, "destination": dest.key})])
    return flow.details_input(dest, digits, sent)


# -- the answerer's side -------------------------------------------------------------------------


@bp.route("/<line>/screen/<service>", methods=["POST", "GET"])
@webhook
def screen(flow: CallFlow, call: Call, snapshot: Snapshot, service: str) -> Reply:
    return flow.screen(
        _service(flow, service),
        _via(),
        request.args.get("call", "")[:64],
        _int(request.args.get("attempt"), 1, 1, 1000),
        _int(request.args.get("try"), 1, 1, 2),
    )


@bp.route("/<line>/screened", methods=["POST", "GET"])
@webhook
def screened(flow: CallFlow, call: Call, snapshot: Snapshot) -> Reply:
    parent = request.args.get("call", "")[:64] or request.form.get("ParentCallSid", "")[:64]
    attempt = _int(request.args.get("attempt"), 1, 1, 1000)
    reply = flow.screened(
        _service(flow, request.args.get("service", "")),
        _via(),
        parent,
        attempt,
        request.form.get("Digits", ""),
        _int(request.args.get("try"), 1, 1, 2),
    )
    recorder = current_app.extensions.get("ivr.recorder")
    if recorder is not None and parent:
        accepted = any(kind is Fact.SCREEN and detail.get("accepted") for kind, detail in reply.facts)
        if accepted:
            recorder.accept(parent, attempt, call.now)
        # The answerer's leg has its own CallSid: file the fact under the caller's call.
        recorder.record(
            flow.line.key,
            Call(parent, None, call.called, call.step, call.now),
            reply.facts,
            f"screened:{attempt}:{call.sid}:{call.step}",
        )
    return Reply(reply.verbs)


# -- Twilio's own callbacks ----------------------------------------------------------------------


@bp.route("/status", methods=["POST", "GET"])
def status() -> Response:
    """Twilio's status callback, for the caller's call and for each dialled leg."""
    try:
        form = request.form
        recorder = current_app.extensions.get("ivr.recorder")
        if recorder is not None and form.get("CallSid"):
            recorder.status(
                form.get("ParentCallSid", "")[:64],
                form.get("CallSid", "")[:64],
                form.get("CallStatus", "")[:32],
                form.get("CallDuration", form.get("DialCallDuration", ""))[:16],
                current_app.config["IVR_CLOCK"](),
            )
    except Exception:  # noqa: BLE001 - a status callback must not fail loudly to Twilio
        log.exception("status callback could not be recorded")
    return Response(twiml.empty(), status=200, mimetype="text/xml")


@bp.route("/fallback", methods=["POST", "GET"])
def fallback() -> Response:
    """For Twilio's fallback URL: the static safe answer, without touching the schedule."""
    try:
        snapshot = _snapshot()
        line = request.args.get("line")
        if line not in snapshot.flows:
            line = _flow_for(snapshot, None).line.key
        flow = snapshot.flows[line]
        body = twiml.render(static_fallback(flow.line), flow.flow.voice, flow.flow.language)
    except Exception:  # noqa: BLE001
        log.exception("fallback answer failed; answering with the static list")
        body = current_app.extensions["ivr.static_twiml"]
    return Response(body, status=200, mimetype="text/xml")


# -- parameters ----------------------------------------------------------------------------------


def _int(text: str | None, default: int, lo: int, hi: int) -> int:
    try:
        return min(max(int(text or ""), lo), hi)
    except ValueError:
        return default


def _where(flow: CallFlow, menu: str) -> Where:
    trail = tuple(m for m in request.args.get("trail", "").split(".") if m in flow.flow.menus)
    if not trail or trail[-1] != menu:
        trail = (*trail, menu) if menu in flow.flow.menus else (flow.flow.start,)
    return Where(trail, _int(request.args.get("try"), 1, 1, flow.flow.tries))


def _service(flow: CallFlow, key: str) -> str:
    if key not in flow.line.schedule.services:
        raise LookupError(f"unknown service {key!r}")
    return key


def _via() -> str:
    """How the caller reached the service, as the flow wrote it into the URL (printable text only)."""
    return "".join(c for c in request.args.get("via", "the menu")[:80] if c.isprintable()) or "the menu"
