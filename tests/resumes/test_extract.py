"""Text extraction: where text hides in PDF and DOCX, and graceful failure on broken files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from fpdf import FPDF

from portal.resumes import ExtractionFailed, extract_text, parse_file, store_upload
from tests.resumes.support import CONTENT_TYPES_XML, CORPUS, corpus_bytes, zip_bytes

MB = 1024 * 1024


def stored_path(data: bytes, upload_dir: Path) -> tuple[Path, str]:
    stored = store_upload(io.BytesIO(data), "cv", upload_dir, max_bytes=10 * MB)
    return upload_dir / stored.storage_name, stored.kind


def test_docx_header_and_footer_text_is_extracted() -> None:
    """Contact details in the page header and footer are part of the text."""
    text = extract_text(CORPUS / "07_header_footer.docx", "docx")
    lines = text.splitlines()
    assert lines[0] == "Olivia Bennett | London, UK"
    assert lines[-1].startswith("olivia.bennett@example.co.uk")


def test_docx_table_rows_become_lines() -> None:
    """A one-paragraph-per-cell table row reads as "label | value"."""
    text = extract_text(CORPUS / "06_contact_table.docx", "docx")
    assert "Phone | +1 (416) 555-0199" in text.splitlines()


def test_docx_sidebar_cell_keeps_one_line_per_paragraph() -> None:
    """A two-column layout table cell with many paragraphs keeps them as separate lines."""
    lines = extract_text(CORPUS / "15_two_column.docx", "docx").splitlines()
    assert lines[:3] == ["Sofia Rossi", "Milan, Italy", "+39 02 1234 5678"]


def test_docx_hyperlink_targets_are_extracted() -> None:
    """A link shown as "LinkedIn" contributes its target address to the text."""
    text = extract_text(CORPUS / "10_hyperlinks.docx", "docx")
    assert "https://www.linkedin.com/in/amara-okafor" in text


def test_docx_text_box_and_content_control_are_read(tmp_path: Path) -> None:
    """Text inside a text box and a content control (w:sdt) is found once."""
    document = docx.Document()
    body = document.element.body
    sdt = parse_xml(
        '<w:sdt xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:sdtContent><w:p><w:r><w:t>in a control</w:t></w:r></w:p></w:sdtContent></w:sdt>"
    )
    box = parse_xml(
        '<w:p xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
        ' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
        "<w:r><w:t>before</w:t></w:r><w:r><mc:AlternateContent>"
        "<mc:Choice><w:txbxContent><w:p><w:r><w:t>in a box</w:t></w:r></w:p></w:txbxContent>"
        "</mc:Choice><mc:Fallback><w:txbxContent><w:p><w:r><w:t>in a box</w:t></w:r></w:p>"
        "</w:txbxContent></mc:Fallback></mc:AlternateContent></w:r></w:p>"
    )
    body.insert(0, sdt)
    body.insert(1, box)
    path = tmp_path / "boxes.docx"
    document.save(str(path))
    lines = extract_text(path, "docx").splitlines()
    assert lines[:3] == ["in a control", "before", "in a box"]
    assert lines.count("in a box") == 1


def test_pdf_link_annotations_are_extracted() -> None:
    """A PDF link shown as "GitHub" contributes its URI."""
    assert "https://github.com/ecarter" in extract_text(CORPUS / "01_one_column.pdf", "pdf")


def test_scanned_pdf_has_no_text_and_no_error() -> None:
    """An image-only PDF extracts to "" and parses to an empty, failed result."""
    path = CORPUS / "09_scanned.pdf"
    assert extract_text(path, "pdf").strip() == ""
    parsed = parse_file(path, "pdf", [])
    assert parsed.failed
    assert all(value is None for value in parsed.contact_fields().values())


def test_truncated_pdf_fails_gracefully(tmp_path: Path) -> None:
    """Half a PDF is accepted on upload but extraction fails: parse_file returns empty."""
    data = corpus_bytes("12_minimal.pdf")
    path, kind = stored_path(data[: len(data) // 2], tmp_path)
    assert kind == "pdf"
    with pytest.raises(ExtractionFailed) as caught:
        extract_text(path, kind)
    assert "couldn't read" in caught.value.message
    parsed = parse_file(path, kind, [])
    assert parsed.failed
    assert parsed.as_dict()["email"] is None


def test_password_protected_pdf_fails_gracefully(tmp_path: Path) -> None:
    """A PDF that needs a password to open is ExtractionFailed, not a crash."""
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(text="Jane Doe")
    path = tmp_path / "locked.pdf"
    pdf.output(str(path))
    with pytest.raises(ExtractionFailed):
        extract_text(path, "pdf")
    assert parse_file(path, "pdf", []).failed


def test_docx_with_broken_xml_fails_gracefully(tmp_path: Path) -> None:
    """A zip with the right part names but garbage XML is ExtractionFailed."""
    data = zip_bytes(
        {
            "[Content_Types].xml": CONTENT_TYPES_XML,
            "word/document.xml": b"<w:document><unclosed>",
        }
    )
    path, kind = stored_path(data, tmp_path)
    assert kind == "docx"
    with pytest.raises(ExtractionFailed):
        extract_text(path, kind)
    assert parse_file(path, kind, []).failed


def test_docx_entry_lying_about_its_size_cannot_unpack_more(tmp_path: Path) -> None:
    """A member whose declared size is small is never inflated past it (CRC check fails)."""
    real = minimal_docx_with_big_document()
    data = bytearray(real)
    # Shrink the declared size of word/document.xml in both headers.
    with zipfile.ZipFile(io.BytesIO(real)) as zf:
        info = zf.getinfo("word/document.xml")
    local = info.header_offset
    data[local + 22 : local + 26] = (100).to_bytes(4, "little")
    for at in _central_entries(bytes(data)):
        name_len = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + name_len] == b"word/document.xml":
            data[at + 24 : at + 28] = (100).to_bytes(4, "little")
    path, kind = stored_path(bytes(data), tmp_path)
    with pytest.raises(ExtractionFailed):
        extract_text(path, kind)


def minimal_docx_with_big_document() -> bytes:
    document = docx.Document()
    for _ in range(2000):
        document.add_paragraph("padding text " * 5)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _central_entries(data: bytes) -> list[int]:
    found, at = [], data.find(b"PK\x01\x02")
    while at >= 0:
        found.append(at)
        at = data.find(b"PK\x01\x02", at + 4)
    return found


def test_unknown_kind_is_extraction_failed(tmp_path: Path) -> None:
    """A kind other than pdf, docx or text is refused the same way as a broken file."""
    path = tmp_path / "x"
    path.write_bytes(b"hello")
    with pytest.raises(ExtractionFailed):
        extract_text(path, "rtf")


def test_missing_file_is_extraction_failed(tmp_path: Path) -> None:
    """A stored file that has gone missing does not raise OSError to the caller."""
    with pytest.raises(ExtractionFailed):
        extract_text(tmp_path / "gone", "pdf")
    assert parse_file(tmp_path / "gone", "docx", []).failed
