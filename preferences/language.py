"""A candidate's language: the one their pages and emails are in (`Candidate.locale`).

Changing it is not a consent: it writes an audit event (`candidate.language_changed`),
never a consent event. Which languages may be chosen is the portal's setting
(SUPPORTED_LOCALES), so callers pass the allowed tags in.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from sqlalchemy.orm import Session

from preferences.audit import ACTOR_CANDIDATE, record_audit
from preferences.errors import PreferencesError
from preferences.models import Candidate, CandidateStatus

AUDIT_ACTION: Final = "candidate.language_changed"


class UnsupportedLanguage(PreferencesError, ValueError):
    """A language tag that is not one of the languages candidates may choose."""


def set_candidate_language(
    session: Session,
    candidate: Candidate,
    tag: str,
    *,
    allowed: Collection[str],
    via: str,
) -> bool:
    """Store `tag` as the candidate's language; True if it changed, False if it was theirs.

    `tag` must be exactly one of `allowed` (the caller normalizes what a person typed
    or picked); anything else raises `UnsupportedLanguage` and stores nothing. A change
    writes one audit event naming the old and new language and `via`, the page or link
    it came from. An erased candidate's record is never changed. Flushes, never commits.
    """
    if tag not in allowed:
        raise UnsupportedLanguage(f"{tag!r} is not a language candidates may choose")
    if candidate.status is CandidateStatus.DELETED or candidate.locale == tag:
        return False
    previous = candidate.locale
    candidate.locale = tag
    record_audit(
        session,
        actor=ACTOR_CANDIDATE,
        action=AUDIT_ACTION,
        subject=candidate.public_id,
        detail={"from": previous, "to": tag, "via": via},
    )
    return True
