"""What the outbox keeps about a candidate, exported and erased through `preferences.privacy`.

Registered as the mailer's `CandidateDataHook` when the package is imported. The
export lists every email queued or sent to the candidate. Erasure deletes queued
mail that no worker has claimed; mail already sent, skipped or failed keeps its
row for the sending statistics, with the address replaced by the placeholder and
the render context emptied. A row a worker is sending at this moment is left
alone: the worker's send-time check finds the candidate deleted and the address
suppressed and skips it; erasing again later scrubs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import String, Table, bindparam, delete, select, type_coerce, update
from sqlalchemy.orm import Session

from mailer.models import OutboxMessage, OutboxStatus
from preferences.db import among
from preferences.privacy import (
    CandidateDataHook,
    Erasure,
    ExportSections,
    register_erasure_hook,
    rowcount,
)

# Core statements on the table: erasure must not load or flush outbox objects.
_OUTBOX = cast(Table, OutboxMessage.__table__)
# Outbox states whose row is history rather than work still to do.
_FINISHED = (OutboxStatus.SENT, OutboxStatus.SKIPPED, OutboxStatus.FAILED)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_emails(session: Session, candidate_id: int) -> ExportSections:
    """The export's `emails`: each outbox row of the candidate's, oldest first."""
    rows = session.execute(
        select(
            # As stored: a kind or status no longer in the enums still exports.
            type_coerce(_OUTBOX.c.kind, String).label("kind"),
            _OUTBOX.c.template,
            type_coerce(_OUTBOX.c.status, String).label("status"),
            _OUTBOX.c.created_at,
            _OUTBOX.c.sent_at,
        )
        .where(_OUTBOX.c.candidate_id == candidate_id)
        .order_by(_OUTBOX.c.created_at, _OUTBOX.c.id)
    )
    return {
        "emails": [
            {
                "kind": row.kind,
                "template": row.template,
                "status": row.status,
                "created_at": _iso(row.created_at),
                "sent_at": _iso(row.sent_at),
            }
            for row in rows
        ]
    }


def erase_emails(session: Session, erasure: Erasure) -> dict[str, int]:
    """Delete the candidate's unclaimed mail and scrub the rest; counts `queued_emails`."""
    return erase_many_emails(session, [erasure])


def erase_many_emails(session: Session, erasures: Sequence[Erasure]) -> dict[str, int]:
    """`erase_emails` for many candidates in three statements; placeholders by row."""
    ids = [erasure.candidate_id for erasure in erasures]
    addresses = sorted({address for erasure in erasures for address in erasure.addresses})
    # Mail queued for the candidate, and mail to one of their addresses that no
    # candidate row owns (a visitor's confirmation). Both are index lookups; an address
    # match over the whole outbox would scan it once per erased chunk.
    mine = among(session, _OUTBOX.c.candidate_id, ids) | (
        _OUTBOX.c.candidate_id.is_(None) & among(session, _OUTBOX.c.to_address, addresses)
    )
    queued = rowcount(
        session.execute(delete(_OUTBOX).where(mine, _OUTBOX.c.status == OutboxStatus.PENDING))
    )
    placeholder_of = {
        address: erasure.placeholder for erasure in erasures for address in erasure.addresses
    }
    by_id = {erasure.candidate_id: erasure.placeholder for erasure in erasures}
    kept = session.execute(
        select(_OUTBOX.c.id, _OUTBOX.c.candidate_id, _OUTBOX.c.to_address).where(
            mine, _OUTBOX.c.status.in_(_FINISHED)
        )
    ).all()
    if kept:
        session.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id == bindparam("row_id"))
            .values(to_address=bindparam("placeholder"), context={}),
            [
                {
                    "row_id": row.id,
                    "placeholder": by_id.get(row.candidate_id)
                    or placeholder_of.get(row.to_address, row.to_address),
                }
                for row in kept
            ],
        )
    return {"queued_emails": queued}


OUTBOX_DATA = register_erasure_hook(
    CandidateDataHook(
        owner="mailer",
        tables=("outbox_messages",),
        export=export_emails,
        erase=erase_emails,
        erase_many=erase_many_emails,
    )
)
