"""Builders for hostile and ordinary test files, made at test time and never committed."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "data" / "resumes"

ELF_HEADER = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa75\x81"
    b"\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)
CONTENT_TYPES_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
)


def corpus_bytes(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def minimal_docx(text: str = "Jane Doe") -> bytes:
    """A real .docx made by python-docx, holding one paragraph."""
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out.getvalue()


def docx_bomb(unpacked_mb: int, *, entries: int = 1) -> bytes:
    """A zip with the parts of a .docx plus `entries` members of zeros, `unpacked_mb` in all."""
    out = io.BytesIO()
    chunk = b"\x00" * (1024 * 1024)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES_XML)
        zf.writestr("word/document.xml", b"<w:document/>")
        per_entry = max(1, unpacked_mb // entries)
        for i in range(entries):
            with zf.open(f"word/media/zeros{i}.bin", "w") as member:
                for _ in range(per_entry):
                    member.write(chunk)
    return out.getvalue()


class GeneratedStream:
    """A read-only file object that makes `total` bytes on demand and counts what was read."""

    def __init__(self, total: int, head: bytes = b"%PDF-1.7\n", fill: bytes = b"0") -> None:
        self.total = total
        self.consumed = 0
        self._head = head
        self._chunks = self._generate(fill)
        self._pending = b""

    def _generate(self, fill: bytes) -> Iterator[bytes]:
        yield self._head
        block = fill * 65536
        remaining = self.total - len(self._head)
        while remaining > 0:
            yield block[:remaining]
            remaining -= len(block)

    def read(self, size: int = -1, /) -> bytes:
        if not self._pending:
            self._pending = next(self._chunks, b"")
        if size < 0:
            size = len(self._pending)
        data, self._pending = self._pending[:size], self._pending[size:]
        self.consumed += len(data)
        return data
