"""Resume intake: safe storage of uploads and imports, text extraction and field parsing.

A plain library (no Flask): the connect-flow views call `store_upload` or `fetch_remote`,
then `parse_file`, and show the candidate each `ResumeError.message` they catch. The
dashboard replaces or deletes a candidate's resume on file through `portal.resumes.records`.
"""

from __future__ import annotations

from portal.resumes.errors import (
    EmptyFile,
    ExtractionFailed,
    FileTooLarge,
    NoFileChosen,
    RemoteFetchFailed,
    RemoteFetchRefused,
    ResumeError,
    UnsafeArchive,
    UnsupportedFile,
    human_size,
)
from portal.resumes.extract import extract_text
from portal.resumes.parse import CONTACT_FIELDS, ParsedResume, parse_file, parse_resume
from portal.resumes.remote import fetch_remote
from portal.resumes.skills import InterestKeywords
from portal.resumes.sniff import CONTENT_TYPES, ZipLimits
from portal.resumes.storage import (
    StoredResume,
    delete_resume,
    kind_for_content_type,
    resume_path,
    sanitize_filename,
    store_upload,
)

__all__ = [
    "CONTACT_FIELDS",
    "CONTENT_TYPES",
    "EmptyFile",
    "ExtractionFailed",
    "FileTooLarge",
    "InterestKeywords",
    "NoFileChosen",
    "ParsedResume",
    "RemoteFetchFailed",
    "RemoteFetchRefused",
    "ResumeError",
    "StoredResume",
    "UnsafeArchive",
    "UnsupportedFile",
    "ZipLimits",
    "delete_resume",
    "extract_text",
    "fetch_remote",
    "human_size",
    "kind_for_content_type",
    "parse_file",
    "parse_resume",
    "resume_path",
    "sanitize_filename",
    "store_upload",
]
