"""The resume error tree and the sentences candidates see."""

from __future__ import annotations

import pytest

import portal.resumes as resumes
from portal.resumes import (
    EmptyFile,
    ExtractionFailed,
    FileTooLarge,
    RemoteFetchFailed,
    RemoteFetchRefused,
    ResumeError,
    UnsafeArchive,
    UnsupportedFile,
)


@pytest.mark.parametrize(
    "error",
    [
        UnsupportedFile("elf"),
        FileTooLarge(10 * 1024 * 1024),
        UnsafeArchive("ratio"),
        EmptyFile(),
        RemoteFetchRefused("host"),
        RemoteFetchFailed("timeout"),
        ExtractionFailed("xref"),
    ],
)
def test_every_error_is_a_resume_error_with_a_friendly_sentence(error: ResumeError) -> None:
    """Views catch ResumeError and show .message: a full sentence, without the technical detail."""
    assert isinstance(error, ResumeError)
    assert error.message.endswith(".")
    assert error.message[0].isupper()
    if error.detail:
        assert error.detail not in error.message


def test_file_too_large_names_the_limit() -> None:
    """The size limit is shown the way the settings state it."""
    assert "10 MB" in FileTooLarge(10 * 1024 * 1024).message
    assert "512 KB" in FileTooLarge(512 * 1024).message
    assert FileTooLarge(5 * 1024 * 1024).max_bytes == 5 * 1024 * 1024


def test_message_can_be_overridden_per_instance() -> None:
    """A raise site may give a more precise sentence without changing the class default."""
    error = RemoteFetchFailed("HTTP 404", message="Check the sharing settings.")
    assert error.message == "Check the sharing settings."
    assert RemoteFetchFailed().message != error.message


def test_public_names_are_exported() -> None:
    """Everything in portal.resumes.__all__ exists, so the views' imports keep working."""
    for name in resumes.__all__:
        assert hasattr(resumes, name), name
