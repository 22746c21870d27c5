"""Signed links in queued mail: stored as how to sign them, signed only at send time.

An outbox row is data at rest (backups, the console's reports, a copied
database). A sign-in, confirmation or preference link in it would be a live
bearer credential for as long as the link lasts, so rows never hold one. The
code that queues a message puts a *recipe* in the context instead
(`signed_link`): the link's purpose, the portal path it opens, the claims it
carries and the candidate's token version at queueing time. The worker turns
each recipe into the URL just before rendering (`sign_links`), with the newest
key of `SECRET_KEYS`; the URL exists only in the message it sends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from mailer.errors import LinkNotSigned
from preferences.tokens import LinkHolder, LinkPurpose, make_link_token

__all__ = ["RECIPE_KEY", "LinkNotSigned", "is_recipe", "sign_links", "signed_link"]

RECIPE_KEY = "signed_link"


class _Holder(NamedTuple):
    public_id: str
    token_version: int


def signed_link(
    purpose: LinkPurpose, path: str, candidate: LinkHolder, **claims: Any
) -> dict[str, Any]:
    """A context value the worker replaces with `BASE_URL + path + token` when it sends.

    `claims` must be JSON-safe and small (they go into the token). The token is
    made for the candidate's `token_version` as it is now, so "sign me out
    everywhere" before the send still revokes the link.
    """
    if not path.startswith("/") or not path.endswith("/"):
        raise ValueError(f"a link path starts and ends with '/', not {path!r}")
    return {
        RECIPE_KEY: {
            "purpose": purpose.value,
            "path": path,
            "v": candidate.token_version,
            "claims": dict(claims),
        }
    }


def is_recipe(value: object) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get(RECIPE_KEY), Mapping)


def sign_links(
    context: dict[str, Any],
    *,
    public_id: str | None,
    secret_keys: Sequence[str],
    base_url: str,
) -> None:
    """Replace every recipe among `context`'s values by its signed URL, in place.

    Raises `LinkNotSigned` when a recipe is there but cannot be signed.
    """
    for name, value in list(context.items()):
        if is_recipe(value):
            context[name] = _sign(value[RECIPE_KEY], public_id, secret_keys, base_url)


def _sign(
    recipe: Mapping[str, Any],
    public_id: str | None,
    secret_keys: Sequence[str],
    base_url: str,
) -> str:
    if not secret_keys:
        raise LinkNotSigned("no SECRET_KEYS to sign the link with")
    if public_id is None:
        raise LinkNotSigned("the link's candidate no longer exists")
    try:
        purpose = LinkPurpose(str(recipe.get("purpose")))
    except ValueError:
        raise LinkNotSigned(f"unknown link purpose {recipe.get('purpose')!r}") from None
    path, version, claims = recipe.get("path"), recipe.get("v"), recipe.get("claims", {})
    if (
        not isinstance(path, str)
        or not path.startswith("/")
        or not isinstance(version, int)
        or not isinstance(claims, Mapping)
    ):
        raise LinkNotSigned("a malformed link recipe")
    token = make_link_token(secret_keys, purpose, _Holder(public_id, version), **claims)
    return f"{base_url}{path}{token}"
