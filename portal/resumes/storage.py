"""Store resume uploads under random names, streaming, with size and content-type checks."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from portal.resumes.errors import EmptyFile, FileTooLarge, UnsupportedFile
from portal.resumes.sniff import (
    CONTENT_TYPES,
    DEFAULT_ZIP_LIMITS,
    HEAD_BYTES,
    ZipLimits,
    detect_kind,
    plausible_head,
)
from preferences.models import is_resume_storage_name, new_resume_storage_name

CHUNK_SIZE = 64 * 1024
MAX_FILENAME_CHARS = 200
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


class ReadableStream(Protocol):
    """Anything with `read(size) -> bytes`: a Werkzeug upload stream, a file, a download."""

    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class StoredResume:
    """A resume file accepted and stored; the fields map onto the Resume model."""

    storage_name: str
    original_filename: str
    kind: str  # "pdf" | "docx" | "text"
    content_type: str
    size_bytes: int
    sha256: str


def store_upload(
    stream: BinaryIO | ReadableStream,
    original_filename: str,
    upload_dir: Path,
    *,
    max_bytes: int,
    zip_limits: ZipLimits = DEFAULT_ZIP_LIMITS,
) -> StoredResume:
    """Copy `stream` into `upload_dir` under a random name and return what was stored.

    The type is decided from the content only. On any error nothing is left behind.
    """
    upload_dir = Path(upload_dir)
    upload_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    storage_name = new_resume_storage_name()
    # Written under a ".part" name first, so a crash never leaves a half file that looks stored.
    partial = upload_dir / f"{storage_name}.part"
    fd = os.open(partial, _OPEN_FLAGS, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)  # whatever the umask
            size, digest = _copy(stream, out, max_bytes)
        if size == 0:
            raise EmptyFile("0 bytes")
        kind, content_type = detect_kind(partial, zip_limits)
        os.replace(partial, upload_dir / storage_name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return StoredResume(
        storage_name=storage_name,
        original_filename=sanitize_filename(original_filename),
        kind=kind,
        content_type=content_type,
        size_bytes=size,
        sha256=digest,
    )


def _copy(stream: BinaryIO | ReadableStream, out: BinaryIO, max_bytes: int) -> tuple[int, str]:
    """Copy in chunks, hashing as it goes; stop as soon as the size cap is passed."""
    sha = hashlib.sha256()
    size = 0
    head = b""
    head_checked = False
    while True:
        chunk = stream.read(CHUNK_SIZE)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise FileTooLarge(max_bytes)
        if not head_checked:
            head = (head + chunk)[:HEAD_BYTES]
            if len(head) >= HEAD_BYTES:
                head_checked = True
                _check_head(head)
        sha.update(chunk)
        out.write(chunk)
    if not head_checked and head:
        _check_head(head)
    return size, sha.hexdigest()


def _check_head(head: bytes) -> None:
    if not plausible_head(head):
        raise UnsupportedFile("opening bytes are not PDF, zip or text")


def sanitize_filename(name: str) -> str:
    """Return a display-safe base name: no folders, control or bidi characters, capped length."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    # Category C holds control, format (e.g. right-to-left override), surrogate and unassigned.
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_FILENAME_CHARS - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_FILENAME_CHARS].rstrip()
    return name or "resume"


def kind_for_content_type(content_type: str) -> str | None:
    """Map a stored content type (as on the Resume row) back to the kind `extract_text` takes."""
    base = content_type.split(";", 1)[0].strip().lower()
    for kind, known in CONTENT_TYPES.items():
        if known.split(";", 1)[0] == base:
            return kind
    return None


def resume_path(upload_dir: Path, storage_name: str) -> Path:
    """Return the path of a stored resume; refuses anything but a name `store_upload` made."""
    if not is_resume_storage_name(storage_name):
        raise ValueError(f"not a resume storage name: {storage_name!r}")
    return Path(upload_dir) / storage_name


def delete_resume(upload_dir: Path, storage_name: str) -> None:
    """Delete a stored resume; deleting one that is already gone is not an error."""
    resume_path(upload_dir, storage_name).unlink(missing_ok=True)
