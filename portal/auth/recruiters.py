"""Recruiter accounts: creation and password sign-in."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.auth.passwords import hash_password, verify_password
from preferences.addresses import normalize_email
from preferences.clock import now
from preferences.errors import InvalidEmail
from preferences.models import RecruiterRole, RecruiterUser
from preferences.sessions import end_sessions


def set_recruiter(
    session: Session,
    email: str,
    *,
    password: str,
    role: RecruiterRole = RecruiterRole.RECRUITER,
    name: str = "",
) -> RecruiterUser:
    """Create the recruiter, or reset the password and role of an existing one.

    A reset password ends every session the recruiter has open.
    """
    address = normalize_email(email)
    user = session.scalar(select(RecruiterUser).where(RecruiterUser.email == address))
    if user is None:
        user = RecruiterUser(email=address, name=name, role=role)
        session.add(user)
    else:
        end_sessions(session, recruiter_id=user.id)
    user.role = role
    user.active = True
    if name:
        user.name = name
    user.password_hash = hash_password(password)
    session.flush()
    return user


def authenticate_recruiter(session: Session, email: str, password: str) -> RecruiterUser | None:
    """Return the active recruiter whose address and password match, else None."""
    try:
        address = normalize_email(email)
    except InvalidEmail:
        # A malformed address is just another failed login, not an error page.
        address = ""
    user = (
        session.scalar(select(RecruiterUser).where(RecruiterUser.email == address))
        if address
        else None
    )
    ok = verify_password(user.password_hash if user is not None else None, password)
    if user is None or not user.active or not ok:
        return None
    user.last_login_at = now()
    session.flush()
    return user
