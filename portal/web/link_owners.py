"""A signed link's owner, found once per request.

Before the view of a signed page runs, the language hook (`portal.views.language`) must
know whose page it is, to serve it in their language; the view then needs the same
candidate. Both ask here: the token's signature is checked and the owner's row read
once per request, not once by each.

Only a link that works is remembered: a bad, expired or revoked one raises each time,
so the view answers it with its own page.
"""

from __future__ import annotations

from typing import Final

from flask import g

from portal.web.runtime import db, settings
from preferences.tokens import LinkData, LinkOwner, LinkPurpose, link_owner, read_link_token

_KEY: Final = "_tc_link_owners"


def signed_link_owner(purpose: LinkPurpose, token: str) -> tuple[LinkData, LinkOwner]:
    """The verified link and its active owner; raises `LinkExpired` or `InvalidLink`."""
    found: dict[tuple[LinkPurpose, str], tuple[LinkData, LinkOwner]] | None = g.get(_KEY)
    if found is None:
        found = {}
        setattr(g, _KEY, found)
    known = found.get((purpose, token))
    if known is None:
        link = read_link_token(settings().secret_keys, purpose, token)
        known = found[(purpose, token)] = (link, link_owner(db(), link))
    return known
