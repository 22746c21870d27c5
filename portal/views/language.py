"""A known candidate's language: pages in it, and the forms that change it.

Once a page knows whose it is (a signed preference or unsubscribe link, the signed-in
dashboard), it is served in the candidate's stored language (`Candidate.locale`) unless
`?lang=` names another; a `?lang=` there is the candidate's choice and is stored, with
an audit event. The hook that does this runs before the view (`_serve_in_their_language`),
so every text the view translates is already in that language; the views need not know.

The language form (`_language_choice.html`, on the preference center and the dashboard)
posts here: to `/preferences/<token>/language` with the page's link-bound form token, or
to `/dashboard/language` with the session's CSRF token.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final, NamedTuple

from flask import Blueprint, Flask, g, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal import i18n
from portal.i18n import gettext as _
from portal.views.dashboard import login_required
from portal.views.preferences import (
    check_link_form_token,
    expired_link_page,
    invalid_link_page,
    link_form_token,
)
from portal.web import sessions
from portal.web.fragments import fragment
from portal.web.link_owners import signed_link_owner
from portal.web.runtime import db, settings
from portal.web.signed_routes import LinkToken
from preferences.language import set_candidate_language
from preferences.models import Candidate
from preferences.tokens import (
    InvalidLink,
    LinkExpired,
    LinkPurpose,
    candidate_for_link,
    read_link_token,
)

bp = Blueprint("language", __name__)

# Pages opened by a signed link, by endpoint, with the purpose their token is signed for.
SIGNED_PAGES: Final = {
    "preferences.center": LinkPurpose.PREFERENCES,
    "preferences.undo": LinkPurpose.PREFERENCES,
    "preferences.saved_search": LinkPurpose.PREFERENCES,
    "unsubscribe.one_click": LinkPurpose.ONE_CLICK,
    "language.signed": LinkPurpose.PREFERENCES,
    # The emailed confirmation link, often opened in another browser than the form's.
    "connect.confirm": LinkPurpose.CONFIRM_EMAIL,
    # A re-permission email's "Keep me" page.
    "retention.stay": LinkPurpose.STAY,
}
# Signed pages whose POST changes the candidate through their ORM row
# (`signed_link_candidate`): the hook reads that row, so the request reads the candidate once.
FULL_ROW_POSTS: Final = frozenset(
    {"preferences.center", "preferences.undo", "preferences.saved_search"}
)
# Pages of the signed-in candidate.
SIGNED_IN_BLUEPRINTS: Final = frozenset({"dashboard"})
SIGNED_IN_ENDPOINTS: Final = frozenset({"language.dashboard"})
# The form's field, and where the dashboard's form goes back to.
FIELD: Final = "language"
BACK_FIELD: Final = "back"
DONE_ARG: Final = "language"
# `via` in the audit event: which page or link the choice came from.
VIA_PREFERENCE_CENTER: Final = "preference_center"
VIA_DASHBOARD: Final = "dashboard"
VIA_ADDRESS: Final = "lang_parameter"


def _signed_candidate_locale(
    purpose: LinkPurpose, token: LinkToken, *, full_row: bool
) -> tuple[str, str] | None:
    """(public id, stored language) of the active candidate a valid link names; else None.

    The view reads the same owner (`signed_link_owner` finds it once per request).
    """
    try:
        _link, owner = signed_link_owner(purpose, token, full_row=full_row)
    except InvalidLink:  # the view answers with its own page for a bad, old or revoked link
        return None
    return owner.public_id, owner.locale


def _the_candidate() -> tuple[Candidate | str, str] | None:
    """Whose page this is (a Candidate, or a public id to load one by) and their language."""
    endpoint = request.endpoint
    if endpoint is None:
        return None
    if request.blueprint in SIGNED_IN_BLUEPRINTS or endpoint in SIGNED_IN_ENDPOINTS:
        candidate = sessions.current_candidate(db())
        return (candidate, candidate.locale) if candidate is not None else None
    purpose = SIGNED_PAGES.get(endpoint)
    token = (request.view_args or {}).get("token")
    if purpose is None or not isinstance(token, LinkToken):
        return None
    full_row = request.method == "POST" and endpoint in FULL_ROW_POSTS
    return _signed_candidate_locale(purpose, token, full_row=full_row)


def init_app(app: Flask) -> None:
    """Serve each signed or signed-in page in its candidate's language.

    Installed after the app's own request hooks, which set how the request's
    transactions take SQLite's write lock: this hook already reads the database.
    """
    app.before_request(_serve_in_their_language)


def _serve_in_their_language() -> None:
    """On a signed or signed-in page: the candidate's language, or store a `?lang=` choice."""
    found = _the_candidate()
    if found is None:
        return
    who, stored = found
    chosen = i18n.chosen_by_url()
    if chosen is not None and chosen != stored:
        session = db()
        candidate = (
            who
            if isinstance(who, Candidate)
            else session.scalar(select(Candidate).where(Candidate.public_id == who))
        )
        if candidate is not None:
            set_candidate_language(
                session,
                candidate,
                chosen,
                allowed=settings().supported_locales,
                via=VIA_ADDRESS,
            )
            stored = chosen
    i18n.use_candidate_locale(stored)


class LanguageForm(NamedTuple):
    """What `_language_choice.html` needs: where it posts, its token, the choices."""

    action: str
    csrf: str
    back: str | None
    options: tuple[tuple[str, str], ...]  # (tag, endonym)
    current: str
    saved: bool
    in_grid: bool  # a card of the dashboard's grid, or a section of the preference page


@bp.app_context_processor
def _language_form_context() -> dict[str, Any]:
    return {"language_choice": language_choice}


def language_choice() -> Markup:
    """The language form of this page (`_language_choice.html`), or nothing.

    Rendered once per language and shape (`portal.web.fragments`); the page's own form
    address and token are filled in for each request.
    """
    form = language_form()
    if form is None:
        return Markup("")
    shape = (
        ("back", form.back),
        ("options", tuple(form.options)),
        ("current", form.current),
        ("saved", form.saved),
        ("in_grid", form.in_grid),
    )
    values = {"action": form.action, "csrf": form.csrf}
    return fragment("_language_choice.html", shape, values, catalog=i18n.request_translations())


@lru_cache(maxsize=16)
def _options(supported: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The form's choices: each supported language, named in itself."""
    return tuple((tag, i18n.endonym(tag)) for tag in supported)


def language_form() -> LanguageForm | None:
    """The language form for this page: the signed preference page, or the dashboard's pages.

    None on any other page, which shows no language form.
    """
    endpoint = request.endpoint or ""
    token = (request.view_args or {}).get("token")
    back = None
    if SIGNED_PAGES.get(endpoint) is LinkPurpose.PREFERENCES and isinstance(token, LinkToken):
        action = url_for("language.signed", token=token)
        csrf = link_form_token(token)
    elif request.blueprint in SIGNED_IN_BLUEPRINTS:
        action = url_for("language.dashboard")
        csrf = generate_csrf()
        back = "preferences" if endpoint.startswith("dashboard.preferences") else "home"
    else:
        return None
    supported = settings().supported_locales
    current = i18n.supported_tag(g.get("candidate_locale"), supported) or i18n.current_locale()
    return LanguageForm(
        action=action,
        csrf=csrf,
        back=back,
        options=_options(supported),
        current=current,
        saved=request.method == "GET" and request.args.get(DONE_ARG) == "saved",
        # The dashboard's home (also shown by a refused resume upload) is a grid of cards.
        in_grid=back == "home",
    )


def _refused() -> tuple[str, int]:
    return render_template(
        "error.html",
        code=400,
        title=_("That language isn't one we offer"),
        detail=_(
            "Nothing was changed. Go back, choose a language from the list and save it again."
        ),
    ), 400


def _save(candidate: Candidate, *, via: str, back: str) -> Any:
    """Store the posted language and go back to the page, which says so in that language."""
    supported = settings().supported_locales
    chosen = request.form.get(FIELD, "")
    if chosen not in supported:
        return _refused()
    set_candidate_language(db(), candidate, chosen, allowed=supported, via=via)
    i18n.use_candidate_locale(chosen)
    # With ?lang=, the choice is remembered for the public pages as well (the tc_lang cookie).
    return redirect(f"{back}?{i18n.QUERY_ARG}={chosen}&{DONE_ARG}=saved#language", 303)


@bp.post("/preferences/<link_token:token>/language")
def signed(token: str) -> Response | tuple[str, int] | Any:
    """Change the language from the preference page a signed link opened."""
    try:
        link = read_link_token(settings().secret_keys, LinkPurpose.PREFERENCES, token)
        candidate = candidate_for_link(db(), link)
    except LinkExpired:
        return expired_link_page()
    except InvalidLink:
        return invalid_link_page()
    check_link_form_token(token)
    return _save(
        candidate, via=VIA_PREFERENCE_CENTER, back=url_for("preferences.center", token=token)
    )


@bp.post("/dashboard/language")
@login_required
def dashboard(candidate: Candidate) -> Any:
    """Change the language from the dashboard (the session's CSRF token guards the form)."""
    back = (
        url_for("dashboard.preferences")
        if request.form.get(BACK_FIELD) == "preferences"
        else url_for("dashboard.home")
    )
    return _save(candidate, via=VIA_DASHBOARD, back=back)
