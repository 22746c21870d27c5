"""Last activity, counted honestly: what moves `Candidate.last_active_at` and what never does.

Each test makes its rows with the clock frozen at T0, then acts at T1 and reads the
candidate back: T1 when the person acted, still T0 when they did not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.applications import APPLIED
from mailer.bounces import BounceOutcome, process_report
from mailer.config import SmtpTarget
from mailer.models import MessageKind, OutboxMessage
from mailer.outbox import enqueue
from mailer.sender import SmtpSender
from mailer.sink import MailSink
from mailer.verp import bounce_mailbox, verp_address
from mailer.worker import OutboxWorker
from portal.app import create_app
from portal.auth.accounts import set_password
from portal.config import Settings
from portal.console.imports import import_candidates
from portal.resumes import ParsedResume, StoredResume
from portal.resumes.records import replace_resume
from portal.web.links import one_click_url, preferences_link
from preferences.clock import frozen
from preferences.db import session_scope
from preferences.models import (
    AuditEvent,
    Candidate,
    ConsentSource,
    Resume,
    ResumeSource,
    SubscriptionStatus,
)
from preferences.subscriptions import get_or_create_candidate, opt_in_mass_email, subscribe
from preferences.tokens import LinkPurpose, make_link_token
from tests.conftest import TEST_SECRET, make_settings
from tests.mailer.samples import HARD_5_1_1, YAHOO_ARF, sample
from tests.oidc.helpers import callback_path
from tests.oidc.provider import OidcTestProvider
from tests.saved_search_seed import seed_search

from .helpers import add_interest, add_job, csrf_token, emailed_link

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=3, hours=2)
BASE = "http://127.0.0.1:8000"
ANA = "ana@example.com"
PASSWORD = "a long enough passphrase"
APPLY_URL = "https://ats.example.net/acme/apply?job=designer&src=portal#form"


@dataclass(frozen=True)
class World:
    """Ana (verified, with a password, Design alerts, mass email, one saved search) and jobs."""

    ana: int
    public_id: str
    design: int
    data: int
    search: int
    open_job: int
    closed_job: int
    future_job: int


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with frozen(T0), session_scope(sessions) as session:
        design = add_interest(session, "Design", position=1)
        data = add_interest(session, "Data", position=2)
        open_job = add_job(session, "Product Designer", interests=[design], apply_url=APPLY_URL)
        closed = add_job(session, "Old Role", interests=[design], closed_at=T0)
        future = add_job(session, "Next Role", posted_at=T0 + timedelta(days=90))
        ana, _ = get_or_create_candidate(session, ANA, first_name="Ana")
        ana.email_verified_at = T0
        set_password(ana, PASSWORD)
        subscribe(session, ana, design, source=ConsentSource.CONNECT_FORM, confirmed=True)
        opt_in_mass_email(session, ana, source=ConsentSource.CONNECT_FORM)
        search = seed_search(session, ana)
        session.flush()
        return World(
            ana.id,
            ana.public_id,
            design.id,
            data.id,
            search.id,
            open_job.id,
            closed.id,
            future.id,
        )


def last_active(sessions: sessionmaker[Session], candidate_id: int) -> datetime | None:
    with sessions() as session:
        return session.get_one(Candidate, candidate_id).last_active_at


def candidate_id(sessions: sessionmaker[Session], email: str) -> int:
    with sessions() as session:
        found = session.scalars(select(Candidate.id).where(Candidate.email == email)).one()
        return int(found)


def token(purpose: LinkPurpose, public_id: str, **extra: Any) -> str:
    holder = _Holder(public_id)
    return make_link_token([TEST_SECRET], purpose, holder, **extra)


@dataclass(frozen=True)
class _Holder:
    public_id: str
    token_version: int = 1


def log_in(client: FlaskClient) -> None:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": ANA,
            "password": PASSWORD,
            "action": "password",
        },
    )
    assert r.status_code == 302, r.text


def signed_in(client: FlaskClient) -> FlaskClient:
    """`client` with Ana signed in at T0 (signing in is activity: it happens before T1)."""
    with frozen(T0):
        log_in(client)
    return client


def seed_draft(client: FlaskClient, world: World, *, email: str, verified: bool) -> None:
    """The connect wizard's draft as its steps leave it, before the review's Submit."""
    with client.session_transaction() as cookie:
        cookie["connect"] = {
            "source": "social" if verified else "manual",
            "provider": "test" if verified else None,
            "email_verified": verified,
            "profile": {"first_name": "Ana", "last_name": "Lopez", "email": email},
            "interests": [world.data],
            "suggested": [],
            "resume": None,
            "resume_skipped": True,
        }


def submit_review(client: FlaskClient, world: World, *, email: str) -> None:
    review = client.get("/connect/review")
    r = client.post(
        "/connect/review",
        data={
            "csrf_token": csrf_token(review.text),
            "first_name": "Ana",
            "last_name": "Lopez",
            "email": email,
            "interest": [str(world.data)],
            "alerts": "yes",
            "action": "submit",
        },
    )
    assert r.status_code == 302, r.text


# -- joining and confirming -------------------------------------------------------------


def test_joining_starts_a_new_candidate_at_the_moment_of_joining(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """A new sign-up's row is created with last_active_at = now (the column's default)."""
    with frozen(T1):
        seed_draft(client, world, email="zoe@example.com", verified=False)
        submit_review(client, world, email="zoe@example.com")
    assert last_active(sessions, candidate_id(sessions, "zoe@example.com")) == T1


def test_joining_again_with_a_verified_address_moves_it(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """A member connecting again with an address her provider verified has acted herself."""
    with frozen(T1):
        seed_draft(client, world, email=ANA, verified=True)
        submit_review(client, world, email=ANA)
    assert last_active(sessions, world.ana) == T1


def test_someone_else_typing_her_address_into_the_form_does_not(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """An unverified sign-up with a member's address may be anyone's: it changes nothing."""
    with frozen(T1):
        seed_draft(client, world, email=ANA, verified=False)
        submit_review(client, world, email=ANA)
    assert last_active(sessions, world.ana) == T0


def test_confirming_moves_it_and_a_scanners_get_of_the_link_does_not(
    app: Flask, client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """The confirmation link's GET (what a scanner fetches) leaves it; the button moves it."""
    with frozen(T0):
        seed_draft(client, world, email="zoe@example.com", verified=False)
        submit_review(client, world, email="zoe@example.com")
    zoe = candidate_id(sessions, "zoe@example.com")
    with sessions() as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "confirmation")
        ).one()
        with frozen(T1):
            path = emailed_link(session, row, "confirm_url").removeprefix(BASE)
    inbox = app.test_client()
    with frozen(T1):
        page = inbox.get(path)
        assert page.status_code == 200
        assert last_active(sessions, zoe) == T0
        form: dict[str, Any] = {"csrf_token": csrf_token(page.text)}
        for name, value in re.findall(
            r'<input type="hidden" name="(interest|mass_email)" value="([^"]*)"', page.text
        ):
            form.setdefault(name, []).append(value)
        assert inbox.post(path, data=form).status_code == 200
    assert last_active(sessions, zoe) == T1


def test_confirming_a_saved_search_moves_it_and_its_get_does_not(
    app: Flask, client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """A saved search's confirmation: GET shows it, the POST button is her activity."""
    with frozen(T0):
        page = client.get("/jobs", query_string={"q": "designer"})
        form = re.search(r'<form method="post" action="/jobs/save".*?</form>', page.text, re.S)
        assert form is not None
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form[0]))
        r = client.post(
            "/jobs/save",
            data={**fields, "frequency": "daily", "email": "zoe@example.com", "consent": "yes"},
        )
        assert r.status_code == 200, r.text
    zoe = candidate_id(sessions, "zoe@example.com")
    with sessions() as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "saved_search_confirm")
        ).one()
        with frozen(T1):
            path = emailed_link(session, row, "confirm_url").removeprefix(BASE)
    inbox = app.test_client()
    with frozen(T1):
        page = inbox.get(path)
        assert page.status_code == 200
        assert last_active(sessions, zoe) == T0
        assert inbox.post(path, data={"csrf_token": csrf_token(page.text)}).status_code == 200
    assert last_active(sessions, zoe) == T1


# -- signing in -------------------------------------------------------------------------


def test_a_password_sign_in_moves_it(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """Signing in with the password is activity."""
    with frozen(T1):
        log_in(client)
    assert last_active(sessions, world.ana) == T1


def test_a_wrong_password_does_not(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """A failed sign-in (anyone can type her address) changes nothing."""
    with frozen(T1):
        page = client.get("/login")
        r = client.post(
            "/login",
            data={
                "csrf_token": csrf_token(page.text),
                "email": ANA,
                "password": "not the password",
                "action": "password",
            },
        )
        assert r.status_code == 400
    assert last_active(sessions, world.ana) == T0


def test_an_emailed_sign_in_link_moves_it_on_its_button_not_on_its_get(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """Asking for the link and a GET of it leave it; the page's sign-in button moves it."""
    with frozen(T1):
        page = client.get("/login")
        client.post(
            "/login", data={"csrf_token": csrf_token(page.text), "email": ANA, "action": "link"}
        )
        assert last_active(sessions, world.ana) == T0
        with sessions() as session:
            row = session.scalars(
                select(OutboxMessage).where(OutboxMessage.template == "login_link")
            ).one()
            path = emailed_link(session, row, "login_url").removeprefix(BASE)
        page = client.get(path)
        assert page.status_code == 200
        assert last_active(sessions, world.ana) == T0
        r = client.post(path, data={"csrf_token": csrf_token(page.text)})
        assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard")
    assert last_active(sessions, world.ana) == T1


@pytest.fixture
def provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OidcTestProvider]:
    """A running OpenID provider on loopback whose certificate this test trusts."""
    server = OidcTestProvider(tmp_path / "provider")
    server.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_path))
    try:
        yield server
    finally:
        server.stop()


def test_a_social_sign_in_moves_it(
    tmp_path: Path,
    database_url: str,
    sessions: sessionmaker[Session],
    provider: OidcTestProvider,
) -> None:
    """Signing in with a social account (the login page's button) is activity."""
    with frozen(T0), session_scope(sessions) as session:
        member, _ = get_or_create_candidate(session, provider.user.email, first_name="Ada")
        member_id = member.id
    app = create_app(
        make_settings(
            tmp_path / "oidc", database_url, OIDC_PROVIDERS=json.dumps([provider.portal_config()])
        )
    )
    app.config["TESTING"] = True
    try:
        client = app.test_client()
        with frozen(T1):
            start = client.get("/connect/social/test?purpose=login")
            r = client.get(callback_path(provider.visit(start.headers["Location"])))
            assert r.headers["Location"].endswith("/dashboard")
    finally:
        app.extensions["talentconnect"].engine.dispose()
    assert last_active(sessions, member_id) == T1


# -- saving preferences -----------------------------------------------------------------


def test_saving_the_preference_center_moves_it_and_opening_it_does_not(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """The signed page's GET leaves it; Save moves it, and so does Undo later."""
    with frozen(T1):
        link = token(LinkPurpose.PREFERENCES, world.public_id)
        page = client.get(f"/preferences/{link}")
        assert page.status_code == 200
        assert last_active(sessions, world.ana) == T0
        r = client.post(
            f"/preferences/{link}",
            data={
                "csrf_token": csrf_token(page.text),
                "interest": [str(world.design), str(world.data)],
                "mass_email": "yes",
            },
        )
        assert r.status_code == 200
    assert last_active(sessions, world.ana) == T1
    undo = re.search(r'name="undo" value="([^"]+)"', r.text)
    assert undo is not None
    later = T1 + timedelta(hours=1)
    with frozen(later):
        r = client.post(
            f"/preferences/{link}/undo",
            data={"csrf_token": csrf_token(r.text), "undo": undo.group(1)},
        )
        assert r.status_code == 200
    assert last_active(sessions, world.ana) == later


def test_saving_preferences_from_the_dashboard_moves_it(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """The dashboard's preference form: its GET leaves it, its Save moves it."""
    signed_in(client)
    with frozen(T1):
        page = client.get("/dashboard/preferences")
        assert page.status_code == 200
        assert last_active(sessions, world.ana) == T0
        r = client.post(
            "/dashboard/preferences",
            data={
                "csrf_token": csrf_token(page.text),
                "interest": [str(world.design)],
                "mass_email": "yes",
            },
        )
        assert r.status_code == 200
    assert last_active(sessions, world.ana) == T1


@pytest.mark.parametrize("where", ["dashboard", "signed"])
def test_changing_a_saved_search_moves_it(
    client: FlaskClient, sessions: sessionmaker[Session], world: World, where: str
) -> None:
    """A saved search's buttons, on the dashboard or the signed page, are her activity."""
    if where == "dashboard":
        signed_in(client)
        base = "/dashboard/preferences"
    else:
        with frozen(T1):
            base = f"/preferences/{token(LinkPurpose.PREFERENCES, world.public_id)}"
    with frozen(T1):
        page = client.get(base)
        r = client.post(
            f"{base}/searches/{world.search}",
            data={
                "csrf_token": csrf_token(page.text),
                "action": "frequency",
                "frequency": "weekly",
            },
        )
        assert r.status_code == 303
    assert last_active(sessions, world.ana) == T1


def test_saving_a_search_while_signed_in_moves_it(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """A member's "Email me jobs like this" from /jobs is her activity."""
    signed_in(client)
    with frozen(T1):
        page = client.get("/jobs", query_string={"q": "designer"})
        form = re.search(r'<form method="post" action="/jobs/save".*?</form>', page.text, re.S)
        assert form is not None
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form[0]))
        r = client.post("/jobs/save", data={**fields, "frequency": "daily"})
        assert r.status_code == 200, r.text
    assert last_active(sessions, world.ana) == T1


def test_editing_the_profile_on_the_dashboard_moves_it(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """Saving the profile form is activity; opening it is not."""
    signed_in(client)
    with frozen(T1):
        page = client.get("/dashboard/profile")
        assert last_active(sessions, world.ana) == T0
        r = client.post(
            "/dashboard/profile",
            data={"csrf_token": csrf_token(page.text), "first_name": "Ana", "last_name": "Ruiz"},
        )
        assert r.status_code == 302, r.text
    assert last_active(sessions, world.ana) == T1


def test_changing_the_password_moves_it(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """Setting a new password on the dashboard is activity."""
    signed_in(client)
    with frozen(T1):
        page = client.get("/dashboard")
        new = "another long passphrase"
        r = client.post(
            "/dashboard/password",
            data={
                "csrf_token": csrf_token(page.text),
                "current_password": PASSWORD,
                "password": new,
                "confirm": new,
            },
        )
        assert r.status_code == 302
    assert last_active(sessions, world.ana) == T1


def test_replacing_and_deleting_the_resume_move_it(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """The dashboard's resume changes (replace_resume, and Delete resume) are activity."""
    stored = StoredResume(
        storage_name="0" * 32 + ".pdf",
        original_filename="ana.pdf",
        kind="pdf",
        content_type="application/pdf",
        size_bytes=10,
        sha256="0" * 64,
    )
    signed_in(client)
    with frozen(T1), session_scope(sessions) as session:
        ana = session.get_one(Candidate, world.ana)
        replace_resume(session, ana, stored, ParsedResume(), source=ResumeSource.UPLOAD)
    assert last_active(sessions, world.ana) == T1
    later = T1 + timedelta(hours=1)
    with frozen(later):
        page = client.get("/dashboard/resume/delete")
        assert page.status_code == 200
        assert last_active(sessions, world.ana) == T1
        r = client.post("/dashboard/resume/delete", data={"csrf_token": csrf_token(page.text)})
        assert r.status_code == 302
    assert last_active(sessions, world.ana) == later
    with sessions() as session:
        assert session.scalars(select(Resume)).all() == []


# -- applying ---------------------------------------------------------------------------


def applied_events(sessions: sessionmaker[Session]) -> list[tuple[str, str, dict[str, Any]]]:
    with sessions() as session:
        return [
            (e.actor, e.subject, e.detail)
            for e in session.scalars(select(AuditEvent).where(AuditEvent.action == APPLIED))
        ]


def test_the_job_page_apply_link_goes_through_the_portal(client: FlaskClient, world: World) -> None:
    """The Apply button links to /jobs/<id>/apply; the JSON-LD keeps the page as its place."""
    with frozen(T1):
        page = client.get(f"/jobs/{world.open_job}")
    assert f'href="/jobs/{world.open_job}/apply"' in page.text
    assert "ats.example.net" not in page.text


def test_applying_while_signed_in_moves_it_and_records_the_click(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """A member's Apply: 303 to exactly the posting's apply URL, activity, one audit event."""
    signed_in(client)
    with frozen(T1):
        r = client.get(f"/jobs/{world.open_job}/apply")
    assert r.status_code == 303
    assert r.headers["Location"] == APPLY_URL
    assert r.headers["Cache-Control"] == "no-store"
    assert last_active(sessions, world.ana) == T1
    with sessions() as session:
        reference = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == APPLIED)
        ).one()["job"]
    assert applied_events(sessions) == [("candidate", world.public_id, {"job": reference})]


def test_applying_anonymously_is_only_a_redirect(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """A visitor is sent to the same apply URL; nobody's activity moves and nothing is recorded."""
    with frozen(T1):
        r = client.get(f"/jobs/{world.open_job}/apply")
    assert (r.status_code, r.headers["Location"]) == (303, APPLY_URL)
    assert last_active(sessions, world.ana) == T0
    assert applied_events(sessions) == []


def test_a_click_sent_from_another_site_is_not_counted(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """A cross-site request (Sec-Fetch-Site) is redirected, but cannot renew her stay."""
    signed_in(client)
    with frozen(T1):
        r = client.get(f"/jobs/{world.open_job}/apply", headers={"Sec-Fetch-Site": "cross-site"})
    assert (r.status_code, r.headers["Location"]) == (303, APPLY_URL)
    assert last_active(sessions, world.ana) == T0
    assert applied_events(sessions) == []


@pytest.mark.parametrize("which", ["closed_job", "future_job", "unknown", "huge"])
def test_no_apply_redirect_for_a_closed_unpublished_or_unknown_job(
    client: FlaskClient, sessions: sessionmaker[Session], world: World, which: str
) -> None:
    """A closed, not yet published or unknown posting is the normal 404 page; nothing moves."""
    job_id = {"unknown": world.future_job + 1000, "huge": 2**40}.get(which) or getattr(world, which)
    signed_in(client)
    with frozen(T1):
        r = client.get(f"/jobs/{job_id}/apply")
    assert r.status_code == 404
    assert "find that page" in r.text
    assert last_active(sessions, world.ana) == T0
    assert applied_events(sessions) == []


def test_the_apply_redirect_goes_only_to_the_stored_url(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """No parameter, header or path trick changes where it leads: no open redirect."""
    with frozen(T1):
        for r in (
            client.get(f"/jobs/{world.open_job}/apply?next=https://evil.example/"),
            client.get(f"/jobs/{world.open_job}/apply?url=//evil.example/"),
            client.get(
                f"/jobs/{world.open_job}/apply", headers={"Referer": "https://evil.example/"}
            ),
        ):
            assert (r.status_code, r.headers["Location"]) == (303, APPLY_URL)
        assert client.get(f"/jobs/{world.open_job}/apply/https://evil.example").status_code == 404


def test_a_stored_url_that_is_not_a_web_address_is_not_followed(
    client: FlaskClient, sessions: sessionmaker[Session], world: World
) -> None:
    """A posting whose stored URL is no http(s) address has no Apply redirect (404)."""
    with frozen(T0), session_scope(sessions) as session:
        odd = add_job(session, "Odd", apply_url="javascript:alert(1)")
        odd_id = odd.id
    with frozen(T1):
        assert client.get(f"/jobs/{odd_id}/apply").status_code == 404


# -- what never counts ------------------------------------------------------------------


def test_a_one_click_unsubscribe_and_its_get_do_not_move_it(
    client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], world: World
) -> None:
    """RFC 8058's POST stops mail; it is not renewed interest. The GET page changes nothing."""
    with frozen(T1):
        url = one_click_url(settings, _Holder(world.public_id), f"interest:{world.design}")
        path = url.removeprefix(settings.base_url)
        assert client.get(path).status_code == 200
        r = client.post(
            path,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert r.status_code == 200
    assert last_active(sessions, world.ana) == T0
    with sessions() as session:
        sub = session.get_one(Candidate, world.ana).subscriptions[0]
        assert sub.status is SubscriptionStatus.UNSUBSCRIBED  # it did unsubscribe


def test_sending_her_mail_does_not_move_it(
    settings: Settings, sessions: sessionmaker[Session], world: World, smtp_server: MailSink
) -> None:
    """Queueing and sending her a message (or anyone opening it) is not the person acting."""
    with frozen(T1), session_scope(sessions) as session:
        enqueue(
            session,
            kind=MessageKind.WELCOME,
            template="welcome",
            to_address=ANA,
            dedupe_key="welcome:ana",
            candidate_id=world.ana,
            context={"preferences_url": preferences_link(_Holder(world.public_id))},
        )
    target = SmtpTarget(host=smtp_server.host, port=smtp_server.port, timeout=5)
    with frozen(T1):
        worker = OutboxWorker(sessions, lambda: SmtpSender(target), settings.mail_settings())
        result = worker.run_once()
    assert result.sent == 1, outbox_errors(sessions)
    assert last_active(sessions, world.ana) == T0


def outbox_errors(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(OutboxMessage.last_error)))


@pytest.mark.parametrize("kind", ["bounce", "complaint"])
def test_a_bounce_or_a_complaint_does_not_move_it(
    settings: Settings, sessions: sessionmaker[Session], world: World, kind: str
) -> None:
    """A hard bounce and a spam complaint act on her record without counting as her activity."""
    mail = settings.mail_settings()
    with frozen(T0), session_scope(sessions) as session:
        enqueue(
            session,
            kind=MessageKind.JOB_ALERT,
            template="job_alert",
            to_address=ANA,
            dedupe_key="alert:ana",
            candidate_id=world.ana,
            context={"interest_id": world.design},
        )
        outbox_id = session.scalars(select(OutboxMessage.id)).one()
    verp = verp_address(mail, outbox_id)
    with frozen(T1), session_scope(sessions) as session:
        if kind == "bounce":
            raw, to = sample(HARD_5_1_1, verp=verp), verp
            expected = BounceOutcome.HARD_BOUNCE_SUPPRESSED
        else:
            raw, to = sample(YAHOO_ARF, verp=verp), bounce_mailbox(mail)
            expected = BounceOutcome.COMPLAINT_APPLIED
        assert process_report(session, raw, recipients=[to], settings=mail) is expected
    assert last_active(sessions, world.ana) == T0


def test_a_recruiters_import_of_an_existing_candidate_does_not_move_it(
    sessions: sessionmaker[Session], world: World
) -> None:
    """An import that adds an interest to a known candidate is the recruiter's act, not hers."""
    data = (
        "email,first_name,last_name,phone,interests,mass_email,consent_source,consent_at\n"
        f"{ANA},Ana,Lopez,,data,no,event,2026-01-05\n"
    ).encode()
    with frozen(T1), session_scope(sessions) as session:
        report = import_candidates(session, data, "pool.csv")
        assert report.updated == 1
    assert last_active(sessions, world.ana) == T0


# -- one UPDATE on the hot paths --------------------------------------------------------


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs inside the block."""
    seen: list[str] = []
    engine = app.extensions["talentconnect"].engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_save_touches_in_one_update_and_a_one_click_never_reads_or_writes_it(
    app: Flask,
    client: FlaskClient,
    settings: Settings,
    sessions: sessionmaker[Session],
    world: World,
) -> None:
    """The Save adds exactly one UPDATE of last_active_at and no SELECT of it; one-click none."""
    with frozen(T1):
        link = token(LinkPurpose.PREFERENCES, world.public_id)
        page = client.get(f"/preferences/{link}")
        with statements(app) as seen:
            r = client.post(
                f"/preferences/{link}",
                data={
                    "csrf_token": csrf_token(page.text),
                    "interest": [str(world.design)],
                    "mass_email": "yes",
                },
            )
        assert r.status_code == 200
    touches = [
        i
        for i, s in enumerate(seen)
        if s.startswith("UPDATE candidates SET") and "last_active_at" in s
    ]
    assert len(touches) == 1, seen
    # Nothing reads the value back: the touch expires it in the session without a reload.
    assert not [s for s in seen[touches[0] :] if s.startswith("SELECT candidates.last_active_at")]
    with frozen(T1):
        url = one_click_url(settings, _Holder(world.public_id), f"interest:{world.design}")
        with statements(app) as seen:
            r = client.post(
                url.removeprefix(settings.base_url),
                data="List-Unsubscribe=One-Click",
                content_type="application/x-www-form-urlencoded",
            )
        assert r.status_code == 200
    assert [s for s in seen if s.startswith("UPDATE candidates")] == []
