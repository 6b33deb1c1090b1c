"""Twilio voice webhooks. Every answer is TwiML; whatever fails, the caller is still connected."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Request, Response, g, request
from werkzeug.exceptions import HTTPException

from ivr.config.snapshot import Renderings, Snapshot
from ivr.core.errors import UnknownLine
from ivr.core.facts import Fact
from ivr.core.flow import NO_RULE, CallFlow, Reply, SendText, no_line, static_fallback
from ivr.core.line import Line
from ivr.core.numbers import mask
from ivr.core.state import Call, Chain, DialResult, Heard, Screening, Where
from ivr.core.verbs import Dial, Hangup
from ivr.notify.outbox import Text
from ivr.records.recorder import Recorder
from ivr.services import current
from ivr.web import twiml
from ivr.web.metrics import CALLS, FORBIDDEN, LATENCY, OUTCOMES, ROUTES, SAFE_ANSWERS, WEBHOOKS
from ivr.web.security import base_url, host_is_trusted, is_signed, request_host

log = logging.getLogger(__name__)
alert_log = logging.getLogger("ivr.alerts")  # where ivr.notify.alerts writes its ERROR lines, so they are watched alike
bp = Blueprint("voice", __name__, url_prefix="/voice")
NOT_LINES = frozenset({"status", "fallback"})  # /voice/<these> are Twilio's callbacks, not lines
ANSWERERS_STEPS = frozenset({"screen", "screened"})  # /voice/<line>/<these>: the answerer's side of a Dial
NEUTRAL_VOICE, NEUTRAL_LANGUAGE = "Polly.Amy", "en-GB"  # for answers that belong to no line
# Handlers whose verbs follow from the configuration and the URL alone (no caller, no clock): their
# TwiML is kept in the snapshot and rendered once per line, base URL and step.
SAME_FOR_EVERY_CALL = frozenset({"answer", "menu"})


def init_app(app: Flask) -> None:
    """Register the webhooks, and answer any other failure under /voice with TwiML too."""
    # Twilio does not follow a redirect with a new signature: `//` and a trailing `/` under /voice
    # are answered where they are, never with a 308. Only rules bound now take these defaults.
    url_map = app.url_map
    merge, strict = url_map.merge_slashes, url_map.strict_slashes
    url_map.merge_slashes = url_map.strict_slashes = False
    app.register_blueprint(bp)
    url_map.merge_slashes, url_map.strict_slashes = merge, strict
    app.config["MAX_CONTENT_LENGTH"] = app.config.get("MAX_CONTENT_LENGTH") or 64 * 1024  # Twilio's posts are small

    @app.errorhandler(HTTPException)
    def _voice_errors(error: HTTPException) -> Response | HTTPException:
        # A path Twilio should never ask for (404), a method it does not use (405): still TwiML.
        if not request.path.startswith("/voice"):  # werkzeug's path has one leading slash however many were sent
            return error
        if error.code in (403, 413):  # 413: too big to read, so its signature cannot be checked; not Twilio's
            return _forbidden()
        try:
            refused = _refused()
        except HTTPException:  # the body is too big to read while checking it
            return _forbidden()
        if refused is not None:
            return refused
        log.warning("%s for %s; answering with the safe route", error.code, request.path)
        SAFE_ANSWERS.labels(f"http {error.code}").inc()
        line = _line_in_url()
        reply, flow = _safe_reply(None, None, line)
        return _twiml(flow, 0, reply, line)


@bp.before_request
def _check_signature() -> Response | None:
    """Before every webhook: the host, then the signature."""
    return _refused()


def _refused() -> Response | None:
    """403 for a request from an untrusted host, or (unless in development) without a valid signature."""
    settings = current().settings
    req = _unproxied()
    if settings.trusted_hosts and not host_is_trusted(req, settings.trusted_hosts):
        log.warning("403 for %s: host %r is not in IVR_TRUSTED_HOSTS", req.path, request_host(req)[:100])
        FORBIDDEN.inc()
        return _forbidden()
    if not settings.auth_token:
        return None  # development mode, announced loudly at start
    if not is_signed(req, settings.auth_token, settings.public_url):
        log.warning("403 for %s: missing or wrong X-Twilio-Signature", req.path)
        FORBIDDEN.inc()
        return _forbidden()
    return None


def _unproxied() -> Request:
    """The request itself, for code that reads it many times: each read through Flask's `request` proxy is a context lookup."""
    found: Request = request._get_current_object()  # type: ignore[attr-defined]
    return found


def _forbidden() -> Response:
    # Plain text: an HTML error page is never an answer under /voice.
    return Response("Forbidden", status=403, mimetype="text/plain")


def _call() -> Call:
    return Call.from_form(request.form, current().clock(), texting=current().outbox.enabled)


def _step() -> int:
    """This request's place in its call (`n=`, written by the answer before), so retries stay distinct from new steps."""
    try:
        return min(max(int(request.args.get("n") or ""), 0), 10_000)
    except ValueError:
        return 0


class NothingLive(LookupError):
    """No configuration could be loaded: only static answers can be given."""


def _snapshot() -> Snapshot:
    """The configuration in force, read once per request so that one answer never mixes two."""
    if "ivr_snapshot" not in g:
        g.ivr_snapshot = current().live.current()
    snapshot: Snapshot | None = g.ivr_snapshot
    if snapshot is None:
        raise NothingLive("no configuration is live")
    return snapshot


def _flow_for(snapshot: Snapshot, line: str | None) -> CallFlow:
    """The line named in the URL; for `POST /voice`, the line listing the called number, else IVR_DEFAULT_LINE.

    Never any other line: raises UnknownLine when the line named (or the default) is not configured.
    """
    named = line or _line_in_url()
    if named:
        if named not in snapshot.flows:
            raise UnknownLine(named)
        return snapshot.flows[named]
    by_number = snapshot.config.line_for_number(request.form.get("To", ""))
    if by_number is not None:
        return snapshot.flows[by_number.key]
    default = current().settings.default_line
    if default not in snapshot.flows:
        raise UnknownLine(default)
    return snapshot.flows[default]


def _line_in_url() -> str | None:
    """The line a `/voice/<line>/...` path names, also for a path no route knows (a trailing slash, an unknown step)."""
    parts = [part for part in request.path.split("/") if part]
    named = parts[1] if len(parts) > 1 and parts[0] == "voice" else ""
    return named if named and named not in NOT_LINES else None


def _answerers_side() -> bool:
    """Whether this request comes from the person answering a Dial (its `<Number url>` document or that document's keys)."""
    parts = request.path.split("/")
    return len(parts) > 3 and parts[1] == "voice" and parts[3] in ANSWERERS_STEPS


def _line_for_number(lines: dict[str, Line], called: str) -> str | None:
    """The line whose flow lists the called number, among lines loaded on their own (no snapshot needed)."""
    return next((key for key, line in sorted(lines.items()) if called and called in line.flow.numbers), None)


def webhook(handler: Callable[..., Reply]) -> Callable[..., Response]:
    """Run a handler as a Twilio webhook: record what happened, and never answer with an error."""

    # The step's metric children, looked up once here rather than on every key press.
    latency, answered_count = LATENCY.labels(handler.__name__), WEBHOOKS.labels(handler.__name__)

    @functools.wraps(handler)
    def wrapper(**kwargs: Any) -> Response:
        # Everything the step records is appended to the journal in one write, before Twilio has the answer.
        started = time.perf_counter()
        with _recorder().one_write():
            answered = _answer(handler, answered_count, **kwargs)
        latency.observe(time.perf_counter() - started)
        return answered

    return wrapper


def _answer(handler: Callable[..., Reply], answered_count: Any, **kwargs: Any) -> Response:
    call = None
    flow = None
    step = 0
    renderings = None
    line = kwargs.pop("line", None)
    try:
        call, step = _call(), _step()
        snapshot = _snapshot()
        flow = _flow_for(snapshot, line)
        reply = _stamped(handler(flow, call, **kwargs), snapshot.config.digest)
        answered_count.inc()
        renderings = snapshot.renderings if handler.__name__ in SAME_FOR_EVERY_CALL else None
    except NothingLive:
        log.warning("no configuration is live; %s gets its line's static answer", request.path)
        SAFE_ANSWERS.labels("nothing live").inc()
        reply, flow = Reply([]), None
    except UnknownLine as unknown:
        log.error("%s names %s; answering with the 999 message or that line's static answer", request.path, unknown)
        SAFE_ANSWERS.labels("unknown line").inc()
        reply, flow = Reply([]), None
    except Exception:  # the caller must be connected whatever went wrong
        log.exception("webhook %s failed; answering with the safe route", request.path)
        SAFE_ANSWERS.labels("failure").inc()
        reply, flow = _safe_reply(flow, call, line)
    _alert_on_gaps(flow, call, reply)
    _count(flow, reply, kwargs.get("service"))
    _record(flow, call, step, reply)
    return _twiml(flow, step, reply, line, renderings)


def _count(flow: CallFlow | None, reply: Reply, service: str | None) -> None:
    """The metrics a step's facts make: routing decisions, and the outcome when the flow ends the call."""
    if flow is None:
        return
    line = flow.line.key
    for kind, detail in reply.facts:
        if kind is Fact.ROUTE:
            ROUTES.labels(line, str(detail.get("service", "")), str(detail.get("destination") or "none")).inc()
        elif kind is Fact.END:
            OUTCOMES.labels(line, service or "none", str(detail.get("outcome", ""))).inc()
        elif kind is Fact.FALLBACK and detail.get("reason") == NO_RULE:
            SAFE_ANSWERS.labels("no rule").inc()


def _alert_on_gaps(flow: CallFlow | None, call: Call | None, reply: Reply) -> None:
    """An always-open service without a rule now is a configuration the proof missed: an ERROR line for the watchers."""
    for kind, detail in reply.facts:
        if kind is Fact.FALLBACK and detail.get("reason") == NO_RULE and flow is not None:
            alert_log.error(
                "ALERT: %s %s has no rule at %s; call %s rings its fallbacks and the 24/7 list",
                flow.line.key,
                detail.get("service"),
                call.now.isoformat(timespec="minutes") if call else "this time",
                call.sid if call else "unknown",
            )


def _stamped(reply: Reply, digest: str) -> Reply:
    """Each routing decision names the configuration it was taken under (it may change mid-call)."""
    facts = [(kind, {**detail, "config_digest": digest} if kind is Fact.ROUTE else detail) for kind, detail in reply.facts]
    return Reply(reply.verbs, facts)


def _safe_reply(flow: CallFlow | None, call: Call | None, line: str | None = None) -> tuple[Reply, CallFlow | None]:
    """The line's safe route; on the answerer's side a Hangup, which leaves the dial unaccepted so the chain rings on.

    Twilio runs a `<Number url>` document with only `<Play>`, `<Say>`, `<Gather>` and `<Hangup>` ("The url
    attribute does not support any other TwiML verbs", twilio.com/docs/voice/twiml/number#url): never a `<Dial>` there.
    """
    if _answerers_side():
        return Reply([Hangup()]), flow
    try:
        flow = flow or _flow_for(_snapshot(), line)
        return flow.safe(call.now if call else None), flow
    except (NothingLive, UnknownLine) as missing:
        log.warning("no safe route for %s (%s); answering with the static answer", request.path, missing)
        return Reply([]), None
    except Exception:  # even the live configuration may be what broke
        log.exception("safe route failed; answering with the static list")
        return Reply([]), flow


def _static_answer(line: str | None) -> str:
    """The static safe answer of the call's line; never another council's numbers.

    The line named in the URL, else (`POST /voice`, `/voice/fallback`) the line listing the called
    number, else IVR_DEFAULT_LINE. A line that cannot be loaded on its own, or no line at all, gets
    the 999 message; the answerer's side of a Dial gets a Hangup.
    """
    if _answerers_side():
        return twiml.render([Hangup()], NEUTRAL_VOICE, NEUTRAL_LANGUAGE)
    services = current()
    lines = services.live.static_lines
    key = line or _line_in_url() or _line_for_number(lines, request.form.get("To", "")) or services.settings.default_line
    found = lines.get(key)
    if found is None:
        return twiml.render(no_line(), NEUTRAL_VOICE, NEUTRAL_LANGUAGE)
    return twiml.render(static_fallback(found), found.flow.voice, found.flow.language)


def _twiml(
    flow: CallFlow | None, step: int, reply: Reply, line: str | None = None, renderings: Renderings | None = None
) -> Response:
    verbs = reply.verbs
    if _answerers_side() and any(isinstance(verb, Dial) for verb in verbs):
        log.error("a <Dial> in the answerer's document of %s; hanging up their side instead", request.path)
        verbs = [Hangup()]  # Twilio refuses a <Dial> in a <Number url> document (error 13201)
    try:
        if not verbs:
            body = _static_answer(line)
        elif flow is None:  # the answerer's Hangup, when no line could be read
            body = twiml.render(verbs, NEUTRAL_VOICE, NEUTRAL_LANGUAGE)
        else:
            voice, language, base = flow.flow.voice, flow.flow.language, base_url(_unproxied(), current().settings.public_url)
            if renderings is not None:
                body = twiml.render_remembered(renderings, verbs, voice, language, base, step + 1)
            else:
                body = twiml.render(verbs, voice, language, base, step + 1)
    except Exception:
        log.exception("rendering TwiML failed; answering with the static answer")
        body = _last_resort(line)
    return Response(body, status=200, mimetype="text/xml")


def _last_resort(line: str | None) -> str:
    """The line's static answer, else the 999 message built at start (which names no council)."""
    try:
        return _static_answer(line)
    except Exception:
        log.exception("the static answer failed too; answering with the 999 message")
        return current().static_twiml


def _recorder() -> Recorder:
    return current().recorder


def _record(flow: CallFlow | None, call: Call | None, step: int, reply: Reply) -> None:
    if call is None or not call.sid or flow is None:
        return
    _recorder().record(flow.line.key, call, reply.facts, f"{step}:{request.path}")


# -- the caller's side ---------------------------------------------------------------------------


@bp.route("", methods=["POST", "GET"])
@bp.route("/<line>", methods=["POST", "GET"])
@webhook
def answer(flow: CallFlow, call: Call) -> Reply:
    """A new call: recorded as started, then the greeting and the start menu."""
    if call.sid:
        _recorder().started(flow.line.key, call, _snapshot().config.digest)
        CALLS.labels(flow.line.key).inc()
    log.info("call %s to %s from %s", call.sid, flow.line.key, mask(call.caller or "anonymous"))
    return flow.answer()


@bp.route("/<line>/menu/<menu>", methods=["POST", "GET"])
@webhook
def menu(flow: CallFlow, _call: Call, menu: str) -> Reply:
    """A menu played again (after silence, a wrong key, repeat or back)."""
    return flow.menu(Where.from_query(request.args, flow.flow, menu))


@bp.route("/<line>/input/<menu>", methods=["POST", "GET"])
@webhook
def menu_input(flow: CallFlow, call: Call, menu: str) -> Reply:
    """A key pressed or a word said in a menu."""
    return flow.menu_input(Where.from_query(request.args, flow.flow, menu), Heard.from_form(request.form), call)


@bp.route("/<line>/code", methods=["POST", "GET"])
@webhook
def code(flow: CallFlow, call: Call) -> Reply:
    """A professional's shortcut code."""
    return flow.code_input(Where.from_query(request.args, flow.flow), Heard.from_form(request.form), call)


@bp.route("/<line>/connect/<service>", methods=["POST", "GET"])
@webhook
def connect(flow: CallFlow, call: Call, service: str) -> Reply:
    """Ring the first team of a service's chain."""
    return flow.connect(Chain.from_query(request.args, service, flow.line.schedule), call)


@bp.route("/<line>/dialled/<service>", methods=["POST", "GET"])
@webhook
def dialled(flow: CallFlow, call: Call, service: str) -> Reply:
    """A Dial finished: the call ends if the answerer accepted, else the chain rings on."""
    chain = Chain.from_query(request.args, service, flow.line.schedule)
    result = DialResult.from_form(request.form)
    if result.bridged is None:  # Twilio's DialBridged decides; the record is asked only when it is missing
        result = DialResult.from_form(request.form, _accepted(call, chain.attempt))
    return flow.dialled(chain, result, call)


@bp.route("/<line>/again/<service>", methods=["POST", "GET"])
@webhook
def again(flow: CallFlow, call: Call, service: str) -> Reply:
    """After nobody answered, the caller pressed a key or stayed on the line."""
    return flow.again(Chain.from_query(request.args, service, flow.line.schedule), Heard.from_form(request.form), call)


@bp.route("/<line>/details/<destination>", methods=["POST", "GET"])
@webhook
def details(flow: CallFlow, call: Call, destination: str) -> Reply:
    """After a team's details were read out: text them, hear them again, or go back."""
    return flow.details_input(destination, Heard.from_form(request.form), call, _texts_from(call, flow.line.key, destination))


# -- the answerer's side -------------------------------------------------------------------------


@bp.route("/<line>/screen/<service>", methods=["POST", "GET"])
@webhook
def screen(flow: CallFlow, _call: Call, service: str) -> Reply:
    """The answerer picked up: the screening message."""
    return flow.screen(Screening.from_query(request.args, flow.line.schedule, service))


@bp.route("/<line>/screened", methods=["POST", "GET"])
@webhook
def screened(flow: CallFlow, call: Call) -> Reply:
    """The answerer pressed a key, or none; its facts go on the caller's call, not on this leg."""
    screening = Screening.from_query(request.args, flow.line.schedule, parent=request.form.get("ParentCallSid", ""))
    reply = flow.screened(screening, Heard.from_form(request.form))
    _record_for_the_caller(flow, call, screening, reply)
    return Reply(reply.verbs)


@bp.route("/<line>/detected/<service>", methods=["POST", "GET"])
@webhook
def detected(flow: CallFlow, call: Call, service: str) -> Reply:
    """Machine detection's verdict on the answerer's leg (`AnsweredBy`); its facts go on the caller's call."""
    screening = Screening.from_query(request.args, flow.line.schedule, service, parent=request.form.get("ParentCallSid", ""))
    reply = flow.detected(screening, request.form.get("AnsweredBy", "")[:32])
    _record_for_the_caller(flow, call, screening, reply)
    return Reply(reply.verbs)


def _accepted(call: Call, attempt: int) -> bool | None:
    """Whether the answerer of dial `attempt` pressed to accept; None when there is no record to ask."""
    return _recorder().accepted(call.sid, attempt)


def _texts_from(call: Call, line: str, destination: str) -> SendText:
    """Queue a text from the line's Twilio number (the one the caller rang); its outcome goes on this call's record."""
    outbox = current().outbox

    def send(to: str, body: str) -> bool:
        return outbox.put(Text(to, call.called, body, call=call.sid, line=line, destination=destination))

    return send


def _record_for_the_caller(flow: CallFlow, leg: Call, screening: Screening, reply: Reply) -> None:
    """The answerer's leg has its own CallSid: file the facts (and an acceptance) under the caller's call."""
    if screening.call:
        recorder = _recorder()
        caller_call = Call(screening.call, None, leg.called, leg.now)
        recorder.record(flow.line.key, caller_call, reply.facts, f"screened:{screening.attempt}:{leg.sid}:{_step()}")


# -- Twilio's own callbacks ----------------------------------------------------------------------


@bp.route("/status", methods=["POST", "GET"])
def status() -> Response:
    """Twilio's status callback, for the caller's call and for each dialled leg."""
    try:
        form = request.form
        if form.get("CallSid"):
            current().recorder.status(
                form.get("ParentCallSid", "")[:64],
                form.get("CallSid", "")[:64],
                form.get("CallStatus", "")[:32],
                form.get("CallDuration", form.get("DialCallDuration", ""))[:16],
                current().clock(),
            )
    except Exception:  # a status callback must not fail loudly to Twilio
        log.exception("status callback could not be recorded")
    return Response(twiml.empty(), status=200, mimetype="text/xml")


@bp.route("/fallback", methods=["POST", "GET"])
def fallback() -> Response:
    """For Twilio's fallback URL: the static safe answer, without touching the schedule."""
    try:
        # `?line=` names the line; without it, the line is found as for `POST /voice` (called number, else
        # IVR_DEFAULT_LINE). A line named but not configured gets the 999 message, never another council's numbers.
        body = _static_answer(request.args.get("line") or None)
    except Exception:
        log.exception("fallback answer failed; answering with the 999 message")
        body = current().static_twiml
    return Response(body, status=200, mimetype="text/xml")
