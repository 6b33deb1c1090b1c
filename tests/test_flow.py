"""The whole call flow with plain values: no Flask, no XML. Verbs and facts in, verbs and facts out.

Every expected prompt, number, name and URL is written out here from flows/*.yaml and
schedules/*.yaml (never computed by the flow under test).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ivr import config
from ivr.core.facts import Fact
from ivr.core.flow import CallFlow, Reply, static_fallback
from ivr.core.state import Call, Chain, DialResult, Heard, Screening, Where
from ivr.core.verbs import Dial, Gather, Hangup, Redirect, Say
from tests.builders import (
    CRT_OUT_OF_HOURS,
    FLOW,
    GAP_FLOW,
    GAP_SCHEDULE,
    GOOD_RULES,
    HANTS_PUBLIC,
    LADO,
    MASH,
    WILTS_OUT_OF_HOURS,
    at,
    shipped,
    write_files,
    write_line,
)

OFFICE = at("2027-03-03T11:00")  # a Wednesday: MASH and the CRT are open
NIGHT = at("2027-03-04T02:00")  # a Thursday night: Wiltshire's Standby, Hampshire's Out of Hours
CALLER = "+447911123456"

GREETING = "You have reached Wiltshire Council's children's services."
WARNING = "If a child is in immediate danger, hang up and call 999."
MAIN_OPTIONS = (
    Say("If you are worried a child is at risk, press 1, or say child."),
    Say(
        "For a concern about someone who works with children, the Designated Officer for Allegations, press 2, or say allegation."
    ),
    Say("For special educational needs and disabilities, press 3, or say special needs."),
    Say("For advocacy for a child or young person, press 4, or say advocacy."),
    Say("For young people's sexual health, press 5, or say sexual health."),
    Say("For our other services, press 6, or say other services."),
)
MAIN_HINTS = (
    # 1: child-at-risk
    *("child", "children", "kid", "kids", "baby", "danger", "dangerous", "risk", "hurt", "hurts", "hurting", "harm"),
    *("harmed", "harming", "abuse", "abused", "abusing", "abusive", "neglect", "neglected", "worried", "worry", "worrying"),
    *("safe", "unsafe", "safety", "safeguarding", "scared", "frightened", "afraid", "hit", "hits", "hitting", "beat"),
    *("beats", "beating", "beaten", "kicked", "punched", "slapped", "bruises", "bruised", "violence", "violent"),
    *("attacked", "assault", "assaulted", "threatened", "exploitation", "exploited", "grooming", "groomed", "touched"),
    *("touching", "rape", "raped", "suicide", "suicidal", "kill", "missing", "ran away", "run away", "emergency"),
    # 2: allegation-about-staff
    *("allegation", "allegations", "designated officer", "dofa", "lado", "staff", "works with children"),
    *("work with children", "working with children"),
    # 3: send
    *("special needs", "special educational needs", "educational needs", "send team", "disability", "disabilities"),
    *("disabled", "autism", "autistic", "adhd", "ehcp", "education health and care plan", "learning difficulties"),
    "learning difficulty",
    # 4: advocacy
    *("advocacy", "advocate", "advocates", "advocacy for a child", "advocacy for my child", "advocate for a child"),
    "advocate for my child",
    # 5: sexual-health
    *("sexual health", "contraception", "contraceptive", "condom", "condoms", "morning after pill", "pregnancy test"),
    *("sti", "stis", "std", "chlamydia", "c card"),
    # 6: the other menu
    *("other services", "other service", "another service", "none of these"),
)
OTHER_OPTIONS = (
    Say("Our other services."),
    Say("For children and young people with a disability, press 1."),
    Say("For children in care, press 2."),
    Say("For a Support and Safeguarding Team, press 3."),
    Say("For early support for a family, press 4."),
    Say("For childcare information for children aged 5 and under, press 5."),
    Say("For young people's services, including drugs and alcohol support and education and training, press 6."),
)
REPEAT = Say("To hear these options again, press 9.")
REPEAT_OR_BACK = Say("To hear these options again, press 9. To go back, press 0.")
FRONT_DOOR = Say(
    "You can also call the Multi-Agency Safeguarding Hub on zero three zero zero, four five six, zero one zero eight."
)
NOBODY = (Say("I am sorry, nobody could take your call."), Say(WARNING), FRONT_DOOR)

BY_OPTION_1 = "via=option+1+of+the+main+menu"
DIALLED = "/voice/wiltshire/dialled/child-at-risk"
ASK_CODE = [
    Gather("/voice/wiltshire/code?trail=main&try=1", (Say("Shortcut code."),), 2, 5, "#"),
    Redirect("/voice/wiltshire/code?trail=main&try=1"),
]


def flow_of(line: str) -> CallFlow:
    """A shipped line's flow, built as a live snapshot builds it."""
    cfg = shipped()
    return CallFlow(cfg.line(line))


@pytest.fixture(scope="module")
def wiltshire() -> CallFlow:
    """Wiltshire's shipped flow."""
    return flow_of("wiltshire")


@pytest.fixture(scope="module")
def hampshire() -> CallFlow:
    """Hampshire's shipped flow."""
    return flow_of("hampshire")


def call(at: Any = OFFICE, caller: str | None = CALLER, texting: bool = True) -> Call:
    """The caller's call CA1 at `at`, on a router that can send texts unless `texting` is False."""
    return Call("CA1", caller, "+441225000000", at, texting=texting)


def facts(reply: Reply) -> list[tuple[Fact, Any]]:
    """The reply's facts; a routing decision shortened to (service, destination, number)."""
    return [(kind, (d["service"], d["destination"], d["number"]) if kind is Fact.ROUTE else d) for kind, d in reply.facts]


def main_menu(trail: str = "main", tries: int = 1, intro: tuple[Say, ...] = ()) -> list[Any]:
    """Wiltshire's main menu as the verbs of its step."""
    action = f"/voice/wiltshire/input/main?trail={trail}&try={tries}"
    return [Gather(action, (*intro, *MAIN_OPTIONS, REPEAT), 1, 6, "", MAIN_HINTS), Redirect(action)]


def dial_mash(via: str = BY_OPTION_1, round: int = 1, attempt: int = 1, caller: str | None = CALLER) -> Dial:
    """The Dial of MASH as the first of its chain: a contact centre (`answer: direct`), so no screening URL."""
    return Dial(MASH, f"{DIALLED}?{via}&tried=mash&round={round}&attempt={attempt}", "", caller, 25)


# -- answer and menus ---------------------------------------------------------------------------


def test_answer_greets_warns_and_offers_the_start_menu(wiltshire: CallFlow) -> None:
    """A new call: greeting, the 999 warning, then the main menu's options, all inside one Gather that takes speech."""
    reply = wiltshire.answer()
    assert reply.verbs == main_menu(intro=(Say(GREETING), Say(WARNING)))
    assert facts(reply) == [(Fact.MENU, {"menu": "main"})]


def test_a_sub_menu_has_its_intro_and_a_way_back(wiltshire: CallFlow) -> None:
    """The 'other' menu reads its intro and options, offers 9 and 0, and takes keys only."""
    reply = wiltshire.menu(Where(("main", "other"), 2))
    action = "/voice/wiltshire/input/other?trail=main.other&try=2"
    assert reply.verbs == [Gather(action, (*OTHER_OPTIONS, REPEAT_OR_BACK), 1, 6, "", None), Redirect(action)]
    assert facts(reply) == [(Fact.MENU, {"menu": "other"})]


def test_a_key_connects_the_options_service(wiltshire: CallFlow) -> None:
    """1 in office hours rings MASH, with the caller's number, through a screening URL naming the call."""
    reply = wiltshire.menu_input(Where(("main",)), Heard("1"), call())
    assert reply.verbs == [Say("Connecting you to the Multi-Agency Safeguarding Hub."), dial_mash()]
    assert facts(reply) == [
        (Fact.KEY, {"menu": "main", "digits": "1"}),
        (Fact.ROUTE, ("child-at-risk", "mash", MASH)),
    ]


def test_the_routing_fact_names_rule_and_until(wiltshire: CallFlow) -> None:
    """The decision recorded names the schedule's rule and when the answer next changes (17:00 on a Wednesday)."""
    (_, route) = wiltshire.connect(Chain("child-at-risk"), call()).facts[0]
    assert route["name"] == "the Multi-Agency Safeguarding Hub" and route["rule"].startswith("rule 1: MASH")
    assert route["until"] == "2027-03-03T17:00:00+00:00"


def test_a_word_chooses_like_its_key(wiltshire: CallFlow) -> None:
    """Saying 'child' anywhere in a sentence is option 1."""
    reply = wiltshire.menu_input(Where(("main",)), Heard(speech="I'm worried about a Child"), call())
    assert reply.verbs[1] == dial_mash()
    assert facts(reply)[0] == (Fact.KEY, {"menu": "main", "speech": "I'm worried about a Child"})


def test_repeat_plays_the_menu_again_from_the_first_try(wiltshire: CallFlow) -> None:
    """9 on the second try replays the start menu, the 999 warning first, tries counted afresh."""
    reply = wiltshire.menu_input(Where(("main",), 2), Heard("9"), call())
    assert reply.verbs == main_menu(intro=(Say(WARNING),))
    assert facts(reply) == [(Fact.KEY, {"menu": "main", "digits": "9"}), (Fact.MENU, {"menu": "main"})]


@pytest.mark.parametrize(
    ("trail", "expected"), [(("main", "other"), ("main",)), (("main",), ("main",))], ids=["from-sub-menu", "at-the-top"]
)
def test_back_goes_to_the_menu_before(wiltshire: CallFlow, trail: tuple[str, ...], expected: tuple[str, ...]) -> None:
    """0 in a sub-menu goes back one; at the start menu it stays there; the start menu begins with the 999 warning."""
    reply = wiltshire.menu_input(Where(trail), Heard("0"), call())
    assert reply.verbs == main_menu(".".join(expected), intro=(Say(WARNING),))


def test_an_option_opens_its_sub_menu(wiltshire: CallFlow) -> None:
    """6 opens 'other', its trail growing."""
    reply = wiltshire.menu_input(Where(("main",)), Heard("6"), call())
    assert reply.verbs[0].action == "/voice/wiltshire/input/other?trail=main.other&try=1"  # type: ignore[union-attr]
    assert facts(reply) == [(Fact.KEY, {"menu": "main", "digits": "6"}), (Fact.MENU, {"menu": "other"})]


def test_a_wrong_key_is_apologised_for_and_counts_a_try(wiltshire: CallFlow) -> None:
    """7 is not an option: sorry, then the menu at try 2."""
    reply = wiltshire.menu_input(Where(("main",)), Heard("7"), call())
    assert reply.verbs == [Say("Sorry, that is not one of the options."), Redirect("/voice/wiltshire/menu/main?trail=main&try=2")]
    assert facts(reply) == [(Fact.KEY, {"menu": "main", "digits": "7"})]


def test_silence_is_apologised_for_and_counts_a_try(wiltshire: CallFlow) -> None:
    """Nothing pressed or said: sorry, then the sub-menu at try 3, and no key recorded."""
    reply = wiltshire.menu_input(Where(("main", "other"), 2), Heard(), call())
    assert reply.verbs == [Say("Sorry, I did not hear a choice."), Redirect("/voice/wiltshire/menu/other?trail=main.other&try=3")]
    assert reply.facts == []


def test_silence_through_the_start_menu_connects_at_once(wiltshire: CallFlow) -> None:
    """A caller who presses and says nothing through the whole start menu is connected to the child-at-risk route, no replay."""
    reply = wiltshire.menu_input(Where(("main",)), Heard(), call())
    assert reply.verbs == [
        Say("Connecting you to someone who can help."),
        Redirect("/voice/wiltshire/connect/child-at-risk?via=after+1+tries+without+a+choice"),
    ]
    assert facts(reply) == [(Fact.FALLBACK, {"reason": "no choice after 1 tries"})]


def test_a_wrong_key_at_the_start_menu_still_gets_the_menu_again(wiltshire: CallFlow) -> None:
    """Only silence connects at once: a caller who pressed 7 can press, and hears the start menu again at try 2."""
    reply = wiltshire.menu_input(Where(("main",)), Heard("7"), call())
    assert reply.verbs[-1] == Redirect("/voice/wiltshire/menu/main?trail=main&try=2")


def test_every_replay_of_the_start_menu_begins_with_the_999_warning(wiltshire: CallFlow) -> None:
    """The start menu played again (after a wrong key, at try 2) opens with the warning; no greeting."""
    reply = wiltshire.menu(Where(("main",), 2))
    assert reply.verbs == main_menu(tries=2, intro=(Say(WARNING),))


@pytest.mark.parametrize(
    ("heard", "reason", "keyed"),
    [
        (Heard(), "no choice after 3 tries", []),
        (Heard("8"), "no valid choice after 3 tries", [(Fact.KEY, {"menu": "main", "digits": "8"})]),
    ],
    ids=["silence", "wrong-key"],
)
def test_the_last_try_connects_the_child_at_risk_route(wiltshire: CallFlow, heard: Heard, reason: str, keyed: list[Any]) -> None:
    """On the third try, silence or a wrong key connects the urgent service instead of hanging up."""
    reply = wiltshire.menu_input(Where(("main",), 3), heard, call())
    assert reply.verbs == [
        Say("Connecting you to someone who can help."),
        Redirect("/voice/wiltshire/connect/child-at-risk?via=after+3+tries+without+a+choice"),
    ]
    assert facts(reply) == [*keyed, (Fact.FALLBACK, {"reason": reason})]


def test_a_line_with_one_try_connects_after_the_first_silence(tmp_path: Path) -> None:
    """A small line whose flow allows 1 try: the first silence already connects."""
    folder = write_files(tmp_path, flow=FLOW.format(line="test") + "tries: 1\n")
    cfg = config.load(folder, now=OFFICE)
    reply = CallFlow(cfg.line("test")).menu_input(Where(("main",)), Heard(), call())
    assert reply.verbs[1] == Redirect("/voice/test/connect/child-at-risk?via=after+1+tries+without+a+choice")
    assert facts(reply) == [(Fact.FALLBACK, {"reason": "no choice after 1 tries"})]


# -- professional shortcuts ---------------------------------------------------------------------


def test_the_shortcut_key_asks_for_a_code_in_any_menu(wiltshire: CallFlow) -> None:
    """* in a sub-menu asks for a 2-digit code ended by #, keeping the caller's place."""
    reply = wiltshire.menu_input(Where(("main", "other")), Heard("*"), call())
    action = "/voice/wiltshire/code?trail=main.other&try=1"
    assert reply.verbs == [Gather(action, (Say("Shortcut code."),), 2, 5, "#"), Redirect(action)]
    assert facts(reply) == [(Fact.KEY, {"menu": "other", "digits": "*"})]


def test_a_known_shortcut_in_hours_rings_its_team(wiltshire: CallFlow) -> None:
    """*10 in office hours rings MASH, no apology."""
    reply = wiltshire.code_input(Where(("main",)), Heard("10"), call())
    assert reply.verbs == [Say("Connecting you to the Multi-Agency Safeguarding Hub."), dial_mash("via=professional+shortcut+10")]
    assert facts(reply) == [
        (Fact.SHORTCUT, {"code": "10", "service": "child-at-risk"}),
        (Fact.ROUTE, ("child-at-risk", "mash", MASH)),
    ]


@pytest.mark.parametrize(
    ("line", "code", "told", "connecting", "number", "tried"),
    [
        (
            "wiltshire",
            "10",
            "The Multi-Agency Safeguarding Hub is not open at this time. You will be put through to the Social Work Standby Service instead.",
            "Connecting you to the Social Work Standby Service.",
            WILTS_OUT_OF_HOURS,
            "standby",
        ),
        (
            "hampshire",
            "10",
            "The CRT professionals' line is not open at this time. You will be put through to the Out of Hours service instead.",
            "Connecting you to the Out of Hours service.",
            CRT_OUT_OF_HOURS,
            "out-of-hours",
        ),
    ],
    ids=["wiltshire-mash-at-night", "hampshire-professionals-at-night"],
)
def test_a_shortcut_out_of_hours_says_so_and_rings_the_team_on_duty(
    line: str, code: str, told: str, connecting: str, number: str, tried: str
) -> None:
    """At night a shortcut still obeys the schedule, and the professional is told who they get instead."""
    reply = flow_of(line).code_input(Where(("main",)), Heard(code), call(NIGHT))
    assert reply.verbs[:2] == [Say(told), Say(connecting)]
    dial = reply.verbs[2]
    assert isinstance(dial, Dial) and dial.number == number and f"tried={tried}&round=1&attempt=1" in dial.action


@pytest.mark.parametrize(
    ("code", "sorry"),
    [("99", "Sorry, that is not one of the options."), ("", "Sorry, I did not hear a choice.")],
    ids=["unknown", "none"],
)
def test_an_unknown_or_missing_code_counts_a_try(wiltshire: CallFlow, code: str, sorry: str) -> None:
    """A code that is not on the line is refused and the menu offered again at the next try."""
    reply = wiltshire.code_input(Where(("main",)), Heard(code), call())
    assert reply.verbs == [
        Say("That code is not recognised."),
        Say(sorry),
        Redirect("/voice/wiltshire/menu/main?trail=main&try=2"),
    ]
    assert facts(reply) == [(Fact.KEY, {"menu": "shortcut", "digits": code})]


def test_a_trailing_hash_ends_the_code(wiltshire: CallFlow) -> None:
    """'10#' is code 10."""
    assert facts(wiltshire.code_input(Where(("main",)), Heard("10#"), call()))[0] == (
        Fact.SHORTCUT,
        {"code": "10", "service": "child-at-risk"},
    )


def test_a_shortcut_to_a_closed_service_says_when_it_opens(wiltshire: CallFlow) -> None:
    """*30 (SEND) at 02:00 on a Thursday: closed, opens at 8:45, its number, 1 for a child at risk; silence ends politely."""
    reply = wiltshire.code_input(Where(("main",)), Heard("30"), call(NIGHT))
    words = (
        "The service for special educational needs and disabilities (SEND) is closed at the moment. "
        "It opens again today at 8:45 am. The number is zero three zero zero, four five six, zero one zero eight. "
        "If you are worried that a child is at risk, press 1."
    )
    assert reply.verbs == [
        Gather("/voice/wiltshire/input/main?trail=main&try=1", (Say(words),), 1, 6),
        Say("Thank you for calling. Goodbye."),
        Hangup(),
    ]
    assert facts(reply) == [(Fact.SHORTCUT, {"code": "30", "service": "send"}), (Fact.ROUTE, ("send", None, None))]


# -- connecting and the chain -------------------------------------------------------------------

SEXUAL_HEALTH = [
    Gather(
        "/voice/wiltshire/details/sexual-health",
        (
            Say("No Worries, the young people's sexual health service for 13 to 24 year olds."),
            Say("Email noworries dot nhswiltshire at nhs dot net."),
            Say("Web w w w dot facebook dot com slash NoWorriesWiltshire."),
            Say(
                "To have these details sent to you by text message, press 1. To hear them again, press 9. To go back to the menu, press 0."
            ),
        ),
        1,
        6,
    ),
    Redirect("/voice/wiltshire/menu/main"),
]


def test_a_team_without_a_number_has_its_details_read_out(wiltshire: CallFlow) -> None:
    """5 (No Worries, email only) reads the address and web page and offers a text."""
    reply = wiltshire.menu_input(Where(("main",)), Heard("5"), call())
    assert reply.verbs == SEXUAL_HEALTH
    assert facts(reply)[1] == (Fact.ROUTE, ("sexual-health", "sexual-health", None))


def test_completed_and_accepted_ends_the_call(wiltshire: CallFlow) -> None:
    """MASH (a contact centre, connected on pickup) completed: goodbye, the dial and the end recorded."""
    chain = Chain("child-at-risk", "option 1 of the main menu", ("mash",), 1, 1)
    reply = wiltshire.dialled(chain, DialResult("completed", "75", True), call())
    assert reply.verbs == [Say("The call has ended. Goodbye."), Hangup()]
    assert facts(reply) == [
        (
            Fact.DIAL,
            {
                "attempt": 1,
                "destination": "mash",
                "number": MASH,
                "status": "completed",
                "duration": "75",
                "answer": "direct",
                "bridged": None,
            },
        ),
        (Fact.END, {"outcome": "connected"}),
    ]


def test_completed_with_no_record_of_acceptance_also_ends(wiltshire: CallFlow) -> None:
    """When the acceptance cannot be read, Twilio's 'completed' alone ends the call: a caller who talked is not rung on."""
    reply = wiltshire.dialled(Chain("child-at-risk", tried=("mash",), attempt=1), DialResult("completed", "75", None), call())
    assert reply.verbs[-1] == Hangup() and facts(reply)[-1] == (Fact.END, {"outcome": "connected"})


@pytest.mark.parametrize(
    ("result", "status"),
    [
        (DialResult("no-answer", "0", None), "no-answer"),
        (DialResult("completed", "12", True, bridged=False), "unaccepted"),
        (DialResult("", "", None), "failed"),
    ],
    ids=["no-answer", "picked-up-not-bridged", "no-status"],
)
def test_no_answer_moves_to_the_next_in_the_chain(wiltshire: CallFlow, result: DialResult, status: str) -> None:
    """MASH not taking the call rings Out of Hours, the second in MASH's chain, as dial 2."""
    chain = Chain("child-at-risk", "option 1 of the main menu", ("mash",), 1, 1)
    reply = wiltshire.dialled(chain, result, call())
    assert reply.verbs == [
        Say("There was no answer."),
        Say("Trying the Out of Hours Service."),
        Dial(
            WILTS_OUT_OF_HOURS,
            f"{DIALLED}?{BY_OPTION_1}&tried=mash%2Cout-of-hours&round=1&attempt=2",
            "",  # Out of Hours is a contact centre too (`answer: direct`)
            CALLER,
            25,
        ),
    ]
    assert facts(reply) == [
        (
            Fact.DIAL,
            {
                "attempt": 1,
                "destination": "mash",
                "number": MASH,
                "status": status,
                "duration": result.duration,
                "answer": "direct",
                "bridged": result.bridged,
            },
        ),
        (Fact.ROUTE, ("child-at-risk", "mash", MASH)),
    ]


def test_an_exhausted_chain_offers_another_round(wiltshire: CallFlow) -> None:
    """Out of Hours busy too: the warning, the front door number, and 1 (or silence) to try again as round 2."""
    chain = Chain("child-at-risk", "option 1 of the main menu", ("mash", "out-of-hours"), 1, 2)
    reply = wiltshire.dialled(chain, DialResult("busy"), call())
    again = f"/voice/wiltshire/again/child-at-risk?{BY_OPTION_1}&round=2&attempt=2"
    assert reply.verbs == [
        Say("There was no answer."),
        Gather(again, (*NOBODY, Say("To try again, press 1, or stay on the line.")), 1, 6),
        Redirect(again),
    ]
    assert [kind for kind, _ in reply.facts] == [Fact.DIAL, Fact.ROUTE]


def test_the_last_round_ends_politely(wiltshire: CallFlow) -> None:
    """After round 3 the caller hears the warning and the front door number, then goodbye."""
    chain = Chain("child-at-risk", "option 1 of the main menu", ("mash", "out-of-hours"), 3, 6)
    reply = wiltshire.dialled(chain, DialResult("no-answer"), call())
    assert reply.verbs == [Say("There was no answer."), *NOBODY, Say("Please call again. Goodbye."), Hangup()]


@pytest.mark.parametrize(
    ("line", "tried", "on_duty"),
    [
        (
            "wiltshire",
            ("standby",),
            "You can also call the Social Work Standby Service on zero three zero zero, four five six, zero one zero zero.",
        ),
        (
            "hampshire",
            ("out-of-hours",),
            "You can also call the Out of Hours service on zero three zero zero, five five five, one three seven three.",
        ),
    ],
    ids=["wiltshire-standby", "hampshire-out-of-hours"],
)
def test_nobody_answered_at_night_names_who_is_on_duty_not_the_front_door(
    line: str, tried: tuple[str, ...], on_duty: str
) -> None:
    """At 02:00 the 'nobody could take your call' message has the 999 warning and the team on duty now, not the closed front door."""
    reply = flow_of(line).dialled(Chain("child-at-risk", tried=tried, attempt=1), DialResult("no-answer"), call(NIGHT))
    gather = reply.verbs[1]
    assert isinstance(gather, Gather)
    assert gather.prompts == (
        Say("I am sorry, nobody could take your call."),
        Say(WARNING),
        Say(on_duty),
        Say("To try again, press 1, or stay on the line."),
    )


def test_teams_sharing_a_number_are_rung_once(wiltshire: CallFlow) -> None:
    """At night Standby is reached through the Out of Hours number: one dial, then the chain is exhausted."""
    first = wiltshire.connect(Chain("child-at-risk"), call(NIGHT))
    assert [v.number for v in first.verbs if isinstance(v, Dial)] == [WILTS_OUT_OF_HOURS]
    after = wiltshire.dialled(Chain("child-at-risk", tried=("standby",), attempt=1), DialResult("no-answer"), call(NIGHT))
    assert not any(isinstance(v, Dial) for v in after.verbs)
    assert after.verbs[-1] == Redirect("/voice/wiltshire/again/child-at-risk?via=the+menu&round=2&attempt=1")


def test_again_rings_the_chain_from_the_top(wiltshire: CallFlow) -> None:
    """Pressing 1 (or staying on the line) after an exhausted round rings MASH again as dial 3 of round 2."""
    chain = Chain("child-at-risk", "option 1 of the main menu", (), 2, 2)
    for heard in (Heard("1"), Heard()):
        reply = wiltshire.again(chain, heard, call())
        assert reply.verbs == [Say("Connecting you to the Multi-Agency Safeguarding Hub."), dial_mash(round=2, attempt=3)]


def test_again_with_the_shortcut_key_asks_for_a_code(wiltshire: CallFlow) -> None:
    """A professional who pressed * when offered another round is asked for their code."""
    reply = wiltshire.again(Chain("child-at-risk", round=2, attempt=2), Heard("*"), call())
    assert reply.verbs == ASK_CODE and reply.facts == []


def test_hampshire_chain_ends_at_out_of_hours(hampshire: CallFlow) -> None:
    """Hampshire's public line unanswered in office hours rings Out of Hours next."""
    first = hampshire.connect(Chain("child-at-risk"), call())
    assert [v.number for v in first.verbs if isinstance(v, Dial)] == [HANTS_PUBLIC]
    second = hampshire.dialled(Chain("child-at-risk", tried=("crt-public",), attempt=1), DialResult("no-answer"), call())
    assert [v.number for v in second.verbs if isinstance(v, Dial)] == [CRT_OUT_OF_HOURS]


# -- an always-open service with no rule at the instant ---------------------------------------------

IN_THE_GAP = at("2028-06-01T10:00")  # a Thursday, the closure day that GAP_SCHEDULE leaves without a rule
GAP_DIALLED = "/voice/test/dialled/child-at-risk?via=option+1+of+the+main+menu"
GAP_SCREEN = "/voice/test/screen/child-at-risk?call=CA1"


@pytest.fixture(scope="module")
def gap_line(tmp_path_factory: pytest.TempPathFactory) -> CallFlow:
    """The small line above, loaded (and proved) as of 1 January 2027."""
    folder = write_files(tmp_path_factory.mktemp("gap"), schedule=GAP_SCHEDULE, flow=GAP_FLOW)
    return CallFlow(config.load(folder, now=at("2027-01-01T00:00")).line("test"))


def test_an_always_open_service_without_a_rule_rings_its_fallback_first(gap_line: CallFlow) -> None:
    """Key 1 in the gap is never 'closed': the standby team (its fallback) is rung, and the record says why."""
    reply = gap_line.menu_input(Where(("main",)), Heard("1"), call(IN_THE_GAP))
    assert reply.verbs == [
        Say("Connecting you to the standby team."),
        Dial(
            LADO,
            f"{GAP_DIALLED}&tried=standby&round=1&attempt=1",
            f"{GAP_SCREEN}&attempt=1&via=option+1+of+the+main+menu",
            CALLER,
            25,
        ),
    ]
    assert facts(reply) == [
        (Fact.KEY, {"menu": "main", "digits": "1"}),
        (Fact.ROUTE, ("child-at-risk", None, None)),
        (Fact.FALLBACK, {"reason": "no rule for an always-open service", "service": "child-at-risk"}),
    ]


def test_in_the_gap_the_24_7_list_follows_the_fallbacks(gap_line: CallFlow) -> None:
    """After the standby team, the line's 24/7 list in rule order (the office, then the night team), then the 999 warning."""

    def after(tried: tuple[str, ...]) -> Reply:
        return gap_line.dialled(Chain("child-at-risk", tried=tried, attempt=len(tried)), DialResult("busy"), call(IN_THE_GAP))

    assert [v.number for v in after(("standby",)).verbs if isinstance(v, Dial)] == [MASH]
    assert [v.number for v in after(("standby", "office")).verbs if isinstance(v, Dial)] == [WILTS_OUT_OF_HOURS]
    exhausted = after(("standby", "office", "night")).verbs
    assert not any(isinstance(v, Dial) for v in exhausted)
    gather = exhausted[1]
    assert isinstance(gather, Gather) and gather.prompts[:2] == (Say("I am sorry, nobody could take your call."), Say(WARNING))


def test_a_closed_service_is_still_closed_in_the_gap(gap_line: CallFlow) -> None:
    """A service that is not always open keeps its closed message: nothing rung, and no alert."""
    reply = gap_line.menu_input(Where(("main",)), Heard("2"), call(IN_THE_GAP))
    assert not any(isinstance(v, Dial) for v in reply.verbs)
    assert reply.verbs[-2:] == [Say("Thank you for calling. Goodbye."), Hangup()]
    assert [kind for kind, _ in reply.facts] == [Fact.KEY, Fact.ROUTE]


def test_the_safe_answer_in_the_gap_rings_the_fallback(gap_line: CallFlow) -> None:
    """After an error in the gap, the safe answer still rings a person (the standby team), not the static list."""
    reply = gap_line.safe(IN_THE_GAP)
    assert [v.number for v in reply.verbs if isinstance(v, Dial)] == [LADO]


# -- the answerer's side ------------------------------------------------------------------------

HEARD_BY_THE_ANSWERER = Say(
    "This is a call from the Wiltshire Council children's services line: worried that a child is at risk of harm, "
    "through option 1 of the main menu. To accept the call, press 1."
)
SCREENED = "/voice/wiltshire/screened?call=CA1&attempt=1&service=child-at-risk&" + BY_OPTION_1


def test_the_answerer_hears_where_the_call_comes_from(wiltshire: CallFlow) -> None:
    """One document: line, service and option, press 1; no key falls through to the second hearing, then Hangup."""
    reply = wiltshire.screen(Screening("CA1", 1, "child-at-risk", "option 1 of the main menu"))
    assert reply.verbs == [
        Gather(f"{SCREENED}&try=1", (HEARD_BY_THE_ANSWERER,), 1, 8),
        Gather(f"{SCREENED}&try=2", (HEARD_BY_THE_ANSWERER,), 1, 8),
        Hangup(),
    ]
    assert reply.facts == []


@pytest.mark.parametrize("hearing", [1, 2], ids=["first_hearing", "last_hearing"])
def test_the_screening_document_uses_only_verbs_a_number_url_may(wiltshire: CallFlow, hearing: int) -> None:
    """Twilio's <Number url> document may hold only Play, Say, Gather and Hangup: never a Redirect or a Dial."""
    reply = wiltshire.screen(Screening("CA1", 1, "child-at-risk", "option 1 of the main menu", hearing))
    assert {type(v).__name__ for v in reply.verbs} <= {"Say", "Gather", "Hangup"}


def test_the_second_hearing_hangs_up_without_a_key(wiltshire: CallFlow) -> None:
    """Second hearing: the same words, then the answerer's leg hangs up."""
    reply = wiltshire.screen(Screening("CA1", 1, "child-at-risk", "option 1 of the main menu", 2))
    assert reply.verbs == [Gather(f"{SCREENED}&try=2", (HEARD_BY_THE_ANSWERER,), 1, 8), Hangup()]


def test_pressing_1_accepts_the_call(wiltshire: CallFlow) -> None:
    """1 bridges the call and records dial 1 as accepted."""
    reply = wiltshire.screened(Screening("CA1", 1, "child-at-risk", "option 1 of the main menu"), Heard("1"))
    assert reply.verbs == [Say("Connecting.")]
    assert reply.facts == [(Fact.SCREEN, {"attempt": 1, "accepted": True})]


def test_another_key_plays_the_message_once_more(wiltshire: CallFlow) -> None:
    """5 on the first hearing: the second hearing, nothing recorded yet."""
    screening = Screening("CA1", 1, "child-at-risk", "option 1 of the main menu")
    reply = wiltshire.screened(screening, Heard("5"))
    assert reply.verbs == [Gather(f"{SCREENED}&try=2", (HEARD_BY_THE_ANSWERER,), 1, 8), Hangup()]
    assert reply.facts == []


def test_no_acceptance_on_the_second_hearing_hangs_up(wiltshire: CallFlow) -> None:
    """A wrong key on the second hearing hangs up the answerer's leg and records dial 1 as not accepted."""
    reply = wiltshire.screened(Screening("CA1", 1, "child-at-risk", "option 1 of the main menu", 2), Heard("5"))
    assert reply.verbs == [Hangup()]
    assert reply.facts == [(Fact.SCREEN, {"attempt": 1, "accepted": False})]


# -- details and text messages ------------------------------------------------------------------

NO_WORRIES_TEXT = (
    "Wiltshire Council children's services: No Worries, the young people's sexual health service for 13 to 24 year olds\n"
    "Email noworries.nhswiltshire@nhs.net.\n"
    "Web www.facebook.com/NoWorriesWiltshire."
)


class Texts:
    """Stands in for the web layer's sender: records each text and answers as told."""

    def __init__(self, goes: bool = True) -> None:
        self.goes = goes
        self.sent: list[tuple[str, str]] = []

    def __call__(self, to: str, body: str) -> bool:
        self.sent.append((to, body))
        return self.goes


NO_WORRIES_SPOKEN = (
    Say("Email noworries dot nhswiltshire at nhs dot net."),
    Say("Web w w w dot facebook dot com slash NoWorriesWiltshire."),
    Say("To hear them again, press 9. To go back to the menu, press 0."),
)
QUEUED_LEAD = Say("We will send them by text message now. In case it does not arrive, here they are again:")
NOT_QUEUED_LEAD = Say("Sorry, a text message cannot be sent just now. Here are the details again:")


def read_again(lead: Say) -> list[Any]:
    """No Worries' details read again after `lead`, without the text offer."""
    return [
        Gather("/voice/wiltshire/details/sexual-health", (lead, *NO_WORRIES_SPOKEN), 1, 6),
        Redirect("/voice/wiltshire/menu/main"),
    ]


SEXUAL_HEALTH_NO_TEXT = [
    Gather(
        "/voice/wiltshire/details/sexual-health",
        (Say("No Worries, the young people's sexual health service for 13 to 24 year olds."), *NO_WORRIES_SPOKEN),
        1,
        6,
    ),
    Redirect("/voice/wiltshire/menu/main"),
]


def test_1_queues_the_text_and_reads_the_details_again(wiltshire: CallFlow) -> None:
    """1 after No Worries' details queues them as a text, then reads them again in case it never arrives."""
    texts = Texts()
    reply = wiltshire.details_input("sexual-health", Heard("1"), call(), texts)
    assert texts.sent == [(CALLER, NO_WORRIES_TEXT)]
    assert reply.verbs == read_again(QUEUED_LEAD)
    assert reply.facts == [(Fact.SMS, {"to_masked": "*********456", "destination": "sexual-health", "status": "queued"})]


def test_a_text_that_cannot_be_queued_is_apologised_for(wiltshire: CallFlow) -> None:
    """When the text cannot be queued the caller hears so and the details again; the record says it failed."""
    reply = wiltshire.details_input("sexual-health", Heard("1"), call(), Texts(goes=False))
    assert reply.verbs == read_again(NOT_QUEUED_LEAD)
    assert reply.facts == [
        (
            Fact.SMS,
            {
                "to_masked": "*********456",
                "destination": "sexual-health",
                "status": "failed",
                "sent": False,
                "reason": "not queued",
            },
        )
    ]


@pytest.mark.parametrize(
    ("caller", "texting"),
    [(None, True), ("+441225000001", True), (CALLER, False)],
    ids=["withheld", "landline", "texting_not_configured"],
)
def test_no_text_is_offered_or_sent(wiltshire: CallFlow, caller: str | None, texting: bool) -> None:
    """Withheld, a landline, or no texting configured: the details omit the text offer, and 1 reads them again."""
    texts = Texts()
    assert wiltshire.menu_input(Where(("main",)), Heard("5"), call(caller=caller, texting=texting)).verbs == SEXUAL_HEALTH_NO_TEXT
    reply = wiltshire.details_input("sexual-health", Heard("1"), call(caller=caller, texting=texting), texts)
    assert texts.sent == [] and reply.facts == []
    assert reply.verbs == SEXUAL_HEALTH_NO_TEXT


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("9", SEXUAL_HEALTH),
        ("*", ASK_CODE),
        ("0", [Redirect("/voice/wiltshire/menu/main")]),
        ("", [Redirect("/voice/wiltshire/menu/main")]),
    ],
    ids=["repeat", "shortcut", "back", "nothing"],
)
def test_other_keys_after_the_details_send_nothing(wiltshire: CallFlow, digits: str, expected: list[Any]) -> None:
    """9 reads the details again, * asks for a code, anything else returns to the menu; no text is offered to send."""
    texts = Texts()
    reply = wiltshire.details_input("sexual-health", Heard(digits), call(), texts)
    assert reply.verbs == expected and reply.facts == [] and texts.sent == []


def test_details_of_an_unknown_team_are_refused(wiltshire: CallFlow) -> None:
    """A destination the schedule lacks raises a LookupError (the web answers with the safe route)."""
    with pytest.raises(LookupError):
        wiltshire.details_input("nothing", Heard("1"), call(), Texts())


# -- extensions and caller ID -------------------------------------------------------------------

# One switchboard, two teams: the office on extension 2, the night team on extension 3.
SWITCHBOARD = "+443004560108"
TEST_DIALLED = "/voice/test/dialled/child-at-risk?via=the+menu&tried=office&round=1&attempt=1"
TEST_SCREEN = "/voice/test/screen/child-at-risk?call=CA1&attempt=1&via=the+menu"


@pytest.fixture
def switchboard(tmp_path: Path) -> CallFlow:
    """A test line whose two teams are extensions 2 and 3 of one switchboard number."""
    folder = write_line(tmp_path, GOOD_RULES)
    path = folder / "schedules" / "test.yaml"
    text = path.read_text().replace("number: 0300 456 0108}", "number: 0300 456 0108 ext 2}")
    path.write_text(text.replace("number: 0300 456 0100}", "number: 0300 456 0108 x3}"))
    return CallFlow(config.load(folder, now=OFFICE).line("test"))


def test_a_team_on_an_extension_is_rung_with_it(switchboard: CallFlow) -> None:
    """The office's Dial rings the switchboard and keys in extension 2 once it answers."""
    reply = switchboard.connect(Chain("child-at-risk"), call())
    assert reply.verbs == [
        Say("Connecting you to the office."),
        Dial(SWITCHBOARD, TEST_DIALLED, TEST_SCREEN, CALLER, 25, extensions=("2",)),
    ]


def test_two_extensions_of_one_switchboard_are_both_rung_by_the_static_answer(switchboard: CallFlow) -> None:
    """Same number, different extensions: two teams, so the static answer rings both at once."""
    dials = [v for v in static_fallback(switchboard.line) if isinstance(v, Dial)]
    assert dials == [Dial(SWITCHBOARD, "", "", None, 25, (SWITCHBOARD,), ("2", "3"))]


@pytest.mark.parametrize(
    ("the_call", "caller_id"),
    [
        (Call("CA1", CALLER, "+441225000000", OFFICE), CALLER),
        (Call("CA1", None, "+441225000000", OFFICE, withheld=True), None),
        (Call("CA1", None, "+441225000000", OFFICE), "+441225000000"),
    ],
    ids=["caller_shown", "withheld_stays_withheld", "invalid_shows_the_line"],
)
def test_the_dial_shows_the_callers_number_or_keeps_it_withheld_or_shows_the_line(
    switchboard: CallFlow, the_call: Call, caller_id: str | None
) -> None:
    """connect puts the call's caller ID on the Dial: the caller's, none when withheld, else the line's own number."""
    dial = switchboard.connect(Chain("child-at-risk"), the_call).verbs[1]
    assert isinstance(dial, Dial) and dial.caller_id == caller_id


# -- when all else fails ------------------------------------------------------------------------


def test_the_safe_answer_rings_the_urgent_route_without_trusting_the_request(wiltshire: CallFlow) -> None:
    """With a time: the warning, then MASH as scheduled, with no caller ID and no call SID."""
    reply = wiltshire.safe(OFFICE)
    via = "via=the+safe+route+after+an+error"
    assert reply.verbs == [
        Say(WARNING),
        Say("Connecting you to the Multi-Agency Safeguarding Hub."),
        Dial(MASH, f"{DIALLED}?{via}&tried=mash&round=1&attempt=1", "", None, 25),
    ]
    assert facts(reply) == [(Fact.FALLBACK, {"reason": "error"}), (Fact.ROUTE, ("child-at-risk", "mash", MASH))]


def test_the_safe_answer_without_a_time_is_the_static_list(wiltshire: CallFlow) -> None:
    """Without a time: the warning, one Dial ringing MASH and Out of Hours (once for Standby too) at once, the front door, Hangup."""
    reply = wiltshire.safe(None)
    assert reply.verbs == [
        Say(WARNING),
        Say("Connecting you now."),
        Dial(MASH, "", "", None, 25, (WILTS_OUT_OF_HOURS,)),
        Say(
            "If nobody answered, please call again. If a child is in immediate danger, hang up and call 999. "
            "You can also call the Multi-Agency Safeguarding Hub on zero three zero zero, four five six, zero one zero eight. "
            "Goodbye."
        ),
        Hangup(),
    ]
    assert reply.facts == [(Fact.FALLBACK, {"reason": "static"})]
