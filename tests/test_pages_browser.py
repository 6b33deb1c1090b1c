"""The admin pages and /healthz as a person meets them in Chromium: what they read, keyboard, print, axe.

Written against what a page shows, not its markup, so that they hold while the pages are rebuilt
with GOV.UK Frontend; checks that only a GOV.UK page can pass apply once the page uses its template.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page

from tests.browser import (
    BrowserLog,
    Focused,
    Site,
    axe_violations,
    count_pdf_pages,
    describe,
    focus_order,
    is_govuk_page,
    overflowing,
    pdf_pages,
    screenshot,
    tab_stops,
    visible_text,
)

CHILD_AT_RISK = "worried that a child is at risk of harm"
# Who takes a child-at-risk call at 10:00 on a Wednesday (tests.browser.SITE_NOW), from the councils'
# published office hours (Wiltshire MASH 08:45-17:00 Mon-Thu; Hampshire and Isle of Wight CRT
# 08:30-17:00 Mon-Thu), by line heading; each line's other teams are listed to tell which one is named first.
ON_DUTY = {
    "Wiltshire Council children's services": (
        "the Multi-Agency Safeguarding Hub",
        ["the Social Work Standby Service", "the Out of Hours Service"],
    ),
    "Hampshire County Council children's services": (
        "the Children's Reception Team public line",
        ["the Out of Hours service"],
    ),
    "Isle of Wight Council children's services": (
        "the Isle of Wight Children's Reception Team public line",
        ["the Out of Hours service"],
    ),
}
# The parts of GOV.UK Frontend's page template that the keyboard checks look for.
GOVUK_SHAPED = """<!doctype html><html lang="en" class="govuk-template"><title>t</title>
<body class="govuk-template__body"><a href="#main-content" class="govuk-skip-link">Skip to main content</a>
<header><a href="/" class="govuk-header__link">Safeguarding line router</a></header>
<main id="main-content"><h1>Lines</h1><a href="/admin/">All lines</a></main></body></html>"""


def _visit(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response.status if response else 'no response'}"


@pytest.fixture(params=["overview", "call"])
def admin_page(request: pytest.FixtureRequest, page: Page, site: Site) -> tuple[str, Page]:
    """Each admin page, loaded in a signed-in tab: (name, tab)."""
    _visit(page, {"overview": "/admin/", "call": f"/admin/calls/{site.call_sid}"}[request.param])
    return request.param, page


def test_overview_names_who_takes_a_child_at_risk_call_now(page: Page, browser_log: BrowserLog) -> None:
    """Wednesday 10:00: reading each line's part of the overview, the child-at-risk service is taken by its office-hours team."""
    _visit(page, "/admin/")
    text = visible_text(page)
    for heading, (team, others) in ON_DUTY.items():
        assert page.get_by_role("heading", name=heading).is_visible(), f"no heading {heading!r}"
        # The page opens with each line's child-at-risk team now, one row per line, headed by the line's name.
        after = text.split(heading, 1)[1]
        named = sorted((after.find(name), name) for name in [team, *others] if name in after)
        assert named and named[0][1] == team, f"{heading}: the first team named is {named}, not {team!r}"
    assert browser_log.problems() == []


def test_call_page_tells_the_story_with_the_number_masked(page: Page, site: Site, browser_log: BrowserLog) -> None:
    """A call's page tells what the caller chose and where they were put through, never showing their whole number."""
    _visit(page, f"/admin/calls/{site.call_sid}")
    text = visible_text(page)
    assert site.call_sid in text
    assert "Chose 1 in menu main" in text and "Routed child-at-risk to mash" in text
    assert "+447911123456" not in page.content() and "07911 123456" not in text
    assert browser_log.problems() == []


def test_overview_links_to_the_call_and_back_by_keyboard(page: Page, site: Site) -> None:
    """The recorded call is a link on the overview, reached by Tab and followed with Enter, and the call page leads back."""
    _visit(page, "/admin/")
    for focused in focus_order(page):
        if focused.href and focused.href.endswith(f"/admin/calls/{site.call_sid}"):
            break
    else:
        pytest.fail(f"Tab never reached the link to /admin/calls/{site.call_sid}")
    link = page.locator(f'a[href$="/admin/calls/{site.call_sid}"]').first
    link.focus()  # Tab reached it above; Enter follows it from there
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.base}/admin/calls/{site.call_sid}")
    back = [f for f in tab_stops(page) if f.href in ("/admin/", f"{site.base}/admin/")]
    assert back, f"no link back to the overview among {[str(f) for f in tab_stops(page)]}"


def test_admin_pages_have_no_axe_violations(admin_page: tuple[str, Page], browser_log: BrowserLog) -> None:
    """axe-core finds nothing against WCAG 2.0, 2.1 and 2.2 A and AA on each admin page."""
    name, page = admin_page
    violations = axe_violations(page)
    assert violations == [], f"{name}: axe finds\n{describe(violations)}"
    assert browser_log.problems() == []


def test_keyboard_reaches_everything_in_order_from_a_skip_link(admin_page: tuple[str, Page]) -> None:
    """Tab visits every focusable element in document order; on a GOV.UK page the first stop skips to the main content."""
    name, page = admin_page
    stops = tab_stops(page)
    reached = focus_order(page)
    assert [str(f) for f in reached] == [str(f) for f in stops], f"{name}: Tab reached {reached}, the page has {stops}"
    assert reached, f"{name}: nothing on the page takes keyboard focus"
    if is_govuk_page(page):  # tighten: once every admin page is a GOV.UK page, make this unconditional
        _starts_at_skip_link(name, page, reached)


def _starts_at_skip_link(name: str, page: Page, reached: list[Focused]) -> None:
    first = reached[0]
    assert "govuk-skip-link" in first.classes and first.href == "#main-content", f"{name}: the first Tab stop is {first}"
    assert page.locator("main#main-content").count() == 1, f"{name}: the skip link's target is not the <main>"


def test_skip_link_check_holds_a_govuk_page_to_it(page: Page) -> None:
    """On a page shaped like GOV.UK's template the first Tab reaches the skip link, and the check sees it."""
    page.set_content(GOVUK_SHAPED)
    assert is_govuk_page(page)
    reached = focus_order(page)
    assert [str(f) for f in reached] == [
        'a "Skip to main content" -> #main-content',
        'a "Safeguarding line router" -> /',
        'a "All lines" -> /admin/',
    ]
    _starts_at_skip_link("a GOV.UK-shaped page", page, reached)
    focus_order(page, 1)
    page.keyboard.press("Enter")  # follows the skip link: the next Tab goes on from the main content, past the header
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "/admin/"


def test_admin_pages_print_on_a4(admin_page: tuple[str, Page]) -> None:
    """Printed to A4 by Chromium, a call's story fits on two pages and the overview of three lines on a few."""
    name, page = admin_page
    pages = pdf_pages(page, name)
    # The overview tells every line's services, diversions, bank holidays and recent calls: a few pages.
    assert 1 <= pages <= {"overview": 10, "call": 2}[name], f"{name} prints on {pages} A4 pages"


def test_admin_pages_reflow_at_320_css_pixels(admin_page: tuple[str, Page]) -> None:
    """At 320 CSS pixels wide nothing but a data table needs scrolling sideways (WCAG 1.4.10); GOV.UK pages strictly."""
    name, page = admin_page
    wide = overflowing(page)
    if wide and not is_govuk_page(page):
        pytest.xfail(f"the hand-written {name} page does not reflow; its GOV.UK rebuild must: {wide}")
    assert wide == [], f"{name} at 320 CSS pixels: {wide}"


@pytest.mark.parametrize("width", [1280, 320], ids=["desktop", "narrow_320"])
def test_screenshots_of_each_page(admin_page: tuple[str, Page], width: int) -> None:
    """Each admin page, whole, at desktop width and at 320 CSS pixels (WCAG reflow), saved for a person to look at."""
    name, page = admin_page
    page.set_viewport_size({"width": width, "height": 800})
    path = screenshot(page, f"{name}-{width}")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_healthz_needs_no_password_and_the_admin_pages_do(anonymous_page: Page) -> None:
    """A browser without the password reads /healthz (ok, a release live) and is asked to sign in for the admin pages."""
    response = anonymous_page.goto("/healthz")
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    health = json.loads(response.text())
    assert health["ok"] is True and health["release"], health
    screenshot(anonymous_page, "healthz")
    # Navigating there would stop at the browser's sign-in prompt, which headless Chromium cancels; ask as it does.
    refused = anonymous_page.request.get("/admin/")
    assert refused.status == 401 and refused.headers["www-authenticate"].startswith("Basic")


def test_pdf_pages_are_counted_as_printed(page: Page) -> None:
    """The PDF page counter agrees with pages forced by CSS page breaks, and refuses what it cannot read."""
    page.set_content("<p>one</p><p style='break-before: page'>two</p><p style='break-before: page'>three</p>")
    assert pdf_pages(page, "three-pages") == 3
    with pytest.raises(ValueError):
        count_pdf_pages(b"%PDF-1.5 ... /Type /ObjStm ...")
