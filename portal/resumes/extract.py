"""Extract the plain text of a stored resume: PDF (pdfminer.six layout), DOCX (XML) or text."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from portal.resumes.docx_text import docx_text
from portal.resumes.errors import ExtractionFailed
from portal.resumes.pdf_text import pdf_text
from portal.resumes.sniff import KIND_DOCX, KIND_PDF, KIND_TEXT, text_encoding

log = logging.getLogger(__name__)

MB = 1024 * 1024
# Kept for callers that name them; ExtractLimits is where the caps live.
MAX_TEXT_CHARS = 200_000
MAX_PDF_PAGES = 20


@dataclass(frozen=True)
class ExtractLimits:
    """Caps on what the extractors read and build, so a hostile file costs little.

    A resume is a few pages: real ones stay far below every cap. When a cap is
    reached the extractor stops and keeps the text read so far (the first pages
    or paragraphs, where a resume's contact details are); the parse then goes on
    with that. The time and memory budgets of `portal.resumes.sandbox` are the
    hard stop behind these caps.
    """

    max_text_chars: int = MAX_TEXT_CHARS
    max_pdf_pages: int = MAX_PDF_PAGES
    # Content-stream operators over all pages read (a stream shared by many pages
    # counts once per page, as the text extractor walks it once per page).
    max_pdf_operations: int = 60_000
    # Decompressed content-stream bytes over all pages read.
    max_pdf_content_bytes: int = 8 * MB
    # Glyphs laid out over all pages read (layout analysis grows with them); a resume has
    # a few thousand.
    max_pdf_glyphs: int = 30_000
    # XML elements (start tags) and decompressed XML bytes read from a .docx, all parts.
    max_docx_elements: int = 100_000
    max_docx_xml_bytes: int = 16 * MB
    max_text_file_bytes: int = 1 * MB


DEFAULT_EXTRACT_LIMITS = ExtractLimits()


def extract_text(path: Path, kind: str, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS) -> str:
    """Return the text of the file at `path`; "" when it has none (e.g. a scanned PDF).

    Raises ExtractionFailed when the text cannot be read, and MemoryError when the
    process's memory limit is reached (the sandbox turns that into a refusal).
    """
    try:
        if kind == KIND_PDF:
            text = pdf_text(
                path,
                max_pages=limits.max_pdf_pages,
                max_chars=limits.max_text_chars,
                max_operations=limits.max_pdf_operations,
                max_content_bytes=limits.max_pdf_content_bytes,
                max_glyphs=limits.max_pdf_glyphs,
            )
        elif kind == KIND_DOCX:
            text = docx_text(
                path,
                max_chars=limits.max_text_chars,
                max_elements=limits.max_docx_elements,
                max_xml_bytes=limits.max_docx_xml_bytes,
            )
        elif kind == KIND_TEXT:
            text = _plain_text(path, limits.max_text_file_bytes)
        else:
            raise ExtractionFailed(f"unknown resume kind {kind!r}")
    except (ExtractionFailed, MemoryError):
        raise
    except RecursionError:
        raise ExtractionFailed(f"{kind} nested too deeply") from None
    except Exception as exc:
        # Parsers of hostile files fail in every way imaginable (KeyError, ValueError,
        # zlib.error...); the caller only needs to know the text is unavailable.
        log.info("resume text extraction failed for %s: %r", path.name, exc)
        raise ExtractionFailed(f"{kind}: {type(exc).__name__}: {exc}") from exc
    return text[: limits.max_text_chars]


def _plain_text(path: Path, max_bytes: int) -> str:
    with path.open("rb") as fh:
        data = fh.read(max_bytes)
    # "replace" only matters when the cap cut a character in two; the file was checked on upload.
    return data.decode(text_encoding(data[:4]), errors="replace")
