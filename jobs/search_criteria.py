"""What a job search asks for: keywords, place, workplace, type, interest and age.

One reader for the `/jobs` query string and for a saved search ("Email me jobs like
this"): `read_criteria` never refuses a request (a link someone shared must always open a
page); a value it cannot use is dropped and named in `notes`, so the page can say so.
`criteria_key` is the canonical spelling two equal searches share, whatever their case
and spacing; saved searches are unique per candidate by it.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Final, Protocol

from jobs.posting_fields import (
    EMPLOYMENT_TYPE_LABELS,
    WORKPLACE_LABELS,
    EmploymentType,
    Workplace,
)
from jobs.wording import N_, Gettext, source_text
from preferences.text import TextKind, scrub_text

MAX_QUERY = 200
MAX_LOCATION = 120
MAX_INTEREST_SLUG = 120
# More words than this say nothing more to a search, and each one costs the database work.
MAX_QUERY_WORDS = 8


class Posted(enum.StrEnum):
    """How recently a job was posted: the `posted` filter."""

    DAY = "24h"
    WEEK = "7d"
    MONTH = "30d"


POSTED_WINDOWS: Final[Mapping[Posted, timedelta]] = {
    Posted.DAY: timedelta(hours=24),
    Posted.WEEK: timedelta(days=7),
    Posted.MONTH: timedelta(days=30),
}
POSTED_LABELS: Final[Mapping[Posted, str]] = {
    Posted.DAY: N_("Past 24 hours"),
    Posted.WEEK: N_("Past week"),
    Posted.MONTH: N_("Past month"),
}
# The same windows inside a sentence (`describe`): "“python” · past week".
POSTED_PHRASES: Final[Mapping[Posted, str]] = {
    Posted.DAY: N_("past 24 hours"),
    Posted.WEEK: N_("past week"),
    Posted.MONTH: N_("past month"),
}
# What `read_criteria` says about a filter value it does not know, per filter.
_UNKNOWN_CHOICE: Final[Mapping[str, str]] = {
    "workplace": N_("“%(value)s” is not a workplace we know, so that filter was left out."),
    "type": N_("“%(value)s” is not a job type we know, so that filter was left out."),
    "posted": N_("“%(value)s” is not a time range we know, so that filter was left out."),
}


class Note(str):
    """A note on what `read_criteria` dropped or shortened: the English sentence, plus its
    catalog `pattern` and `params`, so a page can show it in the reader's language."""

    pattern: str
    params: Mapping[str, object]

    def __new__(cls, pattern: str, **params: object) -> Note:
        note = super().__new__(cls, pattern % params)
        note.pattern = pattern
        note.params = params
        return note

    def text(self, gettext: Gettext = source_text) -> str:
        """The note translated by `gettext`."""
        return gettext(self.pattern) % dict(self.params)


_SPACES = re.compile(r"\s+")


def _words(value: str) -> str:
    return _SPACES.sub(" ", value).strip()


@dataclass(frozen=True)
class SearchCriteria:
    """One job search; "" or None where a filter is not set."""

    q: str = ""
    location: str = ""
    workplace: Workplace | None = None
    employment_type: EmploymentType | None = None
    # An interest's slug.
    interest: str = ""
    posted: Posted | None = None

    @property
    def words(self) -> list[str]:
        """The keywords, at most `MAX_QUERY_WORDS`."""
        return self.q.split()[:MAX_QUERY_WORDS]

    def is_empty(self) -> bool:
        """True when nothing narrows the search: every open job matches."""
        return self == SearchCriteria()

    def can_alert(self) -> bool:
        """Whether this search can be saved as an alert: something besides `posted` is set.

        `posted` is dropped from an alert (an alert lists jobs new since the last one).
        """
        return not replace(self, posted=None).is_empty()

    def for_alert(self) -> SearchCriteria:
        """The search as an alert keeps it: without the `posted` window."""
        return replace(self, posted=None)

    def query_args(self) -> dict[str, str]:
        """The search as `/jobs` query parameters (only those set), for links and forms."""
        args = {
            "q": self.q,
            "location": self.location,
            "workplace": self.workplace.value if self.workplace else "",
            "type": self.employment_type.value if self.employment_type else "",
            "interest": self.interest,
            "posted": self.posted.value if self.posted else "",
        }
        return {name: value for name, value in args.items() if value}

    def without(self, name: str) -> SearchCriteria:
        """This search with one filter removed, named as in `query_args` ("type", not the field)."""
        field = "employment_type" if name == "type" else name
        if field not in {"q", "location", "workplace", "employment_type", "interest", "posted"}:
            raise ValueError(f"no search filter named {name!r}")
        blank: Any = "" if field in {"q", "location", "interest"} else None
        return replace(self, **{field: blank})


def _text(args: Mapping[str, str], name: str, limit: int, notes: list[Note]) -> str:
    raw = args.get(name) or ""
    value = _words(scrub_text(raw, TextKind.LINE))
    if len(value) > limit:
        notes.append(
            Note(
                N_("Only the first %(limit)s characters of “%(name)s” were searched."),
                limit=limit,
                name=name,
            )
        )
        value = value[:limit].rstrip()
    return value


def _choice(
    args: Mapping[str, str], name: str, kind: type[enum.StrEnum], notes: list[Note]
) -> str | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    key = re.sub(r"[\s-]+", "_", raw.casefold())
    if key in {m.value for m in kind}:
        return key
    notes.append(Note(_UNKNOWN_CHOICE[name], value=raw[:40]))
    return None


def read_criteria(args: Mapping[str, str]) -> tuple[SearchCriteria, list[Note]]:
    """A search from `/jobs` query parameters (or a saved search's fields), and notes on
    what was dropped or shortened. Never raises for what a visitor typed."""
    notes: list[Note] = []
    q = _text(args, "q", MAX_QUERY, notes)
    if len(q.split()) > MAX_QUERY_WORDS:
        notes.append(
            Note(N_("Only the first %(limit)s words were searched."), limit=MAX_QUERY_WORDS)
        )
        q = " ".join(q.split()[:MAX_QUERY_WORDS])
    workplace = _choice(args, "workplace", Workplace, notes)
    employment_type = _choice(args, "type", EmploymentType, notes)
    posted = _choice(args, "posted", Posted, notes)
    interest = _text(args, "interest", MAX_INTEREST_SLUG, notes).casefold()
    criteria = SearchCriteria(
        q=q,
        location=_text(args, "location", MAX_LOCATION, notes),
        workplace=Workplace(workplace) if workplace else None,
        employment_type=EmploymentType(employment_type) if employment_type else None,
        interest=interest,
        posted=Posted(posted) if posted else None,
    )
    return criteria, notes


class SavedFilters(Protocol):
    """A saved search's stored filters: a `SavedSearch` row, or a Core row of its columns."""

    query: str
    location: str
    workplace: str | None
    employment_type: str | None


_WORKPLACE_VALUES: Final = frozenset(w.value for w in Workplace)
_TYPE_VALUES: Final = frozenset(e.value for e in EmploymentType)


def saved_criteria(saved: SavedFilters, interest_slug: str = "") -> SearchCriteria:
    """The search a saved search keeps, as `/jobs` reads it; a stored filter value no longer
    known reads as "any"."""
    workplace = saved.workplace if saved.workplace in _WORKPLACE_VALUES else None
    kind = saved.employment_type if saved.employment_type in _TYPE_VALUES else None
    return SearchCriteria(
        q=saved.query or "",
        location=saved.location or "",
        workplace=Workplace(workplace) if workplace else None,
        employment_type=EmploymentType(kind) if kind else None,
        interest=interest_slug,
    )


def criteria_key(criteria: SearchCriteria) -> str:
    """The canonical identity of a search (SHA-256 hex): case and spacing do not count."""
    parts = (
        _words(criteria.q).casefold(),
        _words(criteria.location).casefold(),
        criteria.workplace.value if criteria.workplace else "",
        criteria.employment_type.value if criteria.employment_type else "",
        criteria.interest.casefold(),
        criteria.posted.value if criteria.posted else "",
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def describe(
    criteria: SearchCriteria, interest_name: str | None = None, gettext: Gettext = source_text
) -> str:
    """The search in words, as a digest's "matched" line and the preference center say it:

    ``“python” in Berlin · Remote · Full time · Software Engineering``. `interest_name` is
    the interest's name for `criteria.interest` (its slug is shown if not given);
    `gettext` translates the words (the English source by default).
    """
    parts: list[str] = []
    if criteria.q and criteria.location:
        parts.append(
            gettext(N_("“%(query)s” in %(place)s"))
            % {"query": criteria.q, "place": criteria.location}
        )
    elif criteria.q:
        parts.append(gettext(N_("“%(query)s”")) % {"query": criteria.q})
    elif criteria.location:
        parts.append(gettext(N_("in %(place)s")) % {"place": criteria.location})
    if criteria.workplace:
        parts.append(gettext(WORKPLACE_LABELS[criteria.workplace]))
    if criteria.employment_type:
        parts.append(gettext(EMPLOYMENT_TYPE_LABELS[criteria.employment_type]))
    if criteria.interest:
        parts.append(interest_name or criteria.interest)
    if criteria.posted:
        parts.append(gettext(POSTED_PHRASES[criteria.posted]))
    return " · ".join(parts) or gettext(N_("all open jobs"))
