"""What the alerts keep about a candidate, exported and erased through `preferences.privacy`.

Registered as the jobs package's `CandidateDataHook` when the package is imported:
the export lists the jobs each alert named, erasure deletes the digest items.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from jobs.models import DigestItem, JobPosting
from preferences.db import among
from preferences.privacy import (
    CandidateDataHook,
    Erasure,
    ExportSections,
    register_erasure_hook,
    rowcount,
)

_DIGEST_ITEMS = cast(Table, DigestItem.__table__)
_JOB_POSTINGS = cast(Table, JobPosting.__table__)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_job_alerts(session: Session, candidate_id: int) -> ExportSections:
    """The export's `job_alerts`: each job an alert named to the candidate, oldest first."""
    rows = session.execute(
        select(
            _JOB_POSTINGS.c.reference,
            _JOB_POSTINGS.c.title,
            _DIGEST_ITEMS.c.created_at.label("at"),
        )
        .join(_JOB_POSTINGS, _JOB_POSTINGS.c.id == _DIGEST_ITEMS.c.job_id)
        .where(_DIGEST_ITEMS.c.candidate_id == candidate_id)
        .order_by(_DIGEST_ITEMS.c.created_at, _DIGEST_ITEMS.c.id)
    )
    return {
        "job_alerts": [
            {"job_reference": row.reference, "job_title": row.title, "created_at": _iso(row.at)}
            for row in rows
        ]
    }


def erase_job_alerts(session: Session, erasure: Erasure) -> dict[str, int]:
    """Delete the candidate's digest items; counts `job_alerts`."""
    return erase_many_job_alerts(session, [erasure])


def erase_many_job_alerts(session: Session, erasures: Sequence[Erasure]) -> dict[str, int]:
    """`erase_job_alerts` for many candidates in one statement."""
    ids = [erasure.candidate_id for erasure in erasures]
    deleted = session.execute(
        delete(_DIGEST_ITEMS).where(among(session, _DIGEST_ITEMS.c.candidate_id, ids))
    )
    return {"job_alerts": rowcount(deleted)}


DIGEST_DATA = register_erasure_hook(
    CandidateDataHook(
        owner="jobs",
        tables=("digest_items",),
        export=export_job_alerts,
        erase=erase_job_alerts,
        erase_many=erase_many_job_alerts,
    )
)
