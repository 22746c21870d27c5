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


# --- hostile resumes: small files that are costly to read (issue 12) ------------------

_WORDS_NS = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_DOCX_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" '
    b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_PACKAGE_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Target="word/document.xml" Type="http://schemas.openxmlformats.org'
    b'/officeDocument/2006/relationships/officeDocument"/></Relationships>'
)


def pdf_with_pages(contents: list[bytes], page_streams: list[int]) -> bytes:
    """A PDF whose page i shows content stream `page_streams[i]` (compressed), in Helvetica."""
    import zlib

    first_page = 4 + len(contents)
    kids = " ".join(f"{first_page + i} 0 R" for i in range(len(page_streams)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(page_streams)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for content in contents:
        packed = zlib.compress(content, 6)
        objects.append(
            f"<< /Length {len(packed)} /Filter /FlateDecode >>\nstream\n".encode()
            + packed
            + b"\nendstream"
        )
    for stream in page_streams:
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (4 + stream)
        )
    return _pdf_objects(objects)


def _pdf_objects(objects: list[bytes]) -> bytes:
    """A PDF file of the numbered `objects` (1 is the catalog), with its xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def shared_stream_pdf(pages: int = 20, operations: int = 60_000, first_line: bytes = b"") -> bytes:
    """Many pages showing one compressed content stream of `operations` text operations.

    With the defaults it is about 8 KB, and its text is read once per page.
    `first_line`, when given, is shown before the rest (e.g. a name and an address).
    """
    lead = b"(%s) Tj 0 -14 Td\n" % first_line if first_line else b""
    letters = b"abcdefghijklmnopqrstuvwxyz"
    runs = b"".join(b"(%c) Tj 0 -1 Td\n" % letters[i % 26] for i in range(operations // 2))
    return pdf_with_pages([b"BT /F1 10 Tf 72 720 Td\n" + lead + runs + b"ET"], [0] * pages)


def glyph_runs_pdf(pages: int = 20, runs: int = 50_000) -> bytes:
    """Pages each of `runs` one-glyph text runs, each placed with its own text matrix."""
    body = b"".join(
        b"1 0 0 1 %d %d Tm (%c) Tj\n" % (i % 600, 700 - (i // 600) % 700, 97 + i % 26)
        for i in range(runs)
    )
    # One stream object per page (each read on its own), the same runs in each.
    contents = [b"BT /F1 1 Tf\n%% page %d\n" % page + body + b"ET" for page in range(pages)]
    return pdf_with_pages(contents, list(range(pages)))


def docx_from_body(chunks: Iterator[bytes] | list[bytes]) -> bytes:
    """A minimal .docx whose body is the concatenated `chunks` (streamed into the zip)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", _DOCX_CONTENT_TYPES)
        zf.writestr("_rels/.rels", _PACKAGE_RELS)
        with zf.open("word/document.xml", "w") as member:
            member.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b"<w:document " + _WORDS_NS + b"><w:body>"
            )
            for chunk in chunks:
                member.write(chunk)
            member.write(b"</w:body></w:document>")
    return out.getvalue()


def empty_paragraph_docx(unpacked: int = 50_000_000, empties: int = 230, seed: int = 7) -> bytes:
    """About `unpacked` bytes of `<w:p/>` with a short random paragraph after every `empties`.

    The random words keep the compression ratio near 80:1, under the 100:1 zip check:
    with the defaults the file is about 620 KB.
    """
    import random

    rng = random.Random(seed)
    table = bytes(b"abcdefghijklmnopqrstuvwxyz"[i % 26] for i in range(256))
    blank = b"<w:p/>" * (empties - 1)

    def chunks() -> Iterator[bytes]:
        written = 0
        while written < unpacked:
            words = rng.randbytes(16).translate(table)
            chunk = blank + b"<w:p><w:r><w:t>%s %s</w:t></w:r></w:p>" % (words[:7], words[7:])
            written += len(chunk)
            yield chunk

    return docx_from_body(chunks())


def nested_tables_docx(depth: int = 80, paragraphs: int = 60_000) -> bytes:
    """Tables nested `depth` deep, the innermost cell holding `paragraphs` paragraphs."""
    inner = b"".join(
        b"<w:p><w:r><w:t>cell %d python</w:t></w:r></w:p>" % i for i in range(paragraphs)
    )
    return docx_from_body(
        [
            b"<w:tbl><w:tr><w:tc>" * depth,
            inner,
            b"</w:tc></w:tr></w:tbl>" * depth,
            b"<w:p/>",
        ]
    )


def one_line_text(size: int = 10 * 1024 * 1024) -> bytes:
    """`size` bytes of words, addresses and numbers, with no line break at all."""
    words = b"python engineer data ana@example.com +1-555-0100 https://example.com Berlin, go "
    return (words * (size // len(words) + 1))[:size]


def flate_bomb_pdf(unpacked_mb: int = 200) -> bytes:
    """One page whose content stream inflates to `unpacked_mb` MB of spaces."""
    import zlib

    packer = zlib.compressobj(9)
    block = b" " * (1024 * 1024)
    packed = b"".join(packer.compress(block) for _ in range(unpacked_mb)) + packer.flush()
    body = (
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream"
    )
    return _pdf_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            body,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>",
        ]
    )
