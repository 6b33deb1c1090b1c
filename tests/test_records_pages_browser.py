"""The release and call pages in Chromium: axe finds nothing (WCAG 2.2 A/AA), the keyboard reaches the
calls filter's fields in order and then its button, and a search made by keyboard finds the site's call.

Uses the served site of tests/browser.py; the releases are published into its records once, here: the
shipped files, the same with a diversion, then a rollback, so the files it serves are live again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from ivr.live import Published
from ivr.services import services_of
from tests.browser import (
    SITE_NOW,
    BrowserLog,
    Focused,
    Site,
    axe_violations,
    describe,
    focus_order,
    overflowing,
    screenshot,
    tab_stops,
)
from tests.builders import shipped_copy
from tests.conftest import london

TRAINING = (
    "overrides:\n  - {services: [child-at-risk, allegation-about-staff], to: out-of-hours, "
    "from: 2027-03-10T09:00, until: 2027-03-10T12:00, reason: MASH training morning}\n"
)
# The filter form's controls in the order a keyboard reaches them: (tag, what it is called or holds).
FILTER_FIELDS = [
    ("select", "Any line"),
    ("select", "Any service"),
    ("select", "Any outcome"),
    *[("input", "")] * 6,  # day, month and year of the two dates, empty
    ("input", "yes"),  # the legal-hold checkbox (its value)
    ("button", "Show calls"),
]


@pytest.fixture(scope="module")
def releases(site: Site, tmp_path_factory: pytest.TempPathFactory) -> tuple[Published, Published]:
    """Two releases and a rollback to the first, published into the site's records a few days before SITE_NOW."""
    publisher = services_of(site.app).publisher
    folder = shipped_copy(tmp_path_factory.mktemp("releases") / "config")
    first = publisher.publish(folder, london("2027-03-01T09:00"), "alice", "first")
    schedule = folder / "schedules" / "wiltshire.yaml"
    schedule.write_text(schedule.read_text().replace("overrides: []\n", TRAINING))
    second = publisher.publish(folder, london("2027-03-02T16:30"), "bob", "MASH training")
    publisher.rollback(first.digest, SITE_NOW.replace(hour=9), "carol", "training cancelled")
    return first, second


def _visit(page: Page, path: str, status: int = 200) -> None:
    response = page.goto(path)
    assert response is not None and response.status == status, f"{path}: {response.status if response else 'no response'}"


PAGES = {
    "releases": lambda _site, _releases: "/admin/releases",
    "release": lambda _site, releases: f"/admin/releases/{releases[1].digest}",
    "calls": lambda _site, _releases: "/admin/calls",
    "call": lambda site, _releases: f"/admin/calls/{site.call_sid}",
}


@pytest.fixture(params=list(PAGES))
def records_page(
    request: pytest.FixtureRequest, page: Page, site: Site, releases: tuple[Published, Published]
) -> tuple[str, Page]:
    """Each release and call page, loaded in a signed-in tab: (name, tab)."""
    _visit(page, PAGES[request.param](site, releases))
    return request.param, page


def test_release_and_call_pages_have_no_axe_violations(records_page: tuple[str, Page], browser_log: BrowserLog) -> None:
    """axe-core finds nothing against WCAG 2.0, 2.1 and 2.2 A and AA on the releases, a release, the calls and a call."""
    name, page = records_page
    violations = axe_violations(page)
    assert violations == [], f"{name}: axe finds\n{describe(violations)}"
    assert browser_log.problems() == []


def test_the_calls_form_with_errors_has_no_axe_violations(page: Page, browser_log: BrowserLog) -> None:
    """The calls page refusing a date (400, GOV.UK's error summary and messages) still passes axe."""
    refused = "/admin/calls?from-day=31&from-month=2&from-year=2027&outcome=maybe"
    _visit(page, refused, status=400)
    assert page.locator(".govuk-error-summary").is_visible()
    violations = axe_violations(page)
    assert violations == [], f"calls with errors: axe finds\n{describe(violations)}"
    # The page's own 400 is what Chromium reports; nothing else may fail.
    assert [p for p in browser_log.problems() if not p.endswith(refused) and not p.endswith(f"{refused})")] == []
    screenshot(page, "calls-errors-1280")


def test_keyboard_reaches_the_filter_fields_then_the_button(page: Page) -> None:
    """Tab from the top reaches every stop in document order, and the form's: line, service, outcome, two dates, held, then Show calls."""
    _visit(page, "/admin/calls")
    stops = tab_stops(page)
    reached = focus_order(page)
    assert [str(f) for f in reached] == [str(f) for f in stops]
    assert "govuk-skip-link" in reached[0].classes
    start = next(i for i, f in enumerate(reached) if f.tag == "select")
    form = [(f.tag, f.name) for f in reached[start : start + len(FILTER_FIELDS)]]
    assert [
        (tag, name if tag == "input" else name[: len(expected)])
        for (tag, name), (_, expected) in zip(form, FILTER_FIELDS, strict=True)
    ] == FILTER_FIELDS
    assert _is_before_the_results(reached, start + len(FILTER_FIELDS) - 1)


def _is_before_the_results(reached: list[Focused], button: int) -> bool:
    """Whether the button comes before every link to a call (the form is above the results)."""
    calls = [i for i, f in enumerate(reached) if f.href and "/admin/calls/" in f.href]
    return bool(calls) and all(button < i for i in calls)


def test_a_search_made_by_keyboard_finds_the_call(page: Page, site: Site) -> None:
    """Choosing Wiltshire, typing the day of the call, and pressing Enter on the button lists the site's call."""
    _visit(page, "/admin/calls")
    page.focus("#line")
    page.keyboard.type("Wiltshire")  # a focused select picks the option whose text starts with what is typed
    for part, typed in (("day", "3"), ("month", "3"), ("year", "2027")):
        page.focus(f"#from-{part}")
        page.keyboard.type(typed)
    page.focus("#held")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Show calls"
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/calls?*")
    assert "line=wiltshire" in page.url and "from-day=3" in page.url
    assert page.get_by_role("link", name=site.call_sid).is_visible()
    assert page.locator("select#line").input_value() == "wiltshire"


def test_a_release_page_says_the_difference(page: Page, releases: tuple[Published, Published]) -> None:
    """The second release's page reads out the diversion's stretch as `ivr diff` prints it."""
    _visit(page, f"/admin/releases/{releases[1].digest}")
    assert page.get_by_text(
        "Wed 10 Mar 09:00-12:00 wiltshire child-at-risk: the Multi-Agency Safeguarding Hub -> the Out of Hours Service "
        "(diversion 'MASH training morning')"
    ).is_visible()


def test_release_and_call_pages_reflow_at_320_css_pixels_but_their_tables(records_page: tuple[str, Page]) -> None:
    """At 320 CSS pixels, with the data tables (which WCAG 1.4.10 lets scroll both ways) taken out, nothing sticks out:
    long SIDs and digests wrap, the form's fields stack."""
    name, page = records_page
    page.evaluate("() => document.querySelectorAll('main table').forEach(table => { table.hidden = true; })")
    assert overflowing(page) == [], f"{name} at 320 CSS pixels"


@pytest.mark.parametrize("width", [1280, 320], ids=["desktop", "narrow_320"])
def test_screenshots_of_the_release_and_call_pages(records_page: tuple[str, Page], width: int) -> None:
    """Each page, whole, at desktop width and at 320 CSS pixels, saved for a person to look at."""
    name, page = records_page
    page.set_viewport_size({"width": width, "height": 800})
    path: Path = screenshot(page, f"records-{name}-{width}")
    assert path.read_bytes().startswith(b"\x89PNG")
