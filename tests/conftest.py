"""Fixtures for the web layer: a signed Twilio caller, a frozen clock, a fake Twilio HTTP client."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings as hypothesis_settings
from lxml import etree
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator

from ivr.app import create_app
from ivr.config.loader import PROJECT_DIR
from tests import pg
from tests.builders import screened_copy

# The browser tests' fixtures and hooks: a served app, Debian's Chromium, axe (tests/browser.py).
pytest_plugins = ["tests.browser"]

LONDON = ZoneInfo("Europe/London")
TOKEN = "test-auth-token"
PUBLIC = "https://ivr.example.org"
DATA = Path(__file__).parent / "data"  # published reference files, sources in data/README.md
SCHEMA_PATH = DATA / "twiml-voice.xsd"
SCHEMA = etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))

# In CI (CI set, as CI services do) every run tries the same Hypothesis examples, so a green run
# cannot be luck and a red one can be re-run; no example database, since CI starts empty anyway.
# Locally the examples stay random (and failures are saved in .hypothesis/) to keep finding bugs.
# No deadline: timing on a busy 2-core runner is not behaviour. HYPOTHESIS_PROFILE=ci forces it.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
hypothesis_settings.register_profile("dev", deadline=None)


def hypothesis_profile(environ: Mapping[str, str]) -> str:
    """HYPOTHESIS_PROFILE if set, else `ci` when CI is set (and not false), else `dev`."""
    in_ci = environ.get("CI", "").lower() not in ("", "0", "false")
    return environ.get("HYPOTHESIS_PROFILE") or ("ci" if in_ci else "dev")


hypothesis_settings.load_profile(hypothesis_profile(os.environ))


def pytest_sessionfinish() -> None:
    """Stop the throwaway PostgreSQL cluster, if this process started one (tests/pg.py)."""
    pg.stop_throwaway()


def london(text: str) -> datetime:
    """An aware Europe/London datetime from 'YYYY-MM-DDTHH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


class FrozenClock:
    """The app's clock, set by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class RecordingHttpClient(HttpClient):
    """Stands in for Twilio's HTTP client: records each request, answers like the REST API."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("twilio.http"), is_async=False)
        self.requests: list[dict[str, Any]] = []

    def request(self, method: str, uri: str, data: Any = None, **_: Any) -> TwilioResponse:
        """Record the request (params, headers, auth, timeout are accepted and not needed) and answer 201."""
        self.requests.append({"method": method, "url": uri, "data": dict(data or {})})
        body = {"sid": "SM" + "0" * 32, "status": "queued", "to": (data or {}).get("To"), "body": (data or {}).get("Body")}
        return TwilioResponse(201, json.dumps(body))


def validate_twiml(body: str) -> ElementTree.Element:
    """Parse a TwiML answer, failing the test unless it is valid against the reference schema."""
    doc = etree.fromstring(body.encode())
    assert SCHEMA.validate(doc), f"invalid TwiML: {SCHEMA.error_log}\n{body}"
    return ElementTree.fromstring(body)


@dataclass
class Answer:
    """A webhook's answer: HTTP status and parsed TwiML."""

    status: int
    body: str
    doc: ElementTree.Element

    def says(self) -> list[str]:
        return [e.text or "" for e in self.doc.iter("Say")]

    def text(self) -> str:
        return " ".join(self.says())

    def dialled(self) -> list[str]:
        return [(n.text or "").strip() for n in self.doc.iter("Number")]

    def gather(self) -> ElementTree.Element | None:
        return self.doc.find("Gather")

    def redirect(self) -> str | None:
        found = self.doc.find("Redirect")
        return (found.text or "").strip() if found is not None else None

    def dial(self) -> ElementTree.Element | None:
        return self.doc.find("Dial")


class Twilio:
    """Posts webhooks the way Twilio does: form-encoded and signed with the auth token."""

    def __init__(self, client: Any, token: str = TOKEN, caller: str = "+447911123456") -> None:
        self.client = client
        self.validator = RequestValidator(token)
        self.params = {"CallSid": "CA" + "1" * 32, "AccountSid": "AC" + "2" * 32, "From": caller, "To": "+441225000000"}

    def post(self, url: str, sign: bool = True, headers: dict[str, str] | None = None, **params: str) -> Answer:
        """POST to a path or absolute URL under the public base, with the call's parameters."""
        if url.startswith("/"):
            url = PUBLIC + url
        data = {**self.params, **params}
        sent = dict(headers or {})
        if sign:
            sent["X-Twilio-Signature"] = self.validator.compute_signature(url, data)
        path = url[len(PUBLIC) :]
        response = self.client.post(path, data=data, headers=sent, base_url=PUBLIC)
        body = response.get_data(as_text=True)
        doc = validate_twiml(body) if response.status_code == 200 else ElementTree.Element("none")
        return Answer(response.status_code, body, doc)

    def press(self, answer: Answer, digits: str, **params: str) -> Answer:
        """Answer the Gather in `answer` with `digits`."""
        gather = answer.gather()
        assert gather is not None, f"no Gather in {answer.body}"
        return self.post(gather.get("action") or "", Digits=digits, **params)

    def wait(self, answer: Answer) -> Answer:
        """Let the Gather time out: Twilio falls through to the Redirect."""
        target = answer.redirect()
        assert target, f"no Redirect in {answer.body}"
        return self.post(target)

    def dial_result(self, answer: Answer, status: str, **params: str) -> Answer:
        dial = answer.dial()
        assert dial is not None and dial.get("action"), f"no Dial action in {answer.body}"
        return self.post(dial.get("action") or "", DialCallStatus=status, **params)

    def accept(self, answer: Answer) -> Answer:
        """Be the person answering: hear the screening message, press 1."""
        number = next(answer.doc.iter("Number"))
        leg = {"CallSid": "CA" + "9" * 32, "ParentCallSid": self.params["CallSid"]}
        screen = self.post(number.get("url") or "", **leg)
        return self.press(screen, "1", **leg)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(london("2027-03-03T11:00"))


@pytest.fixture
def http_client() -> RecordingHttpClient:
    return RecordingHttpClient()


@pytest.fixture
def settings(tmp_path: Path, clock: FrozenClock, http_client: RecordingHttpClient) -> dict[str, Any]:
    return {
        "IVR_ENV": "production",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_ACCOUNT_SID": "AC" + "2" * 32,
        "IVR_PUBLIC_URL": PUBLIC,
        "IVR_CONFIG_DIR": str(PROJECT_DIR),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'calls.sqlite3'}",
        "IVR_CLOCK": clock,
        "IVR_TWILIO_HTTP_CLIENT": http_client,
        "IVR_DEFAULT_LINE": "wiltshire",
        "IVR_RUN_CLOCK": False,
        "IVR_FOLLOW_SECONDS": 0,  # tests call live.refresh() themselves
        "IVR_INGEST_SECONDS": 0,  # records stored as each webhook writes them, so a test reads them back at once
        "IVR_INSTANCE_PATH": str(tmp_path),
    }


@pytest.fixture
def app(settings: dict[str, Any]) -> Iterator[Any]:
    yield create_app(settings)


@pytest.fixture
def twilio(app: Any) -> Twilio:
    return Twilio(app.test_client())


@pytest.fixture
def screened(settings: dict[str, Any], tmp_path: Path) -> Twilio:
    """Twilio posting to the shipped lines with every team screened by a person (press 1), for screening's own tests."""
    folder = screened_copy(tmp_path / "screened")
    return Twilio(create_app({**settings, "IVR_CONFIG_DIR": str(folder)}).test_client())
