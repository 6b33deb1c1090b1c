"""One realistic call as Twilio sends it, and many copies of it with distinct CallSids, signed.

The caller's side comes from `ivr.simulate` (the real webhooks, played as Twilio plays them), so the
URLs, query strings and form fields are the product's own: the answer, key 1 in the main menu
(which routes and dials in the same step), the screening document on the answerer's leg, the
answerer's key 1, and the Dial's action. Twilio's status callbacks are added where Twilio sends
them: the leg's four events (ivr/web/twiml.py asks for initiated, ringing, answered, completed)
and the caller's call completing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from twilio.request_validator import RequestValidator

from ivr.simulate import Simulator

LINE = "wiltshire"
TOKEN = "bench-auth-token"
PUBLIC = "https://ivr.bench.invalid"  # IVR_PUBLIC_URL everywhere: one set of signatures fits every server
CALLER = "+447911123456"
LEG = "CA" + "0" * 31 + "1"  # the simulator's first answerer leg


@dataclass(frozen=True, slots=True)
class Webhook:
    """One request of a call: what it is, the path with its query, and the form Twilio posts."""

    step: str
    path: str
    params: dict[str, str]

    def signature(self, token: str = TOKEN, base: str = PUBLIC) -> str:
        """X-Twilio-Signature for this request at `base`."""
        return RequestValidator(token).compute_signature(base + self.path, self.params)


def template(at: datetime, config_dir: Path, line: str = LINE) -> tuple[str, list[Webhook]]:
    """The webhooks of one call to `line` at `at`, screened and accepted; and the CallSid they carry."""
    with Simulator(str(config_dir)) as simulator:
        played = simulator.call(line, at, keys="1", caller=CALLER, dial_statuses=("completed",), strict=True)
    if played.broken or [s["status"] for s in played.steps] != [200] * 5:
        raise RuntimeError(f"the template call did not go as expected: {played.transcript}")
    answer, key, screen, screened, dialled = (Webhook(_name(s["path"]), s["path"], dict(s["params"])) for s in played.steps)
    base = {k: answer.params[k] for k in ("AccountSid", "From", "To")}
    leg = {**base, "CallSid": LEG, "ParentCallSid": played.sid, "Direction": "outbound-dial", "ApiVersion": "2010-04-01"}
    stamp = at.strftime("%a, %d %b %Y %H:%M:%S +0000")

    def leg_status(event: str, status: str, n: int, **more: str) -> Webhook:
        form = {
            **leg,
            "CallStatus": status,
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(n),
            "Timestamp": stamp,
        }
        return Webhook(f"status: leg {event}", "/voice/status", {**form, **more})

    call_completed = Webhook(
        "status: call completed",
        "/voice/status",
        {**base, "CallSid": played.sid, "Direction": "inbound", "CallStatus": "completed", "CallDuration": "95"}
        | {"CallbackSource": "call-progress-events", "SequenceNumber": "0", "Timestamp": stamp, "ApiVersion": "2010-04-01"},
    )
    hooks = [
        answer,
        key,
        leg_status("initiated", "initiated", 0),
        leg_status("ringing", "ringing", 1),
        leg_status("answered", "in-progress", 2),
        screen,
        screened,
        leg_status("completed", "completed", 3, CallDuration="60"),
        dialled,
        call_completed,
    ]
    return played.sid, hooks


def _name(path: str) -> str:
    parts = path.split("?")[0].split("/")
    kind = parts[3] if len(parts) > 3 else ""
    return {
        "": "answer",
        "input": "menu key 1 (routes, dials)",
        "screen": "screening document (leg)",
        "screened": "answerer's key 1 (leg)",
        "dialled": "Dial action",
    }.get(kind, kind)


def copies(sid: str, hooks: list[Webhook], first: int, count: int, tag: int) -> list[list[Webhook]]:
    """Calls `first`..`first + count - 1` of this shape, each with its own CallSid, leg CallSid and caller."""
    calls = []
    for n in range(first, first + count):
        call_sid, leg_sid = f"CA{tag:08x}{2 * n:024x}", f"CA{tag:08x}{2 * n + 1:024x}"
        caller = f"+447911{100000 + n % 900000}"

        def fill(text: str, call_sid: str = call_sid, leg_sid: str = leg_sid) -> str:
            return text.replace(sid, call_sid).replace(LEG, leg_sid)

        calls.append(
            [
                Webhook(
                    hook.step,
                    fill(hook.path),
                    {k: caller if k == "From" else fill(v) for k, v in hook.params.items()},
                )
                for hook in hooks
            ]
        )
    return calls
