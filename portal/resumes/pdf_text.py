"""Text of a PDF through pypdf, plus the targets of its link annotations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from portal.resumes.errors import ExtractionFailed


def pdf_text(path: Path, *, max_pages: int, max_chars: int) -> str:
    """Return the text layer of the first `max_pages` pages; "" for an image-only PDF."""
    reader = PdfReader(path)
    if reader.is_encrypted and not reader.decrypt(""):
        raise ExtractionFailed("PDF needs a password")
    parts: list[str] = []
    total = 0
    for index, page in enumerate(reader.pages):
        if index >= max_pages or total >= max_chars:
            break
        text = page.extract_text() or ""
        # A link's visible text is often just "LinkedIn"; the address lives in the annotation.
        links = _link_targets(page)
        chunk = text + ("\n" + "\n".join(links) if links else "")
        parts.append(chunk)
        total += len(chunk)
    return "\n".join(parts)


def _link_targets(page: Any) -> list[str]:
    annots = page.get("/Annots")
    if annots is None:
        return []
    annots = annots.get_object()
    if not isinstance(annots, ArrayObject):
        return []
    targets: list[str] = []
    for ref in annots[:200]:
        annot = ref.get_object()
        if not isinstance(annot, DictionaryObject) or annot.get("/Subtype") != "/Link":
            continue
        action = annot.get("/A")
        action = action.get_object() if action is not None else None
        if isinstance(action, DictionaryObject):
            uri = action.get("/URI")
            if uri is not None:
                targets.append(str(uri.get_object()))
    return targets
