"""The call pages: the calls recorded, narrowed by the filter form, and one call's story with its legal holds.

Calls are written through the app's CallStore (as the ingester stores them) or made through the
webhooks; the expected rows are written by hand from the facts recorded. Times are London time
(GMT in early March 2027).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from lxml import html

from ivr.app import create_app
from ivr.records.store import CallStore
from ivr.services import services_of
from ivr.web import calls_pages
from ivr.web.records import records_reader
from tests.conftest import Twilio, london
from tests.test_web_admin import basic, words

CALLER = "+447911123456"
MASH, HANTS_OUT_OF_HOURS = "+443004560108", "+443005551373"


@pytest.fixture
def admin_app(settings: dict[str, Any]) -> Any:
    return create_app({**settings, "IVR_ADMIN_PASSWORD": "pw"})


def record(
    store: CallStore, sid: str, line: str, at: str, service: str, destination: str, status: str, outcome: str | None
) -> None:
    """A call at `at` (London): the start menu, key 1, routed to `destination`, dialled with `status`, ended with `outcome`."""
    started = london(at)
    store.call_started(sid, line, started, CALLER, "+441225000000", config_digest="0123456789abcdef")
    route = {
        "service": service,
        "destination": destination,
        "number": MASH,
        "rule": "rule 1",
        "config_digest": "0123456789abcdef",
    }
    facts: list[tuple[str, dict[str, Any]]] = [
        ("menu", {"menu": "main"}),
        ("key", {"menu": "main", "digits": "1"}),
        ("route", route),
    ]
    if status:
        facts.append(("dial", {"attempt": 1, "destination": destination, "status": status, "duration": "60"}))
    for index, (kind, detail) in enumerate(facts):
        store.event(sid, started + timedelta(seconds=4 + index), kind, detail, f"step:{index}")
    if outcome:
        store.call_ended(sid, started + timedelta(seconds=70), outcome)


@pytest.fixture
def four_calls(admin_app: Any) -> CallStore:
    """Four calls over Mon 1 to Wed 3 Mar 2027; the Monday one is under a legal hold."""
    store = services_of(admin_app).store
    record(store, "CAmonday", "wiltshire", "2027-03-01T09:05", "send", "send-team", "completed", "connected")
    record(store, "CAtuesday", "hampshire", "2027-03-02T21:30", "child-at-risk", "out-of-hours", "no-answer", "no-answer")
    record(store, "CAwednesday", "wiltshire", "2027-03-03T10:15", "child-at-risk", "mash", "completed", "connected")
    record(store, "CAongoing", "wiltshire", "2027-03-03T10:50", "child-at-risk", "mash", "", None)
    store.hold("CAmonday", london("2027-03-02T09:00"), "J Smith", "Police request 2027/123")
    return store


ROWS = {
    "CAongoing": ["Wed 3 Mar 2027 10:50:00", "CAongoing", "wiltshire", "not ended yet", "none", "main>1 -> child-at-risk"],
    "CAwednesday": [
        "Wed 3 Mar 2027 10:15:00",
        "CAwednesday",
        "wiltshire",
        "connected",
        "mash",
        "main>1 -> child-at-risk -> mash(completed)",
    ],
    "CAtuesday": [
        "Tue 2 Mar 2027 21:30:00",
        "CAtuesday",
        "hampshire",
        "no-answer",
        "none",
        "main>1 -> child-at-risk -> out-of-hours(no-answer)",
    ],
    "CAmonday": [
        "Mon 1 Mar 2027 09:05:00",
        "CAmonday Held",
        "wiltshire",
        "connected",
        "send-team",
        "main>1 -> send -> send-team(completed)",
    ],
}


def get(app: Any, path: str) -> tuple[int, Any]:
    response = app.test_client().get(path, headers=basic("pw"))
    return response.status_code, html.fromstring(response.get_data())


def rows(doc: Any) -> list[list[str]]:
    tables = doc.xpath("//main//table")
    return [[words(cell) for cell in row.xpath("th|td")] for row in tables[0].xpath("tbody/tr")] if tables else []


def main_text(doc: Any) -> str:
    return words(doc.get_element_by_id("main-content"))


@pytest.mark.usefixtures("four_calls")
def test_every_call_newest_first(admin_app: Any) -> None:
    """No filters: the four calls, newest first, with start, line, outcome, who answered, the held marker and the path."""
    status, doc = get(admin_app, "/admin/calls")
    assert status == 200
    assert rows(doc) == [ROWS["CAongoing"], ROWS["CAwednesday"], ROWS["CAtuesday"], ROWS["CAmonday"]]
    assert doc.xpath("//main//table//a/@href")[0] == "/admin/calls/CAongoing"
    assert "4 calls" in main_text(doc)


@pytest.mark.usefixtures("four_calls")
@pytest.mark.parametrize(
    "query, shown",
    [
        ("line=hampshire", ["CAtuesday"]),
        ("service=send", ["CAmonday"]),
        ("service=child-at-risk&line=wiltshire", ["CAongoing", "CAwednesday"]),
        ("outcome=connected", ["CAwednesday", "CAmonday"]),
        ("outcome=none", ["CAongoing"]),
        ("outcome=no-answer", ["CAtuesday"]),
        ("from-day=2&from-month=3&from-year=2027&to-day=2&to-month=3&to-year=2027", ["CAtuesday"]),
        ("from-day=3&from-month=3&from-year=2027", ["CAongoing", "CAwednesday"]),
        ("to-day=1&to-month=3&to-year=2027", ["CAmonday"]),
        ("from-day=4&from-month=3&from-year=2027", []),
        ("held=yes", ["CAmonday"]),
        ("line=isle-of-wight&outcome=busy", []),
    ],
    ids=[
        "line",
        "service",
        "service_and_line",
        "connected",
        "not_ended",
        "no_answer",
        "one_day",
        "from",
        "to",
        "none_yet",
        "held",
        "none",
    ],
)
def test_the_filters(admin_app: Any, query: str, shown: list[str]) -> None:
    """Each filter, as the form sends it, keeps only the calls it names; a date range includes both its days."""
    status, doc = get(admin_app, f"/admin/calls?{query}")
    assert status == 200
    assert rows(doc) == [ROWS[sid] for sid in shown]
    if not shown:
        assert "No calls match these filters." in main_text(doc)


@pytest.mark.usefixtures("four_calls")
def test_the_form_shows_what_was_chosen(admin_app: Any) -> None:
    """After a search the selects, the dates and the checkbox show what was asked for, and a link clears them."""
    _, doc = get(admin_app, "/admin/calls?line=hampshire&outcome=no-answer&from-day=2&from-month=3&from-year=2027&held=yes")
    assert doc.xpath("//select[@name='line']/option[@selected]/@value") == ["hampshire"]
    assert doc.xpath("//select[@name='outcome']/option[@selected]/@value") == ["no-answer"]
    assert doc.xpath("//select[@name='service']/option[@selected]") == []
    assert [doc.xpath(f"//input[@name='from-{part}']/@value")[0] for part in ("day", "month", "year")] == ["2", "3", "2027"]
    assert doc.xpath("//input[@name='held']/@checked") == ["checked"]
    assert doc.xpath("//form/@method") == ["get"]
    assert doc.xpath("//a[normalize-space()='Clear the filters']/@href") == ["/admin/calls"]


def test_the_selects_offer_the_configured_lines_services_and_outcomes(admin_app: Any) -> None:
    """The lines and services come from the live configuration; the outcomes are those `ivr calls --outcome` takes."""
    _, doc = get(admin_app, "/admin/calls")
    assert doc.xpath("//select[@name='line']/option/@value") == ["", "hampshire", "isle-of-wight", "wiltshire"]
    services = doc.xpath("//select[@name='service']/option/@value")
    assert {"child-at-risk", "allegation-about-staff", "send", "professionals"} <= set(services)
    outcomes = ["", "connected", "completed", "busy", "no-answer", "failed", "canceled", "none"]
    assert doc.xpath("//select[@name='outcome']/option/@value") == outcomes


@pytest.mark.usefixtures("four_calls")
def test_showing_the_newest_n(admin_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """More calls than the page shows: the newest, and it says so."""
    monkeypatch.setattr(calls_pages, "SHOWN", 2)
    _, doc = get(admin_app, "/admin/calls")
    assert rows(doc) == [ROWS["CAongoing"], ROWS["CAwednesday"]]
    assert "Showing the newest 2: there are more. Narrow the dates to see earlier ones." in main_text(doc)


@pytest.mark.usefixtures("four_calls")
@pytest.mark.parametrize(
    "query, errors",
    [
        ("from-day=31&from-month=2&from-year=2027", [("#from-day", "Date from must be a real date")]),
        ("from-day=3", [("#from-month", "Date from must include a month and year")]),
        ("to-day=3&to-year=2027", [("#to-month", "Date to must include a month")]),
        ("to-day=x&to-month=3&to-year=2027", [("#to-day", "Date to must be a real date")]),
        ("from-day=3&from-month=3&from-year=27", [("#from-day", "Date from must be a real date")]),
        ("to-day=31&to-month=12&to-year=9999", [("#to-day", "Date to must be a real date")]),
        ("from-day=1_0&from-month=3&from-year=2027", [("#from-day", "Date from must be a real date")]),
        (
            "from-day=3&from-month=3&from-year=2027&to-day=2&to-month=3&to-year=2027",
            [("#to-day", "Date to must be the same as or after date from")],
        ),
        ("outcome=maybe", [("#outcome", "Select how the calls ended from the list")]),
        (
            "outcome=maybe&from-month=13&from-day=1&from-year=2027&to-year=2027",
            [
                ("#outcome", "Select how the calls ended from the list"),
                ("#from-day", "Date from must be a real date"),
                ("#to-day", "Date to must include a day and month"),
            ],
        ),
    ],
    ids=[
        "not_a_day",
        "day_only",
        "no_month",
        "letters",
        "two_digit_year",
        "last_day_of_9999",
        "underscore",
        "to_before_from",
        "outcome",
        "three",
    ],
)
def test_bad_input_is_said_in_an_error_summary(admin_app: Any, query: str, errors: list[tuple[str, str]]) -> None:
    """A date that is not one, or a value not offered: 400, GOV.UK's error summary linking each field, never a 500."""
    response = admin_app.test_client().get(f"/admin/calls?{query}", headers=basic("pw"))
    assert response.status_code == 400
    doc = html.fromstring(response.get_data())
    summary = doc.find_class("govuk-error-summary")[0]
    assert [(a.get("href"), words(a)) for a in summary.iter("a")] == errors
    assert doc.xpath("//title")[0].text_content().startswith("Error: Calls")
    for href, text in errors:  # each message is also beside its field, and each link's target exists
        assert doc.xpath(f"//*[@id='{href[1:]}']"), f"no field {href}"
        assert f"Error: {text}" in [words(e) for e in doc.find_class("govuk-error-message")]
    assert rows(doc) == []


def test_a_refused_date_is_shown_back_as_typed(admin_app: Any) -> None:
    """The fields keep what was typed, and the wrong parts are marked."""
    _, doc = get(admin_app, "/admin/calls?from-day=31&from-month=2&from-year=2027")
    assert [doc.xpath(f"//input[@name='from-{part}']/@value")[0] for part in ("day", "month", "year")] == ["31", "2", "2027"]
    assert all("govuk-input--error" in doc.get_element_by_id(f"from-{part}").get("class") for part in ("day", "month", "year"))


def test_records_that_fail_give_a_page_that_says_so(admin_app: Any) -> None:
    """A database that raises: 503, the form still there, and a sentence saying the records could not be read."""

    def down(**_: Any) -> None:
        raise OSError("connection refused")

    services_of(admin_app).store.calls = down  # type: ignore[method-assign]
    status, doc = get(admin_app, "/admin/calls?line=wiltshire")
    assert status == 503
    assert "The call records could not be read. The calls cannot be shown now" in main_text(doc)
    assert doc.xpath("//select[@name='line']/option[@selected]/@value") == ["wiltshire"]


def test_records_that_freeze_do_not_hold_the_page(admin_app: Any) -> None:
    """A database that does not answer: the list and the story come within the time limit and say so."""
    records_reader(admin_app).seconds = 0.2
    frozen = threading.Event()
    store = services_of(admin_app).store
    store.calls = lambda **_: frozen.wait(10)  # type: ignore[method-assign, assignment, return-value]
    store.story = lambda _: frozen.wait(10)  # type: ignore[method-assign, assignment, return-value]
    try:
        for path in ("/admin/calls", "/admin/calls/CAany"):
            started = time.monotonic()
            status, doc = get(admin_app, path)
            assert time.monotonic() - started < 2
            assert status == 503 and "did not answer within 0.2 seconds" in main_text(doc)
    finally:
        frozen.set()


def test_a_call_made_through_the_webhooks_is_listed_and_told(admin_app: Any) -> None:
    """A caller presses 1 in Wiltshire on Wednesday at 11:00: listed, and its page tells the story with the number masked."""
    caller = Twilio(admin_app.test_client())
    caller.press(caller.post("/voice/wiltshire"), "1")
    sid = caller.params["CallSid"]
    _, doc = get(admin_app, "/admin/calls")
    assert rows(doc) == [["Wed 3 Mar 2027 11:00:00", sid, "wiltshire", "not ended yet", "none", "main>1 -> child-at-risk"]]
    status, doc = get(admin_app, f"/admin/calls/{sid}")
    assert status == 200
    story = [words(li) for li in doc.xpath("//h2[normalize-space()='What happened']/following-sibling::ol[1]/li")]
    assert story[0].startswith(f"11:00:00 Call {sid} to wiltshire from caller #") and story[0].endswith(
        "(number masked), Wed 03 Mar 2027 GMT"
    )
    assert "11:00:00 Chose 1 in menu main" in story
    assert any(line.startswith(f"11:00:00 Routed child-at-risk to mash ({MASH}) by rule 1: MASH") for line in story)
    assert "No legal hold has been placed on this call." in main_text(doc)
    assert CALLER not in doc.text_content() and "07911 123456" not in doc.text_content()


def test_a_kept_number_is_still_masked(settings: dict[str, Any]) -> None:
    """With IVR_KEEP_CALLER_NUMBERS the store keeps the number; the page shows its last three digits only."""
    app = create_app({**settings, "IVR_ADMIN_PASSWORD": "pw", "IVR_KEEP_CALLER_NUMBERS": "1"})
    caller = Twilio(app.test_client())
    caller.press(caller.post("/voice/wiltshire"), "1")
    sid = caller.params["CallSid"]
    assert services_of(app).store.story(sid).call.caller_number == CALLER  # type: ignore[union-attr]
    for path in ("/admin/calls", f"/admin/calls/{sid}"):
        body = app.test_client().get(path, headers=basic("pw")).get_data(as_text=True)
        assert CALLER not in body and "7911123456" not in body and "07911 123456" not in body
    _, doc = get(app, f"/admin/calls/{sid}")
    assert "(*********456)" in main_text(doc)


def test_a_call_page_shows_its_facts_and_holds(admin_app: Any, four_calls: CallStore) -> None:
    """A held call: its line, times, outcome, who answered, and the hold in the story's words; a release is kept in the history."""
    four_calls.release("CAmonday", london("2027-03-03T09:30"), "K Jones", "Case closed")
    four_calls.hold("CAmonday", london("2027-03-03T10:00"), "J Smith", "Court order 42")
    status, doc = get(admin_app, "/admin/calls/CAmonday")
    assert status == 200
    facts = {
        words(r.find_class("govuk-summary-list__key")[0]): words(r.find_class("govuk-summary-list__value")[0])
        for r in doc.find_class("govuk-summary-list__row")
    }
    assert facts == {
        "Line": "wiltshire",
        "Started": "Mon 1 Mar 2027 09:05:00",
        "Ended": "Mon 1 Mar 2027 09:06:10: connected",
        "Answered by": "send-team",
        "Path": "main>1 -> send -> send-team(completed)",
    }
    holds = [words(li) for li in doc.xpath("//h2[normalize-space()='Legal holds']/following-sibling::ul[1]/li")]
    assert holds == [
        "Legal hold from Tue 02 Mar 2027 09:00 GMT, by J Smith: Police request 2027/123; "
        "released Wed 03 Mar 2027 09:30 GMT, by K Jones: Case closed",
        "Legal hold since Wed 03 Mar 2027 10:00 GMT, by J Smith: Court order 42",
    ]
    story = [words(li) for li in doc.xpath("//h2[normalize-space()='What happened']/following-sibling::ol[1]/li")]
    assert story[-1] == "09:06:10 Call ended: connected"
    assert "Held" in main_text(doc).split("Line wiltshire")[0]


def test_an_unknown_call_is_govuks_page_not_found(admin_app: Any) -> None:
    """A SID the records do not hold: 404 with GOV.UK's page-not-found words and a link to the calls."""
    status, doc = get(admin_app, "/admin/calls/CAnothing")
    assert status == 404
    assert main_text(doc).startswith("Page not found")
    assert doc.xpath("//main//a/@href") == ["/admin/calls"]


@pytest.mark.usefixtures("four_calls")
def test_the_pages_need_the_password(admin_app: Any) -> None:
    """Without the password (or with a wrong one): 401, and no call is shown."""
    client = admin_app.test_client()
    for path in ("/admin/calls", "/admin/calls?line=wiltshire", "/admin/calls/CAmonday"):
        for headers in ({}, basic("wrong")):
            response = client.get(path, headers=headers)
            assert response.status_code == 401
            assert "CAmonday" not in response.get_data(as_text=True)
