"""The "Keep me" page a re-permission email links to: `/stay/<token>`.

The email (`templates_email/repermission.*`, queued by the retention run) asks whether
the candidate wants to stay before their retention period ends. Its button opens this
page with a signed `LinkPurpose.STAY` link. A GET only shows the question, because
mail scanners open links: it changes nothing. The page's one button POSTs back with a
form token bound to the link (`link_form_token`, as on the preference page, so no
cookie is needed), and the POST keeps the candidate (`keep_candidate`: a consent event
under the exact sentence shown beside the button, a new retention period, their open
notices answered) and shows when we will ask again.

The page is in the candidate's stored language (`portal.views.language` knows it as a
signed page). An expired link offers a new preferences link; a tampered one is a
friendly 400; the link of someone already erased or anonymized says so, with a way
to join again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from sqlalchemy import select

from portal.i18n import current_locale
from portal.i18n import gettext as _
from portal.views.preferences import (
    check_link_form_token,
    invalid_link_page,
    link_form_token,
)
from portal.web.link_owners import signed_link_owner
from portal.web.links import preference_url
from portal.web.runtime import db, settings
from preferences.errors import CandidateDeleted
from preferences.models import Candidate, CandidateStatus
from preferences.retention import keep_candidate, retention_deadline
from preferences.tokens import (
    InvalidLink,
    LinkExpired,
    LinkPurpose,
    candidate_for_link,
    read_link_token,
)
from preferences.wordings import RETENTION_STAY, wording_version

bp = Blueprint("retention", __name__)

# `detail` of the consent event: where the answer came from.
VIA = "repermission_email"


def stay_wording() -> str:
    """The sentence beside the Keep me button, in the page's language.

    It is also the consent wording the answer is recorded under, so it must be the
    text the person saw.
    """
    return _(
        "I want to stay in the %(company)s talent community: keep my profile, resume "
        "and email address, and ask me again before you delete them.",
        company=settings().company_name,
    )


def _first_name(candidate: Candidate) -> str:
    # As in email: a name typed into a form is shown only once the address is confirmed.
    return candidate.first_name if candidate.email_verified_at is not None else ""


def _expired_page() -> Any:
    return render_template(
        "connect/link_expired.html",
        message=_("This link has expired."),
        resend_url=url_for("preferences.resend"),
    ), 410


def _gone_page() -> Any:
    """Someone already erased or anonymized: nothing to keep, but they may join again."""
    return render_template("retention/gone.html"), 410


def _is_gone(token: str) -> bool:
    """Whether a genuine link names a candidate no longer here (erased or anonymized)."""
    try:
        link = read_link_token(settings().secret_keys, LinkPurpose.STAY, token)
    except InvalidLink:
        return False
    status = db().scalar(select(Candidate.status).where(Candidate.public_id == link.public_id))
    return status is None or status is CandidateStatus.DELETED


@bp.route("/stay/<link_token:token>", methods=["GET", "POST"])
def stay(token: str) -> Any:
    """GET: ask whether to stay (changes nothing). POST: keep the candidate, confirm it."""
    session = db()
    try:
        link, _owner = signed_link_owner(LinkPurpose.STAY, token)
        candidate = candidate_for_link(session, link)
    except LinkExpired:
        return _expired_page()
    except InvalidLink:
        return _gone_page() if _is_gone(token) else invalid_link_page()
    policy = settings().retention_policy
    manage_url = preference_url(settings(), candidate)
    wording = stay_wording()
    if request.method != "POST":
        return render_template(
            "retention/ask.html",
            first_name=_first_name(candidate),
            deadline=retention_deadline(session, candidate, policy),
            wording=wording,
            form_csrf=link_form_token(token),
            action=url_for("retention.stay", token=token),
            manage_url=manage_url,
        )
    check_link_form_token(token)
    try:
        keep_candidate(
            session,
            candidate,
            wording_version=wording_version(session, RETENTION_STAY, current_locale(), wording),
            ip_address=request.remote_addr,
            detail={"via": VIA},
        )
    except CandidateDeleted:
        return _gone_page()
    return render_template(
        "retention/kept.html",
        first_name=_first_name(candidate),
        deadline=retention_deadline(session, candidate, policy),
        manage_url=manage_url,
    )
