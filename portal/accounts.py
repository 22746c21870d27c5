"""Candidate sign-in: sessions, passwords and single-use login links.

Answers never depend on whether an address is known. A session remembers the
candidate's `token_version`, so "sign me out everywhere" (which bumps it) ends
every session and revokes every emailed link at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import session
from sqlalchemy.orm import Session

from mailer.models import MessageKind
from mailer.outbox import enqueue, enqueue_capped
from portal.config import Settings
from portal.passwords import hash_password, verify_password
from preferences.clock import now
from preferences.errors import InvalidEmail
from preferences.models import Candidate, CandidateStatus
from preferences.privacy import erase_candidate
from preferences.subscriptions import find_active_candidate
from preferences.suppressions import is_suppressed
from preferences.tokens import (
    InvalidLink,
    LinkData,
    LinkPurpose,
    candidate_for_link,
    make_link_token,
)

SESSION_KEY = "candidate"
MIN_PASSWORD_LENGTH = 10


def log_in(candidate: Candidate) -> None:
    """Start a fresh session for `candidate` (a new session id against fixation)."""
    session.clear()
    session[SESSION_KEY] = {"id": candidate.id, "tv": candidate.token_version}
    session.permanent = True


def log_out() -> None:
    session.pop(SESSION_KEY, None)


def current_candidate(db: Session) -> Candidate | None:
    """The signed-in candidate, if the session is still valid."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        return None
    candidate = db.get(Candidate, data["id"])
    if (
        candidate is None
        or candidate.status is not CandidateStatus.ACTIVE
        or candidate.token_version != data.get("tv")
    ):
        session.pop(SESSION_KEY, None)
        return None
    return candidate


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


def _stamp(candidate: Candidate) -> str:
    return candidate.updated_at.isoformat() if candidate.updated_at else ""


def send_login_link(db: Session, email: str, settings: Settings) -> None:
    """Email a 15-minute, single-use sign-in link if the address belongs to a member.

    Within `ADDRESS_MAIL_LIMIT` per address only; the caller answers the same either way.
    """
    candidate = find_active_candidate(db, email)
    if candidate is None:
        return
    token = make_link_token(settings.secret_keys, LinkPurpose.LOGIN, candidate, u=_stamp(candidate))
    enqueue_capped(
        db,
        settings.address_mail_caps,
        kind=MessageKind.LOGIN_LINK,
        template="login_link",
        to_address=candidate.email,
        # One link per address per minute at most; a burst of requests sends one email.
        dedupe_key=f"login:{candidate.id}:{int(now().timestamp()) // 60}",
        candidate_id=candidate.id,
        context={"login_url": f"{settings.base_url}/login/link/{token}"},
    )


def use_login_link(db: Session, link: LinkData) -> Candidate:
    """Check a verified login token is still unused, and use it up."""
    candidate = candidate_for_link(db, link)
    if link.extra.get("u") != _stamp(candidate):
        raise InvalidLink("this sign-in link was already used")
    # Any write moves updated_at on, which retires every outstanding login link.
    candidate.updated_at = now()
    if candidate.email_verified_at is None:
        candidate.email_verified_at = now()
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
    context, so the row holds nothing personal but the address, which the worker
    replaces once it is sent. The send-time check lets it past the erasure suppression
    only; an address already suppressed for another reason (a hard bounce, a complaint)
    gets no farewell, and then no row keeps that address either.
    """
    address = candidate.email
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
        )
