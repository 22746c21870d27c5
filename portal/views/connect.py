"""The "Connect With Us" flow for candidates."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from portal.web import db
from preferences.interests import active_interests

bp = Blueprint("connect", __name__, url_prefix="/connect")


@bp.get("", strict_slashes=False)
def start() -> Any:
    """The entry page of the talent community sign-up."""
    return render_template("connect/start.html", interests=active_interests(db()))
