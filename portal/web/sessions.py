"""Signing a browser in and out: the cookie names a server-side session by its id.

Flask's signed cookie keeps only the random id (`SESSION_ID_KEY`); whose session it
is, and whether it still holds, is read from `preferences.sessions` once per request.
Signing out ends the server's row, so a copied cookie replayed later opens nothing.
"""

from __future__ import annotations

from typing import Any

from flask import g, session
from sqlalchemy.orm import Session

from preferences.db import start_write
from preferences.models import Candidate, LoginSession, RecruiterUser
from preferences.sessions import (
    candidate_session,
    end_session,
    recruiter_session,
    start_session,
)

SESSION_ID_KEY = "sid"
# Only a hint for page layout (the header's Dashboard link), never trusted for access.
PRINCIPAL_KEY = "principal"
_CACHE = "login_session_cache"


def begin(
    db: Session,
    *,
    candidate: Candidate | None = None,
    recruiter: RecruiterUser | None = None,
    by_link: bool = False,
    permanent: bool = False,
) -> None:
    """Sign this browser in: a cleared cookie (against fixation) naming a new session."""
    # Sign-in may finish on a GET (a provider's callback), which began read-only.
    start_write(db)
    end_session(db, session.get(SESSION_ID_KEY))
    session_id = start_session(db, candidate=candidate, recruiter=recruiter, by_link=by_link)
    session.clear()
    session[SESSION_ID_KEY] = session_id
    session[PRINCIPAL_KEY] = "candidate" if candidate is not None else "recruiter"
    session.permanent = permanent
    g.pop(_CACHE, None)


def end(db: Session) -> None:
    """Sign this browser out and end its session on the server, for every copy of the cookie."""
    session_id = session.pop(SESSION_ID_KEY, None)
    session.pop(PRINCIPAL_KEY, None)
    if session_id is not None:
        start_write(db)
        end_session(db, session_id)
    g.pop(_CACHE, None)


def _cache() -> dict[str, Any]:
    cache: dict[str, Any] | None = g.get(_CACHE)
    if cache is None:
        cache = {}
        setattr(g, _CACHE, cache)
    return cache


def _candidate_here(db: Session) -> tuple[LoginSession, Candidate] | None:
    """This browser's live candidate session and its candidate (looked up once per request)."""
    cache = _cache()
    if "candidate" not in cache:
        session_id = session.get(SESSION_ID_KEY)
        cache["candidate"] = candidate_session(db, session_id) if session_id is not None else None
    found: tuple[LoginSession, Candidate] | None = cache["candidate"]
    return found


def current_recruiter(db: Session) -> tuple[LoginSession, RecruiterUser] | None:
    """This browser's live recruiter session and its recruiter (looked up once per request)."""
    cache = _cache()
    if "recruiter" not in cache:
        session_id = session.get(SESSION_ID_KEY)
        cache["recruiter"] = recruiter_session(db, session_id) if session_id is not None else None
    found: tuple[LoginSession, RecruiterUser] | None = cache["recruiter"]
    return found


def log_in(db: Session, candidate: Candidate, *, by_link: bool = False) -> None:
    """Start a fresh candidate session; `by_link` when an emailed sign-in link did."""
    begin(db, candidate=candidate, by_link=by_link, permanent=True)


def log_out(db: Session) -> None:
    """End this browser's session, on the server too."""
    end(db)


def current_candidate(db: Session) -> Candidate | None:
    """The signed-in candidate, if the session is still valid."""
    found = _candidate_here(db)
    return found[1] if found is not None else None


def current_login(db: Session) -> LoginSession | None:
    """This browser's live candidate session."""
    found = _candidate_here(db)
    return found[0] if found is not None else None
