"""Sign-in sessions kept on the server, for candidates and recruiters alike.

The browser's cookie carries only a random session id. Its row in
`login_sessions`, found by the id's SHA-256 (so a copy of the table opens no
session), says whose session it is and whether it still holds. Ending the row
ends the session for every copy of the cookie: signing out, a password change
(every other session) and "sign me out everywhere" (every session) all do that.

Reading a session is one indexed lookup and never writes, so GET pages stay
read-only; rows are written only when a session starts or ends.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from preferences.clock import now
from preferences.models import (
    Candidate,
    CandidateStatus,
    LoginSession,
    RecruiterUser,
)
from preferences.retention import touch_activity

# A session ends this long after sign-in at the latest (the cookie's own limit too).
SESSION_LIFETIME = timedelta(days=31)
# A session started by an emailed sign-in link may set a password without the
# current one for this long: reading the mailbox just proved who it is.
RECENT_LINK = timedelta(minutes=10)
# Longer than any id we make; anything longer is not ours and is not hashed.
_MAX_ID_LENGTH = 100

_CANDIDATE_SESSION = (
    select(LoginSession, Candidate)
    .join(Candidate, Candidate.id == LoginSession.candidate_id)
    .where(LoginSession.id_hash == bindparam("id_hash"))
)
_RECRUITER_SESSION = (
    select(LoginSession, RecruiterUser)
    .join(RecruiterUser, RecruiterUser.id == LoginSession.recruiter_id)
    .where(LoginSession.id_hash == bindparam("id_hash"))
)


def hash_session_id(session_id: str) -> str:
    """The SHA-256 (hex) under which a session id is stored."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def _is_live(record: LoginSession, at: datetime) -> bool:
    return record.ended_at is None and record.created_at > at - SESSION_LIFETIME


def start_session(
    session: Session,
    *,
    candidate: Candidate | None = None,
    recruiter: RecruiterUser | None = None,
    by_link: bool = False,
) -> str:
    """Record a new session for exactly one of `candidate` or `recruiter`; return its id.

    The id goes into the cookie and is never stored. The principal's ended and
    expired sessions are deleted on the way, so the table holds live sessions
    and recently ended ones. A candidate's session starts only when they sign in
    (a password, an emailed link's button, a social account), so it counts as
    activity (`touch_activity`, one UPDATE).
    """
    if (candidate is None) == (recruiter is None):
        raise ValueError("a session belongs to exactly one candidate or one recruiter")
    at = now()
    owner: ColumnElement[bool]
    if candidate is not None:
        owner = LoginSession.candidate_id == candidate.id
        touch_activity(session, candidate.id, at=at)
    else:
        assert recruiter is not None
        owner = LoginSession.recruiter_id == recruiter.id
    session.execute(
        delete(LoginSession)
        .where(
            owner,
            or_(
                LoginSession.ended_at.is_not(None),
                LoginSession.created_at <= at - SESSION_LIFETIME,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    session_id = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            id_hash=hash_session_id(session_id),
            candidate_id=candidate.id if candidate is not None else None,
            recruiter_id=recruiter.id if recruiter is not None else None,
            token_version=candidate.token_version if candidate is not None else None,
            created_at=at,
            link_used_at=at if by_link else None,
        )
    )
    session.flush()
    return session_id


def _usable_id(session_id: object) -> str | None:
    if isinstance(session_id, str) and 0 < len(session_id) <= _MAX_ID_LENGTH:
        return session_id
    return None


def candidate_session(
    session: Session, session_id: object
) -> tuple[LoginSession, Candidate] | None:
    """The live session `session_id` names and its active candidate, else None."""
    usable = _usable_id(session_id)
    if usable is None:
        return None
    row = session.execute(_CANDIDATE_SESSION, {"id_hash": hash_session_id(usable)}).first()
    if row is None:
        return None
    record, candidate = row
    if (
        not _is_live(record, now())
        or candidate.status is not CandidateStatus.ACTIVE
        or candidate.token_version != record.token_version
    ):
        return None
    return record, candidate


def recruiter_session(
    session: Session, session_id: object
) -> tuple[LoginSession, RecruiterUser] | None:
    """The live session `session_id` names and its active recruiter, else None."""
    usable = _usable_id(session_id)
    if usable is None:
        return None
    row = session.execute(_RECRUITER_SESSION, {"id_hash": hash_session_id(usable)}).first()
    if row is None:
        return None
    record, user = row
    if not _is_live(record, now()) or not user.active:
        return None
    return record, user


def end_session(session: Session, session_id: object) -> bool:
    """End the session `session_id` names; True if it was live."""
    usable = _usable_id(session_id)
    if usable is None:
        return False
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.id_hash == hash_session_id(usable), LoginSession.ended_at.is_(None))
        .values(ended_at=now())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def end_sessions(
    session: Session,
    *,
    candidate_id: int | None = None,
    recruiter_id: int | None = None,
    keep: LoginSession | None = None,
) -> int:
    """End every live session of one candidate or recruiter, except `keep`; return how many."""
    if (candidate_id is None) == (recruiter_id is None):
        raise ValueError("name exactly one candidate or one recruiter")
    owner: ColumnElement[bool] = (
        LoginSession.candidate_id == candidate_id
        if candidate_id is not None
        else LoginSession.recruiter_id == recruiter_id
    )
    statement = update(LoginSession).where(owner, LoginSession.ended_at.is_(None))
    if keep is not None:
        statement = statement.where(LoginSession.id != keep.id)
    result = session.execute(
        statement.values(ended_at=now()).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def used_link_recently(record: LoginSession) -> bool:
    """Whether an emailed sign-in link started this session within `RECENT_LINK`."""
    return record.link_used_at is not None and now() - record.link_used_at <= RECENT_LINK
