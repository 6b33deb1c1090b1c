"""The pages' foundation: who may open /admin, the security headers, GOV.UK Frontend's assets and the layout."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint
from lxml import html

from ivr.app import create_app
from ivr.web.access import failed_sign_ins
from ivr.web.assets import GOVUK_FOLDER
from tests.conftest import Twilio

PROJECT = Path(__file__).parent.parent
SIGNING_HEADERS = {"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"}


def basic(password: str, user: str = "admin") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def admin_app(settings: dict[str, Any]) -> Any:
    return create_app({**settings, "IVR_ADMIN_PASSWORD": "s3cret"})


def test_wrong_passwords_are_limited_per_address(admin_app: Any) -> None:
    """Five wrong passwords in a minute: then 429 with Retry-After, even for the right one, until the minute has passed."""
    ticks = Ticks()
    failed_sign_ins(admin_app).clock = ticks
    client = admin_app.test_client()
    for _ in range(5):
        assert client.get("/admin/", headers=basic("guess")).status_code == 401
        ticks.now += 1
    refused = client.get("/admin/", headers=basic("s3cret"))
    assert (
        refused.status_code == 429 and refused.headers["Retry-After"] == "55"
    )  # the first wrong one (at 0 s) leaves the minute at 60 s; now is 5 s
    assert refused.headers["Cache-Control"] == "no-store"
    other = admin_app.test_client().get("/admin/", headers=basic("s3cret"), environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 200
    ticks.now += 55
    assert client.get("/admin/", headers=basic("s3cret")).status_code == 200


def test_asking_without_a_password_is_not_a_failure(admin_app: Any) -> None:
    """A browser's first request carries no password: ten of them are ten 401s, never a 429."""
    client = admin_app.test_client()
    assert {client.get("/admin/").status_code for _ in range(10)} == {401}


def test_the_right_password_clears_the_count(admin_app: Any) -> None:
    """Four wrong, the right one, four wrong again: never limited."""
    client = admin_app.test_client()
    for password in ["a"] * 4 + ["s3cret"] + ["b"] * 4:
        assert client.get("/admin/", headers=basic(password)).status_code in (200, 401)
    assert client.get("/admin/", headers=basic("s3cret")).status_code == 200


def test_any_user_name_and_a_unicode_password(settings: dict[str, Any]) -> None:
    """The password alone decides; it may hold any character."""
    client = create_app({**settings, "IVR_ADMIN_PASSWORD": "pässwörd"}).test_client()
    assert client.get("/admin/", headers=basic("pässwörd", user="jo")).status_code == 200
    assert client.get("/admin/", headers=basic("passwort")).status_code == 401


def test_every_path_under_admin_is_behind_the_check(settings: dict[str, Any]) -> None:
    """A page another blueprint adds under /admin needs the password without asking for it; a 404 there too."""
    app = create_app({**settings, "IVR_ADMIN_PASSWORD": "s3cret"})
    extra = Blueprint("extra", __name__, url_prefix="/admin/extra")
    extra.add_url_rule("/", "page", lambda: "secret page")
    app.register_blueprint(extra)
    client = app.test_client()
    assert client.get("/admin/extra/").status_code == 401
    assert client.get("/admin/no-such-page").status_code == 401
    assert client.get("/admin").status_code == 401
    assert client.get("/admin/extra/", headers=basic("s3cret")).get_data(as_text=True) == "secret page"


def test_production_without_a_password_has_no_admin_pages(app: Any) -> None:
    """No IVR_ADMIN_PASSWORD in production: 404 under /admin, whatever is sent."""
    client = app.test_client()
    assert client.get("/admin/").status_code == 404
    assert client.get("/admin/", headers=basic("")).status_code == 404


def test_development_without_a_password_is_open_and_says_so(settings: dict[str, Any]) -> None:
    """Development, no password, no auth token: the page opens and its banner says what is off."""
    client = create_app({**settings, "IVR_ENV": "development", "TWILIO_AUTH_TOKEN": ""}).test_client()
    page = client.get("/admin/")
    assert page.status_code == 200
    banner = html.fromstring(page.get_data()).find_class("govuk-phase-banner")[0].text_content()
    assert "Development mode: no password, signatures not checked" in " ".join(banner.split())


def test_production_pages_carry_no_development_banner(admin_app: Any) -> None:
    """Production: no phase banner."""
    page = admin_app.test_client().get("/admin/", headers=basic("s3cret")).get_data()
    assert not html.fromstring(page).find_class("govuk-phase-banner")


@pytest.mark.parametrize(
    "path, status",
    [
        ("/admin/", 200),
        ("/admin/calls/CAnothing", 404),
        ("/healthz", 200),
        ("/metrics", 200),
        ("/assets/govuk-frontend.min.css", 200),
        ("/nothing", 404),
    ],
    ids=["admin", "admin_404", "healthz", "metrics", "asset", "not_found"],
)
def test_security_headers_outside_voice(admin_app: Any, path: str, status: int) -> None:
    """Every answer outside /voice: CSP without inline script, no framing, no sniffing; no-store under /admin only."""
    response = admin_app.test_client().get(path, headers=basic("s3cret"))
    assert response.status_code == status
    csp = dict(d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'self'" and csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert re.fullmatch(r"'self'( 'nonce-[\w-]{16,}')?", csp["script-src"])
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert (response.headers.get("Cache-Control") == "no-store") == path.startswith("/admin")


def test_webhooks_answer_as_before(admin_app: Any) -> None:
    """Under /voice: TwiML with none of the pages' headers, signed or refused."""
    caller = Twilio(admin_app.test_client())
    answered = admin_app.test_client().post(
        "/voice/wiltshire", data=caller.params, headers={"X-Twilio-Signature": "wrong"}, base_url="https://ivr.example.org"
    )
    assert answered.status_code == 403
    assert caller.post("/voice/wiltshire").status == 200
    for response in (answered, admin_app.test_client().get("/voice/nowhere/odd")):
        assert not SIGNING_HEADERS & set(response.headers.keys())
        assert "Cache-Control" not in response.headers


def test_no_inline_script_without_the_nonce(admin_app: Any) -> None:
    """The one inline script carries this response's nonce (new each time); no inline style or handlers at all."""
    client = admin_app.test_client()
    nonces = []
    for _ in range(2):
        response = client.get("/admin/", headers=basic("s3cret"))
        nonce = re.search(r"'nonce-([\w-]+)'", response.headers["Content-Security-Policy"]).group(1)  # type: ignore[union-attr]
        doc = html.fromstring(response.get_data())
        scripts = doc.iter("script")
        for script in scripts:
            assert script.get("src") or script.get("nonce") == nonce
        assert not list(doc.iter("style"))
        assert not [
            el
            for el in doc.iter()
            if isinstance(el.tag, str) and (el.get("style") is not None or any(a.startswith("on") for a in el.attrib))
        ]
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_every_asset_the_page_names_is_served(admin_app: Any) -> None:
    """The stylesheet, the module script and what they load (fonts, images, GOV.UK's script) answer 200 with their types."""
    client = admin_app.test_client()
    doc = html.fromstring(client.get("/admin/", headers=basic("s3cret")).get_data())
    urls = [*doc.xpath("//link/@href"), *doc.xpath("//script/@src")]
    css = client.get("/assets/govuk-frontend.min.css").get_data(as_text=True)
    urls += re.findall(r"url\((/assets/[^)]+)\)", css)
    init = client.get("/assets/ivr/init.js").get_data(as_text=True)
    urls += re.findall(r'from "(/assets/[^"]+)"', init)
    assert "/assets/govuk-frontend.min.js" in urls and any("/fonts/" in url for url in urls)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        if url.endswith(".js"):
            assert response.mimetype == "text/javascript"
        if url.endswith(".css"):
            assert response.mimetype == "text/css"
    assert client.get("/assets/../pyproject.toml").status_code == 404


def test_the_vendored_release_is_the_pinned_one() -> None:
    """static/govuk holds the govuk-frontend the Makefile pins, and its VERSION says so."""
    pinned = re.search(r"^GOVUK_FRONTEND_VERSION := (\S+)$", (PROJECT / "Makefile").read_text(), re.M).group(1)  # type: ignore[union-attr]
    assert (GOVUK_FOLDER / "VERSION").read_text().startswith(f"govuk-frontend {pinned} ")
    assert f'const version="{pinned}"' in (GOVUK_FOLDER / "govuk-frontend.min.js").read_text()


def test_the_layout_names_the_service_and_links_the_admin_pages(admin_app: Any) -> None:
    """Header, navigation (current page marked), <main> and footer; the title names the service."""
    doc = html.fromstring(admin_app.test_client().get("/admin/", headers=basic("s3cret")).get_data())
    assert doc.get("lang") == "en-GB"
    assert "Safeguarding line router" in doc.findtext(".//title")
    assert "Safeguarding line router" in doc.find_class("govuk-generic-header")[0].text_content()
    links = {a.text_content().strip(): a.get("href") for a in doc.find_class("govuk-service-navigation__link")}
    assert links == {"Now": "/admin/", "Releases": "/admin/releases", "Calls": "/admin/calls"}
    assert doc.find_class("govuk-service-navigation__item--active")[0].text_content().strip() == "Now"
    assert doc.get_element_by_id("main-content").tag == "main"
    assert doc.find_class("govuk-footer")
