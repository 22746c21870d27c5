"""Reports for the console: what a send did, subscribers per interest, opt-outs, the send log.

A send (a campaign, or an alert run) is a set of outbox rows picked by a SQL
condition, so one function reports both: `send_report(session, condition)`.
Both conditions are dedupe-key prefixes (`mailer.sends`). The alert run itself
lives in `jobs`, which this package may not import: `jobs.run_reports` passes in
the run's rows and key, built by jobs' `ALERT_RUN`.

Unsubscribes a send caused: one-click links carry the list, not the message, so
no consent event names the campaign or run it came from. The report counts the
recipients of the send who withdrew through a one-click link from the first
send until `window` after the last one: from mass email for a campaign, from
interest alerts for an alert run. The console says so next to the number.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from math import ceil
from typing import Any

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from mailer.campaign_admin import campaign_rows, get_campaign
from mailer.errors import MailerError
from mailer.models import Campaign, MessageKind, OutboxMessage, OutboxStatus, SendAlarm
from mailer.reputation import alarm_of, bounce_categories, policy_domains
from mailer.sends import CAMPAIGN
from preferences.addresses import normalize_email
from preferences.clock import now
from preferences.errors import InvalidEmail
from preferences.models import (
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Interest,
    InterestStatus,
    Subscription,
    SubscriptionStatus,
)

UNSUBSCRIBE_WINDOW = timedelta(days=7)
SEND_LOG_PAGE_SIZE = 25


class ReportError(MailerError):
    """A report request that cannot be answered, with a message for the reader."""


@dataclass(frozen=True)
class SendReport:
    """What happened to one send's outbox rows."""

    queued: int
    pending: int
    sent: int
    failed: int
    skipped: list[tuple[str, int]]  # (reason, count), most common first
    bounced: int
    complaints: int
    unsubscribes: int
    unsubscribe_window: timedelta
    first_sent_at: datetime | None
    last_sent_at: datetime | None
    # Held while the campaign is paused: neither sent nor lost.
    held: int = 0
    # Classified failures by category label (DSNs and refusals at send time).
    failures: tuple[tuple[str, int], ...] = ()
    # Refused for policy, spam or reputation reasons, per receiving domain.
    policy_domains: tuple[tuple[str, int], ...] = ()
    # The sender-reputation alarm of this send, if it ever rose.
    alarm: SendAlarm | None = None

    @property
    def skipped_total(self) -> int:
        return sum(count for _, count in self.skipped)

    @property
    def handed(self) -> int:
        """Messages handed to the relay: sent, or refused by it."""
        return self.sent + self.failed

    @property
    def policy_rejections(self) -> int:
        return sum(count for _, count in self.policy_domains)

    @property
    def policy_percent(self) -> float:
        return 100.0 * self.policy_rejections / self.handed if self.handed else 0.0


def send_report(
    session: Session,
    rows: ColumnElement[bool],
    *,
    unsubscribe_scope: ConsentScope | tuple[ConsentScope, ...] = ConsentScope.MASS_EMAIL,
    window: timedelta = UNSUBSCRIBE_WINDOW,
    send_key: str | None = None,
) -> SendReport:
    """Count the outbox rows matching `rows` by outcome, with the bounces and opt-outs after."""
    by_status: Counter[OutboxStatus] = Counter()
    skipped: Counter[str] = Counter()
    for status, reason, count in session.execute(
        select(OutboxMessage.status, OutboxMessage.last_error, func.count())
        .where(rows)
        .group_by(OutboxMessage.status, OutboxMessage.last_error)
    ):
        by_status[status] += count
        if status is OutboxStatus.SKIPPED:
            skipped[reason or "no reason recorded"] += count
    first, last = session.execute(
        select(func.min(OutboxMessage.sent_at), func.max(OutboxMessage.sent_at)).where(rows)
    ).one()
    ids = select(OutboxMessage.id).where(rows)
    stops: dict[ConsentSource, int] = {
        source: count
        for source, count in session.execute(
            select(ConsentEvent.source, func.count())
            .where(
                ConsentEvent.source.in_((ConsentSource.BOUNCE, ConsentSource.COMPLAINT)),
                ConsentEvent.detail["outbox_id"].as_integer().in_(ids),
            )
            .group_by(ConsentEvent.source)
        )
    }
    unsubscribes = 0
    scopes = (
        (unsubscribe_scope,) if isinstance(unsubscribe_scope, ConsentScope) else unsubscribe_scope
    )
    if first is not None and last is not None:
        recipients = select(OutboxMessage.candidate_id).where(
            rows, OutboxMessage.status == OutboxStatus.SENT
        )
        unsubscribes = (
            session.scalar(
                select(func.count(func.distinct(ConsentEvent.candidate_id))).where(
                    ConsentEvent.source == ConsentSource.ONE_CLICK,
                    ConsentEvent.action == ConsentAction.WITHDRAW,
                    ConsentEvent.scope.in_(scopes),
                    ConsentEvent.candidate_id.in_(recipients),
                    ConsentEvent.occurred_at >= first,
                    ConsentEvent.occurred_at <= last + window,
                )
            )
            or 0
        )
    return SendReport(
        queued=sum(by_status.values()),
        pending=by_status[OutboxStatus.PENDING] + by_status[OutboxStatus.SENDING],
        sent=by_status[OutboxStatus.SENT],
        failed=by_status[OutboxStatus.FAILED],
        skipped=skipped.most_common(),
        bounced=stops.get(ConsentSource.BOUNCE, 0),
        complaints=stops.get(ConsentSource.COMPLAINT, 0),
        unsubscribes=unsubscribes,
        unsubscribe_window=window,
        first_sent_at=first,
        last_sent_at=last,
        held=by_status[OutboxStatus.HELD],
        failures=tuple(bounce_categories(session, rows)),
        policy_domains=tuple(policy_domains(session, rows)),
        alarm=alarm_of(session, send_key) if send_key is not None else None,
    )


def campaign_report(
    session: Session, campaign_id: int, *, window: timedelta = UNSUBSCRIBE_WINDOW
) -> tuple[Campaign, SendReport]:
    """The campaign and the report of the rows queued for its audience (test sends aside)."""
    campaign = get_campaign(session, campaign_id)
    report = send_report(
        session, campaign_rows(campaign_id), window=window, send_key=CAMPAIGN.prefix(campaign_id)
    )
    return campaign, report


# --- charts' data ---------------------------------------------------------------------


def subscribers_per_interest(session: Session) -> list[tuple[str, int]]:
    """Confirmed subscribers of each active interest, in display order."""
    subscribed = func.count(Subscription.id).filter(
        Subscription.status == SubscriptionStatus.SUBSCRIBED
    )
    return [
        (name, count)
        for name, count in session.execute(
            select(Interest.name, subscribed)
            .outerjoin(Subscription, Subscription.interest_id == Interest.id)
            .where(Interest.status == InterestStatus.ACTIVE, Interest.merged_into_id.is_(None))
            .group_by(Interest.id, Interest.name, Interest.position)
            .order_by(Interest.position, Interest.name)
        )
    ]


@dataclass(frozen=True)
class OptOutWeek:
    """People who opted out on a day of the week starting `week` (a Monday, UTC)."""

    week: datetime
    mass_email: int
    interests: int


def _utc_day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a stored time, as SQL on either backend."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite keeps naive UTC text


def opt_out_trend(session: Session, *, weeks: int = 12) -> list[OptOutWeek]:
    """Opt-outs per week (mass email and interest alerts) for the last `weeks` weeks.

    Counted in SQL as net changes per person and day: a person counts once a day (per
    scope) when, for some list, that day's withdrawals outnumber its grants; so a Save
    followed by Undo (a withdrawal, then a grant) counts nothing.
    """
    today = now().replace(hour=0, minute=0, second=0, microsecond=0)
    this_week = today - timedelta(days=today.weekday())
    start = this_week - timedelta(weeks=weeks - 1)
    day = _utc_day(session, ConsentEvent.occurred_at).label("day")
    net = func.sum(
        case(
            (ConsentEvent.action == ConsentAction.WITHDRAW, -1),
            (ConsentEvent.action == ConsentAction.GRANT, 1),
            else_=0,
        )
    )
    per_person_day = (
        select(
            ConsentEvent.candidate_id.label("candidate_id"), ConsentEvent.scope.label("scope"), day
        )
        .where(
            ConsentEvent.occurred_at >= start,
            ConsentEvent.action.in_((ConsentAction.WITHDRAW, ConsentAction.GRANT)),
        )
        .group_by(ConsentEvent.candidate_id, ConsentEvent.scope, ConsentEvent.interest_id, day)
        .having(net < 0)
        .subquery()
    )
    counts: Counter[tuple[datetime, ConsentScope]] = Counter()
    for scope, on, number in session.execute(
        select(
            per_person_day.c.scope,
            per_person_day.c.day,
            func.count(distinct(per_person_day.c.candidate_id)),
        ).group_by(per_person_day.c.scope, per_person_day.c.day)
    ):
        when = date.fromisoformat(str(on))
        week = start + timedelta(weeks=(when - start.date()).days // 7)
        counts[(week, ConsentScope(scope))] += number
    return [
        OptOutWeek(
            week,
            counts[(week, ConsentScope.MASS_EMAIL)],
            counts[(week, ConsentScope.INTEREST)],
        )
        for week in (start + timedelta(weeks=i) for i in range(weeks))
    ]


# --- send log -------------------------------------------------------------------------


@dataclass(frozen=True)
class SendLogEntry:
    id: int
    kind: MessageKind
    status: OutboxStatus
    reason: str
    about: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class SendLogPage:
    address: str
    entries: list[SendLogEntry]
    total: int
    page: int
    pages: int


def search_send_log(
    session: Session, raw_address: str, *, page: int = 1, per_page: int = SEND_LOG_PAGE_SIZE
) -> SendLogPage:
    """Every message queued to one address, newest first. Raises `ReportError` for a bad one."""
    try:
        address = normalize_email(raw_address)
    except InvalidEmail:
        raise ReportError(
            "That is not a valid email address. Enter a full address such as ana@example.com."
        ) from None
    match = OutboxMessage.to_address == address
    total = session.scalar(select(func.count()).select_from(OutboxMessage).where(match)) or 0
    pages = max(1, ceil(total / per_page))
    page = min(max(page, 1), pages)
    rows = session.scalars(
        select(OutboxMessage)
        .where(match)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    campaign_ids = {r.context.get("campaign_id") for r in rows} - {None}
    names: dict[int, str] = (
        {
            campaign_id: name
            for campaign_id, name in session.execute(
                select(Campaign.id, Campaign.name).where(Campaign.id.in_(campaign_ids))
            )
        }
        if campaign_ids
        else {}
    )
    entries = [
        SendLogEntry(
            id=r.id,
            kind=r.kind,
            status=r.status,
            reason=r.last_error,
            about=_about(r, names),
            attempts=r.attempts,
            created_at=r.created_at,
            sent_at=r.sent_at,
        )
        for r in rows
    ]
    return SendLogPage(address, entries, total, page, pages)


def _about(row: OutboxMessage, campaign_names: dict[int, str]) -> str:
    campaign_id = row.context.get("campaign_id")
    if isinstance(campaign_id, int):
        name = campaign_names.get(campaign_id, f"campaign {campaign_id}")
        return f"{name} (test)" if row.context.get("test") is True else name
    return row.template
