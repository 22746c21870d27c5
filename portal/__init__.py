"""The web portal, its configuration and the `talentconnect` command."""

from __future__ import annotations

from portal.app import create_app
from portal.config import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "create_app", "load_settings"]
