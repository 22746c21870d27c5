"""Managing interests from the recruiter console: create, edit, reorder, retire, merge.

Merging here covers what the preferences package owns (subscriptions and
consent history); `jobs.posting_admin.merge_interest` adds the job tags, the
schedules and the notification emails on top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from preferences.errors import PreferencesError
from preferences.interests import DISPLAY_ORDER, IS_ACTIVE
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Interest,
    InterestStatus,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import append_consent
from preferences.text import TextKind, UnstorableText, clean_text

MAX_NAME = 120
MAX_DETAILS = 5000
MAX_KEYWORD = 60
MAX_KEYWORDS = 50

_CONSENT_EVENTS: Table = ConsentEvent.__table__  # type: ignore[assignment]


class InterestRejected(PreferencesError):
    """Interest input that breaks a rule; `errors` maps each bad field to the reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def slugify(name: str) -> str:
    """Return a URL slug for an interest name (ASCII letters, digits and dashes)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower().replace("&", "and")).strip("-")


def parse_keywords(text: str) -> list[str]:
    """Split comma- or line-separated keywords, trimmed, without repeats (case-insensitive)."""
    seen: set[str] = set()
    words: list[str] = []
    for part in re.split(r"[,\n]", text):
        word = " ".join(part.split())
        if word and word.casefold() not in seen:
            seen.add(word.casefold())
            words.append(word)
    return words


def _cleaned(value: str, kind: TextKind, field: str, errors: dict[str, str]) -> str:
    """`value` by the stored-text rule; "" and a message in `errors` if it is refused."""
    try:
        return clean_text(value, kind)
    except UnstorableText as exc:
        errors[field] = exc.message
        return ""


@dataclass(frozen=True)
class _Fields:
    name: str
    details: str
    keywords: list[str]


def _name_problem(session: Session, name: str, editing: Interest | None) -> str | None:
    if not name:
        return "Enter a name."
    if len(name) > MAX_NAME:
        return f"Use at most {MAX_NAME} characters."
    if not slugify(name):
        return "Use at least one letter or digit."
    # Compared in Python: SQLite's lower() folds ASCII only, so "É" would slip past it to the
    # unique index (a 500); casefold() agrees on both databases.
    rows = session.execute(select(Interest.id, Interest.name))
    clash = next((i for i, n in rows if n.casefold() == name.casefold()), None)
    if clash is not None and (editing is None or clash != editing.id):
        return f"An interest called {name!r} already exists."
    return None


def _keywords_problem(words: list[str]) -> str | None:
    if len(words) > MAX_KEYWORDS:
        return f"Use at most {MAX_KEYWORDS} keywords."
    if any(len(k) > MAX_KEYWORD for k in words):
        return f"Each keyword can be at most {MAX_KEYWORD} characters."
    return None


def _check_fields(
    session: Session, name: str, details: str, keywords: str, *, editing: Interest | None
) -> _Fields:
    """The cleaned name, details and keywords; raises `InterestRejected` with every problem."""
    errors: dict[str, str] = {}
    name = " ".join(_cleaned(name, TextKind.LINE, "name", errors).split())
    details = _cleaned(details, TextKind.TEXT, "details", errors)
    words = parse_keywords(_cleaned(keywords, TextKind.TEXT, "keywords", errors))
    problems = {
        "name": _name_problem(session, name, editing) if "name" not in errors else None,
        "details": f"Use at most {MAX_DETAILS} characters." if len(details) > MAX_DETAILS else None,
        "keywords": _keywords_problem(words),
    }
    for field_name, problem in problems.items():
        if problem is not None:
            errors.setdefault(field_name, problem)
    if errors:
        raise InterestRejected(errors)
    return _Fields(name, details, words)


def _free_slug(session: Session, name: str) -> str:
    base = slugify(name)[:110]
    slug, n = base, 1
    while session.scalar(select(Interest.id).where(Interest.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def console_interests(session: Session) -> list[Interest]:
    """Every interest: the active ones in display order, then retired and merged ones."""
    active = list(session.scalars(select(Interest).where(*IS_ACTIVE).order_by(*DISPLAY_ORDER)))
    others = session.scalars(
        select(Interest).where(Interest.id.not_in([i.id for i in active])).order_by(Interest.name)
    )
    return active + list(others)


def get_interest(session: Session, interest_id: int) -> Interest:
    interest = session.get(Interest, interest_id)
    if interest is None:
        raise InterestRejected({"interest": "That interest no longer exists."})
    return interest


def create_interest(session: Session, *, name: str, details: str, keywords: str) -> Interest:
    """Add an active interest at the end of the list; the slug comes from the name."""
    clean = _check_fields(session, name, details, keywords, editing=None)
    last = session.scalar(select(func.max(Interest.position)))
    interest = Interest(
        name=clean.name,
        slug=_free_slug(session, clean.name),
        details=clean.details,
        keywords=clean.keywords,
        position=(last or 0) + 1,
        status=InterestStatus.ACTIVE,
    )
    session.add(interest)
    session.flush()
    return interest


def update_interest(
    session: Session, interest_id: int, *, name: str, details: str, keywords: str
) -> Interest:
    """Change the name, details and keywords; the slug stays, so links keep working."""
    interest = get_interest(session, interest_id)
    clean = _check_fields(session, name, details, keywords, editing=interest)
    interest.name, interest.details, interest.keywords = clean.name, clean.details, clean.keywords
    session.flush()
    return interest


def move_interest(session: Session, interest_id: int, direction: str) -> None:
    """Swap an active interest with its neighbour ("up" or "down"); renumbers positions."""
    if direction not in ("up", "down"):
        raise InterestRejected({"direction": "Move an interest up or down."})
    order = list(session.scalars(select(Interest).where(*IS_ACTIVE).order_by(*DISPLAY_ORDER)))
    index = next((i for i, x in enumerate(order) if x.id == interest_id), None)
    if index is None:
        raise InterestRejected({"interest": "Only active interests can be moved."})
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
    for position, interest in enumerate(order, start=1):
        interest.position = position
    session.flush()


def retire_interest(session: Session, interest_id: int) -> Interest:
    """Stop offering an interest; its existing subscriptions and tags stay as they are."""
    interest = get_interest(session, interest_id)
    if interest.merged_into_id is not None:
        raise InterestRejected({"interest": f"{interest.name} was already merged."})
    interest.status = InterestStatus.RETIRED
    session.flush()
    return interest


@dataclass(frozen=True)
class SubscriptionMerge:
    """What moving the subscribers of one interest to another did."""

    source: Interest
    target: Interest
    moved: int
    combined: int
    # Active candidates who were subscribed (confirmed) to the source: they are told.
    to_notify: list[int] = field(default_factory=list)


def _combined_status(kept: SubscriptionStatus, other: SubscriptionStatus) -> SubscriptionStatus:
    # An explicit unsubscribe from the target stands; otherwise the stronger consent wins.
    if kept is SubscriptionStatus.UNSUBSCRIBED or kept is SubscriptionStatus.SUBSCRIBED:
        return kept
    return other if other is SubscriptionStatus.SUBSCRIBED else kept


def merge_subscriptions(session: Session, source_id: int, target_id: int) -> SubscriptionMerge:
    """Move `source`'s subscribers and consent history to `target`, then retire `source`.

    A candidate subscribed to both keeps one subscription (the target's, taking
    the source's consent if the target's was only unconfirmed). Consent events
    about the source are re-pointed to the target, which is the one change made
    to them; every moved candidate gets one more event recording the merge.
    """
    if source_id == target_id:
        raise InterestRejected({"target": "Choose a different interest to merge into."})
    source = get_interest(session, source_id)
    target = get_interest(session, target_id)
    if source.merged_into_id is not None:
        raise InterestRejected({"source": f"{source.name} was already merged."})
    if target.status is not InterestStatus.ACTIVE or target.merged_into_id is not None:
        raise InterestRejected({"target": f"{target.name} is not active; merge into another."})
    subs = list(session.scalars(select(Subscription).where(Subscription.interest_id == source.id)))
    existing = {
        s.candidate_id: s
        for s in session.scalars(
            select(Subscription).where(
                Subscription.interest_id == target.id,
                Subscription.candidate_id.in_([s.candidate_id for s in subs]),
            )
        )
    }
    active = set(
        session.scalars(
            select(Candidate.id).where(
                Candidate.id.in_([s.candidate_id for s in subs]),
                Candidate.status == CandidateStatus.ACTIVE,
            )
        )
    )
    moved = combined = 0
    notify: list[int] = []
    for sub in subs:
        if sub.status is SubscriptionStatus.SUBSCRIBED and sub.candidate_id in active:
            notify.append(sub.candidate_id)
        kept = existing.get(sub.candidate_id)
        if kept is None:
            sub.interest = target
            moved += 1
        else:
            kept.status = _combined_status(kept.status, sub.status)
            session.delete(sub)
            combined += 1
    session.flush()
    session.execute(
        update(_CONSENT_EVENTS)
        .where(_CONSENT_EVENTS.c.interest_id == source.id)
        .values(interest_id=target.id)
    )
    for sub in subs:
        append_consent(
            session,
            sub.candidate_id,
            scope=ConsentScope.INTEREST,
            action=ConsentAction.CHANGE,
            source=ConsentSource.ADMIN,
            interest_id=target.id,
            detail={"merged_from": source.id, "merged_from_name": source.name},
        )
    source.status = InterestStatus.RETIRED
    source.merged_into = target
    target.keywords = parse_keywords(",".join([*target.keywords, *source.keywords]))
    session.flush()
    return SubscriptionMerge(source, target, moved, combined, sorted(notify))
