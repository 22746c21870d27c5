"""Recruiter console: alert schedules (list, create, edit, audience preview, test send)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from jobs.alerts import AudiencePreview, preview_schedule, render_sample
from jobs.schedules import (
    CADENCES,
    FREQUENCY_LABELS,
    WEEKDAYS,
    InvalidSchedule,
    NothingToSend,
    ScheduleInput,
    ScheduleNotFound,
    active_interests,
    cadence_input,
    create_schedule,
    get_schedule,
    list_schedules,
    queue_test_digest,
    upcoming_runs,
    update_schedule,
)
from jobs.schedules import available_zone_names as zone_names
from mailer.render import RenderedEmail, Renderer
from portal.views.admin import current_recruiter, recruiter_required
from portal.views.console_campaigns import PREVIEW_CSP
from portal.web.forms import form_ids
from portal.web.runtime import db, settings

bp = Blueprint("console_schedules", __name__, url_prefix="/admin/schedules")
# MJML is compiled once per process; each preview only runs Jinja.
_renderer = Renderer()


class CsrfForm(FlaskForm):
    """Only the CSRF token; the fields are read and checked by jobs.schedules."""


def _input(form: Any) -> ScheduleInput:
    ids = form_ids(form.getlist("interests"))
    return ScheduleInput(
        name=form.get("name", ""),
        cadence=form.get("cadence", ""),
        time=form.get("time", ""),
        weekday=form.get("weekday", ""),
        cron=form.get("cron", ""),
        timezone=form.get("timezone", ""),
        all_interests=form.get("audience", "all") == "all",
        interest_ids=tuple(ids),
        frequency_class=form.get("frequency_class", ""),
        enabled=form.get("enabled") == "on",
    )


def _render_form(
    values: dict[str, Any], errors: dict[str, str], *, schedule_id: int | None, status: int = 200
) -> Any:
    return (
        render_template(
            "admin/schedules/form.html",
            form=CsrfForm(),
            values=values,
            errors=errors,
            schedule_id=schedule_id,
            cadences=CADENCES,
            weekdays=WEEKDAYS,
            frequencies=FREQUENCY_LABELS,
            interests=active_interests(db()),
            zones=zone_names(),
        ),
        status,
    )


def _posted_values() -> dict[str, Any]:
    form = request.form
    return {
        "name": form.get("name", ""),
        "cadence": form.get("cadence", "daily"),
        "time": form.get("time", ""),
        "weekday": form.get("weekday", "1"),
        "cron": form.get("cron", ""),
        "timezone": form.get("timezone", ""),
        "audience": form.get("audience", "all"),
        "interest_ids": set(form_ids(form.getlist("interests"))),
        "frequency_class": form.get("frequency_class", "daily"),
        "enabled": form.get("enabled") == "on",
    }


def _save(schedule_id: int | None) -> Any:
    form = CsrfForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if schedule_id is None:
            create_schedule(db(), _input(request.form))
        else:
            update_schedule(db(), schedule_id, _input(request.form))
    except InvalidSchedule as exc:
        # Nothing was stored: the request's session rolls back on a 4xx.
        return _render_form(_posted_values(), exc.errors, schedule_id=schedule_id, status=400)
    return redirect(url_for("console_schedules.index", saved=1))


@bp.get("/")
@recruiter_required
def index() -> Any:
    return render_template(
        "admin/schedules/index.html",
        schedules=list_schedules(db()),
        saved=request.args.get("saved") == "1",
    )


@bp.route("/new", methods=["GET", "POST"])
@recruiter_required
def new() -> Any:
    if request.method == "POST":
        return _save(None)
    values = {
        "name": "",
        "cadence": "daily",
        "time": "08:00",
        "weekday": "1",
        "cron": "",
        "timezone": settings().company_time_zone,
        "audience": "all",
        "interest_ids": set(),
        "frequency_class": "daily",
        "enabled": True,
    }
    return _render_form(values, {}, schedule_id=None)


@bp.route("/<int:schedule_id>/edit", methods=["GET", "POST"])
@recruiter_required
def edit(schedule_id: int) -> Any:
    if request.method == "POST":
        try:
            return _save(schedule_id)
        except ScheduleNotFound:
            abort(404)
    try:
        schedule = get_schedule(db(), schedule_id)
    except ScheduleNotFound:
        abort(404)
    values: dict[str, Any] = {
        "name": schedule.name,
        **cadence_input(schedule.cron),
        "timezone": schedule.timezone,
        "audience": "all" if schedule.all_interests else "selected",
        "interest_ids": {i.id for i in schedule.interests},
        "frequency_class": schedule.frequency_class.value,
        "enabled": schedule.enabled,
    }
    return _render_form(values, {}, schedule_id=schedule_id)


def _console_url(schedule_id: int) -> str:
    """The schedule's audience page: where a preview's or a test's footer links lead."""
    return f"{settings().base_url}/admin/schedules/{schedule_id}/preview"


def _sample_email(schedule_id: int) -> tuple[AudiencePreview, RenderedEmail | str | None]:
    """Who would get the digest now, and the sample's digest (or why it would be skipped).

    Reads only: matching fills temporary tables, which it drops, and nothing is queued.
    """
    audience = preview_schedule(db(), schedule_id)
    if audience.sample is None:
        return audience, None
    email = render_sample(
        db(),
        audience.sample,
        settings().mail_settings(),
        links_url=_console_url(schedule_id),
        renderer=_renderer,
    )
    return audience, email


def _render_preview(schedule_id: int, *, queued: str | None, error: str | None) -> str:
    try:
        schedule = get_schedule(db(), schedule_id)
        audience, email = _sample_email(schedule_id)
    except ScheduleNotFound:
        abort(404)
    recruiter = current_recruiter()
    return render_template(
        "admin/schedules/preview.html",
        schedule=schedule,
        next_runs=upcoming_runs(schedule),
        audience=audience,
        email=email if isinstance(email, RenderedEmail) else None,
        skipped=email if isinstance(email, str) else None,
        form=CsrfForm(),
        recruiter_email=recruiter.email if recruiter else "",
        queued=queued,
        error=error,
    )


@bp.get("/<int:schedule_id>/preview")
@recruiter_required
def preview(schedule_id: int) -> Any:
    return _render_preview(schedule_id, queued=request.args.get("queued"), error=None)


@bp.get("/<int:schedule_id>/preview.html")
@recruiter_required
def preview_html(schedule_id: int) -> Any:
    """The sample recipient's digest, sandboxed: no scripts, no same-origin access."""
    try:
        _audience, email = _sample_email(schedule_id)
    except ScheduleNotFound:
        abort(404)
    if not isinstance(email, RenderedEmail):
        abort(404)  # nobody would receive it: the page shows no frame
    response = Response(email.html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@bp.post("/<int:schedule_id>/test")
@recruiter_required
def send_test(schedule_id: int) -> Any:
    form = CsrfForm()
    if not form.validate_on_submit():
        abort(400)
    recruiter = current_recruiter()
    assert recruiter is not None  # recruiter_required
    console_url = _console_url(schedule_id)
    try:
        count = queue_test_digest(db(), schedule_id, recruiter.email, console_url=console_url)
    except ScheduleNotFound:
        abort(404)
    except NothingToSend as exc:
        return _render_preview(schedule_id, queued=None, error=str(exc)), 409
    return redirect(url_for("console_schedules.preview", schedule_id=schedule_id, queued=count))
