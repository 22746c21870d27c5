"""RFC 8058 one-click unsubscribe (placeholder until the one-click work lands)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("unsubscribe", __name__)
