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
   **Saved searches** join the same targets (`_match_searches`): those
   subscribed, not paused, of active candidates, of the run's frequencies (a run
   for some interests serves only searches narrowed to one of them; an
   all-interests or instant run serves all of its frequency). The open jobs
   posted after the oldest such search's threshold go into a temporary table;
   then matching goes from the fewest things to the most: the distinct queries,
   tokenized by the database itself beside the new jobs' titles and descriptions
   (PostgreSQL: `to_tsvector` under each posting's language configuration;
   SQLite: temporary FTS5 tables with the index's tokenizer, read back through
   `fts5vocab`), match a job when all their words are among its words, which is
   what /jobs search asks (`jobs.search_index`); the distinct places match by
   `location_matches`; then each distinct (query, place) pair, each distinct
   search with its workplace, type and interest filters, and last the saved
   searches with a matched job newer than their own threshold and never sent to
   their candidate. 100,000 searches sharing a few thousand distinct ones cost
   the distinct ones.
3. **Write**, `batch_size` candidates per transaction: list each candidate's
   new, unsent jobs (targets joined to pairs, and to the searches' matches), each
   with its reason (an interest or a saved search), rank them newest first with a
   window function and keep ten with the total; insert those as digest items
   with ON CONFLICT DO NOTHING … RETURNING; queue one outbox row per candidate
   naming only the jobs that insert returned (dedupe key per run and
   candidate), the interests, and the saved searches behind each listed job;
   move `last_alerted_at` of the targeted subscriptions and saved searches to the
   run's time. The row's context is what jobs/digests.py reads at send time.

Idempotence rests on the unique digest items: a job is listed only if this run
inserted its (candidate, job) item, so a re-run, a concurrent run or a run
restarted after a crash halfway never lists a job twice. A crash loses only the
chunk in flight, whose transaction rolls back; the next run picks those
candidates up.

Only the listed jobs get digest items. The rest are counted in `more_count`
(the digest links to all of them) and are not listed by a later digest: the
subscription's (or saved search's) `last_alerted_at` moves past them. So one
candidate gets one digest however many interests and searches found their jobs,
each job listed once with every reason, and none when nothing is new.

Suppression is not joined here: suppressions are HMACs of addresses under a
salt (see preferences/suppressions.py), which SQL cannot compute on SQLite. The
worker's send-time check skips suppressed addresses; `preview_schedule` counts
them by hashing the matched addresses in batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    String,
    Table,
    and_,
    case,
    delete,
    distinct,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    type_coerce,
    union_all,
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
from jobs.search_index import FTS5_TOKENIZE, location_matches, pg_config_sql
from mailer.config import MailSettings
from mailer.i18n import message_locales
from mailer.models import MessageKind, OutboxMessage, OutboxStatus
from mailer.outbox import DEFAULT_DELIVER_WITHIN
from mailer.render import RenderedEmail, Renderer
from mailer.sends import SendKind, register_send_kind
from preferences.clock import now
from preferences.db import TEMPORARY_ONLY, UTCDateTime, read_only_work
from preferences.events import EventType, insert_events
from preferences.models import (
    Candidate,
    CandidateStatus,
    Frequency,
    Interest,
    InterestStatus,
    SavedSearch,
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
_SEARCHES = cast(Table, SavedSearch.__table__)

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
# The eligible subscriptions and saved searches with at least one new, unsent job: who
# gets a digest, and for which interests (subscription_id, interest_id) and searches
# (search_id, criteria_id); each row is one or the other.
_TARGETS = Table(
    "tc_alert_targets",
    _TEMP,
    Column("candidate_id", Integer, nullable=False),
    Column("subscription_id", Integer),
    Column("interest_id", Integer),
    Column("search_id", Integer),
    Column("criteria_id", Integer),
    Column("threshold", UTCDateTime(), nullable=False),
    prefixes=["TEMPORARY"],
)
# One chunk's (candidate, job) matches, each with its reason (an interest or a saved
# search), then its ranked digests; emptied per chunk.
_MATCHES = Table(
    "tc_alert_matches",
    _TEMP,
    Column("candidate_id", Integer, nullable=False),
    Column("interest_id", Integer),
    Column("search_id", Integer),
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
# Saved searches. The new open jobs (posted after the oldest eligible search's
# threshold) with the fields the filters read; `config` is the posting's PostgreSQL text
# search configuration ("" on SQLite).
_SEARCH_JOBS = Table(
    "tc_alert_search_jobs",
    _TEMP,
    Column("job_id", Integer, primary_key=True, autoincrement=False),
    Column("posted_at", UTCDateTime(), nullable=False),
    Column("location", String, nullable=False),
    Column("workplace", String, nullable=False),
    Column("employment_type", String, nullable=False),
    Column("config", String, nullable=False),
    prefixes=["TEMPORARY"],
)
# The distinct searches among the eligible saved searches: many candidates save the
# same search, and each distinct one is matched once. "" and 0 stand for "any".
_CRITERIA = Table(
    "tc_alert_criteria",
    _TEMP,
    Column("id", Integer, primary_key=True),
    Column("query", String, nullable=False),
    Column("location", String, nullable=False),
    Column("workplace", String, nullable=False),
    Column("employment_type", String, nullable=False),
    Column("interest_id", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
# Their distinct queries: the costly part (words) is done once per query, and far
# fewer queries than searches exist (a query is shared across places and filters).
_QUERIES = Table(
    "tc_alert_queries",
    _TEMP,
    Column("id", Integer, primary_key=True),
    Column("query", String, nullable=False),
    prefixes=["TEMPORARY"],
)
# The new jobs' words and each query's words, as the database's own tokenizer makes
# them (stemmed, case and diacritics folded), so an alert matches what /jobs finds.
_JOB_TERMS = Table(
    "tc_alert_job_terms",
    _TEMP,
    Column("job_id", Integer, nullable=False),
    Column("config", String, nullable=False),
    Column("term", String, nullable=False),
    prefixes=["TEMPORARY"],
)
# Per configuration in use among the new jobs (PostgreSQL; one, "", on SQLite), with
# `terms`, how many distinct words the query has under it.
_QUERY_TERMS = Table(
    "tc_alert_query_terms",
    _TEMP,
    Column("query_id", Integer, nullable=False),
    Column("config", String, nullable=False),
    Column("term", String, nullable=False),
    Column("terms", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
# The (query, configuration) pairs without a word: no keyword filter for those jobs.
_WORDLESS = Table(
    "tc_alert_wordless",
    _TEMP,
    Column("query_id", Integer, nullable=False),
    Column("config", String, nullable=False),
    prefixes=["TEMPORARY"],
)
# Which query matches which new job (every word among the job's; a query without a
# word under the job's configuration matches every job of it).
_QUERY_MATCHES = Table(
    "tc_alert_query_matches",
    _TEMP,
    Column("query_id", Integer, nullable=False),
    Column("job_id", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
# The distinct places of the searches, each as its criteria spell it (`location`) and as
# `location_matches` wants it (`wanted`: lower-cased by Python, as /jobs does; SQLite's
# lower() folds ASCII only).
_PLACES = Table(
    "tc_alert_places",
    _TEMP,
    Column("location", String, nullable=False),
    Column("wanted", String, nullable=False),
    prefixes=["TEMPORARY"],
)
# Which distinct place ("" for anywhere) matches which new job (`location_matches`).
_PLACE_MATCHES = Table(
    "tc_alert_place_matches",
    _TEMP,
    Column("location", String, nullable=False),
    Column("job_id", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
# Which distinct (query, place) of the searches matches which new job.
_QUERY_PLACE_MATCHES = Table(
    "tc_alert_query_place_matches",
    _TEMP,
    Column("query", String, nullable=False),
    Column("location", String, nullable=False),
    Column("job_id", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
# Which distinct search matches which new job: all its filters hold.
_CRITERIA_MATCHES = Table(
    "tc_alert_criteria_matches",
    _TEMP,
    Column("criteria_id", Integer, nullable=False),
    Column("job_id", Integer, nullable=False),
    Column("posted_at", UTCDateTime(), nullable=False),
    prefixes=["TEMPORARY"],
)
_TEMP_TABLES = (
    _PAIRS,
    _TARGETS,
    _MATCHES,
    _RANKED,
    _SEARCH_JOBS,
    _CRITERIA,
    _QUERIES,
    _JOB_TERMS,
    _QUERY_TERMS,
    _WORDLESS,
    _QUERY_MATCHES,
    _PLACES,
    _PLACE_MATCHES,
    _QUERY_PLACE_MATCHES,
    _CRITERIA_MATCHES,
)
# SQLite: the FTS5 tables that tokenize, and the fts5vocab tables that read their words.
_FTS_TABLES = (
    "tc_alert_job_vocab",
    "tc_alert_query_vocab",
    "tc_alert_job_fts",
    "tc_alert_query_fts",
)
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


def _eligible_search(at: datetime, scope: _Scope) -> Any:
    """Saved searches a run serves: subscribed, not paused, of its frequencies; a run for
    some interests serves only the searches narrowed to one of them."""
    conditions = [
        _SEARCHES.c.status == SubscriptionStatus.SUBSCRIBED,
        _SEARCHES.c.frequency.in_(scope.frequencies),
        or_(_SEARCHES.c.paused_until.is_(None), _SEARCHES.c.paused_until <= at),
    ]
    if scope.interest_ids is not None:
        conditions.append(_SEARCHES.c.interest_id.in_(scope.interest_ids))
    return and_(*conditions)


def _search_threshold() -> Any:
    return func.coalesce(_SEARCHES.c.last_alerted_at, _SEARCHES.c.created_at)


def _as_text(column: Any) -> Any:
    """A nullable string column (an enum's value) as text, "" for NULL ("any")."""
    return func.coalesce(type_coerce(column, String), "")


def _search_criteria_columns() -> tuple[Any, ...]:
    """A saved search's criteria as `_CRITERIA` spells them: compared lower-cased and
    trimmed, "" or 0 for "any"; equal searches spelled differently share one row."""
    return (
        func.lower(func.trim(_SEARCHES.c.query)),
        func.lower(func.trim(_SEARCHES.c.location)),
        _as_text(_SEARCHES.c.workplace),
        _as_text(_SEARCHES.c.employment_type),
        func.coalesce(_SEARCHES.c.interest_id, 0),
    )


def _same_criteria() -> Any:
    query, location, workplace, employment_type, interest_id = _search_criteria_columns()
    return and_(
        _CRITERIA.c.query == query,
        _CRITERIA.c.location == location,
        _CRITERIA.c.workplace == workplace,
        _CRITERIA.c.employment_type == employment_type,
        _CRITERIA.c.interest_id == interest_id,
    )


def _temp_sql(sql: str) -> Any:
    return text(sql).execution_options(**TEMPORARY_ONLY)


def _drop_temp(conn: Connection) -> None:
    names = [table.name for table in reversed(_TEMP_TABLES)]
    if conn.dialect.name == "sqlite":
        names = [f"temp.{name}" for name in (*_FTS_TABLES, *names)]
    for name in names:
        conn.execute(text(f"DROP TABLE IF EXISTS {name}").execution_options(**TEMPORARY_ONLY))


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


def _search_filters() -> Any:
    """The filters of a search besides its words and place hold for a new job."""
    crit, job = _CRITERIA.c, _SEARCH_JOBS.c
    tagged = (
        select(job_interests.c.job_id)
        .where(
            job_interests.c.job_id == job.job_id,
            job_interests.c.interest_id == crit.interest_id,
        )
        .exists()
    )
    return and_(
        or_(crit.workplace == "", crit.workplace == job.workplace),
        or_(crit.employment_type == "", crit.employment_type == job.employment_type),
        or_(crit.interest_id == 0, tagged),
    )


def _fill_terms_sqlite(conn: Connection) -> None:
    """Tokenize the new jobs and the queries with FTS5 and read the words back.

    Temporary FTS5 tables with the index's tokenizer, and `fts5vocab` tables over them
    (one row per word occurrence: the document, here a job or query id, and the word).
    """
    tokenize = f"tokenize='{FTS5_TOKENIZE}'"
    for sql in (
        f"CREATE VIRTUAL TABLE temp.tc_alert_job_fts USING fts5(title, description, {tokenize})",
        "INSERT INTO temp.tc_alert_job_fts (rowid, title, description) "
        "SELECT p.id, coalesce(p.title, ''), coalesce(p.description, '') "
        "FROM job_postings AS p JOIN temp.tc_alert_search_jobs AS j ON j.job_id = p.id",
        "CREATE VIRTUAL TABLE temp.tc_alert_job_vocab "
        "USING fts5vocab('temp', 'tc_alert_job_fts', 'instance')",
        "INSERT INTO temp.tc_alert_job_terms (job_id, config, term) "
        "SELECT DISTINCT doc, '', term FROM temp.tc_alert_job_vocab",
        f"CREATE VIRTUAL TABLE temp.tc_alert_query_fts USING fts5(query, {tokenize})",
        "INSERT INTO temp.tc_alert_query_fts (rowid, query) "
        "SELECT id, query FROM temp.tc_alert_queries WHERE query <> ''",
        "CREATE VIRTUAL TABLE temp.tc_alert_query_vocab "
        "USING fts5vocab('temp', 'tc_alert_query_fts', 'instance')",
        "INSERT INTO temp.tc_alert_query_terms (query_id, config, term, terms) "
        "SELECT doc, '', term, count(*) OVER (PARTITION BY doc) "
        "FROM (SELECT DISTINCT doc, term FROM temp.tc_alert_query_vocab) AS words",
    ):
        conn.execute(_temp_sql(sql))


def _fill_terms_postgresql(conn: Connection) -> None:
    """The new jobs' lexemes under each one's configuration, and each query's lexemes
    under every configuration in use among them: what `plainto_tsquery` would make."""
    conn.execute(
        _temp_sql(
            "INSERT INTO tc_alert_job_terms (job_id, config, term) "
            "SELECT j.job_id, j.config, t.lexeme FROM tc_alert_search_jobs AS j "
            "JOIN job_postings AS p ON p.id = j.job_id "
            "CROSS JOIN LATERAL unnest("
            "to_tsvector(CAST(j.config AS regconfig), coalesce(p.title, '')) || "
            "to_tsvector(CAST(j.config AS regconfig), coalesce(p.description, ''))) AS t"
        )
    )
    conn.execute(
        _temp_sql(
            "INSERT INTO tc_alert_query_terms (query_id, config, term, terms) "
            "SELECT query_id, config, term, "
            "count(*) OVER (PARTITION BY query_id, config) FROM ("
            "SELECT DISTINCT q.id AS query_id, g.config, t.lexeme AS term "
            "FROM tc_alert_queries AS q "
            "CROSS JOIN (SELECT DISTINCT config FROM tc_alert_search_jobs) AS g "
            "CROSS JOIN LATERAL unnest(to_tsvector(CAST(g.config AS regconfig), q.query)) AS t "
            "WHERE q.query <> '') AS words"
        )
    )


def _analyze(conn: Connection, *tables: Table) -> None:
    """PostgreSQL: give the planner statistics of freshly filled temporary tables.

    Autovacuum never analyzes temporary tables; without statistics the planner
    guesses, and joins over them went from milliseconds to seconds.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_temp_sql("ANALYZE " + ", ".join(table.name for table in tables)))


def _match_words(conn: Connection) -> None:
    """Fill `_QUERY_MATCHES`: each distinct query's new jobs, by the database's words.

    A query matches a job when every word of it is among the job's words (the
    title's and the description's), as /jobs search asks. A query with no word under
    a posting's configuration (only stop words, or only punctuation) has no keyword
    filter for it: matching nothing would silently lose the alert.
    """
    if conn.dialect.name == "postgresql":
        _fill_terms_postgresql(conn)
    else:
        _fill_terms_sqlite(conn)
    conn.execute(
        _temp_sql("CREATE INDEX ix_tc_alert_job_terms ON tc_alert_job_terms (term, config)")
    )
    conn.execute(
        _temp_sql("CREATE INDEX ix_tc_alert_query_terms ON tc_alert_query_terms (query_id, config)")
    )
    conn.execute(_temp_sql("CREATE INDEX ix_tc_alert_search_jobs ON tc_alert_search_jobs (config)"))
    _analyze(conn, _QUERIES, _SEARCH_JOBS, _JOB_TERMS, _QUERY_TERMS)
    terms, words = _QUERY_TERMS.c, _JOB_TERMS.c
    conn.execute(
        insert(_QUERY_MATCHES).from_select(
            ["query_id", "job_id"],
            select(terms.query_id, words.job_id)
            .join(_JOB_TERMS, and_(words.term == terms.term, words.config == terms.config))
            .group_by(terms.query_id, words.job_id, terms.terms)
            .having(func.count() == terms.terms),
        )
    )
    configs = select(_SEARCH_JOBS.c.config).distinct().subquery("configs")
    conn.execute(
        insert(_WORDLESS).from_select(
            ["query_id", "config"],
            select(_QUERIES.c.id, configs.c.config)
            .select_from(_QUERIES)
            .join(configs, true())
            .where(
                ~select(terms.query_id)
                .where(terms.query_id == _QUERIES.c.id, terms.config == configs.c.config)
                .exists()
            ),
        )
    )
    conn.execute(
        insert(_QUERY_MATCHES).from_select(
            ["query_id", "job_id"],
            select(_WORDLESS.c.query_id, _SEARCH_JOBS.c.job_id).join(
                _SEARCH_JOBS, _SEARCH_JOBS.c.config == _WORDLESS.c.config
            ),
        )
    )


def _match_places(conn: Connection) -> None:
    """Fill `_PLACE_MATCHES`: each distinct place's new jobs ("" matches every one)."""
    places = [
        {"location": place, "wanted": place.lower()}
        for place in conn.scalars(
            select(_CRITERIA.c.location).where(_CRITERIA.c.location != "").distinct()
        )
    ]
    if places:
        conn.execute(insert(_PLACES), places)
    conn.execute(
        insert(_PLACE_MATCHES).from_select(
            ["location", "job_id"],
            union_all(
                select(literal("", String).label("location"), _SEARCH_JOBS.c.job_id),
                select(_PLACES.c.location, _SEARCH_JOBS.c.job_id).join(
                    _SEARCH_JOBS, location_matches(_SEARCH_JOBS.c.location, _PLACES.c.wanted)
                ),
            ),
        )
    )
    conn.execute(
        _temp_sql(
            "CREATE INDEX ix_tc_alert_place_matches ON tc_alert_place_matches (location, job_id)"
        )
    )


def _match_searches(conn: Connection, scope: _Scope, at: datetime) -> None:
    """Add the saved searches with a new, unsent job to the targets (temporary tables).

    Matching goes from the fewest things to the most, each level reusing the one
    before: the distinct queries' words against the new jobs' words
    (`_match_words`), the distinct places against their locations (`_match_places`),
    the distinct (query, place) pairs, then each distinct search with its other
    filters; last, the saved searches of each distinct search with a new job never
    sent to their candidate.
    """
    at_param = literal(at, UTCDateTime())
    eligible = and_(_eligible_search(at, scope), _CANDIDATES.c.status == CandidateStatus.ACTIVE)
    searches = _SEARCHES.join(_CANDIDATES, _CANDIDATES.c.id == _SEARCHES.c.candidate_id)
    conn.execute(
        insert(_CRITERIA).from_select(
            ["query", "location", "workplace", "employment_type", "interest_id"],
            select(*_search_criteria_columns()).select_from(searches).where(eligible).distinct(),
        )
    )
    if conn.scalar(select(_CRITERIA.c.id).limit(1)) is None:
        return  # nobody to serve by a saved search: spare the words and the statistics
    conn.execute(
        _temp_sql(
            "CREATE INDEX ix_tc_alert_criteria ON tc_alert_criteria "
            "(query, location, workplace, employment_type, interest_id)"
        )
    )
    conn.execute(insert(_QUERIES).from_select(["query"], select(_CRITERIA.c.query).distinct()))
    oldest = select(func.min(_search_threshold())).select_from(searches).where(eligible)
    config = (
        literal_column(pg_config_sql("job_postings.language"), String)
        if conn.dialect.name == "postgresql"
        else literal("", String)
    )
    conn.execute(
        insert(_SEARCH_JOBS).from_select(
            ["job_id", "posted_at", "location", "workplace", "employment_type", "config"],
            select(
                _JOBS.c.id,
                _JOBS.c.posted_at,
                func.coalesce(_JOBS.c.location, ""),
                _as_text(_JOBS.c.workplace),
                _as_text(_JOBS.c.employment_type),
                config,
            ).where(
                _JOBS.c.posted_at <= at_param,
                _JOBS.c.posted_at > oldest.scalar_subquery(),
                or_(_JOBS.c.closed_at.is_(None), _JOBS.c.closed_at > at_param),
            ),
        )
    )
    _match_words(conn)
    _match_places(conn)
    _analyze(conn, _CRITERIA, _QUERY_MATCHES, _PLACE_MATCHES)
    pairs = select(_CRITERIA.c.query, _CRITERIA.c.location).distinct().subquery("pairs")
    conn.execute(
        insert(_QUERY_PLACE_MATCHES).from_select(
            ["query", "location", "job_id"],
            select(pairs.c.query, pairs.c.location, _QUERY_MATCHES.c.job_id)
            .select_from(pairs)
            .join(_QUERIES, _QUERIES.c.query == pairs.c.query)
            .join(_QUERY_MATCHES, _QUERY_MATCHES.c.query_id == _QUERIES.c.id)
            .join(
                _PLACE_MATCHES,
                and_(
                    _PLACE_MATCHES.c.location == pairs.c.location,
                    _PLACE_MATCHES.c.job_id == _QUERY_MATCHES.c.job_id,
                ),
            ),
        )
    )
    conn.execute(
        _temp_sql(
            "CREATE INDEX ix_tc_alert_query_place_matches "
            "ON tc_alert_query_place_matches (query, location)"
        )
    )
    _analyze(conn, _QUERY_PLACE_MATCHES)
    found = _QUERY_PLACE_MATCHES.c
    conn.execute(
        insert(_CRITERIA_MATCHES).from_select(
            ["criteria_id", "job_id", "posted_at"],
            select(_CRITERIA.c.id, _SEARCH_JOBS.c.job_id, _SEARCH_JOBS.c.posted_at)
            .select_from(_CRITERIA)
            .join(
                _QUERY_PLACE_MATCHES,
                and_(found.query == _CRITERIA.c.query, found.location == _CRITERIA.c.location),
            )
            .join(_SEARCH_JOBS, _SEARCH_JOBS.c.job_id == found.job_id)
            .where(_search_filters()),
        )
    )
    conn.execute(
        _temp_sql(
            "CREATE INDEX ix_tc_alert_criteria_matches "
            "ON tc_alert_criteria_matches (criteria_id, posted_at)"
        )
    )
    _analyze(conn, _CRITERIA_MATCHES)
    unsent_new_job = (
        select(_CRITERIA_MATCHES.c.job_id)
        .where(
            _CRITERIA_MATCHES.c.criteria_id == _CRITERIA.c.id,
            _CRITERIA_MATCHES.c.posted_at > _search_threshold(),
            ~select(_ITEMS.c.id)
            .where(
                _ITEMS.c.candidate_id == _SEARCHES.c.candidate_id,
                _ITEMS.c.job_id == _CRITERIA_MATCHES.c.job_id,
            )
            .correlate(_SEARCHES, _CRITERIA_MATCHES)
            .exists(),
        )
        .correlate(_SEARCHES, _CRITERIA)
        .exists()
    )
    conn.execute(
        insert(_TARGETS).from_select(
            ["candidate_id", "search_id", "criteria_id", "threshold"],
            select(
                _SEARCHES.c.candidate_id,
                _SEARCHES.c.id,
                _CRITERIA.c.id,
                _search_threshold(),
            )
            .select_from(searches.join(_CRITERIA, _same_criteria()))
            .where(eligible, unsent_new_job),
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
    _match_searches(conn, scope, at)
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

    Three causes, checked in order: no eligible subscriber at all (to an interest or by
    a saved search); subscribers, but no open job in their interests or searches posted
    since their last alert; new jobs, but each one already listed for that candidate by
    an earlier digest (another schedule, or instant alerts).
    """
    active = _CANDIDATES.c.status == CandidateStatus.ACTIVE
    subscribers = _SUBS.join(_CANDIDATES, _CANDIDATES.c.id == _SUBS.c.candidate_id)
    searchers = _SEARCHES.join(_CANDIDATES, _CANDIDATES.c.id == _SEARCHES.c.candidate_id)
    eligible_sub = and_(_eligible_subscription(at, scope), active)
    eligible_search = and_(_eligible_search(at, scope), active)

    def candidates(*selects: Any) -> int:
        either = union_all(*selects).subquery()
        return conn.scalar(select(func.count(distinct(either.c.candidate_id)))) or 0

    people = candidates(
        select(_SUBS.c.candidate_id).select_from(subscribers).where(eligible_sub),
        select(_SEARCHES.c.candidate_id).select_from(searchers).where(eligible_search),
    )
    if not people:
        return explain_empty_run(0, 0, 0)
    jobs = union_all(
        select(_PAIRS.c.job_id), select(_CRITERIA_MATCHES.c.job_id.label("job_id"))
    ).subquery()
    open_jobs = conn.scalar(select(func.count(distinct(jobs.c.job_id)))) or 0
    has_new_job = (
        select(_PAIRS.c.job_id)
        .where(_PAIRS.c.interest_id == _SUBS.c.interest_id, _PAIRS.c.posted_at > _threshold())
        .correlate(_SUBS)
        .exists()
    )
    has_new_match = (
        select(_CRITERIA_MATCHES.c.job_id)
        .where(
            _CRITERIA_MATCHES.c.criteria_id == _CRITERIA.c.id,
            _CRITERIA_MATCHES.c.posted_at > _search_threshold(),
        )
        .correlate(_SEARCHES, _CRITERIA)
        .exists()
    )
    with_new = candidates(
        select(_SUBS.c.candidate_id).select_from(subscribers).where(eligible_sub, has_new_job),
        select(_SEARCHES.c.candidate_id)
        .select_from(searchers.join(_CRITERIA, _same_criteria()))
        .where(eligible_search, has_new_match),
    )
    return explain_empty_run(people, open_jobs, with_new)


def explain_empty_run(people: int, open_jobs: int, with_new: int) -> str:
    """Why a run queued nothing, from its counts: eligible subscribers (`people`), open jobs
    in their interests, and subscribers with a job posted since their last alert."""
    if not people:
        return (
            "No eligible subscribers: nobody is subscribed (confirmed, not paused) to "
            "this schedule's interests, or to a saved search it covers, at its frequency."
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
    conn.execute(
        insert(_MATCHES).from_select(
            ["candidate_id", "search_id", "job_id", "posted_at"],
            select(
                _TARGETS.c.candidate_id,
                _TARGETS.c.search_id,
                _CRITERIA_MATCHES.c.job_id,
                _CRITERIA_MATCHES.c.posted_at,
            )
            .join(
                _CRITERIA_MATCHES,
                and_(
                    _CRITERIA_MATCHES.c.criteria_id == _TARGETS.c.criteria_id,
                    _CRITERIA_MATCHES.c.posted_at > _TARGETS.c.threshold,
                ),
            )
            .where(
                _TARGETS.c.candidate_id.between(lo, hi),
                ~select(_ITEMS.c.id)
                .where(
                    _ITEMS.c.candidate_id == _TARGETS.c.candidate_id,
                    # "+ 0": probe by candidate only. The run's own inserts make the
                    # new jobs' statistics stale, and PostgreSQL then probed by job id,
                    # reading every item of that job, more with each chunk.
                    _ITEMS.c.job_id + 0 == _CRITERIA_MATCHES.c.job_id,
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
    # The saved searches that matched a listed job, and which listed jobs each matched.
    search_ids: list[int] = field(default_factory=list)
    job_searches: dict[int, list[int]] = field(default_factory=dict)


def _chunk_digests(conn: Connection, listed: set[tuple[int, int]] | None) -> dict[int, _Digest]:
    """The ranked chunk's digests: jobs newest first (only `listed` pairs, if given),
    interests, and the saved searches behind the listed jobs."""
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
        .where(_MATCHES.c.interest_id.is_not(None))
        .distinct()
        .order_by(_MATCHES.c.candidate_id, _MATCHES.c.interest_id)
    ):
        if candidate_id in digests:
            digests[candidate_id].interest_ids.append(interest_id)
    # Filtered here, not joined to the ranked jobs: the chunk's tables have no index
    # nor statistics, and PostgreSQL's guess made that join cost a second a chunk.
    listed_jobs = {c: set(d.job_ids) for c, d in digests.items()}
    for candidate_id, search_id, job_id in conn.execute(
        select(_MATCHES.c.candidate_id, _MATCHES.c.search_id, _MATCHES.c.job_id)
        .where(_MATCHES.c.search_id.is_not(None))
        .distinct()
        .order_by(_MATCHES.c.candidate_id, _MATCHES.c.search_id, _MATCHES.c.job_id)
    ):
        digest = digests.get(candidate_id)
        if digest is None or job_id not in listed_jobs[candidate_id]:
            continue
        if search_id not in digest.search_ids:
            digest.search_ids.append(search_id)
        digest.job_searches.setdefault(job_id, []).append(search_id)
    return digests


def alert_context(
    run_id: int | None,
    job_ids: Sequence[int],
    total: int,
    interest_ids: Sequence[int],
    job_searches: Mapping[int, Sequence[int]] | None = None,
) -> dict[str, Any]:
    """The outbox context of one digest, as jobs/digests.py reads it at send time.

    `job_searches` names, per listed job, the saved searches it matched; the digest
    then covers those searches (`search_ids`, which its one-click link leaves too) and
    says so beside each job (`job_searches`, keyed by the job id as text: JSON keys).
    A digest may cover only searches: then it has no `interest_id`.
    """
    context: dict[str, Any] = {
        "interest_ids": list(interest_ids),
        "job_ids": list(job_ids),
        "more_count": max(total - len(job_ids), 0),
    }
    if interest_ids:
        context["interest_id"] = interest_ids[0]
    searched = {job: sorted(set(ids)) for job, ids in (job_searches or {}).items() if ids}
    if searched:
        context["search_ids"] = sorted({i for ids in searched.values() for i in ids})
        context["job_searches"] = {str(job): ids for job, ids in sorted(searched.items())}
    if run_id is not None:
        context["alert_run_id"] = run_id
    return context


def dedupe_key(run_id: int, candidate_id: int) -> str:
    """The outbox dedupe key of a run's digest to one candidate."""
    return ALERT_RUN.dedupe_key(run_id, candidate_id)


def _write_chunk(
    conn: Connection, run_id: int, at: datetime, lo: int, hi: int, jobs: set[int]
) -> tuple[int, int]:
    """Digest items, outbox rows and thresholds for candidates lo..hi; (digests, jobs listed).

    The ids of the jobs listed are added to `jobs`.
    """
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
            "context": alert_context(
                run_id, digest.job_ids, digest.total, digest.interest_ids, digest.job_searches
            ),
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": at,
            "deliver_until": at + DEFAULT_DELIVER_WITHIN,
            "last_error": "",
            "created_at": at,
        }
        for candidate_id, digest in _chunk_digests(conn, listed).items()
        if digest.job_ids and (digest.interest_ids or digest.search_ids)
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
                select(_TARGETS.c.subscription_id).where(
                    _TARGETS.c.candidate_id.between(lo, hi),
                    _TARGETS.c.subscription_id.is_not(None),
                )
            ),
            or_(_SUBS.c.last_alerted_at.is_(None), _SUBS.c.last_alerted_at < at),
        )
        .values(last_alerted_at=at)
    )
    conn.execute(
        update(_SEARCHES)
        .where(
            _SEARCHES.c.id.in_(
                select(_TARGETS.c.search_id).where(
                    _TARGETS.c.candidate_id.between(lo, hi), _TARGETS.c.search_id.is_not(None)
                )
            ),
            or_(_SEARCHES.c.last_alerted_at.is_(None), _SEARCHES.c.last_alerted_at < at),
        )
        .values(last_alerted_at=at)
    )
    jobs.update(job_id for _candidate_id, job_id in listed)
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
    jobs: set[int] = set()
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
                    chunk_queued, chunk_listed = _write_chunk(conn, run_id, at, after + 1, hi, jobs)
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
                # Other systems hear of the finished run with the row that says so.
                insert_events(
                    conn,
                    [
                        (
                            EventType.ALERT_RUN_FINISHED,
                            None,
                            {
                                "alert_run_id": run_id,
                                "schedule_id": schedule_id,
                                "status": status.value,
                                "candidates_matched": matched,
                                "recipients": queued,
                                "jobs": len(jobs),
                            },
                        )
                    ],
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

    Everyone with a subscription in the schedule's interests and frequency class, or a
    saved search it covers, is counted once, by their most advanced one: deleted, else
    unsubscribed, unconfirmed, paused, or eligible; eligible candidates with no
    new job count as "nothing new", and suppressed addresses as "suppressed".
    Writes nothing but temporary tables, which it drops; never commits.
    """
    name, scope = _schedule_scope(session, schedule_id)
    at = now()
    conn = session.connection()

    def how_far(table: Table, in_scope: Any) -> Any:
        """Each candidate's subscriptions (or saved searches) in scope, ranked by how far
        along they are: 3 eligible, 2 paused, 1 unconfirmed, 0 unsubscribed."""
        eligible = and_(
            table.c.status == SubscriptionStatus.SUBSCRIBED,
            or_(table.c.paused_until.is_(None), table.c.paused_until <= at),
        )
        return select(
            table.c.candidate_id,
            case(
                (eligible, 3),
                (table.c.status == SubscriptionStatus.SUBSCRIBED, 2),
                (table.c.status == SubscriptionStatus.UNCONFIRMED, 1),
                else_=0,
            ).label("level"),
        ).where(in_scope)

    search_scope = [_SEARCHES.c.frequency.in_(scope.frequencies)]
    if scope.interest_ids is not None:
        search_scope.append(_SEARCHES.c.interest_id.in_(scope.interest_ids))
    levels = union_all(
        how_far(
            _SUBS,
            and_(
                _SUBS.c.frequency.in_(scope.frequencies),
                _interest_filter(_SUBS.c.interest_id, scope),
            ),
        ),
        how_far(_SEARCHES, and_(*search_scope)),
    ).subquery("levels")
    per_candidate = (
        select(_CANDIDATES.c.status.label("status"), func.max(levels.c.level).label("best"))
        .select_from(levels)
        .join(_CANDIDATES, _CANDIDATES.c.id == levels.c.candidate_id)
        .group_by(levels.c.candidate_id, _CANDIDATES.c.status)
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
    context = alert_context(
        None, digest.job_ids, digest.total, digest.interest_ids, digest.job_searches
    )
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
    reason), in the candidate's language as the worker would write it. Only the
    footer's Manage preferences and Unsubscribe links differ:
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
    locale = message_locales(session, [message], settings.locales)[0]
    return (renderer or Renderer(locales=settings.locales)).render(ALERT_TEMPLATE, context, locale)
