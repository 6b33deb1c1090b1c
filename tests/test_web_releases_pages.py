"""The release pages: the history, newest first, and each release's routing difference in `ivr diff`'s words.

Releases are published with Publisher.publish on copies of the shipped files. The expected lines are
written by hand from the shipped Wiltshire schedule (MASH Mon-Thu 08:45-17:00; DOFA for allegations
about staff; Out of Hours the diversion's target), as tests/test_releases.py expects `ivr diff` to print them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from lxml import html

from ivr.app import create_app
from ivr.live import Published
from ivr.services import Services, services_of
from ivr.web.records import records_reader
from tests.builders import shipped_copy
from tests.conftest import london
from tests.test_web_admin import basic, words

FIRST_AT, SECOND_AT, ROLLBACK_AT = london("2027-03-01T09:00"), london("2027-03-02T16:30"), london("2027-03-03T10:00")
TRAINING = (
    "overrides:\n  - {services: [child-at-risk, allegation-about-staff], to: out-of-hours, "
    "from: 2027-03-10T09:00, until: 2027-03-10T12:00, reason: MASH training morning}\n"
)
DIVERTED = [
    "Wed 10 Mar 09:00-12:00 wiltshire child-at-risk: the Multi-Agency Safeguarding Hub -> the Out of Hours Service "
    "(diversion 'MASH training morning')",
    "Wed 10 Mar 09:00-12:00 wiltshire allegation-about-staff: the Designated Officer for Allegations -> the Out of Hours "
    "Service (diversion 'MASH training morning')",
]
SUMMARY = "2 routing changes (wiltshire allegation-about-staff, wiltshire child-at-risk)"


@pytest.fixture
def admin_app(settings: dict[str, Any]) -> Any:
    return create_app({**settings, "IVR_ADMIN_PASSWORD": "pw"})


@pytest.fixture
def services(admin_app: Any) -> Services:
    return services_of(admin_app)


def publish_two(services: Services, tmp_path: Path) -> tuple[Published, Published, Path]:
    """The shipped files by alice on Mon 1 Mar, then with the MASH training diversion by bob on Tue 2 Mar."""
    folder = shipped_copy(tmp_path / "config")
    first = services.publisher.publish(folder, FIRST_AT, "alice", "first")
    schedule = folder / "schedules" / "wiltshire.yaml"
    schedule.write_text(schedule.read_text().replace("overrides: []\n", TRAINING))
    second = services.publisher.publish(folder, SECOND_AT, "bob", "MASH training")
    return first, second, folder


def get(app: Any, path: str) -> tuple[int, Any]:
    response = app.test_client().get(path, headers=basic("pw"))
    return response.status_code, html.fromstring(response.get_data())


def main_text(doc: Any) -> str:
    return words(doc.get_element_by_id("main-content"))


def table_rows(doc: Any, index: int = 0) -> list[list[str]]:
    table = doc.xpath("//main//table")[index]
    return [[words(cell) for cell in row.xpath("th|td")] for row in table.xpath("tbody/tr")]


def difference(doc: Any, seq: int) -> list[str]:
    """The bullet lines under the heading of the `seq`th time a release was made live."""
    (heading,) = doc.xpath(f"//h3[starts-with(normalize-space(), 'No. {seq}:')]")
    following = heading.xpath("following-sibling::*[self::ul or self::h3 or self::h2][1]")[0]
    return [words(li) for li in following.iter("li")] if following.tag == "ul" else []


def test_the_history_newest_first_with_the_live_one_tagged(admin_app: Any, services: Services, tmp_path: Path) -> None:
    """Two publications and a rollback: three rows, newest first, each with when, who, what and why; the newest is live."""
    first, second, _ = publish_two(services, tmp_path)
    services.publisher.rollback(first.digest, ROLLBACK_AT, "carol", "training cancelled")
    status, doc = get(admin_app, "/admin/releases")
    assert status == 200
    assert table_rows(doc) == [
        ["3", "Wed 3 Mar 2027 10:00", f"{first.digest} Live", "rollback", "carol", "training cancelled", SUMMARY],
        ["2", "Tue 2 Mar 2027 16:30", second.digest, "publish", "bob", "MASH training", SUMMARY],
        ["1", "Mon 1 Mar 2027 09:00", first.digest, "publish", "alice", "first", "first release: 3 lines"],
    ]
    links = doc.xpath("//main//table//a/@href")
    assert links == [f"/admin/releases/{first.digest}", f"/admin/releases/{second.digest}", f"/admin/releases/{first.digest}"]


def test_a_release_shows_the_difference_in_ivr_diffs_words(admin_app: Any, services: Services, tmp_path: Path) -> None:
    """The second release: who, when and why, and the diversion's two stretches exactly as `ivr diff` prints them."""
    first, second, _ = publish_two(services, tmp_path)
    status, doc = get(admin_app, f"/admin/releases/{second.digest}")
    assert status == 200
    text = main_text(doc)
    assert text.startswith(f"Release {second.digest} Live ")
    assert "Published Tue 2 Mar 2027 16:30 by bob" in text and "Message MASH training" in text
    assert f"What it changed when published {SUMMARY}" in text
    assert "No. 2: made live Tue 2 Mar 2027 16:30 by bob (publish: MASH training)" in text
    assert f"Against release {first.digest}, live before it, over the 14 days from Tue 2 Mar 2027 16:30" in text
    assert difference(doc, 2) == DIVERTED


def test_the_files_with_their_digests_and_what_changed(admin_app: Any, services: Services, tmp_path: Path) -> None:
    """Each file by name with the start of its SHA-256; only Wiltshire's schedule differs from the release before."""
    _, second, folder = publish_two(services, tmp_path)
    _, doc = get(admin_app, f"/admin/releases/{second.digest}")
    rows = table_rows(doc)
    names = sorted(f"{path.parent.name}/{path.name}" for path in folder.glob("*/*.yaml"))
    assert [row[0] for row in rows] == names
    for name, sha, changed in rows:
        assert sha == hashlib.sha256((folder / name).read_bytes()).hexdigest()[:16]
        assert changed == ("Changed" if name == "schedules/wiltshire.yaml" else "the same")


def test_a_rollback_is_a_difference_against_the_release_before_it(admin_app: Any, services: Services, tmp_path: Path) -> None:
    """Rolled back to the first: its page shows both times it went live; the rollback undoes the diversion."""
    first, second, _ = publish_two(services, tmp_path)
    services.publisher.rollback(first.digest, ROLLBACK_AT, "carol", "training cancelled")
    _, doc = get(admin_app, f"/admin/releases/{first.digest}")
    text = main_text(doc)
    assert "No. 3: made live Wed 3 Mar 2027 10:00 by carol (rollback: training cancelled)" in text
    assert f"Against release {second.digest}, live before it" in text
    undone = difference(doc, 3)
    assert [line.split(" (")[0] for line in undone] == [
        "Wed 10 Mar 09:00-12:00 wiltshire child-at-risk: the Out of Hours Service -> the Multi-Agency Safeguarding Hub",
        "Wed 10 Mar 09:00-12:00 wiltshire allegation-about-staff: the Out of Hours Service -> the Designated Officer for Allegations",
    ]
    assert undone[0].endswith("(rule 1: MASH, Mon-Thu 08:45-17:00 -> mash (schedules/wiltshire.yaml:118))")
    assert "No. 1: made live Mon 1 Mar 2027 09:00 by alice (publish: first)" in text
    assert "The first release: nothing was live before it" in text


def test_a_change_of_words_only_makes_no_routing_difference(admin_app: Any, services: Services, tmp_path: Path) -> None:
    """A new greeting for Hampshire: `ivr diff`'s own sentence for no difference, and only that flow file changed."""
    first, _, folder = publish_two(services, tmp_path)
    services.publisher.rollback(first.digest, ROLLBACK_AT, "carol", "")
    flow = folder / "flows" / "hampshire.yaml"
    schedule = folder / "schedules" / "wiltshire.yaml"
    schedule.write_text(schedule.read_text().replace(TRAINING, "overrides: []\n"))
    flow.write_text(flow.read_text().replace("greeting: ", "greeting: Hello. ", 1))
    third = services.publisher.publish(folder, london("2027-03-03T10:30"), "dan", "a warmer greeting")
    _, doc = get(admin_app, f"/admin/releases/{third.digest}")
    assert difference(doc, 4) == [f"no routing difference from {first.digest} in the next 14 days"]
    changed = [row[0] for row in table_rows(doc) if row[2] == "Changed"]
    assert changed == ["flows/hampshire.yaml"]


def test_an_unknown_release_is_govuks_page_not_found(admin_app: Any, services: Services, tmp_path: Path) -> None:
    """A digest the records do not hold: 404 with GOV.UK's page-not-found words; a unique prefix goes to the full digest."""
    _, second, _ = publish_two(services, tmp_path)
    status, doc = get(admin_app, "/admin/releases/0123456789abcdef")
    assert status == 404
    assert main_text(doc).startswith("Page not found If you typed the web address, check it is correct.")
    assert doc.xpath("//title")[0].text_content().startswith("Page not found")
    moved = admin_app.test_client().get(f"/admin/releases/{second.digest[:8]}", headers=basic("pw"))
    assert moved.status_code == 302 and moved.headers["Location"] == f"/admin/releases/{second.digest}"


def test_nothing_published_yet(admin_app: Any) -> None:
    """An empty log says how a release is made live."""
    status, doc = get(admin_app, "/admin/releases")
    assert status == 200
    assert "Nothing has been published yet" in main_text(doc)


def test_the_pages_change_nothing(admin_app: Any, services: Services, tmp_path: Path) -> None:
    """No form or button that could publish or roll back; a POST is refused."""
    first, second, _ = publish_two(services, tmp_path)
    for path in ("/admin/releases", f"/admin/releases/{first.digest}"):
        _, doc = get(admin_app, path)
        assert doc.xpath("//main//form | //main//button | //main//input") == []
        assert admin_app.test_client().post(path, headers=basic("pw")).status_code == 405
    assert services.publisher.releases.live() == (2, second.digest)


def test_the_pages_need_the_password(admin_app: Any, services: Services, tmp_path: Path) -> None:
    """Without the password (or with a wrong one): 401, and nothing of the release is shown."""
    first, _, _ = publish_two(services, tmp_path)
    client = admin_app.test_client()
    for path in ("/admin/releases", f"/admin/releases/{first.digest}"):
        for headers in ({}, basic("wrong")):
            response = client.get(path, headers=headers)
            assert response.status_code == 401
            assert first.digest not in response.get_data(as_text=True)


def test_records_that_fail_give_a_page_that_says_so(admin_app: Any, services: Services) -> None:
    """A database that raises: 503 pages that say the records could not be read, in GOV.UK's layout."""

    def down(*_: Any, **__: Any) -> None:
        raise OSError("connection refused")

    releases = services.publisher.releases
    releases.history = down  # type: ignore[method-assign]
    releases.get = down  # type: ignore[method-assign]
    for path in ("/admin/releases", "/admin/releases/0123456789abcdef"):
        status, doc = get(admin_app, path)
        assert status == 503
        assert "The call records could not be read." in main_text(doc)
        assert "govuk-template__body" in doc.body.get("class")


def test_records_that_freeze_do_not_hold_the_page(admin_app: Any, services: Services) -> None:
    """A database that does not answer: the pages come within the time limit and say so."""
    records_reader(admin_app).seconds = 0.2
    frozen = threading.Event()
    releases = services.publisher.releases
    releases.history = lambda **_: frozen.wait(10)  # type: ignore[method-assign, assignment, return-value]
    releases.get = lambda _: frozen.wait(10)  # type: ignore[method-assign, assignment, return-value]
    try:
        for path in ("/admin/releases", "/admin/releases/0123456789abcdef"):
            started = time.monotonic()
            status, doc = get(admin_app, path)
            assert time.monotonic() - started < 2
            assert status == 503 and "did not answer within 0.2 seconds" in main_text(doc)
    finally:
        frozen.set()
