"""The administrators' Now page and call pages.

Expected values are written by hand from the shipped schedules and the councils' pages
(/work/shared/seeds: Wiltshire MASH 0300 456 0108 Mon-Thu 08:45-17:00, Fri 08:45-16:00; Out of Hours
0300 456 0100 to midnight; Standby midnight to 09:00 through the Out of Hours number; Hampshire CRT
public 0300 555 1384 Mon-Thu 08:30-17:00, Fri 08:30-16:30; Out of Hours 0300 555 1373).
"""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from lxml import html

from ivr.app import create_app
from ivr.services import services_of
from ivr.web.records import records_reader
from tests.builders import shipped_copy
from tests.conftest import FrozenClock, Twilio, london

MASH = "the Multi-Agency Safeguarding Hub, 0300 456 0108"
OUT_OF_HOURS = "the Out of Hours Service, 0300 456 0100"
STANDBY = "the Social Work Standby Service, 0300 456 0100"
CRT_PUBLIC = "the Children's Reception Team public line, 0300 555 1384"
HAMPSHIRE_OUT_OF_HOURS = "the Out of Hours service, 0300 555 1373"


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}


def words(element: Any) -> str:
    """An element's text as a reader sees it: whitespace runs made one space."""
    return " ".join(element.text_content().split())


class NowPage:
    """The Now page, parsed."""

    def __init__(self, body: bytes) -> None:
        self.doc = html.fromstring(body)
        self.text = words(self.doc.get_element_by_id("main-content"))

    def card(self, line: str) -> dict[str, str]:
        """The line's first card (the urgent service): its rows, key -> value text."""
        (card,) = self.doc.xpath(f"//h2[@id='line-{line}']/following-sibling::div[contains(@class, 'govuk-summary-card')][1]")
        rows = card.find_class("govuk-summary-list__row")
        return {
            words(r.find_class("govuk-summary-list__key")[0]): words(r.find_class("govuk-summary-list__value")[0]) for r in rows
        }

    def handovers(self, line: str) -> list[str]:
        (card,) = self.doc.xpath(f"//h2[@id='line-{line}']/following-sibling::div[contains(@class, 'govuk-summary-card')][1]")
        return [words(li) for li in card.iter("li")]

    def table_after(self, line: str, heading: str) -> list[list[str]]:
        """The body rows of the first table after the line's `heading` (an h3)."""
        section = self.doc.xpath(f"//h2[@id='line-{line}']/following-sibling::h3[normalize-space()='{heading}'][1]")[0]
        table = section.xpath("following-sibling::table[1]")[0]
        return [[words(cell) for cell in row.xpath("th|td")] for row in table.xpath("tbody/tr")]


@pytest.fixture
def admin_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {**settings, "IVR_ADMIN_PASSWORD": "pw"}


def now_page(app: Any) -> NowPage:
    response = app.test_client().get("/admin/", headers=basic("pw"))
    assert response.status_code == 200
    return NowPage(response.get_data())


def test_admin_pages_need_the_password(settings: dict[str, Any]) -> None:
    """Without the password: 401; with it: the overview."""
    client = create_app({**settings, "IVR_ADMIN_PASSWORD": "s3cret"}).test_client()
    assert client.get("/admin/").status_code == 401
    assert client.get("/admin/", headers=basic("wrong")).status_code == 401
    assert client.get("/admin/", headers=basic("s3cret")).status_code == 200


def test_no_admin_pages_in_production_without_a_password(app: Any) -> None:
    """Production with no IVR_ADMIN_PASSWORD serves no admin pages at all."""
    assert app.test_client().get("/admin/").status_code == 404


def test_wiltshire_on_a_wednesday_morning(admin_settings: dict[str, Any]) -> None:
    """Wed 3 Mar 2027 11:00: MASH now until 17:00; then Out of Hours, Standby at midnight, MASH at 08:45."""
    page = now_page(create_app(admin_settings))
    assert page.card("wiltshire") == {
        "Now": f"{MASH} until Wed 3 Mar 17:00",
        "Hand-overs until Thu 4 Mar 09:00": (f"Wed 3 Mar 17:00 {OUT_OF_HOURS} Thu 4 Mar 00:00 {STANDBY} Thu 4 Mar 08:45 {MASH}"),
    }


def test_every_line_at_a_glance_first(admin_settings: dict[str, Any]) -> None:
    """The page opens with each line's child-at-risk team now and its hand-overs until the morning."""
    page = now_page(create_app(admin_settings))
    (table,) = page.doc.xpath("//table[@id='at-a-glance']")
    assert table.xpath("preceding::h2[contains(@class, 'govuk-heading-l')]") == []  # before any line's own section
    rows = {words(r.xpath("td|th")[0]): [words(c) for c in r.xpath("td|th")[1:]] for r in table.xpath("tbody/tr")}
    assert rows["Wiltshire Council children's services"] == [
        f"{MASH}, until Wed 3 Mar 17:00",
        f"Wed 3 Mar 17:00 {OUT_OF_HOURS} Thu 4 Mar 00:00 {STANDBY} Thu 4 Mar 08:45 {MASH}",
    ]
    assert rows["Hampshire County Council children's services"] == [
        f"{CRT_PUBLIC}, until Wed 3 Mar 17:00",
        f"Wed 3 Mar 17:00 {HAMPSHIRE_OUT_OF_HOURS} Thu 4 Mar 08:30 {CRT_PUBLIC}",
    ]
    assert len(rows) == 3


def test_hampshire_on_a_wednesday_morning(admin_settings: dict[str, Any]) -> None:
    """Wed 3 Mar 2027 11:00: the CRT public line until 17:00, Out of Hours overnight, CRT again at 08:30."""
    page = now_page(create_app(admin_settings))
    assert page.card("hampshire")["Now"] == f"{CRT_PUBLIC} until Wed 3 Mar 17:00"
    assert page.handovers("hampshire") == [f"Wed 3 Mar 17:00 {HAMPSHIRE_OUT_OF_HOURS}", f"Thu 4 Mar 08:30 {CRT_PUBLIC}"]


@pytest.mark.parametrize(
    "at, now, handovers",
    [
        ("2027-03-05T15:00", f"{MASH} until Fri 5 Mar 16:00", [f"Fri 5 Mar 16:00 {OUT_OF_HOURS}", f"Sat 6 Mar 00:00 {STANDBY}"]),
        ("2027-03-04T03:00", f"{STANDBY} until Thu 4 Mar 08:45", [f"Thu 4 Mar 08:45 {MASH}"]),
        (
            "2027-03-06T12:00",
            f"{OUT_OF_HOURS} until Sun 7 Mar 00:00",
            [f"Sun 7 Mar 00:00 {STANDBY}"],
        ),
    ],
    ids=["friday_afternoon", "small_hours", "saturday"],
)
def test_wiltshire_tonight(admin_settings: dict[str, Any], clock: FrozenClock, at: str, now: str, handovers: list[str]) -> None:
    """Friday closes at 16:00; in the small hours "tonight" runs to this morning; on Saturday Standby takes over at midnight."""
    clock.at = london(at)
    page = now_page(create_app(admin_settings))
    assert page.card("wiltshire")["Now"] == now
    assert page.handovers("wiltshire") == handovers


def test_every_service_now_with_national_numbers(admin_settings: dict[str, Any]) -> None:
    """Each service's team and number as people dial it; no E.164 anywhere on the page."""
    page = now_page(create_app(admin_settings))
    rows = page.table_after("wiltshire", "Every service now")
    assert rows[0] == [
        "worried that a child is at risk of harm",
        "the Multi-Agency Safeguarding Hub",
        "0300 456 0108",
        "Wed 3 Mar 17:00",
    ]
    assert ["advocacy for children and young people", "The Advocacy People", "0330 440 9000", "no change ahead"] in rows
    assert [
        "young people's sexual health",
        "No Worries, the young people's sexual health service for 13 to 24 year olds",
        "noworries.nhswiltshire@nhs.net",
        "no change ahead",
    ] in rows
    assert "+44" not in page.text


def test_a_closed_service_says_when_it_opens(admin_settings: dict[str, Any], clock: FrozenClock) -> None:
    """Wed 3 Mar 2027 20:00: SEND is closed and opens Thu 08:45."""
    clock.at = london("2027-03-03T20:00")
    rows = now_page(create_app(admin_settings)).table_after("wiltshire", "Every service now")
    assert ["special educational needs and disabilities (SEND)", "Closed", "", "opens Thu 4 Mar 08:45"] in rows


def test_bank_holidays_and_how_they_route(admin_settings: dict[str, Any], clock: FrozenClock) -> None:
    """Wed 23 Dec 2026: Christmas Day is next; Wiltshire's child-at-risk goes to Standby then Out of Hours, SEND is closed all day."""
    clock.at = london("2026-12-23T11:00")
    page = now_page(create_app(admin_settings))
    rows = page.table_after("wiltshire", "Next bank holidays")
    # The `holidays` package names Boxing Day on the Saturday as well as the substitute Monday.
    assert [row[0] for row in rows] == ["Fri 25 Dec 2026", "Sat 26 Dec 2026", "Mon 28 Dec 2026", "Fri 1 Jan 2027"]
    christmas = rows[0]
    assert christmas[1] == "Christmas Day"
    assert christmas[2] == f"00:00\u201309:00 {STANDBY}; 09:00\u201324:00 {OUT_OF_HOURS}"
    assert "special educational needs and disabilities (SEND): closed all day" in christmas[3]
    assert "Not as on an ordinary Friday" in christmas[3]
    hampshire = page.table_after("hampshire", "Next bank holidays")[0]
    assert hampshire[2] == f"{HAMPSHIRE_OUT_OF_HOURS}, all day"


def test_diversions_and_closures_with_their_ends(admin_settings: dict[str, Any], tmp_path: Path) -> None:
    """A diversion in force wins now and says until when; a planned closure and a further-notice diversion are listed."""
    folder = shipped_copy(tmp_path / "config")
    schedule = folder / "schedules" / "wiltshire.yaml"
    text = schedule.read_text()
    text = text.replace(
        "closures: []",
        'closures:\n  - {date: 2027-03-05, time: "13:00-24:00", name: Staff afternoon}',
    ).replace(
        "overrides: []",
        "overrides:\n"
        "  - {services: [child-at-risk], to: out-of-hours, from: 2027-03-03T09:00, until: 2027-03-03T12:00, reason: MASH training morning}\n"
        "  - {services: [send], to: mash, from: 2027-03-10T09:00, until: further notice, reason: SEND duty worker away}\n",
    )
    schedule.write_text(text)
    page = now_page(create_app({**admin_settings, "IVR_CONFIG_DIR": str(folder)}))
    assert page.card("wiltshire")["Now"] == f"{OUT_OF_HOURS} Diverted until Wed 3 Mar 12:00"
    assert page.handovers("wiltshire")[0] == f"Wed 3 Mar 12:00 {MASH}"
    diversions, closures = page.doc.xpath(
        "//h2[@id='line-wiltshire']/following-sibling::h3[normalize-space()='Diversions and closures'][1]/following-sibling::table[position() <= 2]"
    )
    assert [[words(c) for c in r.xpath("td|th")] for r in diversions.xpath("tbody/tr")] == [
        [
            "In force",
            "worried that a child is at risk of harm",
            OUT_OF_HOURS,
            "Wed 3 Mar 09:00",
            "Wed 3 Mar 12:00",
            "MASH training morning",
        ],
        [
            "Planned",
            "special educational needs and disabilities (SEND)",
            MASH,
            "Wed 10 Mar 09:00",
            "Further notice",
            "SEND duty worker away",
        ],
    ]
    assert [[words(c) for c in r.xpath("td|th")] for r in closures.xpath("tbody/tr")] == [
        ["Planned", "Staff afternoon", "Fri 5 Mar 13:00", "Sat 6 Mar 00:00"]
    ]
    assert "None in force or planned" in words(page.doc.xpath("//h2[@id='line-hampshire']/following-sibling::p[1]")[0])


def test_the_live_release_is_shown(admin_settings: dict[str, Any]) -> None:
    """After `ivr publish`: its digest, when, who and why."""
    app = create_app(admin_settings)
    services = services_of(app)
    published = services.publisher.publish(
        services.settings.config_dir, london("2027-03-02T16:30"), "J Smith", "MASH hours checked"
    )
    services.live.refresh()
    assert services.live.digest == published.digest
    text = now_page(app).text
    assert f"Release {published.digest}" in text
    assert "Made live Tue 2 Mar 16:30 by J Smith (publish)" in text
    assert "Message MASH hours checked" in text


def test_refused_change_is_shown(admin_settings: dict[str, Any], tmp_path: Path) -> None:
    """A refused configuration change is shown with its problems, and the live digest."""
    folder = shipped_copy(tmp_path / "config")
    app = create_app({**admin_settings, "IVR_CONFIG_DIR": str(folder)})
    (folder / "flows" / "hampshire.yaml").write_text("line: hampshire\n")
    services_of(app).live.refresh()
    page = now_page(app)
    assert "The working files are refused: a change you made is not live." in page.text
    assert "flows/hampshire.yaml" in page.text
    assert f"Release {services_of(app).live.digest} Served from working files" in page.text


def test_a_gap_is_refused_as_a_range(admin_settings: dict[str, Any], tmp_path: Path) -> None:
    """Without Standby: 115 runs of nights from `ivr check`, shown as one row per time of night."""
    folder = shipped_copy(tmp_path / "config")
    app = create_app({**admin_settings, "IVR_CONFIG_DIR": str(folder)})
    schedule = folder / "schedules" / "wiltshire.yaml"
    schedule.write_text(
        schedule.read_text().replace(
            '      - {name: Social Work Standby, to: standby, days: every day, time: "00:00-09:00", on: any}\n', "", 1
        )
    )
    services_of(app).live.refresh()
    page = now_page(app)
    problems = page.doc.xpath("//h3[@id='working-files']/following-sibling::table[1]/tbody/tr")
    texts = [words(row) for row in problems]
    assert len(texts) == 2, texts
    assert texts[0].startswith(
        "schedules/wiltshire.yaml:112 services.child-at-risk always open, but no rule covers 00:00-08:45 on "
    )
    assert ", Thu 4 Mar 2027 to " in texts[0] and "add a rule that covers these times" in texts[0]
    assert "00:00-09:00 on " in texts[1] and ", Sat 6 Mar 2027 to " in texts[1]


def test_the_page_never_waits_for_a_frozen_database(admin_settings: dict[str, Any]) -> None:
    """Records that do not answer: the page comes within the time limit, routing in full, and says what is missing."""
    app = create_app(admin_settings)
    records_reader(app).seconds = 0.2
    frozen = threading.Event()
    services_of(app).store.calls = lambda **_: frozen.wait(10)  # type: ignore[method-assign]
    services_of(app).store.story = lambda _: frozen.wait(10)  # type: ignore[method-assign]
    try:
        started = time.monotonic()
        page = now_page(app)
        assert time.monotonic() - started < 2
        assert "The call records did not answer within 0.2 seconds." in page.text
        assert page.card("wiltshire")["Now"] == f"{MASH} until Wed 3 Mar 17:00"
        call = app.test_client().get("/admin/calls/CAany", headers=basic("pw"))
        assert call.status_code == 503 and "did not answer" in call.get_data(as_text=True)
    finally:
        frozen.set()


def test_the_page_shows_routing_when_the_records_fail(admin_settings: dict[str, Any]) -> None:
    """Records that raise: the page still answers 200 and says they could not be read."""
    app = create_app(admin_settings)

    def down(**_: Any) -> None:
        raise OSError("connection refused")

    services_of(app).store.calls = down  # type: ignore[method-assign]
    page = now_page(app)
    assert "The call records could not be read." in page.text
    assert page.card("hampshire")["Now"] == f"{CRT_PUBLIC} until Wed 3 Mar 17:00"


def test_a_call_story_page(admin_settings: dict[str, Any]) -> None:
    """A call made through the webhooks is listed and its story told; numbers stay masked."""
    app = create_app(admin_settings)
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


def test_no_calls_yet(admin_settings: dict[str, Any]) -> None:
    """An empty call record says so."""
    assert "No calls recorded yet." in now_page(create_app(admin_settings)).text


def test_nothing_valid_is_live(admin_settings: dict[str, Any], tmp_path: Path) -> None:
    """No release and refused working files: the page says callers get the static answer, and lists the problems."""
    folder = shipped_copy(tmp_path / "config")
    (folder / "flows" / "hampshire.yaml").write_text("line: hampshire\n")
    app = create_app({**admin_settings, "IVR_CONFIG_DIR": str(folder)})
    services_of(app).live.refresh()  # what the follower thread does each second
    page = now_page(app)
    banner = words(page.doc.find_class("govuk-notification-banner")[0])
    assert "No valid configuration is live." in banner and "static safe answer" in banner
    assert "flows/hampshire.yaml" in page.text
    assert not page.doc.xpath("//table[@id='at-a-glance']")
