"""The week page, /admin/<line>/week?from=DATE, read through the test client.

Expected values are written by hand from the councils' pages (/work/shared/seeds) and the England bank
holidays: Wiltshire MASH 0300 456 0108 Mon-Thu 08:45-17:00, Fri 08:45-16:00; Out of Hours 0300 456 0100
to midnight from 17:00 Mon-Thu, 16:00 Fri, 09:00 at weekends and on bank holidays; Standby midnight to
09:00 every day through the Out of Hours number. Hampshire CRT public 0300 555 1384 Mon-Thu 08:30-17:00,
Fri 08:30-16:30; Out of Hours 0300 555 1373 at all other times. Christmas Day 2026 is a Friday; Boxing
Day falls on the Saturday, so Monday 28 December is its substitute bank holiday.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import html

from ivr.app import create_app
from tests.builders import shipped_copy

MASH = ("the Multi-Agency Safeguarding Hub", "0300 456 0108")
OUT_OF_HOURS = ("the Out of Hours Service", "0300 456 0100")
STANDBY = ("the Social Work Standby Service", "0300 456 0100")
CRT_PUBLIC = ("the Children's Reception Team public line", "0300 555 1384")
HANTS_OUT_OF_HOURS = ("the Out of Hours service", "0300 555 1373")
# The rules' own words for them, as the schedule files write them.
STANDBY_RULE = "Social Work Standby, every day 00:00-09:00 on every kind of day"
BANK_HOLIDAY_RULE = "Out of Hours, every day 09:00-24:00 on bank-holiday, closure"
DASH = "\u2013"


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}


def words(element: Any) -> str:
    return " ".join(element.text_content().split())


class WeekPage:
    """The week page, parsed: its heading, what is special about the days, and each service's table."""

    def __init__(self, body: bytes) -> None:
        self.doc = html.fromstring(body)
        self.main = self.doc.get_element_by_id("main-content")
        self.text = words(self.main)

    @property
    def heading(self) -> str:
        return words(self.main.find(".//h1"))

    def special(self) -> list[tuple[str, str]]:
        """The rows of "What is special about these days": (day, what)."""
        rows = self.main.find_class("govuk-summary-list__row")
        return [
            (words(r.find_class("govuk-summary-list__key")[0]), words(r.find_class("govuk-summary-list__value")[0])) for r in rows
        ]

    def rows(self, service: str) -> list[list[str]]:
        """The service's table: [day, time, taken by, number, why] per row."""
        (table,) = self.main.xpath(f"//h3[@id='service-{service}']/following-sibling::div[1]/table")
        return [[words(cell) for cell in row.xpath("th|td")] for row in table.xpath("tbody/tr")]

    def on(self, service: str, day: str) -> list[tuple[str, str, str, str]]:
        """The service's rows for one day, the reason left out: (time, taken by, number, what makes the day special or "")."""
        (table,) = self.main.xpath(f"//h3[@id='service-{service}']/following-sibling::div[1]/table")
        found = []
        for row in table.xpath("tbody/tr"):
            when, time, who, number, why = row.xpath("th|td")
            if words(when) == day:
                occasion = " ".join(words(strong) for strong in why.iter("strong"))
                found.append((words(time), words(who), words(number), occasion))
        return found

    def why(self, service: str, day: str, time: str) -> str:
        (found,) = [row[4] for row in self.rows(service) if row[0] == day and row[1] == time]
        return found

    def chart(self, service: str) -> Any:
        (svg,) = self.main.xpath(f"//h3[@id='service-{service}']/following-sibling::*[local-name()='svg'][1]")
        return svg


@pytest.fixture
def client(settings: dict[str, Any]) -> Any:
    return create_app({**settings, "IVR_ADMIN_PASSWORD": "pw"}).test_client()


def week_page(client: Any, path: str, status: int = 200) -> WeekPage:
    response = client.get(path, headers=basic("pw"))
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return WeekPage(response.get_data())


def test_christmas_day_is_routed_as_a_bank_holiday(client: Any) -> None:
    """From Mon 21 Dec 2026: Christmas Day (Friday) has no MASH, Standby to 09:00 then Out of Hours, as a bank holiday."""
    page = week_page(client, "/admin/wiltshire/week?from=2026-12-21")
    assert page.heading == "Mon 21 Dec to Sun 27 Dec 2026"
    assert ("Fri 25 Dec", "Bank holiday: Christmas Day") in page.special()
    assert page.on("child-at-risk", "Fri 25 Dec") == [
        (f"00:00{DASH}09:00", *STANDBY, "Bank holiday: Christmas Day"),
        (f"09:00{DASH}24:00", *OUT_OF_HOURS, "Bank holiday: Christmas Day"),
    ]
    assert BANK_HOLIDAY_RULE in page.why("child-at-risk", "Fri 25 Dec", f"09:00{DASH}24:00")
    # The ordinary Thursday before it keeps the office's hours; SEND is closed all Christmas Day.
    assert page.on("child-at-risk", "Thu 24 Dec") == [
        (f"00:00{DASH}08:45", *STANDBY, ""),
        (f"08:45{DASH}17:00", *MASH, ""),
        (f"17:00{DASH}24:00", *OUT_OF_HOURS, ""),
    ]
    assert page.on("send", "Fri 25 Dec") == [(f"00:00{DASH}24:00", "Closed", "", "Bank holiday: Christmas Day")]


def test_an_ordinary_friday_for_comparison(client: Any) -> None:
    """Fri 18 Dec 2026, the week before: MASH closes at 16:00, Out of Hours takes the evening, nothing is a bank holiday."""
    page = week_page(client, "/admin/wiltshire/week?from=2026-12-14")
    assert page.on("child-at-risk", "Fri 18 Dec") == [
        (f"00:00{DASH}08:45", *STANDBY, ""),
        (f"08:45{DASH}16:00", *MASH, ""),
        (f"16:00{DASH}24:00", *OUT_OF_HOURS, ""),
    ]
    assert "No bank holiday, council closure, diversion or clock change in these seven days." in page.text


def test_the_next_week_routes_the_boxing_day_substitute_as_a_bank_holiday(client: Any) -> None:
    """Next week from 21 Dec is 28 Dec: Monday 28 December, Boxing Day's substitute, is a bank holiday; Tuesday is ordinary."""
    page = week_page(client, "/admin/wiltshire/week?from=2026-12-21")
    (following,) = page.doc.xpath("//a[@rel='next']/@href")
    assert following == "/admin/wiltshire/week?from=2026-12-28"
    page = week_page(client, following)
    assert page.heading == "Mon 28 Dec 2026 to Sun 3 Jan 2027"
    assert ("Mon 28 Dec", "Bank holiday: Boxing Day (observed)") in page.special()
    assert ("Fri 1 Jan", "Bank holiday: New Year's Day") in page.special()
    holiday = "Bank holiday: Boxing Day (observed)"
    assert page.on("child-at-risk", "Mon 28 Dec") == [
        (f"00:00{DASH}09:00", *STANDBY, holiday),
        (f"09:00{DASH}24:00", *OUT_OF_HOURS, holiday),
    ]
    assert page.on("child-at-risk", "Tue 29 Dec")[1] == (f"08:45{DASH}17:00", *MASH, "")
    hampshire = week_page(client, "/admin/hampshire/week?from=2026-12-28")
    assert hampshire.on("child-at-risk", "Mon 28 Dec") == [(f"00:00{DASH}24:00", *HANTS_OUT_OF_HOURS, holiday)]
    assert hampshire.on("child-at-risk", "Tue 29 Dec") == [
        (f"00:00{DASH}08:30", *HANTS_OUT_OF_HOURS, ""),
        (f"08:30{DASH}17:00", *CRT_PUBLIC, ""),
        (f"17:00{DASH}24:00", *HANTS_OUT_OF_HOURS, ""),
    ]


def test_whole_days_alike_are_one_row_and_the_previous_week_is_linked(client: Any) -> None:
    """A team that has every minute of several days in a row for one reason is one row; "Previous week" goes back 7 days."""
    page = week_page(client, "/admin/hampshire/week?from=2026-12-21")
    rows = page.rows("allegation-about-staff")
    assert [row[:4] for row in rows] == [
        ["Mon 21 Dec to Thu 24 Dec", f"00:00{DASH}24:00 each day", "the Local Area Designated Officer", "01962 876364"],
        ["Fri 25 Dec", f"00:00{DASH}24:00", "the Local Area Designated Officer", "01962 876364"],
        ["Sat 26 Dec", f"00:00{DASH}24:00", "the Local Area Designated Officer", "01962 876364"],
        ["Sun 27 Dec", f"00:00{DASH}24:00", "the Local Area Designated Officer", "01962 876364"],
    ]
    assert page.doc.xpath("//a[@rel='prev']/@href") == ["/admin/hampshire/week?from=2026-12-14"]


def test_without_from_it_shows_this_week_from_monday(client: Any) -> None:
    """The clock says Wed 3 Mar 2027: the page shows Mon 1 Mar to Sun 7 Mar, with no error."""
    page = week_page(client, "/admin/wiltshire/week")
    assert page.heading == "Mon 1 Mar to Sun 7 Mar 2027"
    assert not page.main.find_class("govuk-error-summary")
    assert page.doc.get_element_by_id("from").get("value") == "2027-03-01"


@pytest.mark.parametrize(
    "given, message",
    [
        ("2026-13-01", "Enter a real date, for example 21/12/2026"),
        ("2026-02-30", "Enter a real date, for example 21/12/2026"),
        ("next tuesday", "Enter a real date, for example 21/12/2026"),
        ("20261221", "Enter a real date, for example 21/12/2026"),
        ("", "Enter the date the week starts from"),
        ("1999-12-27", "Enter a date between 2000 and 2099"),
        ("9999-12-31", "Enter a date between 2000 and 2099"),
    ],
    ids=["month_13", "february_30", "words", "no_dashes", "empty", "too_early", "end_of_time"],
)
def test_a_bad_date_shows_this_week_with_an_error_summary(client: Any, given: str, message: str) -> None:
    """A date that cannot be read is never a 500: this week, and a GOV.UK error summary linking to the date field."""
    page = week_page(client, f"/admin/wiltshire/week?from={given}")
    assert page.heading == "Mon 1 Mar to Sun 7 Mar 2027"
    (summary,) = page.main.find_class("govuk-error-summary")
    (link,) = summary.xpath(".//a")
    assert words(link) == message and link.get("href") == "#from"
    assert page.doc.find(".//title").text.startswith("Error: ")
    assert words(page.main.find_class("govuk-error-message")[0]) == f"Error: {message}"


def test_an_unknown_line_is_a_govuk_404_and_the_page_needs_the_password(client: Any) -> None:
    """No such line: 404 in GOV.UK's layout; without the password every week page is refused first."""
    response = client.get("/admin/somerset/week", headers=basic("pw"))
    assert response.status_code == 404
    doc = html.fromstring(response.get_data())
    assert "govuk-template__body" in doc.body.get("class")
    assert words(doc.find(".//h1")) == "Page not found"
    assert "There is no line called \u2018somerset\u2019." in words(doc.body)
    assert client.get("/admin/wiltshire/week").status_code == 401
    assert client.get("/admin/somerset/week").status_code == 401


def test_the_charts_are_labelled_images_with_a_band_per_team(client: Any) -> None:
    """Each SVG is role=img named by its own <title> and <desc>; a band per team with its number; bank holidays named."""
    page = week_page(client, "/admin/wiltshire/week?from=2026-12-21")
    svg = page.chart("child-at-risk")
    assert svg.get("role") == "img"
    title_id, desc_id = svg.get("aria-labelledby").split()
    assert svg.xpath(f".//*[local-name()='title'][@id='{title_id}']")[0].text.startswith(
        "Who takes the calls: worried that a child is at risk of harm, Mon 21 Dec to Sun 27 Dec 2026"
    )
    assert "real elapsed time" in svg.xpath(f".//*[local-name()='desc'][@id='{desc_id}']")[0].text
    texts = [t.text for t in svg.xpath(".//*[local-name()='text']")]
    assert {f"{name}, {number}" for name, number in (MASH, STANDBY, OUT_OF_HOURS)} <= set(texts)
    assert "Christmas Day" in texts and "Boxing Day" in texts
    assert len(svg.xpath(".//*[local-name()='rect'][contains(@class, 'ivr-week-chart__day--holiday')]")) == 2
    send = [t.text for t in page.chart("send").xpath(".//*[local-name()='text']")]
    assert "Closed: no one takes the calls" in send


@pytest.mark.parametrize(
    "first, change, day, length, standby",
    [
        ("2027-03-22", "The clocks go forward at 01:00 GMT to 02:00 BST: this day is 23 hours long", "Sun 28 Mar", 23, "8 hours"),
        ("2026-10-19", "The clocks go back at 02:00 BST to 01:00 GMT: this day is 25 hours long", "Sun 25 Oct", 25, "10 hours"),
    ],
    ids=["spring_forward", "fall_back"],
)
def test_a_clock_change_is_marked_and_drawn_to_real_time(
    client: Any, first: str, change: str, day: str, length: int, standby: str
) -> None:
    """The change is named with its wall times; Standby's 00:00-09:00 says its real length; the day's column is as wide as it is long."""
    page = week_page(client, f"/admin/wiltshire/week?from={first}")
    assert (day, change) in page.special()
    (night,) = [row for row in page.rows("child-at-risk") if row[0] == day and row[1].startswith(f"00:00{DASH}09:00")]
    assert night[1].startswith(f"00:00{DASH}09:00, {standby}: the clocks go")
    svg = page.chart("child-at-risk")
    columns = svg.xpath(".//*[local-name()='rect'][contains(@class, 'ivr-week-chart__day ')]")
    widths = [float(c.get("width")) for c in columns]
    week_hours = 6 * 24 + length
    assert widths[-1] == pytest.approx(960 * length / week_hours, abs=0.2)
    assert widths[0] == pytest.approx(960 * 24 / week_hours, abs=0.2)
    assert len(svg.xpath(".//*[local-name()='line'][@class='ivr-week-chart__clock-change']")) == 1


def test_closures_and_diversions_are_named_and_their_rows_say_why(settings: dict[str, Any], tmp_path: Path) -> None:
    """A part-day closure gives its hours to the closure rule; a diversion beats the office and is tagged, with its reason."""
    folder = shipped_copy(tmp_path / "config")
    schedule = folder / "schedules" / "wiltshire.yaml"
    schedule.write_text(
        schedule.read_text()
        .replace("closures: []", 'closures:\n  - {date: 2027-03-25, time: "13:00-24:00", name: Staff afternoon}')
        .replace(
            "overrides: []",
            "overrides:\n  - {services: [child-at-risk], to: out-of-hours, from: 2027-03-23T09:00, until: 2027-03-23T12:00,"
            " reason: MASH training morning}\n",
        )
    )
    client = create_app({**settings, "IVR_ADMIN_PASSWORD": "pw", "IVR_CONFIG_DIR": str(folder)}).test_client()
    page = week_page(client, "/admin/wiltshire/week?from=2027-03-22")
    special = page.special()
    assert (
        "Thu 25 Mar",
        f"Council closure, 13:00{DASH}24:00: Staff afternoon (only rules marked closure apply)",
    ) in special
    assert (
        "Diversion",
        "MASH training morning: worried that a child is at risk of harm to the Out of Hours Service, Tue 23 Mar 09:00 until Tue 23 Mar 12:00",
    ) in special
    assert page.on("child-at-risk", "Thu 25 Mar") == [
        (f"00:00{DASH}08:45", *STANDBY, ""),
        (f"08:45{DASH}13:00", *MASH, ""),
        (f"13:00{DASH}24:00", *OUT_OF_HOURS, "Council closure: Staff afternoon"),
    ]
    tuesday = [row for row in page.rows("child-at-risk") if row[0] == "Tue 23 Mar"]
    assert [row[1:3] for row in tuesday] == [
        [f"00:00{DASH}08:45", STANDBY[0]],
        [f"08:45{DASH}09:00", MASH[0]],
        [f"09:00{DASH}12:00", f"{OUT_OF_HOURS[0]} Diverted"],
        [f"12:00{DASH}17:00", MASH[0]],
        [f"17:00{DASH}24:00", OUT_OF_HOURS[0]],
    ]
    assert re.fullmatch(r"diverted: MASH training morning \(schedules/wiltshire\.yaml:\d+\)", tuesday[2][4])
    svg = page.chart("child-at-risk")
    assert len(svg.xpath(".//*[local-name()='rect'][@class='ivr-week-chart__closure']")) == 1
    assert len(svg.xpath(".//*[local-name()='rect'][@class='ivr-week-chart__diverted']")) == 1


def test_no_inline_style_or_script_and_numbers_as_dialled(client: Any) -> None:
    """The page keeps to the CSP (no style attribute or element, one nonce'd script) and writes no E.164 number."""
    response = client.get("/admin/wiltshire/week?from=2026-12-21", headers=basic("pw"))
    doc = html.fromstring(response.get_data())
    assert not doc.xpath("//*[@style]") and not doc.xpath("//style")
    assert [s.get("nonce") is not None for s in doc.xpath("//script[not(@src)]")] == [True]
    assert "+44" not in words(doc.body)
    assert response.headers["Cache-Control"] == "no-store"
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    assert doc.xpath("//link[@rel='stylesheet']/@href") == ["/assets/govuk-frontend.min.css", "/assets/ivr/pages.css"]
    assert client.get("/assets/ivr/pages.css").status_code == 200


def test_the_now_page_links_to_each_lines_week_and_card(client: Any) -> None:
    """The overview gives every line a link to its week and to its quick card."""
    doc = html.fromstring(client.get("/admin/", headers=basic("pw")).get_data())
    links = set(doc.xpath("//main//a/@href"))
    for line in ("wiltshire", "hampshire", "isle-of-wight"):
        assert f"/admin/{line}/week" in links and f"/card/{line}" in links
