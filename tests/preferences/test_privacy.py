"""GDPR data export and erasure."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs.models import DigestItem, JobPosting
from mailer.eligibility import skip_reason
from mailer.models import MessageKind, OutboxMessage, OutboxStatus
from mailer.outbox import enqueue
from preferences import privacy
from preferences.clock import FrozenClock
from preferences.errors import CandidateDeleted
from preferences.models import (
    AuditEvent,
    Candidate,
    CandidateStatus,
    ConsentEvent,
    ConsentSource,
    Frequency,
    Interest,
    MassEmailStatus,
    Resume,
    Subscription,
    Suppression,
    SuppressionReason,
)
from preferences.privacy import (
    CandidateDataHook,
    Erasure,
    erase_candidate,
    erased_address,
    erasure_hooks,
    export_candidate_data,
)
from preferences.subscriptions import (
    confirm_subscription,
    find_candidate,
    get_or_create_candidate,
    opt_in_mass_email,
    set_frequency,
    subscribe,
)
from preferences.suppressions import is_suppressed

from .support import T0


def count(session: Session, model: type[Any], **where: Any) -> int:
    stmt = select(func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return int(session.scalar(stmt) or 0)


def add_resume(session: Session, candidate: Candidate, upload_dir: Path) -> Resume:
    """A resume row with a real file behind it."""
    name = secrets.token_hex(16)
    upload_dir.mkdir(parents=True, exist_ok=True)
    (upload_dir / name).write_bytes(b"%PDF-1.7 Ana's resume")
    row = Resume(
        candidate_id=candidate.id,
        storage_name=name,
        original_filename="ana-cv.pdf",
        content_type="application/pdf",
        size_bytes=21,
        sha256="ab" * 32,
        parsed_fields={"skills": ["python"]},
    )
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def full_candidate(
    db_session: Session,
    clock: FrozenClock,
    candidate: Candidate,
    interest: Interest,
    upload_dir: Path,
) -> Candidate:
    """Ana with profile, subscription, mass email, consent history, resume, mail and alerts."""
    candidate.last_name = "Silva"
    candidate.phone_e164 = "+14155550123"
    candidate.location = "Lisbon"
    candidate.linkedin_url = "https://linkedin.example/ana"
    candidate.password_hash = "$argon2id$fake"
    candidate.email_verified_at = T0
    subscribe(
        db_session, candidate, interest, source=ConsentSource.CONNECT_FORM, ip_address="192.0.2.1"
    )
    clock.advance(timedelta(minutes=1))
    confirm_subscription(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    clock.advance(timedelta(minutes=1))
    set_frequency(db_session, candidate, interest, Frequency.WEEKLY, source=ConsentSource.DASHBOARD)
    clock.advance(timedelta(minutes=1))
    opt_in_mass_email(
        db_session, candidate, source=ConsentSource.CONNECT_FORM, ip_address="192.0.2.2"
    )
    add_resume(db_session, candidate, upload_dir)
    job = JobPosting(
        reference="ENG-1", title="Backend Engineer", apply_url="https://jobs.example/1"
    )
    db_session.add(job)
    db_session.flush()
    db_session.add(DigestItem(candidate_id=candidate.id, job_id=job.id))
    enqueue(
        db_session,
        kind=MessageKind.WELCOME,
        template="welcome",
        to_address=candidate.email,
        dedupe_key=f"welcome:{candidate.id}",
        candidate_id=candidate.id,
        context={"first_name": "Ana"},
    )
    enqueue(
        db_session,
        kind=MessageKind.JOB_ALERT,
        template="job_alert",
        to_address=candidate.email,
        dedupe_key=f"alert:{candidate.id}",
        candidate_id=candidate.id,
        context={"first_name": "Ana", "interest_id": interest.id},
    )
    sent = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == f"welcome:{candidate.id}")
    ).one()
    sent.status = OutboxStatus.SENT
    sent.sent_at = T0
    db_session.flush()
    return candidate


def test_export_contains_every_category(db_session: Session, full_candidate: Candidate) -> None:
    """The export holds profile, subscriptions, mass email, consent, resumes, mail and alerts."""
    data = export_candidate_data(db_session, full_candidate)
    assert set(data) == {
        "about",
        "generated_at",
        "profile",
        "subscriptions",
        "saved_searches",
        "mass_email",
        "consent_history",
        "resumes",
        "emails",
        "job_alerts",
        "api_answers",
    }
    assert data["generated_at"] == (T0 + timedelta(minutes=3)).isoformat()
    assert "consent" in data["about"]
    profile = data["profile"]
    assert profile["email"] == "ana@example.com"
    assert (profile["first_name"], profile["last_name"]) == ("Ana", "Silva")
    assert profile["phone"] == "+14155550123"
    assert profile["status"] == "active"
    assert profile["email_verified_at"] == T0.isoformat()
    assert profile["created_at"] == T0.isoformat()
    assert profile["password_set"] is True
    # Retention counts from the last activity; the country picks the period.
    assert profile["last_active_at"] == T0.isoformat()
    assert profile["country"] == "US"
    assert data["subscriptions"] == [
        {
            "interest": "Engineering",
            "interest_slug": "engineering",
            "status": "subscribed",
            "frequency": "weekly",
            "paused_until": None,
            "last_alerted_at": None,
            "created_at": T0.isoformat(),
            "updated_at": (T0 + timedelta(minutes=2)).isoformat(),
        }
    ]
    assert data["mass_email"] == {
        "status": "opted_in",
        "updated_at": (T0 + timedelta(minutes=3)).isoformat(),
    }
    assert data["resumes"] == [
        {
            "original_filename": "ana-cv.pdf",
            "content_type": "application/pdf",
            "size_bytes": 21,
            "sha256": "ab" * 32,
            "parsed_fields": {"skills": ["python"]},
            "source": "upload",
            "created_at": (T0 + timedelta(minutes=3)).isoformat(),
        }
    ]
    assert [(m["kind"], m["status"], m["sent_at"]) for m in data["emails"]] == [
        ("welcome", "sent", T0.isoformat()),
        ("job_alert", "pending", None),
    ]
    assert data["job_alerts"] == [
        {
            "job_reference": "ENG-1",
            "job_title": "Backend Engineer",
            "created_at": (T0 + timedelta(minutes=3)).isoformat(),
        }
    ]


def test_export_lists_consent_history_in_time_order(
    db_session: Session, full_candidate: Candidate
) -> None:
    """Every consent event appears, oldest first, with scope, wording, source and IP."""
    history = export_candidate_data(db_session, full_candidate)["consent_history"]
    assert [(e["scope"], e["interest"], e["action"], e["source"]) for e in history] == [
        ("interest", "Engineering", "grant", "connect_form"),
        ("interest", "Engineering", "confirm", "connect_form"),
        ("interest", "Engineering", "change", "dashboard"),
        ("mass_email", None, "grant", "connect_form"),
    ]
    assert [e["occurred_at"] for e in history] == [
        (T0 + timedelta(minutes=m)).isoformat() for m in range(4)
    ]
    assert [e["ip_address"] for e in history] == ["192.0.2.1", None, None, "192.0.2.2"]
    assert all(e["wording_version"] for e in history)
    assert history[2]["detail"] == {"frequency": "weekly", "previous_frequency": "daily"}


def test_export_is_json_and_hides_storage_names(
    db_session: Session, full_candidate: Candidate
) -> None:
    """The export serializes with json.dumps and never reveals a resume's storage name."""
    data = export_candidate_data(db_session, full_candidate)
    text = json.dumps(data)
    storage_name = db_session.scalars(select(Resume.storage_name)).one()
    assert storage_name not in text
    assert "argon2" not in text
    assert json.loads(text) == data


def test_export_is_audited(db_session: Session, full_candidate: Candidate) -> None:
    """An export records a candidate.exported audit event naming the public id, not the address."""
    export_candidate_data(db_session, full_candidate, actor="recruiter:3")
    event = db_session.scalars(select(AuditEvent)).one()
    assert (event.actor, event.action, event.subject) == (
        "recruiter:3",
        "candidate.exported",
        full_candidate.public_id,
    )
    assert "ana@example.com" not in json.dumps(event.detail)


def test_export_of_a_bare_candidate(db_session: Session, candidate: Candidate) -> None:
    """A candidate with nothing but a profile exports empty lists and no mass-email status."""
    data = export_candidate_data(db_session, candidate)
    assert data["mass_email"] is None
    for key in (
        "subscriptions",
        "consent_history",
        "resumes",
        "emails",
        "job_alerts",
        "api_answers",
    ):
        assert data[key] == []
    json.dumps(data)


def test_erasure_deletes_files_and_rows(
    db_session: Session, full_candidate: Candidate, upload_dir: Path
) -> None:
    """Erasure deletes resume files and rows, subscriptions, mass email, queued mail and alerts."""
    cid = full_candidate.id
    files = list(upload_dir.iterdir())
    assert len(files) == 1
    erase_candidate(db_session, full_candidate, upload_dir=upload_dir)
    assert list(upload_dir.iterdir()) == []
    assert count(db_session, Resume) == 0
    assert count(db_session, Subscription) == 0
    assert count(db_session, MassEmailStatus) == 0
    assert count(db_session, DigestItem) == 0
    assert count(db_session, OutboxMessage, status=OutboxStatus.PENDING) == 0
    # The sent message stays as history, without the address or the render context.
    db_session.expire_all()
    sent = db_session.scalars(select(OutboxMessage)).one()
    assert sent.status is OutboxStatus.SENT
    assert sent.to_address == erased_address(full_candidate)
    assert sent.context == {}
    assert db_session.get(Candidate, cid) is not None


def test_erasure_leaves_a_tombstone_without_personal_data(
    db_session: Session, full_candidate: Candidate, upload_dir: Path, clock: FrozenClock
) -> None:
    """The candidate row stays, deleted, with every personal field cleared and links revoked."""
    version = full_candidate.token_version
    public_id = full_candidate.public_id
    clock.advance(timedelta(hours=1))
    erase_candidate(db_session, full_candidate, upload_dir=upload_dir)
    db_session.expire_all()
    row = db_session.get(Candidate, full_candidate.id)
    assert row is not None
    assert row.status is CandidateStatus.DELETED
    assert row.deleted_at == T0 + timedelta(hours=1, minutes=3)
    assert row.email == f"erased-{public_id}@invalid"
    assert (row.first_name, row.last_name) == ("", "")
    assert row.phone_e164 is None and row.location is None
    assert (row.linkedin_url, row.github_url, row.portfolio_url) == (None, None, None)
    assert row.password_hash is None and row.email_verified_at is None
    assert row.token_version == version + 1
    assert find_candidate(db_session, "ana@example.com") is None


@pytest.mark.parametrize("spelling", ["ana@example.com", "ANA@Example.COM", " ana@EXAMPLE.com "])
def test_erasure_suppresses_the_address_as_a_salted_hash(
    db_session: Session, full_candidate: Candidate, upload_dir: Path, spelling: str
) -> None:
    """The address is suppressed in every spelling and stored only as a salted hash."""
    erase_candidate(db_session, full_candidate, upload_dir=upload_dir)
    assert is_suppressed(db_session, spelling) is True
    row = db_session.scalars(select(Suppression)).one()
    assert row.reason is SuppressionReason.ERASURE
    assert row.address_hash != hashlib.sha256(b"ana@example.com").hexdigest()
    assert "ana" not in repr(tuple(db_session.execute(select(Suppression.__table__)).one()))


def test_erasure_keeps_consent_events_without_ip(
    db_session: Session, full_candidate: Candidate, upload_dir: Path
) -> None:
    """Consent events survive erasure as the record of consent, but lose their IP addresses."""
    loaded = db_session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
    assert loaded[0].ip_address == "192.0.2.1"
    erase_candidate(db_session, full_candidate, upload_dir=upload_dir)
    assert count(db_session, ConsentEvent, candidate_id=full_candidate.id) == 4
    # Objects already in the session see the cleared IP too.
    assert [e.ip_address for e in loaded] == [None, None, None, None]
    db_session.expire_all()
    stored = db_session.scalars(select(ConsentEvent)).all()
    assert {e.ip_address for e in stored} == {None}
    assert {e.wording_version for e in stored} != {""}


def test_erasure_is_audited_without_personal_data(
    db_session: Session, full_candidate: Candidate, upload_dir: Path
) -> None:
    """Erasure writes a candidate.erased audit event with the actor and what was removed."""
    erase_candidate(db_session, full_candidate, upload_dir=upload_dir, actor="recruiter:9")
    event = db_session.scalars(select(AuditEvent)).one()
    assert (event.actor, event.action, event.subject) == (
        "recruiter:9",
        "candidate.erased",
        full_candidate.public_id,
    )
    assert event.detail == {
        "deleted": {
            "resumes": 1,
            "files": 1,
            "subscriptions": 1,
            "saved_searches": 0,
            "queued_emails": 1,
            "job_alerts": 1,
            "api_answers": 0,
        }
    }
    assert "ana" not in json.dumps(event.detail).lower()


def test_erasing_twice_is_harmless(
    db_session: Session, full_candidate: Candidate, upload_dir: Path, clock: FrozenClock
) -> None:
    """A second erasure changes nothing but the token version and adds a second audit event."""
    erase_candidate(db_session, full_candidate, upload_dir=upload_dir)
    deleted_at = full_candidate.deleted_at
    clock.advance(timedelta(days=1))
    erase_candidate(db_session, full_candidate, upload_dir=upload_dir)
    assert full_candidate.status is CandidateStatus.DELETED
    assert full_candidate.deleted_at == deleted_at
    assert full_candidate.email == erased_address(full_candidate)
    assert count(db_session, Suppression) == 1
    actions = db_session.scalars(select(AuditEvent.action)).all()
    assert actions == ["candidate.erased", "candidate.erased"]
    second = db_session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert second is not None
    assert second.detail["deleted"] == {
        "resumes": 0,
        "files": 0,
        "subscriptions": 0,
        "saved_searches": 0,
        "queued_emails": 0,
        "job_alerts": 0,
        "api_answers": 0,
    }


def test_erasure_finishes_files_left_by_a_rolled_back_attempt(
    db_session: Session, candidate: Candidate, upload_dir: Path
) -> None:
    """A resume whose file is already gone is erased without error, and other files are deleted."""
    gone = add_resume(db_session, candidate, upload_dir)
    (upload_dir / gone.storage_name).unlink()
    add_resume(db_session, candidate, upload_dir)
    erase_candidate(db_session, candidate, upload_dir=upload_dir)
    assert list(upload_dir.iterdir()) == []
    event = db_session.scalars(select(AuditEvent)).one()
    assert (event.detail["deleted"]["resumes"], event.detail["deleted"]["files"]) == (2, 1)


def test_erasure_never_uses_an_odd_storage_name_as_a_path(
    db_session: Session, candidate: Candidate, tmp_path: Path
) -> None:
    """A storage name that is not a plain token is not unlinked, so nothing outside is touched."""
    upload_dir = tmp_path / "uploads"
    upload_dir.mkdir()
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    db_session.add(
        Resume(
            candidate_id=candidate.id,
            storage_name="../precious.txt",
            original_filename="x.pdf",
            content_type="application/pdf",
            size_bytes=1,
            sha256="0" * 64,
        )
    )
    db_session.flush()
    erase_candidate(db_session, candidate, upload_dir=upload_dir)
    assert outside.read_text() == "keep me"
    assert count(db_session, Resume) == 0


def test_erased_address_can_connect_again_but_is_not_mailed(
    db_session: Session, full_candidate: Candidate, upload_dir: Path, interest: Interest
) -> None:
    """Connecting again with an erased address makes a fresh candidate; mail to it is skipped."""
    old_id = full_candidate.id
    erase_candidate(db_session, full_candidate, upload_dir=upload_dir)
    fresh, created = get_or_create_candidate(db_session, "Ana@Example.com")
    assert created is True
    assert fresh.id != old_id
    enqueue(
        db_session,
        kind=MessageKind.WELCOME,
        template="welcome",
        to_address=fresh.email,
        dedupe_key=f"welcome:{fresh.id}",
        candidate_id=fresh.id,
    )
    message = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.candidate_id == fresh.id)
    ).one()
    assert skip_reason(db_session, message) == "address is suppressed"


def test_tombstone_refuses_subscription_changes(
    db_session: Session, full_candidate: Candidate, upload_dir: Path, interest: Interest
) -> None:
    """An erased candidate cannot be subscribed again through an old reference."""
    erase_candidate(db_session, full_candidate, upload_dir=upload_dir)
    with pytest.raises(CandidateDeleted):
        subscribe(db_session, full_candidate, interest, source=ConsentSource.DASHBOARD)


def test_export_sections_keep_their_order(db_session: Session, full_candidate: Candidate) -> None:
    """The owners' sections follow the core's, emails (mailer) before job alerts (jobs)."""
    assert list(export_candidate_data(db_session, full_candidate)) == [
        "about",
        "generated_at",
        "profile",
        "subscriptions",
        "saved_searches",
        "mass_email",
        "consent_history",
        "resumes",
        "emails",
        "job_alerts",
        "api_answers",
    ]


def test_export_and_erasure_ask_every_registered_hook(
    db_session: Session,
    full_candidate: Candidate,
    upload_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A package's hook adds its export section and its erasure counts, and is told the
    candidate, every address the candidate's mail may have gone to, and the placeholder."""
    full_candidate.email = "Ana@Example.com"
    db_session.flush()
    seen: list[Erasure] = []

    def erase(session: Session, erasure: Erasure) -> dict[str, int]:
        seen.append(erasure)
        return {"notes": 2}

    hook = CandidateDataHook(
        owner="tests",
        tables=(),
        export=lambda session, candidate_id: {"notes": [{"candidate": candidate_id}]},
        erase=erase,
    )
    monkeypatch.setitem(privacy._hooks, hook.owner, hook)
    assert [h.owner for h in erasure_hooks()] == ["mailer", "jobs", "portal", "tests"]
    assert export_candidate_data(db_session, full_candidate)["notes"] == [
        {"candidate": full_candidate.id}
    ]
    placeholder = erased_address(full_candidate)
    erase_candidate(db_session, full_candidate, upload_dir=upload_dir)
    assert seen == [
        Erasure(
            full_candidate.id,
            frozenset({"Ana@Example.com", "ana@example.com", placeholder}),
            placeholder,
        )
    ]
    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "candidate.erased")
    ).one()
    assert event.detail["deleted"]["notes"] == 2
    assert event.detail["deleted"]["queued_emails"] == 1
