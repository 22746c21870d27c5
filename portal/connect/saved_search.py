""" "Email me jobs like this": saving a `/jobs` search as an alert, and confirming it by email.

A signed-in member saves at once: she is known and her address is verified. A visitor
gives an address, and the rules of the connect flow (`portal.connect.submit`) hold:

- The answer never depends on whether the address is known, so the form cannot be
  used to find out who is in the talent community.
- A new address becomes a candidate (unverified) with the search saved unconfirmed;
  nothing is sent to it until the emailed link is confirmed.
- A known address changes nothing in her record: whoever typed it may be someone
  else, and her ten places must not fill up with searches she never asked for. The
  search rides in the signed link instead, and confirming saves it.
- An erased or suppressed address gets nothing, and nothing is written.
- Confirming turns on exactly the search the link names and the page showed; a
  search she stopped herself is never turned back on by a link.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobs.digests import isolate
from jobs.search_criteria import SearchCriteria, describe, read_criteria
from mailer.i18n import message_locale, translations
from mailer.links import signed_link
from mailer.models import MessageKind
from mailer.outbox import enqueue_capped
from portal.connect.submit import LinkContext
from portal.errors import PortalError
from portal.i18n import current_locale
from portal.i18n import gettext as _
from portal.web.consent_texts import SAVED_SEARCH_TEXT, ConsentText, consent_text
from portal.web.runtime import settings
from portal.web.saved_search_fields import active_interest, search_fields
from preferences.clock import now
from preferences.interest_texts import interest_texts
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentSource,
    Frequency,
    SavedSearch,
    SubscriptionStatus,
    SuppressionReason,
)
from preferences.retention import touch_activity
from preferences.saved_searches import (
    SearchFields,
    confirm_saved_search,
    save_search,
    saved_search_by_key,
)
from preferences.subscriptions import add_candidate, find_candidate
from preferences.suppressions import suppression_reason
from preferences.tokens import LinkPurpose
from preferences.wordings import SAVED_SEARCH

log = logging.getLogger("portal.connect")

# The default consent wording beside the button and the tick box, in English
# (`portal.web.consent_texts`; CONSENT_TEXTS may reword it). Pages show it in the reader's
# language (`saved_search_wording`), and each grant names the version of the words shown.
SAVED_SEARCH_WORDING = SAVED_SEARCH_TEXT


def saved_search_wording() -> str:
    """The saved-search consent text in the request's language."""
    return consent_text(SAVED_SEARCH).text


@dataclass(frozen=True)
class Shown:
    """The consent texts a save form or confirm page showed: what its events record.

    `wording` beside the box; `privacy_notice` the version of the privacy link shown
    with it (a visitor's form), if any.
    """

    wording: ConsentText
    privacy_notice: str | None = None

    def consent(self) -> dict[str, Any]:
        """The keyword arguments of `save_search` that record these texts."""
        return {
            "wording": self.wording.text,
            "wording_version": self.wording.version(),
            "detail": {"privacy_notice": self.privacy_notice} if self.privacy_notice else None,
        }


# The path the confirmation link opens (the token follows it).
CONFIRM_PATH = "/jobs/save/confirm/"
# At most one confirmation email per address and search in this many seconds.
RESEND_WINDOW_SECONDS = 600
# Consent events from a visitor's form and its link: the connect flow's source, since it
# is the same public sign-up with double opt-in. A signed-in member's click is hers,
# as on her dashboard.
VISITOR_SOURCE = ConsentSource.CONNECT_FORM
MEMBER_SOURCE = ConsentSource.DASHBOARD


class SaveRefused(PortalError, ValueError):
    """A search that cannot be saved as asked; `message` says why, for the page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SearchToSave:
    """A search as it is to be saved: the alert's criteria, their stored form, how often."""

    criteria: SearchCriteria
    fields: SearchFields
    frequency: Frequency

    def link_claims(self) -> dict[str, Any]:
        """The search as it rides in a signed confirmation link."""
        return {"s": self.criteria.query_args(), "f": self.frequency.value}


def search_to_save(
    session: Session, args: Mapping[str, str], frequency: str | None
) -> SearchToSave:
    """Read a search to save from form fields (or a link's claims); `SaveRefused` if it can't be.

    The form carries the search as the results page had read it, so a value the reader
    would drop or shorten means the request was not made by our page: refused, never
    saved as something other than what was shown.
    """
    criteria, notes = read_criteria(args)
    if notes:
        raise SaveRefused(
            _("This search can't be saved as it is. Go back to the jobs and search again.")
        )
    alert = criteria.for_alert()
    if not alert.can_alert():
        raise SaveRefused(
            _(
                "There is nothing to alert you about in this search: add keywords, a place or "
                "a filter first."
            )
        )
    chosen = (frequency or Frequency.DAILY.value).strip()
    if chosen not in {f.value for f in Frequency}:
        raise SaveRefused(_("Choose how often to get these emails: instant, daily or weekly."))
    try:
        fields = search_fields(session, alert)
    except ValueError:
        raise SaveRefused(
            _("This search names an area we no longer have, so it can't be saved.")
        ) from None
    return SearchToSave(alert, fields, Frequency(chosen))


def kept_search(session: Session, candidate: Candidate, key: str) -> SavedSearch | None:
    """The candidate's kept (not stopped) saved search with this criteria key, if any."""
    search = saved_search_by_key(session, candidate, key)
    if search is None or search.status is SubscriptionStatus.UNSUBSCRIBED:
        return None
    return search


class MemberOutcome(enum.StrEnum):
    """What a member's click did."""

    SAVED = "saved"
    CHANGED = "changed"
    ALREADY = "already"


def save_for_member(
    session: Session,
    candidate: Candidate,
    search: SearchToSave,
    *,
    limit: int,
    ip_address: str | None,
    shown: Shown,
) -> tuple[SavedSearch, MemberOutcome]:
    """Save the search for a signed-in member at once (her address is verified).

    Saving a kept search again changes nothing (or only its frequency); past `limit`
    raises `preferences.errors.TooManySavedSearches` with nothing written.
    """
    before = kept_search(session, candidate, search.fields.key)
    before_status = before.status if before is not None else None
    try:
        with session.begin_nested():
            saved, changed = save_search(
                session,
                candidate,
                search.fields,
                source=MEMBER_SOURCE,
                frequency=search.frequency,
                confirmed=True,
                limit=limit,
                ip_address=ip_address,
                **shown.consent(),
            )
    except IntegrityError:
        # A double click: the twin request saved it first, so this one finds it saved.
        twin = kept_search(session, candidate, search.fields.key)
        if twin is None:
            raise
        return twin, MemberOutcome.ALREADY
    # She saved it herself, signed in: activity, whether or not anything changed.
    touch_activity(session, candidate.id)
    if not changed:
        return saved, MemberOutcome.ALREADY
    # One waiting for its confirmation link is, to her, saved only now.
    pending = before is not None and before_status is SubscriptionStatus.UNCONFIRMED
    if before is None or pending:
        return saved, MemberOutcome.SAVED
    return saved, MemberOutcome.CHANGED


def save_for_visitor(
    session: Session,
    email: str,
    search: SearchToSave,
    links: LinkContext,
    *,
    limit: int,
    ip_address: str | None,
    shown: Shown,
) -> None:
    """A visitor's request: email a confirmation link to `email`, saying nothing either way.

    The caller shows the same page whatever happened here.
    """
    blocked = suppression_reason(session, email)
    # A retention expiry never stops the person joining again themselves.
    if blocked is not None and blocked is not SuppressionReason.RETENTION_EXPIRED:
        log.info("saved search for a suppressed address ignored")
        return
    candidate = find_candidate(session, email)
    if candidate is not None and candidate.status is CandidateStatus.DELETED:
        log.info("saved search for an erased address ignored")
        return
    created = False
    if candidate is None:
        candidate, created = _new_candidate(session, email)
    if created:
        # The search waits, unconfirmed, for the link; nothing is sent to it before.
        save_search(
            session,
            candidate,
            search.fields,
            source=VISITOR_SOURCE,
            frequency=search.frequency,
            confirmed=False,
            limit=limit,
            ip_address=ip_address,
            **shown.consent(),
        )
    _queue_confirmation(session, candidate, search, links)
    log.info("saved search asked for", extra={"candidate": candidate.public_id})


def _new_candidate(session: Session, email: str) -> tuple[Candidate, bool]:
    """A candidate for a new address, and whether this request made it.

    A twin request that made it first wins the race; this one then treats the address
    as known (the search rides in the link) rather than failing.
    """
    try:
        # The `candidate.created` event goes in the savepoint too: a lost race takes it back.
        with session.begin_nested():
            candidate = add_candidate(
                session, Candidate(email=email, locale=current_locale()), source="saved_search"
            )
    except IntegrityError:
        found = find_candidate(session, email)
        if found is None:
            raise
        return found, False
    return candidate, True


def _queue_confirmation(
    session: Session, candidate: Candidate, search: SearchToSave, links: LinkContext
) -> None:
    """Queue the confirmation email: the search in words and a link carrying exactly it.

    Its context holds the search as our reader wrote it back, never the raw form, and
    in words in the language the email is written in (the candidate's: a new visitor's
    is the page's), not the English words stored with the search.
    """
    locale = message_locale(candidate.locale, {}, settings().supported_locales)
    interest = (
        active_interest(session, search.criteria.interest) if search.criteria.interest else None
    )
    name = None
    if interest is not None:
        name = interest_texts(session, locale, interest_ids=[interest.id]).name(interest)
    # Isolated in right-to-left text, as a digest's words for a search are.
    description = isolate(
        describe(
            search.criteria,
            name,
            gettext=translations(locale).gettext,
        ),
        locale,
    )
    window = int(now().timestamp()) // RESEND_WINDOW_SECONDS
    enqueue_capped(
        session,
        links.mail_caps,
        kind=MessageKind.CONFIRMATION,
        template="saved_search_confirm",
        to_address=candidate.email,
        dedupe_key=f"saved_search_confirm:{candidate.id}:{search.fields.key[:16]}:{window}",
        candidate_id=candidate.id,
        context={
            "confirm_url": signed_link(
                LinkPurpose.CONFIRM_SEARCH, CONFIRM_PATH, candidate, **search.link_claims()
            ),
            "search_description": description,
            "search_frequency": search.frequency.value,
        },
    )


def search_from_link(session: Session, claims: Mapping[str, Any]) -> SearchToSave:
    """The search a verified confirmation link carries; `SaveRefused` if it is no longer one."""
    args = claims.get("s")
    frequency = claims.get("f")
    if not isinstance(args, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in args.items()
    ):
        raise SaveRefused(_("This link doesn't name a search."))
    return search_to_save(session, args, frequency if isinstance(frequency, str) else None)


class LinkState(enum.StrEnum):
    """Where a confirmation link's search stands for its candidate now."""

    # Not saved yet (the address was known): confirming saves it.
    NEW = "new"
    # Saved, waiting for this confirmation.
    PENDING = "pending"
    # Saved and confirmed already: nothing left to do.
    SAVED = "saved"
    # Stopped by the candidate since: a link never turns it back on.
    STOPPED = "stopped"


def link_state(session: Session, candidate: Candidate, search: SearchToSave) -> LinkState:
    """What confirming this link would do now."""
    kept = saved_search_by_key(session, candidate, search.fields.key)
    if kept is None:
        return LinkState.NEW
    if kept.status is SubscriptionStatus.UNSUBSCRIBED:
        return LinkState.STOPPED
    if kept.status is SubscriptionStatus.UNCONFIRMED:
        return LinkState.PENDING
    return LinkState.SAVED


def confirm_from_link(
    session: Session,
    candidate: Candidate,
    search: SearchToSave,
    *,
    limit: int,
    ip_address: str | None,
    shown: Shown,
) -> tuple[SavedSearch | None, LinkState]:
    """Confirm the link's search (saving it first if the address was known); verify the address.

    Returns the search and where it stood before. A saved one changes nothing; one
    stopped since is not turned back on (None). Past `limit` raises
    `preferences.errors.TooManySavedSearches` with nothing written.
    """
    state = link_state(session, candidate, search)
    # Only the confirm page's button (a POST) gets here: the person acted, even on a
    # link whose search is saved already or was stopped since.
    touch_activity(session, candidate.id)
    if state is LinkState.STOPPED:
        return None, state
    kept = saved_search_by_key(session, candidate, search.fields.key)
    if state is LinkState.SAVED:
        return kept, state
    if kept is None:
        kept, _changed = save_search(
            session,
            candidate,
            search.fields,
            source=VISITOR_SOURCE,
            frequency=search.frequency,
            confirmed=False,
            limit=limit,
            ip_address=ip_address,
            **shown.consent(),
        )
    confirmed = confirm_saved_search(
        session,
        candidate,
        kept.id,
        source=VISITOR_SOURCE,
        ip_address=ip_address,
        wording_version=shown.wording.version(),
    )
    return confirmed, state
