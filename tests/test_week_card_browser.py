"""The week page and the quick card as people meet them in Chromium: axe, the keyboard, print, reflow, screenshots.

The site's clock is Wed 3 Mar 2027 (tests.browser.SITE_NOW); the week shown is chosen by `?from=`.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser import (
    BrowserLog,
    Focused,
    axe_violations,
    describe,
    focus_order,
    overflowing,
    pdf_pages,
    screenshot,
    tab_stops,
)

CHRISTMAS_WEEK = "/admin/wiltshire/week?from=2026-12-21"
SHIPPED_LINES = ("wiltshire", "hampshire", "isle-of-wight")


def _visit(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response.status if response else 'no response'}"


def _once_each(reached: list[Focused]) -> list[str]:
    """Focus in order, an element that keeps it for several Tabs counted once (a date field's day, month and year)."""
    shown: list[str] = []
    for focused in map(str, reached):
        if not shown or shown[-1] != focused:
            shown.append(focused)
    return shown


def test_week_page_has_no_axe_violations(page: Page, browser_log: BrowserLog) -> None:
    """axe-core finds nothing against WCAG 2.0-2.2 A and AA on Wiltshire's Christmas week, charts and tables included."""
    _visit(page, CHRISTMAS_WEEK)
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    assert browser_log.problems() == []


def test_week_page_with_an_error_has_no_axe_violations(page: Page) -> None:
    """The same with a bad date: the error summary and the field's error message pass too."""
    _visit(page, "/admin/hampshire/week?from=2026-02-30")
    assert page.get_by_role("alert").get_by_text("Enter a real date").is_visible()
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def test_keyboard_reaches_the_date_picker_then_the_other_weeks(page: Page) -> None:
    """Tab goes skip link first, then the header and navigation, the date field, its button, previous and next week, then the services."""
    _visit(page, CHRISTMAS_WEEK)
    stops = [str(f) for f in tab_stops(page)]
    reached = _once_each(focus_order(page, len(stops) + 10))
    assert reached[: len(stops)] == stops, f"Tab reached {reached}, the page has {stops}"
    assert reached[0] == 'a "Skip to main content" -> #main-content'
    date_field = next(i for i, f in enumerate(reached) if f.startswith("input"))
    button = reached.index('button "Show the week"')
    previous = next(i for i, f in enumerate(reached) if f.endswith("/admin/wiltshire/week?from=2026-12-14"))
    following = next(i for i, f in enumerate(reached) if f.endswith("/admin/wiltshire/week?from=2026-12-28"))
    first_service = next(i for i, f in enumerate(reached) if f.endswith("#service-child-at-risk"))
    assert date_field < button < previous < following < first_service, reached


def test_a_keyboard_user_picks_a_week_and_steps_back(page: Page) -> None:
    """Type a date in the date field and press Enter: that week; then Tab to "Previous week" and press Enter: the week before."""
    _visit(page, CHRISTMAS_WEEK)
    field = page.locator("#from")
    field.focus()
    # The field's day, month and year come in the order of Chromium's own language, not the page's: find it out.
    page.keyboard.type("01022027")
    day_first = field.input_value() == "2027-02-01"
    field.blur()
    field.focus()
    page.keyboard.type("04012027" if day_first else "01042027")
    assert field.input_value() == "2027-01-04"
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/wiltshire/week?from=2027-01-04")
    assert page.get_by_role("heading", level=1).inner_text() == "Mon 4 Jan to Sun 10 Jan 2027"
    page.locator("#from").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.getAttribute('rel')") == "prev":
            break
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/wiltshire/week?from=2026-12-28")
    assert page.get_by_role("heading", level=1).inner_text() == "Mon 28 Dec 2026 to Sun 3 Jan 2027"


def test_week_page_reflows_at_320_css_pixels(page: Page) -> None:
    """At 320 CSS pixels nothing needs scrolling sideways (WCAG 1.4.10): the charts shrink, each table scrolls in its own box."""
    _visit(page, CHRISTMAS_WEEK)
    assert overflowing(page) == []


@pytest.mark.parametrize("width", [1280, 320], ids=["desktop", "narrow_320"])
def test_screenshots_of_the_week_page(page: Page, width: int) -> None:
    """Wiltshire's Christmas week, whole, saved for a person to look at."""
    page.set_viewport_size({"width": width, "height": 800})
    _visit(page, CHRISTMAS_WEEK)
    assert screenshot(page, f"week-wiltshire-christmas-{width}").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("line", SHIPPED_LINES)
def test_card_is_public_and_has_no_axe_violations(anonymous_page: Page, browser_log: BrowserLog, line: str) -> None:
    """A browser without the password opens the card, and axe finds nothing against WCAG 2.0-2.2 A and AA."""
    _visit(anonymous_page, f"/card/{line}")
    violations = axe_violations(anonymous_page)
    assert violations == [], describe(violations)
    assert browser_log.problems() == []
    screenshot(anonymous_page, f"card-{line}")


@pytest.mark.parametrize("line", SHIPPED_LINES)
def test_card_prints_on_exactly_one_a4_page(anonymous_page: Page, line: str) -> None:
    """Printed to A4 by Chromium, each shipped line's card is one page, header, navigation and footer left out."""
    _visit(anonymous_page, f"/card/{line}")
    assert pdf_pages(anonymous_page, f"card-{line}") == 1
    anonymous_page.emulate_media(media="print")
    assert not anonymous_page.locator("header.govuk-template__header").is_visible()
    assert not anonymous_page.locator(".govuk-footer").is_visible()
    assert anonymous_page.get_by_text("hang up and call 999").is_visible()


def test_card_reflows_at_320_css_pixels(anonymous_page: Page) -> None:
    """The card at 320 CSS pixels: nothing but its tables needs scrolling sideways."""
    _visit(anonymous_page, "/card/wiltshire")
    assert overflowing(anonymous_page) == []
