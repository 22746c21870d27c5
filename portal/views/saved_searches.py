""" "Email me jobs like this": the box on `/jobs`, its form, and the emailed confirmation.

A signed-in member saves a search in one click. A visitor gives an address and always
sees the same "Check your email" page (`portal.connect.saved_search` says what happens
behind it). The confirmation link's GET only shows what confirming saves, with a
button: a mail scanner that opens links confirms nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for

from jobs.search_criteria import SearchCriteria, describe, read_criteria
from jobs.wording import N_
from portal.connect.profile import check_profile
from portal.connect.saved_search import (
    LinkState,
    SaveRefused,
    SearchToSave,
    Shown,
    confirm_from_link,
    link_state,
    save_for_member,
    save_for_visitor,
    saved_search_wording,
    search_from_link,
    search_to_save,
)
from portal.connect.submit import LinkContext
from portal.i18n import gettext as _
from portal.i18n import ngettext
from portal.web import sessions
from portal.web.consent_texts import consent_text, privacy_notice
from portal.web.interest_names import interest_name
from portal.web.links import preference_url
from portal.web.runtime import db, settings
from portal.web.saved_search_fields import active_interest
from portal.web.words import gettext
from preferences.errors import TooManySavedSearches
from preferences.models import Candidate, Frequency
from preferences.tokens import (
    InvalidLink,
    LinkExpired,
    LinkPurpose,
    candidate_for_link,
    read_link_token,
)
from preferences.wordings import SAVED_SEARCH

bp = Blueprint("saved_searches", __name__)

# The `/jobs` parameters a saved search keeps (`posted` is not one: an alert lists new jobs).
SEARCH_ARGS = ("q", "location", "workplace", "type", "interest")
# English; shown translated (`_frequencies`, `_frequency_words`).
FREQUENCIES = (
    (Frequency.INSTANT.value, N_("As soon as they're posted")),
    (Frequency.DAILY.value, N_("Once a day")),
    (Frequency.WEEKLY.value, N_("Once a week")),
)
FREQUENCY_WORDS = {
    Frequency.INSTANT: N_("as soon as they're posted"),
    Frequency.DAILY: N_("once a day"),
    Frequency.WEEKLY: N_("once a week"),
}


def _frequencies() -> list[tuple[str, str]]:
    return [(value, gettext(label)) for value, label in FREQUENCIES]


def _frequency_words(frequency: Frequency | None) -> str:
    """How often, inside a sentence ("once a day"), in the request's language."""
    return gettext(FREQUENCY_WORDS[frequency]) if frequency is not None else ""


def _description(criteria: SearchCriteria) -> str:
    """The saved search in words, in the request's language (what is stored is English)."""
    interest = active_interest(db(), criteria.interest) if criteria.interest else None
    return describe(criteria, interest_name(interest) if interest else None, gettext)


def _jobs_url(criteria: SearchCriteria) -> str:
    """The `/jobs` results for `criteria`."""
    args: dict[str, Any] = dict(criteria.query_args())
    return url_for("public.jobs", **args)


def _links() -> LinkContext:
    s = settings()
    return LinkContext(s.secret_keys, s.base_url, s.upload_dir, s.address_mail_caps)


def _box(
    criteria: SearchCriteria,
    *,
    email: str = "",
    consent: bool = False,
    frequency: str = Frequency.DAILY.value,
    errors: dict[str, str] | None = None,
) -> dict[str, Any] | None:
    """What the box shows for `criteria`, or None when it cannot be saved."""
    alert = criteria.for_alert()
    if not alert.can_alert():
        return None
    name = None
    if alert.interest:
        interest = active_interest(db(), alert.interest)
        if interest is None:
            return None
        name = interest_name(interest)
    return {
        "description": describe(alert, name, gettext),
        "args": alert.query_args(),
        "member": sessions.current_candidate(db()) is not None,
        "frequencies": _frequencies(),
        "frequency": frequency,
        "wording": saved_search_wording(),
        "email": email,
        "consent": consent,
        "errors": errors or {},
    }


@bp.app_template_global()
def save_search_box(criteria: SearchCriteria | None = None) -> dict[str, Any] | None:
    """The "Email me jobs like this" box for a results page (`jobs/_save_search.html`).

    `criteria` is the page's search; without it, the request's own query string is read.
    """
    if criteria is None:
        criteria, _notes = read_criteria(request.args)
    return _box(criteria)


def _search_args() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in SEARCH_ARGS}


def _refused(message: str, status: int = 400, **context: Any) -> Any:
    return render_template("saved_searches/refused.html", message=message, **context), status


@bp.route("/jobs/save", methods=["GET", "POST"])
def save() -> Any:
    """GET: the box on a page of its own; POST: save the search (member) or email a link."""
    if request.method == "GET":
        criteria, notes = read_criteria(request.args)
        box = None if notes else _box(criteria)
        if box is None:
            return _refused(
                _(
                    "There is nothing to alert you about in this search: add keywords, a place "
                    "or a filter first."
                )
            )
        return render_template("saved_searches/save.html", box=box)
    session = db()
    try:
        search = search_to_save(session, _search_args(), request.form.get("frequency"))
    except SaveRefused as exc:
        return _refused(exc.message)
    member = sessions.current_candidate(session)
    if member is not None:
        return _save_for_member(member, search)
    return _save_for_visitor(search)


def _save_for_member(member: Candidate, search: SearchToSave) -> Any:
    try:
        saved, outcome = save_for_member(
            db(),
            member,
            search,
            limit=settings().max_saved_searches,
            ip_address=request.remote_addr,
            # A member's form shows the wording beside the button, and no privacy link.
            shown=Shown(consent_text(SAVED_SEARCH)),
        )
    except TooManySavedSearches as exc:
        # 409: the request is rolled back, so nothing of it is kept.
        return _refused(
            ngettext(
                # The English singular is the plural's wording (the limit is 1 at least).
                "You already have %(num)s saved searches, the most you can keep. "
                "Stop one you no longer need, then save this one.",
                "You already have %(num)s saved searches, the most you can keep. "
                "Stop one you no longer need, then save this one.",
                exc.limit,
            ),
            409,
            manage_url=url_for("dashboard.preferences"),
        )
    return render_template(
        "saved_searches/saved.html",
        outcome=outcome.value,
        description=_description(search.criteria),
        frequency=_frequency_words(saved.frequency),
        manage_url=url_for("dashboard.preferences"),
        jobs_url=_jobs_url(search.criteria),
    )


def _save_for_visitor(search: SearchToSave) -> Any:
    errors: dict[str, str] = {}
    check = check_profile(
        {"email": request.form.get("email", "")},
        required=("email",),
        region=settings().phone_default_region,
    )
    if "email" in check.errors:
        errors["email"] = check.errors["email"]
    consent = request.form.get("consent") == "yes"
    if not consent:
        errors["consent"] = _("Tick this box so we can email you jobs like this.")
    if errors:
        box = _box(
            search.criteria,
            email=str(check.values.get("email") or "")[:320],
            consent=consent,
            frequency=search.frequency.value,
            errors=errors,
        )
        return render_template("saved_searches/save.html", box=box), 400
    notice = privacy_notice()
    save_for_visitor(
        db(),
        str(check.values["email"]),
        search,
        _links(),
        limit=settings().max_saved_searches,
        ip_address=request.remote_addr,
        shown=Shown(
            consent_text(SAVED_SEARCH),
            privacy_notice=notice.version() if notice is not None else None,
        ),
    )
    # The same page whatever the address: new, known, erased or suppressed.
    return render_template("saved_searches/check_email.html")


def _link_problem(expired: bool) -> Any:
    if expired:
        return render_template("saved_searches/link_expired.html"), 410
    return render_template(
        "error.html",
        code=400,
        title=_("This link doesn't work"),
        detail=_(
            "It may have been copied incompletely. You can save the search again "
            "from the jobs page, and we'll email you a new link."
        ),
    ), 400


@bp.route("/jobs/save/confirm/<link_token:token>", methods=["GET", "POST"])
def confirm(token: str) -> Any:
    """Confirm a saved search from its emailed link: GET shows it, POST confirms it."""
    s = settings()
    session = db()
    try:
        link = read_link_token(s.secret_keys, LinkPurpose.CONFIRM_SEARCH, token)
        candidate = candidate_for_link(session, link)
    except LinkExpired:
        return _link_problem(expired=True)
    except InvalidLink:
        return _link_problem(expired=False)
    try:
        search = search_from_link(session, link.extra)
    except SaveRefused as exc:
        return _refused(exc.message, 410)
    manage_url = preference_url(s, candidate)
    if request.method == "GET":
        return render_template(
            "saved_searches/confirm.html",
            token=token,
            state=link_state(session, candidate, search).value,
            description=_description(search.criteria),
            frequency=_frequency_words(search.frequency),
            wording=saved_search_wording(),
            manage_url=manage_url,
        )
    try:
        saved, before = confirm_from_link(
            session,
            candidate,
            search,
            limit=s.max_saved_searches,
            ip_address=request.remote_addr,
            shown=Shown(consent_text(SAVED_SEARCH)),
        )
    except TooManySavedSearches as exc:
        return _refused(
            ngettext(
                "You already have %(num)s saved searches, the most you can keep. "
                "Stop one you no longer need, then save this one again.",
                "You already have %(num)s saved searches, the most you can keep. "
                "Stop one you no longer need, then save this one again.",
                exc.limit,
            ),
            409,
            manage_url=manage_url,
        )
    return render_template(
        "saved_searches/confirmed.html",
        state=before.value,
        stopped=before is LinkState.STOPPED,
        description=_description(search.criteria),
        frequency=_frequency_words(saved.frequency) if saved else "",
        manage_url=manage_url,
        jobs_url=_jobs_url(search.criteria),
    )
