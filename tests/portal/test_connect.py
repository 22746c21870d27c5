"""The Connect With Us flow end to end through the web app, on both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailer.models import OutboxMessage
from portal.app import create_app
from portal.connect.submit import ALERTS_WORDING, MASS_EMAIL_WORDING
from preferences.clock import frozen, now
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import get_or_create_candidate, subscribe
from preferences.tokens import LinkPurpose, make_link_token
from tests.conftest import TEST_SECRET, make_settings

from .helpers import add_interest, add_job, csrf_token, emailed_link, without_tokens


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> Iterator[dict[str, Any]]:
    """Three interests (one retired-free), jobs tagged with them, one closed job."""
    with session_scope(sessions) as session:
        design = add_interest(session, "Design", position=1)
        data = add_interest(session, "Data", position=2)
        sales = add_interest(session, "Sales", position=3)
        add_job(session, "Product Designer", interests=[design])
        add_job(session, "Data Designer", interests=[design, data], posted_at=now())
        add_job(
            session, "Closed Designer", interests=[design], closed_at=now() - timedelta(hours=1)
        )
        add_job(session, "Account Executive", interests=[sales])
        ids = {"design": design.id, "data": data.id, "sales": sales.id}
    yield ids


def post(client: FlaskClient, path: str, data: dict[str, Any]) -> Any:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf_token": csrf_token(page.text), **data})


def walk_manual(
    client: FlaskClient,
    world: dict[str, Any],
    *,
    email: str = "ana@example.com",
    interests: tuple[str, ...] = ("design",),
    mass_email: bool = False,
) -> Any:
    """Details -> interests -> skip resume -> review -> Submit Profile."""
    r = post(
        client, "/connect/details", {"first_name": "Ana", "last_name": "Silva", "email": email}
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/connect/interests")
    r = post(client, "/connect/interests", {"interest": [str(world[i]) for i in interests]})
    assert r.status_code == 302 and r.headers["Location"].endswith("/connect/resume")
    review = client.get("/connect/review")
    assert review.status_code == 200
    data = {
        "csrf_token": csrf_token(review.text),
        "first_name": "Ana",
        "last_name": "Silva",
        "email": email,
        "phone": "+351 912 345 678",
        "location": "Lisbon, Portugal",
        "linkedin_url": "linkedin.com/in/ana-silva",
        "interest": [str(world[i]) for i in interests],
        "alerts": "yes",
        "action": "submit",
    }
    if mass_email:
        data["mass_email"] = "yes"
    return client.post("/connect/review", data=data)


def count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_manual_path_creates_candidate_unconfirmed_and_queues_confirmation(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """A manual sign-up stores the candidate, unconfirmed subscriptions, consent and one email."""
    r = walk_manual(client, world, interests=("design", "data"), mass_email=True)
    assert r.status_code == 302 and r.headers["Location"].endswith("/connect/thanks")
    with session_scope(sessions) as session:
        candidate = session.scalars(select(Candidate)).one()
        assert (candidate.first_name, candidate.last_name) == ("Ana", "Silva")
        assert candidate.phone_e164 == "+351912345678"
        assert candidate.location == "Lisbon, Portugal"
        assert candidate.linkedin_url == "https://linkedin.com/in/ana-silva"
        subs = session.scalars(select(Subscription)).all()
        assert {s.interest_id for s in subs} == {world["design"], world["data"]}
        assert {s.status for s in subs} == {SubscriptionStatus.UNCONFIRMED}
        # Mass email waits for the confirmation too.
        assert session.get(MassEmailStatus, candidate.id) is None
        events = session.scalars(select(ConsentEvent)).all()
        assert {(e.scope, e.source) for e in events} == {
            (ConsentScope.INTEREST, ConsentSource.CONNECT_FORM)
        }
        assert all(e.ip_address == "127.0.0.1" and e.wording_version for e in events)
        # The exact text the candidate agreed to is kept with each grant.
        assert {e.detail["wording"] for e in events} == {ALERTS_WORDING}
        (mail,) = session.scalars(select(OutboxMessage)).all()
        assert mail.template == "confirmation"
        assert emailed_link(session, mail, "confirm_url").startswith(
            "http://127.0.0.1:8000/connect/confirm/"
        )


def test_thank_you_lists_open_matching_jobs_newest_first_with_what_matched(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    """The thank-you page lists open jobs for the chosen interests, newest first, with matches."""
    walk_manual(client, world, interests=("design", "data"))
    page = client.get("/connect/thanks")
    assert page.status_code == 200
    titles = re.findall(r'<h3 class="job-title"><a href="/jobs/\d+">([^<]+)</a>', page.text)
    assert titles == ["Data Designer", "Product Designer"]
    assert "Matched: Design, Data" in page.text
    assert "Closed Designer" not in page.text and "Account Executive" not in page.text
    assert "check your inbox" in page.text


def test_thank_you_without_matches_says_so(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """With no open job for the chosen interest, the page still thanks and explains."""
    with session_scope(sessions) as session:
        lonely = add_interest(session, "Legal", position=9)
        world = {**world, "legal": lonely.id}
    walk_manual(client, world, interests=("legal",))
    page = client.get("/connect/thanks")
    assert page.status_code == 200
    assert "There are no open jobs in Legal right now" in page.text


def test_confirmation_link_get_shows_button_and_post_confirms(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """GET on the confirm link changes nothing; POST confirms subscriptions and mass email."""
    walk_manual(client, world, mass_email=True)
    with session_scope(sessions) as session:
        url = emailed_link(session, session.scalars(select(OutboxMessage)).one(), "confirm_url")
    path = url.removeprefix("http://127.0.0.1:8000")
    page = client.get(path)
    assert page.status_code == 200 and "Confirm my email" in page.text
    with session_scope(sessions) as session:
        assert session.scalars(select(Subscription.status)).one() is SubscriptionStatus.UNCONFIRMED
    # The page lists what confirming turns on, and its form carries that list back.
    assert "Job alerts for Design." in page.text
    assert MASS_EMAIL_WORDING.format(company="Acme") in page.text
    listed = dict(
        re.findall(r'<input type="hidden" name="(interest|mass_email)" value="([^"]*)"', page.text)
    )
    assert listed == {"interest": str(world["design"]), "mass_email": "yes"}
    done = client.post(path, data={"csrf_token": csrf_token(page.text), **listed})
    assert done.status_code == 200 and "You're confirmed" in done.text
    with session_scope(sessions) as session:
        assert session.scalars(select(Subscription.status)).one() is SubscriptionStatus.SUBSCRIBED
        candidate = session.scalars(select(Candidate)).one()
        assert candidate.email_verified_at is not None
        status = session.get(MassEmailStatus, candidate.id)
        assert status is not None and status.status is MassEmail.OPTED_IN
        mass = session.scalars(
            select(ConsentEvent).where(ConsentEvent.scope == ConsentScope.MASS_EMAIL)
        ).one()
        assert mass.detail["wording"] == MASS_EMAIL_WORDING.format(company="Acme")
        templates = sorted(m.template for m in session.scalars(select(OutboxMessage)))
        assert templates == ["confirmation", "welcome"]


def test_tampered_confirmation_link_gets_a_friendly_400(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    """A tampered token is a friendly 400 page that offers a new link, never a 500."""
    r = client.get("/connect/confirm/not-a-real-token.x.y")
    assert r.status_code == 400
    assert "This link doesn" in r.text and "/connect/confirm/resend" in r.text


def test_expired_confirmation_link_offers_a_new_one(
    app: Flask, client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """A genuine but expired link gets the 'email me a new link' page."""
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, "old@example.com")
        token = make_link_token([TEST_SECRET], LinkPurpose.CONFIRM_EMAIL, candidate)
    with frozen(now() + timedelta(days=31)):
        r = client.get(f"/connect/confirm/{token}")
    assert r.status_code == 410
    assert "Email me a new link" in r.text


def test_existing_email_creates_no_duplicate_and_answers_the_same(
    client: FlaskClient, app: Flask, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Connecting with a known address changes nothing, offers the new interest, reveals nothing."""
    with session_scope(sessions) as session:
        known, _ = get_or_create_candidate(session, "ana@example.com", first_name="Ana")
        from preferences.models import Interest

        design = session.get(Interest, world["design"])
        assert design is not None
        subscribe(session, known, design, source=ConsentSource.IMPORT, confirmed=True)
    r = walk_manual(client, world, email="ANA@Example.com", interests=("design", "sales"))
    assert r.status_code == 302
    known_page = client.get("/connect/thanks").text
    other = app.test_client()
    walk_manual(other, world, email="newbie@example.com", interests=("design", "sales"))
    new_page = other.get("/connect/thanks").text
    assert without_tokens(_without_name(known_page)) == without_tokens(_without_name(new_page))
    with session_scope(sessions) as session:
        assert count(session, Candidate) == 2
        ana = session.scalars(select(Candidate).where(Candidate.email == "ana@example.com")).one()
        states = {
            s.interest_id: s.status
            for s in session.scalars(
                select(Subscription).where(Subscription.candidate_id == ana.id)
            )
        }
        # Nothing is written until Ana herself confirms the emailed list.
        assert states == {world["design"]: SubscriptionStatus.SUBSCRIBED}
        notice = session.scalars(
            select(OutboxMessage).where(OutboxMessage.candidate_id == ana.id)
        ).one()
        assert notice.template == "connect_existing"
        assert notice.to_address == "ana@example.com"
        assert notice.context["interests"] == ["Sales"]


def _without_name(html: str) -> str:
    return re.sub(r"<h1>Thank you[^<]*</h1>", "", html)


def test_internationalized_email_is_accepted_and_stored_normalized(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """josé@exämple.test goes through the whole flow and is stored normalized."""
    r = walk_manual(client, world, email="  José@ExÄmple.test ")
    assert r.status_code == 302
    with session_scope(sessions) as session:
        assert session.scalars(select(Candidate.email)).one() == "josé@exämple.test"


def test_review_keeps_values_and_shows_field_errors(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Missing required fields and a bad email get messages; entered values stay; nothing saved."""
    post(client, "/connect/interests", {"interest": [str(world["design"])]})
    review = client.get("/connect/review")
    r = client.post(
        "/connect/review",
        data={
            "csrf_token": csrf_token(review.text),
            "first_name": "",
            "last_name": "Silva",
            "email": "not an email",
            "phone": "+44 20 7946 0958",
            "interest": [str(world["design"])],
            "action": "submit",
        },
    )
    assert r.status_code == 400
    assert "First name is required." in r.text
    assert "Enter an email address like name@example.com." in r.text
    assert "Tick this box" in r.text
    # The phone is stored in E.164 and shown as people read it (abroad: international).
    assert 'value="Silva"' in r.text and 'value="+44 20 7946 0958"' in r.text
    assert 'role="alert"' in r.text
    with session_scope(sessions) as session:
        assert count(session, Candidate) == 0


def test_at_least_one_interest_is_required(client: FlaskClient, world: dict[str, Any]) -> None:
    """Continuing with no interest ticked stays on the page with an error."""
    r = post(client, "/connect/interests", {})
    assert r.status_code == 400 and "Choose at least one area of interest." in r.text


def test_going_back_keeps_what_was_entered(client: FlaskClient, world: dict[str, Any]) -> None:
    """Back from interests keeps the ticks, and the details page keeps the typed values."""
    post(
        client,
        "/connect/details",
        {"first_name": "Zoë", "last_name": "O'Brien", "email": "z@example.com"},
    )
    r = post(client, "/connect/interests", {"interest": [str(world["sales"])], "action": "back"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/connect/details")
    details = client.get("/connect/details").text
    assert 'value="Zoë"' in details and "O&#39;Brien" in details
    interests = client.get("/connect/interests").text
    assert re.search(rf'value="{world["sales"]}" checked', interests)


def test_show_details_has_a_no_js_page(client: FlaskClient, world: dict[str, Any]) -> None:
    """Each interest's Show Details link opens its own page without JavaScript."""
    page = client.get("/connect/interests").text
    assert 'href="/connect/interests/design"' in page and "Show Details" in page
    detail = client.get("/connect/interests/design")
    assert detail.status_code == 200 and "All about Design." in detail.text
    assert client.get("/connect/interests/nope").status_code == 404


def test_forms_without_csrf_token_are_refused(client: FlaskClient, world: dict[str, Any]) -> None:
    """Every connect POST needs the CSRF token."""
    for path in ("/connect/details", "/connect/interests", "/connect/resume", "/connect/review"):
        r = client.post(path, data={"first_name": "x"})
        assert r.status_code == 400, path


def test_resend_answers_the_same_for_known_and_unknown_addresses(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Asking for a new link says the same thing whether or not the address is known."""
    walk_manual(client, world)
    answers = []
    for email in ("ana@example.com", "nobody@example.com"):
        page = client.get("/connect/confirm/resend")
        r = client.post(
            "/connect/confirm/resend", data={"csrf_token": csrf_token(page.text), "email": email}
        )
        assert r.status_code == 200
        answers.append(r.text)
    assert without_tokens(answers[0]) == without_tokens(answers[1])


def test_profile_check_turns_broken_urls_into_field_errors() -> None:
    """A link hypothesis once broke urlsplit with ("[") is a field error, not an exception."""
    from portal.connect.profile import check_profile

    result = check_profile(
        {"email": "a@example.com", "portfolio_url": "http://[oops", "github_url": "gitlab.com/x"},
        required=("email",),
        region="US",
    )
    assert set(result.errors) == {"portfolio_url", "github_url"}


def test_details_step_shows_missing_fields_on_the_step_itself(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    """Empty or whitespace-only required details stop Continue there, with the review's messages."""
    r = post(
        client,
        "/connect/details",
        {"first_name": "   ", "last_name": "\t", "email": "  ", "action": "continue"},
    )
    assert r.status_code == 400
    page = r.text
    assert "<title>Error: Your details" in page
    assert 'class="error-summary" role="alert" tabindex="-1" id="error-summary"' in page
    assert "Please fix these 3 things" in page
    for name, message in (
        ("first_name", "First name is required."),
        ("last_name", "Last name is required."),
        ("email", "Email is required."),
    ):
        # In the summary, linked to the field, and at the field itself.
        assert f'<a href="#field-{name}">{message}</a>' in page
        assert f'<p class="field-error" id="error-{name}">{message}</p>' in page
        assert re.search(rf'id="field-{name}" name="{name}" type="text" value=""', page)
    # Pressing Continue with one thing wrong keeps the rest, trimmed, and names the one.
    r = post(
        client,
        "/connect/details",
        {"first_name": " Ana ", "last_name": "Silva", "email": " not an email "},
    )
    assert r.status_code == 400
    assert "Please fix this" in r.text
    assert '<a href="#field-email">Enter an email address like name@example.com.</a>' in r.text
    assert 'value="Ana"' in r.text and 'value="not an email"' in r.text
    assert "is required" not in r.text


def test_details_step_trims_names_and_address_before_checking_and_keeping_them(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Spaces around the names and the address are dropped before checking and storing."""
    r = post(
        client,
        "/connect/details",
        {"first_name": "  Ana ", "last_name": " Silva\t", "email": "  Ana@Example.com  "},
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/connect/interests")
    details = client.get("/connect/details").text
    assert 'value="Ana"' in details and 'value="Silva"' in details
    assert 'value="ana@example.com"' in details
    post(client, "/connect/interests", {"interest": [str(world["design"])]})
    review = client.get("/connect/review")
    assert 'value="Ana"' in review.text and 'value="ana@example.com"' in review.text
    r = client.post(
        "/connect/review",
        data={
            "csrf_token": csrf_token(review.text),
            "first_name": " Ana  ",
            "last_name": "  Silva",
            "email": " ana@example.com ",
            "interest": [str(world["design"])],
            "alerts": "yes",
            "action": "submit",
        },
    )
    assert r.status_code == 302, r.text
    with session_scope(sessions) as session:
        candidate = session.scalars(select(Candidate)).one()
        assert (candidate.first_name, candidate.last_name) == ("Ana", "Silva")
        assert candidate.email == "ana@example.com"


def test_details_step_requires_only_the_configured_fields(
    tmp_path: Path, database_url: str, world: dict[str, Any]
) -> None:
    """With REQUIRED_FIELDS=email the names may stay empty; the address never may."""
    app = create_app(make_settings(tmp_path, database_url, REQUIRED_FIELDS="email"))
    client = app.test_client()
    try:
        r = post(client, "/connect/details", {"first_name": " ", "last_name": "", "email": ""})
        assert r.status_code == 400
        # The summary and the field name the address, and nothing else.
        assert r.text.count("is required.") == 2 and r.text.count("Email is required.") == 2
        r = post(client, "/connect/details", {"first_name": "", "email": "ana@example.com"})
        assert r.status_code == 302 and r.headers["Location"].endswith("/connect/interests")
    finally:
        app.extensions["talentconnect"].engine.dispose()


def test_back_from_details_checks_nothing(client: FlaskClient, world: dict[str, Any]) -> None:
    """Back leaves the step with an empty form, and what was typed is kept (trimmed)."""
    r = post(client, "/connect/details", {"first_name": " Zoë ", "email": "", "action": "back"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/connect")
    details = client.get("/connect/details")
    assert details.status_code == 200 and 'value="Zoë"' in details.text
    assert "is required" not in details.text


def test_review_still_checks_everything_after_skipping_the_details_step(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """A draft that never passed the details step (steps skipped by URL) is stopped at review."""
    post(client, "/connect/interests", {"interest": [str(world["design"])]})
    review = client.get("/connect/review")
    r = client.post(
        "/connect/review",
        data={
            "csrf_token": csrf_token(review.text),
            "first_name": "  ",
            "last_name": "",
            "email": " ",
            "interest": [str(world["design"])],
            "alerts": "yes",
            "action": "submit",
        },
    )
    assert r.status_code == 400
    for name, label in (
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("email", "Email"),
    ):
        assert f'<p class="field-error" id="error-{name}">{label} is required.</p>' in r.text
    with session_scope(sessions) as session:
        assert count(session, Candidate) == 0
