"""Hardened webhooks: what production needs to start, which hosts are believed, what a signature covers, odd paths."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlencode, urlsplit
from xml.etree import ElementTree

import pytest
from flask import Flask, request
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from ivr.app import StartupRefused, create_app
from ivr.services import services_of
from ivr.settings import SettingError, Settings
from ivr.web import security
from ivr.web.security import is_signed
from tests.conftest import PUBLIC, TOKEN, Twilio, validate_twiml
from tests.test_reliability import gunicorn

VALIDATOR = RequestValidator(TOKEN)
PARAMS = {"CallSid": "CA" + "1" * 32, "AccountSid": "AC" + "2" * 32, "From": "+447911123456", "To": "+441225000000"}
COUNCIL = "phones.council.example"
INTERNAL = "http://10.0.0.5:8000"  # where a proxy forwards Twilio's requests
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
INVENTED = "+447400123456"  # a number the attacker wants texted
# Each line's 24/7 list, in order (its static safe answer), from the councils' pages.
WILTSHIRE_24_7 = ["+443004560108", "+443004560100"]
HAMPSHIRE_24_7 = ["+443005551384", "+443005551373"]


def urls_in(body: str) -> list[str]:
    """Every URL Twilio would call back from a TwiML answer: action, url, statusCallback and Redirect."""
    doc = validate_twiml(body)
    found = [el.get(attr) or "" for el in doc.iter() for attr in ("action", "url", "statusCallback") if el.get(attr)]
    return found + [(el.text or "").strip() for el in doc.iter("Redirect")]


def dialled(body: str) -> list[str]:
    """The numbers a TwiML answer dials, in order."""
    return [(n.text or "").strip() for n in ElementTree.fromstring(body).iter("Number")]


def assert_forbidden(response: Any) -> None:
    """403 with a plain-text body: never an HTML error page."""
    assert response.status_code == 403
    assert response.mimetype == "text/plain" and response.get_data(as_text=True) == "Forbidden"


@pytest.fixture
def proxied(settings: dict[str, Any]) -> Any:
    """Production behind a proxy with no public URL: only the council's host (and the internal one) are trusted."""
    return create_app({**settings, "IVR_PUBLIC_URL": "", "IVR_TRUSTED_HOSTS": f"{COUNCIL}, 10.0.0.5:8000"})


# -- 1. what production needs to start ---------------------------------------------------------


def test_production_refuses_to_start_without_a_public_url_or_trusted_hosts(settings: dict[str, Any]) -> None:
    """With a token but neither IVR_PUBLIC_URL nor IVR_TRUSTED_HOSTS, production refuses in one line naming both."""
    with pytest.raises(StartupRefused) as refused:
        create_app({**settings, "IVR_PUBLIC_URL": ""})
    message = str(refused.value)
    assert "IVR_PUBLIC_URL" in message and "IVR_TRUSTED_HOSTS" in message and "\n" not in message


def test_production_starts_with_trusted_hosts_alone(settings: dict[str, Any]) -> None:
    """IVR_TRUSTED_HOSTS without IVR_PUBLIC_URL is enough for production to start and answer."""
    app = create_app({**settings, "IVR_PUBLIC_URL": "", "IVR_TRUSTED_HOSTS": "ivr.example.org"})
    assert Twilio(app.test_client()).post("/voice/wiltshire").status == 200


@pytest.mark.parametrize("token", [" ", "\n", " \t\r\n "], ids=["space", "newline", "mixed-whitespace"])
def test_a_blank_token_refuses_to_start(settings: dict[str, Any], token: str) -> None:
    """A TWILIO_AUTH_TOKEN of whitespace is no token: production will not start."""
    with pytest.raises(StartupRefused, match="TWILIO_AUTH_TOKEN is not set"):
        create_app({**settings, "TWILIO_AUTH_TOKEN": token})


def test_a_pasted_token_is_stripped(settings: dict[str, Any]) -> None:
    """A token pasted with a newline checks signatures made with the token itself."""
    app = create_app({**settings, "TWILIO_AUTH_TOKEN": f" {TOKEN}\n"})
    assert Twilio(app.test_client()).post("/voice/wiltshire").status == 200


def test_trusted_hosts_are_a_comma_separated_lower_case_list() -> None:
    """IVR_TRUSTED_HOSTS is split on commas, stripped, lower-cased; blanks are dropped."""
    settings = Settings.from_env({"IVR_TRUSTED_HOSTS": " Phones.Council.Example , 10.0.0.5:8000,,"})
    assert settings.trusted_hosts == ("phones.council.example", "10.0.0.5:8000")
    assert Settings.from_env({}).trusted_hosts == ()


@pytest.mark.parametrize(
    "value",
    ["https://phones.council.example", "phones.council.example/voice", "user:pw@phones.council.example", "a b"],
    ids=["scheme", "path", "credentials", "space"],
)
def test_a_trusted_host_that_is_a_url_is_refused(value: str) -> None:
    """A URL, path or credentials in IVR_TRUSTED_HOSTS could never match a Host header: refused, naming the variable."""
    with pytest.raises(SettingError, match="IVR_TRUSTED_HOSTS"):
        Settings.from_env({"IVR_TRUSTED_HOSTS": value})


@pytest.mark.parametrize(
    "value", ["phones.example.gov.uk", "ftp://phones.example.gov.uk", "https://", "https://x.example:port"], ids=str
)
def test_a_public_url_that_is_not_a_base_url_refuses_to_start(settings: dict[str, Any], value: str) -> None:
    """IVR_PUBLIC_URL without http(s) and a host (every signature would fail) stops the start."""
    with pytest.raises(StartupRefused, match="IVR_PUBLIC_URL"):
        create_app({**settings, "IVR_PUBLIC_URL": value})


def test_development_without_a_token_believes_the_host_and_says_so(
    settings: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Development with no token and no public URL keeps using the forwarded host, and the banner says so."""
    with caplog.at_level(logging.WARNING):
        app = create_app({**settings, "TWILIO_AUTH_TOKEN": "", "IVR_ENV": "development", "IVR_PUBLIC_URL": ""})
    assert any("DEVELOPMENT MODE" in r.message and "X-Forwarded-Host" in r.message for r in caplog.records)
    response = app.test_client().post("/voice/wiltshire", data=PARAMS, headers={"X-Forwarded-Host": "dev.example"})
    assert response.status_code == 200
    assert all(url.startswith("http://dev.example/voice/") for url in urls_in(response.get_data(as_text=True)))


# -- 2. which hosts are believed -----------------------------------------------------------------


def send(app: Any, path: str, signed_for: str, headers: dict[str, str] | None = None, **params: str) -> Any:
    """POST `path` on the internal address, signed for the URL `signed_for`."""
    data = {**PARAMS, **params}
    sent = {"X-Twilio-Signature": VALIDATOR.compute_signature(signed_for, data), **(headers or {})}
    return app.test_client().post(path, data=data, headers=sent, base_url=INTERNAL)


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "attacker.example"},
        {"X-Forwarded-Host": "attacker.example"},
        {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "attacker.example"},
        {"X-Forwarded-Host": f"attacker.example, {COUNCIL}"},
        {"X-Forwarded-Host": "ATTACKER.example"},
        {"X-Forwarded-Host": f"{COUNCIL}.attacker.example"},
    ],
    ids=["host", "forwarded-host", "forwarded-proto-and-host", "attacker-first-in-list", "upper-case", "suffixed"],
)
@pytest.mark.parametrize("path", ["/voice/wiltshire", "/voice/wiltshire/no/such/step"], ids=["webhook", "unknown-path"])
def test_a_host_not_trusted_is_refused_even_when_signed_for_it(proxied: Any, headers: dict[str, str], path: str) -> None:
    """A request naming a host outside IVR_TRUSTED_HOSTS gets plain 403, though signed for exactly that URL."""
    proto = headers.get("X-Forwarded-Proto", "http")
    assert_forbidden(send(proxied, path, f"{proto}://attacker.example{path}", headers))


def test_a_trusted_forwarded_host_is_answered_and_named_in_every_url(proxied: Any) -> None:
    """A signed request through the proxy for the trusted host gets TwiML whose callbacks all name that host."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": COUNCIL}
    response = send(proxied, "/voice/wiltshire", f"https://{COUNCIL}/voice/wiltshire", forwarded)
    assert response.status_code == 200
    urls = urls_in(response.get_data(as_text=True))
    assert urls and all(url.startswith(f"https://{COUNCIL}/voice/") for url in urls), urls


def test_a_trusted_host_matches_in_any_case(proxied: Any) -> None:
    """Host names are case-insensitive: the trusted host sent in capitals is answered, checked against the URL as sent."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": COUNCIL.upper()}
    response = send(proxied, "/voice/wiltshire", f"https://{COUNCIL.upper()}/voice/wiltshire", forwarded)
    assert response.status_code == 200


def test_the_host_check_comes_before_development_mode(settings: dict[str, Any]) -> None:
    """With trusted hosts set, even development without a token refuses a request from another host."""
    app = create_app({**settings, "TWILIO_AUTH_TOKEN": "", "IVR_ENV": "development", "IVR_TRUSTED_HOSTS": COUNCIL})
    client = app.test_client()
    assert_forbidden(client.post("/voice/wiltshire", data=PARAMS, headers={"X-Forwarded-Host": "attacker.example"}))
    assert client.post("/voice/wiltshire", data=PARAMS, headers={"X-Forwarded-Host": COUNCIL}).status_code == 200


def test_with_a_public_url_a_forged_host_changes_nothing(twilio: Twilio) -> None:
    """With IVR_PUBLIC_URL set, forged Host/X-Forwarded-Host signed for attacker.example get 403; TwiML names the public URL."""
    client = twilio.client
    for headers in ({"Host": "attacker.example"}, {"X-Forwarded-Host": "attacker.example"}):
        signature = VALIDATOR.compute_signature("http://attacker.example/voice/wiltshire", PARAMS)
        forged = client.post("/voice/wiltshire", data=PARAMS, headers={"X-Twilio-Signature": signature, **headers})
        assert_forbidden(forged)
    answer = twilio.post("/voice/wiltshire", headers={"X-Forwarded-Host": "attacker.example"})
    assert answer.status == 200 and all(url.startswith(f"{PUBLIC}/voice/") for url in urls_in(answer.body))


# -- 3. what a signature covers ------------------------------------------------------------------


def details_action(twilio: Twilio) -> str:
    """The Gather action after Wiltshire's No Worries details are read (key 1 there texts them to the caller)."""
    details = twilio.press(twilio.post("/voice/wiltshire"), "5")
    gather = details.gather()
    assert gather is not None and "/details/" in (gather.get("action") or "")
    return gather.get("action") or ""


def sent(app: Any, http_client: Any) -> list[str]:
    """Whom texts went to, once the outbox has sent everything queued (texts leave from a thread of their own)."""
    assert services_of(app).outbox.drain(10), "the outbox did not empty in 10 s"
    return [r["data"]["To"] for r in http_client.requests]


def test_a_get_carrying_a_form_is_refused(twilio: Twilio, app: Any, http_client: Any) -> None:
    """A GET signed for its URL alone, carrying a form with an invented From, gets 403 and texts nobody."""
    url = details_action(twilio)
    headers = {"X-Twilio-Signature": VALIDATOR.compute_signature(url, {})}
    body = {"Digits": "1", "From": INVENTED, "CallSid": PARAMS["CallSid"]}
    response = twilio.client.open(url[len(PUBLIC) :], method="GET", data=body, headers=headers, base_url=PUBLIC)
    assert_forbidden(response)
    assert sent(app, http_client) == []


def test_a_get_without_a_body_is_checked_against_its_url(twilio: Twilio) -> None:
    """A GET signed for URL and query (as Twilio signs a GET) is answered; one signed without the query is not."""
    path = "/voice/wiltshire/menu/main?trail=main"
    signed = {"X-Twilio-Signature": VALIDATOR.compute_signature(PUBLIC + path, {})}
    assert twilio.client.get(path, headers=signed, base_url=PUBLIC).status_code == 200
    unsigned_query = {"X-Twilio-Signature": VALIDATOR.compute_signature(PUBLIC + "/voice/wiltshire/menu/main", {})}
    assert_forbidden(twilio.client.get(path, headers=unsigned_query, base_url=PUBLIC))


@pytest.mark.parametrize("body_hash", [EMPTY_SHA256, ""], ids=["hash-of-empty-body", "blank"])
def test_a_form_post_with_body_sha256_is_signed_field_by_field(
    twilio: Twilio, app: Any, http_client: Any, body_hash: str
) -> None:
    """A form POST with ?bodySHA256= signed for the URL alone gets 403; signed with its fields it is answered."""
    url = details_action(twilio) + f"&bodySHA256={body_hash}"
    form = {**PARAMS, "Digits": "1", "From": INVENTED}
    url_only = {"X-Twilio-Signature": VALIDATOR.compute_signature(url, {})}
    assert_forbidden(twilio.client.post(url[len(PUBLIC) :], data=form, headers=url_only, base_url=PUBLIC))
    assert sent(app, http_client) == []
    with_fields = {"X-Twilio-Signature": VALIDATOR.compute_signature(url, form)}
    response = twilio.client.post(url[len(PUBLIC) :], data=form, headers=with_fields, base_url=PUBLIC)
    assert response.status_code == 200
    assert sent(app, http_client) == [INVENTED]  # a signed From is Twilio's word


@pytest.mark.parametrize("host", ["x.example:99999", "[::1"], ids=["port-out-of-range", "broken-ipv6"])
def test_a_host_the_url_parser_rejects_is_unsigned_not_an_error(host: str) -> None:
    """is_signed() answers False, never raises, for an X-Forwarded-Host that the URL parser rejects."""
    headers = {"X-Forwarded-Host": host, "X-Twilio-Signature": "c2lnbmF0dXJl"}  # werkzeug blanks such a Host itself
    with Flask(__name__).test_request_context("/voice/wiltshire", method="POST", data=PARAMS, headers=headers):
        assert is_signed(request, TOKEN) is False


@pytest.fixture
def hmacs(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Each text ivr.web.security computes an HMAC of, in order, while the test runs."""
    signed: list[bytes] = []

    def digest(key: bytes, message: bytes, name: str) -> bytes:
        signed.append(message)
        return hmac.digest(key, message, name)

    monkeypatch.setattr(security, "hmac", SimpleNamespace(digest=digest, compare_digest=hmac.compare_digest))
    return signed


def test_one_signed_webhook_computes_one_hmac(twilio: Twilio, hmacs: list[bytes]) -> None:
    """A webhook signed for IVR_PUBLIC_URL costs one HMAC-SHA1: no second URL spelling, no retries."""
    assert twilio.post("/voice/wiltshire").status == 200
    assert len(hmacs) == 1 and hmacs[0].startswith(f"{PUBLIC}/voice/wiltshire".encode())


def test_one_hmac_behind_a_trusted_proxy(proxied: Any, hmacs: list[bytes]) -> None:
    """Without a public URL, a request signed for the URL it names through the proxy costs one HMAC too."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": COUNCIL}
    assert send(proxied, "/voice/wiltshire", f"https://{COUNCIL}/voice/wiltshire", forwarded).status_code == 200
    assert len(hmacs) == 1


@pytest.mark.parametrize(
    ("public_url", "forwarded_host", "signed_for", "accepted", "computed"),
    [
        ("", COUNCIL, f"https://{COUNCIL}", True, 1),
        ("", COUNCIL, f"https://{COUNCIL}:443", True, 2),
        ("", f"{COUNCIL}:443", f"https://{COUNCIL}", True, 2),
        ("", f"{COUNCIL}:8443", f"https://{COUNCIL}", False, 1),
        ("", COUNCIL, f"https://{COUNCIL}:8443", False, 2),
        (PUBLIC, COUNCIL, f"{PUBLIC}:443", True, 2),
        (PUBLIC + ":443", COUNCIL, PUBLIC, True, 2),
        (PUBLIC, COUNCIL, f"{PUBLIC}:8443", False, 2),
    ],
    ids=[
        "as-named",
        "default-port-signed-not-named",
        "default-port-named-not-signed",
        "own-port-named-not-signed",
        "own-port-signed-not-named",
        "public-url-signed-with-default-port",
        "public-url-with-default-port-signed-without",
        "public-url-signed-with-another-port",
    ],
)
def test_a_second_hmac_only_on_a_mismatch_for_the_default_port(
    hmacs: list[bytes], public_url: str, forwarded_host: str, signed_for: str, accepted: bool, computed: int
) -> None:
    """A URL may or may not have carried its default port when Twilio signed it: both spellings, the second only on a mismatch.

    A port of its own is never dropped; a signature that matches costs one HMAC.
    """
    headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": forwarded_host,
        "X-Twilio-Signature": VALIDATOR.compute_signature(f"{signed_for}/voice/wiltshire", PARAMS),
    }
    with Flask(__name__).test_request_context("/voice/wiltshire", method="POST", data=PARAMS, headers=headers, base_url=INTERNAL):
        assert is_signed(request, TOKEN, public_url) is accepted
    assert len(hmacs) == computed


def json_post(
    twilio: Twilio, query: str, body: bytes, signed_for: str | None = None, content_type: str = "application/json"
) -> Any:
    """POST a raw body to /voice/wiltshire with `query`, signed for that URL (or `signed_for`) with no fields."""
    url = f"{PUBLIC}/voice/wiltshire{query}"
    headers = {"X-Twilio-Signature": VALIDATOR.compute_signature(signed_for or url, {})}
    return twilio.client.post(url[len(PUBLIC) :], data=body, content_type=content_type, headers=headers, base_url=PUBLIC)


def test_a_json_body_is_checked_by_its_hash(twilio: Twilio) -> None:
    """A JSON body whose SHA-256 is in the signed URL is answered; the same URL with another body is refused."""
    body = json.dumps({"CallSid": PARAMS["CallSid"]}).encode()
    query = f"?bodySHA256={hashlib.sha256(body).hexdigest()}"
    ok = json_post(twilio, query, body)
    assert ok.status_code == 200
    validate_twiml(ok.get_data(as_text=True))
    assert_forbidden(json_post(twilio, query, body + b" "))


@pytest.mark.parametrize(
    ("query", "body", "content_type"),
    [
        ("", b'{"a": 1}', "application/json"),
        ("?bodySHA256=", b'{"a": 1}', "application/json"),
        ("?bodySHA256=%20", b'{"a": 1}', "application/json"),
        ("?bodySHA256=%FF%FE", b'{"a": 1}', "application/json; charset=utf-8"),
        ("?bodySHA256=" + "f" * 5000, b"", "application/json"),
        # Bytes that are not UTF-8, under the hash of what a lenient decoder would make of them.
        ("?bodySHA256=" + hashlib.sha256("\ufffd\ufffd".encode()).hexdigest(), b"\xff\xfe", "application/json"),
        ("?bodySHA256=" + EMPTY_SHA256, b"From=%2B447400123456&Digits=1", "application/x-www-form-urlencoded"),
        ("?bodySHA256=", b"From=%2B447400123456&Digits=1", "application/x-www-form-urlencoded"),
        (
            "?bodySHA256=x",
            b"--b\r\nContent-Disposition: form-data; name=From\r\n\r\n+4477\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
        ),
    ],
    ids=[
        "json-no-hash",
        "json-blank",
        "json-space",
        "json-not-utf8-hash",
        "json-huge",
        "json-body-not-utf8",
        "form",
        "form-blank",
        "multipart",
    ],
)
def test_odd_body_sha256_values_get_403_not_500(
    twilio: Twilio, app: Any, http_client: Any, query: str, body: bytes, content_type: str
) -> None:
    """Blank, huge or non-UTF-8 bodySHA256 values, or a form under one, signed for the URL alone: plain 403, never 500."""
    assert_forbidden(json_post(twilio, query, body, content_type=content_type))
    assert sent(app, http_client) == []


def test_a_body_no_handler_reads_needs_no_signature_of_its_own(twilio: Twilio) -> None:
    """A text/plain body is not a form and not JSON: handlers never see it, so the URL's signature is enough."""
    response = json_post(twilio, "?bodySHA256=" + EMPTY_SHA256, b"From=%2B447400123456&Digits=1", content_type="text/plain")
    assert response.status_code == 200
    assert INVENTED not in response.get_data(as_text=True)


# -- 4. odd paths: answered where they are, never redirected -------------------------------------


def test_a_trailing_slash_is_the_line_named_in_the_url(twilio: Twilio) -> None:
    """/voice/hampshire/ is answered as Hampshire's new call, exactly as /voice/hampshire (the To is Wiltshire's)."""
    slashed = twilio.post("/voice/hampshire/")
    assert slashed.status == 200
    assert slashed.body == twilio.post("/voice/hampshire").body
    gather = slashed.gather()
    assert gather is not None and (gather.get("action") or "").startswith(f"{PUBLIC}/voice/hampshire/input/")


@pytest.mark.parametrize(
    "path",
    ["/voice//hampshire", "/voice/hampshire//input/main", "/voice///hampshire/", "/voice/hampshire/code//"],
    ids=["after-voice", "mid-path", "triple-and-trailing", "trailing-double"],
)
def test_double_slashes_get_the_named_lines_safe_answer_not_a_redirect(twilio: Twilio, path: str) -> None:
    """`//` under /voice gets 200 TwiML dialling the named line's 24/7 list when signed, plain 403 when not; never a 308."""
    answer = twilio.post(path)
    assert answer.status == 200 and answer.dialled() == HAMPSHIRE_24_7
    assert_forbidden(twilio.client.post(path, data=PARAMS, base_url=PUBLIC))


def test_a_leading_double_slash_is_checked_as_sent(twilio: Twilio) -> None:
    """//voice/hampshire (as a raw request line may carry it) is Hampshire when signed for that URL, plain 403 when not."""
    path = "//voice/hampshire"
    signature = VALIDATOR.compute_signature(PUBLIC + path, PARAMS)
    raw = {"PATH_INFO": path, "RAW_URI": path}  # the test client would read `//voice` as a host
    response = twilio.client.post(
        "/", data=PARAMS, headers={"X-Twilio-Signature": signature}, base_url=PUBLIC, environ_overrides=raw
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True) == twilio.post("/voice/hampshire").body
    assert_forbidden(twilio.client.post("/", data=PARAMS, base_url=PUBLIC, environ_overrides=raw))


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_methods_twilio_does_not_use_are_twiml_or_plain_403(twilio: Twilio, method: str) -> None:
    """Other methods under /voice get the safe TwiML when signed and plain 403 when not, never HTML."""
    path = "/voice/wiltshire"
    signed = {"X-Twilio-Signature": VALIDATOR.compute_signature(PUBLIC + path, {})}
    response = twilio.client.open(path, method=method, headers=signed, base_url=PUBLIC)
    assert response.status_code == 200 and dialled(response.get_data(as_text=True)) == WILTSHIRE_24_7
    assert_forbidden(twilio.client.open(path, method=method, base_url=PUBLIC))


# -- 5. whatever arrives: 200 TwiML or plain 403 -------------------------------------------------

SEGMENT = st.one_of(
    st.sampled_from(["voice", "wiltshire", "hampshire", "isle-of-wight", "input", "menu", "main", "code", "connect", "status"]),
    st.sampled_from(["", ".", "..", "%2F", "%00", "%FF", "%2e%2e", "child-at-risk", "screened", "fallback", "\u00e9", "a" * 300]),
    st.text(st.characters(codec="utf-8", exclude_characters="/?#"), max_size=8).map(lambda s: quote(s, safe="")),
)
HEADER = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
ODD_HEADERS = st.dictionaries(
    st.sampled_from(["Host", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Twilio-Signature", "Authorization", "X-Long"]),
    st.one_of(HEADER, st.sampled_from(["attacker.example", "[::1", "x:99999", "https, http", "Basic !!", "a" * 20_000])),
    max_size=3,
)
BODY = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(["From", "To", "Digits", "CallSid", "bodySHA256"]), st.text(max_size=10), max_size=3),
    st.binary(max_size=60),
)
CONTENT_TYPE = st.sampled_from(["", "application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    segments=st.lists(SEGMENT, min_size=0, max_size=5),
    trailing=st.booleans(),
    query=st.sampled_from(
        ["", "?n=1", "?bodySHA256=", "?bodySHA256=%FF", "?bodySHA256=" + EMPTY_SHA256, "?%%%=&&", "?trail=main"]
    ),
    method=st.sampled_from(["POST", "GET", "PUT"]),
    headers=ODD_HEADERS,
    body=BODY,
    content_type=CONTENT_TYPE,
    sign=st.booleans(),
)
@example(
    segments=["voice", "", "wiltshire"],
    trailing=False,
    query="",
    method="POST",
    headers={},
    body=None,
    content_type="",
    sign=True,
)
@example(
    segments=["voice", "wiltshire"], trailing=True, query="", method="POST", headers={}, body=None, content_type="", sign=True
)
@example(
    segments=["voice", "wiltshire"],
    trailing=False,
    query="?bodySHA256=",
    method="POST",
    headers={},
    body=b"{}",
    content_type="application/json",
    sign=True,
)
def test_fuzz_odd_paths_headers_and_bodies_get_twiml_or_plain_403(
    proxied: Any,
    segments: list[str],
    trailing: bool,
    query: str,
    method: str,
    headers: dict[str, str],
    body: Any,
    content_type: str,
    sign: bool,
) -> None:
    """Under /voice, any path, header or body gets 200 TwiML naming only the trusted host, or a plain 403; never HTML, 3xx or 500."""
    path = "/" + "/".join(segments) + ("/" if trailing else "")
    if not path.startswith("/voice"):
        path = "/voice" + path
    sent = dict(headers)
    if sign:
        params = body if isinstance(body, dict) and method == "POST" and content_type.endswith("urlencoded") else {}
        sent["X-Twilio-Signature"] = VALIDATOR.compute_signature(f"https://{COUNCIL}{path}{query}", params)
        sent.setdefault("X-Forwarded-Proto", "https")
        sent.setdefault("X-Forwarded-Host", COUNCIL)
    response = proxied.test_client().open(
        path + query, method=method, data=body, headers=sent, content_type=content_type or None, base_url=INTERNAL
    )
    text = response.get_data(as_text=True)
    assert response.status_code in (200, 403), (response.status_code, text[:200])
    assert "<html" not in text.lower()
    if response.status_code == 403:
        assert response.mimetype == "text/plain" and text == "Forbidden"
        return
    assert response.mimetype == "text/xml"
    for url in urls_in(text):
        assert urlsplit(url).netloc in (COUNCIL, "10.0.0.5:8000"), url


# -- 6. the same over real HTTP, through gunicorn --------------------------------------------------


def over_http(base: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, str, str]:
    """Send exactly this request line, headers and body to the server at `base`: (status, content type, body)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=20)
    try:
        connection.request(method, path, body=body, headers={"Host": parts.netloc, **headers})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode("utf-8", "replace")
    finally:
        connection.close()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
ATTACKER = "http://attacker.example/voice/wiltshire"


def signed(url: str, params: dict[str, str] = PARAMS) -> dict[str, str]:
    """The X-Twilio-Signature header Twilio would send for `url` and `params`."""
    return {"X-Twilio-Signature": VALIDATOR.compute_signature(url, params)}


def assert_twiml_or_403(status: int, content_type: str, text: str, expected: int, base: str) -> None:
    """`expected` status; 200 is valid TwiML whose URLs all start with `base`, 403 is plain; never attacker.example."""
    assert status == expected, (status, text[:300])
    assert "attacker.example" not in text and "<html" not in text.lower()
    if status == 403:
        assert content_type.startswith("text/plain") and text == "Forbidden"
    else:
        assert content_type.startswith("text/xml")
        urls = urls_in(text)  # none in a static safe answer
        assert all(url.startswith(f"{base}/voice/") for url in urls), urls


def test_forged_hosts_odd_paths_and_hashes_over_http_with_a_public_url(tmp_path: Path) -> None:
    """Through gunicorn with IVR_PUBLIC_URL: forged hosts, `//`, a trailing slash, odd bodySHA256 get 403 or the public URL's TwiML."""
    form = urlencode(PARAMS).encode()
    with gunicorn(tmp_path, f"sqlite:///{tmp_path / 'calls.sqlite3'}") as (_, base, log):
        hashed = f"/voice/wiltshire?bodySHA256={EMPTY_SHA256}"
        cases = [  # method, path, headers, body, status
            ("POST", "/voice/wiltshire", {**FORM, "Host": "attacker.example", **signed(ATTACKER)}, form, 403),
            ("POST", "/voice/wiltshire", {**FORM, "X-Forwarded-Host": "attacker.example", **signed(ATTACKER)}, form, 403),
            ("POST", "/voice/wiltshire", {**FORM, "Host": "attacker.example", **signed(f"{base}/voice/wiltshire")}, form, 200),
            (
                "POST",
                "/voice/wiltshire",
                {**FORM, "X-Forwarded-Host": "attacker.example", **signed(f"{base}/voice/wiltshire")},
                form,
                200,
            ),
            ("POST", "//voice/wiltshire", FORM, form, 403),
            ("POST", "//voice/wiltshire", {**FORM, **signed(f"{base}//voice/wiltshire")}, form, 200),
            ("POST", "/voice//wiltshire", FORM, form, 403),
            ("POST", "/voice//wiltshire", {**FORM, **signed(f"{base}/voice//wiltshire")}, form, 200),
            ("POST", "/voice/hampshire/", {**FORM, **signed(f"{base}/voice/hampshire/")}, form, 200),
            ("POST", "/voice/wiltshire?bodySHA256=", {**JSON, **signed(f"{base}/voice/wiltshire?bodySHA256=", {})}, b"{}", 403),
            (
                "POST",
                "/voice/wiltshire?bodySHA256=%FF",
                {**JSON, **signed(f"{base}/voice/wiltshire?bodySHA256=%FF", {})},
                b"{}",
                403,
            ),
            ("POST", hashed, {**FORM, **signed(f"{base}{hashed}", {})}, form, 403),
            ("GET", "/voice/wiltshire", {**FORM, **signed(f"{base}/voice/wiltshire", {})}, form, 403),
        ]
        for method, path, headers, body, expected in cases:
            assert_twiml_or_403(*over_http(base, method, path, headers, body), expected, base)
        _, _, slashed = over_http(base, "POST", "/voice/hampshire/", {**FORM, **signed(f"{base}/voice/hampshire/")}, form)
        gather = ElementTree.fromstring(slashed).find("Gather")  # Hampshire's start menu, not a safe answer
        assert gather is not None and (gather.get("action") or "").startswith(f"{base}/voice/hampshire/input/main?")
        assert "Traceback" not in log.read_text()


def test_forged_hosts_over_http_with_trusted_hosts(tmp_path: Path) -> None:
    """Through gunicorn with IVR_TRUSTED_HOSTS and no public URL: only the trusted host is answered, and named in the TwiML."""
    form = urlencode(PARAMS).encode()
    trusted = {"IVR_PUBLIC_URL": "", "IVR_TRUSTED_HOSTS": COUNCIL}
    with gunicorn(tmp_path, f"sqlite:///{tmp_path / 'calls.sqlite3'}", extra_env=trusted) as (_, base, log):
        cases = [  # headers, status
            ({"Host": "attacker.example", **signed(ATTACKER)}, 403),
            ({"X-Forwarded-Host": "attacker.example", **signed(ATTACKER)}, 403),
            ({"X-Forwarded-Host": f"attacker.example, {COUNCIL}", **signed(ATTACKER)}, 403),
            (signed(f"{base}/voice/wiltshire"), 403),  # the loopback address is not a trusted host either
            ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": COUNCIL, **signed(f"https://{COUNCIL}/voice/wiltshire")}, 200),
        ]
        for headers, expected in cases:
            response = over_http(base, "POST", "/voice/wiltshire", {**FORM, **headers}, form)
            assert_twiml_or_403(*response, expected, f"https://{COUNCIL}")
        assert "Traceback" not in log.read_text()
