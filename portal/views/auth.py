"""Candidate sign-in: social account, password, or a link by email."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from jobs.wording import N_
from portal import i18n
from portal.auth import accounts, oidc
from portal.i18n import gettext as _
from portal.web import sessions
from portal.web.runtime import db, settings
from preferences.tokens import InvalidLink, LinkExpired, LinkPurpose, read_link_token

bp = Blueprint("auth", __name__)

# One answer for known and unknown addresses alike. English; shown translated.
LINK_SENT = N_(
    "If that address belongs to a member of our talent community, we've emailed a sign-in "
    "link. It works once, for 15 minutes."
)
BAD_LOGIN = N_("That email and password don't match. Try again, or get a sign-in link by email.")
EMPTY_LOGIN = N_("Enter your password, or get a sign-in link by email.")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in with a social account, a password, or a link by email."""
    if sessions.current_candidate(db()) is not None and request.method == "GET":
        return redirect(url_for("dashboard.home"))
    error = None
    sent = False
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "")[:320].strip()
        password = request.form.get("password", "")[:500]
        if request.form.get("action") == "link":
            accounts.send_login_link(db(), email, settings())
            sent = True
        elif not password:
            # Enter in the form logs in (its default button): with no password typed,
            # say what's missing rather than that the two don't match.
            error = _(EMPTY_LOGIN)
        else:
            candidate = accounts.check_password(db(), email, password)
            if candidate is not None:
                sessions.log_in(db(), candidate)
                return redirect(url_for("dashboard.home"))
            error = _(BAD_LOGIN)
    return render_template(
        "auth/login.html",
        providers=oidc.enabled_providers(),
        error=error,
        sent=sent,
        message=_(LINK_SENT),
        email=email,
    ), (400 if error else 200)


@bp.route("/login/forgot", methods=["GET", "POST"])
def forgot() -> Any:
    """Forgotten password: a sign-in link by email, then set a new one on the dashboard."""
    sent = False
    if request.method == "POST":
        accounts.send_login_link(db(), request.form.get("email", "")[:320], settings())
        sent = True
    # ?first=1: a new member's first password (from the confirmed page), not a forgotten one.
    first = request.args.get("first") == "1"
    return render_template("auth/forgot.html", sent=sent, message=_(LINK_SENT), first=first)


@bp.route("/login/link/<link_token:token>", methods=["GET", "POST"])
def login_link(token: str) -> Any:
    """A sign-in link: GET shows a button (mail scanners prefetch), POST signs in once."""
    try:
        link = read_link_token(settings().secret_keys, LinkPurpose.LOGIN, token)
        if request.method == "POST":
            candidate = accounts.use_login_link(db(), link)
            sessions.log_in(db(), candidate, by_link=True)
            return redirect(url_for("dashboard.home"))
        # In her language (a `?lang=` still wins), though not through the language hook:
        # storing a choice there would change the account and so use the link up.
        i18n.use_candidate_locale(accounts.candidate_for_link_check(db(), link).locale)
    except LinkExpired:
        return render_template("auth/link_problem.html", expired=True), 410
    except InvalidLink:
        return render_template("auth/link_problem.html", expired=False), 400
    return render_template("auth/login_link.html", token=token)


@bp.post("/logout")
def logout() -> Any:
    """Sign out: the session ends on the server, so a copy of the cookie stops working too."""
    sessions.log_out(db())
    return redirect(url_for("public.index"))
