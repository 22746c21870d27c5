"""The preference center reached from a signed link in any email; no login needed."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import Markup
from sqlalchemy.orm import Session

from portal.i18n import current_locale
from portal.i18n import gettext as _
from portal.web.consent_texts import consent_text, shown_wordings
from portal.web.interest_names import page_interest_texts, page_translation_tags
from portal.web.link_owners import signed_link_candidate, signed_link_owner
from portal.web.links import send_preference_link
from portal.web.phrases import register_filters, translate
from portal.web.runtime import db, settings
from portal.web.saved_search_words import SearchView, saved_search_views
from preferences.center import (
    CONFIRM_OFF_FIELD,
    MASS_EMAIL_FIELD,
    MAX_PAUSE_DAYS,
    CenterForm,
    CenterPage,
    InterestOption,
    PreferenceState,
    SaveOutcome,
    center_page,
    restore_center,
    save_center,
)
from preferences.clock import now
from preferences.errors import NotFound
from preferences.interest_texts import InterestTexts
from preferences.models import (
    Candidate,
    ConsentSource,
    Frequency,
    Interest,
    MassEmail,
    SubscriptionStatus,
)
from preferences.phrases import N_, PhraseDate
from preferences.retention import touch_activity
from preferences.saved_searches import (
    MAX_ID,
    confirm_saved_search,
    pause_saved_search,
    saved_search_of,
    set_search_frequency,
    withdraw_saved_search,
)
from preferences.subscriptions import mass_email_status
from preferences.tokens import (
    InvalidLink,
    LinkExpired,
    LinkOwner,
    LinkPurpose,
    make_link_token,
    read_link_token,
)
from preferences.wordings import JOB_ALERTS, MASS_EMAIL

bp = Blueprint("preferences", __name__, url_prefix="/preferences")
# `phrase`, `bdi` and `local_day`, for these pages, the dashboard's and the unsubscribe pages.
register_filters(bp)

UNDO_SECONDS = 30 * 86400


def invalid_link_page() -> Any:
    """The 400 page of a preferences link that does not verify."""
    return render_template(
        "error.html",
        code=400,
        title=_("This link doesn't work"),
        detail=_(
            "It may have been copied incompletely, or replaced by a newer email. "
            "Use the link in your most recent email from us."
        ),
    ), 400


def expired_link_page() -> Any:
    """The 410 page of an expired preferences link, with a way to ask for a new one."""
    return render_template(
        "connect/link_expired.html",
        message=_("This preferences link has expired."),
        resend_url=url_for("preferences.resend"),
    ), 410


def link_form_token(link_token: str, key: str | None = None) -> str:
    """The CSRF token of the form on a signed page: an HMAC of the page's link token.

    The link token in the URL is itself the secret a forged cross-site POST would
    need, so binding the form token to it keeps the signed pages free of a session
    cookie (nothing is stored for a visit from an email) while forms still carry a
    token that is checked.
    """
    secret = (key or settings().secret_keys[0]).encode()
    digest = hmac.new(secret, b"preferences-form:" + link_token.encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def check_link_form_token(link_token: str) -> None:
    """Refuse a POST to a signed page whose form token is missing or wrong (any key verifies)."""
    sent = request.form.get("csrf_token", "")
    if not any(
        hmac.compare_digest(sent, link_form_token(link_token, key))
        for key in settings().secret_keys
    ):
        raise CSRFError("The form token of this page is missing or does not match its link.")


def _candidate(token: str) -> Candidate:
    """The candidate a preference link names, as the ORM row a change is made through."""
    return signed_link_candidate(LinkPurpose.PREFERENCES, token)[1]


def read_center_form(form: Any) -> CenterForm:
    """The posted preference form, as the service reads it."""
    return CenterForm(
        fields=form,
        chosen=form.getlist("interest"),
        mass_email=form.get(MASS_EMAIL_FIELD),
        confirmed_off=form.get(CONFIRM_OFF_FIELD) == "yes",
    )


def mass_email_wording() -> str:
    """The consent text beside the mass-email box: the connect form's, word for word.

    In the page's language: it is also the wording an opt-in's consent event keeps,
    which must be the text the person saw (`shown_wordings` names its version).
    """
    return consent_text(MASS_EMAIL).text


def alerts_wording() -> str:
    """The job-alert consent text above the interest boxes: the connect form's, word for word."""
    return consent_text(JOB_ALERTS).text


def undo_token_for(candidate: Candidate, before: PreferenceState) -> str:
    return make_link_token(
        settings().secret_keys, LinkPurpose.PREFERENCES, candidate, undo=before.as_dict()
    )


# The frequency menu: (value, label), in the order shown.
# (`N_` marks them for translation; they are translated where they are shown.)
FREQUENCY_OPTIONS = (
    (Frequency.INSTANT.value, N_("As jobs are posted")),
    (Frequency.DAILY.value, N_("Daily digest")),
    (Frequency.WEEKLY.value, N_("Weekly digest")),
)
# How a subscribed row sums up its frequency, e.g. "Frequency and pause: weekly".
FREQUENCY_SUMMARY = {
    Frequency.INSTANT: N_("as jobs are posted"),
    Frequency.DAILY: N_("daily"),
    Frequency.WEEKLY: N_("weekly"),
}


@lru_cache(maxsize=32)
def _frequency_menus(locale: str) -> dict[str, Markup]:
    del locale  # the cache key: the labels are translated when this runs
    return {
        value: Markup("").join(
            Markup('<option value="{}"{}>{}</option>').format(
                option, Markup(" selected") if option == value else "", _(label)
            )
            for option, label in FREQUENCY_OPTIONS
        )
        for value, _label in FREQUENCY_OPTIONS
    }


def frequency_menus() -> dict[str, Markup]:
    """The <option>s of the frequency menu, once per frequency and language."""
    return _frequency_menus(current_locale())


class CenterRow(NamedTuple):
    """One interest row of the form, worked out here so the template only prints.

    Rows repeat across candidates (same interest, same choices), so each distinct
    row is rendered once and cached by `row_markup`: the page is mostly these rows.
    """

    id: int
    name: str
    subscribed: bool
    pending: bool
    summary: str  # "Frequency and pause", with the frequency for a subscribed interest
    frequency_menu: Markup
    pause_value: str
    pause_error: str | None
    locale: str  # the page's language: the row's words are in it


def center_rows(
    interests: Sequence[Interest | InterestOption],
    state: PreferenceState,
    errors: dict[str, str],
    form: Any,
    names: InterestTexts | None,
) -> list[CenterRow]:
    """The form's rows; `names` translates the interests' names, None when they already are."""
    rows = []
    locale = current_locale()
    menus = frequency_menus()
    unsubscribed = _("Frequency and pause")
    # The summary of a subscribed row without a pause, once per frequency on the page.
    summaries: dict[Frequency, str] = {}
    for interest in interests:
        choice = state.interests[interest.id]
        summary = unsubscribed
        if choice.subscribed and choice.paused_until:
            summary = _(
                "Frequency and pause: %(frequency)s, paused until %(day)s",
                frequency=_(FREQUENCY_SUMMARY[choice.frequency]),
                day=translate(PhraseDate(choice.paused_until, "medium")),
            )
        elif choice.subscribed:
            summary = summaries.get(choice.frequency) or summaries.setdefault(
                choice.frequency,
                _(
                    "Frequency and pause: %(frequency)s",
                    frequency=_(FREQUENCY_SUMMARY[choice.frequency]),
                ),
            )
        pause_error = errors.get(f"pause-{interest.id}")
        if pause_error:
            pause_value = form.get(f"pause-{interest.id}", "")
        else:
            pause_value = choice.paused_until.date().isoformat() if choice.paused_until else ""
        rows.append(
            CenterRow(
                interest.id,
                interest.name if names is None else names.name_of(interest.id, interest.name),
                choice.subscribed,
                choice.pending,
                summary,
                menus[choice.frequency.value],
                pause_value,
                pause_error,
                locale,
            )
        )
    return rows


@lru_cache(maxsize=4096)
def row_markup(row: CenterRow) -> Markup:
    """The HTML of one interest row (preferences/_interest_row.html), cached per distinct row."""
    template = current_app.jinja_env.get_template("preferences/_interest_row.html")
    return Markup(template.render(row=row))  # noqa: S704 - autoescaped template output


def render_center(
    session: Session,
    candidate: Candidate | LinkOwner,
    *,
    action: str,
    page: CenterPage | None = None,
    status: int = 200,
    changes: list[str] | None = None,
    undo_token: str | None = None,
    errors: dict[str, str] | None = None,
    undo_action: str | None = None,
    undone: bool = False,
    form_csrf: str | None = None,
    confirm_off: bool = False,
    search_errors: dict[int, str] | None = None,
    page_is_stored: bool = False,
    searches: list[SearchView] | None = None,
) -> Any:
    """The preference page; without `page`, the stored one (one read).

    `page_is_stored` says a given `page` was read back after a Save or an Undo, so its
    mass-email choice is what is stored (no need to read it again). `searches`, when
    given, are the saved searches read in the Save's transaction (no second one).

    `form_csrf` is the signed page's link-bound form token; without it the form
    carries the session's CSRF token (the dashboard). `confirm_off` shows the
    step that asks before mass email is turned off (the page without JavaScript).
    The saved searches, each with its own small forms, post to `<action>/searches/<id>`;
    `search_errors` is a message for the search whose form was refused.
    """
    errors = {name: translate(message) for name, message in (errors or {}).items()}
    names: InterestTexts | None = None  # read with the interests, in the page's language
    if page is None:
        page = center_page(session, candidate, page_translation_tags())
        opted_in = page.state.mass_email
    else:  # `page` may be the form as posted; the warning is for who gets the emails now
        opted_in = (
            page.state.mass_email
            if page_is_stored
            else mass_email_status(session, candidate) is MassEmail.OPTED_IN
        )
        names = page_interest_texts()
    if searches is None:
        searches = kept_searches(session, candidate.id, page)
    return render_template(
        "preferences/center.html",
        candidate=candidate,
        rows_html=Markup("").join(
            row_markup(row)
            for row in center_rows(page.interests, page.state, errors, request.form, names)
        ),
        form_csrf=form_csrf or generate_csrf(),
        mass_email=page.state.mass_email,
        opted_in=opted_in,
        confirm_off=confirm_off,
        mass_email_wording=mass_email_wording(),
        alerts_wording=alerts_wording(),
        action=action,
        changes=None if changes is None else [translate(change) for change in changes],
        undo_token=undo_token,
        undo_action=undo_action,
        errors=errors,
        undone=undone,
        searches=searches,
        search_action=f"{action}/searches/",
        search_errors=search_errors or {},
        search_notice=_search_notice(session, candidate.id, searches),
        frequency_menus=frequency_menus(),
    ), status


def kept_searches(session: Session, candidate_id: int, page: CenterPage) -> list[SearchView]:
    """The saved searches the page lists; none to read when its query found none kept."""
    if page.keeps_searches is False:
        return []
    return saved_search_views(session, candidate_id)


@bp.route("/resend", methods=["GET", "POST"])
def resend() -> Any:
    """Email a fresh preferences link; the answer never says whether the address is known."""
    sent = False
    if request.method == "POST":
        send_preference_link(db(), request.form.get("email", "")[:320], settings())
        sent = True
    return render_template("preferences/resend.html", sent=sent)


@bp.route("/<link_token:token>", methods=["GET", "POST"])
def center(token: str) -> Any:
    """Show (GET) or save (POST) every subscription choice on one page."""
    action = f"/preferences/{token}"
    try:
        if request.method != "POST":
            # The busiest page after an alert run: two queries, no ORM objects (the
            # owner's row was read once, for the page's language, before the view).
            _link, owner = signed_link_owner(LinkPurpose.PREFERENCES, token)
            return render_center(db(), owner, action=action, form_csrf=link_form_token(token))
        # A Save: the row the language hook read (the candidate is read once).
        candidate = _candidate(token)
    except LinkExpired:
        return expired_link_page()
    except InvalidLink:
        return invalid_link_page()
    check_link_form_token(token)
    return show_or_save(
        candidate,
        action=action,
        undo_action=f"{action}/undo",
        source=ConsentSource.PREFERENCE_CENTER,
        form_csrf=link_form_token(token),
    )


def show_or_save(
    candidate: Candidate,
    *,
    action: str,
    undo_action: str,
    source: ConsentSource,
    form_csrf: str | None = None,
) -> Any:
    """The preference form for GET; for POST, apply it and list what changed, with Undo."""
    session = db()
    if request.method == "GET":
        return render_center(session, candidate, action=action, form_csrf=form_csrf)
    outcome = save_center(
        session,
        candidate,
        read_center_form(request.form),
        source=source,
        ip_address=request.remote_addr,
        mass_email_wording=mass_email_wording(),
        wordings=shown_wordings(),
    )
    searches = kept_searches(session, candidate.id, outcome.page)  # in the same transaction
    session.commit()  # before the page is rendered: no lock is held meanwhile
    if outcome.errors or outcome.confirm_off:
        return render_center(
            session,
            candidate,
            action=action,
            page=outcome.page,
            status=400 if outcome.errors else 200,
            errors=outcome.errors,
            form_csrf=form_csrf,
            confirm_off=outcome.confirm_off,
            searches=searches,
        )
    return _show_outcome(
        candidate,
        outcome,
        action=action,
        undo_action=undo_action,
        form_csrf=form_csrf,
        searches=searches,
    )


def _show_outcome(
    candidate: Candidate,
    outcome: SaveOutcome,
    *,
    action: str,
    undo_action: str,
    undone: bool = False,
    form_csrf: str | None = None,
    searches: list[SearchView] | None = None,
) -> Any:
    """The page after a Save or an Undo, listing what changed, with an Undo of it."""
    shown = outcome.changes or (
        [_("Nothing to undo; your choices are as before.")] if undone else []
    )
    return render_center(
        db(),
        candidate,
        action=action,
        page=outcome.page,
        changes=shown,
        undone=undone,
        undo_token=undo_token_for(candidate, outcome.undo) if outcome.undo is not None else None,
        undo_action=undo_action,
        form_csrf=form_csrf,
        page_is_stored=True,
        searches=searches,
    )


@bp.post("/<link_token:token>/undo")
def undo(token: str) -> Any:
    """Put back the state from before a Save; the Undo link works for 30 days."""
    try:
        candidate = _candidate(token)
    except LinkExpired:
        return expired_link_page()
    except InvalidLink:
        return invalid_link_page()
    check_link_form_token(token)
    return apply_undo(
        candidate,
        action=f"/preferences/{token}",
        undo_action=f"/preferences/{token}/undo",
        source=ConsentSource.PREFERENCE_CENTER,
        form_csrf=link_form_token(token),
    )


def apply_undo(
    candidate: Candidate,
    *,
    action: str,
    undo_action: str,
    source: ConsentSource,
    form_csrf: str | None = None,
) -> Any:
    """Apply the signed before-Save state in the form's `undo` field, and offer to redo."""
    try:
        snapshot = read_link_token(
            settings().secret_keys,
            LinkPurpose.PREFERENCES,
            request.form.get("undo", ""),
            lifetime=UNDO_SECONDS,
        )
        if snapshot.public_id != candidate.public_id or "undo" not in snapshot.extra:
            raise InvalidLink("not an undo token for this candidate")
        previous = PreferenceState.from_dict(snapshot.extra["undo"])
    except LinkExpired:
        return expired_link_page()
    except (InvalidLink, ValueError):
        return invalid_link_page()
    session = db()
    outcome = restore_center(
        session,
        candidate,
        previous,
        source=source,
        ip_address=request.remote_addr,
        mass_email_wording=mass_email_wording(),
        wordings=shown_wordings(),
    )
    searches = kept_searches(session, candidate.id, outcome.page)  # in the same transaction
    session.commit()  # before the page is rendered: no lock is held meanwhile
    return _show_outcome(
        candidate,
        outcome,
        action=action,
        undo_action=undo_action,
        undone=True,
        form_csrf=form_csrf,
        searches=searches,
    )


# What the page says after a saved search's form, by the `done` code it redirects with.
SEARCH_NOTICES = {
    "frequency": N_("Alerts for %(words)s now arrive %(frequency)s."),
    "paused": N_("Alerts for %(words)s are paused until %(until)s."),
    "resumed": N_("Alerts for %(words)s are on again."),
    "confirmed": N_("Alerts for %(words)s are confirmed."),
    "removed": N_("Removed your saved search %(words)s: its alerts have stopped."),
    "unchanged": N_("Nothing changed for %(words)s."),
}
SEARCH_ACTIONS = frozenset({"frequency", "pause", "resume", "confirm", "remove"})
_DIGITS = frozenset("0123456789")


def _search_notice(session: Session, candidate_id: int, shown: list[SearchView]) -> str | None:
    """The message a saved search's form redirected to, from `?done=…&search=…`."""
    if request.method != "GET":
        return None
    done = request.args.get("done", "")
    search_id = _search_id(request.args.get("search", ""))
    if done not in SEARCH_NOTICES or search_id is None:
        return None
    views = [v for v in shown if v.id == search_id] or saved_search_views(
        session, candidate_id, [search_id]
    )
    if not views:  # not theirs: say nothing rather than something about another's search
        return None
    view = views[0]
    if done == "paused" and view.paused_until is None:  # resumed since: the link is stale
        return None
    return _(
        SEARCH_NOTICES[done],
        words=view.words,
        frequency=_(FREQUENCY_SUMMARY[Frequency(view.frequency)]),
        until=translate(PhraseDate(view.paused_until)) if view.paused_until else "",
    )


def _search_id(raw: str) -> int | None:
    """A saved search id from a URL: digits only, within what a row's id can be."""
    if not raw or len(raw) > 10 or not set(raw) <= _DIGITS:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def _no_search() -> Any:
    return render_template(
        "error.html",
        code=404,
        title=_("We couldn't find that saved search"),
        detail=_(
            "It may be one you removed. Your saved searches are listed on your "
            "email preferences page."
        ),
    ), 404


def _pause_end(raw: str) -> tuple[datetime | None, str | None]:
    """The end of a pause from the form's date, as the interests' pauses read it."""
    today = now().date()
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        return None, _("Enter the day alerts should start again, as a date.")
    if day <= today:
        return None, _("The pause must end after today.")
    if day > today + timedelta(days=MAX_PAUSE_DAYS):
        return None, _("Alerts can be paused for up to a year.")
    return datetime.combine(day, time.min, tzinfo=UTC), None


def manage_search(
    candidate: Candidate,
    raw_id: str,
    *,
    action: str,
    source: ConsentSource,
    form_csrf: str | None = None,
) -> Any:
    """Apply one saved search's form (frequency, pause, resume, confirm or remove).

    Redirects back to the page at `action` with a message; a change writes one consent
    event and a no-op none. Another candidate's search, or an id no search has, is 404
    and changes nothing; a form that is not one of ours is 400.
    """
    session = db()
    search_id = _search_id(raw_id)
    if search_id is None:
        return _no_search()
    try:
        search = saved_search_of(session, candidate, search_id)
    except NotFound:
        return _no_search()
    what = request.form.get("action", "")
    if what not in SEARCH_ACTIONS:
        return _bad_search_form()
    ip = request.remote_addr
    done = "unchanged"
    # One of the page's buttons, pressed by the person (signed in, or holding the page's
    # link and form token): activity, whatever it changes. The saved-search functions
    # also serve bounces and complaints, so the touch is here and not in them.
    touch_activity(session, candidate.id)
    if search.status is SubscriptionStatus.UNSUBSCRIBED:
        # Removed already (a second tab, a Back button): removing again is the same answer.
        if what != "remove":
            return _no_search()
        done = "removed"
    elif what == "remove":
        withdraw_saved_search(session, candidate.id, search.id, source=source, ip_address=ip)
        done = "removed"
    elif what == "confirm":
        if search.status is SubscriptionStatus.UNCONFIRMED:
            confirm_saved_search(session, candidate, search.id, source=source, ip_address=ip)
            done = "confirmed"
    elif what == "frequency":
        raw = request.form.get("frequency", "")
        if raw not in {f.value for f in Frequency}:
            return _bad_search_form()
        if Frequency(raw) is not search.frequency:
            set_search_frequency(
                session, candidate, search.id, Frequency(raw), source=source, ip_address=ip
            )
            done = "frequency"
    elif what == "pause":
        until, error = _pause_end(request.form.get("pause", ""))
        if error is not None:
            return render_center(
                session,
                candidate,
                action=action,
                status=400,
                form_csrf=form_csrf,
                search_errors={search.id: error},
            )
        if until != search.paused_until:
            pause_saved_search(session, candidate, search.id, until, source=source, ip_address=ip)
            done = "paused"
    elif search.paused_until is not None:  # resume
        pause_saved_search(session, candidate, search.id, None, source=source, ip_address=ip)
        done = "resumed"
    # To the message itself: a browser moves the focus to it, so it is read out first.
    return redirect(f"{action}?done={done}&search={search.id}#search-notice", 303)


def _bad_search_form() -> Any:
    return render_template(
        "error.html",
        code=400,
        title=_("Something in that form was not right"),
        detail=_(
            "Nothing was changed. Go back to your email preferences, reload the page and try again."
        ),
    ), 400


@bp.post("/<link_token:token>/searches/<search_id>")
def saved_search(token: str, search_id: str) -> Any:
    """Change one saved search from the signed page: its link and form token authorize it."""
    try:
        candidate = _candidate(token)
    except LinkExpired:
        return expired_link_page()
    except InvalidLink:
        return invalid_link_page()
    check_link_form_token(token)
    return manage_search(
        candidate,
        search_id,
        action=f"/preferences/{token}",
        source=ConsentSource.PREFERENCE_CENTER,
        form_csrf=link_form_token(token),
    )
