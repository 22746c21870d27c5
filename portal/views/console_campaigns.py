"""Console pages for mass campaigns: list, write, preview the audience, test, schedule, send
now, cancel. Send now and Cancel ask first (portal/views/console_confirm.py).

The write page has one fieldset per supported language besides the default
(DEFAULT_LOCALE): that language's subject and body, left empty for "send the
default". `static/campaign_languages.js` turns the fieldsets into ARIA tabs; without
JavaScript they are simply one after the other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, StringField, TextAreaField
from wtforms.validators import Optional

from mailer.campaign_admin import (
    EDITABLE,
    CampaignDraft,
    CampaignError,
    CampaignNotFound,
    VariantDraft,
    active_interests,
    audience_interest_ids,
    cancel_campaign,
    get_campaign,
    language_name,
    list_campaigns,
    preview_campaign_audience,
    render_preview,
    save_draft,
    schedule_campaign,
    send_now,
    send_test,
    sendable_problem,
)
from mailer.campaigns import body_html, content_problem, email_size
from mailer.models import Campaign, CampaignStatus
from mailer.reputation import ResumeError, alarm_of, held_count, resume_campaign
from mailer.sends import CAMPAIGN
from portal.i18n import gettext as _
from portal.i18n import ngettext, ui_default
from portal.views.admin import current_recruiter, recruiter_required
from portal.views.console_confirm import ask, confirmed
from portal.web.forms import form_ids
from portal.web.runtime import db, settings

bp = Blueprint("console_campaigns", __name__, url_prefix="/admin/campaigns")

PREVIEW_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; "
    "frame-ancestors 'self'"
)


# The campaigns whose page offers Cancel (and whose Cancel asks first).
CANCELLABLE = (
    CampaignStatus.DRAFT,
    CampaignStatus.SCHEDULED,
    CampaignStatus.SENT,
    CampaignStatus.PAUSED,
)


class CampaignForm(FlaskForm):
    name = StringField("Name")
    subject = StringField("Subject line")
    body = TextAreaField("Message")
    # "all" or "interests": radio buttons written out in the template.
    audience = StringField("Audience", default="all")


class ScheduleForm(FlaskForm):
    send_at = DateTimeLocalField("Send at", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    timezone = StringField("Timezone", default="UTC")


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token is checked."""


def _campaign_or_404(campaign_id: int) -> Campaign:
    try:
        return get_campaign(db(), campaign_id)
    except CampaignNotFound:
        abort(404)


def _sentence(exc: CampaignError) -> str:
    """The error as a sentence for a notice: capital first letter, full stop."""
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _recruiter_id() -> int:
    recruiter = current_recruiter()
    assert recruiter is not None  # recruiter_required ran first
    return recruiter.id


@bp.get("/")
@recruiter_required
def index() -> Any:
    return render_template(
        "admin/campaigns/list.html",
        campaigns=list_campaigns(db()),
        notices=get_flashed_messages(category_filter=["campaign"]),
    )


def _chosen_interests() -> list[int]:
    return form_ids(request.form.getlist("interest_ids"))


def default_locale() -> str:
    """The language a campaign's own subject and body are written in (DEFAULT_LOCALE)."""
    return ui_default(settings())


def variant_locales() -> list[str]:
    """The languages a campaign may have a variant in: the supported ones but the default."""
    default = default_locale()
    return [locale for locale in settings().supported_locales if locale != default]


def _language_names() -> dict[str, str]:
    return {locale: language_name(locale) for locale in settings().supported_locales}


def _posted_variants() -> tuple[VariantDraft, ...]:
    return tuple(
        VariantDraft(
            locale,
            request.form.get(f"subject-{locale}", ""),
            request.form.get(f"body-{locale}", ""),
        )
        for locale in variant_locales()
    )


def _stored_variants(campaign: Campaign | None) -> dict[str, tuple[str, str]]:
    if campaign is None:
        return {}
    return {v.locale: (v.subject, v.body) for v in campaign.variants}


def _edit(campaign: Campaign | None) -> Any:
    form = CampaignForm(obj=campaign)
    interests = active_interests(db())
    chosen = audience_interest_ids(campaign) if campaign is not None else []
    if request.method == "GET" and campaign is not None and chosen:
        form.audience.data = "interests"
    problems: dict[str, str] = {}
    preview = None
    size = None
    problem = None
    preview_locale = None
    variants = _stored_variants(campaign)
    if form.validate_on_submit():
        chosen = _chosen_interests()
        by_interest = form.audience.data == "interests"
        posted = _posted_variants()
        variants = {v.locale: (v.subject, v.body) for v in posted}
        draft = CampaignDraft(
            form.name.data or "",
            form.subject.data or "",
            form.body.data or "",
            chosen if by_interest else [],
            by_interest=by_interest,
            variants=posted,
        )
        action = request.form.get("action", "")
        if action == "preview" or action.removeprefix("preview-") in variants:
            preview_locale = action.removeprefix("preview-") if action != "preview" else None
            subject, body = (
                variants[preview_locale] if preview_locale else (draft.subject, draft.body)
            )
            preview = body_html(body)
            mail = settings().mail_settings()
            size = email_size(mail, subject, body)
            problem = content_problem(body, mail, subject)
        else:
            try:
                saved = save_draft(
                    db(),
                    draft,
                    campaign_id=campaign.id if campaign is not None else None,
                    created_by_id=_recruiter_id(),
                    settings=settings().mail_settings(),
                )
            except CampaignError as exc:
                problems = exc.problems or {"form": str(exc)}
            else:
                flash(_("The campaign was saved."), "campaign")
                return redirect(url_for(".detail", campaign_id=saved.id))
    status = 400 if problems else 200
    return render_template(
        "admin/campaigns/form.html",
        form=form,
        campaign=campaign,
        interests=interests,
        chosen=set(chosen),
        problems=problems,
        preview=preview,
        preview_locale=preview_locale,
        size=size,
        content_problem=problem,
        default_locale=default_locale(),
        variant_locales=variant_locales(),
        language_names=_language_names(),
        variants=variants,
    ), status


@bp.route("/new", methods=["GET", "POST"])
@recruiter_required
def new() -> Any:
    return _edit(None)


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@recruiter_required
def edit(campaign_id: int) -> Any:
    campaign = _campaign_or_404(campaign_id)
    if campaign.status not in EDITABLE:
        flash(
            _("A %(status)s campaign can no longer be edited.", status=campaign.status.value),
            "campaign",
        )
        return redirect(url_for(".detail", campaign_id=campaign.id))
    return _edit(campaign)


def _preview_locale(campaign: Campaign) -> str | None:
    """The language the detail page previews (`?preview=`): one of the campaign's variants."""
    wanted = request.args.get("preview", "")
    return wanted if wanted in {v.locale for v in campaign.variants} else None


def _audience_names(campaign: Campaign) -> list[str]:
    """The names of the interests a campaign's audience is limited to (none: everyone)."""
    interests = {i.id: i.name for i in active_interests(db())}
    return [interests.get(i, f"interest {i}") for i in audience_interest_ids(campaign)]


def _detail(campaign: Campaign, schedule_form: ScheduleForm, problems: dict[str, str]) -> Any:
    chosen = _audience_names(campaign)
    mail = settings().mail_settings()
    shown = _preview_locale(campaign)
    source = next((v for v in campaign.variants if v.locale == shown), campaign)
    blocked = sendable_problem(campaign, mail)
    return render_template(
        "admin/campaigns/detail.html",
        campaign=campaign,
        audience_names=chosen,
        preview=preview_campaign_audience(db(), campaign.id, mail.locales),
        schedule_form=schedule_form,
        action_form=ActionForm(),
        problems=problems,
        size=email_size(mail, source.subject, source.body),
        preview_locale=shown,
        default_locale=default_locale(),
        language_names=_language_names(),
        language_name=language_name,
        # Blocks Send now, Schedule and the test send (the service functions refuse them too).
        content_problem=blocked[1] if blocked else None,
        editable=campaign.status in EDITABLE,
        cancellable=campaign.status in CANCELLABLE,
        paused=campaign.status is CampaignStatus.PAUSED,
        alarm=alarm_of(db(), CAMPAIGN.prefix(campaign.id)),
        held=held_count(db(), campaign.id) if campaign.status is CampaignStatus.PAUSED else 0,
        notices=get_flashed_messages(category_filter=["campaign"]),
    ), 400 if problems else 200


@bp.get("/<int:campaign_id>")
@recruiter_required
def detail(campaign_id: int) -> Any:
    return _detail(_campaign_or_404(campaign_id), ScheduleForm(), {})


@bp.get("/<int:campaign_id>/preview.html")
@recruiter_required
def preview_html(campaign_id: int) -> Any:
    """The rendered email for a sample recipient, sandboxed: no scripts, no same-origin access.

    `?lang=` shows it as a reader of that language gets it (their variant, their footer).
    """
    campaign = _campaign_or_404(campaign_id)
    sample = preview_campaign_audience(db(), campaign.id).sample_candidate_id
    wanted = request.args.get("lang", "")
    locale = wanted if wanted in settings().supported_locales else default_locale()
    email = render_preview(
        db(), campaign.id, settings().mail_settings(), candidate_id=sample, locale=locale
    )
    response = Response(email.html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@bp.post("/<int:campaign_id>/test")
@recruiter_required
def test_send(campaign_id: int) -> Any:
    campaign = _campaign_or_404(campaign_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    wanted = request.form.get("locale", "")
    locale = wanted if wanted in settings().supported_locales else default_locale()
    try:
        address = send_test(
            db(), campaign.id, _recruiter_id(), settings=settings().mail_settings(), locale=locale
        )
    except CampaignError as exc:
        flash(_sentence(exc), "campaign")
    else:
        if locale == default_locale():
            sent = _("A test is on its way to %(address)s.", address=address)
        else:
            sent = _(
                "A test (%(language)s version) is on its way to %(address)s.",
                language=language_name(locale),
                address=address,
            )
        flash(sent, "campaign")
    return redirect(url_for(".detail", campaign_id=campaign.id))


def _send_time(form: ScheduleForm) -> datetime:
    """The form's local time in its timezone, as an aware datetime."""
    if form.send_at.data is None:
        raise CampaignError("no send time", {"send_at": _("Enter the date and time to send at.")})
    try:
        zone = ZoneInfo((form.timezone.data or "UTC").strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise CampaignError(
            "unknown timezone",
            {"timezone": _("Enter a timezone name such as UTC or Europe/Berlin.")},
        ) from None
    return form.send_at.data.replace(tzinfo=zone)


@bp.post("/<int:campaign_id>/schedule")
@recruiter_required
def schedule(campaign_id: int) -> Any:
    campaign = _campaign_or_404(campaign_id)
    form = ScheduleForm()
    if not form.validate_on_submit() and form.csrf_token.errors:
        abort(400)
    try:
        at = _send_time(form)
        schedule_campaign(db(), campaign.id, at, settings=settings().mail_settings())
    except CampaignError as exc:
        return _detail(campaign, form, exc.problems or {"form": str(exc)})
    when = f"{at:%Y-%m-%d %H:%M}"
    flash(_("Scheduled for %(when)s %(zone)s.", when=when, zone=at.tzname()), "campaign")
    return redirect(url_for(".detail", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/send")
@recruiter_required
def send(campaign_id: int) -> Any:
    """Queue a campaign for its audience now once confirmed; unconfirmed, ask and change nothing.

    Only a send the service would make is asked about: a campaign already sent or
    cancelled, or one that breaks a content rule, goes straight to `send_now`, which refuses.
    """
    campaign = _campaign_or_404(campaign_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    mail = settings().mail_settings()
    if campaign.status in EDITABLE and sendable_problem(campaign, mail) is None and not confirmed():
        return ask(
            "admin/campaigns/send.html",
            _("Tick the box to confirm. Nothing has been sent."),
            campaign=campaign,
            audience_names=_audience_names(campaign),
            # The count the page's button shows: the same preview as the campaign's page.
            preview=preview_campaign_audience(db(), campaign.id, mail.locales),
        )
    try:
        queued = send_now(db(), campaign.id, settings=mail)
    except CampaignError as exc:
        flash(_sentence(exc), "campaign")
    else:
        flash(
            ngettext("Queued for %(num)d recipient.", "Queued for %(num)d recipients.", queued),
            "campaign",
        )
    return redirect(url_for(".detail", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/cancel")
@recruiter_required
def cancel(campaign_id: int) -> Any:
    """Cancel a campaign once confirmed; unconfirmed, ask for it and change nothing."""
    campaign = _campaign_or_404(campaign_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if campaign.status in CANCELLABLE and not confirmed():
        return ask(
            "admin/campaigns/cancel.html",
            _("Tick the box to confirm. The campaign has not been cancelled."),
            campaign=campaign,
            held=held_count(db(), campaign.id) if campaign.status is CampaignStatus.PAUSED else 0,
        )
    try:
        pending = cancel_campaign(db(), campaign.id)
    except CampaignError as exc:
        flash(str(exc).capitalize() + ".", "campaign")
    else:
        cancelled = _("The campaign was cancelled.")
        if pending:
            skipped = _("%(count)d message(s) not sent yet will be skipped.", count=pending)
            cancelled = f"{cancelled} {skipped}"
        flash(cancelled, "campaign")
    return redirect(url_for(".detail", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/resume")
@recruiter_required
def resume(campaign_id: int) -> Any:
    """Send a campaign the sender-reputation alarm paused after all."""
    campaign = _campaign_or_404(campaign_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        released = resume_campaign(db(), campaign.id)
    except ResumeError as exc:
        flash(str(exc).capitalize() + ".", "campaign")
    else:
        flash(
            ngettext(
                "Sending again: %(num)d held message went back to the queue.",
                "Sending again: %(num)d held messages went back to the queue.",
                released,
            ),
            "campaign",
        )
    return redirect(url_for(".detail", campaign_id=campaign.id))
