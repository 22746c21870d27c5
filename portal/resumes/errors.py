"""The exception tree of resume intake: each error carries a sentence fit to show a candidate."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from portal.errors import PortalError


def N_(message: str) -> str:
    """Mark a message for the catalogs (`make translations`); it is translated when shown.

    The resume sandbox imports this module, so it stays free of heavier imports (such as
    `jobs.wording`, whose package loads the models).
    """
    return message


class ResumeError(PortalError):
    """Base of every error resume intake raises on purpose; `.message` is for the candidate."""

    message = N_("We couldn't use that file. Please try another one, or skip this step.")
    # The catalog message and its values when `message` was filled in from a pattern.
    message_pattern: str | None = None
    message_args: Mapping[str, object] = {}

    def __init__(self, detail: str = "", *, message: str | None = None) -> None:
        super().__init__(detail or message or self.message)
        # The detail is for logs; it may name hosts or sizes the candidate needn't see.
        self.detail = detail
        if message is not None:
            self.message = message

    def display_message(
        self, gettext: Callable[[str], str], format_size: Callable[[int], str] | None = None
    ) -> str:
        """`message` translated by `gettext` (the messages are marked for the catalogs);
        a size in it is written by `format_size` (the reader's locale; default English)."""
        if self.message_pattern is not None:
            return gettext(self.message_pattern) % self.display_args(format_size or human_size)
        return gettext(self.message)

    def display_args(self, format_size: Callable[[int], str]) -> dict[str, object]:
        """The values of `message_pattern`, sizes written by `format_size`."""
        return dict(self.message_args)


class UnsupportedFile(ResumeError):
    """The content is not a PDF, a Word (.docx) document or plain text."""

    message = N_(
        "We can read PDF, Word (.docx) and plain-text resumes. "
        "Please upload your resume in one of those formats."
    )


class FileTooLarge(ResumeError):
    """The file is bigger than the configured limit."""

    def __init__(self, max_bytes: int, detail: str = "") -> None:
        pattern = N_("That file is too large. Please upload a resume smaller than %(limit)s.")
        args = {"limit": human_size(max_bytes)}
        super().__init__(detail or f"more than {max_bytes} bytes", message=pattern % args)
        self.message_pattern = pattern
        self.message_args = args
        self.max_bytes = max_bytes

    def display_args(self, format_size: Callable[[int], str]) -> dict[str, object]:
        return {"limit": format_size(self.max_bytes)}


class UnsafeArchive(ResumeError):
    """A .docx whose zip structure is suspicious (too many entries, too large when unpacked)."""

    message = N_(
        "We couldn't open that Word document safely. Please save it again as .docx or PDF "
        "and upload it once more."
    )


class NoFileChosen(ResumeError):
    """A form was posted without a file in its file field."""

    message = N_("Choose a file to upload.")


class EmptyFile(ResumeError):
    """The file has no content at all."""

    message = N_("That file is empty. Please choose the file that holds your resume.")


class RemoteFetchRefused(ResumeError):
    """A link we will not fetch: not HTTPS, not an allowed host, or a private address."""

    message = N_(
        "We can only import resumes shared from Google Drive or Dropbox. "
        "Please upload the file from your device instead."
    )


class RemoteFetchFailed(ResumeError):
    """The remote file could not be downloaded (network error, timeout, HTTP error)."""

    message = N_(
        "We couldn't download your resume just now. Please try again, "
        "or upload the file from your device."
    )


class ExtractionFailed(ResumeError):
    """The file was accepted but its text could not be read (corrupt, truncated, encrypted)."""

    message = N_(
        "Your resume is attached, but we couldn't read its text. Please fill in your details below."
    )


class ParseRefused(ResumeError):
    """Reading the file went over the time or memory budget; nothing of it is kept."""

    message = N_(
        "We couldn't read this file in time; please upload a simpler PDF or Word file, or skip."
    )


class ParserBusy(ResumeError):
    """Every parsing slot of this web process is taken; the visitor should try again shortly."""

    message = N_("We're busy reading other files. Please try again in a few seconds.")
    retry_after_seconds = 5


class UploadQuotaExceeded(ResumeError):
    """This visitor already has as many unclaimed uploads (or bytes) as allowed."""

    message = N_(
        "You've uploaded several files that aren't part of a profile yet. Please submit "
        "your profile with the last one, or try again later."
    )


def human_size(n: int) -> str:
    """Return `n` bytes as a short figure such as "10 MB" or "512 KB".

    English, for logs and the default message; a page writes sizes in its language with
    `portal.web.phrases.local_size`.
    """
    mb = 1024 * 1024
    if n >= mb:
        value = n / mb
        return f"{value:.0f} MB" if value == int(value) else f"{value:.1f} MB"
    return f"{max(1, n // 1024)} KB"
