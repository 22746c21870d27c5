"""Server-side sign-in sessions: started, found by a hashed id, ended one, all or all but one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from preferences.clock import FrozenClock, now
from preferences.models import Candidate, CandidateStatus, LoginSession, RecruiterUser
from preferences.sessions import (
    RECENT_LINK,
    SESSION_LIFETIME,
    candidate_session,
    end_session,
    end_sessions,
    hash_session_id,
    recruiter_session,
    start_session,
    used_link_recently,
)


@pytest.fixture
def recruiter(db_session: Session) -> RecruiterUser:
    user = RecruiterUser(email="rita@acme.example.com", name="Rita")
    db_session.add(user)
    db_session.flush()
    return user


def test_a_session_is_stored_by_the_hash_of_its_id_only(
    db_session: Session, candidate: Candidate
) -> None:
    """The id the cookie carries is nowhere in the row; its SHA-256 finds the session."""
    session_id = start_session(db_session, candidate=candidate)
    assert len(session_id) >= 40
    (row,) = db_session.scalars(select(LoginSession)).all()
    assert row.id_hash == hash_session_id(session_id) != session_id
    assert session_id not in repr(
        [getattr(row, c.key) for c in LoginSession.__table__.columns]  # type: ignore[attr-defined]
    )
    found = candidate_session(db_session, session_id)
    assert found is not None and found[1] is candidate and found[0] is row
    assert recruiter_session(db_session, session_id) is None


def test_ending_a_session_ends_it_for_every_copy_of_its_id(
    db_session: Session, candidate: Candidate, clock: FrozenClock
) -> None:
    """After `end_session` the same id finds nothing; ending it again is a no-op."""
    session_id = start_session(db_session, candidate=candidate)
    assert end_session(db_session, session_id) is True
    assert candidate_session(db_session, session_id) is None
    assert end_session(db_session, session_id) is False
    row = db_session.scalars(select(LoginSession)).one()
    db_session.refresh(row)
    assert row.ended_at == now()


def test_end_sessions_keeps_only_the_one_asked_for(
    db_session: Session, candidate: Candidate, recruiter: RecruiterUser
) -> None:
    """Ending a candidate's other sessions leaves the kept one and other people's alone."""
    mine = start_session(db_session, candidate=candidate)
    others = [start_session(db_session, candidate=candidate) for _ in range(2)]
    staff = start_session(db_session, recruiter=recruiter)
    kept = candidate_session(db_session, mine)
    assert kept is not None
    assert end_sessions(db_session, candidate_id=candidate.id, keep=kept[0]) == 2
    assert candidate_session(db_session, mine) is not None
    assert all(candidate_session(db_session, other) is None for other in others)
    assert recruiter_session(db_session, staff) is not None
    assert end_sessions(db_session, recruiter_id=recruiter.id) == 1
    assert recruiter_session(db_session, staff) is None


def test_a_session_lapses_with_its_lifetime_and_its_owner(
    db_session: Session, candidate: Candidate, recruiter: RecruiterUser, clock: FrozenClock
) -> None:
    """A session ends 31 days after sign-in, with a token-version bump, or when its owner goes."""
    session_id = start_session(db_session, candidate=candidate)
    staff = start_session(db_session, recruiter=recruiter)
    clock.advance(SESSION_LIFETIME - timedelta(minutes=1))
    assert candidate_session(db_session, session_id) is not None
    clock.advance(timedelta(minutes=2))
    assert candidate_session(db_session, session_id) is None
    assert recruiter_session(db_session, staff) is None

    fresh = start_session(db_session, candidate=candidate)
    candidate.token_version += 1  # "sign me out everywhere"
    assert candidate_session(db_session, fresh) is None
    again = start_session(db_session, candidate=candidate)
    candidate.status = CandidateStatus.DELETED
    assert candidate_session(db_session, again) is None
    user_session = start_session(db_session, recruiter=recruiter)
    recruiter.active = False
    assert recruiter_session(db_session, user_session) is None


def test_a_new_session_clears_the_owners_dead_ones(
    db_session: Session, candidate: Candidate, clock: FrozenClock
) -> None:
    """Signing in deletes the owner's ended and expired rows, so the table doesn't grow."""
    ended = start_session(db_session, candidate=candidate)
    end_session(db_session, ended)
    start_session(db_session, candidate=candidate)
    clock.advance(SESSION_LIFETIME + timedelta(days=1))
    live = start_session(db_session, candidate=candidate)
    rows = db_session.scalars(select(LoginSession)).all()
    assert [r.id_hash for r in rows] == [hash_session_id(live)]


def test_a_link_sign_in_counts_as_recent_for_ten_minutes(
    db_session: Session, candidate: Candidate, clock: FrozenClock
) -> None:
    """Only a session a sign-in link started is "recent", and only within `RECENT_LINK`."""
    by_password = candidate_session(db_session, start_session(db_session, candidate=candidate))
    by_link = candidate_session(
        db_session, start_session(db_session, candidate=candidate, by_link=True)
    )
    assert by_password is not None and by_link is not None
    assert not used_link_recently(by_password[0])
    assert used_link_recently(by_link[0])
    clock.advance(RECENT_LINK)
    assert used_link_recently(by_link[0])
    clock.advance(timedelta(seconds=1))
    assert not used_link_recently(by_link[0])


@pytest.mark.parametrize("session_id", [None, 42, "", "x" * 101, "no-such-session"])
def test_a_foreign_or_malformed_id_finds_nothing(
    db_session: Session, candidate: Candidate, session_id: object
) -> None:
    """Whatever a cookie holds, a lookup answers None and ends nothing."""
    start_session(db_session, candidate=candidate)
    assert candidate_session(db_session, session_id) is None
    assert recruiter_session(db_session, session_id) is None
    assert end_session(db_session, session_id) is False


def test_a_session_belongs_to_exactly_one_principal(
    db_session: Session, candidate: Candidate, recruiter: RecruiterUser
) -> None:
    """Both or neither of candidate and recruiter is refused, in Python and by the database."""
    with pytest.raises(ValueError, match="exactly one"):
        start_session(db_session, candidate=candidate, recruiter=recruiter)
    with pytest.raises(ValueError, match="exactly one"):
        start_session(db_session)
    with pytest.raises(ValueError, match="exactly one"):
        end_sessions(db_session)
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.execute(
            insert(LoginSession).values(
                id_hash="a" * 64,
                candidate_id=candidate.id,
                recruiter_id=recruiter.id,
                created_at=now(),
            )
        )
    assert db_session.scalars(select(LoginSession)).all() == []
