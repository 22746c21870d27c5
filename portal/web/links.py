"""Absolute signed links to put in emails and pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mailer.links import signed_link
from mailer.models import MessageKind
from mailer.outbox import enqueue_capped
from portal.config import Settings
from preferences.clock import now
from preferences.subscriptions import find_active_candidate
from preferences.tokens import LinkHolder, LinkPurpose, make_link_token


def preference_url(settings: Settings, candidate: LinkHolder) -> str:
    """The candidate's preference center, valid for 90 days, no login needed."""
    token = make_link_token(settings.secret_keys, LinkPurpose.PREFERENCES, candidate)
    return f"{settings.base_url}/preferences/{token}"


def preferences_link(candidate: LinkHolder) -> dict[str, Any]:
    """The preference-center link for a queued email: its recipe, signed when the worker sends."""
    return signed_link(LinkPurpose.PREFERENCES, "/preferences/", candidate)


def one_click_url(settings: Settings, candidate: LinkHolder, list_ref: str) -> str:
    """The RFC 8058 unsubscribe URL for one list: "interest:<id>" or "mass_email"."""
    token = make_link_token(settings.secret_keys, LinkPurpose.ONE_CLICK, candidate, l=list_ref)
    return f"{settings.base_url}/unsubscribe/{token}"


def send_preference_link(db: Session, email: str, settings: Settings) -> None:
    """Email a fresh preference-center link if the address belongs to a member.

    Within `ADDRESS_MAIL_LIMIT` per address only; the caller answers the same either way.
    """
    candidate = find_active_candidate(db, email)
    if candidate is None:
        return
    enqueue_capped(
        db,
        settings.address_mail_caps,
        kind=MessageKind.LOGIN_LINK,
        template="preference_link",
        to_address=candidate.email,
        # At most one such email per address every ten minutes.
        dedupe_key=f"preference-link:{candidate.id}:{int(now().timestamp()) // 600}",
        candidate_id=candidate.id,
        # How to sign the link, not the link: the worker signs it when it sends.
        context={"preferences_url": preferences_link(candidate)},
    )
