"""Campaign bodies and their send-time context, read once per campaign and batch.

Recruiters write campaign bodies in Markdown. `body_html` renders it and then
sanitizes the result with an allow-list (nh3): only text formatting, lists,
headings, quotes, code, tables, images and http(s)/mailto links survive, so no
script, event handler, style or `javascript:` URL ever reaches a recipient.

A *test* row (context `"test": true`, no candidate) goes to a recruiter's own
address: its subject says "[Test]" and its footer links point at the console,
because there is no candidate to sign unsubscribe links for. Eligibility lets
such a row through only when its address belongs to an active recruiter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import markdown
import nh3
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.config import MailSettings
from mailer.models import Campaign, CampaignStatus, OutboxMessage
from mailer.outbox import Hold
from mailer.reputation import PAUSE_REASON

TEST_SUBJECT_PREFIX = "[Test] "
ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "hr",
        "i",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Removed with everything inside them, not just unwrapped to their text.
DROPPED_WITH_CONTENT = frozenset({"script", "style"})


def body_html(body: str) -> Markup:
    """The campaign's Markdown body as sanitized HTML, safe to insert into the email."""
    # Raw HTML in the Markdown passes through `markdown` untouched; the
    # allow-list below is what makes the result safe, whatever was typed.
    rendered = markdown.markdown(body.replace("\r\n", "\n"), extensions=["extra", "sane_lists"])
    cleaned = nh3.clean(
        rendered,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 - sanitized by the allow-list just above


def is_test(message: OutboxMessage) -> bool:
    """Whether `message` is a campaign test sent to a recruiter, not to a candidate."""
    return message.context.get("test") is True and message.candidate_id is None


def campaign_parts(
    session: Session, messages: Sequence[OutboxMessage], settings: MailSettings
) -> dict[int, dict[str, Any] | str | Hold]:
    """Per outbox id: subject, bodies and footer reason; a cancelled campaign is a skip.

    A paused campaign's rows are held (`Hold`): not sent, not lost.
    """
    ids = {m.context.get("campaign_id") for m in messages}
    campaigns = {
        c.id: c for c in session.scalars(select(Campaign).where(Campaign.id.in_(ids - {None})))
    }
    reason = f"You opted in to emails from the {settings.company_name} talent community."
    html: dict[int, Markup] = {}
    parts: dict[int, dict[str, Any] | str | Hold] = {}
    for message in messages:
        campaign = campaigns.get(message.context.get("campaign_id"))  # type: ignore[arg-type]
        if campaign is None:
            parts[message.id] = "the campaign no longer exists"
            continue
        test = is_test(message)
        if campaign.status is CampaignStatus.CANCELLED and not test:
            parts[message.id] = "the campaign was cancelled"
            continue
        if campaign.status is CampaignStatus.PAUSED and not test:
            parts[message.id] = Hold(PAUSE_REASON)
            continue
        if campaign.id not in html:
            html[campaign.id] = body_html(campaign.body)
        part: dict[str, Any] = {
            "subject": campaign.subject,
            "body_text": campaign.body,
            "body_html": html[campaign.id],
            "reason": reason,
        }
        if test:
            console = f"{settings.base_url}/admin/campaigns/{campaign.id}"
            part.update(
                subject=TEST_SUBJECT_PREFIX + campaign.subject,
                reason="This is a test send to a recruiter; each recipient's footer "
                "has their own Manage preferences and Unsubscribe links.",
                preferences_url=console,
                unsubscribe_url=console,
            )
        parts[message.id] = part
    return parts
