"""Steps of the Connect With Us flow in a browser, and the checks made on every page.

`FlowPage.check()` runs on each page a candidate sees: the progress steps, no
horizontal overflow, no console errors, axe-core (no serious or critical
violations) and a full-page screenshot in test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.browser.conftest import ROOT, LivePortal

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Response

ARTIFACTS = ROOT / "test-artifacts"
CORPUS = ROOT / "tests" / "data" / "resumes"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
BLOCKING_IMPACTS = ("serious", "critical")
STEP_LABELS = {
    "start": "Start",
    "details": "Your details",
    "interests": "Interests",
    "resume": "Resume",
    "review": "Review",
}
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary),
  }));
}"""


@dataclass
class FlowPage:
    """A tab walking the flow, and what every page of it must satisfy."""

    page: Page
    portal: LivePortal
    axe_source: str | None
    run: str
    device: str
    keyboard: bool = False
    console_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    shots: int = 0
    # The messages of the dialogs answered by `answer_next_dialog`, in order.
    dialogs: list[str] = field(default_factory=list)

    def answer_next_dialog(self, *, accept: bool) -> None:
        """Answer the page's next dialog (a confirm()) with OK or Cancel; keep its message."""

        def handle(dialog: Dialog) -> None:
            self.dialogs.append(dialog.message)
            if accept:
                dialog.accept()
            else:
                dialog.dismiss()

        self.page.once("dialog", handle)

    # -- checks --------------------------------------------------------------------------

    def check(self, name: str, step: str | None = None) -> None:
        """Check the page the browser is on; `step` is the progress step it must show."""
        page = self.page
        page.wait_for_load_state("load")
        if step is not None:
            self.assert_step(step)
        width = page.viewport_size["width"] if page.viewport_size else 0
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{name}: {scroll_width}px wide in a {width}px viewport"
        assert self.console_errors == [], f"{name}: console errors {self.console_errors}"
        if self.axe_source is not None:
            self.assert_accessible(name)
        self.shots += 1
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"flow-{self.run}-{self.shots:02d}-{name}-{self.device}.png"
        page.screenshot(path=str(path), full_page=True)

    def assert_step(self, step: str) -> None:
        """The progress list is visible and marks exactly `step` as the current one."""
        progress = self.page.get_by_role("navigation", name="Progress")
        assert progress.is_visible()
        current = progress.locator('[aria-current="step"]')
        assert current.count() == 1
        assert current.inner_text().strip().endswith(STEP_LABELS[step])
        # Earlier steps say "(done)" to screen readers.
        labels = list(STEP_LABELS)
        for done in labels[: labels.index(step)]:
            if done != "resume" or self.portal.settings.resume_step:
                item = progress.get_by_text(STEP_LABELS[done], exact=False)
                assert "(done)" in (item.text_content() or ""), done

    def assert_accessible(self, name: str) -> None:
        """axe-core finds nothing serious or critical on the page."""
        page = self.page
        assert self.axe_source is not None
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            # Evaluated, not added as a <script>: the portal's CSP (script-src 'self')
            # rightly refuses inline scripts, and the tests keep that CSP switched on.
            page.evaluate(self.axe_source)
        violations: list[dict[str, Any]] = page.evaluate(AXE_RUN)
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        assert blocking == [], f"{name}: axe violations\n" + "\n".join(
            f"{v['impact']} {v['id']}: {v['help']}\n  " + "\n  ".join(v["nodes"]) for v in blocking
        )

    # -- moving around -------------------------------------------------------------------

    def goto(self, path: str) -> None:
        response = self.page.goto(self.portal.url + path)
        assert response is not None and response.status == 200, path

    def wait_for(self, path: str) -> None:
        """Wait until the browser has loaded `path` (a path, or a regular expression)."""
        pattern = re.compile(re.escape(self.portal.url) + path + r"(\?.*)?$")
        # Stop waiting at once when the server answered with an error page instead.
        self.page.wait_for_url(lambda url: bool(pattern.match(url) or self.server_errors))
        assert self.server_errors == [], f"the server failed: {self.server_errors}"

    def tab_to(self, selector: str, *, limit: int = 80) -> None:
        """Press Tab until the element matching `selector` has the focus."""
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            if self.page.evaluate(
                "(s) => document.activeElement !== null && document.activeElement.matches(s)",
                selector,
            ):
                return
        raise AssertionError(f"{limit} presses of Tab never reached {selector}")

    def press(self, selector: str) -> None:
        """Activate a link or button: Tab to it and press Enter, or click it."""
        if self.keyboard:
            self.tab_to(selector)
            self.page.keyboard.press("Enter")
        else:
            self.page.locator(selector).click()

    def tick(self, selector: str) -> None:
        """Tick a checkbox: Tab to it and press Space, or click it."""
        box = self.page.locator(selector)
        assert not box.is_checked(), selector
        if self.keyboard:
            self.tab_to(selector)
            self.page.keyboard.press("Space")
        else:
            box.check()
        assert box.is_checked(), selector

    def fill(self, selector: str, value: str) -> None:
        """Type into a field, replacing what is there."""
        if self.keyboard:
            self.tab_to(selector)
            self.page.keyboard.press("ControlOrMeta+a")
            if value:
                self.page.keyboard.type(value)
            else:
                self.page.keyboard.press("Delete")
        else:
            self.page.locator(selector).fill(value)
        assert self.page.locator(selector).input_value() == value

    def value(self, name: str) -> str:
        return self.page.locator(f"#field-{name}").input_value()

    # -- the steps -----------------------------------------------------------------------

    def start_manually(self) -> None:
        """The start page, then the manual entry link."""
        self.goto("/connect")
        self.check("start", "start")
        if self.portal.settings.oidc_providers:
            link = self.page.get_by_role("link", name="Continue without one")
        else:
            link = self.page.get_by_role("link", name="Get started")
        assert link.is_visible()
        self.press('main a[href="/connect/details"]')
        self.wait_for("/connect/details")

    def enter_details(self, first: str, last: str, email: str) -> None:
        self.check("details", "details")
        self.fill("#field-first_name", first)
        self.fill("#field-last_name", last)
        self.fill("#field-email", email)
        self.press('.form-actions button[value="continue"]')
        self.wait_for("/connect/interests")

    def choose_interests(self, keys: Sequence[str]) -> None:
        self.check("interests", "interests")
        for key in keys:
            self.tick(f"#interest-{self.portal.interests[key]}")
        self.press('.form-actions button[value="continue"]')
        self.wait_for("/connect/resume")

    def skip_resume(self) -> None:
        self.check("resume", "resume")
        self.press('main a[href="/connect/review"]')
        self.wait_for("/connect/review")

    def upload_resume(self, path: Path) -> None:
        self.check("resume", "resume")
        if self.keyboard:
            # The file input opens the system file chooser on Space, as for a sighted user.
            self.tab_to("#field-resume")
            with self.page.expect_file_chooser() as chooser:
                self.page.keyboard.press("Space")
            chooser.value.set_files(str(path))
        else:
            self.page.get_by_label("Resume file").set_input_files(str(path))
        self.press('.form-actions button[value="upload"]')
        self.wait_for("/connect/review")

    def submit_review_with_errors(self) -> None:
        """Press Submit Profile and wait for the page to come back with its error summary."""
        with self.page.expect_response(lambda r: r.request.method == "POST") as answer:
            self.press('.form-actions button[value="submit"]')
        assert answer.value.status == 400
        self.page.get_by_role("alert").wait_for()
        # The browser logs the expected 400 like any failed load; that's not a page error.
        self.console_errors[:] = [e for e in self.console_errors if "status of 400" not in e]
        self.check("review-errors", "review")

    def submit_review(self, *, mass_email: bool = False) -> None:
        """Tick the alerts consent (and mass email), then Submit Profile."""
        self.check("review", "review")
        self.tick("#field-alerts")
        if mass_email:
            self.tick("#field-mass_email")
        self.press('.form-actions button[value="submit"]')
        self.wait_for("/connect/thanks")

    def recruiter_login(self, email: str, password: str) -> None:
        """Sign in to the recruiter console and land on its home page."""
        self.goto("/admin/login")
        self.fill("#email", email)
        self.fill("#password", password)
        self.press('main button[type="submit"]')
        self.wait_for("/admin/")

    def add_interest(self, name: str, details: str, keywords: str) -> None:
        """From anywhere in the console: add an interest and see it listed."""
        self.press('nav a[href="/admin/interests/"]')
        self.wait_for("/admin/interests/")
        self.check("interests")
        self.page.get_by_label("Name").fill(name)
        self.page.get_by_label("Details", exact=False).fill(details)
        self.page.get_by_label("Keywords", exact=False).fill(keywords)
        self.press("form.form-card button.button-primary")
        self.wait_for("/admin/interests/")
        assert self.page.get_by_role("status").inner_text() == f"Added {name}."
        assert self.page.get_by_role("row", name=name).count() == 1
        self.check("interest-added")

    def open_new_job(self) -> None:
        """From anywhere in the console: open the new-posting form."""
        self.press('nav a[href="/admin/jobs/"]')
        self.wait_for("/admin/jobs/")
        self.press('main a[href="/admin/jobs/new"]')
        self.wait_for("/admin/jobs/new")
        self.check("job-new")

    def thank_you(self) -> list[tuple[str, str]]:
        """Check the thank-you page; return the (title, "Matched: …") of each job listed."""
        self.check("thanks")
        assert self.page.get_by_role("heading", level=1).inner_text().startswith("Thank you")
        cards = self.page.locator(".job-card")
        return [
            (
                cards.nth(i).locator(".job-title").inner_text().strip(),
                cards.nth(i).locator(".matched").inner_text().strip(),
            )
            for i in range(cards.count())
        ]


@contextmanager
def open_flow(
    browser: Browser,
    portal: LivePortal,
    axe_source: str | None,
    run: str,
    *,
    phone: bool = False,
    keyboard: bool = False,
    javascript: bool = True,
    **context_options: Any,
) -> Iterator[FlowPage]:
    """A fresh browser context (no cookies) at desktop or phone size."""
    if phone:
        context_options.update(
            viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
        )
    else:
        context_options.update(viewport=DESKTOP)
    device = "phone" if phone else "desktop"
    for stale in ARTIFACTS.glob(f"flow-{run}-*-{device}.png"):
        stale.unlink()  # from an earlier run that took its screenshots in another order
    context = browser.new_context(java_script_enabled=javascript, **context_options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    flow = FlowPage(
        page,
        portal,
        axe_source if javascript else None,  # axe needs the page's timers to run
        run,
        device,
        keyboard=keyboard,
    )

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            flow.console_errors.append(message.text)

    page.on("console", on_console)

    def on_response(response: Response) -> None:
        if response.status >= 500:
            flow.server_errors.append(f"{response.status} {response.request.method} {response.url}")

    page.on("pageerror", lambda error: flow.console_errors.append(str(error)))
    page.on("response", on_response)
    try:
        yield flow
    finally:
        context.close()
