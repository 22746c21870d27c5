"""Service functions for candidates, interest subscriptions and mass email.

Every change of consent writes a `ConsentEvent` in the same transaction. The
functions flush but never commit; the caller's scope decides.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    Insert,
    Select,
    Table,
    Update,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from preferences.addresses import normalize_email
from preferences.clock import now
from preferences.db import insert_numbered, numbered
from preferences.errors import (
    CandidateDeleted,
    InterestUnavailable,
    InvalidEmail,
    InvalidTransition,
    NotFound,
)
from preferences.events import (
    EventType,
    WebhookEvent,
    candidate_key,
    consent_events,
    event_rows,
    record_event,
    record_events,
)
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Frequency,
    Interest,
    InterestStatus,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
)
from preferences.wordings import default_wording_version


class HasId(Protocol):
    """A candidate, or a plain row naming one."""

    @property
    def id(self) -> int: ...


# The one wording label every consent event carried before wordings were versioned
# (`preferences.wordings`). Kept so old records can be recognised; never written now.
CURRENT_WORDING_VERSION = "2026-11-v1"


_SUBSCRIPTIONS: Table = Subscription.__table__  # type: ignore[assignment]
_MASS_EMAIL: Table = MassEmailStatus.__table__  # type: ignore[assignment]
_CONSENT_EVENTS: Table = ConsentEvent.__table__  # type: ignore[assignment]
_WEBHOOK_EVENTS: Table = WebhookEvent.__table__  # type: ignore[assignment]


def _forget_loaded(session: Session, model: type[Any], key: Any) -> None:
    """Expire a loaded ORM object whose row was just changed by a Core statement."""
    loaded = session.identity_map.get(session.identity_key(model, key))
    if loaded is not None:
        session.expire(loaded)


_APPEND_CONSENT = insert(_CONSENT_EVENTS).returning(_CONSENT_EVENTS.c.id)


_LOCALE_OF = select(Candidate.locale).where(Candidate.id == bindparam("candidate_id"))


def candidate_language(session: Session, candidate_id: int) -> str | None:
    """The candidate's stored language: from the loaded row if there is one, else one query."""
    loaded = session.identity_map.get(session.identity_key(Candidate, candidate_id))
    if loaded is not None:
        # Read without a refresh: an expired attribute would cost the query this avoids.
        locale = loaded.__dict__.get("locale")
        if isinstance(locale, str):
            return locale
    found = session.connection().execute(_LOCALE_OF, {"candidate_id": candidate_id}).scalar()
    return found if isinstance(found, str) else None


def append_consent(
    session: Session,
    candidate_id: int,
    *,
    scope: ConsentScope,
    action: ConsentAction,
    source: ConsentSource,
    interest_id: int | None = None,
    saved_search_id: int | None = None,
    wording_version: str | None = None,
    detail: dict[str, Any] | None = None,
    ip_address: str | None = None,
    locale: str | None = None,
) -> int | None:
    """Append one consent event (one INSERT, no ORM object); return its id.

    Inside a `consent_batch` block the event is written when the block ends, and
    None is returned.

    `wording_version` is the version of the wording the person was shown
    (`preferences.wordings.wording_version`). Without one (nobody was shown a text: a
    one-click POST, a bounce, a recruiter's change), the event names the version of its
    scope's default wording in `locale`, the candidate's language (read from the loaded
    candidate, or in one query, when not given).
    """
    session.flush()  # the rows it refers to must be written first
    row, events = _consent_record(
        session,
        candidate_id,
        scope=scope,
        action=action,
        source=source,
        interest_id=interest_id,
        saved_search_id=saved_search_id,
        wording_version=wording_version,
        detail=detail,
        ip_address=ip_address,
        locale=locale,
    )
    batch: _ConsentBatch | None = session.info.get(_CONSENT_BATCH)
    if batch is not None:
        batch.add(row, events, source.value)
        return None
    event_id: int = session.connection().execute(_APPEND_CONSENT, row).scalar_one()
    if events:
        record_events(session, events, source=source.value)
    return event_id


def _consent_record(
    session: Session,
    candidate_id: int,
    *,
    scope: ConsentScope,
    action: ConsentAction,
    source: ConsentSource,
    interest_id: int | None = None,
    saved_search_id: int | None = None,
    wording_version: str | None = None,
    detail: dict[str, Any] | None = None,
    ip_address: str | None = None,
    locale: str | None = None,
) -> tuple[dict[str, Any], list[tuple[EventType, str | None, Any]]]:
    """`append_consent`'s consent row and the webhook events (type, candidate, data) it makes."""
    if (scope is ConsentScope.INTEREST) != (interest_id is not None):
        raise ValueError("an interest consent event needs exactly one interest")
    if (scope is ConsentScope.SAVED_SEARCH) != (saved_search_id is not None):
        raise ValueError("a saved-search consent event needs exactly one saved search")
    if wording_version is None:
        if locale is None:
            locale = candidate_language(session, candidate_id)
        wording_version = default_wording_version(session, scope, locale)
    row = {
        "candidate_id": candidate_id,
        "scope": scope,
        "interest_id": interest_id,
        "saved_search_id": saved_search_id,
        "action": action,
        "source": source,
        "wording_version": wording_version,
        "detail": detail or {},
        "ip_address": ip_address,
        "occurred_at": now(),
    }
    # Other systems hear of it in the same transaction (`preferences.events`).
    emitted = consent_events(
        scope,
        action,
        source,
        interest_id=interest_id,
        saved_search_id=saved_search_id,
        detail=detail,
    )
    key = candidate_key(session, candidate_id) if emitted else None
    return row, [(kind, key, data) for kind, data in emitted]


@functools.lru_cache(maxsize=16)
def _change_and_consent_statement(change: Update, events: int) -> Select[Any]:
    """`change` (a conditional UPDATE returning one column), then its consent event and
    `events` webhook events for the row it changed, as one statement (PostgreSQL)."""
    changed = change.cte("changed")
    consent = insert_numbered(_CONSENT_EVENTS, "c", 1, per_row_of=changed).cte("consent")
    statement = select(*changed.c).add_cte(consent)
    if events:
        hooks = insert_numbered(_WEBHOOK_EVENTS, "e", events, per_row_of=changed)
        statement = statement.add_cte(hooks.cte("hooks"))
    return statement


def _change_and_consent(
    session: Session, change: Update, params: dict[str, Any], candidate_id: int, **consent: Any
) -> Any:
    """Run `change`, a conditional UPDATE returning one column, with `params`; when it
    changed a row, append that change's consent event (`append_consent`, given
    `consent`: its scope, action, source and the rest). Returns the returned value, or
    None when nothing changed.

    On PostgreSQL (outside a `consent_batch` block) the change, its consent event and
    the webhook events it makes go as one statement of data-modifying CTEs: one round
    trip instead of three, for the writes mail scanners make in bursts (one-click).
    The consent row is made before it is known to be needed, so a change that changes
    nothing may still cost the reads it needs (the wording's version when not cached,
    the candidate's public id when not known).
    """
    session.flush()  # the rows it refers to must be written first
    conn = session.connection()
    if conn.dialect.name != "postgresql" or session.info.get(_CONSENT_BATCH) is not None:
        changed = conn.execute(change, params).scalar()
        if changed is not None:
            append_consent(session, candidate_id, **consent)
        return changed
    row, events = _consent_record(session, candidate_id, **consent)
    values = {
        **params,
        **numbered("c", [row]),
        **numbered("e", event_rows(events, source=consent["source"].value)),
    }
    return conn.execute(_change_and_consent_statement(change, len(events)), values).scalar()


# A `consent_batch` block's events go as one statement on PostgreSQL up to this many
# parameters (a Save's few changes); a larger block sends each kind apart.
_ONE_STATEMENT_PARAMETERS = 4000

# Key in `Session.info`: the `_ConsentBatch` of the `consent_batch` block under way.
_CONSENT_BATCH = "talentconnect_consent_batch"


@dataclass
class _ConsentBatch:
    rows: list[dict[str, Any]] = field(default_factory=list)
    # Runs of webhook events with the same source, in the order they were made.
    events: list[tuple[str, list[tuple[EventType, str | None, Any]]]] = field(default_factory=list)
    # Loaded subscriptions' field updates (`_update_subscription`), by field: one
    # executemany each (pipelined by psycopg on PostgreSQL).
    updates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(
        self, row: dict[str, Any], events: list[tuple[EventType, str | None, Any]], source: str
    ) -> None:
        self.rows.append(row)
        if not events:
            return
        if self.events and self.events[-1][0] == source:
            self.events[-1][1].extend(events)
        else:
            self.events.append((source, list(events)))

    def write(self, session: Session) -> None:
        conn = session.connection()
        for name, params in self.updates.items():
            conn.execute(_UPDATE_BY_ID[name], params)
        count = sum(len(run) for _source, run in self.events)
        if (
            conn.dialect.name == "postgresql"
            and self.rows
            and count
            and len(self.rows) * len(_CONSENT_EVENTS.c) + count * len(_WEBHOOK_EVENTS.c)
            <= _ONE_STATEMENT_PARAMETERS
        ):
            # The consent events and the webhook events in one statement: one round trip.
            # (Not the updates too: two updates of one row in one statement would not
            # both take effect, and a Save may change a row's frequency and its pause.)
            rows = [row for source, run in self.events for row in event_rows(run, source=source)]
            conn.execute(
                _consents_and_events(len(self.rows), len(rows)),
                {**numbered("c", self.rows), **numbered("e", rows)},
            )
            return
        if self.rows:
            conn.execute(insert(_CONSENT_EVENTS), self.rows)
        for source, events in self.events:
            record_events(session, events, source=source)


@functools.lru_cache(maxsize=64)
def _consents_and_events(consents: int, events: int) -> Insert:
    """`consents` consent rows and `events` webhook events (`numbered` "c" and "e") in
    one statement (PostgreSQL), built once per shape."""
    rows = insert_numbered(_CONSENT_EVENTS, "c", consents).cte("consents")
    return insert_numbered(_WEBHOOK_EVENTS, "e", events).add_cte(rows)


@contextmanager
def consent_batch(session: Session) -> Iterator[None]:
    """Write the block's consent events (and the webhook events they make) at its end.

    One multi-row INSERT each instead of two statements per change: for a Save that
    changes several subscriptions at once. The block's updates of loaded subscriptions'
    frequency or pause (`_update_subscription`) are sent at its end too, before the events:
    nothing in the block may read those rows back with a query meanwhile. Inside the
    block `append_consent` returns None (the ids are not known yet); the events are
    written, in order, in the same transaction when the block ends without an error,
    and not at all when it raises (the transaction is then rolled back). A nested block
    joins the outer one.
    """
    if _CONSENT_BATCH in session.info:
        yield
        return
    batch = _ConsentBatch()
    session.info[_CONSENT_BATCH] = batch
    try:
        yield
    finally:
        session.info.pop(_CONSENT_BATCH, None)
    session.flush()  # the rows the events refer to
    batch.write(session)


def record_consent(
    session: Session,
    candidate: Candidate,
    *,
    scope: ConsentScope,
    action: ConsentAction,
    source: ConsentSource,
    interest: Interest | None = None,
    wording_version: str | None = None,
    detail: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> int | None:
    """Append one consent event for `candidate`; return its id (None in a `consent_batch`).

    Without `wording_version`, the scope's default wording in the candidate's language
    (see `append_consent`).
    """
    return append_consent(
        session,
        candidate.id,
        scope=scope,
        action=action,
        source=source,
        interest_id=interest.id if interest is not None else None,
        wording_version=wording_version,
        detail=detail,
        ip_address=ip_address,
        locale=candidate.locale,
    )


def _record_interest(
    session: Session,
    candidate: Candidate,
    interest: Interest,
    action: ConsentAction,
    source: ConsentSource,
    **fields: Any,
) -> int | None:
    return record_consent(
        session,
        candidate,
        scope=ConsentScope.INTEREST,
        interest=interest,
        action=action,
        source=source,
        **fields,
    )


def find_candidate(session: Session, email: str) -> Candidate | None:
    """Return the candidate with this address, if any."""
    return session.scalar(select(Candidate).where(Candidate.email == normalize_email(email)))


def find_active_candidate(session: Session, email: str) -> Candidate | None:
    """The active candidate with this address; None for unknown, erased or malformed ones."""
    try:
        candidate = find_candidate(session, email)
    except InvalidEmail:
        return None
    if candidate is None or candidate.status is not CandidateStatus.ACTIVE:
        return None
    return candidate


def add_candidate(session: Session, candidate: Candidate, *, source: str | None) -> Candidate:
    """Insert a new candidate with its `candidate.created` event; every sign-up path's one way in.

    `source` says how they came (connect_form, social_sign_in, saved_search, import, api).
    A candidate added with a verified address (a provider vouched for it) is also
    `candidate.confirmed` at once, in the same transaction.
    """
    verified = candidate.email_verified_at is not None
    session.add(candidate)
    session.flush()
    record_event(
        session,
        EventType.CANDIDATE_CREATED,
        candidate=candidate.public_id,
        data={"language": candidate.locale},
        source=source,
    )
    if verified:
        record_event(
            session, EventType.CANDIDATE_CONFIRMED, candidate=candidate.public_id, source=source
        )
    return candidate


def mark_address_verified(session: Session, candidate: Candidate, *, source: str) -> bool:
    """Verify the candidate's address, with its `candidate.confirmed` event; False if it was.

    The one place `email_verified_at` goes from unset to set (erasure clears it).
    `source` says how: the consent source of the confirmation (connect_form,
    preference_center, …), login_link or social_sign_in.
    """
    if candidate.email_verified_at is not None:
        return False
    candidate.email_verified_at = now()
    session.flush()
    record_event(
        session, EventType.CANDIDATE_CONFIRMED, candidate=candidate.public_id, source=source
    )
    return True


def get_or_create_candidate(
    session: Session, email: str, *, source: str | None = None, **fields: Any
) -> tuple[Candidate, bool]:
    """Return the candidate for `email`, creating one if needed, and whether it was created.

    `fields` fill in profile attributes of a new candidate only; an existing
    profile is never overwritten here. `source` names the path in the
    `candidate.created` event (the REST API passes "api").
    """
    address = normalize_email(email)
    candidate = session.scalar(select(Candidate).where(Candidate.email == address))
    if candidate is not None:
        if candidate.status is CandidateStatus.DELETED:
            raise CandidateDeleted(candidate.public_id)
        return candidate, False
    return add_candidate(session, Candidate(email=address, **fields), source=source), True


def _require_active(candidate: Candidate) -> None:
    if candidate.status is CandidateStatus.DELETED:
        raise CandidateDeleted(candidate.public_id)


def _find_subscription(
    session: Session, candidate: Candidate, interest: Interest
) -> Subscription | None:
    """The subscription: one read, unless `hold_subscriptions` noted it in this transaction."""
    held = session.info.get(_HELD)
    if held is not None and held[0] is session.get_transaction():
        found = held[1].get((candidate.id, interest.id))
        if found is not None:
            return found
    return session.scalar(
        select(Subscription).where(
            Subscription.candidate_id == candidate.id,
            Subscription.interest_id == interest.id,
        )
    )


# Key in `Session.info`: (transaction, {(candidate id, interest id): subscription}).
_HELD = "talentconnect_held_subscriptions"


def hold_subscriptions(session: Session, subscriptions: Iterable[Subscription]) -> None:
    """Note subscriptions just read FOR UPDATE (or under SQLite's write lock).

    Changes later in the same transaction (`set_frequency`, `pause_subscription`, …) then
    use these rows instead of reading each one again; a later transaction reads afresh.
    """
    session.info[_HELD] = (
        session.get_transaction(),
        {(s.candidate_id, s.interest_id): s for s in subscriptions},
    )


def _subscription(session: Session, candidate: Candidate, interest: Interest) -> Subscription:
    sub = _find_subscription(session, candidate, interest)
    if sub is None:
        raise NotFound("subscription", (candidate.public_id, interest.slug))
    return sub


def subscribe(
    session: Session,
    candidate: Candidate,
    interest: Interest,
    *,
    source: ConsentSource,
    frequency: Frequency | None = None,
    confirmed: bool = False,
    wording_version: str | None = None,
    wording: str | None = None,
    ip_address: str | None = None,
    detail: dict[str, Any] | None = None,
) -> Subscription:
    """Subscribe `candidate` to job alerts for `interest`.

    `wording` is the exact consent text the candidate saw; it is kept in the event,
    with `detail` (for example which boxes the person ticked).

    A new subscription starts unconfirmed unless `confirmed` is set (the address
    was already verified). Subscribing again while subscribed changes nothing
    and writes no event.
    """
    _require_active(candidate)
    if interest.status is not InterestStatus.ACTIVE or interest.merged_into_id is not None:
        raise InterestUnavailable(interest.slug, "merged" if interest.merged_into_id else "retired")
    sub = _find_subscription(session, candidate, interest)
    target = SubscriptionStatus.SUBSCRIBED if confirmed else SubscriptionStatus.UNCONFIRMED
    if sub is None:
        sub = Subscription(
            candidate_id=candidate.id,
            interest_id=interest.id,
            status=target,
            frequency=frequency or Frequency.DAILY,
        )
        session.add(sub)
    elif sub.status is SubscriptionStatus.SUBSCRIBED or sub.status is target:
        if frequency is not None and frequency is not sub.frequency:
            return set_frequency(session, candidate, interest, frequency, source=source)
        return sub
    else:
        sub.status = target
        if frequency is not None:
            sub.frequency = frequency
    session.flush()
    _record_interest(
        session,
        candidate,
        interest,
        ConsentAction.GRANT,
        source,
        wording_version=wording_version,
        detail={
            "status": sub.status.value,
            "frequency": sub.frequency.value,
            **({"wording": wording} if wording else {}),
            **(detail or {}),
        },
        ip_address=ip_address,
    )
    return sub


def confirm_subscription(
    session: Session,
    candidate: Candidate,
    interest: Interest,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
    wording_version: str | None = None,
) -> Subscription:
    """Confirm an unconfirmed subscription (double opt-in). Idempotent."""
    _require_active(candidate)
    sub = _subscription(session, candidate, interest)
    if sub.status is SubscriptionStatus.SUBSCRIBED:
        return sub
    if sub.status is SubscriptionStatus.UNSUBSCRIBED:
        raise InvalidTransition("subscription", sub.status.value, "subscribed")
    sub.status = SubscriptionStatus.SUBSCRIBED
    mark_address_verified(session, candidate, source=source.value)
    session.flush()
    _record_interest(
        session,
        candidate,
        interest,
        ConsentAction.CONFIRM,
        source,
        wording_version=wording_version,
        ip_address=ip_address,
    )
    return sub


def unsubscribe(
    session: Session,
    candidate: Candidate,
    interest: Interest,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
    detail: dict[str, Any] | None = None,
    wording_version: str | None = None,
) -> bool:
    """Stop job alerts for `interest`. Returns whether anything changed.

    Unsubscribing twice, or from an interest never subscribed to, is a no-op, so
    one-click unsubscribe can be repeated safely. `detail` is kept in the consent event.
    """
    return withdraw_interest(
        session,
        candidate.id,
        interest.id,
        source=source,
        ip_address=ip_address,
        detail=detail,
        wording_version=wording_version,
        locale=candidate.locale,
    )


# Built once (hot path): unsubscribe unless already unsubscribed, returning the row's id.
_WITHDRAW = (
    update(_SUBSCRIPTIONS)
    .where(
        _SUBSCRIPTIONS.c.candidate_id == bindparam("candidate"),
        _SUBSCRIPTIONS.c.interest_id == bindparam("interest"),
        _SUBSCRIPTIONS.c.status != SubscriptionStatus.UNSUBSCRIBED,
    )
    .values(status=SubscriptionStatus.UNSUBSCRIBED, updated_at=bindparam("at"))
    .returning(_SUBSCRIPTIONS.c.id)
)


def withdraw_interest(
    session: Session,
    candidate_id: int,
    interest_id: int,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
    detail: dict[str, Any] | None = None,
    wording_version: str | None = None,
    locale: str | None = None,
) -> bool:
    """`unsubscribe` by ids: one conditional UPDATE, plus the consent event when it changed.

    Mail scanners POST one-click links in bursts, so this is one statement on
    PostgreSQL and three on SQLite (`_change_and_consent`): pass `locale` (the
    candidate's language) when known, or the event's default wording costs a query
    for it (see `append_consent`).
    """
    changed = _change_and_consent(
        session,
        _WITHDRAW,
        {"candidate": candidate_id, "interest": interest_id, "at": now()},
        candidate_id,
        scope=ConsentScope.INTEREST,
        interest_id=interest_id,
        action=ConsentAction.WITHDRAW,
        source=source,
        wording_version=wording_version,
        detail=detail,
        ip_address=ip_address,
        locale=locale,
    )
    if changed is None:
        return False
    _forget_loaded(session, Subscription, changed)
    return True


# One loaded subscription's fields by id (`_update_subscription`), one statement per field.
_UPDATE_BY_ID = {
    name: update(_SUBSCRIPTIONS)
    .where(_SUBSCRIPTIONS.c.id == bindparam("sub_id"))
    .values({name: bindparam(name), "updated_at": bindparam("updated_at")})
    for name in ("frequency", "paused_until")
}


def _update_subscription(session: Session, sub: Subscription, name: str, value: Any) -> None:
    """Write one field (and `updated_at`) of a loaded subscription: one UPDATE by id.

    Cheaper than the ORM's flush of a changed object (a Save makes several such
    changes); the loaded object is given the same values, as if loaded after the write.
    Inside a `consent_batch` block the UPDATE is sent when the block ends, with the
    block's other updates of the same field in one executemany.
    """
    at = now()
    params = {"sub_id": sub.id, name: value, "updated_at": at}
    batch: _ConsentBatch | None = session.info.get(_CONSENT_BATCH)
    if batch is not None:
        batch.updates.setdefault(name, []).append(params)
    else:
        session.connection().execute(_UPDATE_BY_ID[name], params)
    set_committed_value(sub, name, value)
    set_committed_value(sub, "updated_at", at)


def set_frequency(
    session: Session,
    candidate: Candidate,
    interest: Interest,
    frequency: Frequency,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
    wording_version: str | None = None,
) -> Subscription:
    """Change how often alerts for `interest` arrive."""
    _require_active(candidate)
    sub = _subscription(session, candidate, interest)
    if sub.status is SubscriptionStatus.UNSUBSCRIBED:
        raise InvalidTransition("subscription", sub.status.value, f"frequency {frequency.value}")
    if sub.frequency is frequency:
        return sub
    previous = sub.frequency
    _update_subscription(session, sub, "frequency", frequency)
    _record_interest(
        session,
        candidate,
        interest,
        ConsentAction.CHANGE,
        source,
        wording_version=wording_version,
        detail={"frequency": frequency.value, "previous_frequency": previous.value},
        ip_address=ip_address,
    )
    return sub


def pause_subscription(
    session: Session,
    candidate: Candidate,
    interest: Interest,
    until: datetime | None,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
    wording_version: str | None = None,
) -> Subscription:
    """Pause alerts for `interest` until `until`; `None` resumes them."""
    _require_active(candidate)
    if until is not None and until <= now():
        raise ValueError("a pause must end in the future")
    sub = _subscription(session, candidate, interest)
    if sub.status is SubscriptionStatus.UNSUBSCRIBED:
        raise InvalidTransition("subscription", sub.status.value, "paused")
    if sub.paused_until == until:
        return sub
    _update_subscription(session, sub, "paused_until", until)
    _record_interest(
        session,
        candidate,
        interest,
        ConsentAction.CHANGE,
        source,
        wording_version=wording_version,
        detail={"paused_until": until.isoformat() if until else None},
        ip_address=ip_address,
    )
    return sub


_MASS_EMAIL_OF = select(_MASS_EMAIL.c.status).where(
    _MASS_EMAIL.c.candidate_id == bindparam("candidate_id")
)


def mass_email_status(session: Session, candidate: HasId) -> MassEmail:
    """Return the candidate's mass-email status; no record means opted out.

    One Core query (after the session's pending changes are flushed): the preference
    page and its Save ask for it on every request.
    """
    status = session.execute(_MASS_EMAIL_OF, {"candidate_id": candidate.id}).scalar()
    return status if status is not None else MassEmail.OPTED_OUT


def set_mass_email_status(
    session: Session,
    candidate_id: int,
    status: MassEmail,
    action: ConsentAction,
    source: ConsentSource,
    *,
    wording_version: str | None = None,
    ip_address: str | None = None,
    detail: dict[str, Any] | None = None,
    locale: str | None = None,
) -> bool:
    """Set the mass-email status by candidate id; a change appends its consent event.

    A candidate with no status row counts as opted out, but an explicit opt-out
    still writes the row and the event, so the record shows the choice. `locale` is
    the candidate's language, for the event's default wording (see `append_consent`).
    """
    consent: dict[str, Any] = {
        "scope": ConsentScope.MASS_EMAIL,
        "action": action,
        "source": source,
        "wording_version": wording_version,
        "detail": detail,
        "ip_address": ip_address,
        "locale": locale,
    }
    changed = _change_and_consent(
        session,
        _SET_MASS_EMAIL,
        {"candidate": candidate_id, "status": status, "at": now()},
        candidate_id,
        **consent,
    )
    if changed is not None:
        _forget_loaded(session, MassEmailStatus, candidate_id)
        return True
    conn = session.connection()
    exists = conn.execute(
        select(_MASS_EMAIL.c.candidate_id).where(_MASS_EMAIL.c.candidate_id == candidate_id)
    ).first()
    if exists is not None:
        return False
    conn.execute(
        insert(_MASS_EMAIL),
        {"candidate_id": candidate_id, "status": status, "updated_at": now()},
    )
    _forget_loaded(session, MassEmailStatus, candidate_id)
    append_consent(session, candidate_id, **consent)
    return True


# `set_mass_email_status`'s change of an existing status row.
_SET_MASS_EMAIL = (
    update(_MASS_EMAIL)
    .where(
        _MASS_EMAIL.c.candidate_id == bindparam("candidate"),
        _MASS_EMAIL.c.status != bindparam("status"),
    )
    .values(status=bindparam("status"), updated_at=bindparam("at"))
    .returning(_MASS_EMAIL.c.candidate_id)
)


def opt_in_mass_email(
    session: Session,
    candidate: Candidate,
    *,
    source: ConsentSource,
    wording_version: str | None = None,
    wording: str | None = None,
    ip_address: str | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Opt the candidate in to mass email (`wording`: the text they agreed to).

    `detail` is kept in the consent event beside the wording.
    """
    _require_active(candidate)
    return set_mass_email_status(
        session,
        candidate.id,
        MassEmail.OPTED_IN,
        ConsentAction.GRANT,
        source,
        wording_version=wording_version,
        ip_address=ip_address,
        detail={**({"wording": wording} if wording else {}), **(detail or {})} or None,
        locale=candidate.locale,
    )


def opt_out_mass_email(
    session: Session,
    candidate: Candidate,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
    detail: dict[str, Any] | None = None,
    wording_version: str | None = None,
) -> bool:
    """Opt the candidate out of mass email. Returns whether anything changed.

    `detail` is kept in the consent event.
    """
    return set_mass_email_status(
        session,
        candidate.id,
        MassEmail.OPTED_OUT,
        ConsentAction.WITHDRAW,
        source,
        wording_version=wording_version,
        ip_address=ip_address,
        detail=detail,
        locale=candidate.locale,
    )


def count_subscribers(session: Session) -> int:
    """Confirmed, active candidates with an active subscription or the mass-email opt-in.

    One COUNT query: the console's home shows it on every visit.
    """
    subscribed = exists().where(
        Subscription.candidate_id == Candidate.id,
        Subscription.status == SubscriptionStatus.SUBSCRIBED,
    )
    opted_in = exists().where(
        MassEmailStatus.candidate_id == Candidate.id,
        MassEmailStatus.status == MassEmail.OPTED_IN,
    )
    return (
        session.scalar(
            select(func.count())
            .select_from(Candidate)
            .where(
                Candidate.status == CandidateStatus.ACTIVE,
                Candidate.deleted_at.is_(None),
                Candidate.email_verified_at.is_not(None),
                or_(subscribed, opted_in),
            )
        )
        or 0
    )
