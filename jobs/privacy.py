"""What the alerts keep about a candidate, exported and erased through `preferences.privacy`.

Registered as the jobs package's `CandidateDataHook` when the package is imported:
the export lists the jobs each alert named, erasure deletes the digest items.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from jobs.models import DigestItem, JobPosting
from preferences.privacy import (
    CandidateDataHook,
    ExportSections,
    register_erasure_hook,
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


DIGEST_DATA = register_erasure_hook(
    CandidateDataHook.deleting_rows(
        "jobs", _DIGEST_ITEMS.c.candidate_id, "job_alerts", export_job_alerts
    )
)
