"""The voice webhooks as Twilio meets them: signed posts in, valid TwiML out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from ivr import config
from ivr.app import create_app
from ivr.core import numbers
from ivr.core.flow import ROUNDS
from ivr.services import services_of
from tests.builders import shipped_copy
from tests.conftest import FrozenClock, Twilio, london

OFFICE = "2027-03-03T11:00"  # a Wednesday
EVENING = "2027-03-03T20:00"
NIGHT = "2027-03-04T02:00"
CONFIG = config.load(config.PROJECT_DIR)
WORDS_PER_SECOND = 2.5  # Polly speaks about 150 words a minute

CLOSED = "closed"  # the service is shut: its closed message, nothing dialled
DETAILS = "details"  # the team has no number: its details are read out

# What each service does at OFFICE, EVENING and NIGHT, written by hand from the councils' pages
# (/work/shared/seeds/README.md) and schedules/*.yaml; never asked of the router.
MASH, WILTS_OOH = "+443004560108", "+443004560100"  # Standby is reached on the Out of Hours number
HANTS_OOH, LADO = "+443005551373", "+441962876364"
BY_SERVICE = {
    ("wiltshire", "child-at-risk"): (MASH, WILTS_OOH, WILTS_OOH),
    ("wiltshire", "allegation-about-staff"): (MASH, WILTS_OOH, WILTS_OOH),
    ("wiltshire", "send"): (MASH, CLOSED, CLOSED),
    ("wiltshire", "early-support"): (MASH, CLOSED, CLOSED),
    ("wiltshire", "advocacy"): ("+443304409000",) * 3,
    ("wiltshire", "sexual-health"): (DETAILS,) * 3,
    ("wiltshire", "disabled-children"): ("+441225713090",) * 3,
    ("wiltshire", "children-in-care-north"): ("+441249707990",) * 3,
    ("wiltshire", "children-in-care-south"): ("+441722438165",) * 3,
    ("wiltshire", "befriending"): ("+441225713934",) * 3,
    ("wiltshire", "sst-north"): ("+441249707900",) * 3,
    ("wiltshire", "sst-east"): ("+441380826250",) * 3,
    ("wiltshire", "sst-south"): ("+441722438165",) * 3,
    ("wiltshire", "sst-west"): ("+441225718555",) * 3,
    ("wiltshire", "childcare-information"): ("+443000034561",) * 3,
    ("wiltshire", "drugs-alcohol"): ("+448001696136",) * 3,
    ("wiltshire", "education-training"): ("+441225716890",) * 3,
    ("wiltshire", "young-peoples-service"): ("+441249709400",) * 3,
    ("hampshire", "child-at-risk"): ("+443005551384", HANTS_OOH, HANTS_OOH),
    ("hampshire", "professionals"): ("+441329225379", HANTS_OOH, HANTS_OOH),
    ("hampshire", "allegation-about-staff"): (LADO,) * 3,
    ("isle-of-wight", "child-at-risk"): ("+443003000117", HANTS_OOH, HANTS_OOH),
    ("isle-of-wight", "professionals"): ("+443003000901", HANTS_OOH, HANTS_OOH),
    ("isle-of-wight", "allegation-about-staff"): (LADO,) * 3,
}


def test_greeting_then_warning_then_urgent_option_within_15_seconds(twilio: Twilio) -> None:
    """A new call hears the line's name, then the 999 warning, and option 1 within 15 seconds."""
    answer = twilio.post("/voice/wiltshire")
    says = answer.says()
    assert "Wiltshire" in says[0]
    assert "999" in says[1] and "immediate danger" in says[1]
    assert "press 1" in says[2] and "at risk" in says[2]
    words_before_option_1 = sum(len(s.split()) for s in says[:3])
    assert words_before_option_1 / WORDS_PER_SECOND <= 15
    gather = answer.gather()
    assert gather is not None and gather.get("numDigits") == "1"
    assert all(child.tag == "Say" for child in gather), "every prompt sits inside the Gather (barge-in)"
    assert gather.get("action", "").startswith("https://ivr.example.org/voice/wiltshire/input/main")


def test_voice_picks_the_line_by_called_number(settings: dict[str, Any], tmp_path: Path) -> None:
    """POST /voice chooses the line whose flow lists the called number, else the default line."""
    folder = shipped_copy(tmp_path / "config")
    path = folder / "flows" / "hampshire.yaml"
    path.write_text(path.read_text().replace("numbers: []", 'numbers: ["+441962000000"]'))
    # The number-to-line table is made when the configuration loads, so the number is in the file.
    twilio = Twilio(create_app({**settings, "IVR_CONFIG_DIR": str(folder)}).test_client())
    assert "Wiltshire" in twilio.post("/voice", To="+441111111111").says()[0]
    assert "Hampshire" in twilio.post("/voice", To="+441962000000").says()[0]


def test_polly_british_voice_by_default(twilio: Twilio) -> None:
    """Every Say uses Polly.Amy in en-GB."""
    answer = twilio.post("/voice/hampshire")
    for say in answer.doc.iter("Say"):
        assert say.get("voice") == "Polly.Amy" and say.get("language") == "en-GB"


def _menu_options() -> list[tuple[str, tuple[str, ...], str, Any]]:
    cases = []
    for key, line in CONFIG.lines.items():
        flow = line.flow
        paths = {flow.start: (flow.start,)}
        todo = [flow.start]
        while todo:
            menu = todo.pop()
            for option in flow.menus[menu].options:
                if option.menu and option.menu not in paths:
                    paths[option.menu] = (*paths[menu], option.menu)
                    todo.append(option.menu)
        for menu, trail in paths.items():
            for option in flow.menus[menu].options:
                cases.append((key, trail, option.key, option))
    return cases


@pytest.mark.parametrize("at", [OFFICE, EVENING, NIGHT], ids=["office", "evening", "night"])
@pytest.mark.parametrize(("line", "trail", "key", "option"), _menu_options(), ids=lambda v: v if isinstance(v, str) else None)
def test_every_menu_option(
    twilio: Twilio, clock: FrozenClock, at: str, line: str, trail: tuple[str, ...], key: str, option: Any
) -> None:
    """Each option opens its menu, or rings the team the schedule names now, or reads its details."""
    clock.at = london(at)
    menu = twilio.post(f"/voice/{line}/menu/{trail[-1]}?trail={'.'.join(trail)}")
    answer = twilio.press(menu, key)
    if option.menu:
        assert answer.gather().get("action", "").split("?")[0].endswith(f"/input/{option.menu}")
        return
    expected = BY_SERVICE[(line, option.service)][(OFFICE, EVENING, NIGHT).index(at)]
    if expected == CLOSED:
        assert "closed" in answer.text() and answer.dialled() == []
    elif expected == DETAILS:
        assert "Email" in answer.text() and answer.dialled() == []
    else:
        assert answer.dialled() == [expected]


@pytest.mark.parametrize(
    ("line", "at", "number"),
    [
        ("wiltshire", OFFICE, "+443004560108"),
        ("wiltshire", EVENING, "+443004560100"),
        ("wiltshire", "2026-12-25T10:00", "+443004560100"),
        ("hampshire", OFFICE, "+443005551384"),
        ("hampshire", EVENING, "+443005551373"),
        ("isle-of-wight", OFFICE, "+443003000117"),
        ("isle-of-wight", NIGHT, "+443005551373"),
    ],
    ids=["wilts-office", "wilts-evening", "wilts-christmas", "hants-office", "hants-evening", "iow-office", "iow-night"],
)
def test_option_1_connects_the_team_on_duty(twilio: Twilio, clock: FrozenClock, line: str, at: str, number: str) -> None:
    """Option 1 dials the exact number the pages give for that moment, a 0300 contact centre connected on pickup, with the caller's number."""
    clock.at = london(at)
    answer = twilio.press(twilio.post(f"/voice/{line}"), "1")
    dial = answer.dial()
    assert answer.dialled() == [number]
    assert dial.get("answerOnBridge") == "true" and dial.get("callerId") == "+447911123456"
    assert int(dial.get("timeout")) > 0
    assert "/voice/" + line + "/dialled/child-at-risk" in dial.get("action")
    number_noun = next(dial.iter("Number"))
    assert number_noun.get("url") is None and number_noun.get("machineDetection") is None  # `answer: direct`


def test_speech_choice(twilio: Twilio) -> None:
    """Saying the option's word works like pressing its key."""
    menu = twilio.post("/voice/wiltshire")
    answer = twilio.post(menu.gather().get("action"), SpeechResult="I'm worried about a child")
    assert answer.dialled() == ["+443004560108"]


def test_withheld_caller_is_still_connected(twilio: Twilio) -> None:
    """An anonymous caller is connected without a caller ID."""
    twilio.params["From"] = "anonymous"
    answer = twilio.press(twilio.post("/voice/hampshire"), "1")
    assert answer.dialled() == ["+443005551384"] and answer.dial().get("callerId") is None


# -- repeat, back, retries --------------------------------------------------------------------


def test_repeat_and_back_keys(twilio: Twilio) -> None:
    """9 plays the menu again; 0 in a sub-menu goes back to the one before."""
    main = twilio.post("/voice/wiltshire")
    other = twilio.press(main, "6")
    assert "Our other services." in other.text()
    again = twilio.press(other, "9")
    assert again.says() == other.says()
    back = twilio.press(other, "0")
    assert back.gather().get("action").split("?")[0].endswith("/input/main")


def test_no_input_at_the_start_menu_connects_child_at_risk(twilio: Twilio) -> None:
    """Silence through the start menu connects the child-at-risk route at once: no replay, never a hang-up."""
    answer = twilio.wait(twilio.post("/voice/wiltshire"))
    assert answer.says() == ["Connecting you to someone who can help."]
    connected = twilio.post(answer.redirect())
    assert connected.dialled() == ["+443004560108"]


def test_no_input_in_a_sub_menu_replays_it_up_to_three_tries(twilio: Twilio) -> None:
    """Silence in a sub-menu (the caller could press 6) replays it up to 3 tries, then connects the child-at-risk route."""
    answer = twilio.press(twilio.post("/voice/wiltshire"), "6")
    for attempt in (1, 2):
        answer = twilio.wait(answer)
        assert "did not hear a choice" in answer.text()
        answer = twilio.post(answer.redirect())
        assert f"try={attempt + 1}" in answer.gather().get("action")
    answer = twilio.wait(answer)
    assert "Connecting you to someone who can help." in answer.text()
    connected = twilio.post(answer.redirect())
    assert connected.dialled() == ["+443004560108"]


def test_every_replay_of_the_start_menu_says_the_999_warning_first(twilio: Twilio) -> None:
    """After a wrong key, and after 9 or 0, the start menu opens with the 999 warning again."""
    warning = "If a child is in immediate danger, hang up and call 999."
    start = twilio.post("/voice/wiltshire")
    sorry = twilio.press(start, "7")
    replays = [twilio.post(sorry.redirect()), twilio.press(start, "9"), twilio.press(twilio.press(start, "6"), "0")]
    for replay in replays:
        assert replay.says()[0] == warning and replay.gather().get("action", "").split("?")[0].endswith("/input/main")


def test_invalid_key_counts_as_a_try(twilio: Twilio) -> None:
    """A key not on the menu is apologised for and the menu replayed."""
    answer = twilio.press(twilio.post("/voice/hampshire"), "7")
    assert "not one of the options" in answer.text()
    assert "try=2" in answer.redirect()


# -- shortcuts --------------------------------------------------------------------------------

SHORTCUT_CASES = [(line, code, shortcut) for line, cfg in CONFIG.lines.items() for code, shortcut in cfg.flow.shortcuts.items()]

# (number dialled or None, whether "not open" is announced) at OFFICE and at NIGHT, by hand from the
# pages and flows/*.yaml: a shortcut expecting a team that is not on duty says so and rings the one that is.
SHORTCUT_EXPECTED = {
    ("wiltshire", "10"): ((MASH, False), (WILTS_OOH, True)),
    ("wiltshire", "20"): ((MASH, False), (WILTS_OOH, True)),
    ("wiltshire", "30"): ((MASH, False), (None, False)),
    ("wiltshire", "41"): (("+441249707900", False),) * 2,
    ("wiltshire", "42"): (("+441380826250", False),) * 2,
    ("wiltshire", "43"): (("+441722438165", False),) * 2,
    ("wiltshire", "44"): (("+441225718555", False),) * 2,
    ("wiltshire", "51"): (("+441249707990", False),) * 2,
    ("wiltshire", "52"): (("+441722438165", False),) * 2,
    ("wiltshire", "60"): (("+441225713090", False),) * 2,
    ("hampshire", "10"): (("+441329225379", False), (HANTS_OOH, True)),
    ("hampshire", "20"): ((LADO, False),) * 2,
    ("hampshire", "30"): (("+443005551384", True), (HANTS_OOH, False)),
    ("isle-of-wight", "10"): (("+443003000901", False), (HANTS_OOH, True)),
    ("isle-of-wight", "20"): ((LADO, False),) * 2,
    ("isle-of-wight", "30"): (("+443003000117", True), (HANTS_OOH, False)),
}


@pytest.mark.parametrize("at", [OFFICE, NIGHT], ids=["office", "night"])
@pytest.mark.parametrize(("line", "code", "shortcut"), SHORTCUT_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_every_shortcut(twilio: Twilio, clock: FrozenClock, at: str, line: str, code: str, shortcut: Any) -> None:
    """Star and the code, at the first prompt, reach the scheduled team; a closed team is announced."""
    clock.at = london(at)
    ask = twilio.press(twilio.post(f"/voice/{line}"), "*")
    gather = ask.gather()
    assert gather.get("finishOnKey") == "#" and int(gather.get("numDigits")) >= len(code)
    answer = twilio.press(ask, code)
    number, announced = SHORTCUT_EXPECTED[(line, code)][(OFFICE, NIGHT).index(at)]
    assert answer.dialled() == ([number] if number else [])
    if announced:
        assert f"{shortcut.name[:1].upper()}{shortcut.name[1:]} is not open at this time" in answer.text()
    else:
        assert "is not open" not in answer.text()


def test_shortcut_out_of_hours_reaches_out_of_hours_and_says_so(twilio: Twilio, clock: FrozenClock) -> None:
    """*10 at night on Hampshire reaches Out of Hours, and the professional is told."""
    clock.at = london(NIGHT)
    answer = twilio.press(twilio.press(twilio.post("/voice/hampshire"), "*"), "10")
    assert answer.dialled() == ["+443005551373"]
    assert "The CRT professionals' line is not open at this time" in answer.text()


def test_shortcut_from_a_sub_menu(twilio: Twilio) -> None:
    """A shortcut works at any menu prompt, not only the first."""
    other = twilio.press(twilio.post("/voice/wiltshire"), "6")
    answer = twilio.press(twilio.press(other, "*"), "43")
    assert answer.dialled() == ["+441722438165"]


def test_unknown_shortcut_code(twilio: Twilio) -> None:
    """A code that is not on the line is refused and the menu offered again."""
    answer = twilio.press(twilio.press(twilio.post("/voice/wiltshire"), "*"), "99")
    assert "not recognised" in answer.text() and "try=2" in answer.redirect()


# -- the chain when nobody answers ------------------------------------------------------------


def test_no_answer_chain_then_999_and_front_door(twilio: Twilio) -> None:
    """MASH no-answer -> Out of Hours; nobody -> the 999 warning, the front door number, and a retry."""
    first = twilio.press(twilio.post("/voice/wiltshire"), "1")
    assert first.dialled() == ["+443004560108"]
    second = twilio.dial_result(first, "no-answer")
    assert second.dialled() == ["+443004560100"]
    exhausted = twilio.dial_result(second, "busy")
    text = exhausted.text()
    assert "999" in text and "zero three zero zero, four five six, zero one zero eight" in text
    assert exhausted.dialled() == []
    retry = twilio.press(exhausted, "1")
    assert retry.dialled() == ["+443004560108"]
    waited = twilio.wait(exhausted)
    assert waited.dialled() == ["+443004560108"], "staying on the line tries again too"


def test_hampshire_chain_ends_at_out_of_hours(twilio: Twilio) -> None:
    """Hampshire's public line unanswered in office hours falls back to Out of Hours."""
    first = twilio.press(twilio.post("/voice/hampshire"), "1")
    assert twilio.dial_result(first, "no-answer").dialled() == ["+443005551373"]


def test_answered_but_not_accepted_moves_on(screened: Twilio) -> None:
    """Screened by a person: a voicemail that 'answers' without pressing 1 counts as no answer (no DialBridged sent)."""
    first = screened.press(screened.post("/voice/wiltshire"), "1")
    second = screened.dial_result(first, "completed")
    assert second.dialled() == ["+443004560100"]


def test_accepted_call_ends_cleanly(screened: Twilio) -> None:
    """Once the answerer pressed 1 and the call is over, the caller is not rung on."""
    first = screened.press(screened.post("/voice/wiltshire"), "1")
    accepted = screened.accept(first)
    assert accepted.says() == ["Connecting."] and accepted.doc.find("Hangup") is None
    done = screened.dial_result(first, "completed", DialCallDuration="120")
    assert done.dialled() == [] and done.doc.find("Hangup") is not None


def test_screening_tells_the_answerer_where_the_call_came_from(screened: Twilio) -> None:
    """The answerer hears the line and the option, and must press 1."""
    first = screened.press(screened.post("/voice/wiltshire"), "1")
    number = next(first.doc.iter("Number"))
    screen = screened.post(number.get("url"), CallSid="CA" + "8" * 32, ParentCallSid=screened.params["CallSid"])
    text = screen.text()
    assert "Wiltshire" in text and "worried that a child is at risk" in text and "option 1" in text
    assert "press 1" in text
    assert [v.tag for v in screen.doc] == ["Gather", "Gather", "Hangup"], "both hearings in one document, no Redirect"
    wrong_key = screened.press(screen, "5")
    assert [v.tag for v in wrong_key.doc] == ["Gather", "Hangup"], "one last chance, then hang up"
    second_hearing = screen.doc.findall("Gather")[1]
    assert "try=2" in (second_hearing.get("action") or "")
    wrong_again = screened.post(second_hearing.get("action") or "", Digits="5")
    assert [v.tag for v in wrong_again.doc] == ["Hangup"]


def test_a_screened_answer_not_bridged_moves_on(screened: Twilio) -> None:
    """DialBridged=false after a pickup (nobody pressed 1) rings the next team, as Twilio reports it."""
    first = screened.press(screened.post("/voice/wiltshire"), "1")
    second = screened.dial_result(first, "completed", DialBridged="false")
    assert second.dialled() == ["+443004560100"]


def test_a_bridged_call_ends_even_without_a_record_of_acceptance(screened: Twilio) -> None:
    """DialBridged=true ends the call although no acceptance was recorded: a caller who talked is never rung on."""
    first = screened.press(screened.post("/voice/wiltshire"), "1")
    done = screened.dial_result(first, "completed", DialBridged="true", DialCallDuration="90")
    assert done.dialled() == [] and done.doc.find("Hangup") is not None


def test_a_direct_contact_centre_picked_up_ends_the_call(twilio: Twilio) -> None:
    """Shipped MASH (`answer: direct`): Twilio's completed and bridged dial ends the call, nobody presses 1."""
    first = twilio.press(twilio.post("/voice/wiltshire"), "1")
    assert next(first.doc.iter("Number")).get("url") is None
    done = twilio.dial_result(first, "completed", DialBridged="true", DialCallDuration="300")
    assert done.dialled() == [] and done.says() == ["The call has ended. Goodbye."]


def test_lado_voicemail_is_hung_up_on_and_out_of_hours_is_rung(twilio: Twilio) -> None:
    """Hampshire LADO (`answer: machine-detection`): AnsweredBy machine_start hangs up its leg; the dial then rings Out of Hours."""
    first = twilio.press(twilio.post("/voice/hampshire"), "2")
    number = next(first.doc.iter("Number"))
    assert number.get("machineDetection") == "Enable" and "/voice/hampshire/detected/allegation-about-staff" in number.get("url")
    leg = {"CallSid": "CA" + "7" * 32, "ParentCallSid": screened_parent(twilio)}
    verdict = twilio.post(number.get("url") or "", AnsweredBy="machine_start", **leg)
    assert [v.tag for v in verdict.doc] == ["Hangup"]
    person = twilio.post(number.get("url") or "", AnsweredBy="human", **leg)
    assert [v.tag for v in person.doc] == ["Say"]
    after = twilio.dial_result(first, "completed", DialBridged="false")
    assert after.dialled() == ["+443005551373"]


def screened_parent(twilio: Twilio) -> str:
    """The caller's CallSid, which Twilio sends as ParentCallSid on the answerer's leg."""
    return twilio.params["CallSid"]


def test_rounds_end_with_goodbye_not_silence(twilio: Twilio) -> None:
    """After the last round the caller hears the warning and the number before the call ends."""
    answer = twilio.press(twilio.post("/voice/hampshire"), "1")
    for _ in range(ROUNDS):
        while answer.dial() is not None:
            answer = twilio.dial_result(answer, "no-answer")
        if answer.gather() is not None:
            answer = twilio.press(answer, "1")
    assert "999" in answer.text() and answer.doc.find("Hangup") is not None


# -- details and text messages ----------------------------------------------------------------


def test_email_only_service_reads_details_and_texts_them(twilio: Twilio, http_client: Any, app: Any) -> None:
    """No Worries has no number: the address is read out, and on request read again while a text is sent."""
    details = twilio.press(twilio.post("/voice/wiltshire"), "5")
    assert "noworries dot nhswiltshire at nhs dot net" in details.text()
    sent = twilio.press(details, "1")
    assert sent.text().startswith("We will send them by text message now. In case it does not arrive, here they are again:")
    assert services_of(app).outbox.drain(5)
    (request,) = http_client.requests
    assert request["url"].endswith("/Messages.json")
    assert request["data"]["To"] == "+447911123456"
    assert "noworries.nhswiltshire@nhs.net" in request["data"]["Body"]


def test_the_callers_number_is_parsed_once_per_call(
    twilio: Twilio, app: Any, http_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One parse of the caller's number for the whole call: the first webhook reads it, the text offer and the text reuse it."""
    caller = "+447507123456"
    twilio.params["From"] = caller
    numbers._caller.cache_clear()  # as a new process would start: no call parsed yet
    parsed: list[str] = []

    def parse(text: str, region: str | None = None, *args: Any, **kwargs: Any) -> Any:
        parsed.append(text)
        return real_parse(text, region, *args, **kwargs)

    real_parse = phonenumbers.parse
    monkeypatch.setattr(phonenumbers, "parse", parse)
    answer = twilio.post("/voice/wiltshire")
    assert parsed == [caller]  # one webhook: one parse
    details = twilio.press(answer, "5")
    assert "text message" in details.text()  # a mobile: offered a text
    twilio.press(details, "1")
    assert services_of(app).outbox.drain(5) and [r["data"]["To"] for r in http_client.requests] == [caller]
    assert parsed.count(caller) == 1


def test_no_text_to_a_withheld_number(twilio: Twilio, http_client: Any, app: Any) -> None:
    """A withheld caller is not offered a text; 1 reads the details again and nothing is sent."""
    twilio.params["From"] = "anonymous"
    details = twilio.press(twilio.post("/voice/wiltshire"), "5")
    assert "text message" not in details.text()
    again = twilio.press(details, "1")
    assert "noworries dot nhswiltshire at nhs dot net" in again.text() and "text message" not in again.text()
    assert services_of(app).outbox.drain(5) and http_client.requests == []


def test_closed_service_says_when_it_opens(twilio: Twilio, clock: FrozenClock) -> None:
    """SEND at night is closed: the caller hears when it opens, its number and the urgent key; silence ends the call politely."""
    clock.at = london(NIGHT)
    answer = twilio.press(twilio.post("/voice/wiltshire"), "3")
    assert "opens again today at 8:45 am" in answer.text()
    assert [v.tag for v in answer.doc] == ["Gather", "Say", "Hangup"] and answer.says()[-1] == "Thank you for calling. Goodbye."
    assert answer.redirect() is None and answer.dialled() == []


def test_voice_is_configurable_per_line(settings: dict[str, Any], tmp_path: Any) -> None:
    """A line's flow file may choose another voice and language; other lines keep theirs."""
    from ivr.app import create_app
    from tests.builders import shipped_copy

    folder = shipped_copy(tmp_path / "config")
    flow = folder / "flows" / "hampshire.yaml"
    flow.write_text(flow.read_text().replace("voice: Polly.Amy", "voice: Polly.Brian"))
    caller = Twilio(create_app({**settings, "IVR_CONFIG_DIR": str(folder)}).test_client())
    assert {s.get("voice") for s in caller.post("/voice/hampshire").doc.iter("Say")} == {"Polly.Brian"}
    assert {s.get("voice") for s in caller.post("/voice/wiltshire").doc.iter("Say")} == {"Polly.Amy"}


def test_speech_only_where_the_menu_asks_for_it(twilio: Twilio) -> None:
    """The main menu takes speech with its words as hints; a sub-menu without `speech` takes keys only."""
    main = twilio.post("/voice/wiltshire").gather()
    assert main.get("input") == "dtmf speech" and "child" in main.get("hints", "")
    other = twilio.press(twilio.post("/voice/wiltshire"), "6").gather()
    assert other.get("input") is None and other.get("hints") is None


# -- the caller ID a team sees --------------------------------------------------------------------

LINE_NUMBER = "+441225000000"  # the To the Twilio helper posts: the line's own Twilio number


@pytest.mark.parametrize(
    ("sent", "caller_id"),
    [
        ("+447911123456", "+447911123456"),
        ("+33142685300", "+33142685300"),
        ("anonymous", None),
        ("+266696687", None),
        ("restricted", None),
        ("+4479111234567", LINE_NUMBER),
        ("garbage", LINE_NUMBER),
        ("", LINE_NUMBER),
    ],
    ids=["uk_mobile", "international", "anonymous", "anonymous_on_a_keypad", "restricted", "invalid", "garbage", "empty"],
)
def test_the_dial_presents_the_callers_number_keeps_a_withheld_one_withheld_or_presents_the_line(
    app: Any, sent: str, caller_id: str | None
) -> None:
    """Pressing 1 rings MASH with callerId = a valid caller's number, none for a withheld caller, else the line's number."""
    twilio = Twilio(app.test_client(), caller=sent)
    dial = twilio.press(twilio.post("/voice/wiltshire"), "1").dial()
    assert dial is not None and [(n.text or "").strip() for n in dial.iter("Number")] == [MASH]
    assert dial.get("callerId") == caller_id
