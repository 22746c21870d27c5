"""Alert runs on SQLite and PostgreSQL: matching, digests, idempotence, instant alerts, preview."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

import jobs.alerts as alerts_module
from jobs.alerts import (
    DIGEST_SIZE,
    ScheduleNotFound,
    preview_schedule,
    run_instant,
    run_schedule,
)
from jobs.digests import digest_context
from jobs.models import AlertRun, AlertRunStatus, AlertSchedule, DigestItem, FrequencyClass
from jobs.models import JobPosting as Job
from mailer.config import MailSettings, SmtpTarget
from mailer.models import MessageKind, OutboxMessage
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from preferences.clock import FrozenClock, frozen
from preferences.db import make_session_factory, read_only_work, session_scope
from preferences.lists import one_click_unsubscribe, read_one_click_link
from preferences.models import (
    Candidate,
    CandidateStatus,
    Frequency,
    Interest,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from preferences.suppressions import suppress

from .support import T0

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
LAST_RUN = T0 - DAY


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with frozen(T0) as fixed:
        yield fixed


@dataclass(frozen=True)
class World:
    """Committed interests by slug, for building candidates and jobs."""

    sessions: sessionmaker[Session]
    interests: dict[str, int]

    def interest(self, slug: str) -> int:
        return self.interests[slug]

    def person(
        self,
        email: str,
        subs: dict[str, dict[str, Any]] | list[str],
        *,
        status: CandidateStatus = CandidateStatus.ACTIVE,
    ) -> int:
        """Commit a candidate with subscriptions (default: subscribed, daily, alerted LAST_RUN)."""
        specs = subs if isinstance(subs, dict) else {slug: {} for slug in subs}
        with session_scope(self.sessions) as session:
            candidate = Candidate(
                email=email, first_name=email.split("@")[0].title(), status=status
            )
            session.add(candidate)
            session.flush()
            for slug, fields in specs.items():
                values: dict[str, Any] = {
                    "status": SubscriptionStatus.SUBSCRIBED,
                    "frequency": Frequency.DAILY,
                    "last_alerted_at": LAST_RUN,
                    "created_at": T0 - 30 * DAY,
                    **fields,
                }
                session.add(
                    Subscription(
                        candidate_id=candidate.id, interest_id=self.interest(slug), **values
                    )
                )
            return candidate.id

    def job(
        self,
        title: str,
        slugs: list[str],
        *,
        age: timedelta = HOUR,
        closed_in: timedelta | None = None,
    ) -> int:
        """Commit a job posted `age` before T0 (closed `closed_in` after T0 if given)."""
        with session_scope(self.sessions) as session:
            job = Job(
                reference=f"R-{title}",
                title=title,
                apply_url="https://jobs.example.com/apply",
                posted_at=T0 - age,
                closed_at=T0 + closed_in if closed_in is not None else None,
                interests=[session.get_one(Interest, self.interest(s)) for s in slugs],
            )
            session.add(job)
            session.flush()
            return job.id

    def schedule(
        self,
        name: str = "Daily",
        *,
        frequency_class: FrequencyClass = FrequencyClass.DAILY,
        slugs: list[str] | None = None,
    ) -> int:
        with session_scope(self.sessions) as session:
            schedule = AlertSchedule(
                name=name,
                all_interests=slugs is None,
                frequency_class=frequency_class,
                cron="0 8 * * *",
                timezone="UTC",
                interests=[session.get_one(Interest, self.interest(s)) for s in slugs or []],
            )
            session.add(schedule)
            session.flush()
            return schedule.id


@pytest.fixture
def world(sessions: sessionmaker[Session], clock: FrozenClock) -> World:
    with session_scope(sessions) as session:
        rows = [
            Interest(name=name, slug=slug, position=n)
            for n, (slug, name) in enumerate(
                [("eng", "Engineering"), ("design", "Design"), ("sales", "Sales")]
            )
        ]
        session.add_all(rows)
        session.flush()
        ids = {row.slug: row.id for row in rows}
    return World(sessions, ids)


def digests(sessions: sessionmaker[Session]) -> dict[int, dict[str, Any]]:
    """Queued job-alert contexts by candidate id (one per candidate is asserted)."""
    with sessions() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == MessageKind.JOB_ALERT)
            .order_by(OutboxMessage.id)
        ).all()
    assert all(r.candidate_id is not None for r in rows)
    counts = Counter(r.candidate_id for r in rows)
    assert max(counts.values(), default=1) == 1, counts
    return {r.candidate_id: r.context for r in rows if r.candidate_id is not None}


def all_listed(sessions: sessionmaker[Session]) -> Counter[tuple[int, int]]:
    """How often each (candidate, job) was listed across every queued digest."""
    with sessions() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == MessageKind.JOB_ALERT)
        ).all()
    return Counter(
        (r.candidate_id, job_id) for r in rows if r.candidate_id for job_id in r.context["job_ids"]
    )


def count(sessions: sessionmaker[Session], model: type[Any]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_daily_schedule_matches_daily_subscribers_only(world: World) -> None:
    """Daily, weekly and both classes pick subscriptions by frequency; instant ones never."""
    daily = world.person("dee@example.com", {"eng": {"frequency": Frequency.DAILY}})
    weekly = world.person("wes@example.com", {"eng": {"frequency": Frequency.WEEKLY}})
    world.person("ian@example.com", {"eng": {"frequency": Frequency.INSTANT}})
    job = world.job("Backend", ["eng"])
    summary = run_schedule(world.sessions, world.schedule("Daily"))
    assert summary.succeeded
    assert (summary.candidates_matched, summary.digests_queued, summary.jobs_listed) == (1, 1, 1)
    assert digests(world.sessions) == {
        daily: {
            "interest_id": world.interest("eng"),
            "interest_ids": [world.interest("eng")],
            "job_ids": [job],
            "more_count": 0,
            "alert_run_id": summary.run_id,
        }
    }
    both = run_schedule(world.sessions, world.schedule("Both", frequency_class=FrequencyClass.BOTH))
    # Daily Dee already has this job; weekly Wes gets it now.
    assert (both.candidates_matched, both.digests_queued) == (1, 1)
    assert set(digests(world.sessions)) == {daily, weekly}


def test_unconfirmed_unsubscribed_paused_and_deleted_get_nothing(world: World) -> None:
    """Only confirmed, unpaused subscriptions of active candidates match; an ended pause counts."""
    world.person("unconfirmed@example.com", {"eng": {"status": SubscriptionStatus.UNCONFIRMED}})
    world.person("left@example.com", {"eng": {"status": SubscriptionStatus.UNSUBSCRIBED}})
    world.person("paused@example.com", {"eng": {"paused_until": T0 + DAY}})
    world.person("gone@example.com", ["eng"], status=CandidateStatus.DELETED)
    back = world.person("back@example.com", {"eng": {"paused_until": T0 - HOUR}})
    world.job("Backend", ["eng"])
    summary = run_schedule(world.sessions, world.schedule())
    assert set(digests(world.sessions)) == {back}
    assert summary.candidates_matched == 1


def test_only_open_jobs_new_since_the_last_alert_are_listed(world: World) -> None:
    """Closed, future and announced jobs are left out; a newcomer gets those since joining."""
    veteran = world.person("vet@example.com", ["eng"])
    newcomer = world.person(
        "new@example.com", {"eng": {"last_alerted_at": None, "created_at": T0 - 3 * HOUR}}
    )
    fresh = world.job("Fresh", ["eng"], age=HOUR)
    world.job("Closed", ["eng"], age=HOUR, closed_in=-timedelta(minutes=5))
    closing_later = world.job("Closing later", ["eng"], age=2 * HOUR, closed_in=DAY)
    world.job("Future", ["eng"], age=-HOUR)
    between = world.job("Between", ["eng"], age=5 * HOUR)  # after LAST_RUN, before newcomer
    world.job("Old", ["eng"], age=2 * DAY)
    run_schedule(world.sessions, world.schedule())
    queued = digests(world.sessions)
    assert queued[veteran]["job_ids"] == [fresh, closing_later, between]
    assert queued[newcomer]["job_ids"] == [fresh, closing_later]


def test_at_most_ten_newest_jobs_with_a_count_of_the_rest(world: World) -> None:
    """Twelve new jobs: the ten newest are listed newest first; more_count is 2."""
    ana = world.person("ana@example.com", ["eng"])
    jobs = [world.job(f"Job {n}", ["eng"], age=timedelta(minutes=10 + n)) for n in range(12)]
    summary = run_schedule(world.sessions, world.schedule())
    context = digests(world.sessions)[ana]
    assert context["job_ids"] == jobs[:DIGEST_SIZE]
    assert context["more_count"] == 2
    assert summary.jobs_listed == DIGEST_SIZE
    with world.sessions() as session:
        items = set(session.scalars(select(DigestItem.job_id)).all())
    # Only the listed jobs count as sent.
    assert items == set(jobs[:DIGEST_SIZE])


def test_a_job_matching_two_interests_is_listed_once(world: World) -> None:
    """A job tagged with two subscribed interests appears once; the digest covers both interests."""
    ana = world.person("ana@example.com", ["eng", "design"])
    both = world.job("Design engineer", ["eng", "design"], age=HOUR)
    designer = world.job("Designer", ["design"], age=2 * HOUR)
    world.job("Seller", ["sales"], age=HOUR)
    run_schedule(world.sessions, world.schedule())
    context = digests(world.sessions)[ana]
    assert context["job_ids"] == [both, designer]
    assert context["interest_ids"] == sorted([world.interest("eng"), world.interest("design")])
    assert context["more_count"] == 0


def test_a_schedule_for_some_interests_covers_only_those(world: World) -> None:
    """A schedule naming Design ignores Engineering jobs and subscriptions."""
    ana = world.person("ana@example.com", ["eng", "design"])
    world.person("eve@example.com", ["eng"])
    world.job("Backend", ["eng"])
    designer = world.job("Designer", ["design"])
    summary = run_schedule(world.sessions, world.schedule("Design only", slugs=["design"]))
    assert digests(world.sessions) == {
        ana: {
            "interest_id": world.interest("design"),
            "interest_ids": [world.interest("design")],
            "job_ids": [designer],
            "more_count": 0,
            "alert_run_id": summary.run_id,
        }
    }


def test_no_new_jobs_means_no_email(world: World) -> None:
    """Subscribers but nothing new: the run succeeds and queues nothing."""
    world.person("ana@example.com", ["eng"])
    world.job("Old", ["eng"], age=2 * DAY)
    summary = run_schedule(world.sessions, world.schedule())
    assert summary.status is AlertRunStatus.SUCCEEDED
    assert (summary.candidates_matched, summary.digests_queued) == (0, 0)
    assert digests(world.sessions) == {}
    with world.sessions() as session:
        run = session.scalars(select(AlertRun)).one()
    assert (run.status, run.digests_queued, run.finished_at) == (AlertRunStatus.SUCCEEDED, 0, T0)


def test_a_rerun_sends_no_job_twice_and_moves_last_alerted_at(
    world: World, clock: FrozenClock
) -> None:
    """Running again queues nothing; a job posted after the first run goes out alone."""
    ana = world.person("ana@example.com", ["eng"])
    first = world.job("First", ["eng"])
    schedule = world.schedule()
    run_schedule(world.sessions, schedule)
    again = run_schedule(world.sessions, schedule)
    assert (again.candidates_matched, again.digests_queued) == (0, 0)
    with world.sessions() as session:
        assert session.scalars(select(Subscription.last_alerted_at)).one() == T0
    clock.advance(DAY)
    second = world.job("Second", ["eng"], age=-HOUR)  # posted at T0 + 1h
    run_schedule(world.sessions, schedule)
    assert all_listed(world.sessions) == Counter({(ana, first): 1, (ana, second): 1})


def test_a_crash_halfway_then_a_rerun_never_lists_a_job_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunk that fails rolls back; the run is failed with its error; a rerun finishes it."""
    people = [world.person(f"p{n}@example.com", ["eng", "design"]) for n in range(4)]
    jobs = [world.job(f"Job {n}", ["eng" if n % 2 else "design"]) for n in range(3)]
    schedule = world.schedule()
    real = alerts_module._write_chunk
    calls = Counter[str]()

    def crash_on_second_chunk(*args: Any) -> tuple[int, int]:
        calls["chunks"] += 1
        result = real(*args)
        if calls["chunks"] == 2:
            raise RuntimeError("power cut")
        return result

    monkeypatch.setattr(alerts_module, "_write_chunk", crash_on_second_chunk)
    failed = run_schedule(world.sessions, schedule, batch_size=1)
    monkeypatch.undo()
    assert failed.status is AlertRunStatus.FAILED
    assert failed.error == "RuntimeError: power cut"
    assert failed.digests_queued == 1
    assert set(digests(world.sessions)) == {people[0]}
    with world.sessions() as session:
        run = session.get_one(AlertRun, failed.run_id)
        assert (run.status, run.error, run.digests_queued) == (
            AlertRunStatus.FAILED,
            "RuntimeError: power cut",
            1,
        )
    # A lost outbox row is not re-queued either: its jobs count as sent.
    with session_scope(world.sessions) as session:
        session.execute(delete(OutboxMessage))
    finished = run_schedule(world.sessions, schedule, batch_size=1)
    assert finished.succeeded
    assert finished.digests_queued == 3
    listed = all_listed(world.sessions)
    assert max(listed.values()) == 1
    assert set(listed) == {(p, j) for p in people[1:] for j in jobs}


# PostgreSQL only: SQLite has one writer, so no other run can write while this one does.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_digest_item_written_meanwhile_keeps_its_job_out(world: World) -> None:
    """A job another run listed between matching and writing is not listed again."""
    ana = world.person("ana@example.com", ["eng"])
    first = world.job("First", ["eng"], age=HOUR)
    second = world.job("Second", ["eng"], age=2 * HOUR)
    real = alerts_module._rank_chunk

    def race(conn: Any, lo: int, hi: int) -> None:
        real(conn, lo, hi)
        with session_scope(world.sessions) as session:
            session.add(DigestItem(candidate_id=ana, job_id=first))

    alerts_module._rank_chunk = race  # type: ignore[assignment]
    try:
        run_schedule(world.sessions, world.schedule())
    finally:
        alerts_module._rank_chunk = real
    assert digests(world.sessions)[ana]["job_ids"] == [second]


def test_instant_run_alerts_instant_subscribers_to_jobs_new_since_their_last_alert(
    world: World, clock: FrozenClock
) -> None:
    """Instant subscribers get each new job once, across interests; daily ones wait."""
    ivy = world.person(
        "ivy@example.com",
        {
            "eng": {
                "frequency": Frequency.INSTANT,
                "last_alerted_at": T0 - 10 * timedelta(minutes=1),
            },
            "design": {"frequency": Frequency.INSTANT, "last_alerted_at": None},
        },
    )
    world.person("dee@example.com", ["eng"])
    world.job("Too old", ["eng"], age=HOUR)
    recent = world.job("Recent", ["eng"], age=timedelta(minutes=2))
    summary = run_instant(world.sessions)
    assert (summary.schedule_id, summary.name) == (None, "instant alerts")
    assert digests(world.sessions) == {
        ivy: {
            "interest_id": world.interest("eng"),
            "interest_ids": [world.interest("eng")],
            "job_ids": [recent],
            "more_count": 0,
            "alert_run_id": summary.run_id,
        }
    }
    clock.advance(timedelta(minutes=1))
    newer = world.job("Newer", ["eng", "design"], age=-timedelta(seconds=30))
    run_instant(world.sessions)
    assert all_listed(world.sessions) == Counter({(ivy, recent): 1, (ivy, newer): 1})
    with world.sessions() as session:
        run_ids = session.scalars(select(AlertRun.schedule_id)).all()
    assert run_ids == [None, None]


def test_an_unknown_schedule_raises_and_records_nothing(world: World) -> None:
    """A missing schedule id is ScheduleNotFound; no run row, no digest."""
    with pytest.raises(ScheduleNotFound, match="no alert schedule 999"):
        run_schedule(world.sessions, 999)
    with pytest.raises(ValueError, match="batch_size"):
        run_schedule(world.sessions, world.schedule(), batch_size=0)
    assert count(world.sessions, AlertRun) == 0
    assert count(world.sessions, OutboxMessage) == 0


def test_preview_counts_receivers_and_each_exclusion_without_writing(world: World) -> None:
    """Every in-scope candidate is counted once, by reason; nothing is queued or marked sent."""
    ana = world.person("ana@example.com", ["eng", "design"])
    world.person("zed@example.com", ["eng"])
    world.person("unconfirmed@example.com", {"eng": {"status": SubscriptionStatus.UNCONFIRMED}})
    world.person("left@example.com", {"eng": {"status": SubscriptionStatus.UNSUBSCRIBED}})
    world.person(
        "mixed@example.com",
        {"eng": {"status": SubscriptionStatus.UNSUBSCRIBED}, "design": {"paused_until": T0 + DAY}},
    )
    world.person("gone@example.com", ["eng"], status=CandidateStatus.DELETED)
    world.person("bored@example.com", ["sales"])
    world.person("weekly@example.com", {"eng": {"frequency": Frequency.WEEKLY}})
    world.person("bounced@example.com", ["eng"])
    with session_scope(world.sessions) as session:
        suppress(session, "bounced@example.com", SuppressionReason.HARD_BOUNCE)
    job = world.job("Backend", ["eng"])
    design_job = world.job("Designer", ["design"], age=2 * HOUR)
    schedule = world.schedule()
    with world.sessions() as session:
        preview = preview_schedule(session, schedule)
        session.rollback()
    assert preview.receive == 2
    assert preview.excluded == {
        "unsubscribed": 1,
        "unconfirmed": 1,
        "paused": 1,
        "suppressed": 1,
        "deleted": 1,
        "nothing new": 1,
    }
    assert preview.considered == 8
    assert preview.sample is not None
    assert (preview.sample.candidate_id, preview.sample.to_address) == (ana, "ana@example.com")
    assert preview.sample.context == {
        "interest_id": world.interest("eng"),
        "interest_ids": [world.interest("eng"), world.interest("design")],
        "job_ids": [job, design_job],
        "more_count": 0,
    }
    assert count(world.sessions, OutboxMessage) == 0
    assert count(world.sessions, DigestItem) == 0
    assert count(world.sessions, AlertRun) == 0
    # The run agrees with the preview (the suppressed address is skipped at send time).
    summary = run_schedule(world.sessions, schedule)
    assert summary.digests_queued == preview.receive + preview.excluded["suppressed"]


def test_preview_of_an_unknown_schedule_raises(world: World) -> None:
    """ScheduleNotFound, as for a run."""
    with world.sessions() as session, pytest.raises(ScheduleNotFound):
        preview_schedule(session, 12345)


def test_run_times_are_recorded(world: World) -> None:
    """The run row carries the frozen clock's start and finish and the counts."""
    world.person("ana@example.com", ["eng"])
    world.job("Backend", ["eng"])
    summary = run_schedule(world.sessions, world.schedule())
    with world.sessions() as session:
        run = session.get_one(AlertRun, summary.run_id)
    started: datetime = run.started_at
    assert (started, run.finished_at, run.candidates_matched, run.digests_queued) == (
        T0,
        T0,
        1,
        1,
    )


KEYS = ("alerts-e2e-key-" + "k" * 32,)
MAIL = MailSettings(
    mail_from="Acme Careers <careers@acme.example.com>",
    company_name="Acme",
    base_url="https://careers.acme.example.com",
    postal_address="1 Test Street, Testville",
    secret_keys=KEYS,
)


def test_a_run_drained_by_the_real_worker_mails_one_digest_that_leaves_its_interests(
    world: World, smtp_server: MailSink
) -> None:
    """Schedule run → OutboxWorker → aiosmtpd: the digest lists its jobs, once, and unsubscribes."""
    ana = world.person("ana@example.com", ["eng", "design", "sales"])
    both = world.job("Design engineer", ["eng", "design"], age=HOUR)
    world.job("Backend", ["eng"], age=2 * HOUR)
    world.job("Old sales", ["sales"], age=2 * DAY)
    run_schedule(world.sessions, world.schedule())
    worker = OutboxWorker(
        world.sessions,
        lambda: SmtpSender(SmtpTarget.from_url(f"{smtp_server.url}?timeout=5")),
        MAIL,
        worker_id="alerts-e2e",
        batch_size=10,
        lease=timedelta(minutes=5),
        context_sources={MessageKind.JOB_ALERT: digest_context},
    )
    assert worker.run_once().sent == 1
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    email = received.parsed()
    assert email["Subject"] == "New jobs at Acme: Design engineer and 1 more"
    text_part = next(email.iter_parts()).get_content()
    assert text_part.count("Design engineer") == 1
    assert "matched: Engineering, Design" in text_part
    assert "matched: Engineering\r\n" in text_part
    assert "Old sales" not in text_part
    assert "job alerts for Engineering, Design" in text_part
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    match = re.search(
        r"<https://careers\.acme\.example\.com/unsubscribe/([^>]+)>", email["List-Unsubscribe"]
    )
    assert match is not None, email["List-Unsubscribe"]
    with session_scope(world.sessions) as session:
        link = read_one_click_link(session, KEYS, match.group(1))
        assert link.candidate.id == ana
        target = link.resolve(session)
        assert target.interest_ids == tuple(
            sorted([world.interest("eng"), world.interest("design")])
        )
        assert one_click_unsubscribe(session, link.candidate, target)
    with world.sessions() as session:
        statuses = {
            interest_id: status
            for interest_id, status in session.execute(
                select(Subscription.interest_id, Subscription.status).where(
                    Subscription.candidate_id == ana
                )
            )
        }
    assert statuses == {
        world.interest("eng"): SubscriptionStatus.UNSUBSCRIBED,
        world.interest("design"): SubscriptionStatus.UNSUBSCRIBED,
        world.interest("sales"): SubscriptionStatus.SUBSCRIBED,
    }
    assert both in digests(world.sessions)[ana]["job_ids"]


def test_jobs_of_interests_left_before_sending_are_dropped_from_the_digest(
    world: World, smtp_server: MailSink
) -> None:
    """Leaving one interest after queueing drops the jobs only it matched; the rest still go."""
    ana = world.person("ana@example.com", ["eng", "design"])
    world.job("Backend", ["eng"], age=HOUR)
    world.job("Designer", ["design"], age=2 * HOUR)
    run_schedule(world.sessions, world.schedule())
    with session_scope(world.sessions) as session:
        session.execute(
            update(Subscription)
            .where(Subscription.interest_id == world.interest("eng"))
            .values(status=SubscriptionStatus.UNSUBSCRIBED)
        )
    worker = OutboxWorker(
        world.sessions,
        lambda: SmtpSender(SmtpTarget.from_url(f"{smtp_server.url}?timeout=5")),
        MAIL,
        worker_id="alerts-e2e",
        lease=timedelta(minutes=5),
        context_sources={MessageKind.JOB_ALERT: digest_context},
    )
    assert worker.run_once().sent == 1
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    text_part = next(received.parsed().iter_parts()).get_content()
    assert "Designer" in text_part and "Backend" not in text_part
    assert "job alerts for Design at Acme" in text_part
    assert ana in digests(world.sessions)


def test_an_instant_run_that_finds_nothing_leaves_no_run_row(world: World) -> None:
    """Instant runs fire every 30 s: an empty one records nothing; a scheduled empty one does."""
    world.person("ivy@example.com", {"eng": {"frequency": Frequency.INSTANT}})
    world.job("Old", ["eng"], age=2 * DAY)
    summary = run_instant(world.sessions)
    assert (summary.run_id, summary.status, summary.digests_queued) == (
        None,
        AlertRunStatus.SUCCEEDED,
        0,
    )
    assert count(world.sessions, AlertRun) == 0
    run_schedule(world.sessions, world.schedule())
    assert count(world.sessions, AlertRun) == 1


def test_a_failure_while_matching_is_recorded_as_a_failed_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even an instant run that fails before matching anyone leaves a failed run with the error."""
    world.person("ivy@example.com", {"eng": {"frequency": Frequency.INSTANT}})

    def broken(*_args: Any) -> int:
        raise RuntimeError("database went away")

    monkeypatch.setattr(alerts_module, "_match", broken)
    summary = run_instant(world.sessions)
    assert summary.status is AlertRunStatus.FAILED
    with world.sessions() as session:
        run = session.scalars(select(AlertRun)).one()
    assert (run.id, run.status, run.error) == (
        summary.run_id,
        AlertRunStatus.FAILED,
        "RuntimeError: database went away",
    )
    assert count(world.sessions, OutboxMessage) == 0


def test_preview_works_inside_a_read_only_request(world: World) -> None:
    """A console GET page (SQLite's deferred, read-only transaction) can preview too."""
    ana = world.person("ana@example.com", ["eng"])
    world.job("Backend", ["eng"])
    schedule = world.schedule()
    with read_only_work(), world.sessions() as session:
        preview = preview_schedule(session, schedule)
        session.commit()
    assert preview.receive == 1
    assert preview.sample is not None and preview.sample.candidate_id == ana


def _stored_explanation(world: World, run_id: int | None) -> str:
    with world.sessions() as session:
        return session.get_one(AlertRun, run_id).explanation


def test_a_run_with_no_subscribers_says_so(world: World) -> None:
    """Nobody eligible (only a weekly and a paused subscriber for a daily run): the run
    says there are no eligible subscribers, in its summary and on its row."""
    world.person("wes@example.com", {"eng": {"frequency": Frequency.WEEKLY}})
    world.person("pam@example.com", {"eng": {"paused_until": T0 + DAY}})
    world.job("New", ["eng"])
    summary = run_schedule(world.sessions, world.schedule())
    assert summary.digests_queued == 0
    assert summary.explanation.startswith("No eligible subscribers")
    assert _stored_explanation(world, summary.run_id) == summary.explanation


def test_a_run_with_nothing_new_counts_subscribers_and_open_jobs(world: World) -> None:
    """Subscribers whose open jobs are all older than their last alert: "no new jobs", with
    the number of subscribers and of open jobs in their interests."""
    world.person("ana@example.com", ["eng"])
    world.person("bo@example.com", ["eng", "design"])
    world.job("Old", ["eng"], age=2 * DAY)
    world.job("Older", ["design"], age=3 * DAY)
    summary = run_schedule(world.sessions, world.schedule())
    assert summary.explanation == (
        "No new jobs since the last alert: 2 subscribers, 2 open jobs in their interests, "
        "none posted since each subscriber's last alert."
    )
    assert _stored_explanation(world, summary.run_id) == summary.explanation


def test_a_run_whose_new_jobs_went_out_already_says_so(world: World) -> None:
    """A new job that another schedule listed for the subscriber already: "already sent"."""
    ana = world.person("ana@example.com", ["eng"])
    job = world.job("New", ["eng"])
    with session_scope(world.sessions) as session:
        session.add(DigestItem(candidate_id=ana, job_id=job))
    summary = run_schedule(world.sessions, world.schedule())
    assert summary.digests_queued == 0
    assert summary.explanation == (
        "Jobs already sent: 1 subscriber with new jobs, but every one was already listed "
        "in an earlier digest (another schedule, or instant alerts)."
    )


def test_a_run_that_queues_digests_explains_nothing(world: World) -> None:
    world.person("ana@example.com", ["eng"])
    world.job("New", ["eng"])
    summary = run_schedule(world.sessions, world.schedule())
    assert summary.digests_queued == 1
    assert summary.explanation == ""
    assert _stored_explanation(world, summary.run_id) == ""
