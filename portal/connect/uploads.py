"""The upload folder: resumes posted in forms, per-visitor caps, and pruning of unclaimed files.

A resume uploaded in the connect flow waits in the folder until Submit Profile claims
it (a Resume row names it). Each such upload is recorded as a `PendingUpload` with the
visitor it came from (a keyed hash of the client address), so one visitor can hold only
so many unclaimed files and bytes at once, and the scheduler deletes those left
unclaimed (`prune_task`, also `talentconnect uploads prune`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path

from flask import g
from sqlalchemy import Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from werkzeug.datastructures import FileStorage

from jobs.scheduler import PeriodicTask
from portal.resumes import (
    FileTooLarge,
    NoFileChosen,
    ResumeError,
    StoredResume,
    store_upload,
)
from portal.resumes.errors import ParserBusy, UploadQuotaExceeded
from preferences.clock import now
from preferences.db import Base, UTCDateTime, session_scope
from preferences.models import Resume

log = logging.getLogger("portal.uploads")

# A draft lives in the visitor's session; a file no profile claimed after this long is orphaned.
DEFAULT_MAX_AGE_HOURS = 24
PRUNE_EVERY_SECONDS = 3600
MB = 1024 * 1024


class PendingUpload(Base):
    """A resume stored from the connect flow, until pruned; claimed once a Resume row names it."""

    __tablename__ = "pending_uploads"

    storage_name: Mapped[str] = mapped_column(String(32), primary_key=True)
    # HMAC-SHA256 of the client address under the app's key: counts per visitor, stores no IP.
    visitor: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, index=True)


def visitor_key(secret: str, client_address: str | None) -> str:
    """The visitor an upload is counted against: a keyed hash of the client address."""
    message = (client_address or "unknown").encode("utf-8", "replace")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def check_upload_quota(
    session: Session,
    visitor: str,
    *,
    max_files: int,
    max_bytes: int,
    incoming_bytes: int = 0,
    older_than_hours: float = DEFAULT_MAX_AGE_HOURS,
) -> None:
    """Raise UploadQuotaExceeded when the visitor's unclaimed uploads are at the cap.

    Counts the visitor's uploads younger than `older_than_hours` that no Resume row
    claims; `incoming_bytes` is the size of the file about to be added, when known.
    """
    cutoff = now() - timedelta(hours=older_than_hours)
    claimed = select(Resume.id).where(Resume.storage_name == PendingUpload.storage_name).exists()
    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(PendingUpload.size_bytes), 0)).where(
            PendingUpload.visitor == visitor,
            PendingUpload.created_at > cutoff,
            ~claimed,
        )
    ).one()
    if count >= max_files or total + incoming_bytes > max_bytes:
        log.warning(
            "upload refused: visitor over the unclaimed-upload cap",
            extra={"files": count, "bytes": total, "max_files": max_files, "max_bytes": max_bytes},
        )
        raise UploadQuotaExceeded(f"{count} unclaimed files, {total} bytes")


def record_pending_upload(session: Session, stored: StoredResume, visitor: str) -> None:
    """Note a stored upload against its visitor (flushes)."""
    session.add(
        PendingUpload(
            storage_name=stored.storage_name, visitor=visitor, size_bytes=stored.size_bytes
        )
    )
    session.flush()


def forget_pending_upload(session: Session, storage_name: str) -> None:
    """Drop the record of an upload whose file is deleted (e.g. replaced by a newer one)."""
    session.execute(delete(PendingUpload).where(PendingUpload.storage_name == storage_name))


def store_form_upload(
    upload: FileStorage | None, upload_dir: Path, *, max_upload_mb: int
) -> StoredResume:
    """Store the file of a multipart form's file field, with every intake check.

    Raises NoFileChosen when the field is missing or no file was picked, and the other
    `ResumeError`s when the file is refused (too large, empty, not a PDF, DOCX or text
    by its content, an unsafe DOCX); then nothing is left in `upload_dir`.
    """
    if upload is None or not upload.filename:
        raise NoFileChosen("no file in the form")
    try:
        return store_upload(
            upload.stream, upload.filename, upload_dir, max_bytes=max_upload_mb * MB
        )
    finally:
        # Werkzeug spools big parts to temporary files; release them now.
        upload.close()


def refusal_status(exc: ResumeError) -> int:
    """The HTTP status for a refused upload.

    413 over the size cap, 429 over the visitor's cap, 503 when every parser is busy
    (with Retry-After), else 400.
    """
    if isinstance(exc, FileTooLarge):
        return 413
    if isinstance(exc, UploadQuotaExceeded):
        return 429
    if isinstance(exc, ParserBusy):
        return 503
    return 400


def busy_headers() -> dict[str, str]:
    """The Retry-After of a "busy, try again" answer, kept as it is by the app.

    Flask-Limiter stretches a limited endpoint's Retry-After to the end of its rate
    window (a minute); `portal.app` puts this one back, since a parse slot frees
    within seconds.
    """
    seconds = str(ParserBusy.retry_after_seconds)
    g.retry_after = seconds
    return {"Retry-After": seconds}


def prune_orphan_uploads(
    session: Session, upload_dir: Path, *, older_than_hours: float = DEFAULT_MAX_AGE_HOURS
) -> list[str]:
    """Delete old stored files that no Resume row refers to; return their names.

    Also forgets the upload records older than that (claimed or not), and removes
    half-written `.part` files a crash may have left.
    """
    session.execute(
        delete(PendingUpload).where(
            PendingUpload.created_at < now() - timedelta(hours=older_than_hours)
        )
    )
    if not upload_dir.is_dir():
        return []
    cutoff = time.time() - older_than_hours * 3600
    candidates = [p for p in upload_dir.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
    if not candidates:
        return []
    names = [p.name for p in candidates]
    referenced: set[str] = set()
    # Ask in slices so a big folder never builds one huge IN list.
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        referenced.update(
            session.scalars(select(Resume.storage_name).where(Resume.storage_name.in_(chunk)))
        )
    removed = []
    for path in candidates:
        if path.name not in referenced:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def prune_task(upload_dir: Path, older_than_hours: float) -> PeriodicTask:
    """The scheduler's hourly pruning of unclaimed uploads (registered by `run` and `scheduler`)."""

    def prune(sessions: sessionmaker[Session]) -> object:
        with session_scope(sessions) as session:
            removed = prune_orphan_uploads(session, upload_dir, older_than_hours=older_than_hours)
        if removed:
            log.info("uploads pruned", extra={"removed": len(removed)})
        return removed

    return PeriodicTask("prune-uploads", PRUNE_EVERY_SECONDS, prune)
