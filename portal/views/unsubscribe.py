"""RFC 8058 one-click unsubscribe at `/unsubscribe/<token>`.

Mail clients POST ``List-Unsubscribe=One-Click`` (urlencoded or multipart) with
no cookie and no CSRF token, so the blueprint is CSRF-exempt; the signed token
is the credential. A GET never changes anything, because mail scanners prefetch
links: it shows a confirm button that POSTs the same body.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, make_response, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import gettext as _
from portal.web.interest_names import page_interest_texts
from portal.web.link_owners import signed_link_owner
from portal.web.links import preference_url
from portal.web.phrases import translate
from portal.web.runtime import db, settings
from portal.web.saved_search_words import saved_search_views
from preferences.db import set_read_only, start_write
from preferences.lists import (
    ListUnavailable,
    OneClickLink,
    ResolvedList,
    UnknownList,
    one_click_unsubscribe,
)
from preferences.models import Interest
from preferences.tokens import InvalidLink, LinkExpired, LinkPurpose

bp = Blueprint("unsubscribe", __name__)

ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
# The confirm page's button sends this too: a person is looking, so the answer is the
# full page. A mail client's POST (RFC 8058) carries only the one-click field, and its
# answer, which no one reads, is the outcome without the site's layout.
FROM_PAGE_FIELD = "from_page"


def _page(template: str, status: int = 200, **context: Any) -> Response:
    response = make_response(render_template(template, **context), status)
    # The page is specific to one signed link; keep it out of shared caches and history.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _bad_link() -> Response:
    return _page(
        "error.html",
        400,
        code=400,
        title=_("This unsubscribe link doesn't work"),
        detail=_(
            "It may have been copied incompletely, or replaced by a newer email. "
            "Use the unsubscribe link in our most recent email, or log in to manage your "
            "email subscriptions."
        ),
    )


def _what_it_leaves(session: Session, candidate_id: int, target: ResolvedList) -> list[str]:
    """Each interest's alerts and each saved search (in words) that the link leaves."""
    names = []
    if target.interest_ids:
        texts = page_interest_texts()
        names = [
            _("Job alerts for %(name)s", name=texts.name_of(interest_id, name))
            for interest_id, name in session.execute(
                select(Interest.id, Interest.name)
                .where(Interest.id.in_(target.interest_ids))
                .order_by(Interest.position, Interest.name)
            )
        ]
    if target.search_ids:
        names += [
            _("Your saved search %(words)s", words=view.words)
            for view in saved_search_views(session, candidate_id, target.search_ids)
        ]
    return names


@bp.route("/unsubscribe/<link_token:token>", methods=["GET", "POST"])
def one_click(token: str) -> Response:
    """GET: ask to confirm. POST with List-Unsubscribe=One-Click: unsubscribe, answer 200."""
    s = settings()
    session = db()
    # Scanners POST these in bursts: read the link without SQLite's write lock,
    # and take it only for the write itself (start_write, below).
    set_read_only(True)
    try:
        link = OneClickLink.of(*signed_link_owner(LinkPurpose.ONE_CLICK, token))
    except LinkExpired:
        return _page(
            "connect/link_expired.html",
            410,
            message=_("This unsubscribe link has expired."),
            resend_url=url_for("preferences.resend"),
        )
    except InvalidLink:
        return _bad_link()
    candidate = link.candidate
    try:
        target = link.resolve(session)
    except ListUnavailable:
        return _page("unsubscribe/unavailable.html", 400, manage_url=preference_url(s, candidate))
    except UnknownList:
        return _bad_link()
    leaves = _what_it_leaves(session, candidate.id, target) if target.search_ids else []
    if request.method != "POST":  # GET and HEAD
        return _page(
            "unsubscribe/confirm.html",
            target=target,
            target_name=translate(target.name),
            leaves=leaves,
            token=token,
            manage_url=preference_url(s, candidate),
        )
    if request.form.get(ONE_CLICK_FIELD) != ONE_CLICK_VALUE:
        return _page(
            "unsubscribe/confirm.html",
            400,
            target=target,
            target_name=translate(target.name),
            leaves=leaves,
            token=token,
            manage_url=preference_url(s, candidate),
            missing_field=True,
        )
    start_write(session)
    changed = one_click_unsubscribe(session, candidate, target, ip_address=request.remote_addr)
    session.commit()  # before rendering, so no lock is held while the page is built
    outcome: dict[str, Any] = {
        "target_name": translate(target.name),
        "leaves": leaves,
        "changed": changed,
    }
    if FROM_PAGE_FIELD not in request.form:
        return _page("unsubscribe/answer.html", **outcome)
    return _page(
        "unsubscribe/done.html", target=target, manage_url=preference_url(s, candidate), **outcome
    )
