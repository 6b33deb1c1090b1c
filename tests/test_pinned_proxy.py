"""Behind a proxy: which URL the signature is checked against, and which base the TwiML's URLs use."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from flask import Flask, request
from twilio.request_validator import RequestValidator

from ivr.app import create_app
from ivr.web.security import base_url, signed_url
from tests.builders import screened_copy
from tests.conftest import TOKEN, validate_twiml

INTERNAL = "http://10.0.0.5:8000"  # where the proxy forwards Twilio's requests
COUNCIL = "https://phones.council.example"
PARAMS = {"CallSid": "CA" + "1" * 32, "AccountSid": "AC" + "2" * 32, "From": "+447911123456", "To": "+441225000000"}
VALIDATOR = RequestValidator(TOKEN)


def send(app: Any, path: str, signed_for: str, headers: dict[str, str] | None = None, **params: str) -> tuple[int, str]:
    """POST `path` as it reaches the app on the internal address, signed for the URL `signed_for`."""
    data = {**PARAMS, **params}
    sent = {"X-Twilio-Signature": VALIDATOR.compute_signature(signed_for, data), **(headers or {})}
    response = app.test_client().post(path, data=data, headers=sent, base_url=INTERNAL)
    return response.status_code, response.get_data(as_text=True)


def urls_in(body: str) -> list[str]:
    """Every URL Twilio would call back from a TwiML answer: action, url, statusCallback and Redirect."""
    doc = validate_twiml(body)
    found = [el.get(attr) or "" for el in doc.iter() for attr in ("action", "url", "statusCallback") if el.get(attr)]
    found += [(el.text or "").strip() for el in doc.iter("Redirect")]
    return found


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# -- 1. the signature is checked against IVR_PUBLIC_URL ------------------------------------------


@pytest.mark.parametrize(
    ("public_url", "signed_for", "status"),
    [
        ("https://ivr.example.org", "https://ivr.example.org/voice/wiltshire", 200),
        ("https://ivr.example.org/", "https://ivr.example.org/voice/wiltshire", 200),
        ("https://ivr.example.org", f"{INTERNAL}/voice/wiltshire", 403),
        ("https://ivr.example.org", "https://ivr.example.org/voice/hampshire", 403),
    ],
    ids=["signed-for-public-url", "public-url-with-trailing-slash", "signed-for-internal-url", "signed-for-another-path"],
)
def test_signature_is_checked_against_the_public_url(
    settings: dict[str, Any], public_url: str, signed_for: str, status: int
) -> None:
    """With IVR_PUBLIC_URL set, only a signature for the public URL is accepted, wherever the request arrives."""
    app = create_app({**settings, "IVR_PUBLIC_URL": public_url})
    assert send(app, "/voice/wiltshire", signed_for)[0] == status


def test_public_url_beats_the_forwarded_headers_for_the_signature(settings: dict[str, Any]) -> None:
    """With IVR_PUBLIC_URL set, a signature for the X-Forwarded host is refused and one for the public URL accepted."""
    app = create_app({**settings, "IVR_PUBLIC_URL": "https://ivr.example.org"})
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "phones.council.example"}
    assert send(app, "/voice/wiltshire", f"{COUNCIL}/voice/wiltshire", forwarded)[0] == 403
    assert send(app, "/voice/wiltshire", "https://ivr.example.org/voice/wiltshire", forwarded)[0] == 200


def test_signature_covers_the_query_under_the_public_url(settings: dict[str, Any]) -> None:
    """A menu step with a query string is accepted when signed for public URL + path + query, refused without the query."""
    app = create_app({**settings, "IVR_PUBLIC_URL": "https://ivr.example.org"})
    path = "/voice/wiltshire/input/main?trail=main&try=1"
    status, body = send(app, path, f"https://ivr.example.org{path}", Digits="1")
    assert status == 200 and [n.text for n in validate_twiml(body).iter("Number")] == ["+443004560108"]
    assert send(app, path, "https://ivr.example.org/voice/wiltshire/input/main", Digits="1")[0] == 403


def test_unknown_voice_path_checks_the_signature_against_the_public_url(settings: dict[str, Any]) -> None:
    """A 404 under /voice answers the safe TwiML only when signed for the public URL; signed for the internal URL it is 403."""
    app = create_app({**settings, "IVR_PUBLIC_URL": "https://ivr.example.org"})
    status, body = send(app, "/voice/wiltshire/nowhere/at/all", "https://ivr.example.org/voice/wiltshire/nowhere/at/all")
    # The safe answer with no call to go on: Wiltshire's 24/7 list, MASH then the Out of Hours number.
    assert status == 200 and [n.text for n in validate_twiml(body).iter("Number")] == ["+443004560108", "+443004560100"]
    assert send(app, "/voice/wiltshire/nowhere/at/all", f"{INTERNAL}/voice/wiltshire/nowhere/at/all")[0] == 403


@pytest.mark.parametrize(
    ("public_url", "headers", "expected"),
    [
        ("https://ivr.example.org", {}, "https://ivr.example.org/voice/wiltshire?n=1"),
        ("https://ivr.example.org/", {}, "https://ivr.example.org/voice/wiltshire?n=1"),
        (
            "https://ivr.example.org",
            {"X-Forwarded-Proto": "http", "X-Forwarded-Host": "x.example"},
            "https://ivr.example.org/voice/wiltshire?n=1",
        ),
        ("", {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "phones.council.example"}, f"{COUNCIL}/voice/wiltshire?n=1"),
        ("", {}, f"{INTERNAL}/voice/wiltshire?n=1"),
    ],
    ids=["public-url", "public-url-trailing-slash", "public-url-beats-headers", "forwarded-headers", "as-it-arrived"],
)
def test_signed_url_names_the_url_twilio_called(public_url: str, headers: dict[str, str], expected: str) -> None:
    """signed_url() gives the public URL when set, else the forwarded scheme and host, else the request's own."""
    with Flask(__name__).test_request_context("/voice/wiltshire?n=1", base_url=INTERNAL, headers=headers, method="POST"):
        assert signed_url(request, public_url) == expected


# -- 2. the absolute URLs written into TwiML ----------------------------------------------------


# The callbacks of a new call (Gather action, Redirect) and of key 1 (Dial action, Number url, statusCallback).
CALLBACK_PATHS = [
    "/voice/status",
    "/voice/wiltshire/dialled/child-at-risk",
    "/voice/wiltshire/input/main",
    "/voice/wiltshire/screen/child-at-risk",
]


def screened_config(settings: dict[str, Any]) -> str:
    """The shipped lines with MASH screened by a person, so that the answer to key 1 holds every kind of callback URL."""
    return str(screened_copy(Path(settings["IVR_INSTANCE_PATH"]) / "screened"))


def call_and_press_1(app: Any, signed_base: str, headers: dict[str, str] | None = None) -> list[str]:
    """A new call to Wiltshire, then key 1: every callback URL of both answers (each step signed under `signed_base`)."""
    status, answer = send(app, "/voice/wiltshire", f"{signed_base}/voice/wiltshire", headers)
    assert status == 200, answer
    first = urls_in(answer)
    gather = validate_twiml(answer).find("Gather")
    assert gather is not None
    step = path_of(gather.get("action") or "")
    status, dial = send(app, step, f"{signed_base}{step}", headers, Digits="1")
    assert status == 200, dial
    assert [n.text for n in ElementTree.fromstring(dial).iter("Number")] == ["+443004560108"]
    return first + urls_in(dial)


@pytest.mark.parametrize(
    "public_url", ["https://phones.example.gov.uk", "https://phones.example.gov.uk/"], ids=["plain", "trailing-slash"]
)
def test_twiml_urls_use_the_public_url(settings: dict[str, Any], public_url: str) -> None:
    """With IVR_PUBLIC_URL set, every action, url, statusCallback and Redirect starts with exactly that base, no double slash."""
    app = create_app({**settings, "IVR_PUBLIC_URL": public_url, "IVR_CONFIG_DIR": screened_config(settings)})
    forwarded = {"X-Forwarded-Proto": "http", "X-Forwarded-Host": "wrong.example"}
    urls = call_and_press_1(app, "https://phones.example.gov.uk", forwarded)
    assert sorted({path_of(u).split("?")[0] for u in urls}) == CALLBACK_PATHS
    assert len(urls) == 5
    for url in urls:
        assert url.startswith("https://phones.example.gov.uk/voice/") and "//" not in url.split("://", 1)[1], url


@pytest.mark.parametrize(
    ("headers", "base"),
    [
        ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "phones.council.example"}, COUNCIL),
        ({"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "phones.council.example, 10.0.0.5:8000"}, COUNCIL),
        ({"X-Forwarded-Proto": "https ,http", "X-Forwarded-Host": "phones.council.example ,10.0.0.5:8000"}, COUNCIL),
        ({"X-Forwarded-Proto": "https"}, "https://10.0.0.5:8000"),
        ({"X-Forwarded-Host": "phones.council.example"}, "http://phones.council.example"),
        ({}, INTERNAL),
    ],
    ids=["proto-and-host", "first-of-comma-lists", "spaces-stripped", "proto-only", "host-only", "no-headers"],
)
def test_twiml_urls_follow_the_forwarded_headers(settings: dict[str, Any], headers: dict[str, str], base: str) -> None:
    """With trusted hosts and no IVR_PUBLIC_URL, the first X-Forwarded-Proto and -Host values (stripped) name the base, else the request's."""
    app = create_app(
        {
            **settings,
            "IVR_PUBLIC_URL": "",
            "IVR_TRUSTED_HOSTS": "phones.council.example, 10.0.0.5:8000",
            "IVR_CONFIG_DIR": screened_config(settings),
        }
    )
    urls = call_and_press_1(app, base, headers)
    assert sorted({path_of(u).split("?")[0] for u in urls}) == CALLBACK_PATHS
    assert len(urls) == 5
    for url in urls:
        assert url.startswith(f"{base}/voice/") and "//" not in url.split("://", 1)[1], url


@pytest.mark.parametrize(
    ("public_url", "headers", "expected"),
    [
        ("https://ivr.example.org", {}, "https://ivr.example.org"),
        ("https://ivr.example.org/", {"X-Forwarded-Host": "x.example"}, "https://ivr.example.org"),
        ("", {"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": " phones.council.example , 10.0.0.5"}, COUNCIL),
        ("", {}, INTERNAL),
    ],
    ids=["public-url", "public-url-trailing-slash", "forwarded-first-values", "as-it-arrived"],
)
def test_base_url_is_exactly_the_base(public_url: str, headers: dict[str, str], expected: str) -> None:
    """base_url() is scheme://host with no trailing slash: the public URL stripped, else the forwarded values, else the request's."""
    with Flask(__name__).test_request_context("/voice/wiltshire", base_url=INTERNAL, headers=headers, method="POST"):
        assert base_url(request, public_url) == expected
