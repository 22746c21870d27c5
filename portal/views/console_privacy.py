"""The console's Privacy page (retention figures, holds, runs, settings) and a candidate's page.

Recruiters see counts and can mark that they contacted a person (which starts a new
retention period); only admins see the names of the people on hold and place or
release legal holds.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from portal.console.charts import bar_chart, line_chart
from portal.i18n import gettext as _
from portal.views.console_confirm import ask, confirmed
from portal.views.console_people import me, signed_in
from portal.web.runtime import db, settings
from preferences.audit import record_audit, recruiter_actor
from preferences.clock import now
from preferences.errors import InvalidEmail
from preferences.models import Candidate, CandidateStatus, RecruiterRole, RecruiterUser
from preferences.retention import (
    MAX_HOLD_REASON,
    HoldReasonMissing,
    active_hold,
    open_notice,
    place_hold,
    release_hold,
    retention_deadline,
    touch_activity,
)
from preferences.retention_report import retention_report
from preferences.subscriptions import find_candidate
from preferences.text import UnstorableText, clean_text

bp = Blueprint("console_privacy", __name__, url_prefix="/admin")


def _is_admin() -> bool:
    return me().role is RecruiterRole.ADMIN


@bp.get("/privacy")
@signed_in()
def index() -> Any:
    admin = _is_admin()
    s = settings()
    report = retention_report(db(), s.retention_policy, now(), with_names=admin)
    weeks = report.expiries.weeks
    week_labels = [f"{w.start:%b} {w.start.day}" for w in weeks]
    months = report.months
    month_labels = [f"{m.month:%b %Y}" for m in months]
    by_country = ", ".join(f"{c}={m}" for c, m in sorted(s.retention_months_by_country.items()))
    in_force = [
        (
            _("Retention period"),
            _("%(months)d months", months=s.retention_months),
            "RETENTION_MONTHS",
        ),
        (
            _("Periods by country"),
            by_country or _("None (the same period everywhere)"),
            "RETENTION_MONTHS_BY_COUNTRY",
        ),
        (
            _("Re-permission email"),
            _("%(days)d days before expiry", days=s.repermission_days),
            "REPERMISSION_DAYS",
        ),
        (
            _("Reminder"),
            _("%(days)d days before expiry", days=report.policy.reminder_days),
            None,
        ),
    ]
    return render_template(
        "admin/privacy/index.html",
        report=report,
        is_admin=admin,
        in_force=in_force,
        expiries_chart=bar_chart(
            _("Expiries per week"),
            _(
                "Candidates whose retention period ends in each of the next %(weeks)d weeks "
                "(people on legal hold left out). The table below has every number.",
                weeks=len(weeks),
            ),
            [
                (_("Week of %(day)s", day=label), week.count)
                for label, week in zip(week_labels, weeks, strict=True)
            ],
        ),
        months_chart=line_chart(
            _("Re-permission emails per month"),
            _(
                "Re-permission emails sent, answered (the person stayed) and expired "
                "(no answer, anonymized) in each of the last %(months)d months, and reminders "
                "sent. The table below has every number.",
                months=len(months),
            ),
            month_labels,
            [
                (_("Sent"), [m.sent for m in months]),
                (_("Answered"), [m.answered for m in months]),
                (_("Expired"), [m.expired for m in months]),
                (_("Reminders"), [m.reminders for m in months]),
            ],
        ),
    )


@bp.get("/candidates")
@signed_in()
def find() -> Any:
    """Look a candidate up by email address and go to their page."""
    raw = request.args.get("email", "").strip()
    error, status = None, 200
    if raw:
        try:
            found = find_candidate(db(), raw)
        except InvalidEmail:
            error = _("That is not a valid email address. Enter one such as ana@example.com.")
            status = 400
        else:
            if found is not None:
                return redirect(url_for("console_privacy.candidate", public_id=found.public_id))
            error, status = _("No candidate has that address."), 404
    return render_template("admin/privacy/find.html", query=raw, error=error), status


def _candidate(public_id: str) -> Candidate:
    found = db().scalar(select(Candidate).where(Candidate.public_id == public_id))
    if found is None:
        abort(404)
    return found


def _candidate_page(
    candidate: Candidate, *, hold_error: str | None = None, reason: str = ""
) -> Any:
    session = db()
    active = candidate.status is CandidateStatus.ACTIVE
    hold = active_hold(session, candidate.id)
    placed_by = session.get(RecruiterUser, hold.placed_by) if hold and hold.placed_by else None
    return render_template(
        "admin/privacy/candidate.html",
        candidate=candidate,
        active=active,
        is_admin=_is_admin(),
        hold=hold,
        placed_by=placed_by,
        notice=open_notice(session, candidate.id) if active else None,
        deadline=(
            retention_deadline(session, candidate, settings().retention_policy) if active else None
        ),
        hold_error=hold_error,
        reason=reason,
        max_reason=MAX_HOLD_REASON,
    ), (400 if hold_error else 200)


@bp.get("/candidates/<public_id>")
@signed_in()
def candidate(public_id: str) -> Any:
    return _candidate_page(_candidate(public_id))


@bp.post("/candidates/<public_id>/contacted")
@signed_in()
def contacted(public_id: str) -> Any:
    """A recruiter was in touch with the person: a new retention period starts. Audited."""
    found = _candidate(public_id)
    if found.status is not CandidateStatus.ACTIVE:
        abort(409)
    session = db()
    touch_activity(session, found.id)
    record_audit(
        session,
        actor=recruiter_actor(me().id),
        action="candidate.contacted",
        subject=found.public_id,
    )
    flash(_("Marked as contacted: the retention period starts again today."))
    return redirect(url_for("console_privacy.candidate", public_id=public_id))


@bp.post("/candidates/<public_id>/hold")
@signed_in(admin=True)
def hold(public_id: str) -> Any:
    """Place a legal hold (admins): the person is not anonymized while it stands."""
    found = _candidate(public_id)
    raw = request.form.get("reason", "")
    try:
        reason = clean_text(raw)
    except UnstorableText as exc:
        return _candidate_page(found, hold_error=exc.message, reason=raw)
    if len(reason) > MAX_HOLD_REASON:
        return _candidate_page(
            found,
            hold_error=_("Keep the reason to %(count)d characters.", count=MAX_HOLD_REASON),
            reason=reason,
        )
    if found.status is not CandidateStatus.ACTIVE:
        abort(409)
    try:
        place_hold(db(), found, reason=reason, recruiter_id=me().id)
    except HoldReasonMissing:
        return _candidate_page(
            found,
            hold_error=_("Enter a reason: it is kept with the hold and in the audit log."),
        )
    flash(_("Legal hold placed: this person will not be anonymized while it stands."))
    return redirect(url_for("console_privacy.candidate", public_id=public_id))


@bp.post("/candidates/<public_id>/hold/release")
@signed_in(admin=True)
def release(public_id: str) -> Any:
    """Release the legal hold in force (admins) once confirmed; retention applies again.

    Unconfirmed, ask for it and change nothing.
    """
    found = _candidate(public_id)
    hold = active_hold(db(), found.id)
    if hold is not None and not confirmed():
        placed_by = db().get(RecruiterUser, hold.placed_by) if hold.placed_by else None
        active = found.status is CandidateStatus.ACTIVE
        return ask(
            "admin/privacy/release.html",
            _("Tick the box to confirm. The legal hold still stands."),
            candidate=found,
            active=active,
            hold=hold,
            placed_by=placed_by,
            deadline=(
                retention_deadline(db(), found, settings().retention_policy) if active else None
            ),
        )
    if release_hold(db(), found, recruiter_id=me().id):
        flash(_("Legal hold released: the retention period applies again."))
    else:
        flash(_("There was no legal hold to release."))
    return redirect(url_for("console_privacy.candidate", public_id=public_id))
