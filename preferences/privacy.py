"""GDPR data export and erasure for candidates.

`preferences` imports none of our other packages, yet a candidate's data also
lives in the outbox (mailer) and in digest items (jobs). Each package that keeps
rows about candidates answers for them itself: it registers a `CandidateDataHook`
(`register_erasure_hook`) when it is imported, whose `export` adds its sections
to the export and whose `erase` deletes or scrubs its rows. `mailer` and `jobs`
register theirs from their package `__init__`, so any process that has imported
their models (as `portal.schema` does) has their hooks; hooks run in the order
they were registered, and `jobs` imports `mailer` before registering its own.

Erasure keeps the candidate row as a tombstone (status deleted, no personal
fields, an `@invalid` placeholder address), because consent events and the
audit log refer to it:

- Consent events stay, as the record of what was agreed to and withdrawn, but
  their IP addresses are cleared: an IP is personal data and the event still
  says what, when, which wording and which source without it. The ORM refuses
  to update consent events, so this is a Core UPDATE, the one sanctioned
  exception to their append-only rule.
- The address goes on the suppression list, which stores only a salted hash
  (see `preferences.suppressions`), so the person is never mailed again.
- Saved searches go. Their consent events stay, but the search's words in them
  (`detail["search"]`, text the person typed) are replaced by `ERASED_SEARCH`,
  by the same kind of Core UPDATE as the IP addresses.
- Each hook removes its own rows (see `mailer.privacy` and `jobs.privacy`): the
  outbox's unclaimed mail goes and its history is scrubbed, digest items go.
- Resume files are deleted after the database changes are flushed, so a
  constraint failure leaves the files in place. If the transaction is rolled
  back afterwards the rows point to missing files; erasing again finishes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, case, delete, inspect, literal, select, update
from sqlalchemy.orm import Session

from preferences.addresses import normalize_email
from preferences.audit import ACTOR_CANDIDATE, record_audit
from preferences.clock import now
from preferences.db import among
from preferences.errors import InvalidEmail
from preferences.events import EventType, record_events
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentEvent,
    ConsentScope,
    Interest,
    LoginSession,
    MassEmailStatus,
    Resume,
    SavedSearch,
    Subscription,
    SuppressionReason,
    is_resume_storage_name,
)
from preferences.suppressions import suppress_many
from preferences.wordings import wording_texts

ABOUT_EXPORT = (
    "Everything Talent Connect stores about you: your profile, your job-alert "
    "subscriptions and saved searches, your mass-email choice, every consent you gave or withdrew, "
    "your resumes (the details, not the files), the emails we queued or sent you "
    "and the jobs we alerted you to, and what our API answered a connected system "
    "about you in the last day (api_answers). Each consent lists the exact words you were "
    "shown (wording, in wording_locale), their version and its SHA-256 hash, when, "
    "from where (source) and from which IP address; a consent given before wordings "
    "were versioned, or elsewhere (an import), may have no wording. Times are in UTC "
    "(ISO 8601). Your password, "
    "if you set one, is stored only as a one-way hash and is not included."
)


# What an erased saved search's consent events say instead of the search's words.
ERASED_SEARCH = "(erased)"


@dataclass(frozen=True)
class Erasure:
    """Whose rows an erasure hook removes.

    `addresses` holds the candidate's address as stored and normalized, and the
    placeholder, since mail may have been queued to any of them; `placeholder`
    replaces the address in rows kept as history.
    """

    candidate_id: int
    addresses: frozenset[str]
    placeholder: str


# Sections added to the export, each a list of JSON-safe rows, by section name.
ExportSections = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class CandidateDataHook:
    """How a package that keeps rows about candidates exports and erases them.

    `tables` names the owner's tables those rows live in, for the check that every
    table referring to a candidate is answered for. `export(session, candidate_id)`
    returns the sections it adds to the export; `erase(session, erasure)` deletes or
    scrubs the rows (Core statements, flushing nothing else) and returns the counts
    it adds to the audit event.
    """

    owner: str
    tables: tuple[str, ...]
    export: Callable[[Session, int], ExportSections]
    erase: Callable[[Session, Erasure], dict[str, int]]
    # The same for many candidates in a fixed number of statements (bulk anonymization);
    # without it, `erase` is called once per candidate.
    erase_many: Callable[[Session, Sequence[Erasure]], dict[str, int]] | None = None

    @classmethod
    def deleting_rows(
        cls,
        owner: str,
        column: Any,
        counted_as: str,
        export: Callable[[Session, int], ExportSections],
    ) -> CandidateDataHook:
        """A hook whose erasure deletes every row of `column`'s table that names one of the
        candidates in `column` (one statement for any number of them), counted as
        `counted_as` in the audit event; `export` gives its export sections."""

        def erase_many(session: Session, erasures: Sequence[Erasure]) -> dict[str, int]:
            ids = [erasure.candidate_id for erasure in erasures]
            deleted = session.execute(delete(column.table).where(among(session, column, ids)))
            return {counted_as: rowcount(deleted)}

        def erase(session: Session, erasure: Erasure) -> dict[str, int]:
            return erase_many(session, [erasure])

        return cls(owner, (column.table.name,), export, erase, erase_many)


_hooks: dict[str, CandidateDataHook] = {}


def register_erasure_hook(hook: CandidateDataHook) -> CandidateDataHook:
    """Have export and erasure ask `hook` too; registering an owner again replaces its hook."""
    _hooks[hook.owner] = hook
    return hook


def erasure_hooks() -> tuple[CandidateDataHook, ...]:
    """The registered hooks, in the order their owners first registered."""
    return tuple(_hooks.values())


# Core, not ORM: the mapper refuses updates to consent events (see the module docstring).
_consent_events = cast(Table, ConsentEvent.__table__)
_candidates = cast(Table, Candidate.__table__)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def erased_address(candidate: Candidate) -> str:
    """Return the placeholder that replaces an erased candidate's address.

    Unique per candidate (the email column is unique) and never deliverable:
    `.invalid` is reserved (RFC 6761) and `normalize_email` refuses it.
    """
    return f"erased-{candidate.public_id}@invalid"


def export_candidate_data(
    session: Session, candidate: Candidate, *, actor: str = ACTOR_CANDIDATE
) -> dict[str, Any]:
    """Return everything stored about `candidate` as a JSON-safe dict, and audit the export."""
    data: dict[str, Any] = {
        "about": ABOUT_EXPORT,
        "generated_at": _iso(now()),
        "profile": {
            "public_id": candidate.public_id,
            "email": candidate.email,
            "email_verified_at": _iso(candidate.email_verified_at),
            "first_name": candidate.first_name,
            "last_name": candidate.last_name,
            "phone": candidate.phone_e164,
            "location": candidate.location,
            "linkedin_url": candidate.linkedin_url,
            "github_url": candidate.github_url,
            "portfolio_url": candidate.portfolio_url,
            "locale": candidate.locale,
            "timezone": candidate.timezone,
            "password_set": candidate.password_hash is not None,
            "status": candidate.status.value,
            "created_at": _iso(candidate.created_at),
            "updated_at": _iso(candidate.updated_at),
            "deleted_at": _iso(candidate.deleted_at),
            # What retention counts from, and the country that picks its period.
            "last_active_at": _iso(candidate.last_active_at),
            "country": candidate.country,
        },
        "subscriptions": _subscriptions(session, candidate),
        "saved_searches": _saved_searches(session, candidate),
        "mass_email": (
            {
                "status": candidate.mass_email.status.value,
                "updated_at": _iso(candidate.mass_email.updated_at),
            }
            if candidate.mass_email is not None
            else None
        ),
        "consent_history": _consent_history(session, candidate),
        "resumes": [
            {
                "original_filename": r.original_filename,
                "content_type": r.content_type,
                "size_bytes": r.size_bytes,
                "sha256": r.sha256,
                "parsed_fields": r.parsed_fields,
                "source": r.source.value,
                "created_at": _iso(r.created_at),
            }
            for r in session.scalars(
                select(Resume)
                .where(Resume.candidate_id == candidate.id)
                .order_by(Resume.created_at, Resume.id)
            )
        ],
    }
    for hook in erasure_hooks():
        data.update(hook.export(session, candidate.id))
    record_audit(session, actor=actor, action="candidate.exported", subject=candidate.public_id)
    return data


def _subscriptions(session: Session, candidate: Candidate) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Subscription, Interest)
        .join(Interest, Interest.id == Subscription.interest_id)
        .where(Subscription.candidate_id == candidate.id)
        .order_by(Interest.position, Interest.name)
    )
    return [
        {
            "interest": interest.name,
            "interest_slug": interest.slug,
            "status": sub.status.value,
            "frequency": sub.frequency.value,
            "paused_until": _iso(sub.paused_until),
            "last_alerted_at": _iso(sub.last_alerted_at),
            "created_at": _iso(sub.created_at),
            "updated_at": _iso(sub.updated_at),
        }
        for sub, interest in rows
    ]


def _saved_searches(session: Session, candidate: Candidate) -> list[dict[str, Any]]:
    rows = session.execute(
        select(SavedSearch, Interest.name)
        .outerjoin(Interest, Interest.id == SavedSearch.interest_id)
        .where(SavedSearch.candidate_id == candidate.id)
        .order_by(SavedSearch.created_at, SavedSearch.id)
    )
    return [
        {
            "id": search.id,
            "query": search.query,
            "location": search.location,
            "workplace": search.workplace,
            "employment_type": search.employment_type,
            "interest": interest_name,
            "status": search.status.value,
            "frequency": search.frequency.value,
            "paused_until": _iso(search.paused_until),
            "last_alerted_at": _iso(search.last_alerted_at),
            "created_at": _iso(search.created_at),
            "updated_at": _iso(search.updated_at),
        }
        for search, interest_name in rows
    ]


def _consent_history(session: Session, candidate: Candidate) -> list[dict[str, Any]]:
    """Each consent event with the words it was given under (all read in two queries).

    `wording` is the version's text from `consent_wordings`; an event from before
    wordings were versioned has none, and shows the text its detail quoted, if any.
    """
    rows = session.execute(
        select(ConsentEvent, Interest.name)
        .outerjoin(Interest, Interest.id == ConsentEvent.interest_id)
        .where(ConsentEvent.candidate_id == candidate.id)
        .order_by(ConsentEvent.occurred_at, ConsentEvent.id)
    ).all()
    wordings = wording_texts(session, (ev.wording_version for ev, _name in rows))
    history = []
    for ev, interest_name in rows:
        wording = wordings.get(ev.wording_version)
        quoted = ev.detail.get("wording") if isinstance(ev.detail, dict) else None
        history.append(
            {
                "scope": ev.scope.value,
                "interest": interest_name,
                "saved_search_id": ev.saved_search_id,
                "action": ev.action.value,
                "source": ev.source.value,
                "wording": wording.text if wording is not None else quoted,
                "wording_version": ev.wording_version,
                "wording_sha256": wording.sha256 if wording is not None else None,
                "wording_locale": wording.locale if wording is not None else None,
                "detail": ev.detail,
                "ip_address": ev.ip_address,
                "occurred_at": _iso(ev.occurred_at),
            }
        )
    return history


def erase_candidate(
    session: Session,
    candidate: Candidate,
    *,
    upload_dir: Path,
    actor: str = ACTOR_CANDIDATE,
) -> None:
    """Erase the candidate's personal data and resume files, keeping a tombstone row.

    Flushes, never commits. Safe to call again on an erased candidate: it
    removes whatever is left and records another audit event.
    """
    counts = erase_candidates(
        session,
        [candidate.id],
        upload_dir=upload_dir,
        requested_by="request" if actor == ACTOR_CANDIDATE else "admin",
    )
    record_audit(
        session,
        actor=actor,
        action="candidate.erased",
        subject=candidate.public_id,
        detail={"deleted": counts},
    )


def erase_candidates(
    session: Session,
    candidate_ids: Sequence[int],
    *,
    upload_dir: Path,
    reason: SuppressionReason = SuppressionReason.ERASURE,
    requested_by: str = "request",
) -> dict[str, int]:
    """Erase many candidates at once, as `erase_candidate` does one; returns the counts.

    A fixed number of statements per call, whatever its size, so the retention run
    anonymizes a chunk of candidates as cheaply as one. Addresses go on the
    suppression list with `reason` (only those of candidates not erased before).
    Loaded objects of these candidates are expired. The caller writes the audit events.

    Each candidate not erased before gets a `candidate.erased` event (one INSERT for
    all): mode "anonymized" with reason "retention_expired" for a retention expiry,
    else mode "deleted" with reason `requested_by` ("request": the person's own,
    "admin": on someone else's word).
    """
    ids = sorted(set(candidate_ids))
    if not ids:
        return {}
    session.flush()
    people = session.execute(
        select(
            _candidates.c.id, _candidates.c.public_id, _candidates.c.email, _candidates.c.status
        ).where(among(session, _candidates.c.id, ids))
    ).all()
    ids = [row.id for row in people]
    storage_names = list(
        session.scalars(select(Resume.storage_name).where(among(session, Resume.candidate_id, ids)))
    )
    counts = {
        "resumes": len(storage_names),
        "subscriptions": rowcount(_delete_rows(session, Subscription, ids)),
        "saved_searches": _erase_saved_searches(session, ids),
    }
    _delete_rows(session, Resume, ids)
    _delete_rows(session, MassEmailStatus, ids)
    # Signed-in browsers too: their sessions go, with when they signed in.
    _delete_rows(session, LoginSession, ids)

    erasures = []
    for row in people:
        placeholder = f"erased-{row.public_id}@invalid"
        addresses = {row.email, placeholder}
        with contextlib.suppress(InvalidEmail):
            addresses.add(normalize_email(row.email))
        erasures.append(Erasure(row.id, frozenset(addresses), placeholder))
    for hook in erasure_hooks():
        if hook.erase_many is not None:
            found = hook.erase_many(session, erasures)
        else:
            found = {}
            for erasure in erasures:
                for key, value in hook.erase(session, erasure).items():
                    found[key] = found.get(key, 0) + value
        counts.update(found)
    session.execute(
        update(_consent_events)
        .where(among(session, _consent_events.c.candidate_id, ids))
        .values(ip_address=None)
    )
    # An address that cannot be normalized cannot be mailed either.
    suppress_many(
        session,
        [row.email for row in people if row.status != CandidateStatus.DELETED],
        reason,
    )
    at = now()
    session.execute(
        update(_candidates)
        .where(among(session, _candidates.c.id, ids))
        .values(
            email=literal("erased-") + _candidates.c.public_id + literal("@invalid"),
            deleted_at=case(
                (_candidates.c.status == CandidateStatus.DELETED, _candidates.c.deleted_at),
                else_=literal(at, _candidates.c.deleted_at.type),
            ),
            status=CandidateStatus.DELETED,
            email_verified_at=None,
            first_name="",
            last_name="",
            phone_e164=None,
            location=None,
            country=None,
            linkedin_url=None,
            github_url=None,
            portfolio_url=None,
            locale="en",
            timezone="UTC",
            password_hash=None,
            # Every signed link carries the version, so this revokes all of them.
            token_version=_candidates.c.token_version + 1,
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    _forget_loaded(session, set(ids))
    _record_erased(session, people, reason, requested_by)
    counts["files"] = _delete_files(upload_dir, storage_names)
    return counts


def _record_erased(
    session: Session, people: Sequence[Any], reason: SuppressionReason, requested_by: str
) -> None:
    """One `candidate.erased` per candidate erased now (not again), by the public id kept."""
    if reason is SuppressionReason.RETENTION_EXPIRED:
        data, source = {"mode": "anonymized", "reason": reason.value}, "retention"
    else:
        data = {"mode": "deleted", "reason": requested_by}
        source = "candidate" if requested_by == "request" else "admin"
    record_events(
        session,
        [
            (EventType.CANDIDATE_ERASED, row.public_id, data)
            for row in people
            if row.status != CandidateStatus.DELETED
        ],
        source=source,
    )


def _delete_rows(session: Session, model: type[Any], candidate_ids: Sequence[int]) -> Any:
    """Delete the candidates' rows of `model`; loaded objects of those rows leave the
    session ("fetch": the deleted keys come back by RETURNING where the database can)."""
    return session.execute(
        delete(model)
        .where(among(session, model.candidate_id, candidate_ids))
        .execution_options(synchronize_session="fetch")
    )


def _forget_loaded(session: Session, ids: set[int]) -> None:
    """Expire loaded objects of erased candidates: Core statements changed their rows.

    Only values already loaded are read, so an expired object is never refreshed here.
    """
    for obj in list(session.identity_map.values()):
        loaded = inspect(obj).dict
        owner = loaded.get("id") if isinstance(obj, Candidate) else loaded.get("candidate_id")
        if owner in ids:
            session.expire(obj)


def _erase_saved_searches(session: Session, candidate_ids: Sequence[int]) -> int:
    """Delete the candidates' saved searches and blank their words in the consent events."""
    events = session.execute(
        select(ConsentEvent.id, ConsentEvent.detail).where(
            among(session, ConsentEvent.candidate_id, candidate_ids),
            ConsentEvent.scope == ConsentScope.SAVED_SEARCH,
        )
    ).all()
    for event_id, detail in events:
        if isinstance(detail, dict) and detail.get("search") not in (None, ERASED_SEARCH):
            session.execute(
                update(_consent_events)
                .where(_consent_events.c.id == event_id)
                .values(detail={**detail, "search": ERASED_SEARCH})
            )
    return rowcount(_delete_rows(session, SavedSearch, candidate_ids))


def rowcount(result: Any) -> int:
    """How many rows a Core DELETE or UPDATE touched, for an erasure's counts (0 if unknown)."""
    return int(getattr(result, "rowcount", 0) or 0)


def _delete_files(upload_dir: Path, storage_names: list[str]) -> int:
    """Delete stored resume files; returns how many existed. Odd names are never used as paths."""
    deleted = 0
    for name in storage_names:
        if not is_resume_storage_name(name):
            continue
        path = Path(upload_dir) / name
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        deleted += 1
    return deleted
