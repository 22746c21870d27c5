"""Candidate accounts: passwords, single-use login links, social sign-in and deletion.

Answers never depend on whether an address is known. Sessions live on the
server (`preferences.sessions`; the browser side is `portal.web.sessions`):
signing out ends this one, a password change every other one. A session also
remembers the candidate's `token_version`, so "sign me out everywhere" (which
bumps it) ends every session and revokes every emailed link at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from mailer.i18n import LOCALE_KEY
from mailer.links import signed_link
from mailer.models import MessageKind
from mailer.outbox import enqueue, enqueue_capped
from portal.auth.passwords import hash_password, verify_password
from portal.config import Settings
from portal.errors import PortalError
from portal.i18n import gettext as _
from preferences.clock import now
from preferences.errors import InvalidEmail
from preferences.models import Candidate, LoginSession
from preferences.privacy import erase_candidate
from preferences.retention import touch_activity
from preferences.sessions import end_sessions, used_link_recently
from preferences.subscriptions import find_active_candidate, mark_address_verified
from preferences.suppressions import is_suppressed
from preferences.tokens import (
    InvalidLink,
    LinkData,
    LinkPurpose,
    candidate_for_link,
)

MIN_PASSWORD_LENGTH = 10


class PasswordRefused(PortalError, ValueError):
    """A password change that is not allowed; the message says what to do."""


def check_password(db: Session, email: str, password: str) -> Candidate | None:
    """Return the active candidate whose address and password match, else None."""
    candidate = find_active_candidate(db, email)
    ok = verify_password(candidate.password_hash if candidate else None, password)
    return candidate if ok else None


def set_password(candidate: Candidate, password: str) -> None:
    """Hash and store a new password (scrypt, via Werkzeug)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"use at least {MIN_PASSWORD_LENGTH} characters")
    candidate.password_hash = hash_password(password)


def may_skip_current_password(login: LoginSession) -> bool:
    """A session an emailed sign-in link started in the last 10 minutes needs no current one."""
    return used_link_recently(login)


def change_password(
    db: Session, candidate: Candidate, login: LoginSession, *, current: str, new: str
) -> None:
    """Set a new password and end every other session of the candidate.

    The current password is asked for, unless an emailed sign-in link started this
    session within the last 10 minutes (then reading the mailbox proved who it is;
    that is also how a candidate without a password sets one). Raises
    `PasswordRefused` (nothing changed) when neither holds, and `ValueError` for a
    new password that is too short.
    """
    if not may_skip_current_password(login):
        if candidate.password_hash is None:
            raise PasswordRefused(
                _(
                    "To set a password, sign in with a link we email you, then set it "
                    "within 10 minutes."
                )
            )
        if not current:
            raise PasswordRefused(_("Enter your current password."))
        if not verify_password(candidate.password_hash, current):
            raise PasswordRefused(_("That isn't your current password. Nothing was changed."))
    set_password(candidate, new)
    end_sessions(db, candidate_id=candidate.id, keep=login)
    db.flush()
    touch_activity(db, candidate.id)


def _stamp(candidate: Candidate) -> str:
    return candidate.updated_at.isoformat() if candidate.updated_at else ""


def send_login_link(db: Session, email: str, settings: Settings) -> None:
    """Email a 15-minute, single-use sign-in link if the address belongs to a member.

    Within `ADDRESS_MAIL_LIMIT` per address only; the caller answers the same either way.
    """
    candidate = find_active_candidate(db, email)
    if candidate is None:
        return
    enqueue_capped(
        db,
        settings.address_mail_caps,
        kind=MessageKind.LOGIN_LINK,
        template="login_link",
        to_address=candidate.email,
        # One link per address per minute at most; a burst of requests sends one email.
        dedupe_key=f"login:{candidate.id}:{int(now().timestamp()) // 60}",
        candidate_id=candidate.id,
        # The row keeps how to sign the link, not the link: the worker signs it at send time.
        context={
            "login_url": signed_link(
                LinkPurpose.LOGIN, "/login/link/", candidate, u=_stamp(candidate)
            )
        },
    )


def use_login_link(db: Session, link: LinkData) -> Candidate:
    """Check a verified login token is still unused, and use it up."""
    candidate = candidate_for_link(db, link)
    if link.extra.get("u") != _stamp(candidate):
        raise InvalidLink("this sign-in link was already used")
    # Any write moves updated_at on, which retires every outstanding login link.
    candidate.updated_at = now()
    # Only the address's owner could follow the link.
    mark_address_verified(db, candidate, source="login_link")
    db.flush()
    return candidate


def finish_social_login(db: Session, claims: dict[str, Any]) -> Candidate | None:
    """The member whose provider-verified address this is, if any."""
    email = str(claims.get("email") or "")
    if not email or claims.get("email_verified") is not True:
        return None
    return find_active_candidate(db, email)


def candidate_for_link_check(db: Session, link: LinkData) -> Candidate:
    """Like `use_login_link` but without using the link up (for the GET page)."""
    candidate = candidate_for_link(db, link)
    if link.extra.get("u") != _stamp(candidate):
        raise InvalidLink("this sign-in link was already used")
    return candidate


def delete_account(session: Session, candidate: Candidate, *, upload_dir: Path) -> None:
    """Erase the candidate and queue the one email that confirms it, in the same transaction.

    The farewell is queued after `erase_candidate`, which deletes pending mail, and goes
    to the address captured before erasure replaced it. It carries no candidate and no
    context but the candidate's language (the farewell is written in it), so the row
    holds nothing personal but the address, which the worker replaces once it is sent.
    The send-time check lets it past the erasure suppression only; an address already
    suppressed for another reason (a hard bounce, a complaint) gets no farewell, and
    then no row keeps that address either.
    """
    address = candidate.email
    locale = candidate.locale
    try:
        farewell = not is_suppressed(session, address)
    except InvalidEmail:
        farewell = False
    erase_candidate(session, candidate, upload_dir=upload_dir)
    if farewell:
        enqueue(
            session,
            kind=MessageKind.ACCOUNT_DELETED,
            template="account_deleted",
            to_address=address,
            dedupe_key=f"account-deleted:{candidate.public_id}",
            context={LOCALE_KEY: locale},
        )
