"""The connect flow's one write: Submit Profile, and confirming it by email.

The outcome a visitor sees never depends on whether the address was already
known, so the form cannot be used to find out who is in the talent community.

Consent is only what the person did. Whoever fills in the form may be someone
else, so a sign-up with a member's address that nobody verified changes nothing
in her record. It can only email her a list of changes (interests to add, mass
email on) inside a signed confirmation link, and confirming applies exactly that
list, re-checked against her record at that moment. When nothing would change,
no email is sent. What she turned off herself (an interest she unsubscribed
from, mass email she opted out of) is never offered back by someone else's form,
nor turned on by any confirmation link: she turns it on again from her
preference page or dashboard, where she is known by her own link or sign-in.
A sign-up whose address a social provider verified is hers, and applies at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.links import signed_link
from mailer.models import MessageKind
from mailer.outbox import MailCap, enqueue, enqueue_capped
from portal.i18n import current_locale
from portal.resumes import StoredResume, delete_resume
from portal.web.consent_texts import JOB_ALERTS_TEXT, consent_text
from portal.web.links import preferences_link
from preferences.clock import now
from preferences.interest_texts import interest_texts
from preferences.interests import active_interests
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentSource,
    Interest,
    MassEmailStatus,
    Resume,
    ResumeSource,
    Subscription,
    SubscriptionStatus,
)
from preferences.retention import touch_activity
from preferences.subscriptions import (
    add_candidate,
    confirm_subscription,
    find_active_candidate,
    find_candidate,
    mark_address_verified,
    opt_in_mass_email,
    subscribe,
)
from preferences.tokens import LinkPurpose
from preferences.wordings import JOB_ALERTS, MASS_EMAIL

log = logging.getLogger("portal.connect")

# The default consent wordings shown on the review page, in English
# (`portal.web.consent_texts` has them; CONSENT_TEXTS may reword them). The page shows
# them in the reader's language (`alerts_wording`, `mass_email_wording`), and each grant
# records the version of exactly the words shown (`Submission.alerts_version`, ...).
MASS_EMAIL_WORDING = (
    "Yes, send me occasional emails about {company}, events and career opportunities. "
    "I can unsubscribe at any time."
)
ALERTS_WORDING = JOB_ALERTS_TEXT


def alerts_wording() -> str:
    """The job-alert consent text in the request's language."""
    return consent_text(JOB_ALERTS).text


def mass_email_wording(company: str | None = None) -> str:
    """The mass-email consent text (for `company`, else COMPANY_NAME) in the request's language."""
    return consent_text(MASS_EMAIL, company=company).text


# Resend throttling: at most one confirmation email per address and list per window.
RESEND_WINDOW_SECONDS = 600
# More than any form offers; keeps a confirmation token small.
MAX_LISTED_INTERESTS = 50
# Recorded in the consent events a confirmation link causes.
VIA_CONFIRMATION = {"via": "confirmation_link"}
# The source of the candidate events of a sign-up whose address a social provider verified.
SOCIAL_SIGN_IN = "social_sign_in"


@dataclass
class Submission:
    """A validated Submit Profile."""

    email: str
    profile: dict[str, str | None]
    interest_ids: list[int]
    mass_email: bool
    email_verified: bool = False
    resume: StoredResume | None = None
    resume_source: str = "upload"
    parsed_fields: dict[str, Any] = field(default_factory=dict)
    ip_address: str | None = None
    company_name: str = ""
    # Interests the review step suggested from the resume (shown unticked).
    suggested_ids: list[int] = field(default_factory=list)
    # The consent wordings as the review page showed them (its language); recorded as is.
    alerts_wording: str = ALERTS_WORDING
    mass_email_wording: str = ""
    # Their versions (`preferences.wordings`), and the privacy notice link's when the page
    # showed one; None: the default wording in the candidate's language.
    alerts_version: str | None = None
    mass_email_version: str | None = None
    privacy_notice_version: str | None = None

    def mass_email_text(self) -> str:
        """The mass-email wording the person saw (English for a caller that gave none)."""
        return self.mass_email_wording or MASS_EMAIL_WORDING.format(company=self.company_name)

    @property
    def ticked_boxes(self) -> list[str]:
        """The boxes the person ticked on the review form, as recorded in consent events."""
        boxes = [f"interest:{i}" for i in self.interest_ids] + ["alerts"]
        return sorted(boxes + (["mass_email"] if self.mass_email else []))

    def form_detail(self, interest_id: int | None = None) -> dict[str, Any]:
        """Consent-event detail: what was ticked, and whether this interest was a suggestion."""
        detail: dict[str, Any] = {"ticked": self.ticked_boxes}
        if self.privacy_notice_version is not None:
            detail["privacy_notice"] = self.privacy_notice_version
        if interest_id is not None:
            detail["suggested"] = interest_id in self.suggested_ids
        return detail


@dataclass(frozen=True)
class Outcome:
    """What the thank-you page may say: the same for new and known addresses."""

    needs_confirmation: bool
    interest_ids: list[int]


@dataclass(frozen=True)
class LinkContext:
    """What building links into emails (and queueing them) needs."""

    secret_keys: Sequence[str]
    base_url: str
    upload_dir: Path
    # ADDRESS_MAIL_LIMIT: confirmations count against it with sign-in links.
    mail_caps: Sequence[MailCap] = ()


@dataclass(frozen=True)
class Changes:
    """What a confirmation link may turn on: exactly these interests, and mass email or not."""

    interest_ids: tuple[int, ...] = ()
    mass_email: bool = False

    def __bool__(self) -> bool:
        return bool(self.interest_ids) or self.mass_email

    def link_extra(self) -> dict[str, Any]:
        """The list as it rides in the signed link."""
        return {"i": list(self.interest_ids), **({"m": True} if self.mass_email else {})}

    def digest(self) -> str:
        """A short fingerprint of the list, so each distinct list queues its own email."""
        raw = json.dumps(self.link_extra(), sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:12]

    def within(self, shown: Changes) -> Changes:
        """Only what is also in `shown` (the list the confirm page showed)."""
        return Changes(
            tuple(i for i in self.interest_ids if i in shown.interest_ids),
            self.mass_email and shown.mass_email,
        )

    @classmethod
    def of(cls, interest_ids: Sequence[object], mass_email: object) -> Changes:
        """From untrusted values (a link, a form): positive ids only; mass email iff True."""
        ids = {i for i in interest_ids if isinstance(i, int) and not isinstance(i, bool) and i > 0}
        return cls(tuple(sorted(ids)[:MAX_LISTED_INTERESTS]), mass_email is True)


@dataclass(frozen=True)
class PendingConfirmation:
    """A confirmation link's list as it stands now: what confirming would turn on."""

    interests: list[Interest]
    mass_email: bool
    # The address itself is not confirmed yet; confirming does that too.
    confirms_address: bool

    def __bool__(self) -> bool:
        return bool(self.interests) or self.mass_email

    def changes(self) -> Changes:
        return Changes(tuple(sorted(i.id for i in self.interests)), self.mass_email)


def _confirm_url(links: LinkContext, candidate: Candidate, changes: Changes) -> dict[str, Any]:
    # The outbox row keeps how to sign the link, not the link (mailer.links).
    return signed_link(
        LinkPurpose.CONFIRM_EMAIL, "/connect/confirm/", candidate, **changes.link_extra()
    )


def _statuses(session: Session, candidate: Candidate) -> dict[int, SubscriptionStatus]:
    return {
        row.interest_id: row.status
        for row in session.execute(
            select(Subscription.interest_id, Subscription.status).where(
                Subscription.candidate_id == candidate.id
            )
        )
    }


def _never_chose_mass_email(session: Session, candidate: Candidate) -> bool:
    """No mass-email record at all: neither an opt-in nor an opt-out of hers to respect."""
    return (
        session.scalar(
            select(MassEmailStatus.candidate_id).where(MassEmailStatus.candidate_id == candidate.id)
        )
        is None
    )


def _offerable(
    session: Session, candidate: Candidate, interest_ids: Sequence[int], mass_email: bool
) -> PendingConfirmation:
    """What of this list would be new for the candidate and is hers to say yes to.

    An interest she is subscribed to changes nothing; one she unsubscribed from,
    and mass email she has any record for, are her own choices and stay as they are.
    """
    statuses = _statuses(session, candidate)
    interests = [
        interest
        for interest in active_interests(session, list(interest_ids))
        if statuses.get(interest.id) in (None, SubscriptionStatus.UNCONFIRMED)
    ]
    return PendingConfirmation(
        interests=interests,
        mass_email=mass_email and _never_chose_mass_email(session, candidate),
        confirms_address=candidate.email_verified_at is None,
    )


def link_changes(session: Session, candidate: Candidate, extra: Mapping[str, Any]) -> Changes:
    """The list a verified confirmation link carries.

    Links sent before lists were signed into them carry none; theirs is the
    candidate's unconfirmed subscriptions (what such a link confirmed), plus mass
    email if it named it.
    """
    listed = extra.get("i")
    if isinstance(listed, list):
        return Changes.of(listed, extra.get("m"))
    unconfirmed = [
        interest_id
        for interest_id, status in _statuses(session, candidate).items()
        if status is SubscriptionStatus.UNCONFIRMED
    ]
    return Changes.of(unconfirmed, extra.get("m"))


def pending_confirmation(
    session: Session, candidate: Candidate, changes: Changes
) -> PendingConfirmation:
    """What confirming `changes` would turn on now (the confirm page lists exactly this)."""
    return _offerable(session, candidate, changes.interest_ids, changes.mass_email)


# Form field name -> Candidate attribute, for the profile fields a candidate row keeps.
_CANDIDATE_ATTRIBUTES = {
    "first_name": "first_name",
    "last_name": "last_name",
    "phone": "phone_e164",
    "location": "location",
    "linkedin_url": "linkedin_url",
    "github_url": "github_url",
    "portfolio_url": "portfolio_url",
}


def _candidate_fields(profile: dict[str, str | None]) -> dict[str, str]:
    return {
        attribute: value
        for key, attribute in _CANDIDATE_ATTRIBUTES.items()
        if (value := profile.get(key))
    }


def _window() -> int:
    return int(now().timestamp()) // RESEND_WINDOW_SECONDS


def _attach_resume(session: Session, candidate: Candidate, sub: Submission) -> None:
    if sub.resume is None:
        return
    known = {s.value for s in ResumeSource}
    source = ResumeSource(sub.resume_source) if sub.resume_source in known else None
    session.add(
        Resume(
            candidate_id=candidate.id,
            storage_name=sub.resume.storage_name,
            original_filename=sub.resume.original_filename,
            content_type=sub.resume.content_type,
            size_bytes=sub.resume.size_bytes,
            sha256=sub.resume.sha256,
            parsed_fields=sub.parsed_fields,
            source=source or ResumeSource.UPLOAD,
        )
    )


def submit_profile(
    session: Session, sub: Submission, links: LinkContext, *, double_opt_in: bool
) -> Outcome:
    """Create the candidate, or offer a known one the changes; queue the email.

    The `Outcome` is the same for a new address, a known one with changes to
    confirm and a known one with nothing to change.
    """
    interests = active_interests(session, sub.interest_ids)
    if not interests:
        raise ValueError("at least one active interest is required")
    chosen_ids = [i.id for i in interests]
    confirmed_now = sub.email_verified or not double_opt_in
    outcome = Outcome(needs_confirmation=not confirmed_now, interest_ids=chosen_ids)

    candidate = find_candidate(session, sub.email)
    if candidate is not None and candidate.status is CandidateStatus.DELETED:
        # An erased record keeps its row only as a tombstone; nothing is mailed or changed.
        if sub.resume is not None:
            delete_resume(links.upload_dir, sub.resume.storage_name)
        log.info("connect from an erased address ignored")
        return outcome
    if candidate is None:
        _create_candidate(session, sub, interests, links, confirmed_now=confirmed_now)
    elif sub.email_verified:
        _update_verified_member(session, candidate, sub, interests, links)
    else:
        if sub.resume is not None:
            # Never attach a file to someone's profile on an unverified claim to their address.
            delete_resume(links.upload_dir, sub.resume.storage_name)
        _offer_changes(session, candidate, sub, interests, links)
    return outcome


def _subscribe_as_ticked(
    session: Session, candidate: Candidate, sub: Submission, interest: Interest, *, confirmed: bool
) -> None:
    """Subscribe to one interest the person ticked on the form, recording what they ticked."""
    subscribe(
        session,
        candidate,
        interest,
        confirmed=confirmed,
        wording_version=sub.alerts_version,
        wording=sub.alerts_wording,
        source=ConsentSource.CONNECT_FORM,
        ip_address=sub.ip_address,
        detail=sub.form_detail(interest.id),
    )


def _opt_in_as_ticked(session: Session, candidate: Candidate, sub: Submission) -> bool:
    """Opt in to mass email as ticked on the form; False if already opted in."""
    return opt_in_mass_email(
        session,
        candidate,
        wording_version=sub.mass_email_version,
        wording=sub.mass_email_text(),
        source=ConsentSource.CONNECT_FORM,
        ip_address=sub.ip_address,
        detail=sub.form_detail(),
    )


def _sign_up_source(sub: Submission) -> str:
    """How a new candidate came, as `candidate.created` names it."""
    return SOCIAL_SIGN_IN if sub.email_verified else ConsentSource.CONNECT_FORM.value


def _create_candidate(
    session: Session,
    sub: Submission,
    interests: Sequence[Interest],
    links: LinkContext,
    *,
    confirmed_now: bool,
) -> None:
    # In the language of the pages the person signed up on.
    candidate = Candidate(
        email=sub.email, locale=current_locale(), **_candidate_fields(sub.profile)
    )
    if sub.email_verified:
        candidate.email_verified_at = now()
    add_candidate(session, candidate, source=_sign_up_source(sub))
    for interest in interests:
        _subscribe_as_ticked(session, candidate, sub, interest, confirmed=confirmed_now)
    if sub.mass_email and confirmed_now:
        _opt_in_as_ticked(session, candidate, sub)
    _attach_resume(session, candidate, sub)
    if confirmed_now:
        _queue_welcome(session, candidate)
    else:
        # The list is what was ticked; the subscriptions wait, unconfirmed, for the link.
        changes = Changes.of([i.id for i in interests], sub.mass_email)
        pending = PendingConfirmation(list(interests), sub.mass_email, confirms_address=True)
        queue_confirmation(session, candidate, links, changes, pending, template="confirmation")
    log.info("candidate connected", extra={"candidate": candidate.public_id, "new": True})


def _update_verified_member(
    session: Session,
    candidate: Candidate,
    sub: Submission,
    interests: Sequence[Interest],
    links: LinkContext,
) -> None:
    """A member whose provider verified the address filled in the form: it is her choice.

    What she ticked applies at once, an interest she had turned off included, and
    she gets a notice listing what changed (none when nothing did).
    """
    statuses = _statuses(session, candidate)
    added = []
    for interest in interests:
        if statuses.get(interest.id) is SubscriptionStatus.SUBSCRIBED:
            continue
        _subscribe_as_ticked(session, candidate, sub, interest, confirmed=True)
        added.append(interest)
    mass_on = sub.mass_email and _opt_in_as_ticked(session, candidate, sub)
    mark_address_verified(session, candidate, source=SOCIAL_SIGN_IN)
    # Her provider vouched for the address: she joined again herself. (An unverified
    # sign-up with her address may be anyone's, so `_offer_changes` leaves it alone.)
    touch_activity(session, candidate.id)
    _attach_resume(session, candidate, sub)
    log.info("candidate connected", extra={"candidate": candidate.public_id, "new": False})
    if not (added or mass_on or sub.resume is not None):
        return
    changes = Changes.of([i.id for i in added], mass_on)
    enqueue_capped(
        session,
        links.mail_caps,
        kind=MessageKind.CONFIRMATION,
        template="connect_existing",
        to_address=candidate.email,
        dedupe_key=f"connect_existing:{candidate.id}:{changes.digest()}:{_window()}",
        candidate_id=candidate.id,
        context={
            "confirm_url": "",
            "verified": True,
            "interests": _names_for(session, candidate, added),
            "mass_email": mass_on,
            "resume_added": sub.resume is not None,
        },
    )


def _offer_changes(
    session: Session,
    candidate: Candidate,
    sub: Submission,
    interests: Sequence[Interest],
    links: LinkContext,
) -> None:
    """An unverified sign-up with a member's address: email her what she may confirm.

    Nothing in her record changes here. The email lists only what would be new to
    her and hers to decide; with nothing such, no email at all.
    """
    pending = _offerable(session, candidate, [i.id for i in interests], sub.mass_email)
    if not pending:
        log.info("connect for a known address: nothing to offer")
        return
    queue_confirmation(
        session, candidate, links, pending.changes(), pending, template="connect_existing"
    )
    log.info("candidate connected", extra={"candidate": candidate.public_id, "new": False})


def _names_for(session: Session, candidate: Candidate, interests: Sequence[Interest]) -> list[str]:
    """The interests' names in the candidate's language, as their email is written in it."""
    texts = interest_texts(session, candidate.locale, interest_ids=[i.id for i in interests])
    return [texts.name(interest) for interest in interests]


def _queue_welcome(session: Session, candidate: Candidate) -> None:
    enqueue(
        session,
        kind=MessageKind.WELCOME,
        template="welcome",
        to_address=candidate.email,
        dedupe_key=f"welcome:{candidate.id}",
        candidate_id=candidate.id,
        context={"preferences_url": preferences_link(candidate)},
    )


def queue_confirmation(
    session: Session,
    candidate: Candidate,
    links: LinkContext,
    changes: Changes,
    pending: PendingConfirmation,
    *,
    template: str,
) -> None:
    """Queue a confirmation listing `pending`, whose link carries exactly `changes`.

    Its context holds no text a visitor typed: interest names come from the
    recruiters, and the greeting's name is left out while the address is unconfirmed.
    """
    enqueue_capped(
        session,
        links.mail_caps,
        kind=MessageKind.CONFIRMATION,
        template=template,
        to_address=candidate.email,
        dedupe_key=f"{template}:{candidate.id}:{changes.digest()}:{_window()}",
        candidate_id=candidate.id,
        context={
            "confirm_url": _confirm_url(links, candidate, changes),
            "preferences_url": preferences_link(candidate),
            "interests": _names_for(session, candidate, pending.interests),
            "mass_email": pending.mass_email,
            "verified": False,
        },
    )


def resend_confirmation(session: Session, email: str, links: LinkContext) -> None:
    """Send a fresh confirmation link if the address has subscriptions to confirm.

    Says nothing either way; the caller shows the same page whatever happened.
    A mass-email opt-in that was waiting only in the first link is not repeated.
    """
    candidate = find_active_candidate(session, email)
    if candidate is None:
        return
    changes = link_changes(session, candidate, {})
    pending = pending_confirmation(session, candidate, changes)
    if not pending:
        return
    queue_confirmation(session, candidate, links, changes, pending, template="confirmation")


def confirm_email(
    session: Session,
    candidate: Candidate,
    changes: Changes,
    *,
    ip_address: str | None,
    company_name: str = "",
    alerts_text: str = ALERTS_WORDING,
    mass_email_text: str = "",
    alerts_version: str | None = None,
    mass_email_version: str | None = None,
) -> PendingConfirmation:
    """Confirm the address and turn on exactly `changes`, as far as they are still pending.

    Returns what was turned on. The consent events quote the wording the confirm
    page showed (`alerts_text`, `mass_email_text`: in its language; English by default)
    and name its versions; a choice the candidate made since the link was sent wins.
    """
    pending = pending_confirmation(session, candidate, changes)
    first_time = candidate.email_verified_at is None
    statuses = _statuses(session, candidate)
    source = ConsentSource.CONNECT_FORM
    for interest in pending.interests:
        if statuses.get(interest.id) is SubscriptionStatus.UNCONFIRMED:
            confirm_subscription(
                session,
                candidate,
                interest,
                source=source,
                ip_address=ip_address,
                wording_version=alerts_version,
            )
        else:
            subscribe(
                session,
                candidate,
                interest,
                confirmed=True,
                wording=alerts_text,
                wording_version=alerts_version,
                source=source,
                ip_address=ip_address,
                detail=dict(VIA_CONFIRMATION),
            )
    if pending.mass_email:
        opt_in_mass_email(
            session,
            candidate,
            source=source,
            wording=mass_email_text or MASS_EMAIL_WORDING.format(company=company_name),
            wording_version=mass_email_version,
            ip_address=ip_address,
            detail=dict(VIA_CONFIRMATION),
        )
    if first_time:
        # Confirming an unconfirmed subscription above may have verified it already.
        mark_address_verified(session, candidate, source=source.value)
        _queue_welcome(session, candidate)
    session.flush()
    # Only the confirm page's button (a POST) gets here; a scanner's GET of the link does not.
    touch_activity(session, candidate.id)
    return pending
