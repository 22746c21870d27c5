"""Bounce events, the sender-reputation alarm, and pausing a campaign that trips it.

Every classified failure (`mailer.classify`) of an outbox row is written as a
`BounceEvent`, whether it came back as a DSN or as the relay's answer at send
time. Policy rejections (spam filters, block lists, reputation, authentication)
are the sender's problem and never count against an address, but they are the
first sign that a sending IP or domain is in trouble, so they feed an alarm:

- A *send* is a campaign's or an alert run's outbox rows (a dedupe-key prefix
  such as `campaign:<id>:`, see `mailer.sends`). Its policy rate is its policy
  rejections over the messages it handed to the relay (rows sent or failed).
- When that rate passes `reputation_warn_percent` (2 %) a warning is logged once
  (``msg="sender reputation warning"``, with the counts and the worst domains).
- When it passes `reputation_pause_percent` (5 %), a campaign pauses itself: its
  status becomes paused and its unsent rows are held (out of the queue, not lost)
  until a recruiter resumes or cancels it in the console. Alert runs are not
  paused (each digest is one candidate's own alerts), only warned about.
- Neither is judged before the send has handed `reputation_min_sample` (100)
  messages to the relay: one early block in a campaign of 10,000 is 1 in 1, not a
  trend. At 100 messages, 3 rejections warn and 6 pause.
- Resuming starts a fresh sample: the counts at that moment become the baseline,
  so a block that persists pauses the campaign again after another sample.

Functions flush, never commit.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from mailer.classify import BounceCategory, Classification
from mailer.config import MailSettings
from mailer.errors import MailerError
from mailer.models import (
    BounceEvent,
    Campaign,
    CampaignStatus,
    OutboxMessage,
    OutboxStatus,
    SendAlarm,
)
from mailer.outbox import DEFAULT_DELIVER_WITHIN
from mailer.sends import CAMPAIGN, send_key, send_rows
from preferences.clock import now
from preferences.db import among

log = logging.getLogger("mailer.reputation")

MAX_DIAGNOSTIC_CHARS = 200
# Domains named in the warning log line.
TOP_DOMAINS = 3
# An address in a server's text; only its domain is kept.
_ADDRESS = re.compile(r"[^\s<>()\[\];:,\"'=]+@([A-Za-z0-9.-]+)")
HANDED = (OutboxStatus.SENT, OutboxStatus.FAILED)
# Kept on held rows (`last_error`), as the skip reasons are.
PAUSE_REASON = "the campaign is paused"


class ResumeError(MailerError):
    """A campaign that cannot be resumed, with a message for the recruiter."""


def recipient_domain(address: str) -> str:
    """The receiving domain of an address, lower-cased."""
    return address.rpartition("@")[2].strip().lower()


def redact(diagnostic: str) -> str:
    """The server's text with every address reduced to its domain, one line, bounded."""
    text = " ".join(_ADDRESS.sub(r"…@\1", diagnostic).split())
    return text[:MAX_DIAGNOSTIC_CHARS]


def record_bounce_event(
    session: Session,
    outbox_id: int,
    classification: Classification,
    diagnostic: str,
    *,
    via: str,
    settings: MailSettings,
    check: bool = True,
) -> bool:
    """Record one classified failure of an outbox row; False when already recorded.

    A new policy rejection checks its send's alarm unless `check` is False (the
    worker checks each send once per batch, with `check_sends`).
    """
    row = session.execute(
        select(OutboxMessage.to_address, OutboxMessage.dedupe_key).where(
            OutboxMessage.id == outbox_id
        )
    ).first()
    if row is None:
        return False
    values = {
        "outbox_id": outbox_id,
        "category": classification.category,
        "domain": recipient_domain(row.to_address)[:255],
        "status": classification.status[:16],
        "diagnostic": redact(diagnostic),
        "via": via,
        "occurred_at": now(),
    }
    dialect = session.get_bind().dialect.name
    insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(BounceEvent)
        .values(values)
        .on_conflict_do_nothing(index_elements=["outbox_id", "category"])
        .returning(BounceEvent.id)
    )
    inserted = session.execute(statement).first() is not None
    key = send_key(row.dedupe_key)
    if inserted and check and key and classification.category is BounceCategory.POLICY:
        check_sends(session, [key], settings)
    return inserted


# --- the alarm ------------------------------------------------------------------------


@dataclass(frozen=True)
class SendRate:
    """A send's policy rejections over the messages it handed to the relay."""

    policy: int
    handed: int

    @property
    def percent(self) -> float:
        return 100.0 * self.policy / self.handed if self.handed else 0.0


def send_rate(session: Session, key: str) -> SendRate:
    """The whole send's policy rejections and messages handed to the relay."""
    handed = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(send_rows(key), OutboxMessage.status.in_(HANDED))
    )
    policy = session.scalar(
        select(func.count())
        .select_from(BounceEvent)
        .join(OutboxMessage, OutboxMessage.id == BounceEvent.outbox_id)
        .where(send_rows(key), BounceEvent.category == BounceCategory.POLICY)
    )
    return SendRate(policy or 0, handed or 0)


def policy_domains(session: Session, rows: ColumnElement[bool]) -> list[tuple[str, int]]:
    """Policy rejections of the outbox rows matching `rows`, per receiving domain, most first."""
    return [
        (domain, count)
        for domain, count in session.execute(
            select(BounceEvent.domain, func.count())
            .join(OutboxMessage, OutboxMessage.id == BounceEvent.outbox_id)
            .where(rows, BounceEvent.category == BounceCategory.POLICY)
            .group_by(BounceEvent.domain)
            .order_by(func.count().desc(), BounceEvent.domain)
        )
    ]


def _alarm(session: Session, key: str) -> SendAlarm:
    """The send's alarm row, created if needed, locked for this transaction."""
    dialect = session.get_bind().dialect.name
    insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(SendAlarm)
        .values(send_key=key, policy=0, handed=0, base_policy=0, base_handed=0)
        .on_conflict_do_nothing(index_elements=["send_key"])
    )
    return session.get_one(SendAlarm, key, with_for_update=True, populate_existing=True)


def current_rate(session: Session, key: str) -> tuple[SendRate, SendAlarm | None]:
    """The send's rate since its last resume (the sample the alarm judges), and its alarm."""
    total = send_rate(session, key)
    alarm = session.get(SendAlarm, key)
    if alarm is None:
        return total, None
    return SendRate(total.policy - alarm.base_policy, total.handed - alarm.base_handed), alarm


def check_sends(session: Session, keys: list[str], settings: MailSettings) -> None:
    """Judge each send's policy rate: warn past the warning rate, pause past the pause rate."""
    for key in dict.fromkeys(keys):
        _check(session, key, settings)


def _check(session: Session, key: str, settings: MailSettings) -> None:
    rate, alarm = current_rate(session, key)
    if rate.handed < max(settings.reputation_min_sample, 1):
        return
    percent = rate.percent
    warn, pause = settings.reputation_warn_percent, settings.reputation_pause_percent
    campaign_id = CAMPAIGN.send_id(key)
    warn_now = warn > 0 and percent > warn and (alarm is None or alarm.warned_at is None)
    pause_now = (
        campaign_id is not None
        and pause > 0
        and percent > pause
        and (alarm is None or alarm.paused_at is None)
    )
    if not (warn_now or pause_now):
        return
    alarm = _alarm(session, key)
    alarm.policy, alarm.handed = rate.policy, rate.handed
    worst = policy_domains(session, send_rows(key))[:TOP_DOMAINS]
    fields = {
        "send": key.rstrip(":"),
        "policy_rejections": rate.policy,
        "handed_to_relay": rate.handed,
        "rate_percent": f"{percent:.1f}",
        "domains": ",".join(f"{domain}:{count}" for domain, count in worst) or "-",
    }
    if warn_now and alarm.warned_at is None:
        alarm.warned_at = now()
        log.warning("sender reputation warning", extra={**fields, "threshold_percent": warn})
    if pause_now and alarm.paused_at is None and campaign_id is not None:
        held = pause_campaign(session, campaign_id)
        if held is not None:
            alarm.paused_at = now()
            extra = {**fields, "threshold_percent": pause, "campaign_id": campaign_id}
            log.warning("campaign paused", extra={**extra, "held": held})
    session.flush()


# --- pausing and resuming -------------------------------------------------------------


def _unsent(session: Session, campaign_id: int, statuses: tuple[OutboxStatus, ...]) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(CAMPAIGN.rows(campaign_id), OutboxMessage.status.in_(statuses))
        )
        or 0
    )


def held_count(session: Session, campaign_id: int) -> int:
    """How many of a campaign's messages are held (while it is paused)."""
    return _unsent(session, campaign_id, (OutboxStatus.HELD,))


def pause_campaign(session: Session, campaign_id: int) -> int | None:
    """Pause a campaign that is being sent and hold its pending rows; return how many.

    None when there is nothing to pause: the campaign is not being sent, or every
    message has been handed to the relay already.
    """
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None or campaign.status not in (CampaignStatus.SENT, CampaignStatus.SENDING):
        return None
    if not _unsent(session, campaign_id, (OutboxStatus.PENDING, OutboxStatus.SENDING)):
        return None
    result = session.execute(
        update(OutboxMessage)
        .where(
            CAMPAIGN.rows(campaign_id),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.HELD, last_error=PAUSE_REASON)
        .execution_options(synchronize_session=False)
    )
    campaign.status = CampaignStatus.PAUSED
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def resume_campaign(session: Session, campaign_id: int) -> int:
    """Send a paused campaign's held rows after all; returns how many were released.

    Held rows get a fresh delivery window, and the alarm a fresh sample: the
    rates are measured again from here. Raises `ResumeError` if it is not paused.
    """
    found = session.get(Campaign, campaign_id)
    if found is None:
        raise ResumeError(f"there is no campaign {campaign_id}")
    if found.status is not CampaignStatus.PAUSED:
        raise ResumeError(f"a {found.status.value} campaign cannot be resumed")
    key = CAMPAIGN.prefix(campaign_id)
    # The alarm's row first, then the campaign's: the order the alarm check locks them in.
    alarm = _alarm(session, key)
    campaign = session.get_one(Campaign, campaign_id, with_for_update=True, populate_existing=True)
    if campaign.status is not CampaignStatus.PAUSED:
        raise ResumeError(f"a {campaign.status.value} campaign cannot be resumed")
    at = now()
    result = session.execute(
        update(OutboxMessage)
        .where(
            CAMPAIGN.rows(campaign_id),
            OutboxMessage.status == OutboxStatus.HELD,
        )
        .values(
            status=OutboxStatus.PENDING,
            next_attempt_at=at,
            deliver_until=at + DEFAULT_DELIVER_WITHIN,
            last_error="",
        )
        .execution_options(synchronize_session=False)
    )
    campaign.status = CampaignStatus.SENT
    total = send_rate(session, key)
    alarm.base_policy, alarm.base_handed = total.policy, total.handed
    alarm.warned_at = alarm.paused_at = None
    alarm.resumed_at = at
    session.flush()
    released = int(getattr(result, "rowcount", 0) or 0)
    log.info("campaign resumed", extra={"campaign_id": campaign_id, "released": released})
    return released


def skip_held(session: Session, campaign_id: int, reason: str) -> int:
    """Settle a cancelled campaign's held rows as skipped with `reason`; returns how many."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            CAMPAIGN.rows(campaign_id),
            OutboxMessage.status == OutboxStatus.HELD,
        )
        .values(status=OutboxStatus.SKIPPED, last_error=reason)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def release_unpaused(session: Session, row_ids: list[int]) -> int:
    """Put held rows whose campaign is no longer paused back in the queue.

    A worker that found a campaign paused records its rows as held; if the
    campaign was resumed (or cancelled) in between, the resume missed them. Called
    in the same transaction as that record, so no row stays held behind a
    running campaign.
    """
    if not row_ids:
        return 0
    held = session.execute(
        select(OutboxMessage.id, OutboxMessage.dedupe_key).where(
            among(session, OutboxMessage.id, row_ids), OutboxMessage.status == OutboxStatus.HELD
        )
    ).all()
    by_campaign: dict[int, list[int]] = {}
    for row_id, dedupe_key in held:
        campaign_id = CAMPAIGN.send_id(dedupe_key)
        if campaign_id is not None:
            by_campaign.setdefault(campaign_id, []).append(row_id)
    if not by_campaign:
        return 0
    running = set(
        session.scalars(
            select(Campaign.id).where(
                Campaign.id.in_(by_campaign), Campaign.status != CampaignStatus.PAUSED
            )
        )
    )
    ids = [row_id for campaign_id in running for row_id in by_campaign[campaign_id]]
    if not ids:
        return 0
    at = now()
    session.execute(
        update(OutboxMessage)
        .where(among(session, OutboxMessage.id, ids), OutboxMessage.status == OutboxStatus.HELD)
        .values(status=OutboxStatus.PENDING, next_attempt_at=at, last_error="")
        .execution_options(synchronize_session=False)
    )
    return len(ids)


# --- reports --------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainRejections:
    """Policy rejections by one receiving domain over a period."""

    domain: str
    count: int
    last_at: datetime
    example: str


def policy_rejections_by_domain(
    session: Session, *, days: int = 30, limit: int = 20
) -> list[DomainRejections]:
    """Receiving domains that refused our mail for policy reasons in the last `days` days."""
    since = now() - timedelta(days=days)
    rows = session.execute(
        select(BounceEvent.domain, func.count(), func.max(BounceEvent.occurred_at))
        .where(BounceEvent.category == BounceCategory.POLICY, BounceEvent.occurred_at >= since)
        .group_by(BounceEvent.domain)
        .order_by(func.count().desc(), BounceEvent.domain)
        .limit(limit)
    ).all()
    examples: dict[str, str] = {}
    if rows:
        for domain, diagnostic in session.execute(
            select(BounceEvent.domain, BounceEvent.diagnostic)
            .where(
                BounceEvent.category == BounceCategory.POLICY,
                BounceEvent.occurred_at >= since,
                BounceEvent.domain.in_([r[0] for r in rows]),
            )
            .order_by(BounceEvent.occurred_at.desc(), BounceEvent.id.desc())
        ):
            examples.setdefault(domain, diagnostic)
    return [DomainRejections(d, c, last, examples.get(d, "")) for d, c, last in rows]


def bounce_categories(session: Session, rows: ColumnElement[bool]) -> list[tuple[str, int]]:
    """Failures of the outbox rows matching `rows` by category label, in a fixed order."""
    counts: Counter[BounceCategory] = Counter()
    for category, count in session.execute(
        select(BounceEvent.category, func.count())
        .join(OutboxMessage, OutboxMessage.id == BounceEvent.outbox_id)
        .where(rows)
        .group_by(BounceEvent.category)
    ):
        counts[category] += count
    return [(c.label, counts[c]) for c in BounceCategory if counts[c]]


def alarm_of(session: Session, key: str) -> SendAlarm | None:
    """The send's alarm row, if the alarm ever rose or the campaign was resumed."""
    return session.get(SendAlarm, key)
