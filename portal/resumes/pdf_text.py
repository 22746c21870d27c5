"""Text of a PDF in reading order (pdfminer.six layout analysis), plus its link targets.

Before any page is read, pypdf decompresses its content streams here with a byte cap
and counts their operators; once a cap would be passed, reading stops and the pages
before it make the text. pdfminer.six then lays out only those pages, keeping at most
`max_glyphs` glyphs over the file, and `portal.resumes.pdf_layout` orders their lines
(columns, the name block first). If pdfminer cannot read a file that pypdf opened,
pypdf's own text of the same pages is used instead.
"""

from __future__ import annotations

import logging
import re
import zlib
from pathlib import Path
from typing import Any

from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

from portal.errors import PortalError
from portal.resumes.errors import ExtractionFailed
from portal.resumes.pdf_layout import LAYOUT, CappedAggregator, order_lines, page_lines, title_first

log = logging.getLogger(__name__)

# Literal and hex strings, blanked before counting so the words inside them are not operators.
_STRINGS = re.compile(rb"\((?:\\.|[^\\()])*\)|<[0-9A-Fa-f\s]*>", re.S)
# An operator is a bare word after whitespace or a delimiter ("/F1" is a name, "12" a number).
_OPERATOR = re.compile(rb"(?<![^\s\[\]()<>{}])[A-Za-z'\"*][A-Za-z0-9*'\"]*")


class _CapReached(PortalError):
    """A page would take the file past one of the caps."""


def count_operations(content: bytes) -> int:
    """Roughly how many operators a content stream holds (never fewer than it has)."""
    return len(_OPERATOR.findall(_STRINGS.sub(b" ", content)))


def pdf_text(
    path: Path,
    *,
    max_pages: int,
    max_chars: int,
    max_operations: int = 60_000,
    max_content_bytes: int = 8 * 1024 * 1024,
    max_glyphs: int = 30_000,
) -> str:
    """Return the text layer of the first pages, within the caps; "" for an image-only PDF."""
    reader = PdfReader(path)
    if reader.is_encrypted and not reader.decrypt(""):
        raise ExtractionFailed("PDF needs a password")
    pages: list[Any] = []
    links: list[list[str]] = []
    budget = _Budget(max_operations, max_content_bytes)
    for index, page in enumerate(reader.pages):
        if index >= max_pages:
            break
        try:
            budget.take(page)
        except _CapReached as exc:
            log.info("PDF text cut at page %d of %s: %s", index + 1, path.name, exc)
            break
        pages.append(page)
        # A link's visible text is often just "LinkedIn"; the address lives in the annotation.
        links.append(_link_targets(page))
    if not pages:
        return ""
    try:
        texts = _layout_texts(path, len(pages), max_glyphs)
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:
        log.info("PDF layout analysis failed for %s, plain text used: %r", path.name, exc)
        texts = [page.extract_text() or "" for page in pages]
    parts: list[str] = []
    total = 0
    for text, targets in zip(texts, links, strict=False):
        if total >= max_chars:
            break
        chunk = text + ("\n" + "\n".join(targets) if targets else "")
        parts.append(chunk)
        total += len(chunk)
    return "\n".join(parts)


def _layout_texts(path: Path, count: int, max_glyphs: int) -> list[str]:
    """The first `count` pages' text in reading order, through pdfminer's layout analysis."""
    texts: list[str] = []
    with path.open("rb") as fh:
        manager = PDFResourceManager(caching=True)
        device = CappedAggregator(manager, LAYOUT, max_glyphs)
        interpreter = PDFPageInterpreter(manager, device)
        for index, page in enumerate(PDFPage.get_pages(fh, maxpages=count, password="")):
            interpreter.process_page(page)
            layout = device.get_result()
            lines = page_lines(layout)
            first = title_first(lines, layout.height) if index == 0 else []
            rest = [ln for ln in lines if all(ln is not t for t in first)]
            texts.append("\n".join([*(ln.text for ln in first), *order_lines(rest, layout.width)]))
            if device.chars_left <= 0:
                log.info("PDF glyph cap reached at page %d of %s", index + 1, path.name)
                break
    return texts


class _Budget:
    """Decodes each page's content with a byte cap and counts its operators against the file's."""

    def __init__(self, max_operations: int, max_bytes: int) -> None:
        self.operations_left = max_operations
        self.bytes_left = max_bytes
        # Pages may share one stream: decode it once, but count it for every page.
        self._decoded: dict[int, tuple[bytes, int]] = {}

    def take(self, page: Any) -> None:
        contents = page.get("/Contents")
        if contents is None:
            return
        contents = contents.get_object()
        streams = list(contents) if isinstance(contents, ArrayObject) else [contents]
        pieces: list[bytes] = []
        operations = 0
        for item in streams:
            stream = item.get_object()
            if not hasattr(stream, "get_data"):
                continue
            data, count = self._decode(stream)
            pieces.append(data)
            operations += count
        data = b"\n".join(pieces)
        if len(data) > self.bytes_left:
            raise _CapReached(f"content over the byte cap ({len(data)} bytes)")
        if operations > self.operations_left:
            raise _CapReached(f"content over the operation cap (~{operations} operators)")
        self.bytes_left -= len(data)
        self.operations_left -= operations
        # pypdf reads these bytes instead of decoding the stream again.
        decoded = DecodedStreamObject()
        decoded.set_data(data)
        page[NameObject("/Contents")] = decoded

    def _decode(self, stream: Any) -> tuple[bytes, int]:
        key = id(stream)
        known = self._decoded.get(key)
        if known is None:
            data = _bounded_data(stream, self.bytes_left)
            known = (data, count_operations(data))
            self._decoded[key] = known
        return known


def _bounded_data(stream: Any, limit: int) -> bytes:
    """The decoded bytes of a stream; raises _CapReached past `limit` without decoding further."""
    filters = stream.get("/Filter")
    if isinstance(filters, ArrayObject) and len(filters) == 1:
        filters = filters[0]
    raw = getattr(stream, "_data", None)
    if filters == "/FlateDecode" and stream.get("/DecodeParms") is None and isinstance(raw, bytes):
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(raw, limit + 1)
        except zlib.error:
            data = None  # damaged: pypdf's decoder knows how to recover some of these
        if data is not None:
            if len(data) > limit:
                raise _CapReached(f"a content stream inflates past {limit} bytes")
            return data
    decoded: bytes = stream.get_data()
    if len(decoded) > limit:
        raise _CapReached(f"a content stream decodes past {limit} bytes")
    return decoded


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
