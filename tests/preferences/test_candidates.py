"""Finding and creating candidates by address."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from preferences.errors import CandidateDeleted, InvalidEmail
from preferences.models import Candidate, CandidateStatus
from preferences.subscriptions import find_candidate, get_or_create_candidate


def candidate_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Candidate)) or 0


def test_get_or_create_creates_with_normalized_email_and_fields(db_session: Session) -> None:
    """A new address creates an active candidate with the normalized email and given fields."""
    candidate, created = get_or_create_candidate(
        db_session, "  Ana.Lopez@Example.COM ", first_name="Ana", last_name="López"
    )
    assert created is True
    assert candidate.id is not None
    assert candidate.email == "ana.lopez@example.com"
    assert (candidate.first_name, candidate.last_name) == ("Ana", "López")
    assert candidate.status is CandidateStatus.ACTIVE
    assert candidate.token_version == 1
    assert len(candidate.public_id) >= 20


@pytest.mark.parametrize("spelling", ["ana@example.com", "ANA@EXAMPLE.COM", " Ana@Example.Com\n"])
def test_get_or_create_dedupes_equivalent_spellings(db_session: Session, spelling: str) -> None:
    """Any spelling of an existing address returns that candidate, never a second one."""
    first, _ = get_or_create_candidate(db_session, "Ana@example.com")
    again, created = get_or_create_candidate(db_session, spelling)
    assert created is False
    assert again.id == first.id
    assert candidate_count(db_session) == 1


def test_get_or_create_dedupes_internationalized_spellings(db_session: Session) -> None:
    """Composed and decomposed spellings of an internationalized address are one candidate."""
    first, _ = get_or_create_candidate(db_session, "josé@exämple.test")
    again, created = get_or_create_candidate(db_session, "JOSE\u0301@EXA\u0308MPLE.TEST")
    assert created is False
    assert again.id == first.id
    assert first.email == "josé@exämple.test"


def test_get_or_create_never_overwrites_an_existing_profile(db_session: Session) -> None:
    """Fields passed for an existing candidate are ignored."""
    get_or_create_candidate(db_session, "ana@example.com", first_name="Ana")
    again, created = get_or_create_candidate(db_session, "ana@example.com", first_name="Mallory")
    assert created is False
    assert again.first_name == "Ana"


def test_get_or_create_refuses_a_deleted_candidate(db_session: Session) -> None:
    """A deleted candidate is not silently brought back."""
    candidate, _ = get_or_create_candidate(db_session, "ana@example.com")
    candidate.status = CandidateStatus.DELETED
    db_session.flush()
    with pytest.raises(CandidateDeleted) as caught:
        get_or_create_candidate(db_session, "ANA@example.com")
    assert caught.value.public_id == candidate.public_id
    assert candidate_count(db_session) == 1


def test_get_or_create_refuses_an_invalid_address(db_session: Session) -> None:
    """An invalid address raises InvalidEmail and creates nothing."""
    with pytest.raises(InvalidEmail):
        get_or_create_candidate(db_session, "ana@")
    assert candidate_count(db_session) == 0


def test_find_candidate_by_any_spelling(db_session: Session) -> None:
    """find_candidate matches on the normalized address and returns None when absent."""
    candidate, _ = get_or_create_candidate(db_session, "ana@example.com")
    assert find_candidate(db_session, " ANA@Example.com ") is candidate
    assert find_candidate(db_session, "bob@example.com") is None


def test_candidate_email_is_unique_in_the_database(db_session: Session) -> None:
    """Two candidate rows with one email are refused by the database."""
    db_session.add(Candidate(email="ana@example.com"))
    db_session.flush()
    db_session.add(Candidate(email="ana@example.com"))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_display_name_falls_back_to_email(db_session: Session) -> None:
    """display_name is the full name when known, otherwise the address."""
    named, _ = get_or_create_candidate(db_session, "ana@example.com", first_name="Ana")
    anonymous, _ = get_or_create_candidate(db_session, "bob@example.com")
    assert named.display_name == "Ana"
    assert anonymous.display_name == "bob@example.com"
