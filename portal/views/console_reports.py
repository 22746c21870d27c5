"""Console reports: subscriber and opt-out charts, per-campaign and per-run results, send log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from jobs.run_reports import AlertRunNotFound, alert_run_report, list_alert_runs
from mailer.campaign_admin import CampaignNotFound, list_campaigns
from mailer.reports import (
    ReportError,
    campaign_report,
    opt_out_trend,
    search_send_log,
    subscribers_per_interest,
)
from mailer.reputation import policy_rejections_by_domain
from portal.console.charts import bar_chart, line_chart
from portal.i18n import gettext as _
from portal.views.admin import recruiter_required
from portal.web.forms import form_id
from portal.web.runtime import db, settings

POLICY_DAYS = 30

bp = Blueprint("console_reports", __name__, url_prefix="/admin/reports")


@bp.get("/")
@recruiter_required
def index() -> Any:
    subscribers = subscribers_per_interest(db())
    trend = opt_out_trend(db())
    weeks = [f"{w.week:%b} {w.week.day}" for w in trend]
    return render_template(
        "admin/reports/index.html",
        subscribers=subscribers,
        subscribers_chart=bar_chart(
            _("Subscribers per interest"),
            _("Confirmed job-alert subscribers of each active interest:")
            + " "
            + ", ".join(f"{name} {count}" for name, count in subscribers),
            subscribers,
        ),
        trend=trend,
        trend_chart=line_chart(
            _("Opt-outs per week"),
            _(
                "People who opted out in each of the last %(weeks)d weeks, of mass email "
                "and of interest alerts; an opt-out undone the same day is not counted. "
                "The table below has every number.",
                weeks=len(trend),
            ),
            weeks,
            [
                (_("Mass email"), [w.mass_email for w in trend]),
                (_("Interest alerts"), [w.interests for w in trend]),
            ],
        ),
        campaigns=list_campaigns(db()),
        runs=list_alert_runs(db()),
        policy_by_domain=policy_rejections_by_domain(db(), days=POLICY_DAYS),
        policy_days=POLICY_DAYS,
    )


@bp.get("/campaigns/<int:campaign_id>")
@recruiter_required
def campaign(campaign_id: int) -> Any:
    try:
        found, report = campaign_report(db(), campaign_id)
    except CampaignNotFound:
        abort(404)
    return render_template(
        "admin/reports/campaign.html",
        campaign=found,
        report=report,
        reputation_settings=settings().mail_settings(),
    )


@bp.get("/runs/<int:run_id>")
@recruiter_required
def alert_run(run_id: int) -> Any:
    try:
        entry, report = alert_run_report(db(), run_id)
    except AlertRunNotFound:
        abort(404)
    return render_template(
        "admin/reports/alert_run.html",
        run=entry.run,
        schedule_name=entry.schedule_name,
        report=report,
        reputation_settings=settings().mail_settings(),
    )


@bp.get("/send-log")
@recruiter_required
def send_log() -> Any:
    raw = request.args.get("email", "").strip()
    page = request.args.get("page", "1")
    result, error = None, None
    if raw:
        try:
            result = search_send_log(db(), raw, page=form_id(page) or 1)
        except ReportError as exc:
            error = str(exc)
    return render_template(
        "admin/reports/send_log.html", query=raw, result=result, error=error
    ), 400 if error else 200
