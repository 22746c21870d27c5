"""Alert runs: new jobs matched to every subscriber in SQL, one digest per candidate.

A run (`run_schedule`, `run_instant`) goes in three steps on one connection:

1. **Pairs.** The open jobs tagged with the run's interests are copied into a
   temporary table of (interest, job, posted_at), indexed by interest and time.
   Materializing it first keeps the planner from re-deriving it per row.
2. **Targets.** One INSERT … SELECT walks the eligible subscriptions
   (subscribed, i.e. confirmed; not paused; candidate active; frequency in the
   run's class; interest in its scope) and keeps those with at least one pair
   posted after the subscription's `last_alerted_at` (or its `created_at`) and
   never in `digest_items` for that candidate: one index probe each. That is
   who gets a digest, and for which interests.
3. **Write**, `batch_size` candidates per transaction: list each candidate's
   new, unsent jobs (targets joined to pairs), rank them newest first with a
   window function and keep ten with the total; insert those as digest items
   with ON CONFLICT DO NOTHING … RETURNING; queue one outbox row per candidate
   naming only the jobs that insert returned (dedupe key per run and
   candidate); move `last_alerted_at` of the targeted subscriptions to the run's
   time. The row's context is what jobs/digests.py reads at send time.

Idempotence rests on the unique digest items: a job is listed only if this run
inserted its (candidate, job) item, so a re-run, a concurrent run or a run
restarted after a crash halfway never lists a job twice. A crash loses only the
chunk in flight, whose transaction rolls back; the next run picks those
candidates up.

Only the listed jobs get digest items. The rest are counted in `more_count`
(the digest links to all of them) and are not listed by a later digest: the
subscription's `last_alerted_at` moves past them.

Suppression is not joined here: suppressions are HMACs of addresses under a
salt (see preferences/suppressions.py), which SQL cannot compute on SQLite. The
worker's send-time check skips suppressed addresses; `preview_schedule` counts
them by hashing the matched addresses in batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    Table,
    and_,
    case,
    delete,
    distinct,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from jobs.digests import digest_context
from jobs.errors import ScheduleNotFound
from jobs.models import (
    AlertRun,
    AlertRunStatus,
    AlertSchedule,
    DigestItem,
    FrequencyClass,
    JobPosting,
    job_interests,
    schedule_interests,
)
from mailer.config import MailSettings
from mailer.models import MessageKind, OutboxMessage, OutboxStatus
from mailer.outbox import DEFAULT_DELIVER_WITHIN
from mailer.render import RenderedEmail, Renderer
from mailer.sends import SendKind, register_send_kind
from preferences.clock import now
from preferences.db import TEMPORARY_ONLY, UTCDateTime, read_only_work
from preferences.models import (
    Candidate,
    CandidateStatus,
    Frequency,
    Interest,
    InterestStatus,
    Subscription,
    SubscriptionStatus,
)
from preferences.suppressions import suppressions_among

log = logging.getLogger("jobs.alerts")

DIGEST_SIZE = 10
DEFAULT_BATCH_SIZE = 1000
ALERT_TEMPLATE = "job_alert"

_SUBS = cast(Table, Subscription.__table__)
_CANDIDATES = cast(Table, Candidate.__table__)
_JOBS = cast(Table, JobPosting.__table__)
_INTERESTS = cast(Table, Interest.__table__)
_ITEMS = cast(Table, DigestItem.__table__)
_RUNS = cast(Table, AlertRun.__table__)
_SCHEDULES = cast(Table, AlertSchedule.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)

# Temporary tables, one set per connection; never part of the schema.
_TEMP = MetaData()
_PAIRS = Table(
    "tc_alert_pairs",
    _TEMP,
    Column("interest_id", Integer, nullable=False),
    Column("job_id", Integer, nullable=False),
    Column("posted_at", UTCDateTime(), nullable=False),
    prefixes=["TEMPORARY"],
)
# The eligible subscriptions with at least one new, unsent job: who gets a digest.
_TARGETS = Table(
    "tc_alert_targets",
    _TEMP,
    Column("candidate_id", Integer, nullable=False),
    Column("subscription_id", Integer, nullable=False),
    Column("interest_id", Integer, nullable=False),
    Column("threshold", UTCDateTime(), nullable=False),
    prefixes=["TEMPORARY"],
)
# One chunk's (candidate, job) matches, then its ranked digests; emptied per chunk.
_MATCHES = Table(
    "tc_alert_matches",
    _TEMP,
    Column("candidate_id", Integer, nullable=False),
    Column("interest_id", Integer, nullable=False),
    Column("job_id", Integer, nullable=False),
    Column("posted_at", UTCDateTime(), nullable=False),
    prefixes=["TEMPORARY"],
)
_RANKED = Table(
    "tc_alert_ranked",
    _TEMP,
    Column("candidate_id", Integer, nullable=False),
    Column("job_id", Integer, nullable=False),
    Column("rn", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
_TEMP_TABLES = (_PAIRS, _TARGETS, _MATCHES, _RANKED)
# Built after the rows are in, which is cheaper than maintaining them row by row;
# plain DDL, because Index objects would be emitted with the CREATE TABLE.
# Statements on the temporary tables only: on SQLite they need no write lock (preferences.db).
_PAIRS_INDEX = text(
    "CREATE INDEX ix_tc_alert_pairs ON tc_alert_pairs (interest_id, posted_at)"
).execution_options(**TEMPORARY_ONLY)
_TARGETS_INDEX = text(
    "CREATE INDEX ix_tc_alert_targets ON tc_alert_targets (candidate_id)"
).execution_options(**TEMPORARY_ONLY)

_CLASS_FREQUENCIES = {
    FrequencyClass.DAILY: (Frequency.DAILY,),
    FrequencyClass.WEEKLY: (Frequency.WEEKLY,),
    FrequencyClass.BOTH: (Frequency.DAILY, Frequency.WEEKLY),
}

Progress = Callable[[int, int], None]

# An alert run's digests are a send (`mailer.sends`): keys `alert-run:<run id>:<candidate id>`.
# Registered at import, so the mailer's worker and reports tell a run's rows apart.
ALERT_RUN = register_send_kind(SendKind("alert-run"))


@dataclass(frozen=True)
class AlertRunSummary:
    """What one alert run did; `run_id` is None for an instant run that found nothing."""

    run_id: int | None
    schedule_id: int | None
    name: str
    status: AlertRunStatus
    candidates_matched: int
    digests_queued: int
    jobs_listed: int
    started_at: datetime
    finished_at: datetime
    error: str = ""
    # Why nothing was queued, with counts, when a scheduled run matched nobody.
    explanation: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status is AlertRunStatus.SUCCEEDED


@dataclass(frozen=True)
class _Scope:
    """Whom a run serves: which interests (None: every active one) and which frequencies."""

    interest_ids: tuple[int, ...] | None
    frequencies: tuple[Frequency, ...]


def _interest_filter(column: Any, scope: _Scope) -> Any:
    if scope.interest_ids is not None:
        return column.in_(scope.interest_ids)
    return column.in_(
        select(_INTERESTS.c.id).where(
            _INTERESTS.c.status == InterestStatus.ACTIVE, _INTERESTS.c.merged_into_id.is_(None)
        )
    )


def _eligible_subscription(at: datetime, scope: _Scope) -> Any:
    """Subscribed (confirmed), not paused, of the run's frequencies and interests."""
    return and_(
        _SUBS.c.status == SubscriptionStatus.SUBSCRIBED,
        _SUBS.c.frequency.in_(scope.frequencies),
        or_(_SUBS.c.paused_until.is_(None), _SUBS.c.paused_until <= at),
        _interest_filter(_SUBS.c.interest_id, scope),
    )


def _threshold() -> Any:
    return func.coalesce(_SUBS.c.last_alerted_at, _SUBS.c.created_at)


def _drop_temp(conn: Connection) -> None:
    for table in reversed(_TEMP_TABLES):
        conn.execute(text(f"DROP TABLE IF EXISTS {table.name}").execution_options(**TEMPORARY_ONLY))


def _pairs_query(at: datetime, scope: _Scope) -> Any:
    """Open jobs tagged with the scope's interests: (interest, job, posted_at)."""
    at_param = literal(at, UTCDateTime())
    return (
        select(job_interests.c.interest_id, _JOBS.c.id, _JOBS.c.posted_at)
        .join(_JOBS, _JOBS.c.id == job_interests.c.job_id)
        .where(
            _JOBS.c.posted_at <= at_param,
            or_(_JOBS.c.closed_at.is_(None), _JOBS.c.closed_at > at_param),
            _interest_filter(job_interests.c.interest_id, scope),
        )
    )


def _targets_query(at: datetime, scope: _Scope) -> Any:
    """Eligible subscriptions of active candidates with at least one new job never sent."""
    unsent_new_job = (
        select(_PAIRS.c.job_id)
        .where(
            _PAIRS.c.interest_id == _SUBS.c.interest_id,
            _PAIRS.c.posted_at > _threshold(),
            # Two levels down, so correlated by name: auto-correlation sees one level.
            ~select(_ITEMS.c.id)
            .where(
                _ITEMS.c.candidate_id == _SUBS.c.candidate_id,
                _ITEMS.c.job_id == _PAIRS.c.job_id,
            )
            .correlate(_SUBS, _PAIRS)
            .exists(),
        )
        .correlate(_SUBS)
        .exists()
    )
    return (
        select(_SUBS.c.candidate_id, _SUBS.c.id, _SUBS.c.interest_id, _threshold())
        .join(_CANDIDATES, _CANDIDATES.c.id == _SUBS.c.candidate_id)
        .where(
            _eligible_subscription(at, scope),
            _CANDIDATES.c.status == CandidateStatus.ACTIVE,
            unsent_new_job,
        )
    )


def _match(conn: Connection, scope: _Scope, at: datetime) -> int:
    """Find who gets a digest for `scope` at `at`, in temporary tables; return how many.

    Only subscriptions are walked here, with one index probe each into the pairs
    table (the open jobs; the probe's range starts at the subscription's
    threshold, so older jobs cost nothing); the jobs of each digest are listed
    chunk by chunk (`_rank_chunk`).
    """
    _drop_temp(conn)
    for table in _TEMP_TABLES:
        table.create(conn)
    conn.execute(
        insert(_PAIRS).from_select(["interest_id", "job_id", "posted_at"], _pairs_query(at, scope))
    )
    conn.execute(_PAIRS_INDEX)
    conn.execute(
        insert(_TARGETS).from_select(
            ["candidate_id", "subscription_id", "interest_id", "threshold"],
            _targets_query(at, scope),
        )
    )
    conn.execute(_TARGETS_INDEX)
    if conn.dialect.name == "postgresql":
        # Autovacuum never analyzes temporary tables; without statistics the planner
        # guesses, and the per-chunk joins below went from milliseconds to a second.
        conn.execute(
            text("ANALYZE tc_alert_pairs, tc_alert_targets").execution_options(**TEMPORARY_ONLY)
        )
    return (
        conn.scalar(select(func.count(distinct(_TARGETS.c.candidate_id))).select_from(_TARGETS))
        or 0
    )


def _explain_nothing(conn: Connection, scope: _Scope, at: datetime) -> str:
    """Why `_match` found nobody, with counts, read in the same snapshot as the match.

    Three causes, checked in order: no eligible subscriber at all; subscribers, but
    no open job in their interests posted since their last alert; new jobs, but each
    one already listed for that candidate by an earlier digest (another schedule, or
    instant alerts).
    """
    eligible = and_(
        _eligible_subscription(at, scope), _CANDIDATES.c.status == CandidateStatus.ACTIVE
    )
    people = (
        conn.scalar(
            select(func.count(distinct(_SUBS.c.candidate_id)))
            .select_from(_SUBS.join(_CANDIDATES, _CANDIDATES.c.id == _SUBS.c.candidate_id))
            .where(eligible)
        )
        or 0
    )
    if not people:
        return explain_empty_run(0, 0, 0)
    open_jobs = conn.scalar(select(func.count(distinct(_PAIRS.c.job_id)))) or 0
    has_new_job = (
        select(_PAIRS.c.job_id)
        .where(_PAIRS.c.interest_id == _SUBS.c.interest_id, _PAIRS.c.posted_at > _threshold())
        .correlate(_SUBS)
        .exists()
    )
    with_new = (
        conn.scalar(
            select(func.count(distinct(_SUBS.c.candidate_id)))
            .select_from(_SUBS.join(_CANDIDATES, _CANDIDATES.c.id == _SUBS.c.candidate_id))
            .where(eligible, has_new_job)
        )
        or 0
    )
    return explain_empty_run(people, open_jobs, with_new)


def explain_empty_run(people: int, open_jobs: int, with_new: int) -> str:
    """Why a run queued nothing, from its counts: eligible subscribers (`people`), open jobs
    in their interests, and subscribers with a job posted since their last alert."""
    if not people:
        return (
            "No eligible subscribers: nobody is subscribed (confirmed, not paused) to "
            "this schedule's interests at its frequency."
        )
    if not with_new:
        return (
            f"No new jobs since the last alert: {_count(people, 'subscriber')}, "
            f"{_count(open_jobs, 'open job')} in their interests, none posted since "
            "each subscriber's last alert."
        )
    return (
        f"Jobs already sent: {_count(with_new, 'subscriber')} with new jobs, but every "
        "one was already listed in an earlier digest (another schedule, or instant alerts)."
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _rank_chunk(conn: Connection, lo: int, hi: int) -> None:
    """List the new, unsent jobs of candidates lo..hi, keeping each one's ten newest."""
    if conn.dialect.name == "postgresql":
        # Not DELETE: temporary tables are never vacuumed, so dead rows would pile
        # up chunk after chunk and every scan would wade through them.
        conn.execute(
            text("TRUNCATE tc_alert_matches, tc_alert_ranked").execution_options(**TEMPORARY_ONLY)
        )
    else:
        conn.execute(delete(_MATCHES))
        conn.execute(delete(_RANKED))
    conn.execute(
        insert(_MATCHES).from_select(
            ["candidate_id", "interest_id", "job_id", "posted_at"],
            select(
                _TARGETS.c.candidate_id,
                _TARGETS.c.interest_id,
                _PAIRS.c.job_id,
                _PAIRS.c.posted_at,
            )
            .join(
                _PAIRS,
                and_(
                    _PAIRS.c.interest_id == _TARGETS.c.interest_id,
                    _PAIRS.c.posted_at > _TARGETS.c.threshold,
                ),
            )
            .where(
                _TARGETS.c.candidate_id.between(lo, hi),
                ~select(_ITEMS.c.id)
                .where(
                    _ITEMS.c.candidate_id == _TARGETS.c.candidate_id,
                    _ITEMS.c.job_id == _PAIRS.c.job_id,
                )
                .exists(),
            ),
        )
    )
    jobs = (
        select(_MATCHES.c.candidate_id, _MATCHES.c.job_id, _MATCHES.c.posted_at)
        .distinct()
        .subquery("jobs")
    )
    ranked = select(
        jobs.c.candidate_id,
        jobs.c.job_id,
        func.row_number()
        .over(
            partition_by=jobs.c.candidate_id,
            order_by=(jobs.c.posted_at.desc(), jobs.c.job_id.desc()),
        )
        .label("rn"),
        func.count().over(partition_by=jobs.c.candidate_id).label("total"),
    ).subquery("ranked")
    conn.execute(
        insert(_RANKED).from_select(
            ["candidate_id", "job_id", "rn", "total"],
            select(ranked.c.candidate_id, ranked.c.job_id, ranked.c.rn, ranked.c.total).where(
                ranked.c.rn <= DIGEST_SIZE
            ),
        )
    )


def _upsert(conn: Connection, table: Table) -> Any:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return pg_insert(table)
    if dialect == "sqlite":
        return sqlite_insert(table)
    raise RuntimeError(f"unsupported database backend {dialect}")  # pragma: no cover


def _next_chunk(conn: Connection, after: int, size: int) -> tuple[int, int] | None:
    """The next (at most) `size` targeted candidates after id `after`: (last id, how many)."""
    ids = (
        select(_TARGETS.c.candidate_id)
        .distinct()
        .where(_TARGETS.c.candidate_id > after)
        .order_by(_TARGETS.c.candidate_id)
        .limit(size)
        .subquery()
    )
    row = conn.execute(select(func.max(ids.c.candidate_id), func.count())).one()
    return None if row[0] is None else (row[0], row[1])


@dataclass
class _Digest:
    to_address: str
    job_ids: list[int] = field(default_factory=list)
    total: int = 0
    interest_ids: list[int] = field(default_factory=list)


def _chunk_digests(conn: Connection, listed: set[tuple[int, int]] | None) -> dict[int, _Digest]:
    """The ranked chunk's digests: jobs newest first (only `listed` pairs, if given), interests."""
    digests: dict[int, _Digest] = {}
    for candidate_id, job_id, total, email in conn.execute(
        select(_RANKED.c.candidate_id, _RANKED.c.job_id, _RANKED.c.total, _CANDIDATES.c.email)
        .join(_CANDIDATES, _CANDIDATES.c.id == _RANKED.c.candidate_id)
        .order_by(_RANKED.c.candidate_id, _RANKED.c.rn)
    ):
        if listed is not None and (candidate_id, job_id) not in listed:
            continue
        digest = digests.get(candidate_id)
        if digest is None:
            digest = digests[candidate_id] = _Digest(email, total=total)
        digest.job_ids.append(job_id)
    for candidate_id, interest_id in conn.execute(
        select(_MATCHES.c.candidate_id, _MATCHES.c.interest_id)
        .distinct()
        .order_by(_MATCHES.c.candidate_id, _MATCHES.c.interest_id)
    ):
        if candidate_id in digests:
            digests[candidate_id].interest_ids.append(interest_id)
    return digests


def alert_context(
    run_id: int | None, job_ids: Sequence[int], total: int, interest_ids: Sequence[int]
) -> dict[str, Any]:
    """The outbox context of one digest, as jobs/digests.py reads it at send time."""
    context: dict[str, Any] = {
        "interest_id": interest_ids[0],
        "interest_ids": list(interest_ids),
        "job_ids": list(job_ids),
        "more_count": max(total - len(job_ids), 0),
    }
    if run_id is not None:
        context["alert_run_id"] = run_id
    return context


def dedupe_key(run_id: int, candidate_id: int) -> str:
    """The outbox dedupe key of a run's digest to one candidate."""
    return ALERT_RUN.dedupe_key(run_id, candidate_id)


def _write_chunk(conn: Connection, run_id: int, at: datetime, lo: int, hi: int) -> tuple[int, int]:
    """Digest items, outbox rows and thresholds for candidates lo..hi; (digests, jobs listed)."""
    _rank_chunk(conn, lo, hi)
    # RETURNING names only the items this run inserted: a job another run already
    # listed for the candidate conflicts, and so is not listed again.
    listed = {
        (row.candidate_id, row.job_id)
        for row in conn.execute(
            _upsert(conn, _ITEMS)
            .from_select(
                ["candidate_id", "job_id", "alert_run_id", "created_at"],
                select(
                    _RANKED.c.candidate_id,
                    _RANKED.c.job_id,
                    literal(run_id, Integer),
                    literal(now(), UTCDateTime()),
                ).where(true()),
            )
            .on_conflict_do_nothing(index_elements=["candidate_id", "job_id"])
            .returning(_ITEMS.c.candidate_id, _ITEMS.c.job_id)
        )
    }
    rows = [
        {
            "dedupe_key": dedupe_key(run_id, candidate_id),
            "kind": MessageKind.JOB_ALERT,
            "template": ALERT_TEMPLATE,
            "to_address": digest.to_address,
            "candidate_id": candidate_id,
            "context": alert_context(run_id, digest.job_ids, digest.total, digest.interest_ids),
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": at,
            "deliver_until": at + DEFAULT_DELIVER_WITHIN,
            "last_error": "",
            "created_at": at,
        }
        for candidate_id, digest in _chunk_digests(conn, listed).items()
        if digest.job_ids and digest.interest_ids
    ]
    queued = 0
    if rows:
        # A plain executemany: with RETURNING it took three times as long on PostgreSQL.
        # The keys carry the run id and chunks never share a candidate, so nothing
        # conflicts within a run; where the driver reports no count, all went in.
        stmt = _upsert(conn, _OUTBOX).on_conflict_do_nothing(index_elements=["dedupe_key"])
        written = conn.execute(stmt, rows).rowcount
        queued = written if written >= 0 else len(rows)
    conn.execute(
        update(_SUBS)
        .where(
            _SUBS.c.id.in_(
                select(_TARGETS.c.subscription_id).where(_TARGETS.c.candidate_id.between(lo, hi))
            ),
            or_(_SUBS.c.last_alerted_at.is_(None), _SUBS.c.last_alerted_at < at),
        )
        .values(last_alerted_at=at)
    )
    return queued, len(listed)


@contextmanager
def _connection(session_factory: sessionmaker[Session]) -> Iterator[Connection]:
    """One connection for a whole run: the temporary tables live as long as it does."""
    with session_factory() as session:
        bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with engine.connect() as conn:
        yield conn


def _start_run(conn: Connection, schedule_id: int | None, started: datetime) -> int:
    run_id: int = conn.execute(
        insert(_RUNS)
        .values(schedule_id=schedule_id, status=AlertRunStatus.RUNNING, started_at=started)
        .returning(_RUNS.c.id)
    ).scalar_one()
    return run_id


def _run(
    session_factory: sessionmaker[Session],
    schedule_id: int | None,
    name: str,
    scope: _Scope,
    *,
    at: datetime | None,
    batch_size: int,
    on_progress: Progress | None,
    record_empty: bool = True,
) -> AlertRunSummary:
    """Match, then write chunk by chunk; the run row is written once matching is done.

    Without `record_empty`, a run that matched nobody leaves no row (instant
    runs fire every 30 seconds); a failed run always does.
    """
    at = at or now()
    started = now()
    queued = listed = matched = 0
    error = explanation = ""
    run_id: int | None = None
    with _connection(session_factory) as conn:
        try:
            # Reads and temporary tables only: on SQLite, no write lock is held meanwhile.
            with read_only_work(), conn.begin():
                matched = _match(conn, scope, at)
                if not matched and record_empty:
                    explanation = _explain_nothing(conn, scope, at)
            if matched or record_empty:
                with conn.begin():
                    run_id = _start_run(conn, schedule_id, started)
            if on_progress is not None:
                on_progress(0, matched)
            done, after = 0, 0
            while run_id is not None:
                with conn.begin():
                    chunk = _next_chunk(conn, after, batch_size)
                    if chunk is None:
                        break
                    hi, size = chunk
                    chunk_queued, chunk_listed = _write_chunk(conn, run_id, at, after + 1, hi)
                queued += chunk_queued
                listed += chunk_listed
                done += size
                after = hi
                if on_progress is not None:
                    on_progress(done, matched)
            status = AlertRunStatus.SUCCEEDED
        except Exception as exc:  # recorded on the run; the scheduler must keep going
            if conn.in_transaction():
                conn.rollback()
            status = AlertRunStatus.FAILED
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.exception("alert run failed", extra={"run_id": run_id, "schedule": name})
        finished = now()
        with conn.begin():
            if run_id is None and status is AlertRunStatus.FAILED:
                run_id = _start_run(conn, schedule_id, started)
            if run_id is not None:
                conn.execute(
                    update(_RUNS)
                    .where(_RUNS.c.id == run_id)
                    .values(
                        status=status,
                        finished_at=finished,
                        candidates_matched=matched,
                        digests_queued=queued,
                        error=error,
                        explanation=explanation,
                    )
                )
            _drop_temp(conn)
    summary = AlertRunSummary(
        run_id=run_id,
        schedule_id=schedule_id,
        name=name,
        status=status,
        candidates_matched=matched,
        digests_queued=queued,
        jobs_listed=listed,
        started_at=started,
        finished_at=finished,
        error=error,
        explanation=explanation,
    )
    log.info(
        "alert run finished",
        extra={
            "run_id": run_id,
            "schedule": name,
            "status": status.value,
            "candidates_matched": matched,
            "digests_queued": queued,
            "jobs_listed": listed,
            "seconds": round((finished - started).total_seconds(), 3),
            **({"why": explanation} if explanation else {}),
        },
    )
    return summary


def _schedule_scope(session: Session, schedule_id: int) -> tuple[str, _Scope]:
    row = session.execute(
        select(_SCHEDULES.c.name, _SCHEDULES.c.all_interests, _SCHEDULES.c.frequency_class).where(
            _SCHEDULES.c.id == schedule_id
        )
    ).first()
    if row is None:
        raise ScheduleNotFound(schedule_id)
    interest_ids: tuple[int, ...] | None = None
    if not row.all_interests:
        interest_ids = tuple(
            session.scalars(
                select(schedule_interests.c.interest_id)
                .join(_INTERESTS, _INTERESTS.c.id == schedule_interests.c.interest_id)
                .where(
                    schedule_interests.c.schedule_id == schedule_id,
                    _INTERESTS.c.status == InterestStatus.ACTIVE,
                    _INTERESTS.c.merged_into_id.is_(None),
                )
                .order_by(schedule_interests.c.interest_id)
            )
        )
    return row.name, _Scope(interest_ids, _CLASS_FREQUENCIES[FrequencyClass(row.frequency_class)])


def run_schedule(
    session_factory: sessionmaker[Session],
    schedule_id: int,
    *,
    at: datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Progress | None = None,
) -> AlertRunSummary:
    """Run one alert schedule now (as of `at`): match, write digest items, queue digests.

    Raises `ScheduleNotFound`; any other failure is recorded on the run (status
    failed, with the error) and returned, so a scheduler keeps going.
    `on_progress(done, total)` is called after each chunk of candidates.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    with read_only_work(), session_factory() as session:
        name, scope = _schedule_scope(session, schedule_id)
    return _run(
        session_factory,
        schedule_id,
        name,
        scope,
        at=at,
        batch_size=batch_size,
        on_progress=on_progress,
    )


INSTANT_RUN_NAME = "instant alerts"


def run_instant(
    session_factory: sessionmaker[Session],
    *,
    at: datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Progress | None = None,
) -> AlertRunSummary:
    """Queue alerts for instant subscribers: every interest, jobs new since each was alerted.

    Recorded as an alert run without a schedule, unless it found nothing to send.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    return _run(
        session_factory,
        None,
        INSTANT_RUN_NAME,
        _Scope(None, (Frequency.INSTANT,)),
        at=at,
        batch_size=batch_size,
        on_progress=on_progress,
        record_empty=False,
    )


# --------------------------------------------------------------------------- preview


@dataclass(frozen=True)
class SampleRecipient:
    """One recipient a schedule would mail now, with the outbox context of the digest."""

    candidate_id: int
    to_address: str
    first_name: str
    context: dict[str, Any]


@dataclass(frozen=True)
class AudiencePreview:
    """Who an alert schedule would mail now, and why the others would not get it."""

    schedule_id: int
    name: str
    receive: int
    excluded: dict[str, int]
    sample: SampleRecipient | None

    @property
    def considered(self) -> int:
        return self.receive + sum(self.excluded.values())


# Exclusion reasons, in the order the console lists them.
EXCLUSION_REASONS = (
    "unsubscribed",
    "unconfirmed",
    "paused",
    "suppressed",
    "deleted",
    "nothing new",
)
_SUPPRESSION_BATCH = 1000


def preview_schedule(session: Session, schedule_id: int) -> AudiencePreview:
    """Count who would get schedule `schedule_id`'s digest now, and why the others would not.

    Everyone with a subscription in the schedule's interests and frequency class
    is counted once, by their most advanced subscription: deleted, else
    unsubscribed, unconfirmed, paused, or eligible; eligible candidates with no
    new job count as "nothing new", and suppressed addresses as "suppressed".
    Writes nothing but temporary tables, which it drops; never commits.
    """
    name, scope = _schedule_scope(session, schedule_id)
    at = now()
    conn = session.connection()
    in_scope = and_(
        _SUBS.c.frequency.in_(scope.frequencies), _interest_filter(_SUBS.c.interest_id, scope)
    )
    eligible = and_(
        _SUBS.c.status == SubscriptionStatus.SUBSCRIBED,
        or_(_SUBS.c.paused_until.is_(None), _SUBS.c.paused_until <= at),
    )
    best = func.max(
        case(
            (eligible, 3),
            (_SUBS.c.status == SubscriptionStatus.SUBSCRIBED, 2),
            (_SUBS.c.status == SubscriptionStatus.UNCONFIRMED, 1),
            else_=0,
        )
    ).label("best")
    per_candidate = (
        select(_CANDIDATES.c.status.label("status"), best)
        .select_from(_SUBS)
        .join(_CANDIDATES, _CANDIDATES.c.id == _SUBS.c.candidate_id)
        .where(in_scope)
        .group_by(_SUBS.c.candidate_id, _CANDIDATES.c.status)
        .subquery()
    )
    excluded = dict.fromkeys(EXCLUSION_REASONS, 0)
    eligible_count = 0
    labels = {0: "unsubscribed", 1: "unconfirmed", 2: "paused"}
    for status, level, count in conn.execute(
        select(per_candidate.c.status, per_candidate.c.best, func.count()).group_by(
            per_candidate.c.status, per_candidate.c.best
        )
    ):
        if CandidateStatus(status) is CandidateStatus.DELETED:
            excluded["deleted"] += count
        elif level == 3:
            eligible_count += count
        else:
            excluded[labels[level]] += count
    # On failure the caller's rollback takes the temporary tables too (DDL is transactional).
    matched = _match(conn, scope, at)
    suppressed, sample = _suppressed_and_sample(session, conn)
    _drop_temp(conn)
    excluded["nothing new"] = eligible_count - matched
    excluded["suppressed"] = suppressed
    return AudiencePreview(schedule_id, name, matched - suppressed, excluded, sample)


def _suppressed_and_sample(
    session: Session, conn: Connection
) -> tuple[int, SampleRecipient | None]:
    """Count suppressed addresses among the targets; list the first unsuppressed one's digest."""
    suppressed = 0
    sample_id: int | None = None
    after = 0
    while True:
        rows = conn.execute(
            select(_CANDIDATES.c.id, _CANDIDATES.c.email)
            .where(
                _CANDIDATES.c.id.in_(select(_TARGETS.c.candidate_id)),
                _CANDIDATES.c.id > after,
            )
            .order_by(_CANDIDATES.c.id)
            .limit(_SUPPRESSION_BATCH)
        ).all()
        if not rows:
            break
        blocked = suppressions_among(session, (row.email for row in rows))
        suppressed += sum(1 for row in rows if row.email in blocked)
        if sample_id is None:
            sample_id = next((row.id for row in rows if row.email not in blocked), None)
        after = rows[-1].id
    if sample_id is None:
        return suppressed, None
    _rank_chunk(conn, sample_id, sample_id)
    digest = _chunk_digests(conn, None).get(sample_id)
    if digest is None or not digest.job_ids:
        return suppressed, None
    first_name = conn.scalar(select(_CANDIDATES.c.first_name).where(_CANDIDATES.c.id == sample_id))
    context = alert_context(None, digest.job_ids, digest.total, digest.interest_ids)
    return suppressed, SampleRecipient(sample_id, digest.to_address, first_name or "", context)


def render_sample(
    session: Session,
    sample: SampleRecipient,
    settings: MailSettings,
    *,
    links_url: str,
    renderer: Renderer | None = None,
) -> RenderedEmail | str:
    """The sample's digest as the sender would render it now, or why the sender would skip it.

    The context is the worker's: the base context, the digest's outbox context,
    then `jobs.digests.digest_context` (open jobs, what each matched, the footer
    reason). Only the footer's Manage preferences and Unsubscribe links differ:
    they point at `links_url`, because a recruiter's preview must not carry links
    that act as the candidate (and would record the candidate's consent).
    Reads only; the outbox row it renders is never added to the session.
    """
    message = OutboxMessage(
        id=0,
        kind=MessageKind.JOB_ALERT,
        template=ALERT_TEMPLATE,
        to_address=sample.to_address,
        candidate_id=sample.candidate_id,
        context=sample.context,
    )
    extra = digest_context(session, [message], settings).get(0, "the digest could not be built")
    if isinstance(extra, str):
        return extra
    context: dict[str, Any] = {
        **settings.base_context(sample.first_name),
        **sample.context,
        **extra,
        "preferences_url": links_url,
        "unsubscribe_url": links_url,
    }
    return (renderer or Renderer()).render(ALERT_TEMPLATE, context)
