"""Bounce classification: RFC 3463 codes and diagnostic text, and real bounces of many MTAs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.bounces import BounceOutcome, parse_report, process_report
from mailer.classify import BounceCategory, Classification, Verdict, classify_failure
from mailer.models import BounceEvent, BounceScore, MessageKind
from mailer.verp import verp_address
from preferences.clock import FrozenClock
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentEvent,
    ConsentSource,
    MassEmailStatus,
    Suppression,
)
from preferences.subscriptions import opt_in_mass_email
from preferences.suppressions import is_suppressed
from preferences.tokens import LinkPurpose, make_link_token

from .samples import SAMPLES, sample
from .support import SETTINGS, outbox, queue

KEYS = ("classes-test-key-" + "c" * 32,)
MAIL = dataclasses.replace(SETTINGS, secret_keys=KEYS)
ANA = "ana@example.com"

A, FULL, BIG, SLOW, POLICY, OTHER = (
    BounceCategory.ADDRESS,
    BounceCategory.MAILBOX_FULL,
    BounceCategory.TOO_LARGE,
    BounceCategory.THROTTLED,
    BounceCategory.POLICY,
    BounceCategory.OTHER,
)

SUP, SOFT_, POL = Verdict.SUPPRESS, Verdict.SOFT, Verdict.POLICY


def rule(
    status: str,
    diagnostic: str,
    category: BounceCategory,
    verdict: Verdict,
    *,
    code: str | None = None,
    delayed: bool = False,
) -> tuple[str, str, bool, Classification]:
    """A DSN Status and diagnostic, and what they classify as (the Status read, unless `code`)."""
    read = status if code is None else code
    return status, diagnostic, delayed, Classification(category, verdict, read)


RULES = [
    # Address failures, and only those, suppress.
    rule("5.1.1", "550 5.1.1 <a@x>: Recipient address rejected: User unknown", A, SUP),
    rule("5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound", A, SUP),
    rule("5.2.1", "550-5.2.1 The email account that you tried to reach is disabled.", A, SUP),
    rule("5.0.0", "550 Requested action not taken: no such user here", A, SUP),
    rule("5.0.0", "Unrouteable address", A, SUP),
    rule(
        "5.4.4",
        "Host or domain name not found. Name service error for name=exampel.test type=A",
        A,
        SUP,
    ),
    rule("", "Sorry, no mailbox here by that name. (#5.1.1)", A, SUP, code="5.1.1"),
    # An address failure that is only delayed, or temporary, is soft.
    rule("4.1.1", "450 4.1.1 <a@x>: Recipient address rejected: unverified address", A, SOFT_),
    rule("5.1.1", "550 5.1.1 user unknown", A, SOFT_, delayed=True),
    # A generic 5.0.0 gives way to the code in the text.
    rule("5.0.0", "smtp; 552 5.2.2 <a@x>: Mailbox quota exceeded", FULL, SOFT_, code="5.2.2"),
    rule("5.0.0", "smtp; 550 Mailbox quota exceeded for a@x", FULL, SOFT_),
    rule("5.0.0", "552 Requested mail action aborted: exceeded storage allocation", FULL, SOFT_),
    rule("5.2.2", "552-5.2.2 The recipient's inbox is out of storage space.", FULL, SOFT_),
    # Full-mailbox text wins over an address code.
    rule("5.1.1", "550 5.1.1 mailbox is full", FULL, SOFT_),
    rule("5.3.4", "552 5.3.4 Message size exceeds fixed maximum message size", BIG, SOFT_),
    rule("5.0.0", "553 exceeded maximum inbound message size", BIG, SOFT_),
    rule("", "552 message rejected", BIG, SOFT_),
    # Greylisting and rate limits are soft, even under an X.7 or X.2.1 code.
    rule("4.7.1", "451 4.7.1 Greylisting in action, please come back later", SLOW, SOFT_),
    rule(
        "4.2.0",
        "450 4.2.0 <a@x>: Recipient address rejected: Greylisted",
        SLOW,
        SOFT_,
        delayed=True,
    ),
    rule("4.2.1", "452-4.2.1 The recipient is receiving mail at a rate that prevents", SLOW, SOFT_),
    rule("5.0.0", "550 too many messages to this mailbox, slow down", SLOW, SOFT_),
    # Policy, spam and reputation: the sender's problem, whatever the code.
    rule("5.7.1", "550-5.7.1 this message is likely unsolicited mail", POLICY, POL),
    rule(
        "5.7.1", "554 5.7.1 Client host [198.51.100.25] blocked using zen.spamhaus.org", POLICY, POL
    ),
    rule("5.0.0", "554 Message rejected due to low sender reputation", POLICY, POL),
    rule("5.1.1", "550 5.1.1 rejected as spam", POLICY, POL),
    rule(
        "5.7.26",
        "550 5.7.26 Unauthenticated email is not accepted due to DMARC policy",
        POLICY,
        POL,
    ),
    rule(
        "4.7.0",
        "421 4.7.0 [TSS04] Messages temporarily deferred due to user complaints",
        POLICY,
        POL,
        delayed=True,
    ),
    rule("5.7.606", "550 5.7.606 Access denied, banned sending IP [198.51.100.25]", POLICY, POL),
    rule("5.0.0", "553 Sender address rejected: Domain not found", POLICY, POL),
    rule("5.1.8", "553 5.1.8 <bounces@x>: Sender address rejected", POLICY, POL),
    rule("5.7.0", "550 5.7.0 refused", POLICY, POL),
    # Nothing to go on: soft, so only a failure that keeps coming suppresses.
    rule("5.0.0", "", OTHER, SOFT_),
    rule("", "", OTHER, SOFT_),
    rule("5.4.7", "delivery time expired", OTHER, SOFT_),
    # IP addresses and version numbers are no status codes.
    rule("", "host mx[192.0.2.5] said: 550 relay 2.11.3 (Postfix 3.7.1)", OTHER, SOFT_),
    rule("5.0.0", "Postfix 2.11.3 said: 550 5.1.1 no such user", A, SUP, code="5.1.1"),
]


@pytest.mark.parametrize(("status", "diagnostic", "delayed", "expected"), RULES)
def test_the_classifier_reads_code_and_text(
    status: str, diagnostic: str, delayed: bool, expected: Classification
) -> None:
    """Each rule of mailer.classify: the category, what it does to the address, the code read."""
    assert classify_failure(status, diagnostic, delayed=delayed) == expected


def test_a_reply_code_given_apart_from_the_text_counts() -> None:
    """The SMTP path passes the reply code: a bare 552 is too large, a bare 450 temporary."""
    assert classify_failure("", "message refused", reply=552).category is BIG
    assert classify_failure("", "user unknown", reply=450).verdict is Verdict.SOFT
    assert classify_failure("", "user unknown", reply=550).verdict is Verdict.SUPPRESS


# --- the real-world sample set ----------------------------------------------------------

SUPPRESS, SOFT, POLICY_ONLY, IGNORED, COMPLAINT = (
    "suppress",
    "soft score",
    "policy, recorded only",
    "ignored",
    "complaint",
)


@dataclass(frozen=True)
class Expected:
    """What a sample is, and what processing it must do."""

    mta: str
    outcome: str
    category: BounceCategory | None = None
    status: str = ""


SAMPLE_SET: dict[str, Expected] = {
    # Postfix writes the remote's reply into an RFC 3464 DSN; Status 5.0.0 when the
    # reply had no enhanced code.
    "postfix_hard_5_1_1.eml": Expected("Postfix", SUPPRESS, A, "5.1.1"),
    "postfix_delayed_4_2_2.eml": Expected("Postfix", SOFT, FULL, "4.2.2"),
    "postfix_greylisted_4_2_0.eml": Expected("Postfix", SOFT, SLOW, "4.2.0"),
    "postfix_storage_5_0_0.eml": Expected("Postfix", SOFT, FULL, "5.0.0"),
    "postfix_spamhaus_5_7_1.eml": Expected("Postfix", POLICY_ONLY, POLICY, "5.7.1"),
    # Exim's DSNs always say Status: 5.0.0; the reason is in the text only.
    "exim_quota_5_0_0.eml": Expected("Exim", SOFT, FULL, "5.0.0"),
    "exim_unrouteable_5_0_0.eml": Expected("Exim", SUPPRESS, A, "5.0.0"),
    "sendmail_user_unknown_5_1_1.eml": Expected("Sendmail", SUPPRESS, A, "5.1.1"),
    "sendmail_too_large_5_3_4.eml": Expected("Sendmail", SOFT, BIG, "5.3.4"),
    # qmail sends no DSN: plain text, the code in "(#5.1.1)".
    "qmail_no_mailbox_5_1_1.eml": Expected("qmail", SUPPRESS, A, "5.1.1"),
    "qmail_over_quota_5_2_2.eml": Expected("qmail", SOFT, FULL, "5.2.2"),
    "qmail_sender_denied_5_7_1.eml": Expected("qmail", POLICY_ONLY, POLICY, "5.7.1"),
    "exchange_recipient_not_found_5_1_10.eml": Expected("Exchange", SUPPRESS, A, "5.1.10"),
    "exchange_mailbox_full_5_2_2.eml": Expected("Exchange", SOFT, FULL, "5.2.2"),
    "postfix_outlook_blocklist_5_7_1.eml": Expected("Outlook.com", POLICY_ONLY, POLICY, "5.7.1"),
    "gmail_over_quota_5_2_2.eml": Expected("Gmail", SOFT, FULL, "5.2.2"),
    "postfix_gmail_unsolicited_5_7_1.eml": Expected("Gmail", POLICY_ONLY, POLICY, "5.7.1"),
    "postfix_gmail_rate_limited_4_2_1.eml": Expected("Gmail", SOFT, SLOW, "4.2.1"),
    # Google's own DSN of a remote reply without an enhanced code.
    "google_too_large_553_5_0_0.eml": Expected("Google (DSN, Status 5.0.0)", SOFT, BIG, "5.0.0"),
    "yahoo_failure_notice_no_account.eml": Expected("Yahoo", SUPPRESS, A, ""),
    "postfix_yahoo_tss04_4_7_0.eml": Expected("Yahoo", POLICY_ONLY, POLICY, "4.7.0"),
    "yahoo_arf_abuse.eml": Expected("Yahoo", COMPLAINT),
    "microsoft_arf_headers_only.eml": Expected("Outlook.com", COMPLAINT),
    "out_of_office.eml": Expected("an auto-reply", IGNORED),
}


def test_every_sample_declares_its_outcome_and_eight_mtas_are_covered() -> None:
    """A new .eml must be added to SAMPLE_SET; the set spans at least 8 MTAs and providers."""
    assert sorted(p.name for p in SAMPLES.glob("*.eml")) == sorted(SAMPLE_SET)
    assert len({e.mta.split(" (")[0] for e in SAMPLE_SET.values()}) >= 8


@dataclass(frozen=True)
class After:
    """What processing a sample left behind."""

    outcome: BounceOutcome
    suppressed: bool
    score: tuple[float, int] | None
    events: list[tuple[str, str, str]]  # bounce events: category, status, via
    consent_sources: list[str]
    mass_email: str
    diagnostics: list[str]


def _process(sessions: sessionmaker[Session], name: str) -> After:
    with session_scope(sessions) as session:
        candidate = Candidate(email=ANA, first_name="Ana")
        session.add(candidate)
        session.flush()
        opt_in_mass_email(session, candidate, source=ConsentSource.CONNECT_FORM)
        candidate_id = candidate.id
        token = make_link_token(KEYS, LinkPurpose.ONE_CLICK, candidate, l="mass_email")
    queue(sessions, ANA, "alert:ana", kind=MessageKind.WELCOME, candidate_id=candidate_id)
    verp = verp_address(MAIL, outbox(sessions)["alert:ana"].id)
    raw = sample(name, verp=verp, token=token)
    with session_scope(sessions) as session:
        outcome = process_report(session, raw, recipients=[verp], settings=MAIL)
    with sessions() as session:
        score = session.scalars(select(BounceScore)).one_or_none()
        events = session.scalars(select(BounceEvent)).all()
        return After(
            outcome=outcome,
            suppressed=is_suppressed(session, ANA),
            score=(score.score, score.bounces) if score is not None else None,
            events=[(e.category.value, e.status, e.via) for e in events],
            consent_sources=[
                e.source.value
                for e in session.scalars(
                    select(ConsentEvent).where(
                        ConsentEvent.source.in_([ConsentSource.BOUNCE, ConsentSource.COMPLAINT])
                    )
                )
            ],
            mass_email=session.get_one(MassEmailStatus, candidate_id).status.value,
            diagnostics=[e.diagnostic for e in events],
        )


@pytest.mark.parametrize("name", sorted(SAMPLE_SET))
def test_each_real_world_bounce_has_its_expected_outcome(
    sessions: sessionmaker[Session], clock: FrozenClock, name: str
) -> None:
    """Suppress only address failures; score full, large and throttled; record policy; ignore."""
    expected = SAMPLE_SET[name]
    after = _process(sessions, name)
    if expected.outcome == SUPPRESS:
        assert after.outcome is BounceOutcome.HARD_BOUNCE_SUPPRESSED
        assert after.suppressed and after.consent_sources == ["bounce"]
    elif expected.outcome == SOFT:
        assert after.outcome is BounceOutcome.SOFT_BOUNCE_SCORED
        assert not after.suppressed and after.score == (0.5, 1)
        assert after.consent_sources == []
    elif expected.outcome == POLICY_ONLY:
        assert after.outcome is BounceOutcome.POLICY_RECORDED
        assert not after.suppressed and after.score is None
        assert after.consent_sources == []
    elif expected.outcome == COMPLAINT:
        assert after.outcome is BounceOutcome.COMPLAINT_APPLIED
        assert after.suppressed and after.mass_email == "opted_out"
    else:
        assert after.outcome.ignored
        assert (after.suppressed, after.score, after.consent_sources) == (False, None, [])
    if expected.category is None:
        assert after.events == []
    else:
        assert after.events == [(expected.category.value, expected.status, "dsn")]
        # Addresses in the server's text are kept as their domain only.
        assert all("ana@" not in d for d in after.diagnostics)
    if expected.outcome != COMPLAINT:
        assert after.mass_email == "opted_in"  # a bounce never touches consent itself


def test_a_policy_bounce_read_twice_is_recorded_once(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """The same DSN again: one bounce event, outcome policy_already_recorded, nothing else."""
    _process(sessions, "postfix_gmail_unsolicited_5_7_1.eml")
    with sessions() as session:
        row_id = session.scalars(select(BounceEvent.outbox_id)).one()
    verp = verp_address(MAIL, row_id)
    with session_scope(sessions) as session:
        again = process_report(
            session,
            sample("postfix_gmail_unsolicited_5_7_1.eml", verp=verp),
            recipients=[verp],
            settings=MAIL,
        )
    assert again is BounceOutcome.POLICY_ALREADY_RECORDED
    with sessions() as session:
        assert len(session.scalars(select(BounceEvent)).all()) == 1
        assert session.scalars(select(Suppression)).all() == []


def test_the_returned_message_is_never_read_as_the_reason() -> None:
    """Words of our own email quoted after the bounce ("privacy policy") classify nothing."""
    raw = sample("qmail_no_mailbox_5_1_1.eml")
    assert b"privacy policy" in raw
    report = parse_report(raw, MAIL)
    assert report.category is A
    # Without the quoted message's words, a qmail bounce with no reason is no policy matter.
    stripped = raw.replace(b"Sorry, no mailbox here by that name. (#5.1.1)", b"Failed.")
    assert parse_report(stripped, MAIL).category is OTHER
