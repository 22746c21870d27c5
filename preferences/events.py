"""Domain events for other systems: written in the transaction of the change they report.

Every change another system may want to hear of (a candidate joining, confirming, changing a
subscription, unsubscribing, being erased; a hard bounce, soft bounces reaching their limit,
a complaint, a finished alert run, a sent campaign) appends one `WebhookEvent` through
`record_event`, in the same transaction as the change: a rollback takes the event with it,
and a commit keeps both. The webhook worker (`portal.webhooks`) later fans each event out
to the endpoints that want its type and delivers it.

An event names its candidate by public id (never an email address, never resume content);
the worker adds the address at send time for endpoints that ask for contact data. Events
outlive the candidate (no foreign key), so `candidate.erased` is still delivered.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from preferences.clock import now
from preferences.db import Base, UTCDateTime
from preferences.models import Candidate, ConsentAction, ConsentScope, ConsentSource


class EventType(enum.StrEnum):
    """The stable names of the events webhooks deliver."""

    CANDIDATE_CREATED = "candidate.created"
    CANDIDATE_CONFIRMED = "candidate.confirmed"
    SUBSCRIPTION_CHANGED = "subscription.changed"
    MASS_EMAIL_CHANGED = "mass_email.changed"
    CANDIDATE_UNSUBSCRIBED = "candidate.unsubscribed"
    CANDIDATE_ERASED = "candidate.erased"
    BOUNCE_HARD = "bounce.hard"
    BOUNCE_SOFT_LIMIT = "bounce.soft_limit"
    COMPLAINT_RECEIVED = "complaint.received"
    ALERT_RUN_FINISHED = "alert_run.finished"
    CAMPAIGN_SENT = "campaign.sent"
    # Sent to one endpoint by its "Send test event" button; never fanned out.
    WEBHOOK_TEST = "webhook.test"


# The types an endpoint may subscribe to (the test event goes only where it is asked for).
SUBSCRIBABLE_TYPES: tuple[EventType, ...] = tuple(
    t for t in EventType if t is not EventType.WEBHOOK_TEST
)

EVENT_ID_PREFIX = "msg_"


def new_event_id() -> str:
    """A unique, unguessable event id: the `webhook-id` receivers deduplicate by."""
    return EVENT_ID_PREFIX + secrets.token_hex(12)


class WebhookEvent(Base):
    """One event, as written beside its change. The worker marks it fanned out."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        # Events not yet fanned out to endpoints: few at any time, found without a scan.
        Index(
            "ix_webhook_events_unexpanded",
            "id",
            postgresql_where=text("expanded_at IS NULL"),
            sqlite_where=text("expanded_at IS NULL"),
        ),
        Index("ix_webhook_events_occurred", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=new_event_id)
    type: Mapped[str] = mapped_column(String(40))
    # The candidate's public id; events of one candidate are delivered in order per endpoint.
    candidate_key: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str | None] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    expanded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


_EVENTS: Table = WebhookEvent.__table__  # type: ignore[assignment]
_INSERT = insert(_EVENTS)
_PUBLIC_ID_OF = select(Candidate.public_id).where(Candidate.id == bindparam("candidate_id"))


# Key in `Session.info`: candidate id -> public id, for rows read without the ORM.
_PUBLIC_IDS = "talentconnect_public_ids"


def remember_public_id(session: Session, candidate_id: int, public_id: str) -> None:
    """Note a candidate's public id read by a Core query (a signed link's owner), so the
    events of the same request name the candidate without reading it again."""
    session.info.setdefault(_PUBLIC_IDS, {})[candidate_id] = public_id


def candidate_key(session: Session, candidate_id: int) -> str | None:
    """The candidate's public id: from the loaded row or a remembered one, else one query."""
    remembered = session.info.get(_PUBLIC_IDS, {}).get(candidate_id)
    if remembered is not None:
        return str(remembered)
    loaded = session.identity_map.get(session.identity_key(Candidate, candidate_id))
    if loaded is not None:
        public_id = loaded.__dict__.get("public_id")
        if isinstance(public_id, str):
            return public_id
    found = session.connection().execute(_PUBLIC_ID_OF, {"candidate_id": candidate_id}).scalar()
    return found if isinstance(found, str) else None


def _row(
    type_: EventType,
    candidate: str | None,
    data: Mapping[str, Any] | None,
    source: str | None,
    at: datetime,
) -> dict[str, Any]:
    return {
        "public_id": new_event_id(),
        "type": type_.value,
        "candidate_key": candidate,
        "data": dict(data or {}),
        "source": source,
        "occurred_at": at,
        "expanded_at": None,
    }


def record_event(
    session: Session,
    type_: EventType,
    *,
    candidate: str | None = None,
    data: Mapping[str, Any] | None = None,
    source: str | None = None,
) -> None:
    """Append one event (`candidate`: the candidate's public id) in the session's transaction.

    `data` holds ids and the changed fields only: never an email address or resume text.
    """
    record_events(session, [(type_, candidate, data)], source=source)


def record_events(
    session: Session,
    events: Iterable[tuple[EventType, str | None, Mapping[str, Any] | None]],
    *,
    source: str | None = None,
) -> int:
    """Append several events (type, candidate public id, data) in one statement; return how many."""
    rows = list(events)
    if not rows:
        return 0
    session.flush()
    return insert_events(session.connection(), rows, source=source)


def insert_events(
    conn: Connection,
    events: Iterable[tuple[EventType, str | None, Mapping[str, Any] | None]],
    *,
    source: str | None = None,
) -> int:
    """`record_events` for work done on a Core connection (in its current transaction)."""
    rows = event_rows(events, source=source)
    if rows:
        conn.execute(_INSERT, rows)
    return len(rows)


def event_rows(
    events: Iterable[tuple[EventType, str | None, Mapping[str, Any] | None]],
    *,
    source: str | None = None,
) -> list[dict[str, Any]]:
    """The `webhook_events` rows of events (type, candidate public id, data), made now."""
    at = now()
    return [_row(type_, candidate, data, source, at) for type_, candidate, data in events]


# --- consent changes as events ---------------------------------------------------------

# How the person (or system) withdrew, as `candidate.unsubscribed` names it.
_CHANNELS = {
    ConsentSource.ONE_CLICK: "one_click",
    ConsentSource.PREFERENCE_CENTER: "preference_page",
    ConsentSource.DASHBOARD: "preference_page",
}
_STATUS_AFTER = {
    ConsentAction.CONFIRM: "subscribed",
    ConsentAction.WITHDRAW: "unsubscribed",
}
# Detail keys that are changed fields of a subscription (never wording or free text).
# (`merged_from`: the id of an interest a recruiter merged into this one; never its name.)
_SUBSCRIPTION_FIELDS = (
    "status",
    "frequency",
    "previous_frequency",
    "paused_until",
    "merged_from",
)


def unsubscribe_channel(source: ConsentSource, detail: Mapping[str, Any] | None) -> str:
    """The channel of a withdrawal: one_click, email, preference_page, or the source's name."""
    if source is ConsentSource.ONE_CLICK and (detail or {}).get("via") == "email":
        return "email"
    return _CHANNELS.get(source, source.value)


def consent_events(
    scope: ConsentScope,
    action: ConsentAction,
    source: ConsentSource,
    *,
    interest_id: int | None = None,
    saved_search_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> list[tuple[EventType, dict[str, Any]]]:
    """The events (type, data) one consent event stands for; none for other scopes."""
    detail = detail or {}
    target: dict[str, Any]
    if scope is ConsentScope.INTEREST:
        target = {"kind": "interest", "interest_id": interest_id}
    elif scope is ConsentScope.SAVED_SEARCH:
        target = {"kind": "saved_search", "saved_search_id": saved_search_id}
    elif scope is ConsentScope.MASS_EMAIL:
        if action is ConsentAction.CHANGE:
            # A stop record (a bounce's suppression, a complaint with nothing left to
            # withdraw): the mass-email choice itself did not change. `bounce.hard`,
            # `bounce.soft_limit` and `complaint.received` report those.
            return []
        target = {}
    else:
        return []
    events: list[tuple[EventType, dict[str, Any]]] = []
    if scope is ConsentScope.MASS_EMAIL:
        status = "opted_out" if action is ConsentAction.WITHDRAW else "opted_in"
        events.append((EventType.MASS_EMAIL_CHANGED, {"action": action.value, "status": status}))
    else:
        changed = {k: detail[k] for k in _SUBSCRIPTION_FIELDS if k in detail}
        if action in _STATUS_AFTER:
            changed["status"] = _STATUS_AFTER[action]
        events.append(
            (EventType.SUBSCRIPTION_CHANGED, {**target, "action": action.value, **changed})
        )
    if action is ConsentAction.WITHDRAW:
        events.append(
            (
                EventType.CANDIDATE_UNSUBSCRIBED,
                {
                    "scope": scope.value,
                    **{k: v for k, v in target.items() if k != "kind"},
                    "channel": unsubscribe_channel(source, detail),
                },
            )
        )
    return events
