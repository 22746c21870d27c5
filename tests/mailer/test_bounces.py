"""Bounces and complaints: VERP return paths, DSN and ARF samples, scoring, and the listener."""

from __future__ import annotations

import dataclasses
import logging
import mailbox
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mailer.bounces import (
    BounceOutcome,
    BounceRoute,
    ReportKind,
    UnusableReport,
    parse_report,
    process_report,
    read_maildir,
)
from mailer.config import MailSettings, SmtpTarget
from mailer.inbound import InboundHandler, InboundListener
from mailer.models import BounceScore, MessageKind, OutboxMessage, OutboxStatus
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.verp import bounce_mailbox, parse_verp, verp_address
from mailer.worker import OutboxWorker
from preferences.clock import FrozenClock
from preferences.db import make_engine, make_session_factory, session_scope
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Interest,
    MassEmailStatus,
    SavedSearch,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from preferences.privacy import erase_candidate
from preferences.saved_searches import SearchFields, save_search
from preferences.subscriptions import opt_in_mass_email, subscribe
from preferences.suppressions import is_suppressed
from preferences.tokens import LinkPurpose, make_link_token

from .samples import (
    DELAYED_4_2_2,
    HARD_5_1_1,
    MICROSOFT_ARF,
    OUT_OF_OFFICE,
    OVER_QUOTA_5_2_2,
    SAMPLE_VERP,
    YAHOO_ARF,
    sample,
)
from .support import SETTINGS, outbox, queue

KEYS = ("bounce-test-key-" + "b" * 32,)
MAIL = dataclasses.replace(SETTINGS, secret_keys=KEYS)
ANA = "ana@example.com"


# --- VERP -----------------------------------------------------------------------------


@pytest.mark.parametrize("outbox_id", [1, 35, 36, 1_000_000, 2**63 - 1])
def test_verp_round_trips_and_fits_in_a_local_part(outbox_id: int) -> None:
    """Every id survives verp_address then parse_verp; the local part is lower-case, ≤ 64."""
    address = verp_address(MAIL, outbox_id)
    local, _, domain = address.rpartition("@")
    assert domain == "acme.example.com"
    assert local.startswith("bounces+")
    assert len(local.encode()) <= 64
    assert local == local.lower()
    assert parse_verp(MAIL, address) == outbox_id
    assert parse_verp(MAIL, f"<{address}>") == outbox_id


def test_a_case_folded_verp_address_is_accepted() -> None:
    """An MTA that upper- or lower-cases the address on the way back changes nothing."""
    address = verp_address(MAIL, 4242)
    assert parse_verp(MAIL, address.upper()) == 4242
    assert parse_verp(MAIL, address.title()) == 4242


def _tamper(address: str) -> list[str]:
    local, _, domain = address.rpartition("@")
    prefix, _, token = local.partition("+")
    id36, _, mac = token.partition("-")
    flipped = ("b" if mac[0] != "b" else "c") + mac[1:]
    return [
        f"{prefix}+{id36}-{flipped}@{domain}",  # signature changed
        f"{prefix}+{id36}1-{mac}@{domain}",  # id changed, signature kept
        f"{prefix}+{id36}-{mac[:-1]}@{domain}",  # signature cut short
        f"{prefix}+{id36}-{mac}@elsewhere.example.com",  # other domain
        f"careers+{id36}-{mac}@{domain}",  # other mailbox
        f"{prefix}@{domain}",  # no token
        f"{prefix}+{id36}@{domain}",
        f"{prefix}+0-{mac}@{domain}",
        "not an address",
        "",
    ]


def test_a_tampered_or_foreign_verp_address_is_refused() -> None:
    """Changing any part of the token, the domain or the mailbox makes it no VERP address."""
    address = verp_address(MAIL, 77)
    assert parse_verp(MAIL, address) == 77
    for forged in _tamper(address):
        assert parse_verp(MAIL, forged) is None, forged
    assert parse_verp(MAIL, SAMPLE_VERP) is None  # the samples' placeholder is signed by no key


def test_old_key_tokens_still_parse_after_rotation() -> None:
    """Mail sent before a key rotation bounces fine while the old key stays listed."""
    old = dataclasses.replace(MAIL, secret_keys=("old-key-" + "o" * 32,))
    rotated = dataclasses.replace(MAIL, secret_keys=("new-key-" + "n" * 32, *old.secret_keys))
    dropped = dataclasses.replace(MAIL, secret_keys=rotated.secret_keys[:1])
    sent_before = verp_address(old, 501)
    assert parse_verp(rotated, sent_before) == 501
    assert parse_verp(dropped, sent_before) is None
    sent_after = verp_address(rotated, 501)
    assert sent_after != sent_before  # the newest key signs
    assert parse_verp(dropped, sent_after) == 501
    assert parse_verp(old, sent_after) is None


def test_the_bounce_domain_setting_and_an_idn_sending_domain() -> None:
    """BOUNCE_DOMAIN replaces the From domain; an IDN domain is written in its ASCII form."""
    own = dataclasses.replace(MAIL, bounce_domain="bounces.acme.example.com")
    address = verp_address(own, 9)
    assert address.endswith("@bounces.acme.example.com")
    assert parse_verp(own, address) == 9
    assert parse_verp(MAIL, address) is None
    idn = dataclasses.replace(MAIL, mail_from="Acme <jobs@exämple.test>")
    assert verp_address(idn, 9).endswith("@xn--exmple-cua.test")
    assert parse_verp(idn, verp_address(idn, 9)) == 9


def test_without_secret_keys_mail_goes_out_with_the_plain_bounce_mailbox() -> None:
    """No key, nothing to sign: the return path is bounces@ the domain, which names no row."""
    assert verp_address(SETTINGS, 12) == "bounces@acme.example.com" == bounce_mailbox(SETTINGS)
    assert parse_verp(SETTINGS, verp_address(SETTINGS, 12)) is None
    with pytest.raises(ValueError):
        verp_address(MAIL, 0)


# --- parsing the samples --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "status"),
    [
        (HARD_5_1_1, ReportKind.HARD_BOUNCE, "5.1.1"),
        (DELAYED_4_2_2, ReportKind.SOFT_BOUNCE, "4.2.2"),
        (OVER_QUOTA_5_2_2, ReportKind.SOFT_BOUNCE, "5.2.2"),
        (YAHOO_ARF, ReportKind.COMPLAINT, "abuse"),
        (MICROSOFT_ARF, ReportKind.COMPLAINT, "abuse"),
    ],
)
def test_samples_parse_to_the_right_kind(name: str, kind: ReportKind, status: str) -> None:
    """Postfix 5.1.1 is hard; a 4.2.2 delay and Gmail's 5.2.2 quota are soft; ARF is a complaint."""
    report = parse_report(sample(name, verp=verp_address(MAIL, 1)), MAIL)
    assert (report.kind, report.status) == (kind, status)


def test_the_dsn_names_the_failed_recipient_and_the_diagnostic() -> None:
    """flufl.bounce finds the failing address; the Diagnostic-Code is kept, unfolded."""
    report = parse_report(sample(HARD_5_1_1), MAIL)
    assert report.reported == (ANA,)
    assert report.diagnostic.startswith("smtp; 550 5.1.1 <ana@example.com>: Recipient address")
    assert "\n" not in report.diagnostic


def test_an_arf_report_yields_its_signed_return_path_or_its_one_click_token() -> None:
    """Yahoo's report carries the VERP address twice (one id); Microsoft's only the token."""
    yahoo = parse_report(sample(YAHOO_ARF, verp=verp_address(MAIL, 31)), MAIL)
    assert yahoo.outbox_ids == (31,)
    assert yahoo.reported == (ANA,)
    forged = parse_report(sample(YAHOO_ARF), MAIL)  # the unsigned placeholder
    assert forged.outbox_ids == ()
    token = "eyJjIjoiYWJjIiwidiI6MX0.aBcDeF." + "Z" * 43
    microsoft = parse_report(sample(MICROSOFT_ARF, token=token), MAIL)
    assert (microsoft.outbox_ids, microsoft.link_tokens) == ((), (token,))


# Every byte but CR and LF, in lines short enough for SMTP.
_BINARY = bytes(b for b in range(256) if b not in (10, 13))[:200]


def _delivered(raw: bytes) -> bytes:
    return raw.replace(b"Action: failed", b"Action: delivered").replace(b"5.1.1", b"2.0.0")


UNUSABLE = {
    "out-of-office reply": (lambda: sample(OUT_OF_OFFICE), BounceOutcome.NOT_A_REPORT),
    "success DSN": (lambda: _delivered(sample(HARD_5_1_1)), BounceOutcome.DELIVERY_NOTICE),
    "not-spam ARF": (
        lambda: sample(YAHOO_ARF).replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam"),
        BounceOutcome.NOT_A_COMPLAINT,
    ),
    "empty": (lambda: b"", BounceOutcome.NOT_A_REPORT),
    "blank lines": (lambda: b"\r\n\r\n", BounceOutcome.NOT_A_REPORT),
    "headers only": (lambda: b"Subject: hi\r\n\r\n", BounceOutcome.NOT_A_REPORT),
    "non-UTF-8 bytes": (
        lambda: b"\xff\xfe\x00Subject: \x80\x81\r\n\r\n" + b"\r\n".join([_BINARY] * 8),
        BounceOutcome.NOT_A_REPORT,
    ),
    "broken MIME": (
        lambda: (
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n"
            b"\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\n\xff\xfe: \x00\r\n--x"
        ),
        BounceOutcome.NOT_A_REPORT,
    ),
}


@pytest.mark.parametrize("name", sorted(UNUSABLE))
def test_anything_else_is_unusable_with_a_reason(name: str) -> None:
    """Auto-replies, success notices, other ARF types and garbage raise UnusableReport only."""
    make, expected = UNUSABLE[name]
    with pytest.raises(UnusableReport) as info:
        parse_report(make(), MAIL)
    assert info.value.outcome is expected
    assert info.value.outcome.ignored
    assert info.value.reason


# --- acting on reports ----------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    """Ana, subscribed to two interests and opted in to mass email, with one queued alert."""

    candidate_id: int
    outbox_id: int

    @property
    def verp(self) -> str:
        return verp_address(MAIL, self.outbox_id)


@dataclass(frozen=True)
class State:
    """Everything a report may change, read fresh from the database."""

    suppressed: bool
    suppression_reasons: list[str]
    mass_email: str
    subscriptions: list[str]
    events: list[tuple[str, str, str, dict[str, object]]]
    score: tuple[float, int] | None


@pytest.fixture
def ana(sessions: sessionmaker[Session]) -> Seeded:
    with session_scope(sessions) as session:
        candidate = Candidate(email=ANA, first_name="Ana")
        design, data = Interest(name="Design", slug="design"), Interest(name="Data", slug="data")
        session.add_all([candidate, design, data])
        session.flush()
        for interest in (design, data):
            subscribe(
                session, candidate, interest, source=ConsentSource.CONNECT_FORM, confirmed=True
            )
        opt_in_mass_email(session, candidate, source=ConsentSource.CONNECT_FORM)
        candidate_id, design_id = candidate.id, design.id
    queue(
        sessions,
        ANA,
        "alert:ana",
        kind=MessageKind.JOB_ALERT,
        candidate_id=candidate_id,
        context={"interest_id": design_id},
    )
    return Seeded(candidate_id, outbox(sessions)["alert:ana"].id)


def state(sessions: sessionmaker[Session], ana: Seeded) -> State:
    with sessions() as session:
        subs = session.scalars(
            select(Subscription)
            .where(Subscription.candidate_id == ana.candidate_id)
            .order_by(Subscription.interest_id)
        )
        mass = session.get_one(MassEmailStatus, ana.candidate_id)
        events = session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.source.in_([ConsentSource.BOUNCE, ConsentSource.COMPLAINT]))
            .order_by(ConsentEvent.id)
        )
        score = session.scalars(select(BounceScore)).one_or_none()
        return State(
            suppressed=is_suppressed(session, ANA),
            suppression_reasons=[s.reason.value for s in session.scalars(select(Suppression))],
            mass_email=mass.status.value,
            subscriptions=[s.status.value for s in subs],
            events=[(e.scope.value, e.action.value, e.source.value, e.detail) for e in events],
            score=(score.score, score.bounces) if score is not None else None,
        )


def process(
    sessions: sessionmaker[Session],
    raw: bytes,
    recipients: list[str],
    settings: MailSettings = MAIL,
) -> BounceOutcome:
    with session_scope(sessions) as session:
        return process_report(session, raw, recipients=recipients, settings=settings)


def test_a_hard_bounce_suppresses_at_once_and_records_why(
    sessions: sessionmaker[Session], ana: Seeded, clock: FrozenClock
) -> None:
    """A 5.1.1 to the alert's return path suppresses Ana with one bounce consent event."""
    raw = sample(HARD_5_1_1, verp=ana.verp)
    assert process(sessions, raw, [ana.verp]) is BounceOutcome.HARD_BOUNCE_SUPPRESSED
    after = state(sessions, ana)
    assert after.suppressed
    assert after.suppression_reasons == ["hard_bounce"]
    assert after.events == [
        (
            "mass_email",
            "change",
            "bounce",
            {"suppressed": "hard_bounce", "status": "5.1.1", "outbox_id": ana.outbox_id},
        )
    ]
    # Consent itself is untouched: the address is what stopped working.
    assert (after.mass_email, after.subscriptions) == ("opted_in", ["subscribed", "subscribed"])
    assert process(sessions, raw, [ana.verp]) is BounceOutcome.ALREADY_SUPPRESSED
    assert state(sessions, ana) == after


def test_soft_bounces_count_once_a_day_until_the_threshold_suppresses(
    sessions: sessionmaker[Session], ana: Seeded, clock: FrozenClock
) -> None:
    """0.5 per day, repeats the same day ignored; the tenth day reaches 5.0 and suppresses."""
    raw = sample(DELAYED_4_2_2, verp=ana.verp)
    assert process(sessions, raw, [ana.verp]) is BounceOutcome.SOFT_BOUNCE_SCORED
    assert process(sessions, raw, [ana.verp]) is BounceOutcome.SOFT_BOUNCE_SAME_DAY
    clock.advance(timedelta(hours=14))  # 23:30 the same UTC day
    assert process(sessions, raw, [ana.verp]) is BounceOutcome.SOFT_BOUNCE_SAME_DAY
    assert state(sessions, ana).score == (0.5, 1)
    for day in range(2, 10):
        clock.advance(timedelta(days=1))
        assert process(sessions, raw, [ana.verp]) is BounceOutcome.SOFT_BOUNCE_SCORED, day
    before = state(sessions, ana)
    assert (before.score, before.suppressed, before.events) == ((4.5, 9), False, [])
    clock.advance(timedelta(days=1))
    assert process(sessions, raw, [ana.verp]) is BounceOutcome.SOFT_BOUNCE_SUPPRESSED
    after = state(sessions, ana)
    assert after.suppressed and after.score == (5.0, 10)
    assert after.events == [
        (
            "mass_email",
            "change",
            "bounce",
            {
                "suppressed": "soft_bounce_score",
                "score": 5.0,
                "bounces": 10,
                "status": "4.2.2",
                "outbox_id": ana.outbox_id,
            },
        )
    ]
    clock.advance(timedelta(days=1))
    assert process(sessions, raw, [ana.verp]) is BounceOutcome.ALREADY_SUPPRESSED


def test_the_soft_bounce_score_starts_afresh_after_the_stale_period(
    sessions: sessionmaker[Session], ana: Seeded, clock: FrozenClock
) -> None:
    """A bounce within BOUNCE_STALE_DAYS adds to the score; one after a longer gap resets it."""
    raw = sample(OVER_QUOTA_5_2_2, verp=ana.verp)
    process(sessions, raw, [ana.verp])
    clock.advance(timedelta(days=MAIL.bounce_stale_days))
    assert process(sessions, raw, [ana.verp]) is BounceOutcome.SOFT_BOUNCE_SCORED
    assert state(sessions, ana).score == (1.0, 2)
    clock.advance(timedelta(days=MAIL.bounce_stale_days + 1))
    assert process(sessions, raw, [ana.verp]) is BounceOutcome.SOFT_BOUNCE_SCORED
    assert state(sessions, ana).score == (0.5, 1)


def test_a_lower_threshold_suppresses_sooner(
    sessions: sessionmaker[Session], ana: Seeded, clock: FrozenClock
) -> None:
    """BOUNCE_SCORE_THRESHOLD is read from the settings: at 1.0 the second day suppresses."""
    strict = dataclasses.replace(MAIL, bounce_score_threshold=1.0)
    raw = sample(DELAYED_4_2_2, verp=ana.verp)
    assert process(sessions, raw, [ana.verp], strict) is BounceOutcome.SOFT_BOUNCE_SCORED
    clock.advance(timedelta(days=1))
    assert process(sessions, raw, [ana.verp], strict) is BounceOutcome.SOFT_BOUNCE_SUPPRESSED
    assert state(sessions, ana).suppression_reasons == ["hard_bounce"]


def test_a_complaint_opts_out_withdraws_every_interest_and_suppresses(
    sessions: sessionmaker[Session], ana: Seeded
) -> None:
    """Yahoo's ARF report, sent to the plain FBL address, finds Ana by the return path inside."""
    raw = sample(YAHOO_ARF, verp=ana.verp)
    fbl = bounce_mailbox(MAIL)
    assert process(sessions, raw, [fbl]) is BounceOutcome.COMPLAINT_APPLIED
    after = state(sessions, ana)
    assert (after.mass_email, after.subscriptions) == ("opted_out", ["unsubscribed"] * 2)
    assert after.suppressed and after.suppression_reasons == ["complaint"]
    detail = {"feedback_type": "abuse", "outbox_id": ana.outbox_id}
    assert after.events == [
        ("mass_email", "withdraw", "complaint", detail),
        ("interest", "withdraw", "complaint", detail),
        ("interest", "withdraw", "complaint", detail),
    ]
    assert process(sessions, raw, [fbl]) is BounceOutcome.COMPLAINT_ALREADY_APPLIED
    assert state(sessions, ana) == after


def test_a_complaint_withdraws_every_saved_search_too(
    sessions: sessionmaker[Session], ana: Seeded
) -> None:
    """A complaint stops job alerts for a search as it does for interests, one event each."""
    with session_scope(sessions) as session:
        candidate = session.get_one(Candidate, ana.candidate_id)
        kept, _ = save_search(
            session,
            candidate,
            SearchFields(key="k" * 64, query="python", description="“python”"),
            source=ConsentSource.DASHBOARD,
            confirmed=True,
        )
        kept_id = kept.id
    raw = sample(YAHOO_ARF, verp=ana.verp)
    assert process(sessions, raw, [bounce_mailbox(MAIL)]) is BounceOutcome.COMPLAINT_APPLIED
    with session_scope(sessions) as session:
        assert session.get_one(SavedSearch, kept_id).status is SubscriptionStatus.UNSUBSCRIBED
        withdrawn = session.scalars(
            select(ConsentEvent.source).where(
                ConsentEvent.saved_search_id == kept_id,
                ConsentEvent.action == ConsentAction.WITHDRAW,
            )
        ).all()
    assert withdrawn == [ConsentSource.COMPLAINT]


def test_a_complaint_with_only_the_one_click_token_still_finds_the_candidate(
    sessions: sessionmaker[Session], ana: Seeded
) -> None:
    """Microsoft strips recipient and Return-Path; the signed List-Unsubscribe token suffices."""
    with sessions() as session:
        token = make_link_token(
            KEYS,
            LinkPurpose.ONE_CLICK,
            session.get_one(Candidate, ana.candidate_id),
            l="mass_email",
        )
    raw = sample(MICROSOFT_ARF, token=token)
    assert process(sessions, raw, [bounce_mailbox(MAIL)]) is BounceOutcome.COMPLAINT_APPLIED
    after = state(sessions, ana)
    assert (after.mass_email, after.subscriptions, after.suppressed) == (
        "opted_out",
        ["unsubscribed"] * 2,
        True,
    )
    assert {e[2] for e in after.events} == {"complaint"}


def test_a_complaint_about_an_already_opted_out_candidate_still_records_the_stop(
    sessions: sessionmaker[Session], ana: Seeded
) -> None:
    """With nothing left to withdraw, the suppression itself is the complaint's consent event."""
    raw = sample(YAHOO_ARF, verp=ana.verp)
    process(sessions, raw, [ana.verp])
    with session_scope(sessions) as session:
        session.execute(Suppression.__table__.delete())
    before = state(sessions, ana)
    assert process(sessions, raw, [ana.verp]) is BounceOutcome.COMPLAINT_APPLIED
    after = state(sessions, ana)
    assert after.suppressed
    assert after.events[len(before.events) :] == [
        (
            "mass_email",
            "change",
            "complaint",
            {"suppressed": "complaint", "feedback_type": "abuse", "outbox_id": ana.outbox_id},
        )
    ]


FORGERIES = {
    # A well-formed return path nobody signed, the real recipient named everywhere else.
    "unsigned return path": lambda ana: (sample(HARD_5_1_1), [SAMPLE_VERP]),
    "complaint naming Ana only in plain fields": lambda ana: (
        sample(YAHOO_ARF),
        [bounce_mailbox(MAIL)],
    ),
    "bounce to the plain mailbox": lambda ana: (
        sample(HARD_5_1_1, verp=ana.verp),
        [bounce_mailbox(MAIL)],
    ),
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_reports_without_a_signed_reference_change_nothing(
    sessions: sessionmaker[Session],
    ana: Seeded,
    name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Addresses written in a report are never trusted: no signature, no action."""
    caplog.set_level(logging.INFO, logger="mailer.bounces")
    raw, recipients = FORGERIES[name](ana)
    before = state(sessions, ana)
    assert process(sessions, raw, recipients) is BounceOutcome.NO_RECIPIENT
    assert state(sessions, ana) == before
    (record,) = [r for r in caplog.records if r.getMessage() == "bounce ignored"]
    assert getattr(record, "outcome", None) == "no_recipient"


def test_a_bounce_for_a_message_no_longer_in_the_outbox_is_ignored(
    sessions: sessionmaker[Session], ana: Seeded
) -> None:
    """A correctly signed return path of a deleted row (an erased candidate's) acts on nobody."""
    gone = verp_address(MAIL, ana.outbox_id + 1000)
    before = state(sessions, ana)
    outcome = process(sessions, sample(HARD_5_1_1, verp=gone), [gone])
    assert outcome is BounceOutcome.UNKNOWN_MESSAGE
    assert state(sessions, ana) == before


def test_a_bounce_for_an_erased_candidates_message_is_ignored(
    sessions: sessionmaker[Session], ana: Seeded, tmp_path: Path
) -> None:
    """After erasure the row keeps only a placeholder address: the bounce acts on nobody."""
    with session_scope(sessions) as session:
        session.execute(update(OutboxMessage).values(status=OutboxStatus.SENT))
        candidate = session.get_one(Candidate, ana.candidate_id)
        erase_candidate(session, candidate, upload_dir=tmp_path)
    with sessions() as session:
        assert session.get_one(OutboxMessage, ana.outbox_id).to_address.endswith("@invalid")
        suppressions = session.scalars(select(Suppression.reason)).all()
    for name in (HARD_5_1_1, YAHOO_ARF):
        outcome = process(sessions, sample(name, verp=ana.verp), [ana.verp])
        assert outcome is BounceOutcome.UNKNOWN_MESSAGE, name
    with sessions() as session:
        assert session.scalars(select(Suppression.reason)).all() == suppressions


@pytest.mark.parametrize("name", sorted(UNUSABLE))
def test_garbage_to_a_valid_return_path_is_ignored_and_logged(
    sessions: sessionmaker[Session],
    ana: Seeded,
    name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Not a DSN, empty, or binary: nothing changes, and the reason is logged."""
    caplog.set_level(logging.INFO, logger="mailer.bounces")
    make, expected = UNUSABLE[name]
    raw = make().replace(SAMPLE_VERP.encode(), ana.verp.encode())
    before = state(sessions, ana)
    assert process(sessions, raw, [ana.verp]) is expected
    assert state(sessions, ana) == before
    (record,) = [r for r in caplog.records if r.getMessage() == "bounce ignored"]
    assert record.levelno == logging.WARNING
    assert getattr(record, "outcome", None) == expected.value
    assert getattr(record, "reason", "")


def test_a_processed_report_is_logged_without_the_address(
    sessions: sessionmaker[Session], ana: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    """The log line names the outcome, the row and the candidate's public id, never the address."""
    caplog.set_level(logging.INFO, logger="mailer.bounces")
    process(sessions, sample(HARD_5_1_1, verp=ana.verp), [ana.verp])
    (record,) = [r for r in caplog.records if r.getMessage() == "bounce processed"]
    with sessions() as session:
        public_id = session.get_one(Candidate, ana.candidate_id).public_id
    assert record.__dict__["outcome"] == "hard_bounce_suppressed"
    assert record.__dict__["outbox_id"] == ana.outbox_id
    assert record.__dict__["candidate"] == public_id
    assert record.__dict__["reported_matches"] is True
    assert ANA not in " ".join(str(v) for v in record.__dict__.values())


# --- the worker's return path and the SMTP listener ----------------------------------


@pytest.fixture
def listener(sessions: sessionmaker[Session]) -> Iterator[InboundListener]:
    """The real bounce listener on a free loopback port."""
    running = InboundListener(InboundHandler(sessions, [BounceRoute(MAIL)])).start()
    try:
        yield running
    finally:
        running.stop()


def send_raw(port: int, raw: bytes, to: str, *, mail_from: str = "") -> None:
    """Deliver `raw` the way a reporting MTA does: null sender, one recipient."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(mail_from, [to], raw)


def test_a_sent_alert_bounces_back_through_the_listener_and_suppresses(
    sessions: sessionmaker[Session],
    ana: Seeded,
    smtp_server: MailSink,
    listener: InboundListener,
) -> None:
    """The worker's envelope sender is the VERP address; a DSN sent to it suppresses Ana."""
    worker = OutboxWorker(
        sessions,
        lambda: SmtpSender(SmtpTarget(host=smtp_server.host, port=smtp_server.port, timeout=5)),
        MAIL,
        lease=timedelta(minutes=5),
    )
    assert worker.run_once().sent == 1
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    return_path = received.envelope_from
    assert parse_verp(MAIL, return_path) == ana.outbox_id
    send_raw(listener.port, sample(HARD_5_1_1, verp=return_path), return_path)
    after = state(sessions, ana)
    assert after.suppressed
    assert [e[2] for e in after.events] == ["bounce"]


def test_the_listener_refuses_forged_and_foreign_recipients_with_550(
    sessions: sessionmaker[Session], ana: Seeded, listener: InboundListener
) -> None:
    """Tampered tokens and other mailboxes are refused at RCPT; a case-folded token is taken."""
    before = state(sessions, ana)
    forged = [a for a in _tamper(ana.verp) if "@" in a and a != bounce_mailbox(MAIL)]
    for address in [*forged, SAMPLE_VERP, "careers@acme.example.com", "x@other.test"]:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            send_raw(listener.port, sample(HARD_5_1_1, verp=address), address)
        ((code, _text),) = info.value.recipients.values()
        assert code == 550, address
    assert state(sessions, ana) == before
    shouted = ana.verp.upper()
    send_raw(listener.port, sample(HARD_5_1_1, verp=shouted), shouted)
    assert state(sessions, ana).suppressed


def test_garbage_never_crashes_the_listener(
    sessions: sessionmaker[Session], ana: Seeded, listener: InboundListener
) -> None:
    """Binary junk, empty and non-report mail get 250 and are ignored; a DSN still works after."""
    before = state(sessions, ana)
    for name in sorted(UNUSABLE):
        make, _expected = UNUSABLE[name]
        send_raw(listener.port, make() or b"\r\n", ana.verp)
    send_raw(listener.port, sample(OUT_OF_OFFICE, verp=ana.verp), ana.verp, mail_from=ANA)
    assert state(sessions, ana) == before
    send_raw(listener.port, sample(HARD_5_1_1, verp=ana.verp), ana.verp)
    assert state(sessions, ana).suppressed


def test_the_feedback_loop_address_takes_complaints(
    sessions: sessionmaker[Session], ana: Seeded, listener: InboundListener
) -> None:
    """bounces@ the domain (no token) is accepted, for reports mailbox providers send there."""
    send_raw(listener.port, sample(YAHOO_ARF, verp=ana.verp), "Bounces@ACME.example.com")
    assert state(sessions, ana).mass_email == "opted_out"


def test_a_database_failure_asks_the_reporting_server_to_retry(
    tmp_path: Path, sessions: sessionmaker[Session], ana: Seeded
) -> None:
    """When the database cannot take the change, DATA answers 451 and nothing is lost."""
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    broken = InboundListener(InboundHandler(make_session_factory(empty), [BounceRoute(MAIL)]))
    broken.start()
    try:
        with pytest.raises(smtplib.SMTPDataError) as info:
            send_raw(broken.port, sample(HARD_5_1_1, verp=ana.verp), ana.verp)
        assert info.value.smtp_code == 451
    finally:
        broken.stop()
        empty.dispose()
    assert not state(sessions, ana).suppressed


# --- Maildir --------------------------------------------------------------------------


def test_read_maildir_processes_each_message_once(
    sessions: sessionmaker[Session], ana: Seeded, tmp_path: Path
) -> None:
    """Every unread message is processed and flagged seen in cur/; a second run does nothing."""
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(sample(HARD_5_1_1, verp=ana.verp))  # Delivered-To names the return path
    box.add(sample(OUT_OF_OFFICE, verp=ana.verp))
    box.add(b"\xff\xfe garbage \x00\r\n")
    seen = mailbox.MaildirMessage(sample(YAHOO_ARF, verp=ana.verp))
    seen.set_subdir("cur")
    seen.add_flag("S")  # read by someone already: left alone
    box.add(seen)
    progress: list[tuple[int, int]] = []
    first = read_maildir(
        sessions, tmp_path / "bounces", MAIL, on_progress=lambda *p: progress.append(p)
    )
    assert first.outcomes == {"hard_bounce_suppressed": 1, "not_a_report": 2}
    assert (first.processed, first.already_seen) == (3, 1)
    assert progress == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert list((tmp_path / "bounces" / "new").iterdir()) == []
    flags = sorted(m.get_flags() for m in mailbox.Maildir(tmp_path / "bounces").values())
    assert flags == ["S"] * 4
    after = state(sessions, ana)
    assert after.suppressed and after.mass_email == "opted_in"  # the seen complaint was skipped
    second = read_maildir(sessions, tmp_path / "bounces", MAIL)
    assert (second.processed, second.already_seen) == (0, 4)
    assert state(sessions, ana) == after
