"""Recruiter console: alert schedules (list, create, edit, audience preview, test send)."""

from __future__ import annotations

import importlib
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

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
from portal.views.admin import current_recruiter, recruiter_required
from portal.web import db, settings

bp = Blueprint("console_schedules", __name__, url_prefix="/admin/schedules")


class CsrfForm(FlaskForm):
    """Only the CSRF token; the fields are read and checked by jobs.schedules."""


def _input(form: Any) -> ScheduleInput:
    ids: list[int] = []
    for value in form.getlist("interests"):
        if value.isdigit():
            ids.append(int(value))
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
        "interest_ids": {int(v) for v in form.getlist("interests") if v.isdigit()},
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
        "timezone": "UTC",
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


def _preview(schedule_id: int) -> Any:
    """jobs.alerts.preview_schedule's AudiencePreview, or None where it is not available."""
    try:
        module = importlib.import_module("jobs.alerts")
    except ImportError:
        return None
    preview_schedule = getattr(module, "preview_schedule", None)
    return preview_schedule(db(), schedule_id) if preview_schedule is not None else None


@bp.get("/<int:schedule_id>/preview")
@recruiter_required
def preview(schedule_id: int) -> Any:
    try:
        schedule = get_schedule(db(), schedule_id)
    except ScheduleNotFound:
        abort(404)
    recruiter = current_recruiter()
    return render_template(
        "admin/schedules/preview.html",
        schedule=schedule,
        next_runs=upcoming_runs(schedule),
        audience=_preview(schedule_id),
        form=CsrfForm(),
        recruiter_email=recruiter.email if recruiter else "",
        queued=request.args.get("queued"),
        error=None,
    )


@bp.post("/<int:schedule_id>/test")
@recruiter_required
def send_test(schedule_id: int) -> Any:
    form = CsrfForm()
    if not form.validate_on_submit():
        abort(400)
    recruiter = current_recruiter()
    assert recruiter is not None  # recruiter_required
    console_url = f"{settings().base_url}/admin/schedules/{schedule_id}/preview"
    try:
        count = queue_test_digest(db(), schedule_id, recruiter.email, console_url=console_url)
    except ScheduleNotFound:
        abort(404)
    except NothingToSend as exc:
        schedule = get_schedule(db(), schedule_id)
        body = render_template(
            "admin/schedules/preview.html",
            schedule=schedule,
            next_runs=upcoming_runs(schedule),
            audience=_preview(schedule_id),
            form=CsrfForm(),
            recruiter_email=recruiter.email,
            queued=None,
            error=str(exc),
        )
        return body, 409
    return redirect(url_for("console_schedules.preview", schedule_id=schedule_id, queued=count))
