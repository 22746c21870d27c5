"""Recruiter console (admins): webhook endpoints, their health, deliveries and signing secrets.

A new endpoint's signing secret, and the one a rotation makes, is shown once: in the answer
to the POST that made it (never stored in the session, never cached), and never again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from jobs.wording import N_
from portal.i18n import gettext as _
from portal.views.admin import admin_required
from portal.views.console_confirm import ask, confirmed
from portal.views.console_people import me
from portal.web.runtime import db, settings
from portal.webhooks.delivery import redeliver, send_test_event
from portal.webhooks.endpoints import (
    EVENT_TYPE_NAMES,
    EndpointInput,
    InvalidEndpoint,
    active_secrets,
    create_endpoint,
    delete_endpoint,
    find_endpoint,
    list_endpoints,
    rotate_secret,
    update_endpoint,
)
from portal.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from portal.webhooks.reports import (
    HEALTH_WINDOW,
    RECENT_DELIVERIES,
    EndpointHealth,
    endpoint_health,
    recent_deliveries,
)
from portal.webhooks.sealing import secret_seal
from preferences.audit import record_audit, recruiter_actor
from preferences.clock import now

bp = Blueprint("console_webhooks", __name__, url_prefix="/admin/webhooks")

# What each event type reports, as the form's checkboxes describe it.
EVENT_TYPE_HINTS = {
    "candidate.created": N_("A candidate joined the talent community."),
    "candidate.confirmed": N_("A candidate confirmed their email address."),
    "subscription.changed": N_(
        "A subscription to an interest or a saved search was started, changed, paused or withdrawn."
    ),
    "mass_email.changed": N_("A candidate opted in to or out of mass email."),
    "candidate.unsubscribed": N_(
        "A candidate unsubscribed (one-click, preference page or email), with the channel."
    ),
    "candidate.erased": N_("A candidate was deleted or anonymized."),
    "bounce.hard": N_("An address bounced permanently and is suppressed."),
    "bounce.soft_limit": N_(
        "An address kept bouncing softly (a full mailbox) until it reached the limit and is "
        "suppressed."
    ),
    "complaint.received": N_("A recipient reported an email as spam."),
    "alert_run.finished": N_("A job-alert run finished."),
    "campaign.sent": N_("A mass email campaign was sent."),
}

STATUS_LABELS = {
    DeliveryStatus.PENDING: N_("Waiting"),
    DeliveryStatus.SENDING: N_("Sending"),
    DeliveryStatus.DELIVERED: N_("Delivered"),
    DeliveryStatus.FAILED: N_("Failed"),
}

FIELDS = ("url", "description", "event_types", "enabled", "include_contact_data")


def _endpoint_or_404(public_id: str) -> WebhookEndpoint:
    endpoint = find_endpoint(db(), public_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _sentence(text: str) -> str:
    """A service's message ("enter the receiver's URL") as the page shows it."""
    text = text.strip()
    if not text:
        return text
    if "://" not in text.split(" ", 1)[0]:  # "http:// is only for…" stays as written
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _field_errors(exc: InvalidEndpoint) -> dict[str, str]:
    return {
        name if name in FIELDS else "url": _sentence(message)
        for name, message in exc.fields.items()
    }


def _posted_input() -> EndpointInput:
    form = request.form
    return EndpointInput(
        url=form.get("url", ""),
        description=form.get("description", ""),
        event_types=tuple(form.getlist("event_types")),
        enabled=form.get("enabled") == "on",
        include_contact_data=form.get("include_contact_data") == "on",
    )


def _input_of(endpoint: WebhookEndpoint, **changes: Any) -> EndpointInput:
    values: dict[str, Any] = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": tuple(endpoint.event_types or ()),
        "enabled": endpoint.enabled,
        "include_contact_data": endpoint.include_contact_data,
    }
    values.update(changes)
    return EndpointInput(**values)


def _audit(action: str, endpoint: WebhookEndpoint, **detail: Any) -> None:
    """An audit entry: endpoints decide which systems receive candidates' data."""
    record_audit(
        db(),
        actor=recruiter_actor(me().id),
        action=action,
        subject=endpoint.public_id,
        detail=detail,
    )


def _settings_detail(endpoint: WebhookEndpoint) -> dict[str, Any]:
    # The host only: a receiver URL's path or query may carry a token of its own.
    return {
        "host": urlsplit(endpoint.url).hostname or "",
        "event_types": list(endpoint.event_types or []),
        "enabled": endpoint.enabled,
        "include_contact_data": endpoint.include_contact_data,
    }


def _common() -> dict[str, Any]:
    return {
        "event_types": EVENT_TYPE_NAMES,
        "event_hints": EVENT_TYPE_HINTS,
        "status_labels": STATUS_LABELS,
        "window_days": HEALTH_WINDOW.days,
        "grace_hours": _grace_hours(),
    }


def _grace_hours() -> str:
    hours = settings().webhook_secret_grace_hours
    return f"{hours:g}"


def _retry_hours() -> str:
    return f"{settings().webhook_retry_hours:g}"


def _secret_page(endpoint: WebhookEndpoint, secret: str, *, rotated: bool) -> Any:
    """The one page that shows a signing secret; never cached, never shown again."""
    old_until = None
    if rotated:
        old = active_secrets(endpoint)[1:]  # all but the newest, which is `secret`
        old_until = max((s.expires_at for s in old if s.expires_at is not None), default=None)
    response = make_response(
        render_template(
            "admin/webhooks/secret.html",
            endpoint=endpoint,
            secret=secret,
            rotated=rotated,
            old_until=old_until,
            **_common(),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
@admin_required
def index() -> Any:
    endpoints = list_endpoints(db())
    return render_template(
        "admin/webhooks/index.html",
        endpoints=endpoints,
        health=endpoint_health(db()),
        no_health=EndpointHealth(),
        **_common(),
    )


def _form_page(
    endpoint: WebhookEndpoint | None, values: EndpointInput, errors: dict[str, str]
) -> Any:
    return render_template(
        "admin/webhooks/form.html",
        endpoint=endpoint,
        values=values,
        errors=errors,
        allowed_hosts=settings().webhook_allowed_hosts,
        **_common(),
    ), (400 if errors else 200)


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new() -> Any:
    if request.method == "GET":
        return _form_page(None, EndpointInput(url=""), {})
    values = _posted_input()
    try:
        endpoint, secret = create_endpoint(
            db(), values, settings().webhook_allowed_hosts, secret_seal(settings().secret_keys)
        )
    except InvalidEndpoint as exc:
        # Nothing was stored: the request's session rolls back on a 4xx.
        return _form_page(None, values, _field_errors(exc))
    _audit("webhook.created", endpoint, **_settings_detail(endpoint))
    return _secret_page(endpoint, secret, rotated=False)


def _endpoint_page(
    endpoint: WebhookEndpoint, *, problem: str | None = None, status: int = 200
) -> Any:
    session = db()
    at = now()
    return render_template(
        "admin/webhooks/show.html",
        endpoint=endpoint,
        health=endpoint_health(session, [endpoint.id]).get(endpoint.id, EndpointHealth()),
        deliveries=recent_deliveries(session, endpoint.id),
        recent_limit=RECENT_DELIVERIES,
        secrets=sorted(endpoint.secrets, key=lambda s: s.id, reverse=True),
        signing={s.id for s in active_secrets(endpoint, at)},
        problem=problem,
        **_common(),
    ), status


@bp.get("/<public_id>")
@admin_required
def show(public_id: str) -> Any:
    return _endpoint_page(_endpoint_or_404(public_id))


@bp.route("/<public_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(public_id: str) -> Any:
    endpoint = _endpoint_or_404(public_id)
    if request.method == "GET":
        return _form_page(endpoint, _input_of(endpoint), {})
    values = _posted_input()
    try:
        update_endpoint(db(), endpoint, values, settings().webhook_allowed_hosts)
    except InvalidEndpoint as exc:
        return _form_page(endpoint, values, _field_errors(exc))
    _audit("webhook.changed", endpoint, **_settings_detail(endpoint))
    flash(_("Endpoint saved."))
    return redirect(url_for("console_webhooks.show", public_id=endpoint.public_id))


@bp.post("/<public_id>/enabled")
@admin_required
def set_enabled(public_id: str) -> Any:
    """Enable an endpoint at once (its health starts afresh); disable one once confirmed.

    Unconfirmed, Disable asks and changes nothing: events that happen while an endpoint is
    disabled are never sent to it. Its confirmation page posts no `enabled`, and anything
    but "on" means disable.
    """
    endpoint = _endpoint_or_404(public_id)
    enable = request.form.get("enabled") == "on"
    if enable == endpoint.enabled:
        return redirect(url_for("console_webhooks.show", public_id=public_id))
    if not enable and not confirmed():
        return ask(
            "admin/webhooks/disable.html",
            _("Tick the box to confirm. The endpoint is still enabled."),
            endpoint=endpoint,
            retry_hours=_retry_hours(),
            **_common(),
        )
    try:
        update_endpoint(
            db(), endpoint, _input_of(endpoint, enabled=enable), settings().webhook_allowed_hosts
        )
    except InvalidEndpoint as exc:
        problem = " ".join(_field_errors(exc).values())
        return _endpoint_page(
            endpoint,
            problem=_("The endpoint can't be enabled: %(problem)s Edit it first.", problem=problem),
            status=400,
        )
    _audit("webhook.changed", endpoint, **_settings_detail(endpoint))
    if enable:
        flash(_("Endpoint enabled: new events will be delivered to it."))
    else:
        flash(
            _(
                "Endpoint disabled: events that happen while it is disabled are never sent to "
                "it; deliveries already queued wait until you enable it again."
            )
        )
    return redirect(url_for("console_webhooks.show", public_id=public_id))


@bp.post("/<public_id>/test")
@admin_required
def send_test(public_id: str) -> Any:
    endpoint = _endpoint_or_404(public_id)
    delivery = send_test_event(db(), endpoint)
    flash(
        _(
            "A test event (webhook.test) is on its way; it is listed under Recent deliveries "
            "(delivery %(id)s).",
            id=delivery.id,
        )
    )
    return redirect(url_for("console_webhooks.show", public_id=public_id) + "#deliveries")


@bp.post("/<public_id>/deliveries/<int:delivery_id>/redeliver")
@admin_required
def redeliver_view(public_id: str, delivery_id: int) -> Any:
    endpoint = _endpoint_or_404(public_id)
    delivery = db().get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        abort(404)
    if redeliver(db(), delivery):
        flash(_("Delivery %(id)s will be sent again, with the same webhook-id.", id=delivery.id))
    else:
        flash(_("Delivery %(id)s is still on its way: nothing changed.", id=delivery.id))
    return redirect(url_for("console_webhooks.show", public_id=public_id) + "#deliveries")


@bp.post("/<public_id>/rotate")
@admin_required
def rotate(public_id: str) -> Any:
    """Rotate the signing secret once confirmed, and show the new one (once)."""
    endpoint = _endpoint_or_404(public_id)
    if not confirmed():
        return ask(
            "admin/webhooks/rotate.html",
            _("Tick the box to confirm. The secret has not changed."),
            endpoint=endpoint,
            **_common(),
        )
    grace = timedelta(hours=settings().webhook_secret_grace_hours)
    secret = rotate_secret(db(), endpoint, grace, secret_seal(settings().secret_keys))
    _audit("webhook.secret_rotated", endpoint, grace_hours=grace.total_seconds() / 3600)
    return _secret_page(endpoint, secret, rotated=True)


@bp.post("/<public_id>/delete")
@admin_required
def delete(public_id: str) -> Any:
    """Delete an endpoint (with its secrets and delivery records) once confirmed."""
    endpoint = _endpoint_or_404(public_id)
    if not confirmed():
        return ask(
            "admin/webhooks/delete.html",
            _("Tick the box to confirm. Nothing has been deleted."),
            endpoint=endpoint,
            **_common(),
        )
    _audit("webhook.deleted", endpoint, host=urlsplit(endpoint.url).hostname or "")
    url = endpoint.url
    delete_endpoint(db(), endpoint)
    flash(_("Endpoint %(url)s deleted: no more events go to it.", url=url))
    return redirect(url_for("console_webhooks.index"))
