"""Candidate sign-in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

bp = Blueprint("auth", __name__)


@bp.get("/login")
def login() -> Any:
    """The candidate sign-in page."""
    return render_template("auth/login.html")
