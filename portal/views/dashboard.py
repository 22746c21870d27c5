"""The candidate dashboard: subscriptions, profile, resume, data export, deletion."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from jobs.postings import open_jobs_for_interests
from portal.auth import accounts
from portal.connect.profile import check_profile, labels
from portal.connect.uploads import busy_headers, refusal_status, store_form_upload
from portal.i18n import gettext as _
from portal.resumes import InterestKeywords, ResumeError, delete_resume, resume_path
from portal.resumes.errors import ParserBusy, ParseRefused
from portal.resumes.records import current_resume, delete_current_resume, replace_resume
from portal.views.preferences import apply_undo, manage_search, show_or_save
from portal.web import sessions
from portal.web.phrases import local_size
from portal.web.runtime import db, resume_parser, settings
from portal.web.saved_search_words import saved_search_views
from preferences.db import slow_work
from preferences.interests import active_interests
from preferences.models import Candidate, ConsentSource, Subscription, SubscriptionStatus
from preferences.phrases import N_
from preferences.privacy import export_candidate_data
from preferences.retention import touch_activity
from preferences.sessions import end_sessions

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
log = logging.getLogger("portal.dashboard")

# Flashed messages about the resume show in its card, where the redirect scrolls to.
RESUME_FLASH = "resume"
# The sandbox's refusal without the connect flow's "or skip".
PARSE_REFUSED = N_("We couldn't read this file in time; please upload a simpler PDF or Word file.")

# `accounts.change_password`'s refusals (only this page changes a password), in the
# page's language; the English text is the key.
PASSWORD_REFUSALS = {
    "To set a password, sign in with a link we email you, then set it within 10 minutes.": (
        N_("To set a password, sign in with a link we email you, then set it within 10 minutes.")
    ),
    "Enter your current password.": N_("Enter your current password."),
    "That isn't your current password. Nothing was changed.": N_(
        "That isn't your current password. Nothing was changed."
    ),
}

F = TypeVar("F", bound=Callable[..., Any])


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        candidate = sessions.current_candidate(db())
        if candidate is None:
            return redirect(url_for("auth.login"))
        return view(candidate, *args, **kwargs)

    return cast(F, wrapper)


@bp.context_processor
def _resume_helpers() -> dict[str, Any]:
    return {"file_size": local_size}


@bp.get("")
@login_required
def home(candidate: Candidate) -> Any:
    """Overview, with job recommendations for the candidate's interests."""
    return _home_page(candidate)


def _home_page(candidate: Candidate, *, resume_error: str | None = None, status: int = 200) -> Any:
    session = db()
    login = sessions.current_login(session)
    subscribed = list(
        session.scalars(
            select(Subscription.interest_id).where(
                Subscription.candidate_id == candidate.id,
                Subscription.status != SubscriptionStatus.UNSUBSCRIBED,
            )
        )
    )
    return render_template(
        "dashboard/home.html",
        candidate=candidate,
        matches=open_jobs_for_interests(session, subscribed, limit=10),
        searches=saved_search_views(session, candidate.id),
        has_password=bool(candidate.password_hash),
        needs_current_password=login is None or not accounts.may_skip_current_password(login),
        resume=current_resume(candidate),
        resume_error=resume_error,
        max_mb=settings().max_upload_mb,
    ), status


@bp.route("/resume", methods=["GET", "POST"])
@login_required
def resume_upload(candidate: Candidate) -> Any:
    """Upload a resume, or replace the one on file (GET, e.g. a reload, shows the dashboard)."""
    if request.method == "GET":
        return redirect(url_for("dashboard.home", _anchor="resume"))
    s = settings()
    session = db()
    try:
        stored = store_form_upload(
            request.files.get("resume"), s.upload_dir, max_upload_mb=s.max_upload_mb
        )
    except ResumeError as exc:
        # Nothing was stored and nothing changed: the resume on file keeps its row and file.
        return _home_page(
            candidate, resume_error=exc.display_message(_, local_size), status=refusal_status(exc)
        )
    interests = [
        InterestKeywords(i.id, i.name, list(i.keywords or [])) for i in active_interests(session)
    ]
    try:
        # Read, parse with no transaction open, then write briefly.
        with slow_work(session):
            parsed = resume_parser().parse(
                resume_path(s.upload_dir, stored.storage_name),
                stored.kind,
                interests,
                default_region=s.phone_default_region,
            )
    except ResumeError as exc:
        delete_resume(s.upload_dir, stored.storage_name)
        message = (
            _(PARSE_REFUSED)
            if isinstance(exc, ParseRefused)
            else exc.display_message(_, local_size)
        )
        page, status = _home_page(candidate, resume_error=message, status=refusal_status(exc))
        if isinstance(exc, ParserBusy):
            return page, status, busy_headers()
        return page, status
    replaced = replace_resume(session, candidate, stored, parsed)
    # Commit before the old file goes: if the commit fails, the old row and file stay as
    # they were (and the new file, which no row names, is left for `uploads prune`).
    session.commit()
    if replaced is not None:
        _delete_file(s.upload_dir, replaced)
        flash(
            _("Your resume is replaced with %(name)s.", name=stored.original_filename),
            RESUME_FLASH,
        )
    else:
        flash(_("Your resume %(name)s is uploaded.", name=stored.original_filename), RESUME_FLASH)
    return redirect(url_for("dashboard.home", _anchor="resume"))


@bp.route("/resume/delete", methods=["GET", "POST"])
@login_required
def resume_delete(candidate: Candidate) -> Any:
    """Delete the resume on file: a confirmation page, then deletion on POST."""
    resume = current_resume(candidate)
    if resume is None:
        flash(_("You have no resume on file."), RESUME_FLASH)
        return redirect(url_for("dashboard.home", _anchor="resume"))
    if request.method == "GET":
        return render_template("dashboard/resume_delete.html", resume=resume)
    s = settings()
    session = db()
    storage_name = delete_current_resume(session, candidate)
    # As for a replacement: the file goes only once the row's deletion is committed.
    session.commit()
    if storage_name is not None:
        _delete_file(s.upload_dir, storage_name)
    flash(_("Your resume is deleted."), RESUME_FLASH)
    return redirect(url_for("dashboard.home", _anchor="resume"))


def _delete_file(upload_dir: Path, storage_name: str) -> None:
    """Delete a file no row refers to any more; the change is committed, so failing is not fatal."""
    try:
        delete_resume(upload_dir, storage_name)
    except (OSError, ValueError):
        # `uploads prune` removes files no row refers to, so this one goes on its next run.
        log.warning("resume file not deleted", exc_info=True)


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences(candidate: Candidate) -> Any:
    """The same preference form as the signed page, with Save."""
    return show_or_save(
        candidate,
        action=url_for("dashboard.preferences"),
        undo_action=url_for("dashboard.preferences_undo"),
        source=ConsentSource.DASHBOARD,
    )


@bp.post("/preferences/undo")
@login_required
def preferences_undo(candidate: Candidate) -> Any:
    """Undo a Save made here; the consent events say `dashboard`, like the Save did."""
    return apply_undo(
        candidate,
        action=url_for("dashboard.preferences"),
        undo_action=url_for("dashboard.preferences_undo"),
        source=ConsentSource.DASHBOARD,
    )


@bp.post("/preferences/searches/<search_id>")
@login_required
def saved_search(candidate: Candidate, search_id: str) -> Any:
    """Change one saved search from the dashboard's preference page (the session's CSRF token)."""
    return manage_search(
        candidate,
        search_id,
        action=url_for("dashboard.preferences"),
        source=ConsentSource.DASHBOARD,
    )


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile(candidate: Candidate) -> Any:
    """Edit name, phone, location and links (the email is changed separately)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "first_name": candidate.first_name,
        "last_name": candidate.last_name,
        "email": candidate.email,
        "phone": candidate.phone_e164,
        "location": candidate.location,
        "linkedin_url": candidate.linkedin_url,
        "github_url": candidate.github_url,
        "portfolio_url": candidate.portfolio_url,
    }
    if request.method == "POST":
        form = {**request.form.to_dict(), "email": candidate.email}
        check = check_profile(
            form, required=settings().required_fields, region=settings().phone_default_region
        )
        values = dict(check.values)
        errors = check.errors
        if not errors:
            candidate.first_name = values["first_name"] or ""
            candidate.last_name = values["last_name"] or ""
            candidate.phone_e164 = values["phone"]
            candidate.location = values["location"]
            candidate.linkedin_url = values["linkedin_url"]
            candidate.github_url = values["github_url"]
            candidate.portfolio_url = values["portfolio_url"]
            db().flush()
            touch_activity(db(), candidate.id)
            flash(_("Your profile is saved."), "info")
            return redirect(url_for("dashboard.home"))
    return render_template(
        "dashboard/profile.html",
        values=values,
        errors=errors,
        labels=labels(),
        required=settings().required_fields,
    ), (400 if errors else 200)


@bp.post("/password")
@login_required
def password(candidate: Candidate) -> Any:
    """Set or change the password: the current one is asked for, and other sessions end.

    A session an emailed sign-in link started in the last 10 minutes needs no current
    password (that is how a forgotten one is replaced, or a first one set).
    """
    login = sessions.current_login(db())
    if login is None:  # login_required found it; only a race with a sign-out ends here
        return redirect(url_for("auth.login"))
    new = request.form.get("password", "")[:500]
    if new != request.form.get("confirm", "")[:500]:
        flash(_("The two passwords don't match."), "error")
        return redirect(url_for("dashboard.home"))
    try:
        accounts.change_password(
            db(), candidate, login, current=request.form.get("current_password", "")[:500], new=new
        )
    except accounts.PasswordRefused as exc:
        refusal = PASSWORD_REFUSALS.get(str(exc))
        flash(_(refusal) if refusal is not None else str(exc), "error")
    except ValueError:
        flash(
            _(
                "Choose a longer password: use at least %(num)s characters.",
                num=accounts.MIN_PASSWORD_LENGTH,
            ),
            "error",
        )
    else:
        flash(_("Your password is set. You're signed out on every other device."), "info")
    return redirect(url_for("dashboard.home"))


@bp.get("/export")
@login_required
def export(candidate: Candidate) -> Any:
    """Download my data: everything stored about the candidate, as JSON."""
    data = export_candidate_data(db(), candidate)
    response = Response(json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="my-talent-profile.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete(candidate: Candidate) -> Any:
    """Delete my account: a confirmation page, then erasure on POST."""
    if request.method == "GET":
        return render_template("dashboard/delete.html", candidate=candidate)
    if request.form.get("confirm") != "yes":
        return render_template(
            "dashboard/delete.html", candidate=candidate, error=_("Tick the box to confirm.")
        ), 400
    sessions.log_out(db())
    accounts.delete_account(db(), candidate, upload_dir=settings().upload_dir)
    return render_template("dashboard/deleted.html")


@bp.post("/signout-everywhere")
@login_required
def signout_everywhere(candidate: Candidate) -> Any:
    """End every session and revoke every link emailed so far."""
    candidate.token_version += 1
    end_sessions(db(), candidate_id=candidate.id)
    db().flush()
    sessions.log_out(db())
    flash(_("You're signed out everywhere. Links in earlier emails no longer work."), "info")
    return redirect(url_for("auth.login"))
