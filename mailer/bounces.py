"""Bounces and complaints: reading DSNs and ARF reports, and acting on them.

Every message leaves with its own VERP return path (`mailer.verp`), so a bounce
names the outbox row, and so the recipient and candidate, it is about. Whom a
report acts on is decided only by a signed VERP address (or, for a complaint, a
signed one-click token in the reported message), never by an address written in
the report: anyone can write any address into a message, but nobody can sign the
return path of mail sent to someone else. The report's content decides only what
happened.

- **Delivery status notifications** (RFC 3464) are read with flufl.bounce
  (`all_failures`, which also knows many older non-standard formats, such as
  qmail's and Yahoo's plain-text bounces) and with the DSN's own fields. What a
  failure means is decided by `mailer.classify.classify_failure` from the enhanced
  status code *and* the diagnostic text (the DSN's Diagnostic-Code, or the
  notification's text when there is none): only an address failure (X.1.x: no
  such user, bad domain, mailbox disabled) is a hard bounce; a full mailbox, a
  message too large, greylisting, rate limits, delays and unexplained failures are
  soft bounces; policy, spam and reputation rejections are the sender's problem.
- **Complaints** are ARF feedback reports (RFC 5965, multipart/report;
  report-type=feedback-report) of type abuse or fraud. Feedback loops send them
  to the address registered with the mailbox provider (`bounce_mailbox`), so the
  VERP address is also looked for inside the report: Original-Mail-From, and the
  reported message's headers (its Return-Path). The one-click token of its
  List-Unsubscribe is the fallback when a provider strips those.

What each does (flushes, never commits; each change is a consent event):

- hard bounce: the address is suppressed at once;
- policy rejection: recorded (a `BounceEvent`, counted per receiving domain and per
  send, feeding the sender-reputation alarm of `mailer.reputation`), never
  counted against the address;
- soft bounce: scored like Mailman does. Each adds 0.5 (a hard bounce would add
  1.0, so it suppresses outright), at most once per UTC day, so the same DSN read
  twice or a burst of retries counts once; a bounce more than
  `bounce_stale_days` after the previous one starts the score afresh; reaching
  `bounce_score_threshold` suppresses the address;
- complaint: the candidate is opted out of mass email, every interest
  subscription and saved search is withdrawn, and the address is suppressed.

Every classified bounce of a known outbox row is also written as a `BounceEvent`.
The worker sends the relay's own 5xx answers (at RCPT or DATA) through the same
classifier and the same actions (`record_bounce`).

A suppression by bounce writes one consent event (scope mass_email, action
change, source bounce) whose detail says why mail stopped: the candidate did not
withdraw consent, but the record must show that the mail stopped, and when. A
complaint's opt-outs are themselves the events (source complaint).

Anything that is not a usable report (an auto-reply, an empty or binary message, a
report for a message no longer in the outbox) is ignored with a logged outcome;
parse problems never raise. Database errors do, so the SMTP listener answers 451
and the reporting server retries.
"""

from __future__ import annotations

import email
import email.parser
import email.utils
import enum
import logging
import mailbox
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.iterators import typed_subpart_iterator
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from flufl.bounce import all_failures
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailer.classify import (
    MAX_CLASSIFIED_CHARS,
    BounceCategory,
    Classification,
    Verdict,
    classify_failure,
)
from mailer.config import MailSettings
from mailer.errors import MailerError
from mailer.inbound import InboundMessage, same_address, token_candidates
from mailer.models import BounceScore, OutboxMessage
from mailer.reputation import recipient_domain, record_bounce_event
from mailer.verp import VERP_PREFIX, bounce_mailbox, parse_verp
from preferences.addresses import address_hash, normalize_email
from preferences.clock import now
from preferences.db import session_scope
from preferences.errors import InvalidEmail
from preferences.events import EventType, candidate_key, record_event
from preferences.lists import read_one_click_link
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentScope,
    ConsentSource,
    MassEmail,
    SavedSearch,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from preferences.saved_searches import withdraw_saved_search
from preferences.subscriptions import append_consent, set_mass_email_status, withdraw_interest
from preferences.suppressions import is_suppressed, suppress, suppression_salt
from preferences.tokens import InvalidLink

log = logging.getLogger("mailer.bounces")

SOFT_BOUNCE_WEIGHT = 0.5
COMPLAINT_TYPES = frozenset({"abuse", "fraud"})
# Diagnostic text kept in logs and suppression details; remote servers can be wordy.
MAX_DIAGNOSTIC_CHARS = 200
# Headers a local delivery agent writes with the envelope recipient, for messages read
# from a Maildir (where there is no SMTP envelope); To comes last, for FBL reports.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
MAX_LINK_TOKENS = 5

_VERP_IN_TEXT = re.compile(
    rf"{VERP_PREFIX}\+[0-9a-z]{{1,13}}-[a-z2-7]{{16}}@[A-Za-z0-9.-]+", re.IGNORECASE
)
_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


class ReportKind(enum.StrEnum):
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    POLICY = "policy"
    COMPLAINT = "complaint"


class BounceOutcome(enum.StrEnum):
    """What processing one incoming report did."""

    HARD_BOUNCE_SUPPRESSED = "hard_bounce_suppressed"
    SOFT_BOUNCE_SCORED = "soft_bounce_scored"
    SOFT_BOUNCE_SAME_DAY = "soft_bounce_same_day"
    SOFT_BOUNCE_SUPPRESSED = "soft_bounce_suppressed"
    ALREADY_SUPPRESSED = "already_suppressed"
    POLICY_RECORDED = "policy_recorded"
    POLICY_ALREADY_RECORDED = "policy_already_recorded"
    COMPLAINT_APPLIED = "complaint_applied"
    COMPLAINT_ALREADY_APPLIED = "complaint_already_applied"
    # Ignored:
    UNREADABLE = "unreadable_message"
    NOT_A_REPORT = "not_a_report"
    DELIVERY_NOTICE = "delivery_notice"
    NOT_A_COMPLAINT = "not_a_complaint"
    NO_RECIPIENT = "no_recipient"
    UNKNOWN_MESSAGE = "unknown_message"

    @property
    def ignored(self) -> bool:
        return self in _IGNORED


_IGNORED = frozenset(
    {
        BounceOutcome.UNREADABLE,
        BounceOutcome.NOT_A_REPORT,
        BounceOutcome.DELIVERY_NOTICE,
        BounceOutcome.NOT_A_COMPLAINT,
        BounceOutcome.NO_RECIPIENT,
        BounceOutcome.UNKNOWN_MESSAGE,
    }
)


class UnusableReport(MailerError):
    """An incoming message that is no bounce or complaint we can act on."""

    def __init__(self, outcome: BounceOutcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


@dataclass(frozen=True)
class Report:
    """What an incoming report says happened; not yet whom it is about."""

    kind: ReportKind
    # The DSN status (5.1.1), or the ARF feedback type (abuse).
    status: str = ""
    diagnostic: str = ""
    # Addresses the report names: informative only, anyone can write them.
    reported: tuple[str, ...] = ()
    # For complaints: outbox ids of signed VERP addresses inside the report, and
    # one-click tokens from the reported message's List-Unsubscribe.
    outbox_ids: tuple[int, ...] = ()
    link_tokens: tuple[str, ...] = ()
    # For bounces: what the failure says about the address (`mailer.classify`).
    category: BounceCategory | None = None


@dataclass(frozen=True)
class Target:
    """Whom a report is about: an address, and its candidate when there is one."""

    address: str
    candidate_id: int | None
    outbox_id: int | None = None


@dataclass(frozen=True)
class _DsnField:
    action: str
    status: str
    diagnostic: str


# --- parsing ------------------------------------------------------------------------


def _message(raw: bytes) -> Message:
    # compat32 Message, as flufl.bounce expects; bytes keep non-UTF-8 input intact.
    return email.message_from_bytes(raw)


def _text(value: object) -> str:
    return " ".join(str(value or "").split())


def _dsn_fields(message: Message) -> list[_DsnField]:
    """The per-recipient fields of every message/delivery-status part."""
    found: list[_DsnField] = []
    for part in typed_subpart_iterator(message, "message", "delivery-status"):
        blocks: Any = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks:
            action = _text(block.get("Action")).lower()
            if not action:
                continue  # the per-message block
            status = _STATUS.search(_text(block.get("Status")))
            found.append(
                _DsnField(
                    action=action,
                    status=status.group(0) if status else "",
                    diagnostic=_text(block.get("Diagnostic-Code"))[:MAX_CLASSIFIED_CHARS],
                )
            )
    return found


# Where a plain-text bounce starts quoting the returned message: its words are ours
# (a footer's "privacy policy"), not the server's.
_RETURNED = re.compile(
    r"^\s*(?:-{2,}|={2,}).*(?:below this line|copy of the message|original message|"
    r"returned message|message headers|undelivered message|forwarded message)"
    r"|^\s*(?:received|return-path|message-id|dkim-signature):",
    re.IGNORECASE,
)
# qmail (QSBMF) and Yahoo name each failed recipient on a line of its own: "<a@b>:".
_RECIPIENT_LINE = re.compile(r"^\s*<[^<>\s]+@[^<>\s]+>:")


def _notification_text(message: Message) -> str:
    """The human-readable part of a bounce, up to where it quotes the returned message.

    From the first failed recipient's line (qmail, Yahoo) when there is one, so
    the classifier reads the server's reason and not the boilerplate around it.
    """
    for part in typed_subpart_iterator(message, "text", "plain"):
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            text = payload.decode(charset, "replace")
        except LookupError:  # an unknown charset name
            text = payload.decode("utf-8", "replace")
        lines: list[str] = []
        for line in text.splitlines():
            if _RETURNED.match(line):
                break
            lines.append(line)
        starts = [i for i, line in enumerate(lines) if _RECIPIENT_LINE.match(line)]
        if starts:
            lines = lines[starts[0] :]
        return "\n".join(lines)[:MAX_CLASSIFIED_CHARS]
    return ""


def _failures(message: Message) -> tuple[list[str], list[str]]:
    """flufl.bounce's temporary and permanent failures, as text addresses."""
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a heuristic detector choking on odd input is no failure found
        log.debug("bounce detectors failed", exc_info=True)
        return [], []

    def decode(addresses: Iterable[bytes]) -> list[str]:
        return sorted(a.decode("ascii", "replace") for a in addresses)

    return decode(temporary), decode(permanent)


_KIND_OF = {
    Verdict.SUPPRESS: ReportKind.HARD_BOUNCE,
    Verdict.SOFT: ReportKind.SOFT_BOUNCE,
    Verdict.POLICY: ReportKind.POLICY,
}


def _bounce(
    status: str,
    diagnostic: str,
    *,
    delayed: bool,
    reported: tuple[str, ...] = (),
    reply: int | None = None,
    notification: bool = False,
) -> Report:
    classification = classify_failure(status, diagnostic, delayed=delayed, reply=reply)
    kept = _text(diagnostic)
    if notification and len(kept) > MAX_DIAGNOSTIC_CHARS:
        # A notification's reason comes after its boilerplate: keep the end.
        kept = "…" + kept[-(MAX_DIAGNOSTIC_CHARS - 1) :]
    return Report(
        _KIND_OF[classification.verdict],
        # The code that counted: a generic 5.0.0 gives way to one found in the text.
        classification.status or status,
        kept[:MAX_DIAGNOSTIC_CHARS],
        reported,
        category=classification.category,
    )


def _parse_dsn(message: Message) -> Report:
    fields = _dsn_fields(message)
    temporary, permanent = _failures(message)
    failures = [f for f in fields if f.action.startswith(("fail", "error", "delay"))]
    reported = tuple(permanent + temporary)
    if failures:
        final = [f for f in failures if not f.action.startswith("delay")]
        chosen = (final or failures)[0]
        if chosen.diagnostic:
            return _bounce(chosen.status, chosen.diagnostic, delayed=not final, reported=reported)
        # Without a Diagnostic-Code, the notification's text may still say why.
        text = _notification_text(message)
        return _bounce(chosen.status, text, delayed=not final, reported=reported, notification=True)
    if permanent or temporary:
        # A bounce without DSN fields (qmail, Yahoo …): its text is all there is.
        text = _notification_text(message)
        return _bounce("", text, delayed=not permanent, reported=reported, notification=True)
    if fields:
        raise UnusableReport(BounceOutcome.DELIVERY_NOTICE, "a DSN that reports no failure")
    raise UnusableReport(BounceOutcome.NOT_A_REPORT, "neither a bounce nor a feedback report")


def _feedback_parts(message: Message) -> tuple[Message, Message | None] | None:
    """The feedback-report fields and the reported message (or its headers), if any."""
    if not message.is_multipart():
        return None
    parts: list[Message] = message.get_payload()  # type: ignore[assignment]
    fields = [p for p in parts if p.get_content_type() == "message/feedback-report"]
    if not fields:
        return None
    originals = [
        p for p in parts if p.get_content_type() in ("message/rfc822", "text/rfc822-headers")
    ]
    return _embedded(fields[0]), _embedded(originals[0]) if originals else None


def _embedded(part: Message) -> Message:
    """The message inside a message/* or text/rfc822-headers part, headers at least."""
    payload: Any = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        inner: Message = payload[0]
        return inner
    body = part.get_payload(decode=True)
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(payload or "")
    return email.parser.HeaderParser().parsestr(text.lstrip("\r\n"))


def _header_values(message: Message | None) -> list[str]:
    if message is None:
        return []
    return [str(value) for _name, value in message.items()]


def _parse_arf(fields: Message, original: Message | None, settings: MailSettings) -> Report:
    feedback_type = _text(fields.get("Feedback-Type")).lower()
    if feedback_type not in COMPLAINT_TYPES:
        raise UnusableReport(
            BounceOutcome.NOT_A_COMPLAINT, f"feedback type {feedback_type or 'missing'!r}"
        )
    outbox_ids: list[int] = []
    for text in _header_values(fields) + _header_values(original):
        for candidate in _VERP_IN_TEXT.findall(text):
            outbox_id = parse_verp(settings, candidate)
            if outbox_id is not None and outbox_id not in outbox_ids:
                outbox_ids.append(outbox_id)
    tokens: list[str] = []
    if original is not None:
        for value in original.get_all("List-Unsubscribe") or []:
            # Decoded first, or the mailto: subject's "%20" would stick to its token.
            tokens += [t for t in token_candidates(unquote(str(value))) if t not in tokens]
    reported = [_text(v).strip("<>") for v in fields.get_all("Original-Rcpt-To") or []]
    return Report(
        ReportKind.COMPLAINT,
        status=feedback_type,
        reported=tuple(reported),
        outbox_ids=tuple(outbox_ids),
        link_tokens=tuple(tokens[:MAX_LINK_TOKENS]),
    )


def smtp_report(code: int | None, text: str) -> Report:
    """The relay's 5xx answer about one recipient at send time, as a classified bounce."""
    return _bounce("", text, delayed=False, reply=code)


def parse_report(raw: bytes, settings: MailSettings) -> Report:
    """Read a DSN or an ARF complaint report; raise `UnusableReport` for anything else."""
    if not raw.strip():
        raise UnusableReport(BounceOutcome.NOT_A_REPORT, "empty message")
    try:
        message = _message(raw)
        feedback = _feedback_parts(message)
        if feedback is not None:
            return _parse_arf(*feedback, settings)
        return _parse_dsn(message)
    except UnusableReport:
        raise
    except Exception as exc:  # the email package rarely raises, but input is hostile
        log.debug("unreadable report", exc_info=True)
        raise UnusableReport(BounceOutcome.UNREADABLE, f"unreadable: {type(exc).__name__}") from exc


def header_recipients(raw: bytes) -> list[str]:
    """Envelope recipients as a delivery agent recorded them in the headers (Maildir)."""
    try:
        message = _message(raw)
        found: list[str] = []
        for name in RECIPIENT_HEADERS:
            for value in message.get_all(name) or []:
                for _display, address in email.utils.getaddresses([str(value)]):
                    if address and address not in found:
                        found.append(address)
        return found
    except Exception:  # unreadable headers name no recipient
        log.debug("unreadable recipient headers", exc_info=True)
        return []


# --- whom it is about ---------------------------------------------------------------


def _target_of_row(session: Session, outbox_id: int) -> Target | None:
    row = session.get(OutboxMessage, outbox_id)
    if row is None:
        return None
    try:
        # Erasure leaves finished rows with an undeliverable placeholder address.
        normalize_email(row.to_address)
    except InvalidEmail:
        return None
    return Target(row.to_address, row.candidate_id, row.id)


def find_target(
    session: Session, report: Report, recipients: Sequence[str], settings: MailSettings
) -> Target:
    """Whom `report` is about: a signed VERP address, else a signed one-click token.

    Raises `UnusableReport` when no signed reference is found, or when the message
    it names is gone from the outbox or its address was erased.
    """
    ids = [i for i in (parse_verp(settings, r) for r in recipients) if i is not None]
    ids += [i for i in report.outbox_ids if i not in ids]
    for outbox_id in ids:
        target = _target_of_row(session, outbox_id)
        if target is not None:
            return target
    for token in report.link_tokens:
        try:
            owner = read_one_click_link(session, settings.secret_keys, token).candidate
        except InvalidLink:  # expired links too: a reference, not a request
            continue
        return Target(owner.email, owner.id)
    if ids:
        raise UnusableReport(BounceOutcome.UNKNOWN_MESSAGE, "the message is no longer known")
    raise UnusableReport(BounceOutcome.NO_RECIPIENT, "no signed return path or link")


# --- actions ------------------------------------------------------------------------


def _active_candidate(session: Session, target: Target) -> Candidate | None:
    if target.candidate_id is None:
        return None
    candidate = session.get(Candidate, target.candidate_id)
    if candidate is None or candidate.status is not CandidateStatus.ACTIVE:
        return None
    return candidate


def _record_stop(
    session: Session, target: Target, source: ConsentSource, detail: dict[str, Any]
) -> None:
    """The consent record of a suppression the candidate did not ask for."""
    candidate = _active_candidate(session, target)
    if candidate is not None:
        append_consent(
            session,
            candidate.id,
            scope=ConsentScope.MASS_EMAIL,
            action=ConsentAction.CHANGE,
            source=source,
            detail=detail,
        )


def _detail(target: Target, **fields: Any) -> dict[str, Any]:
    """A consent event's detail: `fields` that have a value, and the outbox row."""
    detail = {name: value for name, value in fields.items() if value not in ("", None)}
    if target.outbox_id is not None:
        detail["outbox_id"] = target.outbox_id
    return detail


def _message_kind(session: Session, target: Target) -> str | None:
    """The kind of the message a report is about (job_alert, campaign …), if known."""
    if target.outbox_id is None:
        return None
    row = session.get(OutboxMessage, target.outbox_id)
    return row.kind.value if row is not None else None


def _report_event(
    session: Session, type_: EventType, target: Target, data: dict[str, Any], source: str
) -> None:
    """The webhook event of a report that changed something: ids and codes, never the
    address or the server's diagnostic text (which may quote it)."""
    record_event(
        session,
        type_,
        candidate=(
            candidate_key(session, target.candidate_id) if target.candidate_id is not None else None
        ),
        data={**data, "message_kind": _message_kind(session, target)},
        source=source,
    )


def record_hard_bounce(
    session: Session, target: Target, report: Report, *, via: str = "dsn"
) -> BounceOutcome:
    """Suppress the address at once; repeating it changes nothing.

    The suppression writes a `bounce.hard` event (`via`: "dsn" for a bounce message,
    "smtp" for the relay's answer at send time).
    """
    if is_suppressed(session, target.address):
        return BounceOutcome.ALREADY_SUPPRESSED
    suppress(
        session,
        target.address,
        SuppressionReason.HARD_BOUNCE,
        detail=f"hard bounce {report.status} {report.diagnostic}".strip(),
    )
    detail = _detail(target, suppressed="hard_bounce", status=report.status)
    _record_stop(session, target, ConsentSource.BOUNCE, detail)
    _report_event(
        session,
        EventType.BOUNCE_HARD,
        target,
        {"status": report.status or None},
        via,
    )
    return BounceOutcome.HARD_BOUNCE_SUPPRESSED


def _add_soft_bounce(session: Session, key: str, stale_days: int) -> tuple[BounceScore, bool]:
    """Count one soft bounce for the address hash `key`; return the row and whether it counted."""
    at = now()
    row = session.get(BounceScore, key, with_for_update=True)
    if row is None:
        row = BounceScore(
            address_hash=key, score=SOFT_BOUNCE_WEIGHT, bounces=1, last_bounce_at=at, created_at=at
        )
        try:
            with session.begin_nested():
                session.add(row)
            return row, True
        except IntegrityError:  # a bounce for the same address was scored at the same moment
            row = session.get_one(BounceScore, key, with_for_update=True, populate_existing=True)
    last, today = row.last_bounce_at.date(), at.date()
    if last >= today:
        return row, False  # at most one increment a day, as in Mailman
    if (today - last).days > stale_days:
        row.score, row.bounces = SOFT_BOUNCE_WEIGHT, 1
    else:
        row.score, row.bounces = row.score + SOFT_BOUNCE_WEIGHT, row.bounces + 1
    row.last_bounce_at = at
    session.flush()
    return row, True


def record_soft_bounce(
    session: Session, target: Target, report: Report, settings: MailSettings, *, via: str = "dsn"
) -> BounceOutcome:
    """Score a soft bounce; suppress the address when the score reaches the threshold.

    That suppression writes a `bounce.soft_limit` event (`via` as for a hard bounce).
    """
    if is_suppressed(session, target.address):
        return BounceOutcome.ALREADY_SUPPRESSED
    key = address_hash(target.address, suppression_salt(session, create=True))
    row, counted = _add_soft_bounce(session, key, settings.bounce_stale_days)
    if not counted:
        return BounceOutcome.SOFT_BOUNCE_SAME_DAY
    if row.score < settings.bounce_score_threshold:
        return BounceOutcome.SOFT_BOUNCE_SCORED
    suppress(
        session,
        target.address,
        # The list has no reason of its own for this; a mailbox that keeps failing for
        # this long is treated like one that does not exist.
        SuppressionReason.HARD_BOUNCE,
        detail=f"soft-bounce score {row.score:g} reached {settings.bounce_score_threshold:g}",
    )
    detail = _detail(
        target,
        suppressed="soft_bounce_score",
        score=row.score,
        bounces=row.bounces,
        status=report.status,
    )
    _record_stop(session, target, ConsentSource.BOUNCE, detail)
    _report_event(
        session,
        EventType.BOUNCE_SOFT_LIMIT,
        target,
        {
            "status": report.status or None,
            "score": row.score,
            "threshold": settings.bounce_score_threshold,
            "bounces": row.bounces,
        },
        via,
    )
    return BounceOutcome.SOFT_BOUNCE_SUPPRESSED


def record_complaint(session: Session, target: Target, report: Report) -> BounceOutcome:
    """Opt out of mass email, withdraw every interest and saved search, suppress; repeating
    changes nothing."""
    detail = _detail(target, feedback_type=report.status)
    changed = False
    candidate = _active_candidate(session, target)
    if candidate is not None:
        changed |= set_mass_email_status(
            session,
            candidate.id,
            MassEmail.OPTED_OUT,
            ConsentAction.WITHDRAW,
            ConsentSource.COMPLAINT,
            detail=detail,
        )
        interest_ids = session.scalars(
            select(Subscription.interest_id).where(
                Subscription.candidate_id == candidate.id,
                Subscription.status != SubscriptionStatus.UNSUBSCRIBED,
            )
        ).all()
        for interest_id in interest_ids:
            changed |= withdraw_interest(
                session, candidate.id, interest_id, source=ConsentSource.COMPLAINT, detail=detail
            )
        for search_id in session.scalars(
            select(SavedSearch.id).where(
                SavedSearch.candidate_id == candidate.id,
                SavedSearch.status != SubscriptionStatus.UNSUBSCRIBED,
            )
        ).all():
            changed |= withdraw_saved_search(
                session, candidate.id, search_id, source=ConsentSource.COMPLAINT, detail=detail
            )
    newly_suppressed = not is_suppressed(session, target.address)
    if newly_suppressed:
        suppress(session, target.address, SuppressionReason.COMPLAINT, detail="ARF complaint")
        if not changed:  # nothing left to opt out of: the stop itself is the record
            _record_stop(
                session, target, ConsentSource.COMPLAINT, {"suppressed": "complaint", **detail}
            )
    if changed or newly_suppressed:
        # After the withdrawals it caused, in the same transaction; a repeat is no news.
        _report_event(
            session,
            EventType.COMPLAINT_RECEIVED,
            target,
            {"feedback_type": report.status or None},
            "feedback_loop",
        )
        return BounceOutcome.COMPLAINT_APPLIED
    return BounceOutcome.COMPLAINT_ALREADY_APPLIED


def record_bounce(
    session: Session, target: Target, report: Report, settings: MailSettings, *, via: str = "dsn"
) -> BounceOutcome:
    """Act on a classified bounce: suppress, score, or only record a policy rejection.

    The one path for bounce messages and for the relay's own 5xx answers at send
    time (`via="smtp"`). A bounce of a known outbox row is recorded as a
    `BounceEvent` first; a new policy rejection checks its send's reputation alarm.
    """
    recorded = False
    if target.outbox_id is not None and report.category is not None:
        classification = Classification(report.category, _VERDICT_OF[report.kind], report.status)
        recorded = record_bounce_event(
            session,
            target.outbox_id,
            classification,
            report.diagnostic,
            via=via,
            settings=settings,
            check=via == "dsn",
        )
    if report.kind is ReportKind.HARD_BOUNCE:
        return record_hard_bounce(session, target, report, via=via)
    if report.kind is ReportKind.SOFT_BOUNCE:
        return record_soft_bounce(session, target, report, settings, via=via)
    if report.kind is ReportKind.POLICY:
        # The sender's problem: the address and its score stay as they are.
        if recorded or target.outbox_id is None:
            return BounceOutcome.POLICY_RECORDED
        return BounceOutcome.POLICY_ALREADY_RECORDED
    raise ValueError(f"not a bounce: {report.kind}")


_VERDICT_OF = {kind: verdict for verdict, kind in _KIND_OF.items()}


def process_report(
    session: Session, raw: bytes, *, recipients: Sequence[str], settings: MailSettings
) -> BounceOutcome:
    """Act on the bounce or complaint in `raw`, delivered to `recipients`.

    `recipients` are the envelope recipients (the VERP address a bounce came back
    to); for a message read from a Maildir, `header_recipients`. Never raises for
    bad input; raises database errors. Flushes, never commits.
    """
    try:
        report = parse_report(raw, settings)
        target = find_target(session, report, recipients, settings)
    except UnusableReport as exc:
        log.warning("bounce ignored", extra={"outcome": exc.outcome.value, "reason": exc.reason})
        return exc.outcome
    if report.kind is ReportKind.COMPLAINT:
        outcome = record_complaint(session, target, report)
    else:
        outcome = record_bounce(session, target, report, settings)
    candidate = session.get(Candidate, target.candidate_id) if target.candidate_id else None
    log.info(
        "bounce processed",
        extra={
            "outcome": outcome.value,
            "kind": report.kind.value,
            "category": report.category.value if report.category is not None else "-",
            "status": report.status or "-",
            "domain": recipient_domain(target.address) or "-",
            "outbox_id": target.outbox_id or "-",
            "candidate": candidate.public_id if candidate is not None else "-",
            # Whether the report itself names the address the signed reference names;
            # forwarding makes them differ, and only the signed reference is trusted.
            "reported_matches": any(same_address(a, target.address) for a in report.reported),
        },
    )
    return outcome


# --- delivery: SMTP route and Maildir -----------------------------------------------


@dataclass(frozen=True)
class BounceRoute:
    """Mail to a signed VERP address, or to the plain bounce mailbox (feedback loops)."""

    settings: MailSettings
    name: str = "bounces"

    def accepts(self, recipient: str) -> bool:
        return parse_verp(self.settings, recipient) is not None or same_address(
            recipient, bounce_mailbox(self.settings)
        )

    def handle(self, session: Session, message: InboundMessage) -> str:
        return process_report(
            session, message.data, recipients=message.recipients, settings=self.settings
        ).value


@dataclass
class MaildirRun:
    """What reading a Maildir did: outcomes by name, and messages already seen."""

    outcomes: Counter[str] = field(default_factory=Counter)
    already_seen: int = 0

    @property
    def processed(self) -> int:
        return sum(self.outcomes.values())


def unread_keys(box: mailbox.Maildir) -> list[str]:
    """Keys of the messages not yet marked seen (S) or trashed (T), oldest first."""
    keys: list[tuple[float, str]] = []
    for key in box.iterkeys():
        message = box.get_message(key)
        if not {"S", "T"} & set(message.get_flags()):
            keys.append((message.get_date(), key))
    return [key for _date, key in sorted(keys)]


def read_maildir(
    session_factory: sessionmaker[Session],
    path: Path,
    settings: MailSettings,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> MaildirRun:
    """Process every unread message in the Maildir at `path`, each in its own transaction.

    A processed message is moved to cur/ and flagged seen once its transaction has
    committed, so a second run does not count it again. A database error stops the
    run with the message left unread, to be retried. `on_progress(done, total)` is
    called before the first message and after each one.
    """
    box = mailbox.Maildir(path, factory=None, create=False)
    run = MaildirRun()
    keys = unread_keys(box)
    run.already_seen = len(box) - len(keys)
    if on_progress is not None:
        on_progress(0, len(keys))
    for done, key in enumerate(keys, start=1):
        raw = box.get_bytes(key)
        with session_scope(session_factory) as session:
            outcome = process_report(
                session, raw, recipients=header_recipients(raw), settings=settings
            )
        seen = box.get_message(key)
        seen.set_subdir("cur")
        seen.add_flag("S")
        box[key] = seen
        run.outcomes[outcome.value] += 1
        if on_progress is not None:
            on_progress(done, len(keys))
    return run
