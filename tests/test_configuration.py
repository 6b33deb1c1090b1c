"""Loading configuration: every bad file is refused with one line naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import config
from ivr.errors import ConfigError
from tests.builders import FLOW, at, router_for, shipped_copy, write_line

GOOD_RULES = """
- {to: office, days: mon-fri, time: "09:00-17:00"}
- {to: night, time: "00:00-24:00", on: any}
"""


def problems(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config.load(folder, now=at("2027-01-01T00:00"))
    return [str(p) for p in caught.value.problems]


def test_the_shipped_configuration_loads() -> None:
    """The three shipped lines are valid."""
    assert sorted(config.load().lines) == ["hampshire", "isle-of-wight", "wiltshire"]


def test_good_test_config_loads(tmp_path: Path) -> None:
    """The builder's configuration is valid, so each rejection below is down to its one change."""
    assert router_for(write_line(tmp_path, GOOD_RULES)).route("child-at-risk", at("2027-03-03T10:00")).destination.key == "office"  # type: ignore[union-attr]


@pytest.mark.parametrize(("rules", "line", "expected"), [
    ('- {to: office, time: "09:00-25:00", on: any}', 11, "services.child-at-risk.rules[0].time: '25:00' is not a time"),
    ('- {to: office, time: "9am-5pm", on: any}', 11, "services.child-at-risk.rules[0].time: '9am' is not a time"),
    ('- {to: office, time: "17:00-09:00", on: any}', 11, "services.child-at-risk.rules[0].time: end 09:00 is not after start 17:00"),
    ('- {to: office, days: mon-funday, time: "00:00-24:00", on: any}', 11, "services.child-at-risk.rules[0].days: 'mon-funday' is not a weekday"),
    ('- {to: office, days: fri-mon, time: "00:00-24:00", on: any}', 11, "services.child-at-risk.rules[0].days: 'fri-mon' runs backwards"),
    ('- {to: nobody, time: "00:00-24:00", on: any}', 11, "services.child-at-risk.rules[0].to: unknown destination 'nobody'"),
    ('- {to: office, time: "00:00-24:00", on: [holiday]}', 11, "services.child-at-risk.rules[0].on: 'holiday' is not a kind of day"),
    ('- {to: office, time: "00:00-24:00", on: any, colour: red}', 11, "services.child-at-risk.rules[0].colour: unknown key"),
], ids=["hour-25", "am-pm", "end-before-start", "bad-weekday", "backwards-days", "unknown-destination", "unknown-kind", "unknown-key"])
def test_bad_rules_are_named(tmp_path: Path, rules: str, line: int, expected: str) -> None:
    """Each bad rule gives one problem naming the file, line and field."""
    found = problems(write_line(tmp_path, rules))
    assert any(p.startswith(f"schedules/test.yaml:{line}: ") and expected in p for p in found), found


def test_invalid_phone_number(tmp_path: Path) -> None:
    """A number that is not a valid UK number is refused at its line."""
    folder = write_line(tmp_path, GOOD_RULES)
    path = folder / "schedules" / "test.yaml"
    path.write_text(path.read_text().replace("0300 456 0100", "0300 456 01"))
    first, *_ = problems(folder)
    assert first == "schedules/test.yaml:5: destinations.night.number: '0300 456 01' is not a valid GB phone number"


def test_a_one_minute_gap_in_an_always_open_service_is_named(tmp_path: Path) -> None:
    """A schedule leaving child-at-risk uncovered for one minute a day is refused, the gap named."""
    folder = write_line(tmp_path, """
        - {to: office, time: "00:00-12:00", on: any}
        - {to: night, time: "12:01-24:00", on: any}
        """)
    found = problems(folder)
    assert found[0] == "schedules/test.yaml:7: services.child-at-risk: always open, but no rule covers 2027-01-01T12:00+00:00 to 2027-01-01T12:01+00:00"
    assert len(found) == 400, "one line per gap in the next 400 days"


def test_a_bank_holiday_gap_is_found(tmp_path: Path) -> None:
    """Rules for ordinary days only leave bank holidays uncovered, and that is refused."""
    found = problems(write_line(tmp_path, '- {to: office, time: "00:00-24:00"}'))
    assert found[0].endswith("always open, but no rule covers 2027-01-01T00:00+00:00 to 2027-01-02T00:00+00:00")


@pytest.mark.parametrize(("flow_change", "expected"), [
    (('{key: "1", service: child-at-risk', '{key: "1", service: nothing'), "menus.main.options[0].service: unknown service 'nothing'"),
    (('label: "If you are worried a child is at risk"}', 'label: "x"}\n      - {key: "1", service: child-at-risk, label: "y"}'), "duplicate key '1' in menu 'main'"),
    (('{key: "1", service', '{key: "9", service'), "'9' is the line's repeat key"),
    (("start: main", "start: elsewhere"), "start: unknown menu 'elsewhere'"),
    (("front_door: office", "front_door: nowhere"), "front_door: 'nowhere' is not a destination with a number"),
], ids=["unknown-service", "duplicate-key", "reserved-key", "unknown-start", "bad-front-door"])
def test_bad_flows_are_named(tmp_path: Path, flow_change: tuple[str, str], expected: str) -> None:
    """Flow files are checked against the schedule, each problem on its own line."""
    flow = FLOW.format(line="test").replace(*flow_change)
    found = problems(write_line(tmp_path, GOOD_RULES, flow=flow))
    assert any(p.startswith("flows/test.yaml:") and expected in p for p in found), found


def test_menus_that_lead_only_back_into_menus(tmp_path: Path) -> None:
    """A loop of menus with no way out to a service is refused."""
    flow = FLOW.format(line="test") + """\
  loop-a:
    options:
      - {key: "1", menu: loop-b, label: "Round"}
  loop-b:
    options:
      - {key: "1", menu: loop-a, label: "And round"}
"""
    flow = flow.replace('label: "If you are worried a child is at risk"}', 'label: "If you are worried a child is at risk"}\n      - {key: "2", menu: loop-a, label: "Loop"}')
    found = problems(write_line(tmp_path, GOOD_RULES, flow=flow))
    assert any("menus.loop-a: leads only back into menus" in p for p in found), found
    assert any("menus.loop-b: leads only back into menus" in p for p in found), found


def test_shortcut_prefix_clash(tmp_path: Path) -> None:
    """A shortcut code that is the start of another cannot be told apart, and is refused."""
    flow = FLOW.format(line="test") + 'shortcuts:\n  - {code: "1", name: a, service: child-at-risk}\n  - {code: "12", name: b, service: child-at-risk}\n'
    found = problems(write_line(tmp_path, GOOD_RULES, flow=flow))
    assert any("shortcuts[1].code: '12' clashes with shortcut '1'" in p for p in found), found


def test_nothing_half_loaded(tmp_path: Path) -> None:
    """One bad line's file keeps every line from loading."""
    folder = tmp_path / "config"
    shipped_copy(folder)
    path = folder / "schedules" / "hampshire.yaml"
    path.write_text(path.read_text().replace('"08:30-17:00"', '"08:30-17:60"', 1))
    found = problems(folder)
    assert len(found) == 1 and found[0].startswith("schedules/hampshire.yaml:")


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    """A file that is not YAML is reported with its line."""
    folder = write_line(tmp_path, GOOD_RULES)
    (folder / "schedules" / "test.yaml").write_text("line: test\nservices: [\n  - a\n  b: c\n")
    (problem,) = problems(folder)
    assert problem.startswith("schedules/test.yaml:3: not valid YAML")


def test_overrides_and_closures_parse(tmp_path: Path) -> None:
    """An override with `until: further notice` and a whole-day closure are taken as written."""
    folder = write_line(tmp_path, GOOD_RULES, extra="""\
closures:
  - {date: 2027-03-03, name: Training day}
overrides:
  - {services: [child-at-risk], to: night, from: 2027-03-04T09:00, until: further notice, reason: office flood}
""")
    router = router_for(folder)
    assert router.route("child-at-risk", at("2027-03-03T10:00")).destination.key == "night"  # type: ignore[union-attr]
    later = router.route("child-at-risk", at("2027-03-10T10:00"))
    assert later.override and later.until is None
    cfg = config.load(folder, now=at("2027-03-05T00:00"))
    assert any("until further notice (office flood)" in w for w in cfg.warnings)
