"""The upload folder: resumes posted in forms, and housekeeping of files no profile claimed."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from portal.resumes import FileTooLarge, NoFileChosen, ResumeError, StoredResume, store_upload
from preferences.models import Resume

# A draft lives in the visitor's session; a file no profile claimed after this long is orphaned.
DEFAULT_MAX_AGE_HOURS = 24


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
            upload.stream, upload.filename, upload_dir, max_bytes=max_upload_mb * 1024 * 1024
        )
    finally:
        # Werkzeug spools big parts to temporary files; release them now.
        upload.close()


def refusal_status(exc: ResumeError) -> int:
    """The HTTP status for a refused upload: 413 over the size cap, else 400."""
    return 413 if isinstance(exc, FileTooLarge) else 400


def prune_orphan_uploads(
    session: Session, upload_dir: Path, *, older_than_hours: float = DEFAULT_MAX_AGE_HOURS
) -> list[str]:
    """Delete old stored files that no Resume row refers to; return their names."""
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
