"""Saved searches in alert runs, on SQLite and PostgreSQL: matched in SQL beside interests,
one digest per candidate, each job once with every reason, never twice across runs."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from jobs.alerts import preview_schedule, run_instant, run_schedule
from jobs.digests import DigestJob, digest_context
from jobs.models import AlertSchedule, FrequencyClass
from jobs.models import JobPosting as Job
from jobs.posting_fields import EmploymentType, Workplace
from jobs.run_reports import alert_run_send_report
from jobs.search_criteria import SearchCriteria, criteria_key
from mailer.config import SmtpTarget
from mailer.eligibility import skip_reason
from mailer.models import MessageKind, OutboxMessage
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from portal.schema import metadata
from preferences.clock import FrozenClock, frozen
from preferences.db import (
    WriteMode,
    make_engine,
    make_session_factory,
    reset_write_mode,
    session_scope,
    set_write_mode,
    wrote_in_transaction,
)
from preferences.lists import one_click_unsubscribe, read_one_click_link
from preferences.models import (
    Candidate,
    CandidateStatus,
    Frequency,
    Interest,
    SavedSearch,
    Subscription,
    SubscriptionStatus,
)

from .support import T0
from .test_alerts import KEYS, MAIL, World, all_listed, digests

# Fixtures shared with test_alerts.
from .test_alerts import clock as clock
from .test_alerts import sessions as sessions
from .test_alerts import world as world

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
LAST_RUN = T0 - DAY


@dataclass(frozen=True)
class Searches:
    """Builds candidates with saved searches and jobs with the fields searches filter on."""

    world: World

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.world.sessions

    def person(
        self,
        email: str,
        *,
        interests: list[str] | None = None,
        status: CandidateStatus = CandidateStatus.ACTIVE,
    ) -> int:
        return self.world.person(email, interests or [], status=status)

    def search(
        self,
        candidate_id: int,
        q: str = "",
        *,
        location: str = "",
        workplace: Workplace | None = None,
        employment_type: EmploymentType | None = None,
        interest: str = "",
        **fields: Any,
    ) -> int:
        """Commit a saved search (default: subscribed, daily, alerted LAST_RUN)."""
        criteria = SearchCriteria(
            q=q,
            location=location,
            workplace=workplace,
            employment_type=employment_type,
            interest=interest,
        )
        values: dict[str, Any] = {
            "status": SubscriptionStatus.SUBSCRIBED,
            "frequency": Frequency.DAILY,
            "last_alerted_at": LAST_RUN,
            "created_at": T0 - 30 * DAY,
            **fields,
        }
        with session_scope(self.sessions) as session:
            row = SavedSearch(
                candidate_id=candidate_id,
                criteria_key=criteria_key(criteria),
                query=q,
                location=location,
                workplace=workplace.value if workplace else None,
                employment_type=employment_type.value if employment_type else None,
                interest_id=self.world.interest(interest) if interest else None,
                **values,
            )
            session.add(row)
            session.flush()
            return row.id

    def job(
        self,
        title: str,
        *,
        description: str = "",
        location: str = "",
        workplace: Workplace | None = None,
        employment_type: EmploymentType | None = None,
        language: str | None = None,
        slugs: list[str] | None = None,
        age: timedelta = HOUR,
        closed_in: timedelta | None = None,
    ) -> int:
        """Commit a job posted `age` before T0."""
        with session_scope(self.sessions) as session:
            job = Job(
                reference=f"S-{title}-{age.total_seconds()}-{location}-{language}",
                title=title,
                description=description,
                location=location,
                workplace=workplace,
                employment_type=employment_type,
                language=language,
                apply_url="https://jobs.example.com/apply",
                posted_at=T0 - age,
                closed_at=T0 + closed_in if closed_in is not None else None,
                interests=[session.get_one(Interest, self.world.interest(s)) for s in slugs or []],
            )
            session.add(job)
            session.flush()
            return job.id

    def daily(self, **kwargs: Any) -> int:
        return self.world.schedule(**kwargs)


@pytest.fixture
def s(world: World) -> Searches:
    return Searches(world)


def listed(s: Searches, candidate_id: int) -> list[int]:
    return list(digests(s.sessions).get(candidate_id, {}).get("job_ids", []))


def rendered(s: Searches, candidate_id: int) -> dict[str, Any] | str:
    """The digest's send-time context (what the templates read) for one candidate."""
    with s.sessions() as session:
        message = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == MessageKind.JOB_ALERT,
                OutboxMessage.candidate_id == candidate_id,
            )
        ).one()
        return digest_context(session, [message], MAIL)[message.id]


def test_a_search_only_digest_lists_its_jobs_and_names_the_search(s: Searches) -> None:
    """A candidate with a saved search and no interest gets a digest scoped to that search."""
    ana = s.person("ana@example.com")
    search = s.search(ana, "python", location="Berlin")
    job = s.job("Python developer", location="Berlin, Germany")
    s.job("Python developer", location="Munich, Germany")
    s.job("Java developer", location="Berlin, Germany")
    summary = run_schedule(s.sessions, s.daily())
    assert summary.digests_queued == 1 and summary.jobs_listed == 1
    context = digests(s.sessions)[ana]
    assert context["job_ids"] == [job]
    assert context["interest_ids"] == [] and "interest_id" not in context
    assert context["search_ids"] == [search]
    assert context["job_searches"] == {str(job): [search]}
    extra = rendered(s, ana)
    assert isinstance(extra, dict)
    assert extra["jobs"] == [
        DigestJob(
            "Python developer",
            "Berlin, Germany",
            f"{MAIL.base_url}/jobs/{job}",
            [],
            ["your search “python” in Berlin"],
        )
    ]
    assert extra["reason"] == (
        "You subscribed to job alerts for your saved search “python” in Berlin at Acme."
    )
    assert extra["more_url"] == f"{MAIL.base_url}/jobs?q=python&location=Berlin"


def test_a_job_matching_an_interest_and_a_search_is_listed_once_with_both_reasons(
    s: Searches,
) -> None:
    """Interests and searches share one digest; a job they both match appears once."""
    ana = s.person("ana@example.com", interests=["eng"])
    search = s.search(ana, "python")
    both = s.job("Python engineer", slugs=["eng"])
    only_eng = s.job("Go engineer", slugs=["eng"], age=2 * HOUR)
    only_search = s.job("Python trainer", slugs=["sales"], age=3 * HOUR)
    run_schedule(s.sessions, s.daily())
    context = digests(s.sessions)[ana]
    assert context["job_ids"] == [both, only_eng, only_search]
    assert context["interest_ids"] == [s.world.interest("eng")]
    assert context["search_ids"] == [search]
    assert context["job_searches"] == {str(both): [search], str(only_search): [search]}
    assert all_listed(s.sessions)[(ana, both)] == 1
    extra = rendered(s, ana)
    assert isinstance(extra, dict)
    assert [(j.title, j.matched, j.searches) for j in extra["jobs"]] == [
        ("Python engineer", ["Engineering"], ["your search “python”"]),
        ("Go engineer", ["Engineering"], []),
        ("Python trainer", [], ["your search “python”"]),
    ]
    assert extra["reason"] == (
        "You subscribed to job alerts for Engineering and your saved search “python” at Acme."
    )


@pytest.mark.parametrize(
    ("query", "title", "description", "found"),
    [
        ("engineers", "Senior Engineer", "", True),
        ("engineering", "Engineers wanted", "", True),
        ("python backend", "Backend engineer", "You will write Python all day.", True),
        ("python backend", "Backend engineer", "You will write Go all day.", False),
        ("ZÜRICH", "Office in Zürich", "", True),
        ("kotlin", "Java developer", "", False),
    ],
)
def test_keywords_match_as_the_jobs_search_does(
    s: Searches, query: str, title: str, description: str, found: bool
) -> None:
    """Every word must be in the title or description, after the backend's stemming."""
    ana = s.person("ana@example.com")
    s.search(ana, query)
    job = s.job(title, description=description)
    run_schedule(s.sessions, s.daily())
    assert listed(s, ana) == ([job] if found else [])


# Text search configurations per language, and their stop words, are PostgreSQL's: these
# two run on PostgreSQL only (the backend fixture overridden), never skipped on SQLite.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_german_posting_is_stemmed_as_german_on_postgresql(s: Searches, engine: Engine) -> None:
    """PostgreSQL: a posting's words are stemmed under its language's configuration."""
    assert engine.dialect.name == "postgresql"
    ana = s.person("ana@example.com")
    s.search(ana, "entwicklern")
    german = s.job("Softwareentwickler", description="Wir suchen Entwickler.", language="de")
    s.job("Softwareentwickler", description="Wir suchen Entwickler.", language="en")
    run_schedule(s.sessions, s.daily())
    assert listed(s, ana) == [german]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_query_of_stop_words_only_filters_nothing_on_postgresql(
    s: Searches, engine: Engine
) -> None:
    """PostgreSQL drops stop words; a query left with no word keeps the other filters only."""
    assert engine.dialect.name == "postgresql"
    ana = s.person("ana@example.com")
    s.search(ana, "the", location="Leeds")
    leeds = s.job("Nurse", location="Leeds")
    s.job("Nurse", location="York")
    run_schedule(s.sessions, s.daily())
    assert listed(s, ana) == [leeds]


def test_each_filter_narrows_the_search(s: Searches) -> None:
    """Location (a comma part, any case), workplace, employment type and interest."""
    people = {
        name: s.person(f"{name}@example.com")
        for name in ("where", "remote", "parttime", "interest", "all")
    }
    s.search(people["where"], location="germany")
    s.search(people["remote"], workplace=Workplace.REMOTE)
    s.search(people["parttime"], employment_type=EmploymentType.PART_TIME)
    s.search(people["interest"], interest="design")
    s.search(
        people["all"],
        "designer",
        location="Berlin",
        workplace=Workplace.HYBRID,
        employment_type=EmploymentType.FULL_TIME,
        interest="design",
    )
    berlin = s.job("Designer", location="Berlin, Germany", slugs=["design"], age=HOUR)
    remote = s.job("Engineer", workplace=Workplace.REMOTE, slugs=["eng"], age=2 * HOUR)
    part = s.job("Clerk", employment_type=EmploymentType.PART_TIME, age=3 * HOUR)
    hybrid = s.job(
        "Senior designer",
        location="berlin",
        workplace=Workplace.HYBRID,
        employment_type=EmploymentType.FULL_TIME,
        slugs=["design"],
        age=4 * HOUR,
    )
    s.job(
        "Designer",
        location="Berliner Strasse, Hamburg",
        workplace=Workplace.HYBRID,
        employment_type=EmploymentType.FULL_TIME,
        slugs=["design"],
        age=5 * HOUR,
    )
    run_schedule(s.sessions, s.daily())
    assert listed(s, people["where"]) == [berlin]
    assert listed(s, people["remote"]) == [remote]
    assert listed(s, people["parttime"]) == [part]
    found = listed(s, people["interest"])
    assert berlin in found and hybrid in found and remote not in found
    assert listed(s, people["all"]) == [hybrid]


def test_unconfirmed_unsubscribed_paused_and_deleted_searches_get_nothing(s: Searches) -> None:
    """Only subscribed, unpaused searches of active candidates are served."""
    kept = s.person("kept@example.com")
    s.search(kept, "python")
    for name, fields in {
        "unconfirmed": {"status": SubscriptionStatus.UNCONFIRMED},
        "left": {"status": SubscriptionStatus.UNSUBSCRIBED},
        "paused": {"paused_until": T0 + DAY},
    }.items():
        s.search(s.person(f"{name}@example.com"), "python", **fields)
    gone = s.person("gone@example.com", status=CandidateStatus.DELETED)
    s.search(gone, "python")
    s.search(s.person("resumed@example.com"), "python", paused_until=T0 - HOUR)
    s.job("Python developer")
    run_schedule(s.sessions, s.daily())
    with s.sessions() as session:
        emails = set(
            session.scalars(
                select(Candidate.email).where(Candidate.id.in_(list(digests(s.sessions))))
            )
        )
    assert emails == {"kept@example.com", "resumed@example.com"}


def test_only_jobs_new_since_the_last_alert_and_open_are_listed(s: Searches) -> None:
    """The threshold is last_alerted_at (else created_at); closed jobs are left out."""
    ana = s.person("ana@example.com")
    s.search(ana, "python")
    new = s.job("Python developer", age=HOUR)
    s.job("Python old", age=2 * DAY)
    s.job("Python closed", age=HOUR, closed_in=-timedelta(minutes=1))
    ben = s.person("ben@example.com")
    s.search(ben, "python", last_alerted_at=None, created_at=T0 - 3 * DAY)
    run_schedule(s.sessions, s.daily())
    assert listed(s, ana) == [new]
    assert len(listed(s, ben)) == 2


def test_no_new_job_no_email(s: Searches) -> None:
    """Searches with nothing new queue no digest, and the run says why."""
    ana = s.person("ana@example.com")
    s.search(ana, "python")
    s.job("Python developer", age=2 * DAY)
    s.job("Java developer", age=HOUR)
    summary = run_schedule(s.sessions, s.daily())
    assert summary.digests_queued == 0
    assert digests(s.sessions) == {}
    assert summary.explanation.startswith("No new jobs since the last alert: 1 subscriber")


def test_a_rerun_lists_nothing_twice_and_moves_last_alerted_at(s: Searches) -> None:
    """A second run of the same schedule finds nothing; the search's threshold moved."""
    ana = s.person("ana@example.com")
    search = s.search(ana, "python")
    s.job("Python developer")
    schedule = s.daily()
    assert run_schedule(s.sessions, schedule).digests_queued == 1
    with s.sessions() as session:
        assert session.get_one(SavedSearch, search).last_alerted_at == T0
        session.execute(update(SavedSearch).values(last_alerted_at=LAST_RUN))
        session.commit()
    # Even with the threshold moved back, the digest items keep the job from a second listing.
    second = run_schedule(s.sessions, schedule)
    assert second.digests_queued == 0
    assert max(all_listed(s.sessions).values()) == 1


def test_a_job_sent_by_instant_search_alerts_is_not_sent_again_by_a_schedule(
    s: Searches, clock: FrozenClock
) -> None:
    """Instant search alerts and a daily interest schedule never list the same job twice."""
    ana = s.person("ana@example.com", interests=["eng"])
    s.search(ana, "python", frequency=Frequency.INSTANT)
    first = s.job("Python engineer", slugs=["eng"])
    instant = run_instant(s.sessions)
    assert instant.digests_queued == 1
    assert run_instant(s.sessions).digests_queued == 0
    second = s.job("Go engineer", slugs=["eng"], age=timedelta(minutes=30))
    run_schedule(s.sessions, s.daily())
    counts = all_listed(s.sessions)
    assert counts[(ana, first)] == 1 and counts[(ana, second)] == 1


def test_frequency_classes_and_schedule_interests_select_searches(s: Searches) -> None:
    """Daily schedules serve daily searches; a schedule for some interests serves only the
    searches narrowed to one of them; an all-interests schedule serves every search."""
    daily = s.person("daily@example.com")
    weekly = s.person("weekly@example.com")
    narrowed = s.person("narrowed@example.com")
    s.search(daily, "python")
    s.search(weekly, "python", frequency=Frequency.WEEKLY)
    s.search(narrowed, "python", interest="eng")
    s.job("Python engineer", slugs=["eng"])
    run_schedule(s.sessions, s.daily(name="Engineering", slugs=["eng"]))
    assert set(digests(s.sessions)) == {narrowed}
    run_schedule(s.sessions, s.daily(name="Daily everything"))
    assert set(digests(s.sessions)) == {narrowed, daily}
    run_schedule(
        s.sessions, s.daily(name="Weekly everything", frequency_class=FrequencyClass.WEEKLY)
    )
    assert set(digests(s.sessions)) == {narrowed, daily, weekly}


def test_many_candidates_sharing_a_search_each_get_it(s: Searches) -> None:
    """Equal searches spelled differently are matched once and reach every candidate."""
    people = [s.person(f"p{n}@example.com") for n in range(4)]
    for person, spelling in zip(people, ["Python", "python ", "PYTHON", "java"], strict=True):
        s.search(person, spelling)
    job = s.job("Python developer")
    run_schedule(s.sessions, s.daily())
    queued = digests(s.sessions)
    assert {p: queued[p]["job_ids"] for p in people[:3]} == {key: [job] for key in people[:3]}
    assert people[3] not in queued


def test_preview_counts_search_subscribers(s: Searches) -> None:
    """A schedule's preview counts candidates who come only through a saved search."""
    ana = s.person("ana@example.com")
    s.search(ana, "python")
    s.search(s.person("paused@example.com"), "python", paused_until=T0 + DAY)
    s.job("Python developer")
    schedule = s.daily()
    with s.sessions() as session:
        preview = preview_schedule(session, schedule)
    assert preview.receive == 1
    assert preview.excluded["paused"] == 1
    assert preview.sample is not None and preview.sample.candidate_id == ana
    assert preview.sample.context["search_ids"]


def test_a_search_left_before_sending_drops_its_jobs(s: Searches) -> None:
    """At send time, a search the candidate has left since no longer lists its jobs."""
    ana = s.person("ana@example.com", interests=["eng"])
    search = s.search(ana, "python")
    s.job("Python trainer", slugs=["sales"])
    s.job("Go engineer", slugs=["eng"], age=2 * HOUR)
    run_schedule(s.sessions, s.daily())
    with session_scope(s.sessions) as session:
        session.execute(
            update(SavedSearch)
            .where(SavedSearch.id == search)
            .values(status=SubscriptionStatus.UNSUBSCRIBED)
        )
    extra = rendered(s, ana)
    assert isinstance(extra, dict)
    assert [j.title for j in extra["jobs"]] == ["Go engineer"]
    assert extra["reason"] == "You subscribed to job alerts for Engineering at Acme."


def test_a_search_only_digest_through_the_real_worker_leaves_only_its_search(
    s: Searches, smtp_server: MailSink
) -> None:
    """Run → OutboxWorker → aiosmtpd: the digest says why, and its one-click link
    (`search:<id>`) leaves that search and nothing else."""
    ana = s.person("ana@example.com", interests=["design"])
    search = s.search(ana, "python", location="Berlin")
    other = s.search(ana, "kotlin")
    s.job("Python developer", location="Berlin")
    run = run_schedule(s.sessions, s.daily())
    assert run.run_id is not None
    worker = OutboxWorker(
        s.sessions,
        lambda: SmtpSender(SmtpTarget.from_url(f"{smtp_server.url}?timeout=5")),
        MAIL,
        worker_id="searches-e2e",
        lease=timedelta(minutes=5),
        context_sources={MessageKind.JOB_ALERT: digest_context},
    )
    assert worker.run_once().sent == 1
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    email = received.parsed()
    text_part = next(email.iter_parts()).get_content()
    assert "matched: your search “python” in Berlin" in text_part
    assert "job alerts for your saved search “python” in Berlin at Acme" in text_part
    html_part = list(email.iter_parts())[1].get_content()
    assert "matched: your search “python” in Berlin" in html_part
    match = re.search(
        r"<https://careers\.acme\.example\.com/unsubscribe/([^>]+)>", email["List-Unsubscribe"]
    )
    assert match is not None, email["List-Unsubscribe"]
    with session_scope(s.sessions) as session:
        link = read_one_click_link(session, KEYS, match.group(1))
        assert link.candidate.id == ana
        assert link.list_ref == f"search:{search}"
        target = link.resolve(session)
        assert target.search_ids == (search,) and target.interest_ids == ()
        assert one_click_unsubscribe(session, link.candidate, target)
    with s.sessions() as session:
        states = {
            row.id: row.status
            for row in session.execute(
                select(SavedSearch.id, SavedSearch.status).where(SavedSearch.candidate_id == ana)
            )
        }
        interest = session.scalars(
            select(Subscription.status).where(Subscription.candidate_id == ana)
        ).one()
    assert states == {
        search: SubscriptionStatus.UNSUBSCRIBED,
        other: SubscriptionStatus.SUBSCRIBED,
    }
    assert interest is SubscriptionStatus.SUBSCRIBED
    with s.sessions() as session:
        # The run's report counts the search's one-click as an unsubscribe from its digests.
        assert alert_run_send_report(session, run.run_id).unsubscribes == 1


def test_the_worker_skips_a_search_only_digest_whose_search_was_left(s: Searches) -> None:
    """Send-time check: a search-only digest goes while its search is subscribed and not
    paused, and only as its own candidate's search."""
    ana = s.person("ana@example.com")
    search = s.search(ana, "python")
    theirs = s.search(s.person("ben@example.com"), "kotlin")
    s.job("Python developer")
    run_schedule(s.sessions, s.daily())
    with s.sessions() as session:
        message = session.scalars(
            select(OutboxMessage).where(OutboxMessage.candidate_id == ana)
        ).one()
        assert skip_reason(session, message) is None
        session.execute(
            update(SavedSearch).where(SavedSearch.id == search).values(paused_until=T0 + DAY)
        )
        assert skip_reason(session, message) == "alerts are paused"
        session.execute(
            update(SavedSearch)
            .where(SavedSearch.id == search)
            .values(paused_until=None, status=SubscriptionStatus.UNSUBSCRIBED)
        )
        assert skip_reason(session, message) == "candidate is not subscribed to this interest"
        # Someone else's subscribed search named in the context does not count.
        message.context = {**message.context, "search_ids": [theirs]}
        assert skip_reason(session, message) == "candidate is not subscribed to this interest"


def test_a_place_typed_in_capitals_matches_beyond_ascii(s: Searches) -> None:
    """The place is lower-cased as /jobs does it (SQLite's lower() folds ASCII only)."""
    ana = s.person("ana@example.com")
    s.search(ana, location="ZÜRICH")
    zurich = s.job("Nurse", location="Zürich, Switzerland")
    s.job("Nurse", location="Zug, Switzerland")
    run_schedule(s.sessions, s.daily())
    assert listed(s, ana) == [zurich]


def test_matching_searches_on_sqlite_takes_no_write_lock(tmp_path: Path) -> None:
    """The FTS5 and fts5vocab tables that tokenize are temporary: a preview with saved
    searches leaves SQLite's write lock free, as a web request's must."""
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        metadata().create_all(engine)
        factory = make_session_factory(engine)
        with frozen(T0), session_scope(factory) as session:
            ana = Candidate(email="ana@example.com")
            session.add(ana)
            session.flush()
            session.add_all(
                [
                    SavedSearch(
                        candidate_id=ana.id,
                        criteria_key="python",
                        query="python",
                        status=SubscriptionStatus.SUBSCRIBED,
                        frequency=Frequency.DAILY,
                        last_alerted_at=LAST_RUN,
                    ),
                    Job(
                        reference="P-1",
                        title="Python developer",
                        apply_url="https://jobs.example.com/apply",
                        posted_at=T0 - HOUR,
                    ),
                    AlertSchedule(name="Daily", cron="0 9 * * *"),
                ]
            )
        token = set_write_mode(WriteMode.ON_FIRST_WRITE)
        try:
            with frozen(T0), factory() as session:
                schedule = session.scalars(select(AlertSchedule.id)).one()
                preview = preview_schedule(session, schedule)
                assert preview.receive == 1
                probe = sqlite3.connect(path, timeout=0, isolation_level=None)
                try:
                    probe.execute("BEGIN IMMEDIATE")  # raises if the lock were held
                    probe.execute("ROLLBACK")
                finally:
                    probe.close()
                assert not wrote_in_transaction(session)
        finally:
            reset_write_mode(token)
    finally:
        engine.dispose()
