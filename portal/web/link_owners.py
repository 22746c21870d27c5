"""A signed link's owner, found once per request.

Before the view of a signed page runs, the language hook (`portal.views.language`) must
know whose page it is, to serve it in their language; the view then needs the same
candidate. Both ask here: the token's signature is checked and the owner's row read
once per request, not once by each.

Most views need only the owner's few columns (`signed_link_owner`, one Core query).
A view that changes the candidate through their ORM row asks for it
(`signed_link_candidate`); when the hook knows the view will, it asks for the row
itself (`full_row=True`), so the request still reads the candidate once.

Only a link that works is remembered: a bad, expired or revoked one raises each time,
so the view answers it with its own page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from flask import g

from portal.web.runtime import db, settings
from preferences.models import Candidate
from preferences.tokens import (
    LinkData,
    LinkOwner,
    LinkPurpose,
    candidate_for_link,
    link_owner,
    read_link_token,
)

_KEY: Final = "_tc_link_owners"
_Link = tuple[LinkPurpose, str]


@dataclass
class _Found:
    """This request's verified links: their owners' columns, and the rows read."""

    owners: dict[_Link, tuple[LinkData, LinkOwner]] = field(default_factory=dict)
    rows: dict[_Link, tuple[LinkData, Candidate]] = field(default_factory=dict)


def _found() -> _Found:
    found: _Found | None = g.get(_KEY)
    if found is None:
        found = _Found()
        setattr(g, _KEY, found)
    return found


def signed_link_owner(
    purpose: LinkPurpose, token: str, *, full_row: bool = False
) -> tuple[LinkData, LinkOwner]:
    """The verified link and its active owner; raises `LinkExpired` or `InvalidLink`.

    `full_row`: read the owner's ORM row (`signed_link_candidate`) instead of their
    columns, because the view will ask for it.
    """
    found = _found()
    known = found.owners.get((purpose, token))
    if known is None:
        if full_row:
            signed_link_candidate(purpose, token)
            return found.owners[(purpose, token)]
        link = read_link_token(settings().secret_keys, purpose, token)
        known = found.owners[(purpose, token)] = (link, link_owner(db(), link))
    return known


def signed_link_candidate(purpose: LinkPurpose, token: str) -> tuple[LinkData, Candidate]:
    """The verified link and its active owner's ORM row; raises `LinkExpired` or `InvalidLink`."""
    found = _found()
    known = found.rows.get((purpose, token))
    if known is None:
        read = found.owners.get((purpose, token))
        link = read[0] if read else read_link_token(settings().secret_keys, purpose, token)
        candidate = candidate_for_link(db(), link)
        known = found.rows[(purpose, token)] = (link, candidate)
        found.owners.setdefault((purpose, token), (link, _owner_of(candidate)))
    return known


def _owner_of(candidate: Candidate) -> LinkOwner:
    return LinkOwner(
        candidate.id,
        candidate.public_id,
        candidate.token_version,
        candidate.status,
        candidate.email,
        candidate.locale,
    )
