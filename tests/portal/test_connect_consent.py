"""Consent only the person gives: unticked suggestions, members' confirmations, unverified mail.

Issue 12, part 2. Each test here failed on the code before it: suggestions were
pre-ticked, a stranger's sign-up with a member's address wrote subscriptions and
could opt her back in to mass email, and a typed name reached an unconfirmed address.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import SmtpTarget
from mailer.models import OutboxMessage
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from portal.config import Settings
from portal.connect.submit import ALERTS_WORDING, MASS_EMAIL_WORDING
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Interest,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import (
    CURRENT_WORDING_VERSION,
    get_or_create_candidate,
    opt_in_mass_email,
    opt_out_mass_email,
    subscribe,
    unsubscribe,
)
from preferences.tokens import LinkPurpose, make_link_token
from preferences.wordings import wording_texts
from tests.conftest import TEST_SECRET

from .helpers import add_interest, add_job, csrf_token, emailed_link, without_tokens

EVIL_NAME = "URGENT: verify at https://evil.example/acme-login"
BASE = "http://127.0.0.1:8000"


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> Iterator[dict[str, int]]:
    """Three interests with an open job each."""
    with session_scope(sessions) as session:
        design = add_interest(session, "Design", position=1)
        data = add_interest(session, "Data", position=2)
        sales = add_interest(session, "Sales", position=3)
        add_job(session, "Product Designer", interests=[design])
        add_job(session, "Data Analyst", interests=[data])
        add_job(session, "Account Executive", interests=[sales])
        ids = {"design": design.id, "data": data.id, "sales": sales.id}
    yield ids


def seed_draft(
    client: FlaskClient,
    *,
    interests: list[int],
    suggested: list[int],
    email: str = "emily@example.com",
    email_verified: bool = False,
) -> None:
    """The draft as the wizard leaves it after a resume suggested `suggested`.

    `email_verified`: as a social provider's verified address leaves it.
    """
    with client.session_transaction() as cookie:
        cookie["connect"] = {
            "source": "social" if email_verified else "manual",
            "provider": "test" if email_verified else None,
            "email_verified": email_verified,
            "profile": {"first_name": "Emily", "last_name": "Carter", "email": email},
            "interests": interests,
            "suggested": suggested,
            "resume": None,
            "resume_skipped": False,
        }


def checkbox(html: str, element_id: str) -> str:
    """The <input> tag with this id."""
    match = re.search(rf'<input[^>]*id="{re.escape(element_id)}"[^>]*>', html)
    assert match is not None, f"no input #{element_id}"
    return match.group(0)


def is_ticked(html: str, element_id: str) -> bool:
    return re.search(r"\schecked(\s|>|=)", checkbox(html, element_id)) is not None


def review_form(html: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": csrf_token(html),
        "first_name": "Emily",
        "last_name": "Carter",
        "email": "emily@example.com",
    }
    data.update(fields)
    return data


def sign_up(
    client: FlaskClient,
    world: dict[str, int],
    *,
    email: str,
    interests: tuple[str, ...],
    mass_email: bool,
    first_name: str = "Mallory",
) -> Any:
    """The whole manual walk, as a stranger would do it with someone's address."""
    page = client.get("/connect/details")
    r = client.post(
        "/connect/details",
        data={
            "csrf_token": csrf_token(page.text),
            "first_name": first_name,
            "last_name": "Smith",
            "email": email,
        },
    )
    assert r.status_code == 302, r.text
    page = client.get("/connect/interests")
    client.post(
        "/connect/interests",
        data={"csrf_token": csrf_token(page.text), "interest": [str(world[i]) for i in interests]},
    )
    review = client.get("/connect/review")
    data: dict[str, Any] = {
        "csrf_token": csrf_token(review.text),
        "first_name": first_name,
        "last_name": "Smith",
        "email": email,
        "interest": [str(world[i]) for i in interests],
        "alerts": "yes",
        "action": "submit",
    }
    if mass_email:
        data["mass_email"] = "yes"
    return client.post("/connect/review", data=data)


def confirm_form(html: str) -> dict[str, Any]:
    """What the confirm page's form posts: its token and the list it showed."""
    fields: dict[str, Any] = {"csrf_token": csrf_token(html)}
    for name, value in re.findall(
        r'<input type="hidden" name="(interest|mass_email)" value="([^"]*)"', html
    ):
        fields.setdefault(name, []).append(value)
    return fields


def run_worker(sessions: sessionmaker[Session], settings: Settings, sink: MailSink) -> None:
    target = SmtpTarget(host=sink.host, port=sink.port, timeout=5)
    OutboxWorker(sessions, lambda: SmtpSender(target), settings.mail_settings()).run_once()


def delivered(sink: MailSink, count: int) -> list[tuple[str, str]]:
    """(text part, HTML part) of the first `count` messages the real SMTP server received."""
    assert isinstance(sink.store, MemoryStore)
    parts = []
    for received in sink.store.wait_for(count):
        text, html = list(received.parsed().iter_parts())
        parts.append((str(text.get_content()), str(html.get_content())))
    return parts


# -- suggestions are suggestions ---------------------------------------------------------


def test_interests_suggested_by_the_resume_are_shown_unticked(
    client: FlaskClient, world: dict[str, int]
) -> None:
    """A suggestion is labelled and left unticked; what the person chose stays ticked."""
    seed_draft(client, interests=[world["design"]], suggested=[world["data"]])
    page = client.get("/connect/review")
    assert page.status_code == 200
    assert is_ticked(page.text, f"review-interest-{world['design']}")
    assert not is_ticked(page.text, f"review-interest-{world['data']}")
    assert not is_ticked(page.text, f"review-interest-{world['sales']}")
    assert "Suggested from your resume" in page.text
    assert 'name="action" value="add_suggested"' in page.text
    # The consent boxes are never ticked in advance either.
    assert not is_ticked(page.text, "field-alerts")
    assert not is_ticked(page.text, "field-mass_email")


def test_add_suggestions_ticks_them_without_javascript_and_stores_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """The one "add" control posts the form back with the suggestions ticked, nothing saved."""
    seed_draft(client, interests=[world["design"]], suggested=[world["data"]])
    review = client.get("/connect/review")
    r = client.post(
        "/connect/review",
        data=review_form(
            review.text,
            location="Lisbon",
            interest=[str(world["design"])],
            mass_email="yes",
            action="add_suggested",
        ),
    )
    assert r.status_code == 200
    assert is_ticked(r.text, f"review-interest-{world['design']}")
    assert is_ticked(r.text, f"review-interest-{world['data']}")
    assert not is_ticked(r.text, f"review-interest-{world['sales']}")
    # What the person typed and ticked is kept; nothing else gets ticked for them.
    assert 'value="Lisbon"' in r.text
    assert is_ticked(r.text, "field-mass_email") and not is_ticked(r.text, "field-alerts")
    assert re.search(r'role="status"[^>]*>[^<]*Added[^<]*Data', r.text)
    assert "Tick this box" not in r.text  # no validation errors: nothing was submitted
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Candidate)) == 0


def test_consent_events_record_the_boxes_the_person_ticked(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """Each grant names the boxes ticked on the form, and whether the interest was suggested."""
    seed_draft(client, interests=[world["design"]], suggested=[world["data"], world["sales"]])
    review = client.get("/connect/review")
    r = client.post(
        "/connect/review",
        data=review_form(
            review.text,
            interest=[str(world["design"]), str(world["data"])],
            alerts="yes",
            mass_email="yes",
            action="submit",
        ),
    )
    assert r.status_code == 302
    ticked = sorted(
        ["alerts", "mass_email", f"interest:{world['design']}", f"interest:{world['data']}"]
    )
    with session_scope(sessions) as session:
        events = {
            e.interest_id: e.detail
            for e in session.scalars(
                select(ConsentEvent).where(ConsentEvent.interest_id.isnot(None))
            )
        }
        subscribed = set(session.scalars(select(Subscription.interest_id)))
    assert subscribed == {world["design"], world["data"]}  # the unticked suggestion: nothing
    assert set(events) == {world["design"], world["data"]}
    for detail in events.values():
        assert detail["ticked"] == ticked
        assert detail["wording"] == ALERTS_WORDING
    assert events[world["design"]]["suggested"] is False
    assert events[world["data"]]["suggested"] is True


# -- a member's address in someone else's form -------------------------------------------


def make_member(
    sessions: sessionmaker[Session],
    world: dict[str, int],
    *,
    email: str = "ana@example.com",
    subscribed: tuple[str, ...] = ("design",),
    withdrawn: tuple[str, ...] = (),
    unconfirmed: tuple[str, ...] = (),
    mass_email: MassEmail | None = None,
) -> int:
    """A confirmed member with her own choices; returns her candidate id."""
    with session_scope(sessions) as session:
        ana, _ = get_or_create_candidate(session, email, first_name="Ana")
        ana.email_verified_at = now()

        def interest(key: str) -> Interest:
            found = session.get(Interest, world[key])
            assert found is not None
            return found

        source = ConsentSource.PREFERENCE_CENTER
        for key in subscribed + withdrawn:
            subscribe(session, ana, interest(key), source=source, confirmed=True)
        for key in withdrawn:
            unsubscribe(session, ana, interest(key), source=source)
        for key in unconfirmed:
            subscribe(session, ana, interest(key), source=source, confirmed=False)
        if mass_email is not None:
            opt_in_mass_email(session, ana, source=source)
            if mass_email is MassEmail.OPTED_OUT:
                opt_out_mass_email(session, ana, source=source)
        session.flush()
        return ana.id


def member_state(sessions: sessionmaker[Session], candidate_id: int) -> dict[str, Any]:
    """Everything a sign-up could change for this member."""
    with session_scope(sessions) as session:
        mass = session.get(MassEmailStatus, candidate_id)
        return {
            "subscriptions": {
                s.interest_id: s.status
                for s in session.scalars(
                    select(Subscription).where(Subscription.candidate_id == candidate_id)
                )
            },
            "mass_email": mass.status if mass else None,
            "events": session.scalar(
                select(func.count())
                .select_from(ConsentEvent)
                .where(ConsentEvent.candidate_id == candidate_id)
            ),
            "resumes": len(session.get_one(Candidate, candidate_id).resumes),
        }


def outbox(sessions: sessionmaker[Session], candidate_id: int) -> list[OutboxMessage]:
    with sessions() as session:
        rows = list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.candidate_id == candidate_id)
                .order_by(OutboxMessage.id)
            )
        )
        session.expunge_all()
    return rows


def test_a_sign_up_with_a_members_address_changes_nothing_and_offers_only_new_choices(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """A stranger's form writes nothing to her record; her opt-outs are not even offered back."""
    ana = make_member(
        sessions,
        world,
        subscribed=("design",),
        withdrawn=("sales",),
        mass_email=MassEmail.OPTED_OUT,
    )
    before = member_state(sessions, ana)
    r = sign_up(
        client,
        world,
        email="ana@example.com",
        interests=("design", "data", "sales"),
        mass_email=True,
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/connect/thanks")
    assert member_state(sessions, ana) == before
    (notice,) = outbox(sessions, ana)
    assert notice.template == "connect_existing"
    # Only what is new to her: not Design (on), not Sales nor mass email (she turned them off).
    assert notice.context["interests"] == ["Data"]
    assert notice.context["mass_email"] is False
    assert "Mallory" not in str(notice.context)


def test_the_member_confirms_exactly_the_listed_changes(
    client: FlaskClient,
    app: Flask,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: MailSink,
    world: dict[str, int],
) -> None:
    """The email and the confirm page list each change; confirming applies those and no more."""
    ana = make_member(sessions, world, subscribed=("design",), unconfirmed=("sales",))
    sign_up(client, world, email="ana@example.com", interests=("design", "data"), mass_email=True)
    (notice,) = outbox(sessions, ana)
    assert (notice.context["interests"], notice.context["mass_email"]) == (["Data"], True)

    run_worker(sessions, settings, smtp_server)
    ((text, html),) = delivered(smtp_server, 1)
    assert "Data" in text and "Data" in html
    assert "occasional emails about Acme" in text
    assert "Design" not in text and "Sales" not in text
    assert "Nothing changes unless you confirm" in text
    assert "Mallory" not in text + html

    with sessions() as session:
        path = emailed_link(session, notice, "confirm_url").removeprefix(BASE)
    member = app.test_client()  # Ana, in her own browser
    page = member.get(path)
    assert page.status_code == 200
    change_list = re.search(r'<ul class="change-list">(.*?)</ul>', page.text, flags=re.S)
    assert change_list is not None
    listed = re.findall(r"<li[^>]*>(.*?)</li>", change_list.group(1), flags=re.S)
    assert len(listed) == 2
    assert "Data" in listed[0] and ALERTS_WORDING in listed[0]
    assert MASS_EMAIL_WORDING.format(company="Acme") in listed[1]
    assert "Sales" not in page.text
    done = member.post(path, data=confirm_form(page.text))
    assert done.status_code == 200

    state = member_state(sessions, ana)
    assert state["subscriptions"] == {
        world["design"]: SubscriptionStatus.SUBSCRIBED,
        world["data"]: SubscriptionStatus.SUBSCRIBED,
        # Pending from something else; this confirmation never listed it.
        world["sales"]: SubscriptionStatus.UNCONFIRMED,
    }
    assert state["mass_email"] is MassEmail.OPTED_IN
    with session_scope(sessions) as session:
        new = session.scalars(
            select(ConsentEvent)
            .where(
                ConsentEvent.candidate_id == ana, ConsentEvent.source == ConsentSource.CONNECT_FORM
            )
            .order_by(ConsentEvent.id)
        ).all()
        assert [(e.scope, e.interest_id, e.action) for e in new] == [
            (ConsentScope.INTEREST, world["data"], ConsentAction.GRANT),
            (ConsentScope.MASS_EMAIL, None, ConsentAction.GRANT),
        ]
        # The wording quoted is the wording the confirm page showed her.
        assert new[0].detail["wording"] == ALERTS_WORDING
        assert new[1].detail["wording"] == MASS_EMAIL_WORDING.format(company="Acme")
        assert all(e.detail["via"] == "confirmation_link" for e in new)
        # Under the versions of those words (in English, the page's language).
        texts = wording_texts(session, [e.wording_version for e in new])
        assert [(texts[e.wording_version].text, texts[e.wording_version].locale) for e in new] == [
            (ALERTS_WORDING, "en"),
            (MASS_EMAIL_WORDING.format(company="Acme"), "en"),
        ]
    # Confirming again changes nothing and records nothing.
    again = member.post(path, data=confirm_form(page.text))
    assert again.status_code == 200
    assert member_state(sessions, ana) == state


def test_a_confirmation_link_never_undoes_an_opt_out(
    app: Flask, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """Links listing mass email or a withdrawn interest leave her opt-outs as they are.

    The first link is one of the old kind (mass email in it, no list of changes),
    which the connect form used to send to any member's address.
    """
    ana = make_member(
        sessions,
        world,
        subscribed=("design",),
        withdrawn=("sales",),
        mass_email=MassEmail.OPTED_OUT,
    )
    with session_scope(sessions) as session:
        candidate = session.get_one(Candidate, ana)
        tokens = [
            make_link_token(
                [TEST_SECRET],
                LinkPurpose.CONFIRM_EMAIL,
                candidate,
                m=True,
                w=CURRENT_WORDING_VERSION,
            ),
            make_link_token(
                [TEST_SECRET], LinkPurpose.CONFIRM_EMAIL, candidate, i=[world["sales"]], m=True
            ),
        ]
    before = member_state(sessions, ana)
    member = app.test_client()
    for token in tokens:
        page = member.get(f"/connect/confirm/{token}")
        assert page.status_code == 200
        assert "Sales" not in page.text
        assert MASS_EMAIL_WORDING.format(company="Acme") not in page.text
        assert "You're already confirmed" in page.text
        # Even a form claiming more than any page showed turns on nothing she turned off.
        form = member.get("/connect/confirm/resend")
        member.post(
            f"/connect/confirm/{token}",
            data={
                "csrf_token": csrf_token(form.text),
                "interest": [str(world["sales"])],
                "mass_email": "yes",
            },
        )
    assert member_state(sessions, ana) == before


def test_an_opt_out_made_after_the_email_wins_over_its_link(
    client: FlaskClient, app: Flask, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """Her later choice stands: a confirmation sent before she opted out cannot opt her in."""
    ana = make_member(sessions, world, subscribed=("design",))
    sign_up(client, world, email="ana@example.com", interests=("data",), mass_email=True)
    (notice,) = outbox(sessions, ana)
    with session_scope(sessions) as session:
        opt_out_mass_email(
            session, session.get_one(Candidate, ana), source=ConsentSource.PREFERENCE_CENTER
        )
    with sessions() as session:
        path = emailed_link(session, notice, "confirm_url").removeprefix(BASE)
    member = app.test_client()
    page = member.get(path)
    member.post(path, data=confirm_form(page.text))
    state = member_state(sessions, ana)
    assert state["mass_email"] is MassEmail.OPTED_OUT
    assert state["subscriptions"][world["data"]] is SubscriptionStatus.SUBSCRIBED


def test_nothing_to_change_sends_nothing_and_the_visitor_cannot_tell(
    app: Flask, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """No email when nothing would change; the visitor's pages are the same in all three cases."""
    unchanged = make_member(
        sessions,
        world,
        email="ana@example.com",
        subscribed=("design",),
        mass_email=MassEmail.OPTED_IN,
    )
    changed = make_member(sessions, world, email="bo@example.com", subscribed=("sales",))
    answers = []
    for email in ("ana@example.com", "bo@example.com", "newcomer@example.com"):
        visitor = app.test_client()
        r = sign_up(visitor, world, email=email, interests=("design",), mass_email=True)
        thanks = visitor.get("/connect/thanks")
        answers.append(
            (
                r.status_code,
                r.headers.get("Location"),
                thanks.status_code,
                without_tokens(thanks.text),
            )
        )
    assert answers[0] == answers[1] == answers[2]
    assert outbox(sessions, unchanged) == []
    assert [m.template for m in outbox(sessions, changed)] == ["connect_existing"]


def test_a_provider_verified_sign_up_is_hers_and_applies_at_once(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """With the address verified by her provider, what she ticks applies; a notice lists it."""
    ana = make_member(sessions, world, subscribed=("design",), withdrawn=("sales",))
    for _ in range(2):
        seed_draft(
            client,
            interests=[world["design"], world["sales"]],
            suggested=[],
            email="ana@example.com",
            email_verified=True,
        )
        review = client.get("/connect/review")
        r = client.post(
            "/connect/review",
            data=review_form(
                review.text,
                email="ana@example.com",
                interest=[str(world["design"]), str(world["sales"])],
                alerts="yes",
                mass_email="yes",
                action="submit",
            ),
        )
        assert r.status_code == 302
    state = member_state(sessions, ana)
    assert state["subscriptions"] == {
        world["design"]: SubscriptionStatus.SUBSCRIBED,
        world["sales"]: SubscriptionStatus.SUBSCRIBED,  # she turned it back on herself
    }
    assert state["mass_email"] is MassEmail.OPTED_IN
    # One notice, for the first time; the second changed nothing and sent nothing.
    (notice,) = outbox(sessions, ana)
    assert notice.template == "connect_existing"
    assert notice.context == {
        "confirm_url": "",
        "verified": True,
        "interests": ["Sales"],
        "mass_email": True,
        "resume_added": False,
    }


# -- no visitor text in mail to an unconfirmed address -----------------------------------


def test_mail_to_an_unconfirmed_address_carries_no_typed_text(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: MailSink,
    world: dict[str, int],
) -> None:
    """A name typed into the form never reaches an address nobody has confirmed."""
    sign_up(
        client,
        world,
        email="victim@example.com",
        interests=("design",),
        mass_email=True,
        first_name=EVIL_NAME,
    )
    page = client.get("/login")
    client.post(
        "/login",
        data={"csrf_token": csrf_token(page.text), "email": "victim@example.com", "action": "link"},
    )
    with session_scope(sessions) as session:
        templates = sorted(session.scalars(select(OutboxMessage.template)))
    assert templates == ["confirmation", "login_link"]
    run_worker(sessions, settings, smtp_server)
    for text, html in delivered(smtp_server, 2):
        assert text.startswith("Hi there,")
        for typed in ("URGENT", "evil.example", "Smith"):
            assert typed not in text and typed not in html


def test_a_confirmed_member_is_still_greeted_by_name(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: MailSink,
    world: dict[str, int],
) -> None:
    """Once the address is confirmed, its owner's name is used again."""
    make_member(sessions, world)
    page = client.get("/login")
    client.post(
        "/login",
        data={"csrf_token": csrf_token(page.text), "email": "ana@example.com", "action": "link"},
    )
    run_worker(sessions, settings, smtp_server)
    ((text, _html),) = delivered(smtp_server, 1)
    assert text.startswith("Hi Ana,")
