"""Managing recruiter accounts: invitations, one-time login links, roles and deactivation.

A one-time login link is an itsdangerous token with its own salt that names
the recruiter and carries a random nonce. Using it records an audit event
with that nonce as its subject, and a nonce already recorded is refused, so
each link signs in once. Links last 24 hours.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.auth.passwords import hash_password
from portal.errors import PortalError
from preferences.addresses import normalize_email
from preferences.audit import record_audit, recruiter_actor
from preferences.clock import now
from preferences.models import AuditEvent, RecruiterRole, RecruiterUser
from preferences.sessions import end_sessions
from preferences.text import TextKind, UnstorableText, clean_text
from preferences.tokens import loads_fresh, timed_serializer

LOGIN_LINK_MAX_AGE = 24 * 3600
LOGIN_LINK_USED = "recruiter.login_link_used"
MIN_PASSWORD_LENGTH = 12


class RecruiterError(PortalError):
    """A recruiter-account change that is refused; the message says why."""


class RecruiterExists(RecruiterError):
    """The address already belongs to a recruiter account."""


class RecruiterNameRefused(RecruiterError):
    """The display name holds a character the stored-text rule refuses."""


class LoginLinkInvalid(RecruiterError):
    """A one-time login link that is tampered with, expired, used or for an inactive account."""


def _serializer(secret_keys: Sequence[str]) -> URLSafeTimedSerializer:
    return timed_serializer(secret_keys, "talentconnect.recruiter-login-link")


def list_recruiters(session: Session) -> list[RecruiterUser]:
    """Every recruiter account, active ones first, then by address."""
    return list(
        session.scalars(
            select(RecruiterUser).order_by(RecruiterUser.active.desc(), RecruiterUser.email)
        )
    )


def create_recruiter(
    session: Session,
    email: str,
    *,
    role: RecruiterRole = RecruiterRole.RECRUITER,
    password: str | None = None,
    name: str = "",
) -> RecruiterUser:
    """Create a recruiter account; raises `RecruiterExists` or `RecruiterError`, storing nothing.

    Without a password the account can only sign in with a one-time login link
    (and set no password until an admin gives one with `--password-stdin`).
    """
    address = normalize_email(email)  # InvalidEmail for a malformed address
    try:
        clean_name = clean_text(name, TextKind.LINE)[:200]
    except UnstorableText as exc:
        raise RecruiterNameRefused(f"the name {exc.reason}") from None
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise RecruiterError(f"use a password of at least {MIN_PASSWORD_LENGTH} characters")
    taken = session.scalar(select(RecruiterUser.id).where(RecruiterUser.email == address))
    if taken is not None:
        raise RecruiterExists(f"a recruiter account for {address} already exists")
    user = RecruiterUser(
        email=address,
        name=clean_name,
        role=role,
        active=True,
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    return user


def make_login_link_token(secret_keys: Sequence[str], user: RecruiterUser) -> str:
    """Sign a one-time login token for `user` (valid for `LOGIN_LINK_MAX_AGE` seconds)."""
    payload = {"r": user.id, "n": secrets.token_urlsafe(16)}
    return str(_serializer(secret_keys).dumps(payload))


def _read(
    session: Session, secret_keys: Sequence[str], token: str, *, lock: bool
) -> tuple[RecruiterUser, str]:
    if not token or len(token) > 1000:
        raise LoginLinkInvalid("this login link is not valid")
    try:
        payload = loads_fresh(_serializer(secret_keys), token, lifetime=LOGIN_LINK_MAX_AGE)
    except SignatureExpired:
        raise LoginLinkInvalid("this login link has expired; ask an admin for a new one") from None
    except BadSignature:
        raise LoginLinkInvalid("this login link is not valid") from None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("r"), int)
        or not isinstance(payload.get("n"), str)
    ):
        raise LoginLinkInvalid("this login link is not valid")
    nonce: str = payload["n"]
    # Row lock on PostgreSQL: two clicks at once can't both use the link.
    user = session.get(RecruiterUser, payload["r"], with_for_update=lock)
    if user is None or not user.active:
        raise LoginLinkInvalid("this login link is for an account that is no longer active")
    used = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.subject == f"link:{nonce}", AuditEvent.action == LOGIN_LINK_USED)
    )
    if used:
        raise LoginLinkInvalid("this login link was already used; ask an admin for a new one")
    return user, nonce


def check_login_link(session: Session, secret_keys: Sequence[str], token: str) -> RecruiterUser:
    """The recruiter a still-usable login link names, without using it up."""
    return _read(session, secret_keys, token, lock=False)[0]


def use_login_link(session: Session, secret_keys: Sequence[str], token: str) -> RecruiterUser:
    """Use up a one-time login link and return its recruiter; raises `LoginLinkInvalid`."""
    user, nonce = _read(session, secret_keys, token, lock=True)
    record_audit(
        session,
        actor=recruiter_actor(user.id),
        action=LOGIN_LINK_USED,
        subject=f"link:{nonce}",
    )
    user.last_login_at = now()
    session.flush()
    return user


def _active_admins(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(RecruiterUser)
            .where(RecruiterUser.role == RecruiterRole.ADMIN, RecruiterUser.active.is_(True))
        )
        or 0
    )


def _get(session: Session, user_id: int) -> RecruiterUser:
    user = session.get(RecruiterUser, user_id)
    if user is None:
        raise RecruiterError("that recruiter account no longer exists")
    return user


def set_role(session: Session, user_id: int, role: RecruiterRole, *, by: int) -> RecruiterUser:
    """Change a recruiter's role; the last active admin can't be demoted."""
    user = _get(session, user_id)
    if user.role is role:
        return user
    if user.role is RecruiterRole.ADMIN and user.active and _active_admins(session) <= 1:
        raise RecruiterError("there must always be an active admin; make someone else admin first")
    user.role = role
    record_audit(
        session,
        actor=recruiter_actor(by),
        action="recruiter.role_changed",
        subject=f"recruiter:{user.id}",
        detail={"role": role.value},
    )
    return user


def deactivate(session: Session, user_id: int, *, by: int) -> RecruiterUser:
    """Stop an account from signing in, and end every session it has open."""
    user = _get(session, user_id)
    if user.id == by:
        raise RecruiterError("you can't deactivate your own account")
    if not user.active:
        return user
    if user.role is RecruiterRole.ADMIN and _active_admins(session) <= 1:
        raise RecruiterError("there must always be an active admin")
    user.active = False
    end_sessions(session, recruiter_id=user.id)
    record_audit(
        session,
        actor=recruiter_actor(by),
        action="recruiter.deactivated",
        subject=f"recruiter:{user.id}",
    )
    return user
