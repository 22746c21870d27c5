"""The retention run over a candidate's whole lifecycle, with time moved by `frozen()`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from mailer import retention as retention_run
from mailer.config import MailSettings
from mailer.eligibility import skip_reason
from mailer.models import MessageKind, OutboxMessage, OutboxStatus
from mailer.outbox import enqueue, outbox_report
from mailer.retention import ran_today, retention_context, run_retention
from portal.cli.main import cli
from portal.cli.retention import retention_task
from portal.console.imports import import_candidates
from preferences.clock import frozen
from preferences.db import make_session_factory
from preferences.models import (
    AuditEvent,
    Candidate,
    CandidateStatus,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    NoticeKind,
    RecruiterUser,
    Resume,
    RetentionNotice,
    RetentionRun,
    Suppression,
    SuppressionReason,
)
from preferences.privacy import erase_candidate
from preferences.retention import (
    RetentionPolicy,
    add_months,
    keep_candidate,
    place_hold,
    release_hold,
    touch_activity,
)
from preferences.subscriptions import get_or_create_candidate
from preferences.suppressions import suppression_reason
from tests.conftest import make_settings

T0 = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
POLICY = RetentionPolicy(months=24, repermission_days=30)
MAIL = MailSettings(
    mail_from="careers@acme.example.com",
    company_name="Acme",
    base_url="http://127.0.0.1",
    postal_address="1 Test Street",
)


@pytest.fixture
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield make_session_factory(engine)


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


def join(factory: sessionmaker[Session], email: str, at: datetime, **fields: object) -> int:
    """A candidate who joined (and confirmed) at `at`; returns their id."""
    with frozen(at), factory.begin() as session:
        candidate, _ = get_or_create_candidate(session, email, first_name="Ana", **fields)
        candidate.email_verified_at = at
        session.flush()
        return candidate.id


def run(
    factory: sessionmaker[Session],
    at: datetime,
    upload_dir: Path,
    policy: RetentionPolicy = POLICY,
    **options: object,
) -> dict[str, int]:
    with frozen(at):
        return run_retention(factory, policy, upload_dir=upload_dir, **options).counts  # type: ignore[arg-type]


def notices(factory: sessionmaker[Session], candidate_id: int) -> list[RetentionNotice]:
    with factory() as session:
        return list(
            session.scalars(
                select(RetentionNotice)
                .where(RetentionNotice.candidate_id == candidate_id)
                .order_by(RetentionNotice.id)
            )
        )


def mails(factory: sessionmaker[Session], candidate_id: int | None = None) -> list[OutboxMessage]:
    with factory() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == MessageKind.REPERMISSION)
        if candidate_id is not None:
            query = query.where(OutboxMessage.candidate_id == candidate_id)
        return list(session.scalars(query.order_by(OutboxMessage.id)))


def send_time_context(factory: sessionmaker[Session], message: OutboxMessage) -> Any:
    """What the worker would add to `message` when it sends it now."""
    with factory() as session:
        return retention_context(session, [message], MAIL)[message.id]


def candidate(factory: sessionmaker[Session], candidate_id: int) -> Candidate:
    with factory() as session:
        found = session.get(Candidate, candidate_id)
        assert found is not None
        session.expunge(found)
        return found


def test_silence_leads_to_one_request_one_reminder_then_anonymization(
    factory: sessionmaker[Session], upload_dir: Path
) -> None:
    """Sign-up, 23 months of silence, re-permission, reminder, expiry, anonymization: each
    step once, whatever the number of runs, and nothing of the person left but a tombstone."""
    cid = join(factory, "ana@example.com", T0)
    (upload_dir / ("a" * 32)).write_bytes(b"%PDF-1.4 resume")
    with factory.begin() as session:
        session.add(
            Resume(
                candidate_id=cid,
                storage_name="a" * 32,
                original_filename="cv.pdf",
                content_type="application/pdf",
                size_bytes=15,
                sha256="0" * 64,
            )
        )

    # Nothing to do for a year and a half.
    assert run(factory, add_months(T0, 18), upload_dir)["repermission_queued"] == 0
    assert notices(factory, cid) == []

    # 30 days before expiry (23 months in): asked once.
    expiry = add_months(T0, 24)
    day = expiry - timedelta(days=30)
    assert run(factory, day - timedelta(hours=1), upload_dir)["repermission_queued"] == 0
    counts = run(factory, day, upload_dir)
    assert counts["repermission_queued"] == 1
    assert run(factory, day + timedelta(hours=2), upload_dir)["repermission_queued"] == 0
    [asked] = notices(factory, cid)
    assert (asked.kind, asked.based_on, asked.expires_at) == (NoticeKind.REPERMISSION, T0, expiry)
    [mail] = mails(factory, cid)
    assert mail.template == "repermission"
    assert mail.dedupe_key == f"retention:{asked.id}"
    context = send_time_context(factory, mail)
    assert context["expires_on"] == expiry.date().isoformat()
    assert context["reminder"] is False
    assert context["keep_url"]["signed_link"]["purpose"] == "retention-stay"
    assert context["preferences_url"]["signed_link"]["purpose"] == "preferences"
    with factory() as session:
        assert skip_reason(session, session.get(OutboxMessage, mail.id)) is None  # type: ignore[arg-type]

    # 7 days before expiry: one reminder.
    remind_day = expiry - timedelta(days=6)
    assert run(factory, remind_day, upload_dir)["reminders_queued"] == 1
    assert run(factory, remind_day + timedelta(days=1), upload_dir)["reminders_queued"] == 0
    assert [n.kind for n in notices(factory, cid)] == [NoticeKind.REPERMISSION, NoticeKind.REMINDER]
    reminder = mails(factory, cid)[-1]
    assert send_time_context(factory, reminder)["reminder"] is True

    # Not a moment before expiry...
    assert run(factory, expiry - timedelta(minutes=1), upload_dir)["anonymized"] == 0
    assert candidate(factory, cid).status is CandidateStatus.ACTIVE
    # ...and at expiry, anonymized once.
    assert run(factory, expiry + timedelta(hours=1), upload_dir)["anonymized"] == 1
    assert run(factory, expiry + timedelta(days=1), upload_dir)["anonymized"] == 0
    gone = candidate(factory, cid)
    assert gone.status is CandidateStatus.DELETED
    assert gone.email == f"erased-{gone.public_id}@invalid"
    assert (gone.first_name, gone.phone_e164, gone.location) == ("", None, None)
    assert not (upload_dir / ("a" * 32)).exists()
    assert all(n.expired_at is not None for n in notices(factory, cid))
    with factory() as session:
        assert suppression_reason(session, "ana@example.com") is SuppressionReason.RETENTION_EXPIRED
        assert session.scalar(select(func.count()).select_from(Resume)) == 0
        audits = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "candidate.anonymized")
        ).all()
        assert [(a.subject, a.actor, a.detail["reason"]) for a in audits] == [
            (gone.public_id, "system", "retention_expired")
        ]
        # Pending mail to the person went with them.
        assert (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.candidate_id == cid, OutboxMessage.status == OutboxStatus.PENDING
                )
            )
            == 0
        )
        runs = session.scalars(select(RetentionRun).order_by(RetentionRun.id)).all()
        assert all(r.finished_at is not None and r.error is None for r in runs)
        assert session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "retention.run")
        ) == len(runs)


def test_answering_keeps_the_person_and_starts_a_new_period(
    factory: sessionmaker[Session], upload_dir: Path
) -> None:
    """Keep me: a consent event, a new last activity, no reminder, no anonymization; the
    next request comes 24 months after the answer."""
    cid = join(factory, "ben@example.com", T0)
    asked_on = add_months(T0, 23) + timedelta(days=10)
    run(factory, asked_on, upload_dir)
    answered = asked_on + timedelta(days=3)
    with frozen(answered), factory.begin() as session:
        person = session.get(Candidate, cid)
        assert person is not None
        keep_candidate(
            session, person, wording_version="retention_stay.en.1", ip_address="192.0.2.7"
        )
    person = candidate(factory, cid)
    assert person.last_active_at == answered
    assert notices(factory, cid)[0].answered_at == answered
    with factory() as session:
        event = session.scalars(
            select(ConsentEvent).where(ConsentEvent.scope == ConsentScope.RETENTION)
        ).one()
        assert (event.source, event.ip_address) == (ConsentSource.REPERMISSION, "192.0.2.7")

    expiry = add_months(T0, 24)
    counts = run(factory, expiry + timedelta(days=1), upload_dir)
    assert (counts["reminders_queued"], counts["anonymized"]) == (0, 0)
    assert candidate(factory, cid).status is CandidateStatus.ACTIVE
    next_ask = add_months(answered, 24) - timedelta(days=30)
    assert run(factory, next_ask - timedelta(days=1), upload_dir)["repermission_queued"] == 0
    later = run(factory, next_ask, upload_dir)
    assert later["repermission_queued"] == 1
    assert [n.based_on for n in notices(factory, cid)] == [T0, answered]


def test_activity_after_the_request_also_cancels_expiry(
    factory: sessionmaker[Session], upload_dir: Path
) -> None:
    """Signing in (any activity) after being asked starts a new period: no anonymization."""
    cid = join(factory, "cat@example.com", T0)
    run(factory, add_months(T0, 23) + timedelta(days=10), upload_dir)
    with frozen(add_months(T0, 23) + timedelta(days=20)), factory.begin() as session:
        touch_activity(session, cid)
    assert run(factory, add_months(T0, 25), upload_dir)["anonymized"] == 0
    assert candidate(factory, cid).status is CandidateStatus.ACTIVE


def test_someone_already_past_expiry_is_asked_first_and_given_the_full_notice(
    factory: sessionmaker[Session], upload_dir: Path
) -> None:
    """When retention starts on an old pool, the long-silent are asked, not anonymized at
    once: their expiry is REPERMISSION_DAYS after the request."""
    cid = join(factory, "dan@example.com", T0)
    first = add_months(T0, 30)
    counts = run(factory, first, upload_dir)
    assert (counts["repermission_queued"], counts["anonymized"]) == (1, 0)
    assert notices(factory, cid)[0].expires_at == first + timedelta(days=30)
    assert run(factory, first + timedelta(days=29), upload_dir)["anonymized"] == 0
    assert run(factory, first + timedelta(days=30, hours=1), upload_dir)["anonymized"] == 1


def test_a_legal_hold_stops_expiry_until_released(
    factory: sessionmaker[Session], upload_dir: Path
) -> None:
    """A held candidate is neither asked nor anonymized, and counts as held; released, the
    next run asks them."""
    cid = join(factory, "eve@example.com", T0)
    with factory.begin() as session:
        admin = RecruiterUser(email="admin@acme.example.com", role="admin")
        session.add(admin)
        session.flush()
        admin_id = admin.id
        person = session.get(Candidate, cid)
        assert person is not None
        place_hold(session, person, reason="Pending litigation 2025-17", recruiter_id=admin_id)
    late = add_months(T0, 26)
    counts = run(factory, late, upload_dir)
    assert (counts["repermission_queued"], counts["anonymized"], counts["held"]) == (0, 0, 1)
    with factory.begin() as session:
        person = session.get(Candidate, cid)
        assert person is not None
        assert release_hold(session, person, recruiter_id=admin_id) is True
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject == person.public_id)
        ).all()
        assert actions == ["candidate.hold_placed", "candidate.hold_released"]
    assert run(factory, late + timedelta(days=1), upload_dir)["repermission_queued"] == 1


def test_a_country_period_applies_when_the_country_is_known(
    factory: sessionmaker[Session], upload_dir: Path
) -> None:
    """RETENTION_MONTHS_BY_COUNTRY: a German phone means 6 months; an unknown country, the
    default 24."""
    policy = RetentionPolicy(months=24, by_country={"DE": 6}, repermission_days=30)
    german = join(factory, "fritz@example.com", T0, phone_e164="+4930123456")
    somewhere = join(factory, "gil@example.com", T0)
    assert candidate(factory, german).country == "DE"
    counts = run(factory, add_months(T0, 6) - timedelta(days=30), upload_dir, policy)
    assert counts["repermission_queued"] == 1
    assert [m.candidate_id for m in mails(factory)] == [german]
    assert notices(factory, german)[0].expires_at == add_months(T0, 6)
    assert notices(factory, somewhere) == []


def test_a_dry_run_counts_and_changes_nothing(
    factory: sessionmaker[Session], upload_dir: Path
) -> None:
    """--dry-run: the counts a real run would have, and no notice, mail or run row."""
    for n in range(3):
        join(factory, f"p{n}@example.com", T0)
    counts = run(factory, add_months(T0, 24), upload_dir, dry_run=True)
    assert counts["repermission_queued"] == 3
    assert mails(factory) == []
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(RetentionRun)) == 0
        assert session.scalar(select(func.count()).select_from(RetentionNotice)) == 0


def test_a_run_that_dies_midway_resumes_without_asking_anyone_twice(
    factory: sessionmaker[Session], upload_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after the first chunk: the next run asks the rest, and everyone exactly once."""
    ids = [join(factory, f"q{n}@example.com", T0) for n in range(7)]
    monkeypatch.setattr(retention_run, "CHUNK", 3)

    def die(step: str, done: int, total: int) -> None:
        raise RuntimeError("worker killed")

    day = add_months(T0, 24)
    with frozen(day), pytest.raises(RuntimeError):
        run_retention(factory, POLICY, upload_dir=upload_dir, on_progress=die)
    assert len(mails(factory)) == 3
    with factory() as session:
        crashed = session.scalars(select(RetentionRun)).one()
        assert crashed.error is not None and "worker killed" in crashed.error
    assert run(factory, day, upload_dir)["repermission_queued"] == 4
    assert sorted(m.candidate_id for m in mails(factory)) == sorted(ids)
    assert all(len(notices(factory, cid)) == 1 for cid in ids)


def test_an_anonymized_address_is_refused_to_imports_but_may_join_again_itself(
    factory: sessionmaker[Session], upload_dir: Path
) -> None:
    """retention_expired: an import skips the address with the reason; the person's own new
    sign-up gets its confirmation mail, and confirming lifts the suppression. An erasure's
    suppression is not lifted that way."""
    join(factory, "hana@example.com", T0)
    run(factory, add_months(T0, 24), upload_dir)
    run(factory, add_months(T0, 24) + timedelta(days=31), upload_dir)

    with factory.begin() as session:
        report = import_candidates(
            session, b"email,first_name\nhana@example.com,Hana\n", "pool.csv"
        )
        assert report.skipped and "retention period" in report.skipped[0][1]
        assert (
            session.scalar(
                select(func.count()).select_from(Candidate).where(Candidate.status == "active")
            )
            == 0
        )

    with factory.begin() as session:
        fresh, created = get_or_create_candidate(session, "Hana@example.com")
        assert created
        enqueue(
            session,
            kind=MessageKind.CONFIRMATION,
            template="confirmation",
            to_address=fresh.email,
            dedupe_key=f"confirm:{fresh.id}",
            candidate_id=fresh.id,
        )
        enqueue(
            session,
            kind=MessageKind.WELCOME,
            template="welcome",
            to_address=fresh.email,
            dedupe_key=f"welcome:{fresh.id}",
            candidate_id=fresh.id,
        )
        queued = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.candidate_id == fresh.id)
            .order_by(OutboxMessage.id)
        ).all()
        assert [skip_reason(session, m) for m in queued] == [None, "address is suppressed"]
        fresh.email_verified_at = datetime.now(UTC)
        session.flush()
        assert suppression_reason(session, "hana@example.com") is None

    with factory.begin() as session:
        other, _ = get_or_create_candidate(session, "ivo@example.com")
        erase_candidate(session, other, upload_dir=upload_dir)
        again, _ = get_or_create_candidate(session, "ivo@example.com")
        again.email_verified_at = datetime.now(UTC)
        session.flush()
        assert suppression_reason(session, "ivo@example.com") is SuppressionReason.ERASURE


def test_reports_keep_their_numbers_after_anonymization(
    factory: sessionmaker[Session], upload_dir: Path
) -> None:
    """Mail sent to a person before they expired still counts in the outbox report."""
    cid = join(factory, "jo@example.com", T0)
    with frozen(T0), factory.begin() as session:
        enqueue(
            session,
            kind=MessageKind.WELCOME,
            template="welcome",
            to_address="jo@example.com",
            dedupe_key="welcome:jo",
            candidate_id=cid,
        )
        session.execute(
            OutboxMessage.__table__.update().values(status=OutboxStatus.SENT, sent_at=T0)  # type: ignore[attr-defined]
        )
    with factory() as session:
        before = outbox_report(session).counts
    run(factory, add_months(T0, 24), upload_dir)
    with factory.begin() as session:
        session.execute(
            OutboxMessage.__table__.update()  # type: ignore[attr-defined]
            .where(OutboxMessage.kind == MessageKind.REPERMISSION)
            .values(status=OutboxStatus.SENT)
        )
    run(factory, add_months(T0, 25) + timedelta(days=2), upload_dir)
    assert candidate(factory, cid).status is CandidateStatus.DELETED
    with factory() as session:
        after = outbox_report(session).counts
        assert after["sent"] == before["sent"] + 1
        assert session.scalar(select(func.count()).select_from(Suppression)) == 1


def test_ran_today_lets_the_scheduler_run_once_a_day(
    factory: sessionmaker[Session], upload_dir: Path
) -> None:
    """The daily task's check: a finished run today counts, yesterday's and a dry run don't."""
    day = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    with factory() as session:
        assert not ran_today(session, day)
    run(factory, day - timedelta(days=1), upload_dir)
    run(factory, day, upload_dir, dry_run=True)
    with factory() as session:
        assert not ran_today(session, day)
    run(factory, day.replace(hour=1), upload_dir)
    with factory() as session:
        assert ran_today(session, day)
        assert not ran_today(session, day + timedelta(days=1))


def test_cli_prints_what_a_dry_run_would_do_and_a_run_did(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """`talentconnect retention run [--dry-run]`: the counts and the policy in force."""

    factory = make_session_factory(engine)
    join(factory, "lu@example.com", datetime(2020, 1, 1, tzinfo=UTC))
    env = {
        "TALENTCONNECT_DATABASE_URL": database_url,
        "TALENTCONNECT_INSTANCE_DIR": str(tmp_path / "instance"),
        "TALENTCONNECT_RETENTION_MONTHS_BY_COUNTRY": "fr=12",
    }
    runner = CliRunner()
    dry = runner.invoke(cli, ["retention", "run", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "Dry run: nothing was changed." in dry.output
    assert "re-permission emails to queue: 1" in dry.output
    assert "24 months after last activity (FR=12)" in dry.output
    real = runner.invoke(cli, ["retention", "run"], env=env)
    assert real.exit_code == 0, real.output
    assert "re-permission emails queued: 1" in real.output
    again = runner.invoke(cli, ["retention", "run"], env=env)
    assert "re-permission emails queued: 0" in again.output
    bad = runner.invoke(
        cli, ["retention", "run"], env={**env, "TALENTCONNECT_RETENTION_MONTHS_BY_COUNTRY": "FR"}
    )
    assert bad.exit_code != 0
    assert "COUNTRY=MONTHS" in str(bad.exception) + bad.output


def test_the_scheduler_task_runs_once_a_day(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """The leader's hourly retention task runs the first time in a day, then waits a day."""

    factory = make_session_factory(engine)
    task = retention_task(make_settings(tmp_path, database_url))
    day = datetime(2026, 5, 5, 8, 0, tzinfo=UTC)
    with frozen(day):
        assert task.run(factory) is not None
        assert task.run(factory) is None
    with frozen(day + timedelta(days=1)):
        assert task.run(factory) is not None
    with factory() as session:
        triggers = session.scalars(select(RetentionRun.trigger)).all()
    assert triggers == ["scheduler", "scheduler"]


def test_an_imported_pool_counts_from_its_recorded_consent(
    factory: sessionmaker[Session], upload_dir: Path
) -> None:
    """A new candidate from an import is as old as the consent the file records, so an old
    pool is asked soon; an existing member's last activity is left alone."""
    member = join(factory, "old@example.com", T0)
    at = add_months(T0, 30)
    with frozen(at), factory.begin() as session:
        import_candidates(
            session,
            b"email,first_name,consent_at,mass_email\n"
            b"new@example.com,New,2024-01-01T10:00:00Z,yes\n"
            b"old@example.com,Old,2024-01-01T10:00:00Z,yes\n",
            "pool.csv",
        )
    with factory() as session:
        added = session.scalars(select(Candidate).where(Candidate.email == "new@example.com")).one()
        assert added.last_active_at == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    assert candidate(factory, member).last_active_at == T0
    assert run(factory, at, upload_dir)["repermission_queued"] == 2


def test_activity_keeps_updated_at_so_a_sign_in_link_stays_valid(
    factory: sessionmaker[Session],
) -> None:
    """touch_activity moves last_active_at only: updated_at (which sign-in links are
    stamped with) stays."""
    cid = join(factory, "pat@example.com", T0)
    with frozen(T0 + timedelta(days=3)), factory.begin() as session:
        touch_activity(session, cid)
    touched = candidate(factory, cid)
    assert touched.last_active_at == T0 + timedelta(days=3)
    assert touched.updated_at == T0


def test_a_queued_email_is_skipped_once_answered_or_overtaken(
    factory: sessionmaker[Session], upload_dir: Path
) -> None:
    """The context is made at send time: a reminder queued before the person answered, or
    one whose person has been active since, is skipped instead of sent."""
    answered = join(factory, "ro@example.com", T0)
    active = join(factory, "sy@example.com", T0)
    expiry = add_months(T0, 24)
    run(factory, expiry - timedelta(days=30), upload_dir)
    run(factory, expiry - timedelta(days=6), upload_dir)
    with frozen(expiry - timedelta(days=5)), factory.begin() as session:
        person = session.get(Candidate, answered)
        assert person is not None
        keep_candidate(session, person, wording_version="retention_stay.en.1")
        touch_activity(session, active)
    assert [send_time_context(factory, m) for m in mails(factory, answered)] == [
        "the candidate already answered",
        "the candidate already answered",
    ]
    assert send_time_context(factory, mails(factory, active)[-1]) == (
        "the candidate was active since it was queued"
    )
