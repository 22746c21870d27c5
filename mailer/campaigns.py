"""Send-time context of campaign mail: the campaign's subject and body, once per batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.config import MailSettings
from mailer.models import Campaign, CampaignStatus, OutboxMessage


def body_html(body: str) -> Markup:
    """The campaign body as HTML paragraphs, every character escaped.

    Recruiters write plain text (blank lines between paragraphs); nothing they
    type becomes markup.
    """
    paragraphs = [p.strip() for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(escape(line) for line in p.split("\n")))
        for p in paragraphs
    )


def campaign_parts(
    session: Session, messages: Sequence[OutboxMessage], settings: MailSettings
) -> dict[int, dict[str, Any] | str]:
    """Per outbox id: subject, bodies and footer reason; a cancelled campaign is a skip."""
    ids = {m.context.get("campaign_id") for m in messages}
    campaigns = {
        c.id: c for c in session.scalars(select(Campaign).where(Campaign.id.in_(ids - {None})))
    }
    reason = f"You opted in to emails from the {settings.company_name} talent community."
    parts: dict[int, dict[str, Any] | str] = {}
    for message in messages:
        campaign = campaigns.get(message.context.get("campaign_id"))  # type: ignore[arg-type]
        if campaign is None:
            parts[message.id] = "the campaign no longer exists"
        elif campaign.status is CampaignStatus.CANCELLED:
            parts[message.id] = "the campaign was cancelled"
        else:
            parts[message.id] = {
                "subject": campaign.subject,
                "body_text": campaign.body,
                "body_html": body_html(campaign.body),
                "reason": reason,
            }
    return parts
