"""The connect wizard's draft, kept in the signed session cookie between steps.

Nothing is written to the database until **Submit Profile**; going back and
forth between steps only edits this draft, so nothing entered is lost.
"""

from __future__ import annotations

from typing import Any

from flask import session

DRAFT_KEY = "connect"


def draft() -> dict[str, Any]:
    """Return the current draft, creating an empty one."""
    data = session.get(DRAFT_KEY)
    if not isinstance(data, dict):
        data = {
            "source": "manual",
            "provider": None,
            "email_verified": False,
            "profile": {},
            "interests": [],
            "suggested": [],
            "resume": None,
            "resume_skipped": False,
        }
        session[DRAFT_KEY] = data
    return data


def save(data: dict[str, Any]) -> None:
    session[DRAFT_KEY] = data
    session.modified = True


def clear() -> None:
    session.pop(DRAFT_KEY, None)


def prefill_from_provider(provider: str, claims: dict[str, Any]) -> None:
    """Prefill the draft from a social login's verified ID-token / userinfo claims.

    Only a provider-verified email counts as verified (it skips double opt-in).
    """
    data = draft()
    profile = dict(data.get("profile") or {})
    given = str(claims.get("given_name") or "").strip()
    family = str(claims.get("family_name") or "").strip()
    if not given and not family and claims.get("name"):
        given, _, family = str(claims["name"]).strip().partition(" ")
    email = str(claims.get("email") or "").strip()
    link = str(claims.get("profile") or "").strip()
    for key, value in (("first_name", given), ("last_name", family), ("email", email)):
        if value:
            profile[key] = value[:320]
    if link.startswith("https://"):
        key = "linkedin_url" if "linkedin.com" in link else "portfolio_url"
        profile[key] = link[:500]
    data["profile"] = profile
    data["source"] = "social"
    data["provider"] = provider
    data["email_verified"] = bool(email) and claims.get("email_verified") is True
    save(data)
