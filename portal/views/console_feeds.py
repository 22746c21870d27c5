"""Recruiter console (admins): job feeds, their interest rules, syncing now and sync reports."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from jobs.feed_models import FeedKind, FeedRule, FeedSync, RuleField, SyncStatus
from jobs.wording import N_
from portal.console.feeds import (
    KIND_LABELS,
    MAX_INTERVAL,
    MIN_INTERVAL,
    RULE_LABELS,
    FeedInput,
    FeedNotFound,
    InvalidFeed,
    add_rule,
    create_feed,
    delete_rule,
    feed_policy,
    get_feed,
    list_feeds,
    recent_syncs,
    sync_feed,
    update_feed,
)
from portal.i18n import gettext as _
from portal.views.admin import admin_required
from portal.views.console_confirm import ask, confirmed
from portal.web.runtime import db, settings
from preferences.interests import active_interests

bp = Blueprint("console_feeds", __name__, url_prefix="/admin/feeds")

STATUS_LABELS = {
    SyncStatus.OK: N_("Synced"),
    SyncStatus.NOT_MODIFIED: N_("Unchanged (nothing to read)"),
    SyncStatus.FAILED: N_("Failed"),
}


class CsrfForm(FlaskForm):
    """Only the CSRF token; the fields are read and checked by portal.console.feeds."""


def _checked_post() -> None:
    if not CsrfForm().validate_on_submit():
        abort(400)


def _feed_or_404(feed_id: int) -> Any:
    try:
        return get_feed(db(), feed_id)
    except FeedNotFound:
        abort(404)


def _posted_input() -> FeedInput:
    form = request.form
    return FeedInput(
        name=form.get("name", ""),
        kind=form.get("kind", ""),
        url=form.get("url", ""),
        interval_minutes=form.get("interval_minutes", ""),
        enabled=form.get("enabled") == "on",
    )


def _common() -> dict[str, Any]:
    return {
        "form": CsrfForm(),
        "kinds": KIND_LABELS,
        "rule_fields": RULE_LABELS,
        "status_labels": STATUS_LABELS,
        "min_interval": MIN_INTERVAL,
        "max_interval": MAX_INTERVAL,
    }


@bp.get("/")
@admin_required
def index() -> Any:
    return render_template("admin/feeds/index.html", feeds=list_feeds(db()), **_common())


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new() -> Any:
    values = FeedInput(name="", kind=FeedKind.GREENHOUSE.value, url="")
    errors: dict[str, str] = {}
    if request.method == "POST":
        _checked_post()
        values = _posted_input()
        try:
            feed = create_feed(db(), values, feed_policy(settings()))
        except InvalidFeed as exc:
            errors = exc.errors
        else:
            flash(
                _(
                    "Feed %(name)s added. Sync it now, or the scheduler will within a minute.",
                    name=feed.name,
                )
            )
            return redirect(url_for("console_feeds.show", feed_id=feed.id))
    return (
        render_template("admin/feeds/new.html", values=values, errors=errors, **_common()),
        400 if errors else 200,
    )


def _feed_page(
    feed_id: int, *, values: FeedInput | None = None, status: int = 200, **extra: Any
) -> Any:
    feed = _feed_or_404(feed_id)
    if values is None:
        values = FeedInput(
            name=feed.name,
            kind=feed.kind.value,
            url=feed.url,
            interval_minutes=str(feed.interval_minutes),
            enabled=feed.enabled,
        )
    context: dict[str, Any] = {
        "feed": feed,
        "values": values,
        "errors": {},
        "rule_errors": {},
        "rule_values": {
            "rule_field": RuleField.DEPARTMENT.value,
            "rule_value": "",
            "rule_interest": "",
        },
        "interests": active_interests(db()),
        "syncs": recent_syncs(db(), feed.id),
        **_common(),
        **extra,
    }
    return render_template("admin/feeds/show.html", **context), status


@bp.route("/<int:feed_id>", methods=["GET", "POST"])
@admin_required
def show(feed_id: int) -> Any:
    if request.method == "GET":
        return _feed_page(feed_id)
    _checked_post()
    _feed_or_404(feed_id)
    values = _posted_input()
    try:
        update_feed(db(), feed_id, values, feed_policy(settings()))
    except InvalidFeed as exc:
        # Nothing was stored: the request's session rolls back on a 4xx.
        return _feed_page(feed_id, values=values, errors=exc.errors, status=400)
    flash(_("Feed saved."))
    return redirect(url_for("console_feeds.show", feed_id=feed_id))


@bp.post("/<int:feed_id>/sync")
@admin_required
def sync_now(feed_id: int) -> Any:
    _checked_post()
    feed = _feed_or_404(feed_id)
    record = sync_feed(db(), feed, feed_policy(settings()))
    return redirect(url_for("console_feeds.report", feed_id=feed_id, sync_id=record.id))


@bp.post("/<int:feed_id>/rules")
@admin_required
def add_rule_view(feed_id: int) -> Any:
    _checked_post()
    _feed_or_404(feed_id)
    form = request.form
    posted = {name: form.get(name, "") for name in ("rule_field", "rule_value", "rule_interest")}
    try:
        add_rule(db(), feed_id, posted["rule_field"], posted["rule_value"], posted["rule_interest"])
    except InvalidFeed as exc:
        return _feed_page(feed_id, rule_errors=exc.errors, rule_values=posted, status=400)
    flash(_("Rule added. It applies from the next sync."))
    return redirect(url_for("console_feeds.show", feed_id=feed_id) + "#rules")


@bp.post("/<int:feed_id>/rules/<int:rule_id>/delete")
@admin_required
def delete_rule_view(feed_id: int, rule_id: int) -> Any:
    """Remove an interest rule once confirmed; unconfirmed, ask for it and change nothing."""
    _checked_post()
    rule = db().get(FeedRule, rule_id)
    if rule is not None and rule.feed_id == feed_id and not confirmed():
        return ask(
            "admin/feeds/remove_rule.html",
            _("Tick the box to confirm. Nothing has been removed."),
            feed=rule.feed,
            rule=rule,
            rule_fields=RULE_LABELS,
        )
    try:
        delete_rule(db(), feed_id, rule_id)
    except FeedNotFound:
        abort(404)
    flash(_("Rule removed. Postings lose its interest at the next sync."))
    return redirect(url_for("console_feeds.show", feed_id=feed_id) + "#rules")


@bp.get("/<int:feed_id>/syncs/<int:sync_id>")
@admin_required
def report(feed_id: int, sync_id: int) -> Any:
    feed = _feed_or_404(feed_id)
    record = db().get(FeedSync, sync_id)
    if record is None or record.feed_id != feed.id:
        abort(404)
    return render_template("admin/feeds/report.html", feed=feed, sync=record, **_common())
