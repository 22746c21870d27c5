"""/api/v1/candidates: double opt-in sign-ups, reading a candidate, changes on the candidate's
behalf (source api, the token's name), the preference-link email, and hostile input."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import SmtpTarget
from mailer.models import MessageKind, OutboxMessage
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from portal.auth.api_tokens import create_token
from portal.config import Settings
from portal.views.api_candidates import FREQUENCIES
from preferences.clock import now
from preferences.db import session_scope
from preferences.events import WebhookEvent
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Frequency,
    Interest,
    InterestStatus,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from preferences.privacy import erase_candidate
from preferences.subscriptions import (
    get_or_create_candidate,
    opt_out_mass_email,
    subscribe,
    unsubscribe,
)
from preferences.suppressions import suppress
from tests.portal.helpers import add_interest, csrf_token

BASE = "http://127.0.0.1:8000"


@pytest.fixture
def token(sessions: sessionmaker[Session]) -> str:
    """An active API token named "ats", and the interests engineering, design and retired."""
    with session_scope(sessions) as session:
        add_interest(session, "Engineering", slug="engineering")
        add_interest(session, "Design", slug="design")
        old = add_interest(session, "Retired", slug="retired")
        old.status = InterestStatus.RETIRED
        _row, secret = create_token(session, "ats")
    return secret


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def post(client: FlaskClient, secret: str, body: Any, **headers: str) -> Any:
    return client.post("/api/v1/candidates", json=body, headers={**auth(secret), **headers})


def member(
    sessions: sessionmaker[Session],
    email: str = "ana@example.com",
    *,
    verified: bool = True,
    subscribed: tuple[str, ...] = ("engineering",),
) -> str:
    """A candidate (confirmed, subscribed to `subscribed`); returns the public id."""
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, email, first_name="Ana")
        if verified:
            candidate.email_verified_at = now()
        for slug in subscribed:
            interest = session.scalars(select(Interest).where(Interest.slug == slug)).one()
            subscribe(session, candidate, interest, source=ConsentSource.IMPORT, confirmed=verified)
        return candidate.public_id


def outbox(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with sessions() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        session.expunge_all()
        return rows


def api_events(sessions: sessionmaker[Session]) -> list[ConsentEvent]:
    with sessions() as session:
        rows = list(
            session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.source == ConsentSource.API)
                .order_by(ConsentEvent.id)
            )
        )
        session.expunge_all()
        return rows


def count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- sign-up ------------------------------------------------------------------------


def test_post_creates_an_unconfirmed_candidate_and_queues_the_double_opt_in_email(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """201 + Location; unconfirmed subscriptions, no mass email yet, grants with source api and
    the token's name, one confirmation in the outbox, and webhook events beside the grants."""
    response = post(
        client,
        token,
        {
            "email": "  Ana@Example.COM ",
            "first_name": "Ana",
            "last_name": "Silva",
            "language": "es",
            "interests": ["engineering", "design"],
            "mass_email": True,
        },
    )
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert response.headers["Location"] == f"/api/v1/candidates/{data['id']}"
    assert data["email"] == "ana@example.com"
    assert data["status"] == "unconfirmed" and data["created"] is True
    assert data["confirmation_email"] == "queued"
    assert data["mass_email"] == "pending_confirmation"
    assert {(s["interest"], s["status"]) for s in data["subscriptions"]} == {
        ("engineering", "unconfirmed"),
        ("design", "unconfirmed"),
    }
    with sessions() as session:
        candidate = session.scalars(select(Candidate)).one()
        assert (candidate.first_name, candidate.last_name, candidate.locale) == (
            "Ana",
            "Silva",
            "es",
        )
        assert candidate.email_verified_at is None
        assert session.get(MassEmailStatus, candidate.id) is None
    grants = api_events(sessions)
    assert len(grants) == 2
    assert {(e.scope, e.action) for e in grants} == {(ConsentScope.INTEREST, ConsentAction.GRANT)}
    assert all(e.detail["token"] == "ats" and e.ip_address is None for e in grants)
    (mail,) = outbox(sessions)
    assert (mail.kind, mail.template, mail.to_address) == (
        MessageKind.CONFIRMATION,
        "confirmation",
        "ana@example.com",
    )
    assert mail.context["mass_email"] is True
    with sessions() as session:
        changed = session.scalars(
            select(WebhookEvent).where(WebhookEvent.type == "subscription.changed")
        ).all()
        assert len(changed) == 2
        assert {e.source for e in changed} == {"api"}
        assert {e.candidate_key for e in changed} == {data["id"]}
        created = session.scalars(
            select(WebhookEvent).where(WebhookEvent.type == "candidate.created")
        ).one()
        assert (created.candidate_key, created.source) == (data["id"], "api")


def test_the_confirmation_arrives_by_smtp_and_confirming_turns_everything_on(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: MailSink,
    token: str,
) -> None:
    """The worker delivers the double opt-in email to a real SMTP server; its link confirms the
    address, the subscriptions and mass email, and nothing was on before the click."""
    created = post(
        client, token, {"email": "ben@example.com", "interests": ["design"], "mass_email": True}
    )
    assert created.status_code == 201
    worker = OutboxWorker(
        sessions,
        lambda: SmtpSender(SmtpTarget(host=smtp_server.host, port=smtp_server.port, timeout=5)),
        settings.mail_settings(),
    )
    assert worker.run_once().sent == 1
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    assert received.envelope_to == ("ben@example.com",)
    text = next(received.parsed().iter_parts()).get_content()
    assert "Please confirm" in text and "job alerts for Design" in text
    link = re.search(r"Confirm: (\S+)", text)
    assert link is not None
    path = link.group(1).removeprefix(BASE)
    with sessions() as session:
        assert session.scalars(select(Subscription.status)).one() is SubscriptionStatus.UNCONFIRMED
    page = client.get(path)
    assert page.status_code == 200
    listed = dict(
        re.findall(r'<input type="hidden" name="(interest|mass_email)" value="([^"]*)"', page.text)
    )
    done = client.post(path, data={"csrf_token": csrf_token(page.text), **listed})
    assert done.status_code == 200
    got = client.get(f"/api/v1/candidates/{created.get_json()['id']}", headers=auth(token))
    data = got.get_json()
    assert data["verified"] is True
    assert data["subscriptions"][0]["status"] == "subscribed"
    assert data["mass_email"] == "opted_in"


def test_a_known_address_is_never_changed_only_offered_what_is_new(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """A member's record, names and own unsubscribe stay as they are: 200, and the email offers
    only the interest that is new to her; asking again with nothing new sends nothing."""
    ana = member(sessions, subscribed=("engineering", "design"))
    with session_scope(sessions) as session:
        candidate = session.scalars(select(Candidate)).one()
        design = session.scalars(select(Interest).where(Interest.slug == "design")).one()
        unsubscribe(session, candidate, design, source=ConsentSource.PREFERENCE_CENTER)
        opt_out_mass_email(session, candidate, source=ConsentSource.PREFERENCE_CENTER)
        add_interest(session, "Sales", slug="sales")
    response = post(
        client,
        token,
        {
            "email": "ana@example.com",
            "first_name": "Mallory",
            "language": "de",
            "interests": ["engineering", "design", "sales"],
            "mass_email": True,
        },
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert (data["id"], data["created"], data["confirmation_email"]) == (ana, False, "queued")
    assert data["mass_email"] == "opted_out"
    assert response.headers["Location"] == f"/api/v1/candidates/{ana}"
    with sessions() as session:
        candidate = session.scalars(select(Candidate)).one()
        assert (candidate.first_name, candidate.locale) == ("Ana", "en")
        states = {
            s.interest.slug: s.status
            for s in session.scalars(
                select(Subscription).where(Subscription.candidate_id == candidate.id)
            )
        }
        assert states == {
            "engineering": SubscriptionStatus.SUBSCRIBED,
            "design": SubscriptionStatus.UNSUBSCRIBED,
        }
    assert api_events(sessions) == []
    (offer,) = outbox(sessions)
    assert offer.template == "connect_existing"
    assert offer.context["interests"] == ["Sales"] and offer.context["mass_email"] is False
    again = post(client, token, {"email": "ana@example.com", "interests": ["engineering"]})
    assert again.status_code == 200
    assert again.get_json()["confirmation_email"] == "not_sent"
    assert len(outbox(sessions)) == 1


@pytest.mark.parametrize(
    "reason", [SuppressionReason.HARD_BOUNCE, SuppressionReason.RETENTION_EXPIRED]
)
def test_a_suppressed_address_is_refused(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    token: str,
    reason: SuppressionReason,
) -> None:
    """An integration never adds back a suppressed address (any reason): 422, nothing stored."""
    with session_scope(sessions) as session:
        suppress(session, "gone@example.com", reason)
    response = post(client, token, {"email": "gone@example.com", "interests": ["design"]})
    assert response.status_code == 422
    assert "suppressed" in response.get_json()["fields"]["email"]
    assert count(sessions, Candidate) == 0
    assert outbox(sessions) == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"email"}),
        ({"email": "not an address"}, {"email"}),
        ({"email": "a@example.com", "interests": ["astronomy"]}, {"interests"}),
        ({"email": "a@example.com", "interests": ["retired"]}, {"interests"}),
        ({"email": "a@example.com", "interests": "design"}, {"interests"}),
        ({"email": "a@example.com", "interests": ["x"] * 51}, {"interests"}),
        ({"email": "a@example.com", "language": "tlh"}, {"language"}),
        ({"email": "a@example.com", "mass_email": "yes"}, {"mass_email"}),
        ({"email": "a@example.com", "first_name": "A\x00na"}, {"first_name"}),
        ({"email": "a@example.com", "last_name": "x" * 101}, {"last_name"}),
        ({"email": "a@example.com", "first_name": 7}, {"first_name"}),
        ({"email": "a@example.com", "is_admin": True}, {"is_admin"}),
        ({"email": "a" * 100_000 + "@example.com"}, {"email"}),
        ({"email": "\ud800@example.com"}, {"email"}),
        ({"email": ["a@example.com"]}, {"email"}),
    ],
)
def test_bad_sign_ups_are_422_with_each_field_named_and_store_nothing(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    token: str,
    body: dict[str, Any],
    fields: set[str],
) -> None:
    """Each bad field is named in a 422 (hostile values included), and nothing is stored or sent."""
    response = post(client, token, body)
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()["fields"]) == fields
    assert count(sessions, Candidate) == 0
    assert outbox(sessions) == []


def test_malformed_requests_get_json_errors(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """No token 401, text 415, broken JSON 400, a non-object 400, GET 405 with Allow."""
    assert client.post("/api/v1/candidates", json={"email": "a@example.com"}).status_code == 401
    text = client.post(
        "/api/v1/candidates", data="email=a", headers=auth(token), content_type="text/plain"
    )
    assert text.status_code == 415
    broken = client.post(
        "/api/v1/candidates", data="{", headers=auth(token), content_type="application/json"
    )
    assert broken.status_code == 400 and broken.is_json
    assert post(client, token, ["a@example.com"]).status_code == 400
    wrong = client.get("/api/v1/candidates", headers=auth(token))
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"
    assert count(sessions, Candidate) == 0


# --- reading ------------------------------------------------------------------------


def test_get_shows_the_record_without_ip_addresses(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """GET: basics, subscriptions, mass email and the consent history (no IP, no detail)."""
    ana = member(sessions)
    with session_scope(sessions) as session:
        candidate = session.scalars(select(Candidate)).one()
        opt_out_mass_email(
            session, candidate, source=ConsentSource.PREFERENCE_CENTER, ip_address="192.0.2.7"
        )
    response = client.get(f"/api/v1/candidates/{ana}", headers=auth(token))
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == {
        "id",
        "email",
        "language",
        "verified",
        "created_at",
        "subscriptions",
        "saved_searches",
        "mass_email",
        "consent_history",
    }
    assert (data["id"], data["email"], data["verified"]) == (ana, "ana@example.com", True)
    assert data["subscriptions"] == [
        {
            "interest": "engineering",
            "status": "subscribed",
            "frequency": "daily",
            "paused_until": None,
        }
    ]
    assert data["saved_searches"] == [] and data["mass_email"] == "opted_out"
    assert [(e["scope"], e["action"], e["source"]) for e in data["consent_history"]] == [
        ("interest", "grant", "import"),
        ("mass_email", "withdraw", "preference_center"),
    ]
    assert "192.0.2.7" not in response.get_data(as_text=True)
    assert all(e["wording_version"] for e in data["consent_history"])


@pytest.mark.parametrize(
    "suffix", ["x", "%00", "%0A", "..%2F..", "a" * 33, "%E2%80%AE", "'%20OR%201=1"]
)
def test_unknown_and_tampered_ids_are_404(
    client: FlaskClient, sessions: sessionmaker[Session], token: str, suffix: str
) -> None:
    """A tampered, hostile or overlong id names nobody: a JSON 404 on every candidate route."""
    ana = member(sessions)
    for base in (ana + suffix, suffix):
        for path, method in (
            ("", "GET"),
            ("/mass-email", "PUT"),
            ("/subscriptions/engineering", "PUT"),
            ("/preference-link", "POST"),
        ):
            response = client.open(
                f"/api/v1/candidates/{base}{path}",
                method=method,
                headers=auth(token),
                json={"subscribed": False, "opted_in": False},
            )
            assert response.status_code == 404, (base, path, response.get_json())
            assert response.is_json


def test_an_erased_candidate_is_404(
    client: FlaskClient, sessions: sessionmaker[Session], token: str, settings: Settings
) -> None:
    """After erasure the id answers 404 everywhere, and the address can't be added back."""
    ana = member(sessions)
    with session_scope(sessions) as session:
        candidate = session.scalars(select(Candidate)).one()
        erase_candidate(session, candidate, upload_dir=settings.upload_dir)
    assert client.get(f"/api/v1/candidates/{ana}", headers=auth(token)).status_code == 404
    assert post(client, token, {"email": "ana@example.com"}).status_code == 422


# --- changes on the candidate's behalf ---------------------------------------------------


def put_sub(client: FlaskClient, secret: str, who: str, slug: str, body: Any) -> Any:
    return client.put(
        f"/api/v1/candidates/{who}/subscriptions/{slug}", json=body, headers=auth(secret)
    )


def test_withdrawing_applies_at_once_with_source_api_and_the_token_name(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """PUT subscribed=false unsubscribes now; its event names source api and the token, and
    candidate.unsubscribed goes out with channel api; repeating changes nothing."""
    ana = member(sessions)
    response = put_sub(client, token, ana, "engineering", {"subscribed": False})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "interest": "engineering",
        "status": "unsubscribed",
        "frequency": "daily",
        "paused_until": None,
        "confirmation_email": "not_sent",
    }
    (event,) = api_events(sessions)
    assert (event.action, event.detail) == (ConsentAction.WITHDRAW, {"token": "ats"})
    with sessions() as session:
        gone = session.scalars(
            select(WebhookEvent).where(WebhookEvent.type == "candidate.unsubscribed")
        ).one()
        assert (gone.candidate_key, gone.data["channel"], gone.source) == (ana, "api", "api")
    assert put_sub(client, token, ana, "engineering", {"subscribed": False}).status_code == 200
    assert len(api_events(sessions)) == 1
    never = put_sub(client, token, ana, "design", {"subscribed": False})
    assert never.get_json()["status"] == "unsubscribed"


def test_granting_for_a_confirmed_candidate_applies_with_frequency_and_pause(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """A confirmed candidate: subscribe with a frequency, pause, resume; each recorded as api."""
    ana = member(sessions, subscribed=())
    until = (now() + timedelta(days=14)).replace(microsecond=0)
    response = put_sub(
        client,
        token,
        ana,
        "design",
        {"subscribed": True, "frequency": "weekly", "paused_until": until.isoformat()},
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert (data["status"], data["frequency"], data["confirmation_email"]) == (
        "subscribed",
        "weekly",
        "not_sent",
    )
    assert data["paused_until"].startswith(until.strftime("%Y-%m-%dT%H:%M:%S"))
    resumed = put_sub(client, token, ana, "design", {"subscribed": True, "paused_until": None})
    assert resumed.get_json()["paused_until"] is None
    actions = [(e.action, e.detail.get("token")) for e in api_events(sessions)]
    assert actions[0] == (ConsentAction.GRANT, "ats")
    assert [a for a, _t in actions] == [
        ConsentAction.GRANT,
        ConsentAction.CHANGE,
        ConsentAction.CHANGE,
    ]
    assert outbox(sessions) == []


def test_granting_for_an_unconfirmed_candidate_waits_for_the_person(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """Unconfirmed address: the subscription stays unconfirmed and a confirmation email lists it."""
    ben = member(sessions, "ben@example.com", verified=False, subscribed=())
    response = put_sub(client, token, ben, "design", {"subscribed": True})
    assert response.status_code == 200
    data = response.get_json()
    assert (data["status"], data["confirmation_email"]) == ("unconfirmed", "queued")
    (mail,) = outbox(sessions)
    assert (mail.template, mail.context["interests"]) == ("confirmation", ["Design"])
    # What she turned off herself is not offered back to her unconfirmed address.
    with session_scope(sessions) as session:
        row = session.scalars(select(Candidate).where(Candidate.public_id == ben)).one()
        design = session.scalars(select(Interest).where(Interest.slug == "design")).one()
        unsubscribe(session, row, design, source=ConsentSource.ONE_CLICK)
    again = put_sub(client, token, ben, "design", {"subscribed": True, "frequency": "weekly"})
    assert again.status_code == 200
    assert (again.get_json()["status"], again.get_json()["confirmation_email"]) == (
        "unsubscribed",
        "not_sent",
    )
    assert len(outbox(sessions)) == 1


def test_bad_subscription_changes_are_refused_and_change_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """422 for bad fields, a past pause, options when unsubscribing, a retired interest; 404 for
    an unknown interest; 415 and 400 for bodies; the subscription is untouched."""
    ana = member(sessions)
    bad = [
        ({}, {"subscribed"}),
        ({"subscribed": "yes"}, {"subscribed"}),
        ({"subscribed": True, "frequency": "hourly"}, {"frequency"}),
        ({"subscribed": True, "paused_until": "2001-01-01T00:00:00Z"}, {"paused_until"}),
        ({"subscribed": True, "paused_until": "9999-12-31T23:59:59-23:59"}, {"paused_until"}),
        ({"subscribed": True, "paused_until": "tomorrow"}, {"paused_until"}),
        ({"subscribed": False, "frequency": "weekly"}, {"frequency"}),
        ({"subscribed": True, "extra": 1}, {"extra"}),
    ]
    for body, fields in bad:
        response = put_sub(client, token, ana, "engineering", body)
        assert response.status_code == 422, body
        assert set(response.get_json()["fields"]) == fields, body
    retired = put_sub(client, token, ana, "retired", {"subscribed": True})
    assert retired.status_code == 422 and "interest" in retired.get_json()["fields"]
    assert put_sub(client, token, ana, "nope", {"subscribed": True}).status_code == 404
    assert put_sub(client, token, ana, "x%00y", {"subscribed": True}).status_code == 404
    text = client.put(
        f"/api/v1/candidates/{ana}/subscriptions/engineering",
        data="subscribed=1",
        headers=auth(token),
        content_type="text/plain",
    )
    assert text.status_code == 415
    assert put_sub(client, token, ana, "engineering", [True]).status_code == 400
    got = client.get(f"/api/v1/candidates/{ana}/subscriptions/engineering", headers=auth(token))
    assert got.get_json()["status"] == "subscribed" and got.get_json()["frequency"] == "daily"
    assert api_events(sessions) == []


def test_mass_email_on_the_candidates_behalf(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """Confirmed: opt in and out apply (source api, token). Unconfirmed: an opt-in is offered
    in a confirmation email, unless the person opted out herself."""
    ana = member(sessions)
    path = f"/api/v1/candidates/{ana}/mass-email"
    on = client.put(path, json={"opted_in": True}, headers=auth(token))
    assert on.get_json() == {"status": "opted_in", "confirmation_email": "not_sent"}
    off = client.put(path, json={"opted_in": False}, headers=auth(token))
    assert off.get_json()["status"] == "opted_out"
    assert client.get(path, headers=auth(token)).get_json() == {"status": "opted_out"}
    events = api_events(sessions)
    assert [(e.scope, e.action) for e in events] == [
        (ConsentScope.MASS_EMAIL, ConsentAction.GRANT),
        (ConsentScope.MASS_EMAIL, ConsentAction.WITHDRAW),
    ]
    assert {e.detail["token"] for e in events} == {"ats"}
    bad = client.put(path, json={"opted_in": "yes"}, headers=auth(token))
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"opted_in"}

    ben = member(sessions, "ben@example.com", verified=False, subscribed=())
    pending = client.put(
        f"/api/v1/candidates/{ben}/mass-email", json={"opted_in": True}, headers=auth(token)
    )
    assert pending.get_json() == {"status": "opted_out", "confirmation_email": "queued"}
    (mail,) = outbox(sessions)
    assert mail.context["mass_email"] is True
    with session_scope(sessions) as session:
        row = session.scalars(select(Candidate).where(Candidate.public_id == ben)).one()
        opt_out_mass_email(session, row, source=ConsentSource.PREFERENCE_CENTER)
    refused = client.put(
        f"/api/v1/candidates/{ben}/mass-email", json={"opted_in": True}, headers=auth(token)
    )
    assert refused.get_json() == {"status": "opted_out", "confirmation_email": "not_sent"}
    with sessions() as session:
        status = session.scalars(
            select(MassEmailStatus.status).join(Candidate).where(Candidate.public_id == ben)
        ).one()
        assert status is MassEmail.OPTED_OUT


def test_preference_link_is_queued_once_per_window(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """POST …/preference-link answers 202 and queues the preference-link email (deduplicated
    for ten minutes); an unknown id is 404."""
    ana = member(sessions)
    path = f"/api/v1/candidates/{ana}/preference-link"
    first = client.post(path, headers=auth(token))
    assert first.status_code == 202 and first.get_json()["id"] == ana
    assert client.post(path, headers=auth(token)).status_code == 202
    (mail,) = outbox(sessions)
    assert (mail.kind, mail.template, mail.to_address) == (
        MessageKind.LOGIN_LINK,
        "preference_link",
        "ana@example.com",
    )
    assert (
        client.post("/api/v1/candidates/nobody/preference-link", headers=auth(token)).status_code
        == 404
    )
    assert client.get(path, headers=auth(token)).status_code == 405


def test_frequencies_in_the_document_match_the_model() -> None:
    """The API's frequency choices are the model's (nothing to keep in sync by hand)."""
    assert tuple(f.value for f in Frequency) == FREQUENCIES
