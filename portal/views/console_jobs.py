"""The console's job-postings pages: list, create, edit, close (once confirmed) and import."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from jobs.models import JobPosting
from jobs.posting_admin import (
    LISTS,
    PostingDraft,
    PostingRejected,
    close_posting_now,
    list_postings,
    save_posting,
)
from jobs.posting_fields import DETAIL_FIELDS, details_as_text
from portal.console.imports import ImportRejected, import_jobs
from portal.i18n import gettext as _
from portal.views.console_confirm import ask, confirmed
from portal.views.console_people import show_errors, signed_in
from portal.web.forms import ImportJobsForm, JobPostingForm
from portal.web.runtime import db, settings
from preferences.clock import now
from preferences.interests import active_interests
from preferences.models import InterestStatus

bp = Blueprint("console_jobs", __name__, url_prefix="/admin/jobs")


@bp.get("/")
@signed_in()
def index() -> Any:
    which = request.args.get("show", "open")
    if which not in LISTS:
        which = "open"
    return render_template(
        "admin/jobs/list.html", jobs=list_postings(db(), which), which=which, lists=LISTS
    )


def _form(job: JobPosting | None = None) -> JobPostingForm:
    if request.method == "POST":
        form = JobPostingForm()
    elif job is None:
        form = JobPostingForm(formdata=None)
    else:
        form = JobPostingForm(
            formdata=None,
            reference=job.reference,
            title=job.title,
            location=job.location,
            apply_url=job.apply_url,
            posted_at=job.posted_at.strftime("%Y-%m-%dT%H:%M"),
            description=job.description,
            interests=[i.id for i in job.interests],
            **details_as_text(job),
        )
    interests = active_interests(db())
    if job is not None:
        # A posting may still carry an interest retired since; it can keep it.
        interests += [i for i in job.interests if i not in interests]
    form.interests.choices = [
        SelectChoice(
            str(i.id), i.name if i.status is InterestStatus.ACTIVE else f"{i.name} (retired)"
        )
        for i in interests
    ]
    return form


def _save(job: JobPosting | None) -> Any:
    form = _form(job)
    errors: list[str] = []
    if request.method == "POST" and form.validate_on_submit():
        draft = PostingDraft(
            reference=form.reference.data or "",
            title=form.title.data or "",
            description=form.description.data or "",
            location=form.location.data or "",
            apply_url=form.apply_url.data or "",
            posted_at=form.posted_at.data or "",
            interest_ids=list(form.interests.data or []),
            details={name: form[name].data or "" for name in DETAIL_FIELDS},
        )
        try:
            saved = save_posting(db(), draft, job.id if job is not None else None)
        except PostingRejected as exc:
            errors = show_errors(form, exc.errors)
        else:
            flash(
                _("Saved %(reference)s: %(title)s.", reference=saved.reference, title=saved.title)
            )
            return redirect(url_for("console_jobs.index"))
    page = render_template(
        "admin/jobs/form.html",
        job=job,
        form=form,
        errors=errors,
        default_locale=settings().default_locale,
    )
    return page, (400 if request.method == "POST" else 200)


@bp.route("/new", methods=["GET", "POST"])
@signed_in()
def create() -> Any:
    return _save(None)


@bp.route("/<int:job_id>/edit", methods=["GET", "POST"])
@signed_in()
def edit(job_id: int) -> Any:
    job = db().get(JobPosting, job_id)
    if job is None:
        abort(404)
    return _save(job)


@bp.post("/<int:job_id>/close")
@signed_in()
def close(job_id: int) -> Any:
    """Close a posting once confirmed; unconfirmed, ask for it and change nothing."""
    job = db().get(JobPosting, job_id)
    if job is not None and (job.closed_at is None or job.closed_at > now()) and not confirmed():
        return ask(
            "admin/jobs/close.html",
            _("Tick the box to confirm. Nothing has been closed."),
            job=job,
        )
    try:
        job = close_posting_now(db(), job_id)
    except PostingRejected:
        abort(404)
    flash(_("Closed %(reference)s: it is no longer on the careers site.", reference=job.reference))
    return redirect(url_for("console_jobs.index"))


@bp.route("/import", methods=["GET", "POST"])
@signed_in()
def import_file() -> Any:
    """Upload a CSV or JSON file of postings: all rows import, or none and every problem shows."""
    form = ImportJobsForm()
    problems: list[tuple[int, str]] = []
    if request.method == "POST" and form.validate_on_submit():
        upload = form.file.data
        try:
            result = import_jobs(db(), upload.read(), upload.filename or "")
        except ImportRejected as exc:
            problems = list(exc.errors)
        else:
            flash(
                _(
                    "Imported %(file)s: %(created)d created, %(updated)d updated, "
                    "%(unchanged)d unchanged.",
                    file=upload.filename,
                    created=result.created,
                    updated=result.updated,
                    unchanged=result.unchanged,
                )
            )
            return redirect(url_for("console_jobs.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/jobs/import.html", form=form, problems=problems), status
