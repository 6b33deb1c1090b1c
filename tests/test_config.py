"""Loading configuration: a bad file is refused with one line naming file, line and field; nothing is half-loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import config
from ivr.cli import main
from ivr.core.model import DayKind
from tests.builders import (
    FLOW,
    GOOD_RULES,
    assert_one_problem,
    assert_routes_to,
    at,
    config_problems,
    line_of,
    router_for,
    shipped_copy,
    write_line,
)

SCHEDULE_FILE = "schedules/test.yaml"
FLOW_FILE = "flows/test.yaml"
CATCH_ALL = '- {to: night, time: "00:00-24:00", on: any}'
RULE = "services.child-at-risk.rules[0]"


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in the file."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {path}"
    path.write_text(text.replace(old, new))


def test_the_shipped_configuration_loads_without_warnings() -> None:
    """The three shipped lines are valid and nothing in them needs an administrator's attention."""
    cfg = config.load(config.PROJECT_DIR, now=at("2026-11-01T00:00"))
    assert sorted(cfg.lines) == ["hampshire", "isle-of-wight", "wiltshire"]
    assert cfg.warnings == () and len(cfg.digest) == 16


def test_the_builders_configuration_is_valid(tmp_path: Path) -> None:
    """The test configuration loads, so each refusal below is down to its one change."""
    router = router_for(write_line(tmp_path, GOOD_RULES))
    assert_routes_to(router, "child-at-risk", "2027-03-03T10:00", "office", "+443004560108")
    assert_routes_to(router, "child-at-risk", "2027-03-03T18:00", "night", "+443004560100")


# -- bad rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_rule", "field", "message"),
    [
        ('- {to: office, time: "09:00-17:00", colour: red}', f"{RULE}.colour", "unknown key"),
        ('- {time: "09:00-17:00"}', RULE, "missing required key 'to'"),
        ('- {to: office, time: "09:00-25:00"}', f"{RULE}.time", "'25:00' is not a time"),
        ('- {to: office, time: "9am-17:00"}', f"{RULE}.time", "'9am' is not a time"),
        ('- {to: office, time: "09:00-12:60"}', f"{RULE}.time", "'12:60' is not a time"),
        ('- {to: office, time: "00:00-24:01"}', f"{RULE}.time", "'24:01' is not a time"),
        ('- {to: office, time: "09:00"}', f"{RULE}.time", "'09:00' is not a time range"),
        ('- {to: office, time: "17:00-09:00"}', f"{RULE}.time", "end 09:00 is not after start 17:00"),
        ('- {to: office, time: "09:00-09:00"}', f"{RULE}.time", "end 09:00 is not after start 09:00"),
        ('- {to: office, time: "24:00-24:00"}', f"{RULE}.time", "cannot start at 24:00"),
        ('- {to: office, days: mon-funday, time: "09:00-17:00"}', f"{RULE}.days", "'mon-funday' is not a weekday"),
        ('- {to: office, days: weekdays, time: "09:00-17:00"}', f"{RULE}.days", "'weekdays' is not a weekday"),
        ('- {to: office, days: fri-mon, time: "09:00-17:00"}', f"{RULE}.days", "'fri-mon' runs backwards"),
        ('- {to: nobody, time: "09:00-17:00"}', f"{RULE}.to", "unknown destination 'nobody'"),
        ('- {to: office, time: "09:00-17:00", on: [holiday]}', f"{RULE}.on", "'holiday' is not a kind of day"),
        ('- {to: office, days: monkey, time: "09:00-17:00"}', f"{RULE}.days", "'monkey' is not a weekday"),
        ('- {to: office, time: "09:00-17:00", on: []}', f"{RULE}.on", "names no kind of day"),
    ],
    ids=[
        "unknown_key",
        "missing_to",
        "hour_25",
        "am_pm",
        "minute_60",
        "after_2400",
        "not_a_range",
        "end_before_start",
        "empty_range",
        "start_at_2400",
        "bad_weekday",
        "weekdays_word",
        "backwards_weekdays",
        "unknown_destination",
        "unknown_kind_of_day",
        "word_starting_like_a_day",
        "no_kind_of_day",
    ],
)
def test_a_bad_rule_is_one_problem_at_its_line(tmp_path: Path, bad_rule: str, field: str, message: str) -> None:
    """Each bad rule gives exactly one problem naming the file, the rule's line and the field."""
    folder = write_line(tmp_path, f"{bad_rule}\n{CATCH_ALL}")
    line = line_of(folder / SCHEDULE_FILE, bad_rule)
    assert_one_problem(config_problems(folder), SCHEDULE_FILE, line, field, message)


# -- bad schedule fields -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("timezone: Europe/London", "timezone: Europe/London\ncolour: red", "colour", "unknown key (allowed:"),
        ("number: 0300 456 0108}", "number: 0300 456 0108, fax: 01225 713090}", "destinations.office.fax", "unknown key"),
        ("0300 456 0100}", "0300 456 01}", "destinations.night.number", "'0300 456 01' is not a valid GB phone number"),
        ("0300 456 0100}", "999}", "destinations.night.number", "'999' is not a valid GB phone number"),
        ("0300 456 0100}", "+33 1 42 68 53 00}", "destinations.night.number", "is not a valid GB phone number"),
        ("0300 456 0100}", "call the office}", "destinations.night.number", "is not a phone number"),
        (
            "0300 456 0100}",
            "0300 456 0100 (nights)}",
            "destinations.night.number",
            "'0300 456 0100 (nights)' is not a phone number: '(nights)' could not be read "
            "(an extension is written 'ext 2', 'x2' or ',2')",
        ),
        (
            "0300 456 0100}",
            "Out of Hours 0300 456 0100}",
            "destinations.night.number",
            "'Out of Hours 0300 456 0100' is not a phone number: 'Out of Hours' could not be read",
        ),
        (
            "0300 456 0100}",
            "0300 456 0100 extension 2}",
            "destinations.night.number",
            "'0300 456 0100 extension 2' is not a phone number: 'extension' could not be read",
        ),
        (
            "0300 456 0100}",
            "0300 456 0100 ext 2 then 4}",
            "destinations.night.number",
            "'0300 456 0100 ext 2 then 4' is not a phone number: 'ext 2 then' could not be read",
        ),
        (
            "destinations:",
            "destinations:\n  spare: {name: a spare team}",
            "destinations.spare",
            "needs a number, an email or a web address",
        ),
        ("timezone: Europe/London", "timezone: Europe/Swindon", "timezone", "unknown time zone 'Europe/Swindon'"),
        ("line: test", "line: somewhere-else", "line", "must be 'test', the file's name"),
        (
            "    always_open: true",
            "    always_open: true\n    fallback: [nobody]",
            "services.child-at-risk.fallback[0]",
            "unknown destination 'nobody'",
        ),
        ("    always_open: true", "    always_open: yes please", "services.child-at-risk.always_open", "expected true or false"),
    ],
    ids=[
        "unknown_top_level_key",
        "unknown_destination_key",
        "short_number",
        "emergency_number",
        "foreign_number",
        "words_for_a_number",
        "words_after_a_number",
        "words_before_a_number",
        "extension_spelt_out",
        "two_extensions",
        "no_way_to_reach",
        "unknown_timezone",
        "line_not_the_file_name",
        "unknown_fallback",
        "always_open_not_a_flag",
    ],
)
def test_a_bad_schedule_field_is_one_problem_at_its_line(tmp_path: Path, old: str, new: str, field: str, message: str) -> None:
    """A bad value anywhere in a schedule gives one problem naming the file, its line and the field."""
    folder = write_line(tmp_path, GOOD_RULES)
    path = folder / SCHEDULE_FILE
    edit(path, old, new)
    line = line_of(path, new.splitlines()[-1])
    assert_one_problem(config_problems(folder), SCHEDULE_FILE, line, field, message)


@pytest.mark.parametrize(
    ("written", "extension"),
    # Quoted in the file when it holds a comma: {a: 1,2} would end the YAML mapping at the comma.
    [("0300 456 0100 ext 2", "2"), ("0300 456 0100 x2", "2"), ('"0300 456 0100,2"', "2"), ("0300 456 0100", "")],
    ids=["ext", "x", "comma", "none"],
)
def test_a_destination_number_may_carry_an_extension(tmp_path: Path, written: str, extension: str) -> None:
    """'ext 2', 'x2' or ',2' after a team's number is kept as its extension; the number stays E.164."""
    folder = write_line(tmp_path, GOOD_RULES)
    edit(folder / SCHEDULE_FILE, "number: 0300 456 0100}", f"number: {written}}}")
    night = config.load(folder, now=at("2027-01-01T00:00")).line("test").schedule.destinations["night"]
    assert (night.number, night.extension) == ("+443004560100", extension)


def test_ivr_check_names_the_file_and_line_of_an_unreadable_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`ivr check` refuses a number with words after it, printing file:line: field: what could not be read."""
    folder = write_line(tmp_path, GOOD_RULES)
    edit(folder / SCHEDULE_FILE, "number: 0300 456 0100}", "number: 0300 456 0100 (nights)}")
    line = line_of(folder / SCHEDULE_FILE, "(nights)")
    assert main(["check", "--config", str(folder)]) == 1
    out, err = capsys.readouterr()
    assert (
        f"{SCHEDULE_FILE}:{line}: destinations.night.number: '0300 456 0100 (nights)' is not a phone number: "
        "'(nights)' could not be read (an extension is written 'ext 2', 'x2' or ',2')"
    ) in (out + err).splitlines()


def test_an_always_open_service_must_dial_a_number(tmp_path: Path) -> None:
    """An always-open service cannot send calls to a team reached only by email."""
    folder = write_line(tmp_path, '- {to: mailbox, time: "00:00-24:00", on: any}')
    edit(folder / SCHEDULE_FILE, "destinations:\n", "destinations:\n  mailbox: {name: a mailbox, email: help@example.org}\n")
    line = line_of(folder / SCHEDULE_FILE, "    rules:")
    assert_one_problem(config_problems(folder), SCHEDULE_FILE, line, "services.child-at-risk", "'mailbox' has no number to dial")


OVERRIDE = "  - {services: [child-at-risk], to: night, from: 2027-03-04T09:00, until: 2027-03-04T12:00, reason: training}"


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("to: night", "to: nobody", "overrides[0].to", "unknown destination 'nobody'"),
        (
            "services: [child-at-risk]",
            "services: [no-such-service]",
            "overrides[0].services",
            "unknown service 'no-such-service'",
        ),
        ("until: 2027-03-04T12:00", "until: 2027-03-04T08:00", "overrides[0].until", "ends before it starts"),
        ("until: 2027-03-04T12:00", "until: lunchtime", "overrides[0].until", "is not a date and time, or 'further notice'"),
        ("from: 2027-03-04T09:00", "from: soon", "overrides[0].from", "is not a date and time"),
        ("reason: training", "reason: ''", "overrides[0].reason", "say why the calls are diverted"),
        ("reason: training}", "reason: training, colour: red}", "overrides[0].colour", "unknown key"),
    ],
    ids=[
        "unknown_destination",
        "unknown_service",
        "ends_before_it_starts",
        "until_not_a_time",
        "from_not_a_time",
        "no_reason",
        "unknown_key",
    ],
)
def test_a_bad_override_is_one_problem_at_its_line(tmp_path: Path, old: str, new: str, field: str, message: str) -> None:
    """A bad override gives one problem at its line, naming the field."""
    folder = write_line(tmp_path, GOOD_RULES, extra="overrides:\n" + OVERRIDE.replace(old, new) + "\n")
    line = line_of(folder / SCHEDULE_FILE, "- {services:")
    assert_one_problem(config_problems(folder), SCHEDULE_FILE, line, field, message)


@pytest.mark.parametrize(
    ("closure", "field", "message"),
    [
        ("{date: 2027-02-30, name: Training day}", "closures[0].date", "is not a date (YYYY-MM-DD)"),
        ('{date: 2027-02-10, time: "13:00-25:00", name: Half day}', "closures[0].time", "'25:00' is not a time"),
        ("{date: 2027-02-10}", "closures[0]", "missing required key 'name'"),
    ],
    ids=["impossible_date", "bad_time", "no_name"],
)
def test_a_bad_closure_is_one_problem_at_its_line(tmp_path: Path, closure: str, field: str, message: str) -> None:
    """A bad closure gives one problem at its line, naming the field."""
    folder = write_line(tmp_path, GOOD_RULES, extra=f"closures:\n  - {closure}\n")
    line = line_of(folder / SCHEDULE_FILE, closure)
    assert_one_problem(config_problems(folder), SCHEDULE_FILE, line, field, message)


@pytest.mark.parametrize(
    ("text", "line"),
    [("line: test\nservices: [\n  - a\n  b: c\n", 3), ("line: test\nline: again\n", 2)],
    ids=["broken_syntax", "duplicate_key"],
)
def test_a_file_that_is_not_yaml_names_the_line(tmp_path: Path, text: str, line: int) -> None:
    """Unreadable YAML, or a key given twice, is one problem naming the line."""
    folder = write_line(tmp_path, GOOD_RULES)
    (folder / SCHEDULE_FILE).write_text(text)
    (problem,) = config_problems(folder)
    assert (problem.path, problem.line) == (SCHEDULE_FILE, line) and problem.message.startswith("not valid YAML")


# -- bad flows -----------------------------------------------------------------------------------

OPTION_1 = '{key: "1", service: child-at-risk, label: "If you are worried a child is at risk"}'


def flow_with(*, options: str = "", menus: str = "", top: str = "") -> str:
    """The builder's flow with more options in the main menu (one a line), more menus (YAML under `menus:`), more top-level keys."""
    text = FLOW.format(line="test") + "".join(f"  {m}\n" for m in menus.splitlines()) + top
    return text.replace(OPTION_1, OPTION_1 + "".join(f"\n      - {o}" for o in options.splitlines()))


@pytest.mark.parametrize(
    ("flow", "needle", "field", "message"),
    [
        (
            flow_with(options='{key: "2", service: nothing, label: "Nothing"}'),
            "service: nothing",
            "menus.main.options[1].service",
            "unknown service 'nothing'",
        ),
        (
            flow_with(options='{key: "2", menu: nowhere, label: "Elsewhere"}'),
            "menu: nowhere",
            "menus.main.options[1].menu",
            "unknown menu 'nowhere'",
        ),
        (
            flow_with(
                options='{key: "2", menu: loop, label: "Round"}',
                menus='loop:\n  options:\n    - {key: "1", menu: loop, label: "And round"}',
            ),
            "  loop:",
            "menus.loop",
            "leads only back into menus",
        ),
        (
            flow_with(options='{key: "1", service: child-at-risk, label: "Again"}'),
            '"Again"',
            "menus.main.options[1].key",
            "duplicate key '1' in menu 'main'",
        ),
        (
            flow_with(options='{key: "9", service: child-at-risk, label: "Nine"}'),
            '"Nine"',
            "menus.main.options[1].key",
            "'9' is the line's repeat key",
        ),
        (
            flow_with(options='{key: "0", service: child-at-risk, label: "Zero"}'),
            '"Zero"',
            "menus.main.options[1].key",
            "'0' is the line's back key",
        ),
        (
            flow_with(options='{key: "#", service: child-at-risk, label: "Hash"}', top='keys: {repeat: "#"}\n'),
            '"Hash"',
            "menus.main.options[1].key",
            "'#' is the line's repeat key",
        ),
        (
            flow_with(options='{key: "12", service: child-at-risk, label: "Twelve"}'),
            '"Twelve"',
            "menus.main.options[1].key",
            "'12' is not a single keypad key",
        ),
        (
            flow_with(options='{key: "2", service: child-at-risk, menu: main, label: "Both"}'),
            '"Both"',
            "menus.main.options[1]",
            "give exactly one of 'service' or 'menu'",
        ),
        (
            flow_with(menus='orphan:\n  options:\n    - {key: "1", service: child-at-risk, label: "Lost"}'),
            "  orphan:",
            "menus.orphan",
            "no option leads here from the start menu 'main'",
        ),
        (flow_with(top="colour: red\n"), "colour: red", "colour", "unknown key"),
        (
            flow_with().replace("front_door: office", "front_door: nowhere"),
            "front_door:",
            "front_door",
            "'nowhere' is not a destination with a number",
        ),
        (flow_with(top='numbers: ["0300 456 01"]\n'), "numbers:", "numbers[0]", "'0300 456 01' is not a valid GB phone number"),
        (
            flow_with(top='numbers: ["0300 456 0111 ext 2"]\n'),
            "numbers:",
            "numbers[0]",
            "'0300 456 0111 ext 2' has an extension (2); this number cannot take one",
        ),
        (flow_with(top="tries: 9\n"), "tries:", "tries", "expected a whole number from 1 to 5"),
    ],
    ids=[
        "unknown_service",
        "unknown_menu",
        "menu_leads_only_back_into_menus",
        "duplicate_menu_key",
        "repeat_key_as_option",
        "back_key_as_option",
        "custom_reserved_key_as_option",
        "not_a_keypad_key",
        "service_and_menu",
        "unreachable_menu",
        "unknown_key",
        "unknown_front_door",
        "invalid_twilio_number",
        "twilio_number_with_an_extension",
        "too_many_tries",
    ],
)
def test_a_bad_flow_is_one_problem_at_its_line(tmp_path: Path, flow: str, needle: str, field: str, message: str) -> None:
    """A bad flow gives one problem naming the flow file, the line and the field."""
    folder = write_line(tmp_path, GOOD_RULES, flow=flow)
    assert_one_problem(config_problems(folder), FLOW_FILE, line_of(folder / FLOW_FILE, needle), field, message)


def test_two_menus_that_lead_only_into_each_other_are_both_named(tmp_path: Path) -> None:
    """A loop of two menus with no way out to a service: each menu is one problem at its own line."""
    flow = flow_with(
        options='{key: "2", menu: loop-a, label: "Loop"}',
        menus='loop-a:\n  options:\n    - {key: "1", menu: loop-b, label: "Round"}\n'
        'loop-b:\n  options:\n    - {key: "1", menu: loop-a, label: "And round"}',
    )
    folder = write_line(tmp_path, GOOD_RULES, flow=flow)
    found = sorted(config_problems(folder), key=lambda p: p.line)
    path = folder / FLOW_FILE
    assert [(p.path, p.line, p.field) for p in found] == [
        (FLOW_FILE, line_of(path, "  loop-a:"), "menus.loop-a"),
        (FLOW_FILE, line_of(path, "  loop-b:"), "menus.loop-b"),
    ]
    assert all("leads only back into menus" in p.message for p in found)


def test_a_menu_that_leads_back_to_a_menu_with_services_is_fine(tmp_path: Path) -> None:
    """A sub-menu whose only option returns to the main menu still reaches a service, so it is allowed."""
    flow = flow_with(
        options='{key: "2", menu: more, label: "More"}', menus='more:\n  options:\n    - {key: "1", menu: main, label: "Back"}'
    )
    cfg = config.load(write_line(tmp_path, GOOD_RULES, flow=flow), now=at("2027-01-01T00:00"))
    assert [o.menu for o in cfg.line("test").flow.menus["more"].options] == ["main"]


@pytest.mark.parametrize(
    ("codes", "field", "message"),
    [
        (("1", "12"), "shortcuts[1].code", "'12' clashes with shortcut '1'"),
        (("12", "1"), "shortcuts[1].code", "'1' clashes with shortcut '12'"),
        (("12", "12"), "shortcuts[1].code", "'12' clashes with shortcut '12'"),
        (("10", "1x"), "shortcuts[1].code", "'1x' is not a code of 1 to 4 digits"),
    ],
    ids=["shorter_first", "longer_first", "same_code", "not_digits"],
)
def test_a_shortcut_that_is_a_prefix_of_another_is_refused(
    tmp_path: Path, codes: tuple[str, str], field: str, message: str
) -> None:
    """A shortcut code that is the start of another cannot be told apart as it is typed, so it is refused."""
    first, second = codes
    top = f'shortcuts:\n  - {{code: "{first}", name: a, service: child-at-risk}}\n  - {{code: "{second}", name: b, service: child-at-risk}}\n'
    folder = write_line(tmp_path, GOOD_RULES, flow=flow_with(top=top))
    assert_one_problem(config_problems(folder), FLOW_FILE, line_of(folder / FLOW_FILE, "name: b"), field, message)


@pytest.mark.parametrize(
    ("shortcut", "field", "message"),
    [
        ("{code: '10', name: a, service: nothing}", "shortcuts[0].service", "unknown service 'nothing'"),
        (
            "{code: '10', name: a, service: child-at-risk, expects: nobody}",
            "shortcuts[0].expects",
            "unknown destination 'nobody'",
        ),
    ],
    ids=["unknown_service", "unknown_expected_destination"],
)
def test_a_shortcut_must_name_a_real_service_and_team(tmp_path: Path, shortcut: str, field: str, message: str) -> None:
    """A shortcut to an unknown service or team is one problem at its line."""
    folder = write_line(tmp_path, GOOD_RULES, flow=flow_with(top=f"shortcuts:\n  - {shortcut}\n"))
    assert_one_problem(config_problems(folder), FLOW_FILE, line_of(folder / FLOW_FILE, shortcut), field, message)


# -- gaps in an always-open service --------------------------------------------------------------

CLOSURE_RULES = """
- {to: office, time: "00:00-24:00", on: [ordinary, bank-holiday]}
- {to: night, time: "00:00-12:00", on: closure}
- {to: night, time: "12:01-24:00", on: closure}
"""


@pytest.mark.parametrize(
    ("day", "offset"),
    [("2027-02-10", "+00:00"), ("2027-07-14", "+01:00")],
    ids=["winter", "summer"],
)
def test_a_one_minute_gap_is_refused_and_named(tmp_path: Path, day: str, offset: str) -> None:
    """Leaving child-at-risk uncovered for one minute on a closure day is one problem naming the gap's from and to."""
    folder = write_line(tmp_path, CLOSURE_RULES, extra=f"closures:\n  - {{date: {day}, name: Staff training}}\n")
    line = line_of(folder / SCHEDULE_FILE, "  child-at-risk:")
    assert_one_problem(
        config_problems(folder),
        SCHEDULE_FILE,
        line,
        "services.child-at-risk",
        f"always open, but no rule covers {day}T12:00{offset} to {day}T12:01{offset}",
    )


def test_a_daily_one_minute_gap_is_one_problem_for_the_whole_range(tmp_path: Path) -> None:
    """A gap at the same minute every day is one problem naming the times, the first and last day and the count."""
    folder = write_line(tmp_path, '- {to: office, time: "00:00-12:00", on: any}\n- {to: night, time: "12:01-24:00", on: any}')
    (problem,) = config_problems(folder, now=at("2027-01-01T00:00"))
    assert problem.message == (
        "always open, but no rule covers every day 12:00-12:01, Fri 1 Jan 2027 to Fri 4 Feb 2028: "
        "400 days without a destination; add a rule that covers these times"
    )


def test_a_service_that_is_not_always_open_may_close(tmp_path: Path) -> None:
    """Only always-open services must cover every minute; others may be closed out of hours."""
    folder = write_line(tmp_path, GOOD_RULES)
    edit(
        folder / SCHEDULE_FILE,
        "services:\n",
        'services:\n  send:\n    name: SEND\n    rules:\n      - {to: office, days: mon-fri, time: "09:00-17:00"}\n',
    )
    router = router_for(folder)
    assert_routes_to(router, "send", "2027-03-03T18:00", None, until="2027-03-04T09:00")


# -- nothing half-loaded -------------------------------------------------------------------------


def test_one_bad_line_keeps_every_line_from_loading(tmp_path: Path) -> None:
    """When one line's file is bad, load() raises and returns no line at all, good ones included."""
    write_line(tmp_path, GOOD_RULES, line="alpha")
    write_line(tmp_path, '- {to: office, time: "00:00-25:00", on: any}', line="beta")
    found = config_problems(tmp_path)
    assert [(p.path, p.field) for p in found] == [("schedules/beta.yaml", "services.child-at-risk.rules[0].time")]
    write_line(tmp_path, GOOD_RULES, line="beta")
    assert sorted(config.load(tmp_path, now=at("2027-01-01T00:00")).lines) == ["alpha", "beta"]


def test_one_bad_shipped_file_refuses_the_whole_configuration(tmp_path: Path) -> None:
    """A broken Hampshire file stops Wiltshire and the Isle of Wight loading too."""
    folder = shipped_copy(tmp_path / "config")
    path = folder / "schedules" / "hampshire.yaml"
    text = path.read_text()
    path.write_text(text.replace('"08:30-17:00"', '"08:30-17:60"', 1))
    (problem,) = config_problems(folder, now=at("2026-11-01T00:00"))
    assert (problem.path, problem.line, problem.field) == (
        "schedules/hampshire.yaml",
        line_of(path, "17:60"),
        "services.child-at-risk.rules[0].time",
    )


@pytest.mark.parametrize(
    ("missing", "message"),
    [("flows", "no flows/test.yaml"), ("schedules", "no schedules/test.yaml")],
    ids=["no_flow", "no_schedule"],
)
def test_a_line_needs_both_its_files(tmp_path: Path, missing: str, message: str) -> None:
    """A schedule without its flow, or a flow without its schedule, is refused."""
    write_line(tmp_path, GOOD_RULES)
    write_line(tmp_path, GOOD_RULES, line="other")
    (tmp_path / missing / "test.yaml").unlink()
    (problem,) = config_problems(tmp_path)
    assert problem.message == message


# -- what loads --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "weekdays"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("Mon-Thu", {0, 1, 2, 3}),
        ("monday-friday", {0, 1, 2, 3, 4}),
        ("fri", {4}),
        ('"sat,sun"', {5, 6}),
        ('"mon, wed-thu"', {0, 2, 3}),
        ("every day", set(range(7))),
    ],
    ids=["mon-fri", "capitalised", "full_names", "one_day", "list", "list_and_range", "every_day"],
)
def test_weekday_forms(tmp_path: Path, days: str, weekdays: set[int]) -> None:
    """The ways an administrator writes weekdays all load to the same set of days."""
    folder = write_line(tmp_path, f'- {{to: office, days: {days}, time: "09:00-17:00"}}\n{CATCH_ALL}')
    loaded = config.load(folder, now=at("2027-01-01T00:00")).line("test").schedule.services["child-at-risk"].rules[0]
    assert loaded.weekdays == frozenset(weekdays)


def test_unquoted_times_read_as_times(tmp_path: Path) -> None:
    """YAML would read an unquoted 13:00 as the number 780; the loader keeps it a clock time."""
    folder = write_line(
        tmp_path,
        "- {to: office, days: mon-fri, time: 09:00-17:00}\n" + CATCH_ALL,
        extra="closures:\n  - {date: 2027-03-03, time: 13:00-24:00, name: Half day}\n",
    )
    schedule = config.load(folder, now=at("2027-01-01T00:00")).line("test").schedule
    assert (schedule.services["child-at-risk"].rules[0].start, schedule.services["child-at-risk"].rules[0].end) == (540, 1020)
    assert (schedule.closures[0].start, schedule.closures[0].end) == (780, 1440)
    assert schedule.services["child-at-risk"].rules[1].kinds == frozenset(DayKind)


@pytest.mark.parametrize(
    ("until", "now", "warning"),
    [
        ("further notice", "2027-03-05T00:00", "override to 'night' is in force until further notice (office flood)"),
        ("2027-03-04T12:00", "2027-03-05T00:00", "override to 'night' ended 2027-03-04T12:00+00:00; it no longer applies"),
        ("2027-03-04T12:00", "2027-03-04T10:00", "override to 'night' ends within 24 hours, at 2027-03-04T12:00+00:00"),
    ],
    ids=["until_further_notice", "expired", "ending_soon"],
)
def test_overrides_that_need_attention_warn_but_load(tmp_path: Path, until: str, now: str, warning: str) -> None:
    """Open-ended, expired and ending overrides load, each with a warning naming its file and line."""
    folder = write_line(
        tmp_path,
        GOOD_RULES,
        extra=f"overrides:\n  - {{services: [child-at-risk], to: night, from: 2027-03-04T09:00, until: {until}, reason: office flood}}\n",
    )
    cfg = config.load(folder, now=at(now))
    line = line_of(folder / SCHEDULE_FILE, "- {services:")
    assert cfg.warnings == (f"{SCHEDULE_FILE}:{line}: " + cfg.warnings[0].split(": ", 1)[1],)
    assert warning in cfg.warnings[0]
    router = cfg.router("test")
    assert_routes_to(router, "child-at-risk", "2027-03-04T10:00", "night")
    expected_later = "night" if until == "further notice" else "office"
    assert_routes_to(router, "child-at-risk", "2027-03-10T10:00", expected_later)


def test_an_override_naming_no_service_is_refused(tmp_path: Path) -> None:
    """A diversion with `services: []` would divert nothing; it is refused at its line."""
    folder = write_line(
        tmp_path,
        GOOD_RULES,
        extra="""\
overrides:
  - {services: [], to: night, from: 2027-03-04T09:00, until: 2027-03-04T12:00, reason: drill}
""",
    )
    line = line_of(folder / SCHEDULE_FILE, "services: []")
    assert_one_problem(config_problems(folder), SCHEDULE_FILE, line, "overrides[0].services", "names no service")
