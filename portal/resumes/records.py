"""The resume a candidate has on file: replace or delete its Resume row, with an audit event.

These functions change rows and flush; they never commit and never delete a file. Only the
candidate's own dashboard calls them, so each also counts as their activity. Each
returns the storage name of the file that is no longer referred to, and the caller deletes
it only once the transaction has committed: deleted earlier, a failed commit would leave
the row pointing at a missing file. A new file whose row never commits is left for
`talentconnect uploads prune`, which removes only files no row refers to.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.resumes.parse import ParsedResume
from portal.resumes.storage import StoredResume
from preferences.audit import ACTOR_CANDIDATE, record_audit
from preferences.clock import now
from preferences.models import Candidate, Resume, ResumeSource
from preferences.retention import touch_activity


def current_resume(candidate: Candidate) -> Resume | None:
    """The candidate's newest resume, or None.

    A profile normally holds one; connecting again with a provider-verified address can
    add another, and then the newest is the one the dashboard shows and acts on.
    """
    return max(candidate.resumes, key=lambda r: (r.created_at, r.id), default=None)


def replace_resume(
    session: Session,
    candidate: Candidate,
    stored: StoredResume,
    parsed: ParsedResume,
    *,
    source: ResumeSource = ResumeSource.UPLOAD,
) -> str | None:
    """Make the stored file the candidate's resume, with the fields parsed from it.

    Updates the current Resume row in place (or adds one when there is none) and records
    "resume.replaced" (or "resume.added"). Returns the storage name of the file replaced.
    The caller parses first (`portal.resumes.sandbox`), outside the transaction.
    """
    resume = current_resume(candidate)
    replaced = resume.storage_name if resume is not None else None
    if resume is None:
        resume = Resume(candidate_id=candidate.id)
        candidate.resumes.append(resume)
    resume.storage_name = stored.storage_name
    resume.original_filename = stored.original_filename
    resume.content_type = stored.content_type
    resume.size_bytes = stored.size_bytes
    resume.sha256 = stored.sha256
    resume.parsed_fields = parsed.as_dict()
    resume.source = source
    # The row has no separate upload time: created_at is when this file arrived.
    resume.created_at = now()
    session.flush()
    record_audit(
        session,
        actor=ACTOR_CANDIDATE,
        action="resume.replaced" if replaced is not None else "resume.added",
        subject=candidate.public_id,
        detail=_detail(resume),
    )
    touch_activity(session, candidate.id)
    return replaced


def delete_current_resume(session: Session, candidate: Candidate) -> str | None:
    """Delete the candidate's current Resume row and record "resume.deleted".

    Returns the storage name of its file, or None when there was no resume.
    """
    resume = current_resume(candidate)
    if resume is None:
        return None
    detail, storage_name = _detail(resume), resume.storage_name
    # delete-orphan: taking it out of the collection deletes the row.
    candidate.resumes.remove(resume)
    session.flush()
    record_audit(
        session,
        actor=ACTOR_CANDIDATE,
        action="resume.deleted",
        subject=candidate.public_id,
        detail=detail,
    )
    touch_activity(session, candidate.id)
    return storage_name


def _detail(resume: Resume) -> dict[str, object]:
    # The audit log outlives an erasure, so it never holds the file name (often a person's name).
    return {
        "resume_id": resume.id,
        "content_type": resume.content_type,
        "size_bytes": resume.size_bytes,
    }
