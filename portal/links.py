"""Absolute signed links to put in emails and pages."""

from __future__ import annotations

from portal.config import Settings
from preferences.models import Candidate
from preferences.tokens import LinkPurpose, make_link_token


def preference_url(settings: Settings, candidate: Candidate) -> str:
    """The candidate's preference center, valid for 90 days, no login needed."""
    token = make_link_token(settings.secret_keys, LinkPurpose.PREFERENCES, candidate)
    return f"{settings.base_url}/preferences/{token}"


def one_click_url(settings: Settings, candidate: Candidate, list_ref: str) -> str:
    """The RFC 8058 unsubscribe URL for one list: "interest:<id>" or "mass_email"."""
    token = make_link_token(settings.secret_keys, LinkPurpose.ONE_CLICK, candidate, l=list_ref)
    return f"{settings.base_url}/unsubscribe/{token}"
