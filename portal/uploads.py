"""Housekeeping for the upload folder: files of abandoned connect drafts."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from preferences.models import Resume

# A draft lives in the visitor's session; a file no profile claimed after this long is orphaned.
DEFAULT_MAX_AGE_HOURS = 24


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
