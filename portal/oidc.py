"""Social sign-in through OpenID Connect providers (placeholder until the OIDC work lands)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask

bp = Blueprint("social", __name__, url_prefix="/connect/social")


def parse_provider_configs(items: list[Any]) -> list[Any]:
    """Validate the OIDC_PROVIDERS setting."""
    if items:
        raise ValueError("social providers are not supported yet")
    return []


def init_app(app: Flask, providers: tuple[Any, ...]) -> None:
    """Register the configured providers with the app."""


def enabled_providers() -> list[tuple[str, str]]:
    """(name, label) of each configured provider, for the connect and login pages."""
    return []
