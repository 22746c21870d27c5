"""The console's Privacy page and a candidate's page: holds, mark contacted, who sees names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal.auth.recruiters import set_recruiter
from portal.config import Settings
from preferences.clock import FrozenClock, frozen
from preferences.db import session_scope
from preferences.models import (
    AuditEvent,
    Candidate,
    CandidateStatus,
    LegalHold,
    RecruiterRole,
    RecruiterUser,
    RetentionRun,
)
from preferences.retention import place_hold
from tests.conftest import make_settings
from tests.portal.helpers import (
    CONFIRMED,
    RECRUITER_EMAIL,
    RECRUITER_PASSWORD,
    ask_first,
    confirm,
    csrf_token,
    login,
)

ADMIN_EMAIL = "ada.admin@acme.example.com"
# A Monday; the weeks on the page start 2 Nov, 9 Nov, 16 Nov...
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        RETENTION_MONTHS="24",
        RETENTION_MONTHS_BY_COUNTRY="FR=23,DE=6",
        REPERMISSION_DAYS="45",
    )


@pytest.fixture(autouse=True)
def clock() -> Iterator[FrozenClock]:
    with frozen(T0) as fixed:
        yield fixed


@pytest.fixture
def admin(sessions: sessionmaker[Session]) -> tuple[str, str]:
    with session_scope(sessions) as s:
        set_recruiter(
            s, ADMIN_EMAIL, password=RECRUITER_PASSWORD, role=RecruiterRole.ADMIN, name="Ada"
        )
    return ADMIN_EMAIL, RECRUITER_PASSWORD


def _add(s: Session, name: str, last_active: datetime, *, location: str | None = None) -> Candidate:
    row = Candidate(
        email=f"{name.lower()}@example.com",
        first_name=name,
        last_name="Quill",
        last_active_at=last_active,
        location=location,
    )
    s.add(row)
    s.flush()
    return row


@pytest.fixture
def people(sessions: sessionmaker[Session], admin: tuple[str, str]) -> dict[str, str]:
    """Public ids of: two expiring this week, one next week (by country), one on hold."""
    with session_scope(sessions) as s:
        ada = s.scalar(select(RecruiterUser).where(RecruiterUser.email == ADMIN_EMAIL))
        assert ada is not None
        alma = _add(s, "Alma", datetime(2024, 11, 4, 12, tzinfo=UTC))
        bruno = _add(s, "Bruno", datetime(2024, 11, 5, 12, tzinfo=UTC))
        # FR=23 months: 10 Nov 2026, week 2 (under 24 months it would be 2027).
        franck = _add(s, "Franck", datetime(2024, 12, 10, 12, tzinfo=UTC), location="Lyon, France")
        hal = _add(s, "Hal", datetime(2024, 11, 4, 12, tzinfo=UTC))
        place_hold(s, hal, reason="Litigation 42", recruiter_id=ada.id)
        s.add(
            RetentionRun(
                started_at=T0,
                finished_at=T0,
                dry_run=True,
                trigger="cli",
                counts={"repermission_queued": 7, "anonymized": 3},
            )
        )
        return {
            "alma": alma.public_id,
            "bruno": bruno.public_id,
            "franck": franck.public_id,
            "hal": hal.public_id,
        }


def _expiry_rows(html: str) -> list[int]:
    """The Expiries column of the weekly table, in order."""
    table = html.split('id="expiries-heading"', 1)[1].split("</table>", 1)[0]
    return [int(cell) for cell in re.findall(r"</th><td>(\d+)</td></tr>", table)]


def _audits(sessions: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _holds(sessions: sessionmaker[Session]) -> list[LegalHold]:
    with sessions() as s:
        return list(s.scalars(select(LegalHold).order_by(LegalHold.id)))


def test_recruiters_see_counts_and_no_names(
    client: FlaskClient, recruiter: tuple[str, str], people: dict[str, str]
) -> None:
    """A recruiter's Privacy page: weekly and monthly figures, runs, settings; no names."""
    assert client.get("/admin/privacy").status_code == 302  # signed out: the login page
    assert login(client, *recruiter).status_code == 302
    page = client.get("/admin/privacy")
    assert page.status_code == 200
    text = page.text
    assert 'href="/admin/privacy" aria-current="page"' in text
    assert _expiry_rows(text)[:3] == [2, 1, 0]  # Hal is on hold: not counted
    assert "1 candidate is on legal hold" in text
    assert "Hal" not in text and "hal@example.com" not in text and "Litigation 42" not in text
    assert "Only admins see who is on hold" in text
    assert "repermission queued: 7" in text and "dry run" in text
    assert "DE=6, FR=23" in text and "45 days before expiry" in text and "24 months" in text
    assert 'role="img"' in text and "Re-permission emails per month" in text


def test_admins_see_who_is_on_hold(
    client: FlaskClient, admin: tuple[str, str], people: dict[str, str]
) -> None:
    """An admin's Privacy page lists the hold: the person, the reason, who placed it and when."""
    assert login(client, *admin).status_code == 302
    text = client.get("/admin/privacy").text
    assert f'href="/admin/candidates/{people["hal"]}"' in text
    assert "Hal Quill" in text and "hal@example.com" in text
    assert "Litigation 42" in text and "Ada" in text and "2026-11-02 09:30" in text


def test_find_a_candidate_by_email(
    client: FlaskClient, recruiter: tuple[str, str], people: dict[str, str]
) -> None:
    """An address leads to the candidate's page; an unknown one says so; a malformed one is 400."""
    login(client, *recruiter)
    found = client.get("/admin/candidates?email=Alma@Example.com")
    assert found.status_code == 302
    assert found.headers["Location"].endswith(f"/admin/candidates/{people['alma']}")
    missing = client.get("/admin/candidates?email=nobody@example.com")
    assert missing.status_code == 404 and "No candidate has that address." in missing.text
    assert client.get("/admin/candidates?email=not-an-address").status_code == 400
    assert client.get("/admin/candidates/nope").status_code == 404


def test_candidate_page_shows_activity_and_deadline(
    client: FlaskClient, recruiter: tuple[str, str], people: dict[str, str]
) -> None:
    """The page shows last activity and the deadline from the country's period; no hold form."""
    login(client, *recruiter)
    text = client.get(f"/admin/candidates/{people['franck']}").text
    assert "2024-12-10 12:00 UTC" in text  # last activity
    assert "2026-11-10 12:00 UTC" in text  # FR: 23 months
    assert "Mark contacted" in text
    assert "Place legal hold" not in text and "Release hold" not in text


def test_mark_contacted_starts_a_new_period_and_is_audited(
    app: Flask,
    client: FlaskClient,
    recruiter: tuple[str, str],
    people: dict[str, str],
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    """Mark contacted moves last_active_at to now, records candidate.contacted, needs CSRF."""
    login(client, *recruiter)
    url = f"/admin/candidates/{people['alma']}"
    token = csrf_token(client.get(url).text)
    assert client.post(f"{url}/contacted").status_code == 400  # no CSRF token
    response = client.post(f"{url}/contacted", data={"csrf_token": token})
    assert response.status_code == 302
    with sessions() as s:
        alma = s.scalar(select(Candidate).where(Candidate.public_id == people["alma"]))
        rita = s.scalar(select(RecruiterUser).where(RecruiterUser.email == RECRUITER_EMAIL))
        assert alma is not None and rita is not None
        assert alma.last_active_at == T0
    [event] = _audits(sessions, "candidate.contacted")
    assert (event.actor, event.subject) == (f"recruiter:{rita.id}", people["alma"])
    page = client.get(url).text
    assert "Marked as contacted" in page and "2028-11-02 09:30 UTC" in page
    assert _expiry_rows(client.get("/admin/privacy").text)[0] == 1


def test_mark_contacted_refused_for_an_erased_candidate(
    client: FlaskClient,
    recruiter: tuple[str, str],
    people: dict[str, str],
    sessions: sessionmaker[Session],
) -> None:
    """An erased candidate's page has no button and the POST changes nothing."""
    with session_scope(sessions) as s:
        row = s.scalar(select(Candidate).where(Candidate.public_id == people["bruno"]))
        assert row is not None
        row.status = CandidateStatus.DELETED
    login(client, *recruiter)
    url = f"/admin/candidates/{people['bruno']}"
    page = client.get(url)
    assert page.status_code == 200 and "Mark contacted" not in page.text
    token = csrf_token(page.text)
    assert client.post(f"{url}/contacted", data={"csrf_token": token}).status_code == 409
    assert _audits(sessions, "candidate.contacted") == []


def test_admin_places_and_releases_a_hold(
    client: FlaskClient,
    admin: tuple[str, str],
    people: dict[str, str],
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    """Placing needs a reason and is audited; the page shows it; releasing is audited too."""
    login(client, *admin)
    url = f"/admin/candidates/{people['alma']}"
    page = client.get(url)
    assert "Place legal hold" in page.text
    token = csrf_token(page.text)
    placed = client.post(f"{url}/hold", data={"csrf_token": token, "reason": "  Case\n77 "})
    assert placed.status_code == 302
    [_, hold] = _holds(sessions)
    assert (hold.reason, hold.released_at) == ("Case 77", None)
    placed_events = _audits(sessions, "candidate.hold_placed")
    assert [e.subject for e in placed_events] == [people["hal"], people["alma"]]
    assert placed_events[1].actor.startswith("recruiter:")
    text = client.get(url).text
    assert "Case 77" in text and "Release hold" in text and "(suspended: legal hold)" in text
    assert "Ada" in text and "2026-11-02 09:30 UTC" in text
    assert _expiry_rows(client.get("/admin/privacy").text)[0] == 1

    clock.advance(timedelta(hours=1))
    confirmed = {"csrf_token": token, **CONFIRMED}
    released = client.post(f"{url}/hold/release", data=confirmed)
    assert released.status_code == 302
    assert _holds(sessions)[1].released_at == datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    assert [e.subject for e in _audits(sessions, "candidate.hold_released")] == [people["alma"]]
    text = client.get(url).text
    assert "Legal hold released" in text and "Place legal hold" in text


def test_release_asks_first_and_changes_nothing(
    client: FlaskClient,
    admin: tuple[str, str],
    people: dict[str, str],
    sessions: sessionmaker[Session],
) -> None:
    """Release first asks (the hold stands); unticked, it says so; ticked, it releases, audited."""
    login(client, *admin)
    url = f"/admin/candidates/{people['hal']}"
    page = client.get(url).text
    assert 'data-confirm="Release the legal hold on Hal Quill?' in page
    assert "/static/confirm.js" in page
    token = csrf_token(page)
    said, unticked = ask_first(client, f"{url}/hold/release", token)
    assert "Release the legal hold?" in said and "Nothing has changed yet." in said
    assert "Hal Quill" in said and "hal@example.com" in said and "Litigation 42" in said
    assert "retention applies to this person again" in said
    assert "2026-11-04 12:00 UTC" in said
    assert "Tick the box to confirm. The legal hold still stands." in unticked
    no_token = client.post(f"{url}/hold/release", data=CONFIRMED)
    assert no_token.status_code == 400
    assert [h.released_at for h in _holds(sessions)] == [None]
    assert _audits(sessions, "candidate.hold_released") == []
    done = confirm(client, f"{url}/hold/release", token)
    assert done.status_code == 302
    assert [h.released_at for h in _holds(sessions)] == [T0]
    assert [e.subject for e in _audits(sessions, "candidate.hold_released")] == [people["hal"]]


def test_an_empty_reason_is_refused(
    client: FlaskClient,
    admin: tuple[str, str],
    people: dict[str, str],
    sessions: sessionmaker[Session],
) -> None:
    """A blank reason re-shows the form with a message; no hold and no audit event are stored."""
    login(client, *admin)
    url = f"/admin/candidates/{people['alma']}"
    token = csrf_token(client.get(url).text)
    before = _holds(sessions)
    for blank in ("", "   \n\t "):
        response = client.post(f"{url}/hold", data={"csrf_token": token, "reason": blank})
        assert response.status_code == 400
        assert "Enter a reason" in response.text
        assert 'aria-invalid="true"' in response.text
    bad = client.post(f"{url}/hold", data={"csrf_token": token, "reason": "case\x00 7"})
    assert bad.status_code == 400 and "U+0000" in bad.text
    assert len(_holds(sessions)) == len(before)
    assert len(_audits(sessions, "candidate.hold_placed")) == 1  # Hal's, from the seed


def test_recruiters_cannot_place_or_release_holds(
    client: FlaskClient,
    recruiter: tuple[str, str],
    people: dict[str, str],
    sessions: sessionmaker[Session],
) -> None:
    """Hold POSTs by a non-admin are 403 and change nothing."""
    login(client, *recruiter)
    token = csrf_token(client.get(f"/admin/candidates/{people['alma']}").text)
    before = [(h.id, h.released_at) for h in _holds(sessions)]
    response = client.post(
        f"/admin/candidates/{people['alma']}/hold", data={"csrf_token": token, "reason": "x"}
    )
    assert response.status_code == 403
    release = client.post(
        f"/admin/candidates/{people['hal']}/hold/release", data={"csrf_token": token}
    )
    assert release.status_code == 403
    assert [(h.id, h.released_at) for h in _holds(sessions)] == before
    # The page tells a recruiter a hold stands, without its reason.
    text = client.get(f"/admin/candidates/{people['hal']}").text
    assert "In force" in text and "Litigation 42" not in text
