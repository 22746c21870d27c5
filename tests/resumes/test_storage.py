"""Storing uploads: content sniffing, size caps, zip limits, names and permissions."""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import stat
import tracemalloc
from pathlib import Path

import pytest

from portal.resumes import (
    CONTENT_TYPES,
    EmptyFile,
    FileTooLarge,
    StoredResume,
    UnsafeArchive,
    UnsupportedFile,
    ZipLimits,
    delete_resume,
    kind_for_content_type,
    resume_path,
    sanitize_filename,
    store_upload,
)
from preferences.models import is_resume_storage_name
from tests.resumes.support import (
    CONTENT_TYPES_XML,
    ELF_HEADER,
    PNG_BYTES,
    GeneratedStream,
    corpus_bytes,
    docx_bomb,
    minimal_docx,
    zip_bytes,
)

MB = 1024 * 1024


def store(data: bytes, name: str, upload_dir: Path, max_bytes: int = 10 * MB) -> StoredResume:
    return store_upload(io.BytesIO(data), name, upload_dir, max_bytes=max_bytes)


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


def test_pdf_named_txt_is_stored_as_pdf(upload_dir: Path) -> None:
    """The type comes from the bytes: a PDF called resume.txt is a PDF."""
    data = corpus_bytes("12_minimal.pdf")
    stored = store_upload(io.BytesIO(data), "resume.txt", upload_dir, max_bytes=10 * MB)
    assert stored.kind == "pdf"
    assert stored.content_type == "application/pdf"
    assert stored.original_filename == "resume.txt"
    assert stored.size_bytes == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert (upload_dir / stored.storage_name).read_bytes() == data


def test_docx_and_text_are_recognised(upload_dir: Path) -> None:
    """A real .docx is "docx", UTF-8 and UTF-16 (with BOM) text are "text"."""
    docx_file = store_upload(io.BytesIO(minimal_docx()), "cv", upload_dir, max_bytes=MB)
    utf8 = store_upload(io.BytesIO("Zoë O'Brien\n".encode()), "cv.pdf", upload_dir, max_bytes=MB)
    utf16 = store_upload(
        io.BytesIO(codecs.BOM_UTF16_BE + "Søren\r\n".encode("utf-16-be")),
        "cv.docx",
        upload_dir,
        max_bytes=MB,
    )
    assert (docx_file.kind, docx_file.content_type) == ("docx", CONTENT_TYPES["docx"])
    assert (utf8.kind, utf8.content_type) == ("text", "text/plain; charset=utf-8")
    assert (utf16.kind, utf16.content_type) == ("text", "text/plain; charset=utf-16")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (ELF_HEADER, "resume.pdf"),
        (PNG_BYTES, "resume.pdf"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100, "resume.docx"),
        (zip_bytes({"hello.txt": b"hi"}), "resume.docx"),
        (zip_bytes({"[Content_Types].xml": CONTENT_TYPES_XML}), "resume.docx"),
        ("Zoë".encode("latin-1") + b" plain but not UTF-8", "resume.txt"),
        (b"text with a bell \x07 in it", "resume.txt"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "resume.doc"),
    ],
    ids=["elf", "png", "windows-exe", "plain-zip", "zip-without-document", "latin1", "bell", "ole"],
)
def test_anything_else_is_refused_and_nothing_is_kept(
    data: bytes, name: str, upload_dir: Path
) -> None:
    """Executables, images, non-docx zips, legacy .doc and non-UTF-8 text are UnsupportedFile."""
    with pytest.raises(UnsupportedFile) as caught:
        store(data, name, upload_dir)
    assert "PDF" in caught.value.message
    assert list(upload_dir.iterdir()) == []


def test_macro_enabled_document_renamed_docx_is_refused(upload_dir: Path) -> None:
    """A .docm (vbaProject.bin inside) posing as .docx is refused."""
    data = zip_bytes(
        {
            "[Content_Types].xml": CONTENT_TYPES_XML,
            "word/document.xml": b"<w:document/>",
            "word/vbaProject.bin": b"\x00" * 64,
        }
    )
    with pytest.raises(UnsupportedFile):
        store(data, "cv.docx", upload_dir)


def test_empty_and_blank_files_are_refused(upload_dir: Path) -> None:
    """A 0-byte file, or a text file of only whitespace, is EmptyFile."""
    with pytest.raises(EmptyFile) as caught:
        store(b"", "cv.pdf", upload_dir)
    assert caught.value.message.startswith("That file is empty")
    with pytest.raises(EmptyFile):
        store(b" \n\t\r\n", "cv.txt", upload_dir)
    assert list(upload_dir.iterdir()) == []


def test_fifty_megabytes_stop_at_the_cap_without_buffering(upload_dir: Path) -> None:
    """A 50 MB stream against a 10 MB cap: FileTooLarge, no partial file, bounded memory."""
    stream = GeneratedStream(50 * MB)
    tracemalloc.start()
    try:
        with pytest.raises(FileTooLarge) as caught:
            store_upload(stream, "big.pdf", upload_dir, max_bytes=10 * MB)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert list(upload_dir.iterdir()) == []
    assert stream.consumed <= 10 * MB + 64 * 1024  # it stopped reading right after the cap
    assert peak < 2 * MB, f"peak {peak} bytes: the upload was buffered"
    assert "10 MB" in caught.value.message


def test_exactly_the_cap_is_accepted(upload_dir: Path) -> None:
    """The cap is inclusive: max_bytes bytes are fine, one more is not."""
    data = b"%PDF-1.7\n" + b"0" * 991
    assert store(data, "a.pdf", upload_dir, max_bytes=1000).size_bytes == 1000
    with pytest.raises(FileTooLarge):
        store(data + b"0", "a.pdf", upload_dir, max_bytes=1000)


def test_docx_bomb_is_an_unsafe_archive(upload_dir: Path) -> None:
    """60 MB of zeros packed into a small .docx is refused by the total-size limit."""
    bomb = docx_bomb(60, entries=6)  # 10 MB each: ratio alone would also catch it
    assert len(bomb) < 200 * 1024
    with pytest.raises(UnsafeArchive) as caught:
        store(bomb, "cv.docx", upload_dir)
    assert "Word" in caught.value.message
    assert list(upload_dir.iterdir()) == []


def test_docx_with_one_overcompressed_entry_is_unsafe(upload_dir: Path) -> None:
    """A single entry compressed beyond 100:1 (above 1 MB unpacked) is refused."""
    with pytest.raises(UnsafeArchive):
        store(docx_bomb(3), "cv.docx", upload_dir)


def test_docx_with_too_many_entries_is_unsafe(upload_dir: Path) -> None:
    """More zip entries than the limit is refused before zipfile reads them all."""
    entries = {"[Content_Types].xml": CONTENT_TYPES_XML, "word/document.xml": b"<w:document/>"}
    entries.update({f"word/media/{i}.xml": b"x" for i in range(30)})
    with pytest.raises(UnsafeArchive):
        store_upload(
            io.BytesIO(zip_bytes(entries)),
            "cv.docx",
            upload_dir,
            max_bytes=MB,
            zip_limits=ZipLimits(max_entries=20),
        )


def test_stored_files_get_random_names_and_private_modes(tmp_path: Path) -> None:
    """Random hex names, files 0600, a new folder 0700, and nothing written outside it."""
    upload_dir = tmp_path / "deep" / "uploads"
    before = set(tmp_path.rglob("*"))
    data = corpus_bytes("08_plain.txt")
    first = store(data, "../../etc/cron.d/evil.txt", upload_dir)
    second = store(data, "../../etc/cron.d/evil.txt", upload_dir)
    assert first.storage_name != second.storage_name
    for stored in (first, second):
        assert len(stored.storage_name) == 32
        int(stored.storage_name, 16)
        path = upload_dir / stored.storage_name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stored.original_filename == "evil.txt"
    assert stat.S_IMODE(upload_dir.stat().st_mode) == 0o700
    created = set(tmp_path.rglob("*")) - before
    assert created == {
        tmp_path / "deep",
        upload_dir,
        upload_dir / first.storage_name,
        upload_dir / second.storage_name,
    }


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\My CV.pdf", "My CV.pdf"),
        ("cv\u202efdp.exe", "cvfdp.exe"),
        ("..hidden.pdf", "hidden.pdf"),
        ("", "resume"),
        ("../", "resume"),
        ("bad\x00name\r\n.pdf", "badname.pdf"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_original_filename_is_sanitized(given: str, expected: str) -> None:
    """Folders, control and bidi characters go; the length is capped, keeping the extension."""
    assert sanitize_filename(given) == expected


@pytest.mark.parametrize(
    "name",
    ["../x", "", "..", "/etc/passwd", "A" * 32, "0" * 31, "0" * 32 + ".part", "0" * 31 + "/"],
)
def test_resume_path_refuses_anything_but_a_token(tmp_path: Path, name: str) -> None:
    """resume_path only accepts the 32-hex-digit names store_upload makes."""
    with pytest.raises(ValueError, match="storage name"):
        resume_path(tmp_path, name)


def test_delete_resume_removes_the_file_once(tmp_path: Path) -> None:
    """delete_resume removes the stored file; deleting again is not an error."""
    stored = store(corpus_bytes("08_plain.txt"), "cv.txt", tmp_path)
    path = resume_path(tmp_path, stored.storage_name)
    assert path.exists()
    delete_resume(tmp_path, stored.storage_name)
    assert not path.exists()
    delete_resume(tmp_path, stored.storage_name)


def test_kind_round_trips_through_the_stored_content_type() -> None:
    """The Resume row's content type maps back to the kind extract_text wants."""
    for kind, content_type in CONTENT_TYPES.items():
        assert kind_for_content_type(content_type) == kind
    assert kind_for_content_type("text/plain; charset=utf-16") == "text"
    assert kind_for_content_type("image/png") is None


def test_existing_upload_dir_is_used_as_is(tmp_path: Path) -> None:
    """An upload folder the operator made keeps its own mode."""
    upload_dir = tmp_path / "uploads"
    upload_dir.mkdir()
    os.chmod(upload_dir, 0o710)  # noqa: S103 - an operator's choice the code must keep
    store(corpus_bytes("08_plain.txt"), "cv.txt", upload_dir)
    assert stat.S_IMODE(upload_dir.stat().st_mode) == 0o710


def test_stored_names_follow_the_resume_models_rule(upload_dir: Path) -> None:
    """The names store_upload gives pass `preferences.models.is_resume_storage_name`, the one
    rule erasure also checks before deleting a file; anything path-like fails it."""
    stored = store_upload(
        io.BytesIO(b"Ana Silva\nPython developer\n"), "cv.txt", upload_dir, max_bytes=MB
    )
    assert is_resume_storage_name(stored.storage_name)
    for odd in ("../etc/passwd", stored.storage_name.upper(), stored.storage_name + "\n", "", None):
        assert not is_resume_storage_name(odd)
