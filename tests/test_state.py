"""The values one webhook step knows, and their URL forms: what the flow writes, the next step reads back."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl, urlencode

import pytest

from ivr.core.errors import UnknownService
from ivr.core.model import Flow, Schedule
from ivr.core.state import Call, Chain, DialResult, Heard, Screening, Where
from tests.builders import LONDON, shipped

NOW = datetime(2027, 3, 3, 11, 0, tzinfo=LONDON)
VIA = "option 1 of the main menu"


@pytest.fixture(scope="module")
def flow() -> Flow:
    """Wiltshire's flow: menus main, other, children-in-care, support-safeguarding, young-people; 3 tries."""
    return shipped().line("wiltshire").flow


@pytest.fixture(scope="module")
def schedule() -> Schedule:
    """Wiltshire's schedule: destinations mash, out-of-hours, standby, ...; services child-at-risk, send, ..."""
    return shipped().line("wiltshire").schedule


def through_a_url(query: dict[str, str]) -> dict[str, str]:
    """What a handler reads back after `query` went out in a URL and came back from Twilio."""
    return dict(parse_qsl(urlencode(query), keep_blank_values=True))


# -- Where ----------------------------------------------------------------------------------------


def test_where_url_form() -> None:
    """A place in the menus is its trail joined by dots and its try."""
    assert Where(("main", "other"), 2).to_query() == {"trail": "main.other", "try": "2"}


@pytest.mark.parametrize(
    "where",
    [Where(("main",)), Where(("main", "other"), 2), Where(("main", "other", "children-in-care"), 3)],
    ids=["start", "sub-menu-second-try", "two-deep-last-try"],
)
def test_where_round_trip(flow: Flow, where: Where) -> None:
    """What to_query writes, from_query reads back as the same place."""
    assert Where.from_query(through_a_url(where.to_query()), flow, where.menu) == where
    assert Where.from_query(through_a_url(where.to_query()), flow) == where, "the code step names no menu in its path"


@pytest.mark.parametrize(
    ("args", "menu", "expected"),
    [
        ({"trail": "main.nope.other"}, "other", Where(("main", "other"))),
        ({"trail": "main"}, "other", Where(("main", "other"))),
        ({"trail": "main.other"}, "no-such-menu", Where(("main",))),
        ({}, "other", Where(("other",))),
        ({"trail": "main.other", "try": "99999999999999999999"}, "other", Where(("main", "other"), 3)),
        ({"trail": "main", "try": "-7"}, "main", Where(("main",), 1)),
        ({"trail": "main", "try": "two"}, "main", Where(("main",), 1)),
        ({"trail": "main.\x00evil"}, None, Where(("main",))),
    ],
    ids=[
        "unknown-menu-dropped",
        "path-menu-appended",
        "unknown-path-menu",
        "no-trail",
        "huge-try",
        "negative-try",
        "word-try",
        "unknown-last",
    ],
)
def test_where_limits(flow: Flow, args: dict[str, str], menu: str | None, expected: Where) -> None:
    """Unknown menus never enter a trail and the try stays within the line's 3."""
    assert Where.from_query(args, flow, menu) == expected


# -- Chain ----------------------------------------------------------------------------------------


def test_a_chain_nobody_was_rung_on_is_only_its_way_in() -> None:
    """The connect step's URL carries only `via`."""
    assert Chain("child-at-risk", VIA).to_query() == {"via": VIA}


def test_a_rung_chain_names_who_which_round_and_which_dial() -> None:
    """After two dials in round 1 the URL names both teams, the round and the dial number."""
    chain = Chain("child-at-risk", VIA).rung("mash").rung("out-of-hours")
    assert chain == Chain("child-at-risk", VIA, ("mash", "out-of-hours"), 1, 2)
    assert chain.to_query() == {"via": VIA, "tried": "mash,out-of-hours", "round": "1", "attempt": "2"}


def test_the_next_round_starts_the_chain_again_and_keeps_counting_dials() -> None:
    """Round 2 has tried nobody yet but remembers the 2 dials made, so the URL says so."""
    chain = Chain("child-at-risk", VIA, ("mash", "out-of-hours"), 1, 2).next_round()
    assert chain == Chain("child-at-risk", VIA, (), 2, 2)
    assert chain.to_query() == {"via": VIA, "round": "2", "attempt": "2"}


@pytest.mark.parametrize(
    "chain",
    [
        Chain("child-at-risk", VIA),
        Chain("child-at-risk", VIA, ("mash",), 1, 1),
        Chain("befriending", "professional shortcut 10", ("befriending", "befriending-mobile"), 3, 7),
        Chain("send", "after 3 tries without a choice", (), 2, 1),
    ],
    ids=["fresh", "one-dial", "last-round", "second-round"],
)
def test_chain_round_trip(schedule: Schedule, chain: Chain) -> None:
    """What to_query writes, from_query reads back as the same chain."""
    assert Chain.from_query(through_a_url(chain.to_query()), chain.service, schedule) == chain


def test_a_chain_with_nothing_in_its_url_has_the_defaults(schedule: Schedule) -> None:
    """No query: reached through the menu, nobody tried, round 1, no dial yet."""
    assert Chain.from_query({}, "child-at-risk", schedule) == Chain("child-at-risk", "the menu", (), 1, 0)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"round": "99999999999999999999", "attempt": "99999999999999999999"}, Chain("child-at-risk", round=3, attempt=1000)),
        ({"round": "-1", "attempt": "-1"}, Chain("child-at-risk", round=1, attempt=0)),
        ({"round": "1e3", "attempt": "0x10"}, Chain("child-at-risk")),
        ({"round": "9" * 5000}, Chain("child-at-risk")),
        ({"tried": "mash,../../etc,,out-of-hours,MASH"}, Chain("child-at-risk", tried=("mash", "out-of-hours"))),
        ({"via": "option 1\x1f\x00 of\n the main menu\u200b"}, Chain("child-at-risk", via="option 1 of the main menu")),
        ({"via": "\x07\x1b"}, Chain("child-at-risk", via="the menu")),
        ({"via": ""}, Chain("child-at-risk", via="the menu")),
        ({"via": "x" * 500}, Chain("child-at-risk", via="x" * 80)),
        ({"service": "send", "line": "hampshire"}, Chain("child-at-risk")),
    ],
    ids=[
        "huge-numbers",
        "negative-numbers",
        "not-numbers",
        "too-many-digits",
        "unknown-destinations",
        "unprintable-via",
        "nothing-printable",
        "empty-via",
        "long-via",
        "unknown-keys",
    ],
)
def test_chain_limits(schedule: Schedule, args: dict[str, str], expected: Chain) -> None:
    """Hostile values are clamped, dropped or cut; the chain never names more than the flow could have written."""
    assert Chain.from_query(args, "child-at-risk", schedule) == expected


def test_a_chain_of_an_unknown_service_is_refused(schedule: Schedule) -> None:
    """A service the schedule lacks raises UnknownService (a LookupError), which the web turns into the safe route."""
    with pytest.raises(UnknownService, match="no-such-service"):
        Chain.from_query({}, "no-such-service", schedule)
    assert issubclass(UnknownService, LookupError)


# -- Screening ------------------------------------------------------------------------------------


def test_the_screening_of_a_chains_last_dial() -> None:
    """The answerer's leg names the caller's call, the dial number, the service and the way in."""
    chain = Chain("child-at-risk", VIA, ("mash",), 1, 1)
    assert chain.screening("CA1") == Screening("CA1", 1, "child-at-risk", VIA, 1)


def test_screening_url_forms() -> None:
    """`/screened` names everything; `/screen/<service>` leaves the service to the path and a first hearing unsaid."""
    first = Screening("CA1", 1, "child-at-risk", VIA)
    assert first.to_query() == {"call": "CA1", "attempt": "1", "service": "child-at-risk", "via": VIA, "try": "1"}
    assert first.to_query(service_in_path=True) == {"call": "CA1", "attempt": "1", "via": VIA}
    assert first.heard_again().to_query(service_in_path=True) == {"call": "CA1", "attempt": "1", "via": VIA, "try": "2"}


@pytest.mark.parametrize(
    "screening",
    [Screening("CA" + "1" * 32, 1, "child-at-risk", VIA), Screening("CA9", 4, "send", "professional shortcut 30", 2)],
    ids=["first-hearing", "second-hearing"],
)
def test_screening_round_trip(schedule: Schedule, screening: Screening) -> None:
    """Both URL forms read back as the same leg."""
    assert Screening.from_query(through_a_url(screening.to_query()), schedule) == screening
    in_path = through_a_url(screening.to_query(service_in_path=True))
    assert Screening.from_query(in_path, schedule, screening.service) == screening


@pytest.mark.parametrize(
    ("args", "parent", "expected"),
    [
        ({"service": "child-at-risk", "call": "C" * 500}, "", Screening("C" * 64, 0, "child-at-risk")),
        ({"service": "child-at-risk"}, "CA7", Screening("CA7", 0, "child-at-risk")),
        ({"service": "child-at-risk", "call": "CA1"}, "CA7", Screening("CA1", 0, "child-at-risk")),
        (
            {"service": "child-at-risk", "try": "99999999999999999999", "attempt": "5000"},
            "",
            Screening("", 1000, "child-at-risk", hearing=2),
        ),
        ({"service": "child-at-risk", "try": "0", "via": "\x1f"}, "", Screening("", 0, "child-at-risk", "the menu", 1)),
    ],
    ids=["long-call-sid", "parent-stands-in", "url-call-first", "huge-numbers", "low-try-unprintable-via"],
)
def test_screening_limits(schedule: Schedule, args: dict[str, str], parent: str, expected: Screening) -> None:
    """The call SID is cut to 64, the hearing kept to 1 or 2, dials to 1000; Twilio's ParentCallSid fills a missing call."""
    assert Screening.from_query(args, schedule, parent=parent) == expected


def test_a_screening_of_an_unknown_service_is_refused(schedule: Schedule) -> None:
    """No service, or one the schedule lacks, raises UnknownService."""
    with pytest.raises(UnknownService):
        Screening.from_query({}, schedule)
    with pytest.raises(UnknownService):
        Screening.from_query({"service": "child-at-risk"}, schedule, "nope")


# -- what Twilio posts ----------------------------------------------------------------------------


def test_call_from_twilios_form() -> None:
    """SID and called number are cut short; a real caller is E.164; a withheld one is None and marked withheld."""
    form = {"CallSid": "CA" + "f" * 100, "From": "07911 123456", "To": "+44" + "1" * 40}
    assert Call.from_form(form, NOW) == Call("CA" + "f" * 62, "+447911123456", "+44" + "1" * 29, NOW)
    assert Call.from_form({"From": "anonymous"}, NOW) == Call("", None, "", NOW, withheld=True)
    assert Call.from_form({"From": "+4479111234567"}, NOW) == Call("", None, "", NOW, withheld=False)


LINE_NUMBER = "+441225000000"  # the Twilio number the caller rang (To)


@pytest.mark.parametrize(
    ("sent", "caller_id"),
    [
        ("+447911123456", "+447911123456"),
        ("+33142685300", "+33142685300"),
        ("+353861234567", "+353861234567"),
        ("anonymous", None),
        ("+266696687", None),
        ("restricted", None),
        ("unknown", None),
        ("+4479111234567", LINE_NUMBER),
        ("12345", LINE_NUMBER),
        ("not a number", LINE_NUMBER),
        ("", LINE_NUMBER),
    ],
    ids=[
        "uk_mobile",
        "french",
        "irish_mobile",
        "anonymous",
        "anonymous_on_a_keypad",
        "restricted",
        "unknown",
        "one_digit_too_many",
        "short_code",
        "words",
        "empty",
    ],
)
def test_the_caller_id_a_team_sees(sent: str, caller_id: str | None) -> None:
    """The caller's own valid number; nothing for a withheld caller (Twilio keeps it withheld); else the line's number."""
    assert Call.from_form({"From": sent, "To": LINE_NUMBER}, NOW).caller_id() == caller_id


def test_with_no_from_at_all_the_line_number_is_shown() -> None:
    """A form without From is not a withheld caller: the line's own number is shown."""
    assert Call.from_form({"To": LINE_NUMBER}, NOW).caller_id() == LINE_NUMBER


def test_without_a_valid_called_number_no_caller_id_is_made_up() -> None:
    """An invalid caller on a call whose To is not a valid number gets no callerId: nothing else is known to be allowed."""
    assert Call.from_form({"From": "garbage", "To": "client:alice"}, NOW).caller_id() is None
    assert Call("CA1", None, "", NOW).caller_id() is None


def test_heard_from_twilios_form() -> None:
    """Up to 8 keys and 200 characters of speech; nothing posted is nothing heard."""
    assert Heard.from_form({"Digits": "1234567890", "SpeechResult": "a" * 300}) == Heard("12345678", "a" * 200)
    assert Heard.from_form({}) == Heard("", "")


def test_dial_result_from_twilios_form() -> None:
    """Twilio's DialCallStatus and DialCallDuration, with the acceptance the records hold."""
    form = {"DialCallStatus": "completed", "DialCallDuration": "75"}
    assert DialResult.from_form(form, True) == DialResult("completed", "75", True)
    assert DialResult.from_form({}, None) == DialResult("", "", None)
