"""Rendering, message building, the outbox, the sender worker and the development sink."""

from __future__ import annotations

from mailer.bounces import (
    BounceOutcome,
    BounceRoute,
    MaildirRun,
    Report,
    ReportKind,
    UnusableReport,
    parse_report,
    process_report,
    read_maildir,
)
from mailer.config import MailSettings, SmtpTarget
from mailer.eligibility import skip_reason
from mailer.errors import (
    LinkNotSigned,
    MailerError,
    PermanentSendError,
    SendError,
    TemplateNotFound,
    TransientSendError,
)
from mailer.i18n import message_locale, message_locales, translations
from mailer.links import sign_links, signed_link
from mailer.message import (
    HeaderError,
    OutgoingMessage,
    addr_spec,
    build_message_bytes,
    needs_smtputf8,
    uri_list,
)
from mailer.models import (
    BounceScore,
    Campaign,
    CampaignStatus,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
)
from mailer.outbox import (
    OutboxReport,
    claim_batch,
    enqueue,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_skipped,
    outbox_report,
)
from mailer.privacy import OUTBOX_DATA
from mailer.render import RenderedEmail, Renderer
from mailer.sender import Sender, SmtpSender
from mailer.sink import MaildirStore, MailSink, MemoryStore, MessageStore, SinkMessage, free_port
from mailer.verp import bounce_mailbox, parse_verp, verp_address
from mailer.worker import BatchResult, OutboxWorker, retry_delay

# OUTBOX_DATA: importing any part of mailer registers the outbox's export and erasure hook.
__all__ = [
    "OUTBOX_DATA",
    "BatchResult",
    "BounceOutcome",
    "BounceRoute",
    "BounceScore",
    "Campaign",
    "CampaignStatus",
    "HeaderError",
    "LinkNotSigned",
    "MailSettings",
    "MailSink",
    "MaildirRun",
    "MaildirStore",
    "MailerError",
    "MemoryStore",
    "MessageKind",
    "MessageStore",
    "OutboxMessage",
    "OutboxReport",
    "OutboxStatus",
    "OutboxWorker",
    "OutgoingMessage",
    "PermanentSendError",
    "RenderedEmail",
    "Renderer",
    "Report",
    "ReportKind",
    "SendError",
    "Sender",
    "SinkMessage",
    "SmtpSender",
    "SmtpTarget",
    "TemplateNotFound",
    "TransientSendError",
    "UnusableReport",
    "addr_spec",
    "bounce_mailbox",
    "build_message_bytes",
    "claim_batch",
    "enqueue",
    "free_port",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "mark_skipped",
    "message_locale",
    "message_locales",
    "needs_smtputf8",
    "outbox_report",
    "parse_report",
    "parse_verp",
    "process_report",
    "read_maildir",
    "retry_delay",
    "sign_links",
    "signed_link",
    "skip_reason",
    "translations",
    "uri_list",
    "verp_address",
]
