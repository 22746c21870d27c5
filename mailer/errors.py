"""The exception tree of the mailer package."""

from __future__ import annotations


class MailerError(Exception):
    """Base of every error the mailer raises on purpose."""


class TemplateNotFound(MailerError):
    """No email template by that name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no email template named {name!r}")
        self.name = name


class SendError(MailerError):
    """Sending one message failed."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransientSendError(SendError):
    """A failure worth retrying later: 4xx, a dropped connection, a timeout."""


class PermanentSendError(SendError):
    """A failure that retrying will not fix: a 5xx answer.

    `bounce` is set when the answer is about this recipient or this message (5xx
    to RCPT or to DATA): a bounce at send time, which `mailer.classify` judges like
    a DSN (an unknown user suppresses the address, a full mailbox or a spam block
    does not). A refused login or sender says nothing about the recipient.
    """

    def __init__(self, message: str, *, code: int | None = None, bounce: bool = False):
        super().__init__(message, code=code)
        self.bounce = bounce


class LinkNotSigned(MailerError):
    """A queued message's link can't be signed: no keys, no candidate or a bad recipe."""
