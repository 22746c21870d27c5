"""Job and candidate imports: all or nothing, every bad row reported, updates and idempotency."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs.models import JobPosting
from portal.console.imports import ImportRejected, import_candidates, import_jobs
from preferences.models import (
    Candidate,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Interest,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from preferences.privacy import erase_candidate
from preferences.subscriptions import unsubscribe
from preferences.suppressions import suppress
from tests.portal.helpers import add_interest, add_job

JOB_HEADER = "reference,title,description,location,apply_url,interests,posted_at\n"
CANDIDATE_HEADER = (
    "email,first_name,last_name,phone,interests,mass_email,consent_source,consent_at\n"
)


@pytest.fixture
def interests(db_session: Session) -> dict[str, Interest]:
    return {
        "eng": add_interest(db_session, "Engineering", slug="engineering"),
        "design": add_interest(db_session, "Product Design", slug="design"),
    }


def jobs_in(session: Session) -> dict[str, JobPosting]:
    return {j.reference: j for j in session.scalars(select(JobPosting))}


def count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def rejected(call: object) -> list[tuple[int, str]]:
    assert callable(call)
    with pytest.raises(ImportRejected) as info:
        call()
    return info.value.errors


# --- jobs ----------------------------------------------------------------------------


def test_csv_creates_postings_with_interests_by_name_or_slug(
    db_session: Session, interests: dict[str, Interest]
) -> None:
    """A good CSV creates each posting, tags interests named by name or slug, parses posted_at."""
    data = (
        JOB_HEADER
        + "R-1,Backend Engineer,Build APIs,Berlin,https://ats.example.com/r1,"
        + "engineering;product design,2026-11-02T09:30:00+01:00\n"
        + 'R-2,Designer,"Two\nlines",Remote,https://ats.example.com/r2,Design,2026-11-03\n'
    ).encode()
    report = import_jobs(db_session, data, "jobs.csv")
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    jobs = jobs_in(db_session)
    assert {i.slug for i in jobs["R-1"].interests} == {"engineering", "design"}
    assert jobs["R-1"].posted_at == datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    assert jobs["R-2"].posted_at == datetime(2026, 11, 3, tzinfo=UTC)
    assert jobs["R-2"].description == "Two\nlines"


def test_same_reference_updates_the_posting(
    db_session: Session, interests: dict[str, Interest]
) -> None:
    """Importing a reference again updates that posting; an identical row counts as unchanged."""
    existing = add_job(db_session, "Old title", reference="R-1", interests=[interests["design"]])
    data = (
        JOB_HEADER
        + "R-1,New title,,Lisbon,https://ats.example.com/r1,engineering,\n"
        + "R-2,Other,,,https://ats.example.com/r2,,\n"
    ).encode()
    report = import_jobs(db_session, data, "jobs.csv")
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    assert count(db_session, JobPosting) == 2
    assert existing.title == "New title"
    assert existing.location == "Lisbon"
    assert [i.slug for i in existing.interests] == ["engineering"]
    again = import_jobs(db_session, data, "jobs.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_every_bad_row_is_reported_and_nothing_is_stored(
    db_session: Session, interests: dict[str, Interest]
) -> None:
    """A file with bad rows stores nothing (not even its good rows) and names each bad line."""
    kept = add_job(db_session, "Keep me", reference="R-OLD")
    data = (
        JOB_HEADER
        + "R-OLD,Changed,,,https://ats.example.com/old,,\n"  # 2: good, but must not apply
        + "R-3,Engineer,,,https://ats.example.com/3,Astronomy,\n"  # 3: unknown interest
        + "R-4,,,,https://ats.example.com/4,,\n"  # 4: missing title
        + "R-5,Engineer,,,http://ats.example.com/5,,\n"  # 5: not https
        + "R-6,Engineer,,,https://ats.example.com/6,,yesterday\n"  # 6: bad date
        + "R-7,Engineer,,,https://ats.example.com/7,,\n"  # 7: good
        + "R-7,Engineer again,,,https://ats.example.com/7b,,\n"  # 8: repeated reference
        + "R-9,Engineer,,,https://ats.example.com/9\n"  # 9: too few fields
        + ",Engineer,,,not a url,,\n"  # 10: two problems
    ).encode()
    errors = rejected(lambda: import_jobs(db_session, data, "jobs.csv"))
    assert [line for line, _ in errors] == [3, 4, 5, 6, 8, 9, 10, 10]
    reasons = dict(errors[:6])
    assert "unknown interest 'Astronomy'" in reasons[3]
    assert reasons[4] == "title: is required"
    assert "is not an https:// URL" in reasons[5]
    assert "'yesterday' is not an ISO 8601 date" in reasons[6]
    assert reasons[8] == "reference 'R-7' is repeated (line 7)"
    assert reasons[9] == "has 5 fields, the header has 7"
    assert {r for line, r in errors if line == 10} == {
        "reference: is required",
        "apply_url: 'not a url' is not an https:// URL",
    }
    assert set(jobs_in(db_session)) == {"R-OLD"}
    assert kept.title == "Keep me"


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"ref,title\nR-1,x\n", "jobs.csv", (1, "wrong header: unknown column(s) 'ref'")),
        (b"reference,title\nR-1,x\n", "jobs.csv", (1, "wrong header: missing column(s) apply_url")),
        (b"reference,title,apply_url\n\xff\xfeR\n", "jobs.csv", (2, "not UTF-8")),
        (b"PK\x03\x04...", "jobs.xlsx", (1, ".xlsx files can't be imported")),
        (b"  \n", "jobs.csv", (1, "the file is empty")),
        (JOB_HEADER.encode(), "jobs.csv", (1, "the file has a header but no rows")),
        (b'[{"reference": "R-1",\n "title": }]', "jobs.json", (2, "not valid JSON")),
        (b'{"reference": "R-1"}', "jobs.json", (1, "must be a list of objects")),
        (b"[\n" + b"[" * 100_000, "jobs.json", (2, "not valid JSON: nested too deeply")),
    ],
)
def test_file_level_problems_are_rejected_with_a_line(
    db_session: Session, data: bytes, filename: str, expected: tuple[int, str]
) -> None:
    """Wrong header, non-UTF-8 bytes, other formats, empty files and broken JSON name a line."""
    errors = rejected(lambda: import_jobs(db_session, data, filename))
    assert len(errors) == 1
    assert errors[0][0] == expected[0]
    assert expected[1] in errors[0][1]
    assert count(db_session, JobPosting) == 0


def test_json_import_takes_lists_and_reports_the_line_of_each_bad_object(
    db_session: Session, interests: dict[str, Interest]
) -> None:
    """JSON objects import like rows; a bad object is reported at the line it starts on."""
    good = [
        {
            "reference": "J-1",
            "title": "Engineer",
            "apply_url": "https://ats.example.com/j1",
            "interests": ["engineering", "Product Design"],
        }
    ]
    report = import_jobs(db_session, json.dumps(good).encode(), "jobs.json")
    assert report.created == 1
    assert {i.slug for i in jobs_in(db_session)["J-1"].interests} == {"engineering", "design"}
    bad = (
        b"[\n"
        b'  {"reference": "J-2", "title": "Ok", "apply_url": "https://a.example.com/"},\n'
        b'  {"reference": "J-3", "title": 5, "apply_url": "https://a.example.com/",\n'
        b'   "salary": "lots"},\n'
        b"  7\n"
        b"]\n"
    )
    errors = rejected(lambda: import_jobs(db_session, bad, "jobs.json"))
    assert errors == [
        (3, "salary: is not a known field"),
        (3, "title: must be text"),
        (5, "each element of the list must be an object"),
    ]
    assert set(jobs_in(db_session)) == {"J-1"}


def test_retired_interests_are_refused(db_session: Session, interests: dict[str, Interest]) -> None:
    """A posting can't be tagged with a retired interest; the reason says so."""
    interests["design"].status = interests["design"].status.RETIRED
    db_session.flush()
    data = (JOB_HEADER + "R-1,Designer,,,https://ats.example.com/1,design,\n").encode()
    errors = rejected(lambda: import_jobs(db_session, data, "jobs.csv"))
    assert errors == [(2, "interests: interest 'design' is retired")]


# --- candidates ----------------------------------------------------------------------


def candidates_csv(*rows: str) -> bytes:
    return (CANDIDATE_HEADER + "".join(r + "\n" for r in rows)).encode()


def events_of(session: Session, candidate: Candidate) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.candidate_id == candidate.id)
            .order_by(ConsentEvent.id)
        )
    )


def test_candidates_import_records_consent_with_source_import_and_the_given_time(
    db_session: Session, interests: dict[str, Interest]
) -> None:
    """New candidates get confirmed subscriptions, mass-email opt-in and dated import consent."""
    data = candidates_csv(
        "Ana@Example.COM,Ana,Lima,+44 20 7946 0958,engineering;Product Design,yes,"
        "Career fair 2024,2024-05-01T10:00:00Z",
        "bo@example.com,Bo,,(201) 555-0123,,no,,",
    )
    report = import_candidates(db_session, data, "pool.csv", phone_region="US")
    assert (report.created, report.updated, report.unchanged, report.skipped) == (2, 0, 0, [])
    ana = db_session.scalars(select(Candidate).where(Candidate.email == "ana@example.com")).one()
    assert ana.phone_e164 == "+442079460958"
    subs = db_session.scalars(select(Subscription).where(Subscription.candidate_id == ana.id))
    assert {s.status for s in subs} == {SubscriptionStatus.SUBSCRIBED}
    status = db_session.get(MassEmailStatus, ana.id)
    assert status is not None and status.status is MassEmail.OPTED_IN
    events = events_of(db_session, ana)
    assert len(events) == 3
    assert {e.source for e in events} == {ConsentSource.IMPORT}
    assert {e.occurred_at for e in events} == {datetime(2024, 5, 1, 10, tzinfo=UTC)}
    assert {e.detail["consent_source"] for e in events} == {"Career fair 2024"}
    assert sorted(e.scope for e in events) == [
        ConsentScope.INTEREST,
        ConsentScope.INTEREST,
        ConsentScope.MASS_EMAIL,
    ]
    bo = db_session.scalars(select(Candidate).where(Candidate.email == "bo@example.com")).one()
    assert bo.phone_e164 == "+12015550123"
    assert events_of(db_session, bo) == []
    assert db_session.get(MassEmailStatus, bo.id) is None


def test_candidates_import_is_idempotent_and_respects_later_choices(
    db_session: Session, interests: dict[str, Interest]
) -> None:
    """Importing again changes nothing; an unsubscribe made since is never undone."""
    row = "ana@example.com,Ana,,,engineering,yes,CRM,2024-05-01"
    import_candidates(db_session, candidates_csv(row), "pool.csv")
    before = count(db_session, ConsentEvent)
    again = import_candidates(db_session, candidates_csv(row), "pool.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert count(db_session, ConsentEvent) == before
    ana = db_session.scalars(select(Candidate)).one()
    unsubscribe(db_session, ana, interests["eng"], source=ConsentSource.PREFERENCE_CENTER)
    third = import_candidates(
        db_session,
        candidates_csv("ANA@example.com,Ana,Lima,,engineering;design,yes,CRM,2024-05-01"),
        "pool.csv",
    )
    assert (third.created, third.updated) == (0, 1)
    subs = {
        s.interest_id: s.status
        for s in db_session.scalars(select(Subscription).where(Subscription.candidate_id == ana.id))
    }
    assert subs == {
        interests["eng"].id: SubscriptionStatus.UNSUBSCRIBED,
        interests["design"].id: SubscriptionStatus.SUBSCRIBED,
    }
    assert ana.last_name == "Lima"
    assert count(db_session, Candidate) == 1


def test_suppressed_and_erased_addresses_are_skipped_not_imported(
    db_session: Session, interests: dict[str, Interest], tmp_path: Path
) -> None:
    """A suppressed or erased address is reported as skipped with the reason and never created."""
    suppress(db_session, "bounced@example.com", SuppressionReason.HARD_BOUNCE)
    gone = Candidate(email="gone@example.com", first_name="Gone")
    db_session.add(gone)
    db_session.flush()
    erase_candidate(db_session, gone, upload_dir=tmp_path)
    data = candidates_csv(
        "bounced@example.com,B,,,engineering,yes,CRM,2024-05-01",
        "Gone@example.com,G,,,engineering,yes,CRM,2024-05-01",
        "new@example.com,N,,,engineering,no,CRM,2024-05-01",
    )
    report = import_candidates(db_session, data, "pool.csv")
    assert report.created == 1
    assert report.skipped == [
        (2, "bounced@example.com: the address bounced"),
        (3, "gone@example.com: the person's data was erased at their request"),
    ]
    emails = set(db_session.scalars(select(Candidate.email)))
    assert "bounced@example.com" not in emails
    assert "gone@example.com" not in emails
    assert "new@example.com" in emails


def test_bad_candidate_rows_are_all_reported_and_nothing_is_stored(
    db_session: Session, interests: dict[str, Interest]
) -> None:
    """Each bad candidate row is named with its line and reason; the good rows are not stored."""
    data = candidates_csv(
        "ok@example.com,Ok,,,engineering,yes,CRM,2024-05-01",  # 2: good
        "not-an-address,X,,,,no,,",  # 3
        "p@example.com,P,,12,,no,,",  # 4
        "m@example.com,M,,,,maybe,,",  # 5
        "c@example.com,C,,,engineering,no,CRM,",  # 6
        "f@example.com,F,,,,yes,CRM,2999-01-01",  # 7
        "OK@example.com,Dup,,,,no,,",  # 8
        "i@example.com,I,,,Astronomy,no,CRM,2024-05-01",  # 9
    )
    errors = rejected(lambda: import_candidates(db_session, data, "pool.csv"))
    by_line = dict(errors)
    assert [line for line, _ in errors] == [3, 4, 5, 6, 7, 8, 9]
    assert by_line[3].startswith("email: 'not-an-address' is not a valid address")
    assert by_line[4] == "phone: '12' is not a phone number (add the country code)"
    assert by_line[5] == "mass_email: 'maybe' must be yes or no"
    assert by_line[6].startswith("consent_at: is required")
    assert by_line[7] == "consent_at: '2999-01-01' is in the future"
    assert by_line[8] == "email 'ok@example.com' is repeated (line 2)"
    assert by_line[9] == "interests: unknown interest 'Astronomy'"
    assert count(db_session, Candidate) == 0
    assert count(db_session, ConsentEvent) == 0
