"""The administrators' pages."""

from __future__ import annotations

import base64
from typing import Any

from ivr.app import create_app
from ivr.services import services_of
from tests.builders import shipped_copy
from tests.conftest import Twilio


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}


def test_admin_pages_need_the_password(settings: dict[str, Any]) -> None:
    """Without the password: 401; with it: the overview."""
    client = create_app({**settings, "IVR_ADMIN_PASSWORD": "s3cret"}).test_client()
    assert client.get("/admin/").status_code == 401
    assert client.get("/admin/", headers=basic("wrong")).status_code == 401
    assert client.get("/admin/", headers=basic("s3cret")).status_code == 200


def test_no_admin_pages_in_production_without_a_password(app: Any) -> None:
    """Production with no IVR_ADMIN_PASSWORD serves no admin pages at all."""
    assert app.test_client().get("/admin/").status_code == 404


def test_overview_shows_who_takes_calls_now_and_today(settings: dict[str, Any]) -> None:
    """Wednesday 11:00: MASH now until 17:00, and today's hand-overs for child-at-risk."""
    client = create_app({**settings, "IVR_ADMIN_PASSWORD": "pw"}).test_client()
    page = client.get("/admin/", headers=basic("pw")).get_data(as_text=True)
    assert "the Multi-Agency Safeguarding Hub" in page and "Wed 03 Mar 17:00" in page
    assert (
        "00:00 the Social Work Standby Service &rarr; 08:45 the Multi-Agency Safeguarding Hub &rarr; 17:00 the Out of Hours Service"
        in page
    )
    assert "No calls recorded yet." in page


def test_a_call_story_page(settings: dict[str, Any]) -> None:
    """A call made through the webhooks is listed and its story told; numbers stay masked."""
    app = create_app({**settings, "IVR_ADMIN_PASSWORD": "pw"})
    caller = Twilio(app.test_client())
    caller.press(caller.post("/voice/wiltshire"), "1")
    sid = caller.params["CallSid"]
    client = app.test_client()
    overview = client.get("/admin/", headers=basic("pw")).get_data(as_text=True)
    assert f"/admin/calls/{sid}" in overview
    story = client.get(f"/admin/calls/{sid}", headers=basic("pw")).get_data(as_text=True)
    assert "Chose 1 in menu main" in story and "Routed child-at-risk to mash" in story
    assert "+447911123456" not in story
    assert client.get("/admin/calls/CAnothing", headers=basic("pw")).status_code == 404


def test_refused_change_is_shown(settings: dict[str, Any], tmp_path: Any) -> None:
    """A refused configuration change is shown with its problems, and the live digest."""

    folder = tmp_path / "config"
    shipped_copy(folder)
    app = create_app({**settings, "IVR_ADMIN_PASSWORD": "pw", "IVR_CONFIG_DIR": str(folder)})
    (folder / "flows" / "hampshire.yaml").write_text("line: hampshire\n")
    services_of(app).live.refresh()
    page = app.test_client().get("/admin/", headers=basic("pw")).get_data(as_text=True)
    assert "The working files are refused" in page and "flows/hampshire.yaml" in page
    assert f"Configuration <code>{services_of(app).live.digest}</code> is live (from the working files)" in page
