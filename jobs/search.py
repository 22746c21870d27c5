"""Searching open jobs: keywords ranked by the database's full-text index, filters, facet counts.

The keywords go to the index `jobs.search_index` describes, and every word must match:
FTS5's `MATCH` on SQLite, ranked by how many of the words the title holds; the
GIN-indexed `tsvector` on PostgreSQL, ranked by `ts_rank` with the title weighted over
the description. Equal ranks come newest first. Facets count, for each value of a
filter, the open jobs matching everything else that is asked (standard faceting), in
one statement over the keyword matches: one GROUP BY of workplace, type and place (with
counts per `posted` window) that Python folds into four facets and the total, the
interest counts, and the page. Dates, workplace, type and place are read from the
indexes on open postings (`ix_job_postings_open_groups` in the order the counts group
them, `ix_job_postings_open_facts` newest first), never from the wide rows; full-text
matches and interest tags are read from the lowest open id on (`_lowest_open_id`).
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


def _sqlite_keywords(words: list[str], query: str, lowest: Any) -> _Keywords:
    def matching(fts_query: str) -> ColumnElement[bool]:
        match = _fts_name.op("MATCH")(literal(fts_query, String))
        # `id + 0`: SQLite would otherwise fetch each match's wide row by its id (closed
        # postings too); instead the open postings are read from the facts index and
        # looked up in the matches. Only the matches from the lowest open id on: FTS5
        # skips the older part of each word's list, so a common word's set is the size of
        # its open matches, not of every posting it was ever in.
        return (_jobs.id + 0).in_(select(_fts.c.rowid).where(match, _fts.c.rowid >= lowest))

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


def _keywords(session: Session, criteria: SearchCriteria, lowest: Any) -> _Keywords | None:
    query = fts5_query(criteria.words)
    if query is None:
        return None
    if session.get_bind().dialect.name == "postgresql":
        return _pg_keywords(session, " ".join(criteria.words))
    return _sqlite_keywords(criteria.words, query, lowest)


def _lowest_open_id(at: datetime) -> Any:
    """A lower bound of the open postings' ids, as a scalar subquery (NULL: nothing is
    open): the lowest id of the never-closed and of the closing-later postings,
    published yet or not, each read from `ix_job_postings_open_ids`. (Asked as a plain
    min(id), both databases would walk the primary key from the oldest posting instead,
    past every closed one.)"""
    never_closed = (
        select(_jobs.id)
        .where(_jobs.closed_at.is_(None))
        .order_by(_jobs.closed_at, _jobs.id)
        .limit(1)
        .scalar_subquery()
    )
    closing_later = select(func.min(_jobs.id + 0)).where(_jobs.closed_at > at).scalar_subquery()
    # min() of two values where either may be NULL, in SQL both databases read alike.
    return case(
        (closing_later.is_(None), never_closed),
        (never_closed.is_(None), closing_later),
        (closing_later < never_closed, closing_later),
        else_=never_closed,
    )


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


def _open_ranges(at: datetime) -> list[list[ColumnElement[bool]]]:
    """The open postings as two index ranges (never closed; closing later) rather than
    `open_filter`'s OR, so each is one range of `ix_job_postings_open_groups`."""
    published = _jobs.posted_at <= at
    return [[_jobs.closed_at.is_(None), published], [_jobs.closed_at > at, published]]


_FACT_COLUMNS: Final = ("id", "workplace", "employment_type", "posted_at", "location")


def _others(filters: dict[str, ColumnElement[bool]], name: str) -> list[ColumnElement[bool]]:
    return [condition for key, condition in filters.items() if key != name]


# The `posted` windows, shortest first (three: the group rows have three age columns).
_WINDOWS: Final = sorted(POSTED_WINDOWS.items(), key=lambda item: item[1])


@dataclass(frozen=True)
class _Source:
    """Where the open matches are read from: the postings' index ranges (no keywords) or
    the keyword matches, materialized once with their score (`matches`)."""

    matches: CTE | None
    at: datetime
    # No open posting has a lower id (`_lowest_open_id`).
    lowest: Any
    postgresql: bool

    def selects(self, *columns: Any, where: list[ColumnElement[bool]]) -> list[Any]:
        """One SELECT of `columns` per range of the source, each restricted by `where`."""
        if self.matches is not None:
            return [select(*columns).select_from(self.matches).where(*where)]
        return [select(*columns).where(*rng, *where) for rng in _open_ranges(self.at)]

    @property
    def cols(self) -> Any:
        return self.matches.c if self.matches is not None else _jobs

    @property
    def score(self) -> Any:
        return self.matches.c.score if self.matches is not None else literal(0.0, Float)


def _facet_rows(source: _Source, criteria: SearchCriteria, at: datetime, page: Page) -> Any:
    """Three kinds of rows in one UNION ALL, so the keyword matches are found once:

    - ("g", workplace, type, place, place ok, -, n, n per `posted` window…): the matches
      grouped by what the workplace, type, place and age facets and the total count,
      read in the order of `ix_job_postings_open_groups` (no sort) when there are no
      keywords; `_fold` sums the groups in Python;
    - ("i", slug, …, n) per interest, with every filter but the interest's applied;
    - ("r", …, id, position) for the jobs of the page, best first, then newest.
    """
    cols = source.cols
    filters = _filters(cols, criteria, at)
    none: Any = literal(None, String)
    zero: Any = literal(0)
    # Every count but the interest facet's has the interest filter applied.
    interest_ok = [filters["interest"]] if "interest" in filters else []
    groups = (
        union_all(
            *[
                query.group_by(cols.workplace, cols.employment_type, cols.location).with_hint(
                    # The planner would rather read a posting date range and sort; this
                    # index gives the rows in group order, so SQLite counts them as they
                    # come.
                    JobPosting.__table__,
                    "INDEXED BY ix_job_postings_open_groups",
                    "sqlite",
                )
                for query in source.selects(
                    literal("g").label("kind"),
                    type_coerce(cols.workplace, String).label("a"),
                    type_coerce(cols.employment_type, String).label("b"),
                    type_coerce(cols.location, String).label("c"),
                    # Of the grouped place: worked out once per group, not per posting.
                    _flag(filters.get("location")).label("d"),
                    literal(1).label("e"),
                    func.count().label("n"),
                    *[
                        func.sum(case((cols.posted_at >= at - window, 1), else_=0)).label(f"w{n}")
                        for n, (_posted, window) in enumerate(_WINDOWS)
                    ],
                    where=interest_ok,
                )
            ]
        )
        .cte("groups")
        .prefix_with("MATERIALIZED")
    )
    if "location" in filters:
        # The places the filter keeps, as the groups found them: the other counts and the
        # page look a posting's place up among them rather than matching its text again.
        kept_places = cols.location.in_(select(groups.c.c).where(groups.c.d == 1))
        page_filters = {**filters, "location": kept_places}
        # Cut by the interest filter, the groups may lack a place the interest facet
        # needs; it matches the text then.
        other_filters = {**filters, "location": kept_places} if not interest_ok else filters
    else:
        page_filters = other_filters = filters
    matched = union_all(
        *source.selects(cols.id.label("id"), where=_others(other_filters, "interest"))
    )
    if source.postgresql:
        # The tail of job_interests from the lowest open id (its primary key's order: open
        # postings are the newest), hashed against the matches and counted per interest.
        hashed = matched.subquery("matched")
        per_interest = (
            select(job_interests.c.interest_id, func.count().label("n"))
            .join(hashed, hashed.c.id == job_interests.c.job_id)
            .where(job_interests.c.job_id >= source.lowest)
            .group_by(job_interests.c.interest_id)
            .subquery("per_interest")
        )
        interests = _interest_rows(per_interest.c.n).join_from(
            per_interest, Interest, Interest.id == per_interest.c.interest_id
        )
    else:
        # Each interest's open postings are a range of `ix_job_interests_interest_jobs`
        # (from the lowest open id), probed in the matches: no sort, no closed posting
        # read. (`+ 0`: the probe must not become a seek per match and interest.)
        tagged = (
            select(func.count())
            .where(
                job_interests.c.interest_id == Interest.id,
                job_interests.c.job_id >= source.lowest,
                (job_interests.c.job_id + 0).in_(matched),
            )
            .scalar_subquery()
        )
        interests = _interest_rows(tagged)
    candidates = union_all(
        *source.selects(
            cols.id.label("id"),
            source.score.label("score"),
            cols.posted_at.label("posted_at"),
            where=list(page_filters.values()),
        )
    ).subquery("candidates")
    order = [candidates.c.score.desc(), candidates.c.posted_at.desc(), candidates.c.id.desc()]
    if source.matches is None:
        # All scores are equal: newest first, which `ix_job_postings_open` holds in order.
        order = order[1:]
    on_page = (
        select(candidates.c.id, candidates.c.score, candidates.c.posted_at)
        .order_by(*order)
        .limit(page.limit)
        .offset(page.offset)
        .subquery("on_page")
    )
    position = func.row_number().over(
        order_by=(on_page.c.score.desc(), on_page.c.posted_at.desc(), on_page.c.id.desc())
    )
    results = select(literal("r"), none, none, none, on_page.c.id, position, zero, zero, zero, zero)
    return union_all(select(groups), interests, results)


def _interest_rows(count: Any) -> Any:
    """("i", slug, …, `count`) rows, one per interest, in the shape of `_facet_rows`'."""
    none: Any = literal(None, String)
    zero: Any = literal(0)
    return select(
        literal("i"),
        type_coerce(Interest.slug, String),
        none,
        none,
        zero,
        zero,
        count,
        zero,
        zero,
        zero,
    )


def _flag(condition: ColumnElement[bool] | None) -> Any:
    return literal(1) if condition is None else case((condition, 1), else_=0)


# One row of the "g" kind: workplace, type, place, whether the place passes the location
# filter, (unused), matches, then matches posted within each `posted` window.
_GroupRow = tuple[str | None, str | None, str, int, int, int, int, int, int]


def _fold(
    groups: list[_GroupRow], criteria: SearchCriteria
) -> tuple[
    int, dict[Workplace, int], dict[EmploymentType, int], dict[Posted, int], list[tuple[str, int]]
]:
    """The total and the workplace, type, age and place facets, from the groups: each
    facet sums the groups that pass every filter but its own (standard faceting).

    Hundreds of groups for a broad search: plain tuples and strings here, enums at the end.
    """
    wanted_workplace = criteria.workplace.value if criteria.workplace else None
    wanted_type = criteria.employment_type.value if criteria.employment_type else None
    windows = [posted for posted, _window in _WINDOWS]
    # Which count of a group's: all its matches, or those posted in the window.
    at = 0 if criteria.posted is None else 1 + windows.index(criteria.posted)
    total = 0
    workplace: dict[str, int] = {}
    employment_type: dict[str, int] = {}
    posted = [0, 0, 0]
    places: dict[str, int] = {}
    for place, kind, location, place_ok, _unused, *counts in groups:
        number = counts[at]
        place_fits = wanted_workplace is None or place == wanted_workplace
        kind_fits = wanted_type is None or kind == wanted_type
        if place_fits and kind_fits:
            if place_ok:
                total += number
                posted[0] += counts[1]
                posted[1] += counts[2]
                posted[2] += counts[3]
            if location:
                places[location] = places.get(location, 0) + number
        if place_ok and kind_fits and place is not None:
            workplace[place] = workplace.get(place, 0) + number
        if place_ok and place_fits and kind is not None:
            employment_type[kind] = employment_type.get(kind, 0) + number
    counted = [(place, n) for place, n in places.items() if n]
    top = sorted(counted, key=lambda item: (-item[1], item[0]))[:TOP_LOCATIONS]
    return (
        total,
        {Workplace(value): n for value, n in workplace.items() if n},
        {EmploymentType(value): n for value, n in employment_type.items() if n},
        {window: n for window, n in zip(windows, posted, strict=True) if n},
        top,
    )


def _facets(
    session: Session,
    keywords: _Keywords | None,
    criteria: SearchCriteria,
    at: datetime,
    page: Page,
    lowest: Any,
) -> tuple[Facets, int, list[int]]:
    """The facet counts, the search's total and the ids of the page's jobs, in order."""
    matches = None
    if keywords is not None:
        # The keyword matches that are open, with their facts and score, found once.
        columns = [_jobs[name] for name in _FACT_COLUMNS]
        matches = (
            union_all(
                *[
                    select(*columns, keywords.score.label("score")).where(*rng, keywords.where)
                    for rng in _open_ranges(at)
                ]
            )
            .cte("matches")
            .prefix_with("MATERIALIZED")
        )
    postgresql = session.get_bind().dialect.name == "postgresql"
    source = _Source(matches=matches, at=at, lowest=lowest, postgresql=postgresql)
    ranked: list[tuple[int, int]] = []
    groups: list[_GroupRow] = []
    interest: dict[str, int] = {}
    rows: Any = session.execute(_facet_rows(source, criteria, at, page))
    for kind, *row in rows:
        if kind == "g":
            groups.append(row)
        elif kind == "i":
            if row[5]:
                interest[row[0]] = row[5]
        else:
            ranked.append((row[4], row[3]))
    total, workplace, employment_type, posted, locations = _fold(groups, criteria)
    facets = Facets(
        workplace=workplace,
        employment_type=employment_type,
        interest=interest,
        posted=posted,
        locations=locations,
    )
    return facets, total, [job_id for _position, job_id in sorted(ranked)]


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
    lowest = _lowest_open_id(at)
    keywords = None
    if criteria.words:
        keywords = _keywords(session, criteria, lowest)
        if keywords is None:
            return SearchResult(jobs=[], total=0, page=page, per_page=per_page)
    facets, total, ids = _facets(
        session,
        keywords,
        criteria,
        at,
        Page(limit=per_page, offset=(page - 1) * per_page),
        lowest,
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
