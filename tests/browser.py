"""The admin pages in a real browser: a served app, Debian's Chromium driven by Playwright, and what to ask of a page.

A pytest plugin (tests/conftest.py loads it). Fixtures:

- `site` (session): the app served over HTTP on 127.0.0.1 by a real server in a thread, its clock frozen
  at `SITE_NOW` (a Wednesday morning), with one call already made, `site.call_sid`;
- `browser` (session): one headless Chromium for the whole run (IVR_TEST_CHROMIUM, else /usr/bin/chromium);
  missing, every browser test fails saying what to install;
- `page`: a fresh tab signed in to the admin pages, relative URLs under the site (`page.goto("/admin/")`);
  `anonymous_page` is the same without the password;
- `browser_log`: what went wrong in this test's tab: console errors, script errors, responses of 400 and over.

Helpers: `axe_violations(page)`, `describe(violations)`, `screenshot(page, name)`, `focus_order(page)`,
`tab_stops(page)`, `pdf_pages(page, name)`, `overflowing(page)`, `visible_text(page)`, `is_govuk_page(page)`.
Screenshots and PDFs go to test-results/pages/, emptied at the start of each run and named at its end.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, ConsoleMessage, HttpCredentials, Page, Request, Response, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import BaseWSGIServer, make_server

from ivr.app import create_app
from ivr.config.loader import PROJECT_DIR
from tests.conftest import PUBLIC, TOKEN, FrozenClock, RecordingHttpClient, Twilio, london

CHROMIUM = Path(os.environ.get("IVR_TEST_CHROMIUM") or "/usr/bin/chromium")
SITE_NOW = london("2027-03-03T10:00")  # a Wednesday in term time, no bank holiday: office hours everywhere
ADMIN_USER, ADMIN_PASSWORD = "admin", "browser-test-password"
# axe-core's tags for WCAG 2.0, 2.1 and 2.2 at levels A and AA (axe has no `wcag22a` tag).
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
RESULTS = Path(__file__).resolve().parent.parent / "test-results" / "pages"
TIMEOUT_MS = 10_000  # a page of ours that takes longer than this is broken, not slow

_axe = Axe()
_written: list[Path] = []


@dataclass(frozen=True)
class Site:
    """The app served over HTTP: its base URL, and the SID of the one call it has recorded."""

    base: str
    call_sid: str
    app: Any


@dataclass
class BrowserLog:
    """What went wrong in a tab, as a developer would see it in the browser's console and network panel."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [*self.console_errors, *self.page_errors, *self.failed_responses]


@dataclass(frozen=True)
class Focused:
    """One element that keyboard focus reached: its tag, its name as read out, and where a link goes."""

    tag: str
    name: str
    href: str | None = None
    classes: str = ""

    def __str__(self) -> str:
        return f'{self.tag} "{self.name}"' + (f" -> {self.href}" if self.href else "")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The app behind a real HTTP server on 127.0.0.1, its clock frozen at SITE_NOW, one call recorded."""
    folder = tmp_path_factory.mktemp("site")
    app = create_app(
        {
            "IVR_ENV": "production",
            "IVR_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "IVR_PUBLIC_URL": PUBLIC,
            "IVR_CONFIG_DIR": str(PROJECT_DIR),
            "DATABASE_URL": f"sqlite:///{folder / 'calls.sqlite3'}",
            "IVR_CLOCK": FrozenClock(SITE_NOW),
            "IVR_TWILIO_HTTP_CLIENT": RecordingHttpClient(),
            "IVR_DEFAULT_LINE": "wiltshire",
            "IVR_RUN_CLOCK": False,
            "IVR_FOLLOW_SECONDS": 0,
            "IVR_INGEST_SECONDS": 0,  # records stored as each webhook writes them
            "IVR_INSTANCE_PATH": str(folder),
        }
    )
    caller = Twilio(app.test_client())
    caller.press(caller.post("/voice/wiltshire"), "1")  # worried a child is at risk: the call the story page tells
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-site", daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", caller.params["CallSid"], app)
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, one for the whole run; fails (never skips) when it is missing."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: `apt-get install chromium` (make test does it as root), or set IVR_TEST_CHROMIUM",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        try:
            # --no-sandbox: Chromium refuses to start its sandbox as root, and CI runs as root.
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        except PlaywrightError as error:  # a Chromium that Playwright cannot drive: say which and why, once
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            pytest.fail(f"Chromium at {CHROMIUM} did not start under Playwright: {first}", pytrace=False)
        yield launched
        launched.close()


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


def _open(browser: Browser, site: Site, log: BrowserLog, credentials: HttpCredentials | None) -> Page:
    context = browser.new_context(
        base_url=site.base,
        http_credentials=credentials,
        viewport={"width": 1280, "height": 800},
        locale="en-GB",
        timezone_id="Europe/London",
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.on("console", lambda message: _note_console(log, message))
    tab.on("pageerror", lambda error: log.page_errors.append(f"script error: {error}"))
    tab.on("response", lambda response: _note_failure(log, response))
    tab.on("requestfailed", lambda request: _note_unanswered(log, request))
    return tab


def _note_console(log: BrowserLog, message: ConsoleMessage) -> None:
    # Chromium asks for /favicon.ico by itself when a page names no icon: not the page's fault. An icon
    # the page names (GOV.UK's template does) and cannot load is still reported.
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        log.console_errors.append(f"console: {message.text} ({message.location.get('url')})")


def _note_failure(log: BrowserLog, response: Response) -> None:
    if response.status >= 400:
        log.failed_responses.append(f"{response.status} {response.request.method} {response.url}")


def _note_unanswered(log: BrowserLog, request: Request) -> None:
    log.failed_responses.append(f"no answer ({request.failure}) {request.method} {request.url}")


@pytest.fixture
def page(browser: Browser, site: Site, browser_log: BrowserLog) -> Iterator[Page]:
    """A new tab in its own context, signed in to the admin pages (HTTP Basic), 1280x800."""
    tab = _open(browser, site, browser_log, {"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    yield tab
    tab.context.close()


@pytest.fixture
def anonymous_page(browser: Browser, site: Site, browser_log: BrowserLog) -> Iterator[Page]:
    """A new tab that knows no password."""
    tab = _open(browser, site, browser_log, None)
    yield tab
    tab.context.close()


def axe_violations(page: Page, tags: tuple[str, ...] = WCAG_TAGS) -> list[dict[str, Any]]:
    """axe-core's violations of the page as it is now, for the rules with these tags (WCAG 2.0-2.2 A and AA)."""
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]})
    return list(results.response["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violated rule: its id, impact, what it asks, and the first elements that break it."""
    lines = []
    for violation in violations:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        shown = ", ".join(targets[:3]) + (f" and {len(targets) - 3} more" if len(targets) > 3 else "")
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} - {shown}")
    return "\n".join(lines)


def _results_folder() -> Path:
    if not _written:  # the first file of this run: leave nothing from an earlier run beside it
        shutil.rmtree(RESULTS, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page, scrolled, as test-results/pages/<name>.png; returns the file."""
    path = _results_folder() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    _written.append(path)
    return path


_DESCRIBE = """element => {
  const name = (element.getAttribute('aria-label') || element.innerText || element.value || '').replace(/\\s+/g, ' ').trim();
  return {tag: element.tagName.toLowerCase(), name, href: element.getAttribute('href'), classes: String(element.className || '')};
}"""

# What sequential keyboard navigation can reach, in document order: the focusable elements a
# person can see (hidden ones, disabled controls and tabindex=-1 are passed over).
_TAB_STOPS = """() => {
  const selector = 'a[href], area[href], button, input:not([type=hidden]), select, textarea, summary, iframe, [tabindex], [contenteditable=""], [contenteditable=true]';
  return [...document.querySelectorAll(selector)].filter(element =>
    !element.disabled && element.tabIndex >= 0 && element.getClientRects().length > 0
      && getComputedStyle(element).visibility !== 'hidden');
}"""


def tab_stops(page: Page) -> list[Focused]:
    """The elements Tab should reach, in document order (what `focus_order` must equal with no tabindex tricks)."""
    return [Focused(**found) for found in page.evaluate(f"() => ({_TAB_STOPS})().map({_DESCRIBE})")]


_START_MARK = """() => {
  const mark = document.createElement('span');
  mark.id = 'focus-order-start';
  mark.tabIndex = -1;
  document.body.prepend(mark);
  mark.focus();
}"""


def focus_order(page: Page, presses: int | None = None) -> list[Focused]:
    """Press Tab `presses` times (default: once per tab stop) from the top of the page; what had focus after each."""
    count = len(tab_stops(page)) if presses is None else presses
    # Start where a person arriving on the page starts, whatever had focus before: from a mark put
    # first in <body> (focusable by script only, so never a stop itself), taken away at the end.
    page.evaluate(_START_MARK)
    reached = []
    for _ in range(count):
        page.keyboard.press("Tab")
        focused = page.evaluate(f"() => document.activeElement === document.body ? null : ({_DESCRIBE})(document.activeElement)")
        if focused is None:  # focus has left the page (to the browser's own controls)
            break
        reached.append(Focused(**focused))
    page.evaluate("() => document.getElementById('focus-order-start').remove()")
    return reached


def pdf_pages(page: Page, name: str) -> int:
    """Print the page as Chromium does to A4 (print styles applied), save test-results/pages/<name>.pdf; its page count.

    Counted without a PDF library: Chromium writes PDF 1.4, with every object in the clear (no object
    streams), so each page is one `/Type /Page` dictionary; the count is checked against the page
    tree's own `/Count` and anything else is refused rather than guessed.
    """
    data = page.pdf(format="A4", print_background=True)
    path = _results_folder() / f"{name}.pdf"
    path.write_bytes(data)
    _written.append(path)
    return count_pdf_pages(data)


def count_pdf_pages(data: bytes) -> int:
    """Pages of a PDF whose objects are not compressed into object streams (as Chromium writes them)."""
    if not data.startswith(b"%PDF-") or b"/ObjStm" in data:
        raise ValueError("not a PDF whose page objects can be read in the clear")
    pages = len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", data))
    counts = [int(n) for n in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", data, re.S)]
    counts += [int(n) for n in re.findall(rb"/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", data, re.S)]
    if not counts or max(counts) != pages:
        raise ValueError(f"{pages} /Type /Page objects, but the page tree counts {max(counts, default=None)}")
    return pages


# Elements that end, or whose content runs, past the right edge of the viewport, innermost first,
# except inside data tables, which WCAG 1.4.10 (Reflow) lets scroll in two dimensions.
_OVERFLOWING = """() => {
  const root = document.documentElement, edge = root.clientWidth + 1;
  if (root.scrollWidth <= edge) return [];
  const sticksOut = element => element.getBoundingClientRect().right > edge
    || (!element.querySelector('table')  /* a container is as wide as the data table in it: the table is exempt */
        && element.scrollWidth > element.clientWidth + 1 && getComputedStyle(element).overflowX === 'visible'
        && element.getBoundingClientRect().left + element.scrollWidth > edge);
  const wide = [...document.body.querySelectorAll('*')].filter(element => !element.closest('table') && sticksOut(element));
  return wide.filter(element => !wide.some(other => other !== element && element.contains(other)))
    .map(element => `${element.tagName.toLowerCase()} "${(element.innerText || '').trim().slice(0, 60)}"`);
}"""


def overflowing(page: Page, width: int = 320) -> list[str]:
    """At `width` CSS pixels (WCAG 1.4.10: 320), what sticks out past the right edge, tables apart; [] if it reflows."""
    page.set_viewport_size({"width": width, "height": 800})
    return list(page.evaluate(_OVERFLOWING))


def visible_text(page: Page) -> str:
    """The page's text as rendered (hidden elements left out, one block per line): what a person can read."""
    return page.locator("body").inner_text()


def is_govuk_page(page: Page) -> bool:
    """Whether the page is built on the GOV.UK Frontend template (its <body> class), so its stricter checks apply."""
    return bool(page.evaluate("() => document.body.classList.contains('govuk-template__body')"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the browser tests left their screenshots and PDFs."""
    if _written:
        terminalreporter.write_line(f"browser tests: {len(_written)} screenshots and PDFs of the pages in {RESULTS}")
