"""Rendering, message building, the outbox, the sender worker and the development sink."""

from __future__ import annotations

from mailer.config import MailSettings, SmtpTarget
from mailer.eligibility import skip_reason
from mailer.errors import (
    MailerError,
    PermanentSendError,
    SendError,
    TemplateNotFound,
    TransientSendError,
)
from mailer.message import build_message, needs_smtputf8
from mailer.models import (
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
from mailer.render import RenderedEmail, Renderer
from mailer.sender import Sender, SmtpSender
from mailer.sink import MaildirStore, MailSink, MemoryStore, MessageStore, SinkMessage, free_port
from mailer.worker import BatchResult, OutboxWorker, retry_delay

__all__ = [
    "BatchResult",
    "Campaign",
    "CampaignStatus",
    "MailSettings",
    "MailSink",
    "MaildirStore",
    "MailerError",
    "MemoryStore",
    "MessageKind",
    "MessageStore",
    "OutboxMessage",
    "OutboxReport",
    "OutboxStatus",
    "OutboxWorker",
    "PermanentSendError",
    "RenderedEmail",
    "Renderer",
    "SendError",
    "Sender",
    "SinkMessage",
    "SmtpSender",
    "SmtpTarget",
    "TemplateNotFound",
    "TransientSendError",
    "build_message",
    "claim_batch",
    "enqueue",
    "free_port",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "mark_skipped",
    "needs_smtputf8",
    "outbox_report",
    "retry_delay",
    "skip_reason",
]
