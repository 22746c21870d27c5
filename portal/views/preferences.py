"""The preference center reached from a signed link (placeholder)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("preferences", __name__)
