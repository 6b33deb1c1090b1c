"""Speech in menus: whole words and phrases choose an option; none, or two options, repeat the menu.

The table's expected options are written by hand from what each phrase means and the words of
flows/*.yaml; saying a phrase must do exactly what pressing that option's key does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ivr import config
from ivr.app import create_app
from ivr.core.flow import CallFlow, Reply
from ivr.core.model import Option
from ivr.core.speech import Listener, words_of
from ivr.core.state import Call, Heard, Where
from tests.builders import assert_one_problem, at, config_problems, line_of, shipped, write_files
from tests.conftest import Twilio

OFFICE = at("2027-03-03T11:00")  # a Wednesday morning: every office is open
AGAIN = "again"  # no choice: the menu again, as after a key that is not an option
NOT_AN_OPTION = "7"  # a key no shipped main menu offers

# Wiltshire's main menu: 1 child-at-risk, 2 allegation-about-staff (DOFA), 3 send, 4 advocacy,
# 5 sexual-health, 6 the "other services" menu.
WILTSHIRE = [
    # The four phrases of the report.
    ("I'm worried about my brother", "1"),
    ("my mother hits me", "1"),
    ("I want to send a message", AGAIN),
    ("my son is in danger", "1"),
    # Child at risk, in the words callers use.
    ("child", "1"),
    ("Children.", "1"),
    ("I think a child is being neglected", "1"),
    ("my dad hurt me", "1"),
    ("I'm scared to go home", "1"),
    ("my child's in danger", "1"),
    ("My daughter\u2019s being abused", "1"),
    ("my neighbour's kids are left on their own all day", "1"),
    ("self-harm", "1"),
    ("CHILD!!!", "1"),
    ("my kid's missing", "1"),
    ("he ran away from home last night", "1"),
    ("sexual abuse", "1"),
    ("child sexual exploitation", "1"),
    ("my other child", "1"),
    ("I'm a professional calling about a child", "1"),
    # The other options.
    ("allegation", "2"),
    ("I want to report someone who works with children", "2"),
    ("a member of staff at the nursery", "2"),
    ("special needs", "3"),
    ("my son has autism", "3"),
    ("the SEND team please", "3"),
    ("advocacy", "4"),
    ("I need an advocate", "4"),
    ("an advocate for my child", "4"),
    ("sexual health", "5"),
    ("where can I get condoms", "5"),
    ("Sexual-health clinic.", "5"),
    ("our other services", "6"),
    # Negation is not read: the words count where they stand.
    ("my child is not safe", "1"),
    ("I don't feel safe at home", "1"),
    ("he won't stop hitting me", "1"),
    ("I don't need advocacy", "4"),
    ("I'm not worried about a child, I need sexual health advice", AGAIN),
    ("it's not about a child it's about special needs", AGAIN),
    # Two options named: ambiguous, the menu again.
    ("my child has special needs", AGAIN),
    ("my child's sexual health", AGAIN),
    ("my disabled son is being hurt", AGAIN),
    ("someone who works with children hurt my son", AGAIN),
    ("I'm worried about a member of staff", AGAIN),
    # Nothing that names an option: parts of words and retired single words do not count.
    ("other", AGAIN),
    ("my mother", AGAIN),
    ("sending", AGAIN),
    ("send", AGAIN),
    ("childcare", AGAIN),
    ("I'm healthy", AGAIN),
    ("hello", AGAIN),
    ("um", AGAIN),
]

# Hampshire's and the Isle of Wight's main menus: 1 child-at-risk, 2 allegation-about-staff (LADO),
# 3 professionals.
HAMPSHIRE = [
    ("I'm worried about my brother", "1"),
    ("my mother hits me", "1"),
    ("I want to send a message", AGAIN),
    ("my son is in danger", "1"),
    ("my stepdad beats me", "1"),
    ("I'm a social worker calling about a child at risk", "1"),
    ("staff", "2"),
    ("a member of staff at my school", "2"),
    ("I need the LADO", "2"),
    ("professional", "3"),
    ("I'm a professional calling about a child", "3"),
    ("the professionals' line", "3"),
    ("I'm a professional and the child is in danger", AGAIN),
    ("a member of staff hit my son", AGAIN),
    ("staffing agency", AGAIN),
    ("special needs", AGAIN),
    ("other services", AGAIN),
]

ISLE_OF_WIGHT = [
    ("my child is in danger", "1"),
    ("LADO please", "2"),
    ("I'm a professional calling about a child", "3"),
    ("I'm a professional and I'm worried about a child", AGAIN),
]

TABLE = (
    [("wiltshire", said, expected) for said, expected in WILTSHIRE]
    + [("hampshire", said, expected) for said, expected in HAMPSHIRE]
    + [("isle-of-wight", said, expected) for said, expected in ISLE_OF_WIGHT]
)


@pytest.fixture(scope="module")
def flows() -> dict[str, CallFlow]:
    """The shipped lines' call flows."""
    cfg = shipped()
    return {line: CallFlow(cfg.line(line)) for line in ("wiltshire", "hampshire", "isle-of-wight")}


def outcome(reply: Reply) -> tuple[Any, ...]:
    """A reply without its first fact (what was pressed or said): the verbs and what followed."""
    return (reply.verbs, reply.facts[1:])


@pytest.mark.parametrize(("line", "said", "expected"), TABLE, ids=[f"{line}:{said}" for line, said, _ in TABLE])
def test_a_phrase_does_what_its_options_key_does(flows: dict[str, CallFlow], line: str, said: str, expected: str) -> None:
    """Saying the phrase in the main menu does what pressing the expected key does; "again" is a key that is no option."""
    flow = flows[line]
    call = Call("CA1", "+447911123456", "+441225000000", OFFICE)
    where = Where(("main",))
    spoken = flow.menu_input(where, Heard(speech=said), call)
    pressed = flow.menu_input(where, Heard(digits=NOT_AN_OPTION if expected == AGAIN else expected), call)
    assert outcome(spoken) == outcome(pressed)


def test_the_table_is_long_enough_and_covers_every_option() -> None:
    """At least 30 Wiltshire phrases, and every option of every shipped main menu is chosen by some phrase."""
    assert len(WILTSHIRE) >= 30
    assert {e for _, e in WILTSHIRE} == {"1", "2", "3", "4", "5", "6", AGAIN}
    assert {e for _, e in HAMPSHIRE} == {e for _, e in ISLE_OF_WIGHT} == {"1", "2", "3", AGAIN}


# -- words of a transcript ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("I'm worried about my child's safety!", ("im", "worried", "about", "my", "child", "safety")),
        ("Children\u2019s services", ("children", "services")),
        ("don't", ("dont",)),
        ("self-harm", ("self", "harm")),
        ("  SEXUAL   health. ", ("sexual", "health")),
        ("the kids' toys", ("the", "kids", "toys")),
        ("EHCP, 2 years", ("ehcp", "2", "years")),
        ("...", ()),
    ],
    ids=["possessive", "curly_apostrophe", "contraction", "hyphen", "case_and_spaces", "plural_possessive", "digits", "none"],
)
def test_words_of_a_transcript(text: str, words: tuple[str, ...]) -> None:
    """Lower case, punctuation gone, "'s" dropped, other apostrophes dropped, hyphens split."""
    assert words_of(text) == words


# -- the rule, on a small menu -------------------------------------------------------------------

URGENT = Option("1", "If you are worried a child is at risk", service="child-at-risk", words=("child", "children", "in danger"))
STAFF = Option("2", "For a concern about staff", service="staff", words=("staff", "works with children"))
ADVICE = Option("3", "For advice", service="advice", words=("advice",))


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("child", URGENT),
        ("he is in danger", URGENT),
        ("danger", None),
        ("a danger in", None),
        ("works with children", STAFF),
        ("works with a child", URGENT),
        ("child advice", None),
        ("someone who works with children is hurting a child", None),
        ("", None),
    ],
    ids=[
        "a_word",
        "a_phrase",
        "part_of_a_phrase",
        "phrase_words_out_of_order",
        "longer_phrase_holds_its_words",
        "broken_phrase_leaves_its_words_free",
        "two_options",
        "longer_phrase_and_a_word_elsewhere",
        "nothing",
    ],
)
def test_the_rule_on_a_small_menu(said: str, expected: Option | None) -> None:
    """Whole words, phrases as words in a row, a longer phrase's words its own, one option or none."""
    assert Listener((URGENT, STAFF, ADVICE)).choice(said) == expected


# -- configuration: words checked at load ---------------------------------------------------------

SCHEDULE = """\
line: test
timezone: Europe/London
destinations:
  office: {name: the office, number: 0300 456 0108}
services:
  child-at-risk:
    name: worried about a child
    always_open: true
    rules:
      - {to: office, time: "00:00-24:00", on: any}
  advice:
    name: advice
    rules:
      - {to: office, days: mon-fri, time: "09:00-17:00"}
"""

FLOW = """\
line: test
name: Test line
greeting: You have reached the test line.
warning: If a child is in immediate danger, hang up and call 999.
front_door: office
start: main
menus:
  main:
    speech: {speech}
    options:
      - key: "1"
        service: child-at-risk
        label: "If you are worried a child is at risk"
        {first}
      - key: "2"
        service: advice
        label: "For advice"
        {second}
"""
FLOW_FILE = "flows/test.yaml"


def flow(
    first: str = "words: [child, children, in danger]", second: str = "words: [advice, special needs]", speech: str = "true"
) -> str:
    """The test flow: a start menu of two options that take speech, with the words given."""
    return FLOW.format(first=first, second=second, speech=speech)


def test_the_test_flow_loads_with_its_words(tmp_path: Path) -> None:
    """The flow the refusals below change loads, each option with its words in order."""
    folder = write_files(tmp_path, schedule=SCHEDULE, flow=flow())
    menu = config.load(folder, now=at("2027-01-01T00:00")).line("test").flow.menus["main"]
    assert [o.words for o in menu.options] == [("child", "children", "in danger"), ("advice", "special needs")]


@pytest.mark.parametrize(
    ("second", "needle", "field", "message"),
    [
        (
            "words: [advice, child]",
            "words: [advice, child]",
            "menus.main.options[1].words[1]",
            "'child' is already a word of option 1 in menu 'main' (line {urgent}): a spoken word must name one option, once",
        ),
        (
            'words: [advice, "Children\'s"]',
            "Children's",
            "menus.main.options[1].words[1]",
            "\"children's\" is already a word of option 1 in menu 'main' (line {urgent})",
        ),
        (
            "words: [advice, In  Danger]",
            "In  Danger",
            "menus.main.options[1].words[1]",
            "'in danger' is already a word of option 1 in menu 'main' (line {urgent})",
        ),
        (
            "words: [advice, advice]",
            "words: [advice, advice]",
            "menus.main.options[1].words[1]",
            "'advice' is already a word of this option in menu 'main' (line {advice})",
        ),
        (
            'words: ["advice, please"]',
            "advice, please",
            "menus.main.options[1].words[0]",
            "'advice, please': use letters and digits, words separated by spaces",
        ),
        (
            "words: [advice, no]",
            "words: [advice, no]",
            "menus.main.options[1].words[1]",
            "False is not a word or phrase: write it in quotes",
        ),
        (
            "words: advice",
            "words: advice",
            "menus.main.options[1].words",
            "expected a list",
        ),
        (
            'words: ["' + "very " * 20 + 'long"]',
            "very very",
            "menus.main.options[1].words[0]",
            "is longer than Twilio's 100 characters for a hint",
        ),
        (
            "word: advice\n        words: [help]",
            "word: advice",
            "menus.main.options[1].word",
            "give 'words' (a list) or the older 'word', not both",
        ),
    ],
    ids=[
        "same_word_on_two_options",
        "same_word_after_possessive",
        "same_phrase_other_case_and_spacing",
        "twice_on_one_option",
        "comma",
        "yaml_boolean",
        "not_a_list",
        "over_100_characters",
        "word_and_words",
    ],
)
def test_words_twilio_or_callers_cannot_use_are_refused(
    tmp_path: Path, second: str, needle: str, field: str, message: str
) -> None:
    """Each bad word is one problem at its own file:line, naming the field and what to change."""
    folder = write_files(tmp_path, schedule=SCHEDULE, flow=flow(second=second))
    path = folder / FLOW_FILE
    message = message.format(urgent=line_of(path, "words: [child"), advice=line_of(path, 'label: "For advice"') + 1)
    assert_one_problem(config_problems(folder), FLOW_FILE, line_of(path, needle), field, message)


def test_the_older_single_word_still_loads(tmp_path: Path) -> None:
    """`word: advice` (the format before lists) is the option's one word, lower-cased."""
    folder = write_files(tmp_path, schedule=SCHEDULE, flow=flow(second="word: Advice"))
    menu = config.load(folder, now=at("2027-01-01T00:00")).line("test").flow.menus["main"]
    assert menu.options[1].words == ("advice",)


def test_more_hints_than_twilio_takes_are_refused(tmp_path: Path) -> None:
    """501 words in one menu is one problem at the menu's line: Twilio takes at most 500 hints."""
    many = "words: [" + ", ".join(f"advice{n}" for n in range(499)) + "]"
    folder = write_files(tmp_path, schedule=SCHEDULE, flow=flow(second=many))
    line = line_of(folder / FLOW_FILE, "  main:")
    message = "has 502 words and phrases; Twilio takes at most 500 hints for one menu"
    assert_one_problem(config_problems(folder), FLOW_FILE, line, "menus.main", message)


def test_words_on_a_menu_without_speech_are_a_warning(tmp_path: Path) -> None:
    """Words that callers cannot say load, with a warning at the menu's line."""
    folder = write_files(tmp_path, schedule=SCHEDULE, flow=flow(speech="false"))
    cfg = config.load(folder, now=at("2027-01-01T00:00"))
    line = line_of(folder / FLOW_FILE, "  main:")
    assert cfg.warnings == (
        f"{FLOW_FILE}:{line}: menus.main: its options have words, but callers cannot say them: "
        "add 'speech: true' or remove the words",
    )


# -- what the caller hears, and what Twilio is told to listen for ---------------------------------


def test_the_gather_lists_every_word_as_hints_and_offers_the_first(tmp_path: Path, settings: dict[str, Any]) -> None:
    """The menu's Gather takes speech with every word and phrase as hints; each option offers its first word."""
    folder = write_files(tmp_path / "config", schedule=SCHEDULE, flow=flow())
    caller = Twilio(create_app({**settings, "IVR_CONFIG_DIR": str(folder)}).test_client())
    gather = caller.post("/voice/test").gather()
    assert gather is not None
    assert gather.get("input") == "dtmf speech"
    assert gather.get("hints") == "child, children, in danger, advice, special needs"
    assert [say.text for say in gather.iter("Say")][-3:] == [
        "If you are worried a child is at risk, press 1, or say child.",
        "For advice, press 2, or say advice.",
        "To hear these options again, press 9.",
    ]


def test_a_spoken_phrase_is_heard_through_the_webhook(tmp_path: Path, settings: dict[str, Any]) -> None:
    """SpeechResult posted to the menu's action chooses by whole phrase: "in danger" rings the office."""
    folder = write_files(tmp_path / "config", schedule=SCHEDULE, flow=flow())
    caller = Twilio(create_app({**settings, "IVR_CONFIG_DIR": str(folder)}).test_client())
    gather = caller.post("/voice/test").gather()
    assert gather is not None
    action = gather.get("action", "")
    assert caller.post(action, SpeechResult="my friend is in danger", Confidence="0.4").dialled() == ["+443004560108"]
    assert caller.post(action, SpeechResult="dangerous").dialled() == []


def test_the_shipped_hints_carry_the_new_words_not_the_retired_ones(twilio: Twilio) -> None:
    """Wiltshire's main menu listens for "special needs" and "other services", no longer "send" or "other" alone."""
    gather = twilio.post("/voice/wiltshire").gather()
    assert gather is not None
    hints = gather.get("hints", "").split(", ")
    assert {"child", "worried", "danger", "special needs", "other services", "works with children"} <= set(hints)
    assert "send" not in hints and "other" not in hints
    says = [say.text for say in gather.iter("Say")]
    assert "For special educational needs and disabilities, press 3, or say special needs." in says
    assert "For our other services, press 6, or say other services." in says
