"""Searching open jobs: keywords ranked by the database's full-text index, filters, facet counts.

The keywords go to the index `jobs.search_index` describes, and every word must match:
FTS5's `MATCH` on SQLite, ranked by how many of the words the title holds; the
GIN-indexed `tsvector` on PostgreSQL, ranked by `ts_rank` with the title weighted over
the description. Equal ranks come newest first. Facets count, for each value of a
filter, the open jobs matching everything else that is asked (standard faceting), in
one statement over the keyword matches. Dates, workplace, type and place are read from
`ix_job_postings_open_facts`, never from the wide rows.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    case,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.expression import CTE

from jobs.models import JobPosting, job_interests
from jobs.posting_fields import EmploymentType, Workplace
from jobs.postings import JobPage
from jobs.search_criteria import POSTED_WINDOWS, Posted, SearchCriteria
from jobs.search_index import (
    FALLBACK_CONFIG,
    FTS5_TABLE,
    NULL_LANGUAGE_CONFIG,
    PG_CONFIGS,
    PG_VECTOR_COLUMN,
    location_matches,
)
from preferences.clock import now
from preferences.models import Interest

# How many places the location facet offers, the most common first.
TOP_LOCATIONS: Final = 10
# ts_rank's weights for D, C, B, A (A: the title, B: the description): a word in the
# title counts for more than the same word in the text.
_TS_RANK_WEIGHTS: Final = "{0.1, 0.2, 0.4, 1.0}"

_fts = table(FTS5_TABLE, column("rowid"))
_fts_name: Any = literal_column(FTS5_TABLE)
_jobs = JobPosting.__table__.c


@dataclass(frozen=True)
class Facets:
    """Open jobs per filter value, each counted with every other filter of the search applied."""

    workplace: Mapping[Workplace, int] = field(default_factory=dict)
    employment_type: Mapping[EmploymentType, int] = field(default_factory=dict)
    # By interest slug.
    interest: Mapping[str, int] = field(default_factory=dict)
    posted: Mapping[Posted, int] = field(default_factory=dict)
    # The most common locations (as written on the postings), most jobs first.
    locations: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class SearchResult(JobPage):
    """One page of a search's matches, with the facet counts."""

    facets: Facets = field(default_factory=Facets)


def search_tokens(text: str) -> list[str]:
    """The words FTS5's unicode61 tokenizer would index in `text`: runs of letters, digits
    and private-use characters (its default categories "L* N* Co"); all else separates."""
    tokens: list[str] = []
    current: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category[0] in "LN" or category == "Co":
            current.append(char)
        elif current:
            tokens.append("".join(current))
            current = []
    if current:
        tokens.append("".join(current))
    return tokens


def fts5_query(words: list[str]) -> str | None:
    """An FTS5 query that needs every token of every word, each token a quoted string.

    Only letters and digits reach the query, so FTS5 syntax a visitor types (`"`, `*`,
    `NEAR`, `-`, `(`, `AND`, `title:`) is searched as plain words; None if there are none.
    Tokens are separate terms, as PostgreSQL's `plainto_tsquery` makes them.
    """
    tokens = [token for word in words for token in search_tokens(word)]
    return " ".join(f'"{token}"' for token in tokens) or None


@dataclass(frozen=True)
class _Keywords:
    """The keyword condition on job_postings, and the score that ranks the rows it keeps."""

    where: ColumnElement[bool]
    # Higher is better.
    score: ColumnElement[float]


def _sqlite_keywords(words: list[str], query: str) -> _Keywords:
    def matching(fts_query: str) -> ColumnElement[bool]:
        match = _fts_name.op("MATCH")(literal(fts_query, String))
        # `id + 0`: SQLite would otherwise fetch each match's wide row by its id (closed
        # postings too); instead the open postings are read from the facts index and
        # looked up in the matches.
        return (_jobs.id + 0).in_(select(_fts.c.rowid).where(match))

    # The score is how many of the words the title holds: a title match outranks a match in
    # the text only. bm25 would rank finer, but it reads every match's sizes, closed
    # postings' too (tens of thousands for a common word), where this reads the index only.
    in_title = []
    for word in words:
        tokens = search_tokens(word)
        if tokens:
            quoted = " ".join(f'"{token}"' for token in tokens)
            in_title.append(case((matching(f"title : ({quoted})"), 1.0), else_=0.0))
    score: Any = sum(in_title[1:], in_title[0])
    return _Keywords(where=matching(query), score=type_coerce(score, Float))


_PG_READINGS: Final = text(
    "SELECT DISTINCT plainto_tsquery(config::regconfig, :query)::text "
    "FROM unnest(CAST(:configs AS text[])) AS config"
)


def _pg_keywords(session: Session, query: str) -> _Keywords | None:
    # Every configuration a posting may be indexed with: a posting matches when the words,
    # read as its language reads them, are in it. Many languages read a word alike, so
    # the distinct readings are found first (one quick round trip): a short query lets
    # the planner see how rare the words are and use the GIN index.
    configs = sorted({*PG_CONFIGS.values(), NULL_LANGUAGE_CONFIG, FALLBACK_CONFIG})
    readings = session.scalars(_PG_READINGS, {"query": query, "configs": configs}).all()
    parts = sorted(f"({reading})" for reading in readings if reading)
    if not parts:
        return None
    tsquery: Any = literal(" | ".join(parts), String).op("::")(literal_column("tsquery"))
    vector: Any = literal_column(f"job_postings.{PG_VECTOR_COLUMN}")
    score = func.ts_rank(literal_column(f"'{_TS_RANK_WEIGHTS}'::float4[]"), vector, tsquery)
    return _Keywords(where=vector.op("@@")(tsquery), score=type_coerce(score, Float))


def _keywords(session: Session, criteria: SearchCriteria) -> _Keywords | None:
    query = fts5_query(criteria.words)
    if query is None:
        return None
    if session.get_bind().dialect.name == "postgresql":
        return _pg_keywords(session, " ".join(criteria.words))
    return _sqlite_keywords(criteria.words, query)


def _filters(cols: Any, criteria: SearchCriteria, at: datetime) -> dict[str, ColumnElement[bool]]:
    """Each active filter by its `query_args` name, over `cols` (job_postings' or the CTE's)."""
    found: dict[str, ColumnElement[bool]] = {}
    if criteria.location:
        found["location"] = location_matches(cols.location, criteria.location.lower())
    if criteria.workplace:
        found["workplace"] = cols.workplace == criteria.workplace
    if criteria.employment_type:
        found["type"] = cols.employment_type == criteria.employment_type
    if criteria.interest:
        tagged = (
            select(job_interests.c.job_id)
            .join(Interest, Interest.id == job_interests.c.interest_id)
            .where(Interest.slug == criteria.interest)
        )
        # `+ 0`, as in `_sqlite_keywords`: probe the interest's jobs, never fetch them by id.
        found["interest"] = (cols.id + 0).in_(tagged)
    if criteria.posted:
        found["posted"] = cols.posted_at >= at - POSTED_WINDOWS[criteria.posted]
    return found


def _open_rows(at: datetime, where: list[ColumnElement[bool]], *extra: Any) -> Any:
    """The open postings' id, dates, workplace, type and place (plus `extra`) where `where`.

    Two index ranges (never closed; closing later) rather than `open_filter`'s OR, so each
    is read from `ix_job_postings_open_facts` alone.
    """
    columns = [
        _jobs.id,
        _jobs.workplace,
        _jobs.employment_type,
        _jobs.posted_at,
        _jobs.location,
        *extra,
    ]
    published = _jobs.posted_at <= at
    return union_all(
        select(*columns).where(_jobs.closed_at.is_(None), published, *where),
        select(*columns).where(_jobs.closed_at > at, published, *where),
    )


def _others(filters: dict[str, ColumnElement[bool]], name: str) -> list[ColumnElement[bool]]:
    return [condition for key, condition in filters.items() if key != name]


# The `posted` windows, shortest first (three: the age rows have three count columns).
_WINDOWS: Final = sorted(POSTED_WINDOWS.items(), key=lambda item: item[1])


def _flag(condition: ColumnElement[bool] | None) -> Any:
    return literal(1) if condition is None else case((condition, 1), else_=0)


def _facet_rows(
    base: CTE, criteria: SearchCriteria, at: datetime, page: Page, *, postgresql: bool
) -> Any:
    """Five kinds of rows in one UNION ALL over the keyword matches `base`, so they are
    found once: ("g", workplace, type, posted ok, place ok, interest ok, n) for the
    workplace and type facets and the total; ("p", -, -, n per window…, -) for the age
    facet; ("i", slug, …, n) per interest and ("l", place, …, n) for the most common
    places, each with the other filters applied; ("r", -, -, id, position, …) for the
    jobs of the page, best first, then newest."""
    # Each active filter was evaluated once per match, as a flag column of `base`.
    filters = {name: base.c[f"f_{name}"] == 1 for name in criteria.query_args() if name != "q"}
    flags = [_flag(filters.get(name)) for name in ("posted", "location", "interest")]
    none: Any = literal(None, String)
    zero: Any = literal(0)
    grouped = (
        select(
            literal("g").label("kind"),
            type_coerce(base.c.workplace, String).label("a"),
            type_coerce(base.c.employment_type, String).label("b"),
            *[flag.label(label) for flag, label in zip(flags, "cde", strict=True)],
            func.count().label("n"),
        )
        .select_from(base)
        # Only the flags of active filters vary; the rest are constants.
        .group_by(
            base.c.workplace,
            base.c.employment_type,
            *[
                flag
                for flag, name in zip(flags, ("posted", "location", "interest"), strict=True)
                if name in filters
            ],
        )
    )
    ages = (
        select(
            literal("p"),
            none,
            none,
            *[
                func.sum(case((base.c.posted_at >= at - window, 1), else_=0))
                for _posted, window in _WINDOWS
            ],
            zero,
        )
        .select_from(base)
        .where(*_others(filters, "posted"))
    )
    # Counted by interest id from the matches outwards, then named: joined the other way
    # round, a database would walk every posting of every interest, closed ones too.
    # (`+ 0`: SQLite would rather walk job_interests in interest order to skip a sort.)
    interest_id = (job_interests.c.interest_id + 0).label("interest_id")
    if postgresql:
        # Joined from job_interests' side, past the lowest matched id only: open postings
        # are the newest, so that is a short tail of the table's primary key, read in order
        # and hashed against the matches. Probing job_interests once per match (the plan
        # PostgreSQL picks for `IN`) cost twice as much at 20,000 open postings.
        matched = select(base.c.id).where(*_others(filters, "interest")).subquery("matched")
        lowest = select(func.min(base.c.id)).scalar_subquery()
        tagged = (
            select(interest_id, func.count().label("n"))
            .select_from(job_interests)
            .join(matched, matched.c.id == job_interests.c.job_id)
            .where(job_interests.c.job_id >= lowest)
        )
    else:
        tagged = (
            select(interest_id, func.count().label("n"))
            .select_from(base)
            .join(job_interests, job_interests.c.job_id == base.c.id)
            .where(*_others(filters, "interest"))
        )
    per_interest = tagged.group_by(interest_id).subquery("per_interest")
    interests = select(
        literal("i"), type_coerce(Interest.slug, String), none, zero, zero, zero, per_interest.c.n
    ).join_from(per_interest, Interest, Interest.id == per_interest.c.interest_id)
    top_places = (
        select(base.c.location, func.count().label("n"))
        .where(*_others(filters, "location"), base.c.location != "")
        .group_by(base.c.location)
        .order_by(func.count().desc(), base.c.location)
        .limit(TOP_LOCATIONS)
        .subquery("top_places")
    )
    places = select(
        literal("l"),
        type_coerce(top_places.c.location, String),
        none,
        zero,
        zero,
        zero,
        top_places.c.n,
    )
    order = (base.c.score.desc(), base.c.posted_at.desc(), base.c.id.desc())
    on_page = (
        select(base.c.id, base.c.score, base.c.posted_at)
        .where(*filters.values())
        .order_by(*order)
        .limit(page.limit)
        .offset(page.offset)
        .subquery("on_page")
    )
    position = func.row_number().over(
        order_by=(on_page.c.score.desc(), on_page.c.posted_at.desc(), on_page.c.id.desc())
    )
    results = select(literal("r"), none, none, on_page.c.id, position, zero, zero)
    return union_all(grouped, ages, interests, places, results)


def _facets(
    session: Session,
    keywords: _Keywords | None,
    criteria: SearchCriteria,
    at: datetime,
    page: Page,
) -> tuple[Facets, int, list[int]]:
    """The facet counts, the search's total and the ids of the page's jobs, in order."""
    # Evaluated once, then counted four ways and ranked for the page.
    flags = [
        case((condition, 1), else_=0).label(f"f_{name}")
        for name, condition in _filters(_jobs, criteria, at).items()
    ]
    score: Any = keywords.score if keywords else literal(0.0, Float)
    where = [keywords.where] if keywords else []
    base = _open_rows(at, where, score.label("score"), *flags).cte("base")
    base = base.prefix_with("MATERIALIZED")
    ranked: list[tuple[int, int]] = []
    groups: list[tuple[str | None, str | None, bool, bool, int]] = []
    interest: dict[str, int] = {}
    locations: list[tuple[str, int]] = []
    windows = [posted for posted, _window in _WINDOWS]
    posted: dict[Posted, int] = {}
    postgresql = session.get_bind().dialect.name == "postgresql"
    rows: Any = session.execute(_facet_rows(base, criteria, at, page, postgresql=postgresql))
    for kind, a, b, c, d, e, number in rows:
        if kind == "r":
            ranked.append((d, c))
        elif kind == "g":
            groups.append((a, b, bool(c), bool(d) and bool(e), number))
        elif kind == "p":
            posted = {window: n for window, n in zip(windows, (c, d, e), strict=True) if n}
        elif kind == "i":
            interest[a] = number
        else:
            locations.append((a, number))
    wanted_workplace = criteria.workplace.value if criteria.workplace else None
    wanted_type = criteria.employment_type.value if criteria.employment_type else None
    workplace: dict[Workplace, int] = {}
    employment_type: dict[EmploymentType, int] = {}
    total = 0
    # A few dozen groups at most (workplace x type x the active filters' flags): the
    # workplace and type facets each sum the groups that pass every filter but its own.
    for place, job_type, posted_ok, rest_ok, number in groups:
        checks = {
            "workplace": wanted_workplace is None or place == wanted_workplace,
            "type": wanted_type is None or job_type == wanted_type,
            "rest": posted_ok and rest_ok,
        }
        if all(checks.values()):
            total += number
        if _all_but(checks, "workplace") and place is not None:
            workplace[Workplace(place)] = workplace.get(Workplace(place), 0) + number
        if _all_but(checks, "type") and job_type is not None:
            found = EmploymentType(job_type)
            employment_type[found] = employment_type.get(found, 0) + number
    locations.sort(key=lambda item: (-item[1], item[0]))
    facets = Facets(
        workplace=workplace,
        employment_type=employment_type,
        interest=interest,
        posted=posted,
        locations=locations,
    )
    return facets, total, [job_id for _position, job_id in sorted(ranked)]


def _all_but(checks: dict[str, bool], name: str) -> bool:
    return all(ok for key, ok in checks.items() if key != name)


@dataclass(frozen=True)
class Page:
    """Which slice of the ranked matches to list."""

    limit: int
    offset: int


def search_jobs(
    session: Session, criteria: SearchCriteria, *, page: int = 1, per_page: int = 20
) -> SearchResult:
    """One page of the open jobs matching `criteria`, best match first (newest first
    without keywords), with the facet counts.

    Keywords without a letter or digit in them match nothing (there is nothing to look up).
    """
    page = max(page, 1)
    per_page = max(per_page, 1)
    at = now()
    keywords = _keywords(session, criteria) if criteria.words else None
    if criteria.words and keywords is None:
        return SearchResult(jobs=[], total=0, page=page, per_page=per_page)
    facets, total, ids = _facets(
        session, keywords, criteria, at, Page(limit=per_page, offset=(page - 1) * per_page)
    )
    jobs: list[JobPosting] = []
    if ids:
        found = {
            job.id: job
            for job in session.scalars(
                select(JobPosting)
                .where(JobPosting.id.in_(ids))
                .options(selectinload(JobPosting.interests))
            )
        }
        jobs = [found[job_id] for job_id in ids if job_id in found]
    return SearchResult(jobs=jobs, total=total, page=page, per_page=per_page, facets=facets)
