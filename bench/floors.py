"""The two floors the router is measured against, as Flask apps (gunicorn: 'bench.floors:floor_app()').

- bare: Flask answering every path with a fixed TwiML document; what Flask and the server cost.
- floor: the necessary work of a webhook and nothing else: parse the form, check one Twilio
  signature (one HMAC, compared in constant time), one `route()` on the Wiltshire line built once
  from the bundled configuration, and one JSON line appended to a file opened with O_APPEND in a
  single os.write, as the product's journal will append.

Without arguments they read the environment, as the product does under gunicorn: TWILIO_AUTH_TOKEN,
IVR_PUBLIC_URL, and BENCH_JOURNAL_DIR (where each process appends to its own file).
"""

from __future__ import annotations

import hmac
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

from ivr import config

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Connecting you.</Say></Response>'
LONDON = ZoneInfo("Europe/London")
READY = "bench floor ready"  # said once per worker, so the harness knows every worker has booted


def bare_app() -> Flask:
    """Flask answering any path with fixed TwiML."""
    app = Flask("bench.bare")

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def answer(path: str) -> Response:  # noqa: ARG001 - every path gets the same answer
        return Response(TWIML, mimetype="text/xml")

    _ready()
    return app


def floor_app(token: str | None = None, public_url: str | None = None, journal_dir: Path | None = None) -> Flask:
    """The necessary work of one webhook, with the same answer as `bare_app`."""
    token = token or os.environ["TWILIO_AUTH_TOKEN"]
    public_url = (public_url or os.environ["IVR_PUBLIC_URL"]).rstrip("/")
    folder = journal_dir or Path(os.environ["BENCH_JOURNAL_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    # Proven when the product published it; a worker only compiles what it serves.
    router = config.load(config.PROJECT_DIR, prove_coverage=False).router("wiltshire")
    validator = RequestValidator(token)
    # One file per process (the app is built after gunicorn forks), so appends never interleave.
    journal = os.open(folder / f"journal-{os.getpid()}.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    app = Flask("bench.floor")

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def answer(path: str) -> Response:  # noqa: ARG001 - the URL is read from the environ, as Twilio signed it
        form = request.form.to_dict()
        query = request.environ.get("QUERY_STRING", "")
        url = public_url + request.environ["PATH_INFO"] + (f"?{query}" if query else "")
        expected = validator.compute_signature(url, form)
        if not hmac.compare_digest(expected, request.headers.get("X-Twilio-Signature", "")):
            return Response("Forbidden", status=403, mimetype="text/plain")
        now = datetime.now(LONDON)
        decision = router.route("child-at-risk", now)
        fact = {
            "call": form.get("CallSid", ""),
            "at": now.isoformat(),
            "path": url,
            "to": decision.destination.key if decision.destination else None,
            "rule": decision.rule,
        }
        os.write(journal, (json.dumps(fact) + "\n").encode())
        return Response(TWIML, mimetype="text/xml")

    _ready()
    return app


def _ready() -> None:
    if "gunicorn" in sys.modules:  # the harness waits for this line in the server's log; in-process it is noise
        print(f"{READY} in {os.getpid()}", file=sys.stderr, flush=True)
