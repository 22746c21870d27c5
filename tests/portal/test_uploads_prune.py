"""Pruning the upload folder keeps every file a profile refers to."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy.orm import Session

from portal.connect.uploads import prune_orphan_uploads
from preferences.models import Resume
from preferences.subscriptions import get_or_create_candidate


def test_prune_removes_only_old_unclaimed_files(db_session: Session, tmp_path: Path) -> None:
    """Old orphans go; claimed files and fresh drafts stay."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    old = time.time() - 48 * 3600
    for name in ("claimed", "orphan", "fresh"):
        (folder / name).write_bytes(b"%PDF-1.4")
    for name in ("claimed", "orphan"):
        os.utime(folder / name, (old, old))
    candidate, _ = get_or_create_candidate(db_session, "ana@example.com")
    db_session.add(
        Resume(
            candidate_id=candidate.id,
            storage_name="claimed",
            original_filename="cv.pdf",
            content_type="application/pdf",
            size_bytes=8,
            sha256="0" * 64,
        )
    )
    db_session.flush()
    removed = prune_orphan_uploads(db_session, folder, older_than_hours=24)
    assert removed == ["orphan"]
    assert sorted(p.name for p in folder.iterdir()) == ["claimed", "fresh"]
