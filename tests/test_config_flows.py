"""Flow safety rules: the 999 warning first, the urgent service first on key 1 and heard within 15 seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import config
from ivr.config.flows import spoken_words
from tests.builders import assert_one_problem, at, config_problems, line_of, write_files

FLOW_FILE = "flows/test.yaml"

SCHEDULE = """\
line: test
timezone: Europe/London
destinations:
  office: {name: the office, number: 0300 456 0108}
  night: {name: the night team, number: 0300 456 0100}
services:
  child-at-risk:
    name: worried about a child
    always_open: true
    rules:
      - {to: office, days: mon-fri, time: "09:00-17:00"}
      - {to: night, time: "00:00-24:00", on: any}
  advice:
    name: advice
    rules:
      - {to: office, days: mon-fri, time: "09:00-17:00"}
"""

URGENT = '{key: "1", service: child-at-risk, label: "If you are worried a child is at risk"}'
ADVICE = '{key: "2", service: advice, label: "For advice"}'
WARNING = "If a child is in immediate danger, hang up and call 999."

# Words said before "press 1", counted by hand: the greeting 6, the warning 11 and "999" as
# three (nine nine nine), "If you are worried a child is at risk, press 1" 11: 31 of the 40 allowed.
FLOW = """\
line: test
name: Test line
greeting: You have reached the test line.
warning: {warning}
front_door: office
start: main
menus:
  main:
{intro}    options:
      - {first}
      - {second}
"""


def flow(first: str = URGENT, second: str = ADVICE, warning: str = WARNING, intro: str = "") -> str:
    """The test flow: a start menu of two options, with an optional intro."""
    return FLOW.format(first=first, second=second, warning=warning, intro=f"    intro: {intro}\n" if intro else "")


def test_the_test_flow_is_safe(tmp_path: Path) -> None:
    """The flow these tests change loads, so each refusal below is down to its one change."""
    cfg = config.load(write_files(tmp_path, schedule=SCHEDULE, flow=flow()), now=at("2027-01-01T00:00"))
    assert [o.service for o in cfg.line("test").flow.menus["main"].options] == ["child-at-risk", "advice"]


@pytest.mark.parametrize(
    ("text", "needle", "field", "message"),
    [
        (
            flow().replace(f"      - {URGENT}\n", ""),
            "  main:",
            "menus.main",
            "the start menu must offer 'child-at-risk', the urgent service, as its first option on key 1; "
            'add it at the top: - {key: "1", service: child-at-risk, label: ...}',
        ),
        (
            flow(first=ADVICE.replace('"2"', '"1"'), second=URGENT.replace('"1"', '"7"')),
            "child-at-risk",
            "menus.main.options[1]",
            "the urgent service 'child-at-risk' is option 2 of 2, on key 7; move it to the top of the menu, on key 1",
        ),
        (
            flow(first=URGENT.replace('"1"', '"3"')),
            "child-at-risk",
            "menus.main.options[0].key",
            "the urgent service 'child-at-risk' is on key 3; give it key 1",
        ),
        (
            flow(warning='""'),
            "warning:",
            "warning",
            "is empty; callers must hear it before any option: write, for example, "
            "'If a child is in immediate danger, hang up and call 999.'",
        ),
        (
            flow(warning="If a child is in immediate danger, call the police."),
            "warning:",
            "warning",
            "does not mention 999; tell callers to call 999 if a child is in immediate danger",
        ),
        (
            flow(intro=" ".join(["word"] * 40)),
            "child-at-risk",
            "menus.main.options[0]",
            "option 1 is heard 26.6 s into the call, after 71 words (greeting 6, warning 14, intro 40, option 1 11) "
            "at 160 words a minute; it must be heard within 15 s (40 words): shorten the words before it",
        ),
        (
            flow(intro=" ".join(["word"] * 10)),
            "child-at-risk",
            "menus.main.options[0]",
            "option 1 is heard 15.4 s into the call, after 41 words (greeting 6, warning 14, intro 10, option 1 11) "
            "at 160 words a minute; it must be heard within 15 s (40 words): shorten the words before it",
        ),
    ],
    ids=[
        "option_1_deleted",
        "urgent_moved_to_key_7_and_last",
        "urgent_first_but_on_key_3",
        "empty_warning",
        "warning_without_999",
        "forty_word_intro",
        "one_word_too_many",
    ],
)
def test_an_unsafe_start_is_one_problem_saying_what_to_do(
    tmp_path: Path, text: str, needle: str, field: str, message: str
) -> None:
    """Each unsafe change to the start of a call is refused alone, at its line, with its own message."""
    folder = write_files(tmp_path, schedule=SCHEDULE, flow=text)
    assert_one_problem(config_problems(folder), FLOW_FILE, line_of(folder / FLOW_FILE, needle), field, message)


def test_option_1_heard_at_exactly_15_seconds_is_allowed(tmp_path: Path) -> None:
    """A nine-word intro brings the words before "press 1" to 40, exactly 15 s at 160 a minute: allowed."""
    folder = write_files(tmp_path, schedule=SCHEDULE, flow=flow(intro=" ".join(["word"] * 9)))
    assert config.load(folder, now=at("2027-01-01T00:00")).line("test").flow.menus["main"].intro == " ".join(["word"] * 9)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("You have reached Wiltshire Council's children's services.", 7),
        ("You have reached Hampshire children's services, the Children's Reception Team.", 10),
        ("You have reached Isle of Wight children's services, the Children's Reception Team.", 12),
        ("If a child is in immediate danger, hang up and call 999.", 14),
        ("If you are worried a child is at risk, press 1", 11),
        ("Call 0300 456 0108 now", 13),
    ],
    ids=["wiltshire_greeting", "hampshire_greeting", "isle_of_wight_greeting", "warning", "option_1", "phone_number"],
)
def test_words_are_counted_as_they_are_said(text: str, words: int) -> None:
    """Words split at spaces and punctuation, "children's" is one word, a long number is read digit by digit."""
    assert spoken_words(text) == words


@pytest.mark.parametrize(
    ("line", "seconds"),
    [("wiltshire", 12.0), ("hampshire", 13.1), ("isle-of-wight", 13.9)],
    ids=["wiltshire", "hampshire", "isle_of_wight"],
)
def test_the_shipped_lines_say_option_1_within_15_seconds(line: str, seconds: float) -> None:
    """Counted by hand (greeting + 14-word warning + 11-word option 1): 32, 35 and 37 words, all under 40."""
    flow = config.load(config.PROJECT_DIR, now=at("2026-11-01T00:00")).line(line).flow
    option = flow.menus[flow.start].options[0]
    words = spoken_words(flow.greeting) + spoken_words(flow.warning) + spoken_words(f"{option.label}, press 1")
    assert (option.key, option.service) == ("1", "child-at-risk")
    assert round(words * 60 / 160, 1) == seconds


# -- every menu leads to the urgent service ------------------------------------------------------


def test_a_sub_menu_without_the_urgent_service_is_fine_when_back_leads_to_it(tmp_path: Path) -> None:
    """A sub-menu that offers only advice is allowed: its back key returns to the start menu, which offers child-at-risk."""
    text = flow(second='{key: "2", menu: more, label: "For more"}') + (
        '  more:\n    options:\n      - {key: "1", service: advice, label: "For advice"}\n'
    )
    cfg = config.load(write_files(tmp_path, schedule=SCHEDULE, flow=text), now=at("2027-01-01T00:00"))
    assert [o.service for o in cfg.line("test").flow.menus["more"].options] == ["advice"]


def test_menus_that_cannot_reach_the_urgent_service_are_each_named(tmp_path: Path) -> None:
    """With child-at-risk nowhere, the start menu and the sub-menu (whose back key leads only there) are both refused."""
    text = flow(first='{key: "1", menu: more, label: "For more"}', second=ADVICE) + (
        '  more:\n    options:\n      - {key: "1", service: advice, label: "For advice"}\n'
    )
    folder = write_files(tmp_path, schedule=SCHEDULE, flow=text)
    path = folder / FLOW_FILE
    assert [(p.line, p.field, p.message) for p in config_problems(folder)] == [
        (
            line_of(path, "  main:"),
            "menus.main",
            "the start menu must offer 'child-at-risk', the urgent service, as its first option on key 1; "
            'add it at the top: - {key: "1", service: child-at-risk, label: ...}',
        ),
        (
            line_of(path, "  more:"),
            "menus.more",
            "cannot reach 'child-at-risk': no option leads there and going back (key 0) ends at the start menu, "
            "which does not offer it; offer 'child-at-risk' first in the start menu",
        ),
    ]


def test_a_menu_of_ten_options_is_refused(tmp_path: Path) -> None:
    """Ten options are refused at the menu's line; the tenth also finds no free key (0 and 9 are reserved)."""
    keys = ["2", "3", "4", "5", "6", "7", "8", "#", "2"]
    others = "".join(f'      - {{key: "{k}", service: advice, label: "Advice {n}"}}\n' for n, k in enumerate(keys))
    text = flow().replace(f"      - {ADVICE}\n", others)
    folder = write_files(tmp_path, schedule=SCHEDULE, flow=text)
    path = folder / FLOW_FILE
    assert [(p.line, p.field, p.message) for p in config_problems(folder)] == [
        (
            line_of(path, "  main:"),
            "menus.main",
            "offers 10 options; at most 9 fit the keypad and a caller's memory: move some into a sub-menu",
        ),
        (line_of(path, "Advice 8"), "menus.main.options[9].key", "duplicate key '2' in menu 'main'"),
    ]
