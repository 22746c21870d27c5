"""Extract the plain text of a stored resume: PDF (pypdf), DOCX (python-docx) or text."""

from __future__ import annotations

import logging
from pathlib import Path

from portal.resumes.docx_text import docx_text
from portal.resumes.errors import ExtractionFailed
from portal.resumes.pdf_text import pdf_text
from portal.resumes.sniff import KIND_DOCX, KIND_PDF, KIND_TEXT, text_encoding

log = logging.getLogger(__name__)

# A resume is a few pages; these caps bound time and memory on hostile or huge files.
MAX_TEXT_CHARS = 200_000
MAX_PDF_PAGES = 20
_MAX_TEXT_FILE_BYTES = 1024 * 1024


def extract_text(path: Path, kind: str) -> str:
    """Return the text of the file at `path`; "" when it has none (e.g. a scanned PDF).

    Raises ExtractionFailed, and nothing else, when the text cannot be read.
    """
    try:
        if kind == KIND_PDF:
            text = pdf_text(path, max_pages=MAX_PDF_PAGES, max_chars=MAX_TEXT_CHARS)
        elif kind == KIND_DOCX:
            text = docx_text(path, max_chars=MAX_TEXT_CHARS)
        elif kind == KIND_TEXT:
            text = _plain_text(path)
        else:
            raise ExtractionFailed(f"unknown resume kind {kind!r}")
    except ExtractionFailed:
        raise
    except RecursionError:
        raise ExtractionFailed(f"{kind} nested too deeply") from None
    except Exception as exc:
        # Parsers of hostile files fail in every way imaginable (KeyError, ValueError,
        # zlib.error...); the caller only needs to know the text is unavailable.
        log.info("resume text extraction failed for %s: %r", path.name, exc)
        raise ExtractionFailed(f"{kind}: {type(exc).__name__}: {exc}") from exc
    return text[:MAX_TEXT_CHARS]


def _plain_text(path: Path) -> str:
    with path.open("rb") as fh:
        data = fh.read(_MAX_TEXT_FILE_BYTES)
    # "replace" only matters when the cap cut a character in two; the file was checked on upload.
    return data.decode(text_encoding(data[:4]), errors="replace")
