"""The preference center from a signed link: show, save, warn, undo, refuse bad links."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from mailer.eligibility import skip_reason
from mailer.models import MessageKind, OutboxMessage
from portal.app import create_app
from preferences.clock import frozen, now
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentEvent,
    ConsentSource,
    Frequency,
    Interest,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import get_or_create_candidate, opt_in_mass_email, subscribe
from preferences.tokens import LinkPurpose, make_link_token
from tests.conftest import TEST_SECRET, make_settings

from .helpers import add_interest, csrf_token, emailed_link, without_tokens

# Mass email off, with the confirmation the page asks for.
CONFIRMED_OFF = {"confirm_mass_email_off": "yes"}


@pytest.fixture
def member(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """A candidate subscribed to Design, not to Sales, opted in to mass email."""
    with session_scope(sessions) as session:
        design = add_interest(session, "Design", position=1)
        sales = add_interest(session, "Sales", position=2)
        candidate, _ = get_or_create_candidate(session, "ana@example.com", first_name="Ana")
        subscribe(session, candidate, design, source=ConsentSource.CONNECT_FORM, confirmed=True)
        opt_in_mass_email(session, candidate, source=ConsentSource.CONNECT_FORM)
        token = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, candidate)
        return {"design": design.id, "sales": sales.id, "id": candidate.id, "token": token}


def states(sessions: sessionmaker[Session], candidate_id: int) -> dict[int, Any]:
    with session_scope(sessions) as session:
        return {
            s.interest_id: (s.status, s.frequency, s.paused_until)
            for s in session.scalars(
                select(Subscription).where(Subscription.candidate_id == candidate_id)
            )
        }


def save(client: FlaskClient, token: str, form: dict[str, Any]) -> Any:
    page = client.get(f"/preferences/{token}")
    assert page.status_code == 200
    return client.post(f"/preferences/{token}", data={"csrf_token": csrf_token(page.text), **form})


def test_page_shows_every_interest_and_the_inline_mass_email_warning(
    client: FlaskClient, member: dict[str, Any]
) -> None:
    """The signed page lists each interest with its state and always shows the warning."""
    page = client.get(f"/preferences/{member['token']}")
    assert page.status_code == 200
    assert re.search(rf'value="{member["design"]}" checked', page.text)
    assert not re.search(rf'value="{member["sales"]}" checked', page.text)
    assert "Send me occasional emails: newsletters, events, hiring news" in page.text
    assert "you may miss notifications about interviews" in page.text
    assert "1:1 messages about an application" in page.text
    assert "ana@example.com" in page.text


def test_save_applies_changes_records_consent_and_lists_what_changed(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """Save stops, starts, re-times and pauses alerts and opts out, each with a consent event."""
    pause = (now() + timedelta(days=20)).date().isoformat()
    r = save(
        client,
        member["token"],
        {
            "interest": [str(member["sales"]), str(member["design"])],
            f"frequency-{member['design']}": "weekly",
            f"pause-{member['design']}": pause,
            f"frequency-{member['sales']}": "instant",
            "confirm_mass_email_off": "yes",
        },
    )
    assert r.status_code == 200
    assert "Started job alerts for Sales, as jobs are posted." in r.text
    assert "Design alerts now arrive in a weekly digest." in r.text
    assert "Paused Design alerts until" in r.text
    assert "Stopped occasional emails." in r.text
    got = states(sessions, member["id"])
    assert got[member["design"]][:2] == (SubscriptionStatus.SUBSCRIBED, Frequency.WEEKLY)
    assert got[member["design"]][2] is not None
    assert got[member["sales"]][:2] == (SubscriptionStatus.SUBSCRIBED, Frequency.INSTANT)
    with session_scope(sessions) as session:
        status = session.get(MassEmailStatus, member["id"])
        assert status is not None and status.status is MassEmail.OPTED_OUT
        sources = session.scalars(
            select(ConsentEvent.source).where(
                ConsentEvent.source == ConsentSource.PREFERENCE_CENTER
            )
        ).all()
        assert len(sources) == 4


def test_undo_puts_everything_back(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """Undo restores the state from before the Save."""
    before = states(sessions, member["id"])
    r = save(client, member["token"], {"confirm_mass_email_off": "yes"})
    assert "Stopped job alerts for Design." in r.text
    undo_token = re.search(r'name="undo" value="([^"]+)"', r.text)
    assert undo_token is not None
    r = client.post(
        f"/preferences/{member['token']}/undo",
        data={"csrf_token": csrf_token(r.text), "undo": undo_token.group(1)},
    )
    assert r.status_code == 200 and "Your earlier choices are back" in r.text
    assert "Started job alerts for Design, in a daily digest." in r.text
    assert states(sessions, member["id"])[member["design"]][:2] == before[member["design"]][:2]
    with session_scope(sessions) as session:
        status = session.get(MassEmailStatus, member["id"])
        assert status is not None and status.status is MassEmail.OPTED_IN


def test_a_page_a_save_and_an_undo_each_read_the_candidate_once(
    app: Flask, client: FlaskClient, member: dict[str, Any]
) -> None:
    """The language hook and the view share one read of the candidate's row, and a Save
    reads the mass-email status with the subscriptions, not on its own."""
    engine = app.extensions["talentconnect"].engine
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()).upper())

    def reads(table: str) -> int:  # queries of the table's own columns
        return sum(s.startswith(f"SELECT {table}.") for s in seen)

    page = client.get(f"/preferences/{member['token']}")  # the consent wordings are recorded
    event.listen(engine, "before_cursor_execute", record)
    try:
        r = client.post(
            f"/preferences/{member['token']}",
            data={"csrf_token": csrf_token(page.text), "confirm_mass_email_off": "yes"},
        )
        assert "Stopped job alerts for Design." in r.text
        assert reads("CANDIDATES") == 1, seen
        assert reads("MASS_EMAIL_STATUSES") == 0, seen
        undo_token = re.search(r'name="undo" value="([^"]+)"', r.text)
        assert undo_token is not None
        seen.clear()
        r = client.post(
            f"/preferences/{member['token']}/undo",
            data={"csrf_token": csrf_token(r.text), "undo": undo_token.group(1)},
        )
        assert "Started job alerts for Design, in a daily digest." in r.text
        assert reads("CANDIDATES") == 1, seen
        seen.clear()
        assert client.get(f"/preferences/{member['token']}").status_code == 200
        assert reads("CANDIDATES") == 1, seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_unsubscribe_from_everything_then_resubscribe_on_the_same_page(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """After leaving every list, the same page subscribes again."""
    save(client, member["token"], {"confirm_mass_email_off": "yes"})
    assert states(sessions, member["id"])[member["design"]][0] is SubscriptionStatus.UNSUBSCRIBED
    r = save(client, member["token"], {"interest": [str(member["design"])], "mass_email": "yes"})
    assert "Started job alerts for Design, in a daily digest." in r.text
    assert "Started occasional emails: newsletters, events, hiring news." in r.text
    assert states(sessions, member["id"])[member["design"]][0] is SubscriptionStatus.SUBSCRIBED


def test_unsubscribed_interest_is_skipped_at_send_time(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """An alert queued before the candidate unsubscribed is skipped when the worker reaches it."""
    with session_scope(sessions) as session:
        session.add(
            OutboxMessage(
                dedupe_key="alert-1",
                kind=MessageKind.JOB_ALERT,
                template="welcome",
                candidate_id=member["id"],
                to_address="ana@example.com",
                context={"interest_id": member["design"]},
            )
        )
    save(client, member["token"], {"mass_email": "yes"})
    with session_scope(sessions) as session:
        row = session.scalars(select(OutboxMessage)).one()
        assert skip_reason(session, row) == "candidate is not subscribed to this interest"


def test_a_pause_in_the_past_is_a_field_error_and_changes_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """A bad pause date gets a message next to the field; nothing is saved."""
    before = states(sessions, member["id"])
    r = save(
        client,
        member["token"],
        {
            "interest": [str(member["design"])],
            f"pause-{member['design']}": "2001-01-01",
            "confirm_mass_email_off": "yes",
        },
    )
    assert r.status_code == 400 and "must end after today" in r.text
    assert states(sessions, member["id"]) == before
    with session_scope(sessions) as session:
        status = session.get(MassEmailStatus, member["id"])
        assert status is not None and status.status is MassEmail.OPTED_IN


def test_save_confirms_a_pending_subscription(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """The signed link proves the mailbox, so saving confirms an unconfirmed subscription."""
    with session_scope(sessions) as session:
        candidate = session.get(Candidate, member["id"])
        from preferences.models import Interest

        sales = session.get(Interest, member["sales"])
        assert candidate is not None and sales is not None
        subscribe(session, candidate, sales, source=ConsentSource.CONNECT_FORM)
    r = save(
        client,
        member["token"],
        {"interest": [str(member["design"]), str(member["sales"])], "mass_email": "yes"},
    )
    assert "Confirmed job alerts for Sales." in r.text
    assert states(sessions, member["id"])[member["sales"]][0] is SubscriptionStatus.SUBSCRIBED


def test_bad_links_get_friendly_pages(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """Tampered and revoked links get a 400 page, a wrong-purpose token too; never a 500."""
    token = member["token"]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.get(f"/preferences/{tampered}").status_code == 400
    with session_scope(sessions) as session:
        candidate = session.get(Candidate, member["id"])
        assert candidate is not None
        other_purpose = make_link_token([TEST_SECRET], LinkPurpose.CONFIRM_EMAIL, candidate)
        candidate.token_version += 1
    assert client.get(f"/preferences/{other_purpose}").status_code == 400
    revoked = client.get(f"/preferences/{token}")
    assert revoked.status_code == 400 and "doesn" in revoked.text


def test_save_without_csrf_token_is_refused(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """The preference form needs its CSRF token; without it nothing changes."""
    r = client.post(f"/preferences/{member['token']}", data={"confirm_mass_email_off": "yes"})
    assert r.status_code == 400
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 2


def test_signed_page_sets_no_cookie_and_its_form_token_is_bound_to_the_link(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """A visit from an email stores nothing in the browser; its form token only fits its link."""
    page = client.get(f"/preferences/{member['token']}")
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    with session_scope(sessions) as session:
        other, _ = get_or_create_candidate(session, "bo@example.com", first_name="Bo")
        other_token = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, other)
    other_page = client.get(f"/preferences/{other_token}")
    assert csrf_token(other_page.text) != csrf_token(page.text)
    # Bo's form token cannot save Ana's page, and neither can a doctored one.
    right = csrf_token(page.text)
    # Doctored: the last hex digit changed (to one it is not, or the test would pass it).
    doctored = right[:-1] + ("1" if right.endswith("0") else "0")
    for wrong in (csrf_token(other_page.text), doctored, ""):
        r = client.post(
            f"/preferences/{member['token']}",
            data={"csrf_token": wrong, "confirm_mass_email_off": "yes"},
        )
        assert r.status_code == 400 and "verify that form" in r.text
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 2


def test_form_token_from_before_a_key_rotation_still_saves(
    client: FlaskClient,
    tmp_path: Path,
    database_url: str,
    sessions: sessionmaker[Session],
    member: dict[str, Any],
) -> None:
    """A page shown before a new signing key was added can still be saved afterwards."""
    page = client.get(f"/preferences/{member['token']}")
    rotated = create_app(
        make_settings(tmp_path, database_url, SECRET_KEYS=f"new-key-{'y' * 32},{TEST_SECRET}")
    )
    try:
        fresh = rotated.test_client().get(f"/preferences/{member['token']}")
        assert csrf_token(fresh.text) != csrf_token(page.text)  # the newest key signs
        r = rotated.test_client().post(
            f"/preferences/{member['token']}",
            data={"csrf_token": csrf_token(page.text), "confirm_mass_email_off": "yes"},
        )
        assert r.status_code == 200 and "Stopped occasional emails" in r.text
    finally:
        rotated.extensions["talentconnect"].engine.dispose()


def test_each_candidate_sees_their_own_choices(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """Rows are rendered once and reused, yet every page shows that candidate's own ticks."""
    with session_scope(sessions) as session:
        other, _ = get_or_create_candidate(session, "bo@example.com", first_name="Bo")
        sales = session.get(Interest, member["sales"])
        assert sales is not None
        subscribe(session, other, sales, source=ConsentSource.CONNECT_FORM, confirmed=True)
        other_token = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, other)
    for _ in range(2):
        ana = client.get(f"/preferences/{member['token']}").text
        bo = client.get(f"/preferences/{other_token}").text
        assert re.search(rf'value="{member["design"]}" checked', ana)
        assert not re.search(rf'value="{member["sales"]}" checked', ana)
        assert re.search(rf'value="{member["sales"]}" checked', bo)
        assert not re.search(rf'value="{member["design"]}" checked', bo)


def test_expired_link_offers_a_new_one_and_resend_says_the_same_for_anyone(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    member: dict[str, Any],
) -> None:
    """An expired link leads to /preferences/resend, which mails members and tells no one."""
    with frozen(now() + timedelta(days=91)):
        expired = client.get(f"/preferences/{member['token']}")
    assert expired.status_code == 410 and 'href="/preferences/resend"' in expired.text
    answers = []
    for email in ("ana@example.com", "nobody@example.com"):
        page = client.get("/preferences/resend")
        r = client.post(
            "/preferences/resend", data={"csrf_token": csrf_token(page.text), "email": email}
        )
        assert r.status_code == 200
        answers.append(r.text)
    assert without_tokens(answers[0]) == without_tokens(answers[1])
    with session_scope(sessions) as session:
        (row,) = session.scalars(select(OutboxMessage)).all()
        assert (row.template, row.to_address) == ("preference_link", "ana@example.com")
        url = emailed_link(session, row, "preferences_url")
    assert client.get(url.removeprefix("http://127.0.0.1:8000")).status_code == 200


def test_saves_are_rate_limited_but_page_views_are_not(
    tmp_path: Any, database_url: str, member: dict[str, Any]
) -> None:
    """Past CONNECT_RATE_LIMIT a Save gets 429 and changes nothing; GETs are never limited."""
    from portal.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path, database_url, CONNECT_RATE_LIMIT="2 per minute"))
    try:
        client = app.test_client()
        path = f"/preferences/{member['token']}"
        pages = [client.get(path) for _ in range(5)]
        assert [p.status_code for p in pages] == [200] * 5
        token = csrf_token(pages[-1].text)
        keep = {"csrf_token": token, "interest": str(member["design"]), "mass_email": "yes"}
        codes = [client.post(path, data=keep).status_code for _ in range(2)]
        assert codes == [200, 200]
        blocked = client.post(path, data={"csrf_token": token, "confirm_mass_email_off": "yes"})
        assert blocked.status_code == 429 and "Too many attempts" in blocked.text
        assert client.get(path).status_code == 200
        with session_scope(app.extensions["talentconnect"].sessions) as session:
            status = session.get(MassEmailStatus, member["id"])
            assert status is not None and status.status is MassEmail.OPTED_IN
    finally:
        app.extensions["talentconnect"].engine.dispose()


def mass_email_of(sessions: sessionmaker[Session], candidate_id: int) -> MassEmail | None:
    with session_scope(sessions) as session:
        row = session.get(MassEmailStatus, candidate_id)
        return row.status if row is not None else None


def test_the_mass_email_box_is_a_positive_choice_ticked_only_when_opted_in(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """The positive box is ticked for the opted-in member, unticked for one never asked."""
    page = client.get(f"/preferences/{member['token']}").text
    assert re.search(
        r'<input type="checkbox" id="field-mass_email" name="mass_email" value="yes" checked', page
    )
    assert "Send me occasional emails: newsletters, events, hiring news" in page
    assert "Unsubscribe from mass email" not in page and "mass_email_optout" not in page
    # The consent wording beside the box is the connect form's, word for word.
    assert "Yes, send me occasional emails about" in page
    assert 'id="mass-email-warning"' in page
    with session_scope(sessions) as session:
        never, _ = get_or_create_candidate(session, "bo@example.com", first_name="Bo")
        token = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, never)
    other = client.get(f"/preferences/{token}").text
    assert re.search(r'name="mass_email" value="yes" aria-describedby', other)  # not checked
    assert 'id="mass-email-warning"' not in other  # nothing to turn off, nothing to warn about


def test_after_a_save_or_undo_the_warning_follows_what_is_stored(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """The page after a Save (read back, not asked again) warns only while opted in."""
    off = save(client, member["token"], CONFIRMED_OFF)
    assert mass_email_of(sessions, member["id"]) is MassEmail.OPTED_OUT
    assert 'id="mass-email-warning"' not in off.text
    undo_token = re.search(r'name="undo" value="([^"]+)"', off.text)
    assert undo_token is not None
    back = client.post(
        f"/preferences/{member['token']}/undo",
        data={"csrf_token": csrf_token(off.text), "undo": undo_token.group(1)},
    )
    assert mass_email_of(sessions, member["id"]) is MassEmail.OPTED_IN
    assert 'id="mass-email-warning"' in back.text
    on = save(client, member["token"], {"mass_email": "yes"})
    assert on.status_code == 200
    assert 'id="mass-email-warning"' in on.text


def test_ticking_the_box_records_a_grant_with_the_wording(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """Ticking it (someone opted out) opts in, the event quoting the wording shown."""
    save(client, member["token"], {"interest": str(member["design"]), **CONFIRMED_OFF})
    r = save(client, member["token"], {"interest": str(member["design"]), "mass_email": "yes"})
    assert "Started occasional emails: newsletters, events, hiring news." in r.text
    assert mass_email_of(sessions, member["id"]) is MassEmail.OPTED_IN
    with session_scope(sessions) as session:
        last = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
        assert last is not None and last.source is ConsentSource.PREFERENCE_CENTER
        assert str(last.detail["wording"]).startswith("Yes, send me occasional emails about")


def test_without_javascript_unticking_asks_to_confirm_before_anything_is_saved(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """Unticked and saved: the page comes back with the warning and a confirm step; no change."""
    before = states(sessions, member["id"])
    asked = save(
        client, member["token"], {"interest": [str(member["design"]), str(member["sales"])]}
    )
    assert asked.status_code == 200 and 'id="confirm-off"' in asked.text
    assert "Nothing is saved yet." in asked.text and "you may miss notifications" in asked.text
    assert 'name="confirm_mass_email_off" value="yes"' in asked.text
    assert re.search(rf'value="{member["sales"]}" checked', asked.text)  # the form as posted
    assert 'id="saved"' not in asked.text
    assert states(sessions, member["id"]) == before
    assert mass_email_of(sessions, member["id"]) is MassEmail.OPTED_IN
    # "Keep them and save" sends the box's value with the rest of the form.
    kept = client.post(
        f"/preferences/{member['token']}",
        data={
            "csrf_token": csrf_token(asked.text),
            "interest": [str(member["design"]), str(member["sales"])],
            "mass_email": "yes",
        },
    )
    assert (
        "Started job alerts for Sales" in kept.text
        and "occasional" not in kept.text.split('id="saved"')[1].split("</div>")[0]
    )
    assert mass_email_of(sessions, member["id"]) is MassEmail.OPTED_IN
    # Confirming turns them off.
    stopped = client.post(
        f"/preferences/{member['token']}",
        data={
            "csrf_token": csrf_token(asked.text),
            "interest": str(member["design"]),
            **CONFIRMED_OFF,
        },
    )
    assert "Stopped occasional emails." in stopped.text
    assert mass_email_of(sessions, member["id"]) is MassEmail.OPTED_OUT


def test_a_stale_or_malformed_form_gets_a_clear_message_and_changes_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """The old "mass_email_optout" form, or a box value but yes: 400, a message, no change."""
    before = states(sessions, member["id"])
    for form in ({"mass_email_optout": "yes"}, {"mass_email": "no"}):
        r = save(client, member["token"], form)
        assert r.status_code == 400 and 'href="#field-mass_email"' in r.text
        assert "nothing was saved" in r.text
        assert states(sessions, member["id"]) == before
        assert mass_email_of(sessions, member["id"]) is MassEmail.OPTED_IN
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 2
