"""Managing interests from the recruiter console: create, edit, reorder, retire, merge.

Merging here covers what the preferences package owns (subscriptions and
consent history); `jobs.posting_admin.merge_interest` adds the job tags, the
schedules and the notification emails on top.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from preferences.audit import record_audit, recruiter_actor
from preferences.errors import PreferencesError
from preferences.interest_texts import InterestText, stored_translations
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
    InterestTranslation,
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


def translation_key(kind: str, locale: str) -> str:
    """The error (and form field) key of a translation's `kind` ("name", "details")."""
    return f"{kind}_{locale.replace('-', '_')}"


def _translation_name_problem(
    session: Session, name: str, locale: str, details: str, interest_id: int
) -> str | None:
    if not name:
        return "Enter a name in this language too, or leave its details empty." if details else None
    if len(name) > MAX_NAME:
        return f"Use at most {MAX_NAME} characters."
    # Compared in Python, as `_name_problem` does (SQLite's lower() folds ASCII only).
    rows = session.execute(
        select(InterestTranslation.interest_id, InterestTranslation.name).where(
            InterestTranslation.locale == locale
        )
    )
    if any(n.casefold() == name.casefold() and i != interest_id for i, n in rows):
        return f"Another interest is already called {name!r} in this language."
    return None


def _check_translations(
    session: Session,
    interest_id: int,
    texts: Mapping[str, InterestText],
    *,
    locales: Collection[str],
    errors: dict[str, str],
) -> dict[str, InterestText]:
    """The cleaned translations by locale (empty ones as ""); problems go into `errors`.

    `locales` are the languages an interest may be translated into: the supported ones
    but the default, whose name and details are the interest's own.
    """
    clean: dict[str, InterestText] = {}
    for locale, text in texts.items():
        if locale not in locales:
            errors.setdefault("translations", f"{locale!r} is not a language interests take.")
            continue
        name_key, details_key = translation_key("name", locale), translation_key("details", locale)
        name = " ".join(_cleaned(text.name, TextKind.LINE, name_key, errors).split())
        details = _cleaned(text.details, TextKind.TEXT, details_key, errors).strip()
        if len(details) > MAX_DETAILS:
            errors.setdefault(details_key, f"Use at most {MAX_DETAILS} characters.")
        if name_key not in errors:
            problem = _translation_name_problem(session, name, locale, details, interest_id)
            if problem is not None:
                errors[name_key] = problem
        clean[locale] = InterestText(name, details)
    return clean


def _store_translations(
    session: Session, interest_id: int, texts: Mapping[str, InterestText]
) -> list[str]:
    """Write the translations (an empty one deletes the row); return the locales changed."""
    stored = stored_translations(session, interest_id)
    changed = sorted(
        locale for locale, text in texts.items() if stored.get(locale, InterestText("", "")) != text
    )
    for locale in changed:
        text = texts[locale]
        session.execute(
            delete(InterestTranslation).where(
                InterestTranslation.interest_id == interest_id,
                InterestTranslation.locale == locale,
            )
        )
        if text.name:
            session.add(
                InterestTranslation(
                    interest_id=interest_id, locale=locale, name=text.name, details=text.details
                )
            )
    # Deletes first: a name moved from one interest to another in one save must not clash.
    session.flush()
    return changed


def update_interest(
    session: Session,
    interest_id: int,
    *,
    name: str,
    details: str,
    keywords: str,
    translations: Mapping[str, InterestText] | None = None,
    locales: Collection[str] = (),
    recruiter_id: int | None = None,
) -> Interest:
    """Change the name, details, keywords and translations; the slug stays, so links work.

    `translations` maps each of `locales` (the supported languages but the default) to
    its name and details; an empty name and details removes that language's. Every
    problem is reported at once (`InterestRejected`) and nothing is stored then.
    A recruiter's change of translations is audited (`interest.translated`).
    """
    interest = get_interest(session, interest_id)
    errors: dict[str, str] = {}
    texts = _check_translations(
        session, interest_id, translations or {}, locales=locales, errors=errors
    )
    try:
        clean = _check_fields(session, name, details, keywords, editing=interest)
    except InterestRejected as exc:
        raise InterestRejected({**exc.errors, **errors}) from None
    if errors:
        raise InterestRejected(errors)
    interest.name, interest.details, interest.keywords = clean.name, clean.details, clean.keywords
    changed = _store_translations(session, interest_id, texts)
    if changed and recruiter_id is not None:
        record_audit(
            session,
            actor=recruiter_actor(recruiter_id),
            action="interest.translated",
            subject=f"interest:{interest_id}",
            detail={"locales": changed},
        )
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
    # Each candidate's status and language in one query: the language names the default
    # wording of the consent event the merge writes for them.
    people = {
        row.id: row
        for row in session.execute(
            select(Candidate.id, Candidate.status, Candidate.locale).where(
                Candidate.id.in_([s.candidate_id for s in subs])
            )
        )
    }
    active = {i for i, row in people.items() if row.status is CandidateStatus.ACTIVE}
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
            locale=people[sub.candidate_id].locale if sub.candidate_id in people else None,
        )
    source.status = InterestStatus.RETIRED
    source.merged_into = target
    target.keywords = parse_keywords(",".join([*target.keywords, *source.keywords]))
    session.flush()
    return SubscriptionMerge(source, target, moved, combined, sorted(notify))
