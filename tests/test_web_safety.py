"""Signatures, proxies, and the promise that Twilio never gets an error page."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, request
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ivr.app import StartupRefused, create_app
from ivr.core.errors import ConfigError
from ivr.core.flow import CallFlow
from ivr.services import services_of
from ivr.web.security import is_signed
from tests.builders import GAP_FLOW, GAP_SCHEDULE, shipped_copy, write_files
from tests.conftest import DATA, PUBLIC, TOKEN, FrozenClock, Twilio, london, validate_twiml

VECTORS = json.loads((DATA / "twilio-signature-vectors.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_published_signature_vectors(vector: dict[str, Any]) -> None:
    """Twilio's own signature examples validate, and a changed parameter does not."""
    app = Flask(__name__)
    parts = urlsplit(vector["url"])
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    headers = {"X-Twilio-Signature": vector["expected_signature"]}
    if parts.username:
        token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    body: Any = vector["body"].encode() if "body" in vector else vector["params"]
    tampered: Any = body + b" " if "body" in vector else {**body, next(iter(body)): "tampered"}
    for data, expected in ((body, True), (tampered, False)):
        with app.test_request_context(
            parts.path,
            method="POST",
            data=data,
            headers=headers,
            base_url=f"{parts.scheme}://{host}",
            query_string=parts.query,
            content_type="application/json" if "body" in vector else None,
        ):
            assert is_signed(request, vector["auth_token"]) is expected


def test_forged_signature_is_refused(twilio: Twilio) -> None:
    """A signature made with another token gets 403."""
    forged = Twilio(twilio.client, token="not-the-token")
    assert forged.post("/voice/wiltshire").status == 403


def test_missing_signature_is_refused(twilio: Twilio) -> None:
    """No X-Twilio-Signature header gets 403, on every webhook."""
    for path in ("/voice", "/voice/wiltshire", "/voice/wiltshire/input/main", "/voice/status", "/voice/fallback"):
        assert twilio.post(path, sign=False).status == 403


def test_signature_behind_a_tls_proxy(settings: dict[str, Any]) -> None:
    """With trusted hosts instead of a public URL, X-Forwarded-Proto/Host name the URL Twilio signed."""
    app = create_app({**settings, "IVR_PUBLIC_URL": "", "IVR_TRUSTED_HOSTS": "phones.council.example,10.0.0.5:8000"})
    caller = Twilio(app.test_client())
    url = "https://phones.council.example/voice/wiltshire"
    data = caller.params
    signature = caller.validator.compute_signature(url, data)
    proxied = {"X-Twilio-Signature": signature, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "phones.council.example"}
    ok = app.test_client().post("/voice/wiltshire", data=data, headers=proxied, base_url="http://10.0.0.5:8000")
    assert ok.status_code == 200
    validate_twiml(ok.get_data(as_text=True))
    direct = app.test_client().post(
        "/voice/wiltshire", data=data, headers={"X-Twilio-Signature": signature}, base_url="http://10.0.0.5:8000"
    )
    assert direct.status_code == 403


def test_production_refuses_to_start_without_a_token(settings: dict[str, Any]) -> None:
    """IVR_ENV=production with no auth token will not start."""
    with pytest.raises(StartupRefused, match="TWILIO_AUTH_TOKEN"):
        create_app({**settings, "TWILIO_AUTH_TOKEN": ""})


def test_development_mode_says_so_loudly(settings: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    """Development mode without a token serves unsigned webhooks and warns at start."""
    with caplog.at_level(logging.WARNING):
        app = create_app({**settings, "TWILIO_AUTH_TOKEN": "", "IVR_ENV": "development"})
    assert any("DEVELOPMENT MODE" in r.message for r in caplog.records)
    response = app.test_client().post("/voice/wiltshire", data={"CallSid": "CA1"})
    assert response.status_code == 200


def test_a_bug_inside_a_webhook_still_connects_the_caller(twilio: Twilio, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception in the flow gives 200 TwiML: the warning and a Dial of the child-at-risk route."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    menu = twilio.post("/voice/wiltshire")
    monkeypatch.setattr(CallFlow, "menu_input", broken)
    answer = twilio.press(menu, "2")
    assert answer.status == 200
    assert "999" in answer.says()[0]
    assert answer.dialled() == ["+443004560108"]


def test_when_routing_itself_fails_the_static_list_is_dialled(twilio: Twilio, monkeypatch: pytest.MonkeyPatch) -> None:
    """If even the schedule fails, the line's 24/7 numbers are dialled in order."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("schedule broken")

    monkeypatch.setattr(CallFlow, "answer", broken)
    monkeypatch.setattr(CallFlow, "connect", broken)
    answer = twilio.post("/voice/wiltshire")
    assert answer.status == 200 and "999" in answer.says()[0]
    assert answer.dialled() == ["+443004560108", "+443004560100"]


def test_fallback_url_serves_the_static_answer(twilio: Twilio, monkeypatch: pytest.MonkeyPatch) -> None:
    """/voice/fallback answers without touching the schedule."""
    from ivr.core import schedule

    def untouchable(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the fallback must not route")

    monkeypatch.setattr(schedule.ServiceSchedule, "route", untouchable)
    answer = twilio.post("/voice/fallback?line=hampshire")
    assert answer.status == 200
    assert answer.dialled() == ["+443005551384", "+443005551373"]
    assert "999" in answer.says()[0]


NEUTRAL = [
    "If a child is in immediate danger, hang up and call 999.",
    "Sorry, this line cannot connect your call at the moment. Please call your council's children's services again.",
]


def test_unknown_line_or_service_in_the_url_is_answered_safely(twilio: Twilio) -> None:
    """An unknown line gets the neutral 999 message (no council's menu); an unknown service, its line's urgent route."""
    unknown = twilio.post("/voice/nowhere")
    assert unknown.status == 200 and unknown.says() == NEUTRAL and unknown.dialled() == [] and unknown.gather() is None
    answer = twilio.post("/voice/wiltshire/connect/no-such-service")
    assert answer.status == 200 and answer.dialled() == ["+443004560108"]


def test_a_broken_file_on_disk_changes_nothing_live(settings: dict[str, Any], tmp_path: Path) -> None:
    """An invalid file on disk is refused by publish and by the follower; calls go on with the live release."""
    config_dir = tmp_path / "config"
    shipped_copy(config_dir)
    app = create_app({**settings, "IVR_CONFIG_DIR": str(config_dir)})
    live = services_of(app).live
    live.publisher.publish(config_dir, london("2027-03-03T09:00"), "admin", "first")
    live.refresh()
    assert live.source == "release"
    digest = live.digest
    schedule = config_dir / "schedules" / "wiltshire.yaml"
    schedule.write_text(schedule.read_text().replace('time: "08:45-17:00"', 'time: "08:45-17:0"', 1))
    with pytest.raises(ConfigError, match=r"wiltshire\.yaml"):
        live.publisher.publish(config_dir, london("2027-03-03T09:00"), "admin", "broken")
    live.refresh()
    caller = Twilio(app.test_client())
    assert caller.press(caller.post("/voice/wiltshire"), "1").dialled() == ["+443004560108"]
    assert live.digest == digest
    assert live.working is not None and live.working.refused
    health = app.test_client().get("/healthz").get_json()
    assert health == {
        "ok": True,
        "release": digest,
        "source": "release",
        "age_seconds": health["age_seconds"],
        "working_files": "refused",
        "refused_problems": 1,
        "records_backlog": {"files": 0, "bytes": 0, "oldest_seconds": 0.0},  # stored as written (IVR_INGEST_SECONDS=0)
        "records_failing": False,
    }


PATHS = st.sampled_from(
    [
        "/voice",
        "/voice/wiltshire",
        "/voice/hampshire",
        "/voice/isle-of-wight",
        "/voice/x",
        "/voice/wiltshire/input/main",
        "/voice/wiltshire/input/other",
        "/voice/wiltshire/input/nope",
        "/voice/wiltshire/menu/main",
        "/voice/wiltshire/code",
        "/voice/hampshire/connect/child-at-risk",
        "/voice/hampshire/dialled/child-at-risk",
        "/voice/wiltshire/again/child-at-risk",
        "/voice/wiltshire/screen/child-at-risk",
        "/voice/wiltshire/screened",
        "/voice/wiltshire/details/sexual-health",
        "/voice/wiltshire/details/nothing",
        "/voice/status",
        "/voice/fallback",
    ]
)
QUERY = st.dictionaries(
    st.sampled_from(["trail", "try", "tried", "round", "attempt", "via", "call", "n", "service", "line"]),
    st.text(max_size=12),
    max_size=5,
)
PARAMS = st.dictionaries(
    st.sampled_from(
        ["Digits", "SpeechResult", "From", "To", "CallSid", "DialCallStatus", "DialCallDuration", "ParentCallSid", "CallStatus"]
    ),
    st.text(max_size=20),
    max_size=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=PATHS, query=QUERY, params=PARAMS, sign=st.booleans())
@example(path="/voice/wiltshire/screen/child-at-risk", query={"via": "\x1f"}, params={}, sign=True)  # once broke the XML
def test_fuzz_never_an_error_page(twilio: Twilio, path: str, query: dict[str, str], params: dict[str, str], sign: bool) -> None:
    """Random and malformed requests get 200 with valid TwiML, or 403 when unsigned; nothing else."""
    from urllib.parse import urlencode

    url = PUBLIC + path + ("?" + urlencode(query) if query else "")
    answer = twilio.post(url, sign=sign, **params)
    assert answer.status in (200, 403)
    if sign:
        assert answer.status == 200
        validate_twiml(answer.body)
    else:
        assert answer.status == 403
    assert TOKEN not in answer.body


def test_a_published_change_goes_live_without_a_restart(settings: dict[str, Any], tmp_path: Path) -> None:
    """A valid edit (a diversion added) goes live when published, at the follower's next look."""
    config_dir = tmp_path / "config"
    shipped_copy(config_dir)
    app = create_app({**settings, "IVR_CONFIG_DIR": str(config_dir)})
    caller = Twilio(app.test_client())
    assert caller.press(caller.post("/voice/hampshire"), "1").dialled() == ["+443005551384"]
    schedule = config_dir / "schedules" / "hampshire.yaml"
    schedule.write_text(
        schedule.read_text().replace(
            "overrides: []",
            (
                "overrides:\n  - {services: [child-at-risk], to: out-of-hours, from: 2027-03-03T09:00, "
                "until: 2027-03-03T12:00, reason: CRT fire drill}\n"
            ),
        )
    )
    live = services_of(app).live
    assert caller.press(caller.post("/voice/hampshire"), "1").dialled() == ["+443005551384"]  # not published yet
    live.publisher.publish(config_dir, london("2027-03-03T09:00"), "admin", "CRT fire drill")
    assert live.refresh()
    assert caller.press(caller.post("/voice/hampshire"), "1").dialled() == ["+443005551373"]
    assert live.working is not None and not live.working.refused


@pytest.mark.parametrize(
    ("path", "numbers"),
    [
        ("/voice/wiltshire/no/such/step", ["+443004560108", "+443004560100"]),
        ("/voice/wiltshire/menu", ["+443004560108", "+443004560100"]),
        ("/voice/a/b/c/d/e", []),
    ],
    ids=["unknown-step", "menu-without-name", "unknown-line"],
)
def test_a_path_no_route_knows_still_gets_twiml(twilio: Twilio, path: str, numbers: list[str]) -> None:
    """Signed requests to unknown paths under /voice get the safe TwiML of the line they name (or the 999 message), unsigned ones 403."""
    answer = twilio.post(path)
    assert answer.status == 200 and "999" in answer.says()[0] and answer.dialled() == numbers
    assert twilio.post(path, sign=False).status == 403


def test_an_oversized_body_is_refused_not_crashed(twilio: Twilio) -> None:
    """A body too big to read (so its signature cannot be checked) gets 403, never an error page."""
    assert twilio.post("/voice/wiltshire", SpeechResult="x" * 100_000).status == 403
    assert twilio.post("/voice/wiltshire", SpeechResult="x" * 1_000).status == 200


# -- the line named in the URL, and only that line ----------------------------------------------

WILTSHIRE_24_7 = ["+443004560108", "+443004560100"]  # MASH, Out of Hours (Standby is reached on its number)
HAMPSHIRE_24_7 = ["+443005551384", "+443005551373"]  # the CRT public line, Out of Hours
WILTSHIRE_GREETING = "You have reached Wiltshire Council's children's services."


@pytest.mark.parametrize(
    "path",
    ["/voice/wiltshire/", "/voice/wiltshire/no/such/step", "/voice/wiltshire/input", "/voice/wiltshire/connect/child-at-risk/x"],
    ids=["trailing-slash", "unknown-step", "step-without-menu", "step-with-extra-part"],
)
def test_a_path_naming_wiltshire_never_gets_the_default_lines_numbers(settings: dict[str, Any], path: str) -> None:
    """With Hampshire as the default line, an unroutable Wiltshire path gets Wiltshire's answer (its 24/7 numbers or its menu)."""
    caller = Twilio(create_app({**settings, "IVR_DEFAULT_LINE": "hampshire"}).test_client())
    answer = caller.post(path)
    assert answer.status == 200
    assert answer.dialled() == WILTSHIRE_24_7 or (answer.dialled() == [] and answer.says()[0] == WILTSHIRE_GREETING)


def test_with_nothing_live_each_named_line_gets_its_own_static_answer(settings: dict[str, Any], tmp_path: Path) -> None:
    """Nothing valid is live (the Isle of Wight's file is broken) and Hampshire is the default: Wiltshire paths ring Wiltshire only."""
    folder = shipped_copy(tmp_path / "config")
    schedule = folder / "schedules" / "isle-of-wight.yaml"
    schedule.write_text(schedule.read_text().replace('time: "08:30-17:00"', 'time: "08:30-17:0"', 1))
    app = create_app({**settings, "IVR_CONFIG_DIR": str(folder), "IVR_DEFAULT_LINE": "hampshire"})
    assert services_of(app).live.current() is None
    caller = Twilio(app.test_client())
    for path in ("/voice/wiltshire", "/voice/wiltshire/", "/voice/wiltshire/menu/main", "/voice/wiltshire/no/such/step"):
        assert caller.post(path).dialled() == WILTSHIRE_24_7, path
    assert caller.post("/voice/isle-of-wight").says() == NEUTRAL


def test_a_line_missing_from_the_live_configuration_gets_the_999_message(settings: dict[str, Any], tmp_path: Path) -> None:
    """A release without Wiltshire (its files removed): /voice/wiltshire hears the 999 message, not the default line's menu."""
    folder = shipped_copy(tmp_path / "config")
    (folder / "flows" / "wiltshire.yaml").unlink()
    (folder / "schedules" / "wiltshire.yaml").unlink()
    app = create_app({**settings, "IVR_CONFIG_DIR": str(folder), "IVR_DEFAULT_LINE": "hampshire"})
    caller = Twilio(app.test_client())
    for path in ("/voice/wiltshire", "/voice/wiltshire/input/main?trail=main&try=1", "/voice/wiltshire/no/such/step"):
        answer = caller.post(path, Digits="1")
        assert answer.says() == NEUTRAL and answer.dialled() == [], path


def test_the_fallback_url_without_a_line_follows_the_called_number(settings: dict[str, Any], tmp_path: Path) -> None:
    """/voice/fallback without ?line= answers for the line listing the called number, else the default; an unknown ?line= gets the 999 message."""
    folder = shipped_copy(tmp_path / "config")
    flow = folder / "flows" / "wiltshire.yaml"
    flow.write_text(flow.read_text().replace("numbers: []", 'numbers: ["+442079460001"]'))
    caller = Twilio(create_app({**settings, "IVR_CONFIG_DIR": str(folder), "IVR_DEFAULT_LINE": "hampshire"}).test_client())
    assert caller.post("/voice/fallback", To="+442079460001").dialled() == WILTSHIRE_24_7
    assert caller.post("/voice/fallback", To="+442079460999").dialled() == HAMPSHIRE_24_7
    assert caller.post("/voice/fallback?line=nowhere", To="+442079460001").says() == NEUTRAL


def test_without_a_default_line_an_unlisted_number_hears_the_999_message(
    settings: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Development without IVR_DEFAULT_LINE says so at start; /voice and /voice/fallback from an unlisted number get the 999 message."""
    unset = {k: v for k, v in settings.items() if k != "IVR_DEFAULT_LINE"}
    with caplog.at_level(logging.WARNING):
        app = create_app({**unset, "IVR_ENV": "development"})
    assert any("IVR_DEFAULT_LINE is not set" in r.getMessage() for r in caplog.records)
    caller = Twilio(app.test_client())
    for path in ("/voice", "/voice/", "/voice/fallback"):
        answer = caller.post(path)
        assert answer.says() == NEUTRAL and answer.dialled() == [], path


def test_production_refuses_to_start_without_a_default_line(settings: dict[str, Any]) -> None:
    """The shipped lines list no Twilio numbers, so production without IVR_DEFAULT_LINE will not start, and says why."""
    unset = {k: v for k, v in settings.items() if k != "IVR_DEFAULT_LINE"}
    with pytest.raises(
        StartupRefused, match=r"^IVR_DEFAULT_LINE is not set and hampshire, isle-of-wight, wiltshire list no Twilio"
    ):
        create_app(unset)


def test_a_published_release_never_stops_a_worker_booting_for_want_of_a_default_line(
    settings: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Once a release is live, a worker restart without IVR_DEFAULT_LINE boots (logged as critical), so gunicorn stays up."""
    app = create_app(settings)
    live = services_of(app).live
    live.publisher.publish(live.config_dir, london("2027-03-03T09:00"), "admin", "deploy")
    unset = {k: v for k, v in settings.items() if k != "IVR_DEFAULT_LINE"}
    with caplog.at_level(logging.CRITICAL):
        restarted = create_app(unset)
    assert services_of(restarted).live.source == "release"
    assert any(r.levelno == logging.CRITICAL and "IVR_DEFAULT_LINE is not set" in r.getMessage() for r in caplog.records)
    caller = Twilio(restarted.test_client())
    assert caller.post("/voice").says() == NEUTRAL
    assert caller.post("/voice/wiltshire").says()[0] == WILTSHIRE_GREETING


def test_production_needs_no_default_line_when_every_line_lists_its_numbers(settings: dict[str, Any], tmp_path: Path) -> None:
    """Every line lists its number: production starts without a default, and a number nobody lists hears the 999 message."""
    folder = shipped_copy(tmp_path / "config")
    for n, line in enumerate(("hampshire", "isle-of-wight", "wiltshire")):
        flow = folder / "flows" / f"{line}.yaml"
        flow.write_text(flow.read_text().replace("numbers: []", f'numbers: ["+44207946000{n}"]'))
    unset = {k: v for k, v in settings.items() if k != "IVR_DEFAULT_LINE"}
    caller = Twilio(create_app({**unset, "IVR_CONFIG_DIR": str(folder)}).test_client())
    assert caller.post("/voice", To="+442079460002").says()[0] == WILTSHIRE_GREETING
    assert caller.post("/voice", To="+442079460999").says() == NEUTRAL


# -- the answerer's side: never a <Dial> -----------------------------------------------------------


@pytest.mark.parametrize("broken", ["screen", "screened"])
def test_a_failure_on_the_answerers_side_hangs_up_their_leg(
    screened: Twilio, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    """A bug in screening answers the answerer's document with a Hangup, never the safe route's Dial, which Twilio refuses there."""

    def raising(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    first = screened.press(screened.post("/voice/wiltshire"), "1")
    url = next(first.doc.iter("Number")).get("url") or ""
    leg = {"CallSid": "CA" + "9" * 32, "ParentCallSid": screened.params["CallSid"]}
    screen = screened.post(url, **leg)
    monkeypatch.setattr(CallFlow, broken, raising)
    answer = screened.post(url, **leg) if broken == "screen" else screened.press(screen, "1", **leg)
    assert answer.status == 200 and [v.tag for v in answer.doc] == ["Hangup"]


@pytest.mark.parametrize(
    "path",
    [
        "/voice/wiltshire/screen",
        "/voice/wiltshire/screen/no-such-service?call=CA1&attempt=1",
        "/voice/wiltshire/screened/x",
        "/voice/nowhere/screen/child-at-risk?call=CA1&attempt=1",
    ],
    ids=["no-service", "unknown-service", "extra-part", "unknown-line"],
)
def test_a_broken_answerers_step_hangs_up_their_leg(twilio: Twilio, path: str) -> None:
    """Unroutable screening paths (Twilio may only play Say, Play, Gather, Hangup there) are answered with a Hangup alone."""
    answer = twilio.post(path, ParentCallSid=twilio.params["CallSid"])
    assert answer.status == 200 and [v.tag for v in answer.doc] == ["Hangup"]


# -- an always-open service with no rule -----------------------------------------------------------


def test_a_gap_in_the_urgent_route_raises_an_alert_and_is_recorded(
    settings: dict[str, Any], clock: FrozenClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Key 1 when child-at-risk has no rule: the fallback is rung, an ERROR ALERT is logged, and the call record says why."""
    folder = write_files(tmp_path / "config", schedule=GAP_SCHEDULE, flow=GAP_FLOW)
    clock.at = london("2027-01-01T00:00")  # the proof runs at boot: the closure day is beyond its 400 days
    app = create_app({**settings, "IVR_CONFIG_DIR": str(folder), "IVR_DEFAULT_LINE": "test"})
    clock.at = london("2028-06-01T10:00")
    caller = Twilio(app.test_client())
    with caplog.at_level(logging.ERROR, logger="ivr.alerts"):
        answer = caller.press(caller.post("/voice/test"), "1")
    assert answer.dialled() == ["+441962876364"]
    alerts = [r.getMessage() for r in caplog.records if r.name == "ivr.alerts" and r.levelno == logging.ERROR]
    assert len(alerts) == 1 and alerts[0].startswith("ALERT: test child-at-risk has no rule at 2028-06-01T10:00")
    story = services_of(app).store.story(caller.params["CallSid"])
    assert {"reason": "no rule for an always-open service", "service": "child-at-risk"} in [
        e.detail for e in story.events if e.kind == "fallback"
    ]
