"""The quick card for professionals, /card/<line>, read through the test client.

Expected values are written by hand from the councils' pages (/work/shared/seeds) and the shipped flows'
shortcuts: Wiltshire MASH 0300 456 0108 Mon-Thu 08:45-17:00, Fri 08:45-16:00; Out of Hours 0300 456 0100
to midnight from 17:00 Mon-Thu, 16:00 Fri, 09:00 at weekends and bank holidays; Standby midnight to 09:00
through the Out of Hours number; the Support and Safeguarding Teams' own numbers. Hampshire CRT public
0300 555 1384 and professionals 01329 225379, Mon-Thu 08:30-17:00, Fri 08:30-16:30; Out of Hours
0300 555 1373 at all other times; LADO 01962 876364. Isle of Wight CRT public 0300 300 0117, professionals
0300 300 0901.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import html

from ivr.app import create_app
from tests.builders import shipped_copy, twilio_number

D = "\u2013"
WILTSHIRE_OFFICE = f"Mon{D}Thu 08:45{D}17:00, Fri 08:45{D}16:00; not on bank holidays"
CRT_OFFICE = f"Mon{D}Thu 08:30{D}17:00, Fri 08:30{D}16:30; not on bank holidays"


def words(element: Any) -> str:
    return " ".join(element.text_content().split())


class CardPage:
    """The card, parsed: its tables by caption, and its main text."""

    def __init__(self, body: bytes) -> None:
        self.doc = html.fromstring(body)
        self.main = self.doc.get_element_by_id("main-content")
        self.text = words(self.main)

    def table(self, caption: str) -> list[list[str]]:
        (table,) = [t for t in self.main.iter("table") if words(t.find("caption")) == caption]
        return [[words(cell) for cell in row.xpath("th|td")] for row in table.xpath("tbody/tr")]

    def any_time(self) -> list[str]:
        (heading,) = self.main.xpath("//h3[normalize-space()='Answered at any time']")
        return [words(li) for li in heading.getnext().iter("li")]


@pytest.fixture
def client(settings: dict[str, Any]) -> Any:
    return create_app({**settings, "IVR_ADMIN_PASSWORD": "pw"}).test_client()


def card(client: Any, line: str) -> CardPage:
    response = client.get(f"/card/{line}")
    assert response.status_code == 200
    return CardPage(response.get_data())


def test_the_card_is_public(client: Any) -> None:
    """No password is asked for the card, while the admin pages still want one; the security headers apply."""
    response = client.get("/card/wiltshire")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert client.get("/admin/").status_code == 401


def test_wiltshire_shortcuts_with_their_numbers_and_hours(client: Any) -> None:
    """Every shortcut of the flow, * and its code, the team's number as dialled, and when that team answers."""
    page = card(client, "wiltshire")
    assert page.table("Shortcuts: press these keys during the call") == [
        ["*10", "The Multi-Agency Safeguarding Hub", "0300 456 0108", WILTSHIRE_OFFICE],
        ["*20", "The Designated Officer for Allegations", "0300 456 0108", WILTSHIRE_OFFICE],
        ["*30", "The duty SEND lead worker", "0300 456 0108", WILTSHIRE_OFFICE],
        ["*41", "The North Support and Safeguarding Team", "01249 707900", "Any time"],
        ["*42", "The East Support and Safeguarding Team", "01380 826250", "Any time"],
        ["*43", "The South Support and Safeguarding Team", "01722 438165", "Any time"],
        ["*44", "The West Support and Safeguarding Teams", "01225 718555", "Any time"],
        ["*51", "Children in Care North", "01249 707990", "Any time"],
        ["*52", "Children in Care South", "01722 438165", "Any time"],
        ["*60", "The disabled children's team", "01225 713090", "Any time"],
    ]
    assert "press * and then the code" in page.text


def test_wiltshire_opening_hours_in_words(client: Any) -> None:
    """The child-at-risk route's three teams with their hours from the page; SEND says it is closed at other times."""
    rows = card(client, "wiltshire").table("Who answers each service, and when")
    assert rows[:3] == [
        ["Worried that a child is at risk of harm", "the Multi-Agency Safeguarding Hub", "0300 456 0108", WILTSHIRE_OFFICE],
        [
            "the Social Work Standby Service",
            "0300 456 0100",
            f"Mon{D}Fri 00:00{D}08:45, Sat{D}Sun 00:00{D}09:00; bank holidays 00:00{D}09:00",
        ],
        [
            "the Out of Hours Service",
            "0300 456 0100",
            f"Mon{D}Thu 17:00{D}24:00, Fri 16:00{D}24:00, Sat{D}Sun 09:00{D}24:00; bank holidays 09:00{D}24:00",
        ],
    ]
    assert [
        "Special educational needs and disabilities (SEND) Closed at other times",
        "the duty SEND lead worker",
        "0300 456 0108",
        WILTSHIRE_OFFICE,
    ] in rows


def test_wiltshire_services_answered_at_any_time(client: Any) -> None:
    """Services whose one team takes calls at any time are listed with the number, or the email when there is no phone."""
    listed = card(client, "wiltshire").any_time()
    assert "Advocacy for children and young people: The Advocacy People, 0330 440 9000" in listed
    assert (
        "Young people's sexual health: No Worries, the young people's sexual health service for 13 to 24 year olds, "
        "noworries.nhswiltshire@nhs.net"
    ) in listed
    assert "Childcare information: childcare information for children aged 5 and under, 0300 003 4561" in listed
    assert len(listed) == 14  # 18 services, of which child-at-risk, DOFA, SEND and early support have hours


@pytest.mark.parametrize(
    "line, public, professionals",
    [("hampshire", "0300 555 1384", "01329 225379"), ("isle-of-wight", "0300 300 0117", "0300 300 0901")],
    ids=["hampshire", "isle_of_wight"],
)
def test_crt_lines_say_out_of_hours_takes_all_other_times(client: Any, line: str, public: str, professionals: str) -> None:
    """CRT in office hours, Out of Hours "at all other times" (the page's words), the LADO at any time."""
    page = card(client, line)
    prefix = "the Isle of Wight " if line == "isle-of-wight" else "the "
    assert page.table("Shortcuts: press these keys during the call") == [
        ["*10", "The CRT professionals' line", professionals, CRT_OFFICE],
        ["*20", "The Local Area Designated Officer", "01962 876364", "Any time"],
        ["*30", "The Out of Hours service", "0300 555 1373", f"When {prefix}Children's Reception Team public line is closed"],
    ]
    assert page.table("Who answers each service, and when") == [
        ["Worried that a child is at risk of harm", f"{prefix}Children's Reception Team public line", public, CRT_OFFICE],
        ["the Out of Hours service", "0300 555 1373", "At all other times"],
        ["The CRT professionals' line", f"{prefix}Children's Reception Team professionals' line", professionals, CRT_OFFICE],
        ["the Out of Hours service", "0300 555 1373", "At all other times"],
    ]
    assert page.any_time() == [
        "A concern about a member of staff working with children (LADO): the Local Area Designated Officer, 01962 876364"
    ]


def test_the_999_warning_comes_from_the_flow_and_there_are_no_admin_links(client: Any) -> None:
    """The flow's own warning is the card's first message; a public page links to no administrators' page."""
    page = card(client, "hampshire")
    (warning,) = page.main.find_class("govuk-warning-text")
    assert words(warning) == "! Warning If a child is in immediate danger, hang up and call 999."
    hrefs = page.doc.xpath("//a/@href")
    assert not [href for href in hrefs if href.startswith(("/admin", "/metrics", "/healthz"))], hrefs
    assert not page.doc.xpath("//*[@style]") and not page.doc.xpath("//style")


def test_everything_on_the_card_follows_the_configuration(settings: dict[str, Any], tmp_path: Path) -> None:
    """Change the files and the card changes: the line's own numbers, a team's number, an office's hours, a shortcut."""
    folder = shipped_copy(tmp_path / "config")
    flow = folder / "flows" / "hampshire.yaml"
    flow.write_text(
        flow.read_text()
        .replace("numbers: []", f'numbers: ["{twilio_number(7)}", "{twilio_number(8)}"]')
        .replace("warning: If a child is in immediate danger, hang up and call 999.", "warning: In an emergency, call 999.")
        .replace('{code: "20", name: the Local Area Designated Officer', '{code: "25", name: the LADO')
    )
    schedule = folder / "schedules" / "hampshire.yaml"
    schedule.write_text(
        schedule.read_text()
        .replace('time: "08:30-16:30"}', 'time: "08:30-16:00"}')
        .replace("number: 01962 876364", "number: 01962 876365")
    )
    client = create_app({**settings, "IVR_CONFIG_DIR": str(folder)}).test_client()
    page = card(client, "hampshire")
    assert "Call 020 7946 0007 or 020 7946 0008" in page.text
    assert "In an emergency, call 999." in page.text
    shortcuts = page.table("Shortcuts: press these keys during the call")
    assert shortcuts[0][3] == f"Mon{D}Thu 08:30{D}17:00, Fri 08:30{D}16:00; not on bank holidays"
    assert shortcuts[1] == ["*25", "The LADO", "01962 876365", "Any time"]


def test_the_shipped_lines_list_no_numbers_of_their_own(client: Any) -> None:
    """The shipped flows list no Twilio numbers, so the card names none rather than inventing one."""
    assert "Call " not in card(client, "wiltshire").text.split("Shortcuts")[0]


def test_an_unknown_line_is_a_public_govuk_404(client: Any) -> None:
    """No such line: 404 in GOV.UK's layout, with no administrators' navigation."""
    response = client.get("/card/somerset")
    assert response.status_code == 404
    doc = html.fromstring(response.get_data())
    assert words(doc.find(".//h1")) == "Page not found"
    assert not doc.find_class("govuk-service-navigation")
    assert not [href for href in doc.xpath("//a/@href") if href.startswith("/admin")]
