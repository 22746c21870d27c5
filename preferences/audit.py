"""The audit log: privacy-relevant actions, who took them and on whom.

Entries name people only by opaque identifiers (a candidate's public_id, a
recruiter's id), so the log can outlive an erasure without keeping personal data.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from preferences.clock import now
from preferences.models import AuditEvent

ACTOR_CANDIDATE = "candidate"
ACTOR_SYSTEM = "system"

_ACTOR = re.compile(r"candidate|system|recruiter:[0-9]+")
_ACTION = re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+")


def recruiter_actor(recruiter_id: int) -> str:
    """Return the actor string for the recruiter with this id."""
    return f"recruiter:{int(recruiter_id)}"


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event and flush it.

    Raises ValueError for an actor or action that is not in the documented
    shape, and for a subject that looks like an email address.
    """
    if not _ACTOR.fullmatch(actor):
        raise ValueError(f"unknown audit actor {actor!r}")
    if not _ACTION.fullmatch(action) or len(action) > 64:
        raise ValueError(f"audit action must look like 'candidate.erased', not {action!r}")
    if not subject or "@" in subject or len(subject) > 64:
        raise ValueError("audit subject must be an opaque identifier, never an address")
    event = AuditEvent(
        occurred_at=now(), actor=actor, action=action, subject=subject, detail=detail or {}
    )
    session.add(event)
    session.flush()
    return event
