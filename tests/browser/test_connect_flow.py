"""The Connect With Us flow in a real browser, end to end, on SQLite and PostgreSQL.

Every page is checked with axe-core and screenshotted into test-artifacts/; each walk
then checks what the database stored and what the thank-you page listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from mailer.models import OutboxMessage
from portal.resumes import resume_path
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    MassEmail,
    MassEmailStatus,
    Resume,
    Subscription,
    SubscriptionStatus,
)
from tests.browser.conftest import INTERESTS, LivePortal
from tests.browser.flow import CORPUS, open_flow
from tests.portal.helpers import emailed_link

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.oidc.provider import OidcTestProvider

pytestmark = pytest.mark.browser

RESUME = CORPUS / "01_one_column.pdf"  # Emily Carter: Python, Kubernetes -> Software Engineering

# (scope, interest key or None, action, source, wording version) of a consent event.
Consent = tuple[ConsentScope, str | None, ConsentAction, ConsentSource, str]


@dataclass(frozen=True)
class Stored:
    """What Submit Profile left in the database for one address."""

    candidate: Candidate
    subscriptions: dict[str, SubscriptionStatus]
    consents: list[Consent]
    mass_email: MassEmail | None
    outbox: list[str]
    resumes: list[Resume]


def stored(portal: LivePortal, email: str) -> Stored:
    """Read back the candidate with `email` and everything recorded for them."""
    names = {interest_id: key for key, interest_id in portal.interests.items()}
    with session_scope(portal.sessions) as session:
        candidate = session.scalars(select(Candidate).where(Candidate.email == email)).one()
        subscriptions = {
            names[s.interest_id]: s.status
            for s in session.scalars(
                select(Subscription).where(Subscription.candidate_id == candidate.id)
            )
        }
        consents = [
            (
                e.scope,
                names.get(e.interest_id) if e.interest_id else None,
                e.action,
                e.source,
                e.wording_version,
            )
            for e in session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.candidate_id == candidate.id)
                .order_by(ConsentEvent.id)
            )
        ]
        mass = session.get(MassEmailStatus, candidate.id)
        outbox = list(
            session.scalars(
                select(OutboxMessage.template)
                .where(OutboxMessage.candidate_id == candidate.id)
                .order_by(OutboxMessage.id)
            )
        )
        resumes = list(session.scalars(select(Resume).where(Resume.candidate_id == candidate.id)))
        session.expunge_all()
    return Stored(
        candidate, subscriptions, consents, mass.status if mass else None, outbox, resumes
    )


def interest_grants(*keys: str) -> set[Consent]:
    """Grants of job alerts for the interests `keys`, from the connect form."""
    return {
        (
            ConsentScope.INTEREST,
            key,
            ConsentAction.GRANT,
            ConsentSource.CONNECT_FORM,
            # The first version of the English job-alert wording the review page showed.
            "job_alerts.en.1",
        )
        for key in keys
    }


def test_social_sign_in_prefills_the_flow_and_subscribes_at_once(
    chromium: Browser,
    axe_source: str,
    social_portal: LivePortal,
    oidc_provider: OidcTestProvider,
) -> None:
    """The social button signs in at a real OpenID provider; a verified email skips opt-in."""
    portal = social_portal
    with open_flow(chromium, portal, axe_source, "social", ignore_https_errors=True) as flow:
        page = flow.page
        flow.goto("/connect")
        flow.check("start", "start")
        assert page.get_by_role("link", name="Continue without one").is_visible()
        page.get_by_role("link", name="Continue with Test ID").click()
        # The provider signs Ada in and sends her back, past the details step.
        flow.wait_for("/connect/interests")
        assert "/authorize" in oidc_provider.paths_seen
        flow.choose_interests(["design"])
        flow.skip_resume()
        assert flow.value("first_name") == "Ada"
        assert flow.value("last_name") == "Lovelace"
        assert flow.value("email") == "ada.lovelace@example.com"
        assert flow.value("portfolio_url") == "https://profiles.example.com/ada"
        assert page.locator(f"#review-interest-{portal.interests['design']}").is_checked()
        flow.submit_review(mass_email=True)
        listed = flow.thank_you()
        assert page.get_by_text("Your job alerts for Design are on.").is_visible()
        assert not page.get_by_text("check your inbox").is_visible()

    assert listed == [
        ("Design Systems Engineer", "Matched: Design"),
        ("Product Designer", "Matched: Design"),
    ]
    saved = stored(portal, "ada.lovelace@example.com")
    assert (saved.candidate.first_name, saved.candidate.last_name) == ("Ada", "Lovelace")
    assert saved.candidate.portfolio_url == "https://profiles.example.com/ada"
    assert saved.candidate.email_verified_at is not None
    assert saved.subscriptions == {"design": SubscriptionStatus.SUBSCRIBED}
    assert saved.mass_email is MassEmail.OPTED_IN
    assert set(saved.consents) == interest_grants("design") | {
        (
            ConsentScope.MASS_EMAIL,
            None,
            ConsentAction.GRANT,
            ConsentSource.CONNECT_FORM,
            "mass_email.en.1",
        )
    }
    assert saved.outbox == ["welcome"]  # no confirmation email
    assert saved.resumes == []


def test_manual_path_with_a_resume_by_keyboard_alone(
    chromium: Browser, axe_source: str, portal: LivePortal
) -> None:
    """Tab, Space and Enter alone complete the flow; the uploaded resume prefills the review."""
    with open_flow(chromium, portal, axe_source, "resume", keyboard=True) as flow:
        page = flow.page
        flow.start_manually()
        flow.enter_details("Emily", "Carter", "emily.carter@example.com")
        flow.choose_interests(["design"])
        flow.upload_resume(RESUME)
        assert page.get_by_text("We filled in what we could from 01_one_column.pdf").is_visible()
        assert flow.value("first_name") == "Emily"
        # Stored in E.164, shown as people in the company's region read it.
        assert flow.value("phone") == "(415) 555-2671"
        assert flow.value("location") == "San Francisco, CA"
        assert flow.value("linkedin_url") == "https://www.linkedin.com/in/emily-carter-dev"
        assert flow.value("github_url") == "https://github.com/ecarter"
        assert flow.value("portfolio_url") == "https://emilycarter.dev"
        # The resume's suggestion is offered, never ticked for her.
        suggested = page.locator(f"#review-interest-{portal.interests['software']}")
        assert not suggested.is_checked()
        label = page.locator(f'label[for="review-interest-{portal.interests["software"]}"]')
        assert "Suggested from your resume" in label.inner_text()
        assert page.locator(f"#review-interest-{portal.interests['design']}").is_checked()
        # One control adds it; with JavaScript, in place (no reload, nothing sent).
        page.evaluate("window.__sameDocument = true")
        flow.press('button[value="add_suggested"]')
        assert suggested.is_checked()
        assert page.evaluate("window.__sameDocument === true")
        status = page.locator("#suggestions-status")
        assert status.get_attribute("role") == "status"
        assert status.inner_text() == (
            "Added to your interests: Software Engineering. Untick any you don't want."
        )
        flow.submit_review()
        listed = flow.thank_you()
        assert page.get_by_text("Please check your inbox").is_visible()

        saved = stored(portal, "emily.carter@example.com")
        assert saved.candidate.phone_e164 == "+14155552671"
        assert saved.candidate.location == "San Francisco, CA"
        assert saved.candidate.github_url == "https://github.com/ecarter"
        assert saved.candidate.email_verified_at is None
        assert saved.subscriptions == {
            "design": SubscriptionStatus.UNCONFIRMED,
            "software": SubscriptionStatus.UNCONFIRMED,
        }
        assert set(saved.consents) == interest_grants("design", "software")
        assert saved.mass_email is None
        assert saved.outbox == ["confirmation"]
        (resume,) = saved.resumes
        assert resume.original_filename == "01_one_column.pdf"
        assert resume.content_type == "application/pdf"
        assert resume.parsed_fields["email"] == "emily.carter@example.com"
        assert resume.parsed_fields["phone"] == "+14155552671"
        assert "python" in [s.lower() for s in resume.parsed_fields["skills"]]
        path = resume_path(portal.settings.upload_dir, resume.storage_name)
        assert path.is_file() and path.read_bytes() == RESUME.read_bytes()

        # The emailed link: a page with one button (scanners only GET), then confirmed.
        with session_scope(portal.sessions) as session:
            mail = session.scalars(select(OutboxMessage)).one()
            confirm_url = emailed_link(
                session,
                mail,
                "confirm_url",
                base_url=portal.url,
                secret_keys=portal.settings.secret_keys,
            )
        assert confirm_url.startswith(portal.url + "/connect/confirm/")
        page.goto(confirm_url)
        flow.check("confirm")
        flow.press("main button[type=submit]")
        page.get_by_role("heading", name="You're confirmed").wait_for()
        flow.check("confirmed")

    assert listed == [
        ("Design Systems Engineer", "Matched: Software Engineering, Design"),
        ("Platform Engineer", "Matched: Software Engineering"),
        ("Product Designer", "Matched: Design"),
        ("Backend Engineer", "Matched: Software Engineering"),
    ]
    saved = stored(portal, "emily.carter@example.com")
    assert saved.subscriptions == {
        "design": SubscriptionStatus.SUBSCRIBED,
        "software": SubscriptionStatus.SUBSCRIBED,
    }
    assert saved.candidate.email_verified_at is not None
    assert saved.outbox == ["confirmation", "welcome"]
    confirms = {c[:4] for c in saved.consents if c[2] is ConsentAction.CONFIRM}
    assert confirms == {
        (ConsentScope.INTEREST, key, ConsentAction.CONFIRM, ConsentSource.CONNECT_FORM)
        for key in ("design", "software")
    }


def test_manual_path_skipping_the_resume(
    chromium: Browser, axe_source: str, portal: LivePortal
) -> None:
    """Typing details and skipping the resume stores unconfirmed alerts and no resume."""
    with open_flow(chromium, portal, axe_source, "skip") as flow:
        flow.start_manually()
        flow.enter_details("Zoë", "O'Brien", "zoe@example.com")
        flow.choose_interests(["sales", "data"])
        flow.skip_resume()
        assert flow.page.locator(".notice").count() == 0  # no resume, nothing "filled in"
        assert flow.value("phone") == ""
        flow.submit_review(mass_email=True)
        listed = flow.thank_you()

    assert listed == [
        ("Data Scientist", "Matched: Data Science"),
        ("Account Executive", "Matched: Sales"),
    ]
    saved = stored(portal, "zoe@example.com")
    assert (saved.candidate.first_name, saved.candidate.last_name) == ("Zoë", "O'Brien")
    assert saved.subscriptions == {
        "data": SubscriptionStatus.UNCONFIRMED,
        "sales": SubscriptionStatus.UNCONFIRMED,
    }
    assert set(saved.consents) == interest_grants("data", "sales")
    assert saved.mass_email is None  # waits for the emailed confirmation
    assert saved.outbox == ["confirmation"]
    assert saved.resumes == []


def test_phone_walks_the_flow_without_sideways_scrolling(
    chromium: Browser, axe_source: str, portal: LivePortal
) -> None:
    """At 375px on a touch phone every step fits the width and the flow completes."""
    with open_flow(chromium, portal, axe_source, "phone", phone=True) as flow:
        flow.start_manually()
        flow.enter_details("Ana", "Silva", "ana@example.com")
        flow.choose_interests(["design"])
        flow.skip_resume()
        # Submitting without the alerts consent first: the error summary fits too.
        flow.submit_review_with_errors()
        flow.submit_review()
        listed = flow.thank_you()
        assert flow.page.evaluate("document.documentElement.scrollWidth") <= 375

    assert listed == [
        ("Design Systems Engineer", "Matched: Design"),
        ("Product Designer", "Matched: Design"),
    ]
    saved = stored(portal, "ana@example.com")
    assert saved.subscriptions == {"design": SubscriptionStatus.UNCONFIRMED}
    assert saved.outbox == ["confirmation"]


def test_without_javascript_the_flow_completes_and_details_open_a_page(
    chromium: Browser, portal: LivePortal
) -> None:
    """With JavaScript off, Show Details opens its own page and Submit Profile still works."""
    with open_flow(chromium, portal, None, "nojs", javascript=False) as flow:
        page = flow.page
        flow.start_manually()
        flow.enter_details("Noor", "Haddad", "noor@example.com")
        page.get_by_role("link", name="Show Details about Design").click()
        flow.wait_for("/connect/interests/design")
        flow.check("interest-detail", "interests")
        assert page.get_by_role("heading", level=1).inner_text() == "Design"
        assert page.get_by_text(INTERESTS["design"][1]).is_visible()
        page.get_by_role("link", name="Back to areas of interest").click()
        flow.wait_for("/connect/interests")
        flow.choose_interests(["design"])
        flow.skip_resume()
        assert flow.value("first_name") == "Noor"
        flow.submit_review()
        listed = flow.thank_you()

    assert [title for title, _ in listed] == ["Design Systems Engineer", "Product Designer"]
    saved = stored(portal, "noor@example.com")
    assert saved.subscriptions == {"design": SubscriptionStatus.UNCONFIRMED}
    assert saved.outbox == ["confirmation"]


def test_without_javascript_suggestions_are_unticked_and_one_button_adds_them(
    chromium: Browser, portal: LivePortal
) -> None:
    """With JavaScript off, "Add suggested interests" posts the form back with them ticked."""
    with open_flow(chromium, portal, None, "nojs-suggest", javascript=False) as flow:
        page = flow.page
        flow.start_manually()
        flow.enter_details("Emily", "Carter", "emily.nojs@example.com")
        flow.choose_interests(["design"])
        flow.upload_resume(RESUME)
        software = page.locator(f"#review-interest-{portal.interests['software']}")
        assert not software.is_checked()
        flow.check("review-suggested", "review")
        flow.fill("#field-location", "Oakland, CA")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Add suggested interests").click()
        assert answer.value.status == 200
        flow.wait_for("/connect/review#field-interest")
        flow.check("review-suggestions-added", "review")
        assert software.is_checked()
        assert page.locator(f"#review-interest-{portal.interests['design']}").is_checked()
        assert not page.locator(f"#review-interest-{portal.interests['data']}").is_checked()
        # Only the suggestions: the consent boxes stay as she left them.
        assert not page.locator("#field-alerts").is_checked()
        assert not page.locator("#field-mass_email").is_checked()
        assert flow.value("location") == "Oakland, CA"
        assert page.locator("#suggestions-status").inner_text() == (
            "Added to your interests: Software Engineering. Untick any you don't want."
        )
        flow.submit_review()
        flow.thank_you()

    saved = stored(portal, "emily.nojs@example.com")
    assert saved.subscriptions == {
        "design": SubscriptionStatus.UNCONFIRMED,
        "software": SubscriptionStatus.UNCONFIRMED,
    }
    assert saved.candidate.location == "Oakland, CA"


def test_show_details_reveals_the_details_in_place(
    chromium: Browser, axe_source: str, portal: LivePortal
) -> None:
    """With JavaScript, Show Details toggles the details in place by mouse and keyboard."""
    with open_flow(chromium, portal, axe_source, "details") as flow:
        page = flow.page
        flow.goto("/connect/interests")
        url = page.url
        design = portal.interests["design"]
        toggle = page.locator(f'a[data-details="details-{design}"]')
        panel = page.locator(f"#details-{design}")
        assert page.get_by_role("button", name="Show Details about Design").count() == 1
        assert toggle.get_attribute("aria-expanded") == "false"
        assert toggle.get_attribute("aria-controls") == f"details-{design}"
        assert not panel.is_visible()

        toggle.click()
        assert panel.is_visible()
        assert panel.inner_text() == INTERESTS["design"][1]
        assert toggle.get_attribute("aria-expanded") == "true"
        assert page.get_by_role("button", name="Hide details about Design").count() == 1
        assert page.url == url
        flow.check("interests-details-open", "interests")

        # Keyboard: Enter closes it again, Space opens it, focus stays on the toggle.
        toggle.focus()
        page.keyboard.press("Enter")
        assert toggle.get_attribute("aria-expanded") == "false" and not panel.is_visible()
        page.keyboard.press("Space")
        assert toggle.get_attribute("aria-expanded") == "true" and panel.is_visible()
        assert page.evaluate("document.activeElement.dataset.details") == f"details-{design}"
        assert page.url == url
        # Other interests' details stay closed.
        assert not page.locator(f"#details-{portal.interests['sales']}").is_visible()

        # The page used without JavaScript passes the same checks.
        flow.goto("/connect/interests/design")
        flow.check("interest-detail", "interests")


def test_review_with_a_missing_field_shows_an_error_summary_and_keeps_values(
    chromium: Browser, axe_source: str, portal: LivePortal
) -> None:
    """A missing first name and consent: a focused role=alert summary; typed values stay."""
    with open_flow(chromium, portal, axe_source, "errors") as flow:
        page = flow.page
        flow.start_manually()
        flow.enter_details("Ana", "Silva", "ana@example.com")
        flow.choose_interests(["design"])
        flow.skip_resume()
        flow.check("review", "review")
        flow.fill("#field-first_name", "")
        flow.fill("#field-phone", "+44 20 7946 0958")
        flow.fill("#field-location", "Lisbon")
        assert not page.title().startswith("Error")
        flow.submit_review_with_errors()
        summary = page.get_by_role("alert")
        assert page.title().startswith("Error: Review")
        assert summary.locator("h2").inner_text() == "Please fix these 2 things"
        assert "First name is required." in summary.inner_text()
        assert "Tick this box" in summary.inner_text()
        assert page.evaluate("document.activeElement.id") == "error-summary"
        first = page.locator("#field-first_name")
        assert first.get_attribute("aria-invalid") == "true"
        assert page.locator("#error-first_name").inner_text() == "First name is required."
        assert flow.value("last_name") == "Silva"
        assert flow.value("email") == "ana@example.com"
        assert flow.value("phone") == "+44 20 7946 0958"
        assert flow.value("location") == "Lisbon"
        assert page.locator(f"#review-interest-{portal.interests['design']}").is_checked()
        # The summary's link takes the user to the field.
        summary.get_by_role("link", name="First name is required.").click()
        assert page.url.endswith("#field-first_name")

    with session_scope(portal.sessions) as session:
        assert session.scalars(select(Candidate)).all() == []


def test_going_back_keeps_what_was_entered(
    chromium: Browser, axe_source: str, portal: LivePortal
) -> None:
    """Back on every step returns to the previous one with the typed values and ticks kept."""
    sales, data = (f"#interest-{portal.interests[k]}" for k in ("sales", "data"))
    with open_flow(chromium, portal, axe_source, "back") as flow:
        page = flow.page
        flow.start_manually()
        flow.enter_details("Zoë", "O'Brien", "z@example.com")
        flow.choose_interests(["sales", "data"])
        flow.check("resume", "resume")
        page.get_by_role("button", name="Back").click()
        flow.wait_for("/connect/interests")
        assert page.locator(sales).is_checked() and page.locator(data).is_checked()
        page.get_by_role("button", name="Back").click()
        flow.wait_for("/connect/details")
        assert flow.value("first_name") == "Zoë"
        assert flow.value("last_name") == "O'Brien"
        assert flow.value("email") == "z@example.com"
        page.get_by_role("button", name="Back").click()
        flow.wait_for("/connect")

        page.get_by_role("link", name="Get started").click()
        flow.wait_for("/connect/details")
        page.get_by_role("button", name="Continue").click()
        flow.wait_for("/connect/interests")
        page.get_by_role("button", name="Continue").click()
        flow.wait_for("/connect/resume")
        flow.skip_resume()
        flow.fill("#field-location", "Dublin")
        page.locator(f"#review-interest-{portal.interests['data']}").uncheck()
        page.get_by_role("button", name="Back").click()
        flow.wait_for("/connect/resume")
        flow.skip_resume()
        assert flow.value("first_name") == "Zoë" and flow.value("location") == "Dublin"
        assert page.locator(f"#review-interest-{portal.interests['sales']}").is_checked()
        assert not page.locator(f"#review-interest-{portal.interests['data']}").is_checked()
