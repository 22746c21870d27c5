"""Decide what a file is from its bytes alone, never from its name or a declared type."""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from portal.resumes.errors import EmptyFile, UnsafeArchive, UnsupportedFile

KIND_PDF = "pdf"
KIND_DOCX = "docx"
KIND_TEXT = "text"
DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CONTENT_TYPES = {
    KIND_PDF: "application/pdf",
    KIND_DOCX: DOCX_CONTENT_TYPE,
    KIND_TEXT: "text/plain; charset=utf-8",
}
HEAD_BYTES = 8192
_PDF_MAGIC = b"%PDF-"
_ZIP_MAGIC = b"PK\x03\x04"
_EOCD_MAGIC = b"PK\x05\x06"
_EOCD_MIN = 22
_EOCD_SEARCH = _EOCD_MIN + 0xFFFF  # the record plus the longest possible zip comment
# C0 controls except tab, newline, vertical tab, form feed and carriage return; DEL; C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ZipLimits:
    """Bounds a .docx must respect before any XML parser sees it."""

    max_entries: int = 1000
    max_total_bytes: int = 50 * 1024 * 1024
    max_ratio: int = 100
    # Small XML parts legitimately compress very well, so the ratio only applies above this.
    ratio_floor_bytes: int = 1024 * 1024
    max_central_directory_bytes: int = 512 * 1024


DEFAULT_ZIP_LIMITS = ZipLimits()


def text_encoding(head: bytes) -> str:
    """Return the codec for a text file's bytes: UTF-16 when it starts with a BOM, else UTF-8."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


class TextChecker:
    """Feeds chunks through a strict decoder and notes control characters and visible text."""

    def __init__(self, head: bytes) -> None:
        self.encoding = text_encoding(head)
        self._decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        self.ok = True
        self.has_visible_text = False

    def feed(self, chunk: bytes, *, final: bool = False) -> bool:
        """Decode one more chunk; return False once the content is clearly not text."""
        if not self.ok:
            return False
        try:
            decoded = self._decoder.decode(chunk, final)
        except UnicodeDecodeError:
            self.ok = False
            return False
        if _CONTROL.search(decoded):
            self.ok = False
            return False
        if not self.has_visible_text and decoded.strip():
            self.has_visible_text = True
        return True


def plausible_head(head: bytes) -> bool:
    """A first look at the opening bytes, so an obvious binary is refused before being stored."""
    if head.startswith((_PDF_MAGIC, _ZIP_MAGIC)):
        return True
    # The head may end inside a multi-byte character, so it is decoded as a non-final chunk.
    return TextChecker(head).feed(head)


def detect_kind(path: Path, limits: ZipLimits = DEFAULT_ZIP_LIMITS) -> tuple[str, str]:
    """Return (kind, content type) of the stored file, or raise an intake error."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    if not head:
        raise EmptyFile("no bytes")
    if head.startswith(_PDF_MAGIC):
        return KIND_PDF, CONTENT_TYPES[KIND_PDF]
    if head.startswith(_ZIP_MAGIC):
        check_docx(path, limits)
        return KIND_DOCX, CONTENT_TYPES[KIND_DOCX]
    checker = TextChecker(head)
    with path.open("rb") as fh:
        while chunk := fh.read(_READ_CHUNK):
            if not checker.feed(chunk):
                raise UnsupportedFile("neither PDF, DOCX nor text")
    if not checker.feed(b"", final=True):
        raise UnsupportedFile("text ends inside a character")
    if not checker.has_visible_text:
        raise EmptyFile("only whitespace")
    charset = "utf-16" if checker.encoding == "utf-16" else "utf-8"
    return KIND_TEXT, f"text/plain; charset={charset}"


def check_docx(path: Path, limits: ZipLimits = DEFAULT_ZIP_LIMITS) -> None:
    """Raise unless `path` is a .docx zip within `limits`; reads only zip metadata."""
    _check_central_directory(path, limits)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise UnsupportedFile(f"broken zip: {exc}") from None
    if len(infos) > limits.max_entries:
        raise UnsafeArchive(f"{len(infos)} zip entries")
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names or "word/document.xml" not in names:
        raise UnsupportedFile("zip without the parts of a Word document")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise UnsupportedFile("encrypted zip entry")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnsupportedFile(f"zip compression method {info.compress_type}")
        if info.filename.lower().endswith("vbaproject.bin"):
            # A macro-enabled document renamed to .docx: recruiters would open it in Word.
            raise UnsupportedFile("document with macros")
        total += info.file_size
        if total > limits.max_total_bytes:
            raise UnsafeArchive(f"more than {limits.max_total_bytes} bytes unpacked")
        if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise UnsafeArchive(f"{info.filename} compressed more than {limits.max_ratio}:1")


def _check_central_directory(path: Path, limits: ZipLimits) -> None:
    """Bound the central directory before zipfile builds one object per entry from it."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - _EOCD_SEARCH))
        tail = fh.read()
    at = tail.rfind(_EOCD_MAGIC)
    if at < 0 or len(tail) - at < _EOCD_MIN:
        raise UnsupportedFile("zip without an end-of-central-directory record")
    record = tail[at : at + _EOCD_MIN]
    entries = int.from_bytes(record[10:12], "little")
    directory_bytes = int.from_bytes(record[12:16], "little")
    if entries == 0xFFFF or directory_bytes == 0xFFFFFFFF:
        raise UnsafeArchive("zip64 archive")  # no resume needs zip64 below our size cap
    if entries > limits.max_entries:
        raise UnsafeArchive(f"{entries} zip entries")
    if directory_bytes > limits.max_central_directory_bytes:
        raise UnsafeArchive(f"central directory of {directory_bytes} bytes")
