"""The "Connect With Us" flow: start, details, interests, resume, review, thank you.

Each step reads and writes only the draft in the session (see
`portal.connect.draft`); the database changes once, at **Submit Profile**.
Every step works without JavaScript.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from jobs.postings import open_jobs_for_interests
from portal.auth import oidc
from portal.connect import draft as connect_state
from portal.connect.profile import LABELS, check_profile, labels
from portal.connect.submit import (
    Changes,
    LinkContext,
    PendingConfirmation,
    Submission,
    alerts_wording,
    confirm_email,
    link_changes,
    mass_email_wording,
    pending_confirmation,
    resend_confirmation,
    submit_profile,
)
from portal.connect.uploads import (
    busy_headers,
    check_upload_quota,
    forget_pending_upload,
    record_pending_upload,
    refusal_status,
    store_form_upload,
    visitor_key,
)
from portal.i18n import gettext as _
from portal.resumes import (
    InterestKeywords,
    NoFileChosen,
    ParsedResume,
    ResumeError,
    StoredResume,
    delete_resume,
    fetch_remote,
    resume_path,
)
from portal.web.consent_texts import consent_text, privacy_notice
from portal.web.forms import form_ids
from portal.web.links import preference_url
from portal.web.phrases import local_size
from portal.web.runtime import db, resume_parser, settings
from preferences.db import slow_work
from preferences.interests import active_interests, interest_by_slug
from preferences.models import Candidate, Interest, Resume
from preferences.tokens import (
    InvalidLink,
    LinkExpired,
    LinkPurpose,
    candidate_for_link,
    read_link_token,
)
from preferences.wordings import JOB_ALERTS, MASS_EMAIL

bp = Blueprint("connect", __name__, url_prefix="/connect")
log = logging.getLogger("portal.connect")

DONE_KEY = "connect_done"
# The profile fields the details step asks for; the review shows them all.
DETAILS_FIELDS = ("first_name", "last_name", "email")


def _links() -> LinkContext:
    s = settings()
    return LinkContext(s.secret_keys, s.base_url, s.upload_dir, s.address_mail_caps)


def _steps(current: str) -> list[dict[str, Any]]:
    names = [
        ("start", _("Start")),
        ("details", _("Your details")),
        ("interests", _("Interests")),
    ]
    if settings().resume_step:
        names.append(("resume", _("Resume")))
    names.append(("review", _("Review")))
    index = [key for key, _ in names].index(current)
    return [
        {
            "key": key,
            "label": label,
            "state": "done" if i < index else "current" if i == index else "todo",
        }
        for i, (key, label) in enumerate(names)
    ]


def _interest_keywords(interests: list[Interest]) -> list[InterestKeywords]:
    return [InterestKeywords(i.id, i.name, list(i.keywords or [])) for i in interests]


def _render(template: str, step: str, status: int = 200, **context: Any) -> Any:
    return (
        render_template(
            template, steps=_steps(step), draft=connect_state.draft(), labels=labels(), **context
        ),
        status,
    )


@bp.get("", strict_slashes=False)
def start() -> Any:
    """Social account or manual entry."""
    return _render("connect/start.html", "start", providers=oidc.enabled_providers())


@bp.route("/details", methods=["GET", "POST"])
def details() -> Any:
    """Basic details typed by hand (or checked after a social login).

    Continue checks the step's fields as the review does (required ones by
    `REQUIRED_FIELDS`, surrounding spaces trimmed) and shows what's wrong here; Back
    keeps what was typed and checks nothing. The review checks everything again, for
    a draft that skipped this step.
    """
    s = settings()
    data = connect_state.draft()
    errors: dict[str, str] = {}
    if request.method == "POST":
        check = check_profile(
            request.form, required=s.required_fields, region=s.phone_default_region
        )
        profile = dict(data.get("profile") or {})
        for name in DETAILS_FIELDS:
            profile[name] = check.values.get(name)
        if data.get("email_verified") and profile.get("email") != data["profile"].get("email"):
            data["email_verified"] = False  # a changed address is no longer the verified one
        data["profile"] = profile
        connect_state.save(data)
        if request.form.get("action") == "back":
            return redirect(url_for("connect.start"))
        errors = {k: v for k, v in check.errors.items() if k in DETAILS_FIELDS}
        if not errors:
            return redirect(url_for("connect.interests"))
    return _render("connect/details.html", "details", 400 if errors else 200, errors=errors)


@bp.route("/interests", methods=["GET", "POST"])
def interests() -> Any:
    """Areas of interest; at least one."""
    data = connect_state.draft()
    options = active_interests(db())
    error = None
    if request.method == "POST":
        valid = {i.id for i in options}
        chosen = [i for i in form_ids(request.form.getlist("interest")) if i in valid]
        data["interests"] = sorted(set(chosen))
        connect_state.save(data)
        if request.form.get("action") == "back":
            return redirect(url_for("connect.details"))
        if chosen:
            return redirect(
                url_for("connect.resume" if settings().resume_step else "connect.review")
            )
        error = _("Choose at least one area of interest.")
    return _render(
        "connect/interests.html",
        "interests",
        400 if error else 200,
        options=options,
        chosen=set(data.get("interests") or []),
        error=error,
    )


@bp.get("/interests/<slug>")
def interest_detail(slug: str) -> Any:
    """The details of one interest, for browsers without JavaScript."""
    interest = interest_by_slug(db(), slug[:120])
    if interest is None or interest not in active_interests(db()):
        abort(404)
    return _render("connect/interest_detail.html", "interests", interest=interest)


def _visitor() -> str:
    return visitor_key(settings().secret_keys[0], request.remote_addr)


def _accept_resume(stored: StoredResume, source: str) -> None:
    """Parse a stored resume into the draft, replacing any earlier one.

    The visitor's cap on unclaimed uploads is checked first; the parse runs in the
    sandbox with no transaction open (read, parse, then a short write). On any
    ResumeError (over the cap, parser busy, over the parse budget) the new file is
    deleted, nothing is recorded, and the error is raised for the page to show.
    """
    s = settings()
    session = db()
    visitor = _visitor()
    try:
        check_upload_quota(
            session,
            visitor,
            max_files=s.upload_visitor_max_files,
            max_bytes=s.upload_visitor_max_mb * 1024 * 1024,
            incoming_bytes=stored.size_bytes,
            older_than_hours=s.upload_unclaimed_hours,
        )
        keywords = _interest_keywords(active_interests(session))
        with slow_work(session):
            parsed = resume_parser().parse(
                resume_path(s.upload_dir, stored.storage_name),
                stored.kind,
                keywords,
                default_region=s.phone_default_region,
            )
    except ResumeError:
        delete_resume(s.upload_dir, stored.storage_name)
        raise
    data = connect_state.draft()
    previous = data.get("resume")
    if isinstance(previous, dict) and isinstance(previous.get("storage_name"), str):
        _drop_draft_file(session, previous["storage_name"])
    record_pending_upload(session, stored, visitor)
    data["resume"] = {
        "storage_name": stored.storage_name,
        "original_filename": stored.original_filename,
        "kind": stored.kind,
        "content_type": stored.content_type,
        "size_bytes": stored.size_bytes,
        "sha256": stored.sha256,
        "source": source,
    }
    parsed_fields = parsed.as_dict()
    # The draft rides in a cookie (4 KB at most): keep the skills list short.
    parsed_fields["skills"] = list(parsed_fields.get("skills") or [])[:25]
    data["parsed"] = parsed_fields
    chosen = set(data.get("interests") or [])
    data["suggested"] = [i for i in parsed.suggested_interest_ids if i not in chosen]
    data["resume_skipped"] = False
    connect_state.save(data)
    log.info(
        "resume accepted",
        extra={"kind": stored.kind, "bytes": stored.size_bytes, "source": source},
    )


def _drop_draft_file(session: Any, storage_name: str) -> None:
    """Delete the draft's earlier upload, unless a profile claimed it (an old cookie replayed)."""
    claimed = session.scalar(select(Resume.id).where(Resume.storage_name == storage_name))
    if claimed is not None:
        return
    try:
        delete_resume(settings().upload_dir, storage_name)
    except ValueError:
        return  # not a name we made: nothing of ours to delete
    forget_pending_upload(session, storage_name)


def _resume_page(status: int, error: str | None) -> Any:
    s = settings()
    body, status = _render(
        "connect/resume.html",
        "resume",
        status,
        error=error,
        max_mb=s.max_upload_mb,
        google_api_key=s.google_api_key,
        google_client_id=s.google_client_id,
        dropbox_app_key=s.dropbox_app_key,
    )
    # Every parser busy: the same page, and when to try again.
    headers = busy_headers() if status == 503 else {}
    return body, status, headers


@bp.route("/resume", methods=["GET", "POST"])
def resume() -> Any:
    """Upload a resume (or import one), or skip."""
    s = settings()
    if not s.resume_step:
        return redirect(url_for("connect.review"))
    error = None
    status = 200
    if request.method == "POST":
        if request.form.get("action") == "back":
            return redirect(url_for("connect.interests"))
        try:
            stored = store_form_upload(
                request.files.get("resume"), s.upload_dir, max_upload_mb=s.max_upload_mb
            )
            _accept_resume(stored, "upload")
        except NoFileChosen:
            error, status = _("Choose a file to upload, or skip this step."), 400
        except ResumeError as exc:
            error, status = exc.display_message(_, local_size), refusal_status(exc)
        else:
            return redirect(url_for("connect.review"))
    return _resume_page(status, error)


@bp.post("/resume/import")
def resume_import() -> Any:
    """Fetch a file chosen in the Google Drive or Dropbox picker."""
    s = settings()
    source = request.form.get("source", "")
    url = request.form.get("url", "")[:2000]
    token = request.form.get("access_token", "")[:4000]
    if source not in ("drive", "dropbox") or not url:
        return _resume_page(400, _("That import didn't work."))
    headers = {"Authorization": f"Bearer {token}"} if source == "drive" and token else None
    try:
        # A download of up to MAX_UPLOAD_MB: no transaction stays open across it.
        with slow_work(db()):
            stored = fetch_remote(
                url,
                s.upload_dir,
                allowed_hosts=s.remote_fetch_hosts,
                max_bytes=s.max_upload_mb * 1024 * 1024,
                headers=headers,
                allow_private_hosts=current_app.config.get("REMOTE_FETCH_ALLOW_PRIVATE", ()),
                verify=current_app.config.get("REMOTE_FETCH_VERIFY", True),
                filename=request.form.get("name", "")[:255] or None,
            )
        _accept_resume(stored, source)
    except ResumeError as exc:
        return _resume_page(refusal_status(exc), exc.display_message(_, local_size))
    return redirect(url_for("connect.review"))


def _review_values(data: dict[str, Any]) -> dict[str, Any]:
    """Profile values: what was typed or came from the provider, then the resume's."""
    values: dict[str, Any] = dict(data.get("profile") or {})
    parsed = ParsedResume.from_dict(data.get("parsed") or {})
    for name in LABELS:
        if not values.get(name):
            values[name] = getattr(parsed, name, None)
    return values


@bp.route("/review", methods=["GET", "POST"])
def review() -> Any:
    """Check everything, fill in what's missing, consent, and Submit Profile.

    Interests suggested from the resume are shown unticked (a pre-ticked box is
    not consent); **Add suggested interests** ticks them, with JavaScript in
    place, without it by posting the form back here with nothing stored.
    """
    s = settings()
    data = connect_state.draft()
    options = active_interests(db())
    valid = {i.id for i in options}
    errors: dict[str, str] = {}
    values = _review_values(data)
    chosen = {i for i in data.get("interests") or [] if i in valid}
    suggested = [i for i in data.get("suggested") or [] if i in valid]
    added: list[Interest] = []
    mass_email = False
    alerts = False
    if request.method == "POST":
        action = request.form.get("action")
        check = check_profile(
            request.form, required=s.required_fields, region=s.phone_default_region
        )
        values = dict(check.values)
        chosen = {i for i in form_ids(request.form.getlist("interest")) if i in valid}
        if action == "add_suggested":
            added = [o for o in options if o.id in suggested and o.id not in chosen]
            chosen |= set(suggested)
        mass_email = request.form.get("mass_email") == "yes"
        alerts = request.form.get("alerts") == "yes"
        profile = dict(data.get("profile") or {})
        profile.update({k: v for k, v in values.items() if v})
        if data.get("email_verified") and check.values.get("email") != (
            data.get("profile") or {}
        ).get("email"):
            data["email_verified"] = False
        data["profile"] = profile
        data["interests"] = sorted(chosen)
        connect_state.save(data)
        if action == "back":
            return redirect(url_for("connect.resume" if s.resume_step else "connect.interests"))
        if action != "add_suggested":
            errors = dict(check.errors)
            if not chosen:
                errors["interest"] = _("Choose at least one area of interest.")
            if not alerts:
                errors["alerts"] = _("Tick this box so we can send you job alerts for your areas.")
            if not errors:
                return _submit(data, values, sorted(chosen), mass_email, suggested)
    return _render(
        "connect/review.html",
        "review",
        400 if errors else 200,
        errors=errors,
        values=values,
        options=options,
        chosen=chosen,
        suggested=set(suggested),
        suggestions=[o for o in options if o.id in suggested],
        added=added,
        required=s.required_fields,
        mass_email=mass_email,
        alerts=alerts,
        mass_email_wording=mass_email_wording(s.company_name),
        alerts_wording=alerts_wording(),
        resume=data.get("resume"),
        parse_failed=bool((data.get("parsed") or {}).get("failed")),
    )


def _submit(
    data: dict[str, Any],
    values: dict[str, Any],
    chosen: list[int],
    mass_email: bool,
    suggested: list[int],
) -> Any:
    s = settings()
    # The words the review page showed, in its language: what the consent events name.
    alerts = consent_text(JOB_ALERTS)
    mass = consent_text(MASS_EMAIL)
    notice = privacy_notice()
    resume = data.get("resume")
    stored = None
    if isinstance(resume, dict) and resume.get("storage_name"):
        stored = StoredResume(
            storage_name=resume["storage_name"],
            original_filename=resume["original_filename"],
            kind=resume["kind"],
            content_type=resume["content_type"],
            size_bytes=resume["size_bytes"],
            sha256=resume["sha256"],
        )
    submission = Submission(
        email=values["email"],
        profile={k: v for k, v in values.items() if k != "email"},
        interest_ids=chosen,
        mass_email=mass_email,
        email_verified=bool(data.get("email_verified")),
        resume=stored,
        resume_source=resume.get("source", "upload") if isinstance(resume, dict) else "upload",
        parsed_fields=data.get("parsed") or {},
        ip_address=request.remote_addr,
        company_name=s.company_name,
        suggested_ids=suggested,
        alerts_wording=alerts.text,
        mass_email_wording=mass.text,
        alerts_version=alerts.version(),
        mass_email_version=mass.version() if mass_email else None,
        privacy_notice_version=notice.version() if notice is not None else None,
    )
    outcome = submit_profile(db(), submission, _links(), double_opt_in=s.double_opt_in)
    connect_state.clear()
    session[DONE_KEY] = {
        "interests": outcome.interest_ids,
        "confirm": outcome.needs_confirmation,
        "first_name": values.get("first_name") or "",
    }
    return redirect(url_for("connect.thanks"))


@bp.get("/thanks")
def thanks() -> Any:
    """Thank you, and the open jobs that match the chosen interests."""
    done = session.get(DONE_KEY)
    if not isinstance(done, dict):
        return redirect(url_for("connect.start"))
    ids = [i for i in done.get("interests", []) if isinstance(i, int)]
    session_db = db()
    interests = session_db.scalars(select(Interest).where(Interest.id.in_(ids))).all()
    return render_template(
        "connect/thanks.html",
        matches=open_jobs_for_interests(session_db, ids, limit=20),
        interests=sorted(interests, key=lambda i: (i.position, i.name)),
        needs_confirmation=bool(done.get("confirm")),
        first_name=str(done.get("first_name") or ""),
    )


def _expired_page(message: str) -> Any:
    return render_template("connect/link_expired.html", message=message), 410


@bp.route("/confirm/<link_token:token>", methods=["GET", "POST"])
def confirm(token: str) -> Any:
    """Confirm an email address and the changes its link lists.

    GET shows exactly what confirming turns on, with the consent wording, and a
    button (scanners prefetch links); the form carries that list back, and POST
    applies no more than both the link and the page named.
    """
    s = settings()
    try:
        link = read_link_token(s.secret_keys, LinkPurpose.CONFIRM_EMAIL, token)
        candidate = candidate_for_link(db(), link)
    except LinkExpired:
        return _expired_page(_("This confirmation link has expired."))
    except InvalidLink:
        return render_template(
            "error.html",
            code=400,
            title=_("This link doesn't work"),
            detail=_(
                "It may have been copied incompletely, or replaced by a newer email. "
                "You can ask for a new confirmation link below."
            ),
            resend=True,
        ), 400
    changes = link_changes(db(), candidate, link.extra)
    if request.method == "GET":
        pending = pending_confirmation(db(), candidate, changes)
        if not pending and not pending.confirms_address:
            # A link used before (or whose list she has decided on since): no button again.
            return _confirmed_page(candidate, None)
        return render_template(
            "connect/confirm.html",
            token=token,
            pending=pending,
            alerts_wording=alerts_wording(),
            mass_email_wording=mass_email_wording(s.company_name),
        )
    shown = Changes.of(
        form_ids(request.form.getlist("interest")[:100]),
        request.form.get("mass_email") == "yes",
    )
    # The page that POSTs here showed the wording in this language.
    alerts = consent_text(JOB_ALERTS)
    mass = consent_text(MASS_EMAIL)
    within = changes.within(shown)
    confirmed = confirm_email(
        db(),
        candidate,
        within,
        ip_address=request.remote_addr,
        company_name=s.company_name,
        alerts_text=alerts.text,
        mass_email_text=mass.text,
        alerts_version=alerts.version() if within.interest_ids else None,
        mass_email_version=mass.version() if within.mass_email else None,
    )
    return _confirmed_page(candidate, confirmed)


def _confirmed_page(candidate: Candidate, confirmed: PendingConfirmation | None) -> Any:
    """After confirming (`confirmed`: what it turned on), or on opening a used link (None).

    Both offer the candidate's own preference center (the page is for whoever holds
    her confirmation link, which is as good as the emailed preference link) and the
    way to set a password: a sign-in link by email, then the dashboard's form.
    """
    return render_template(
        "connect/confirmed.html",
        confirmed=confirmed,
        manage_url=preference_url(settings(), candidate),
    )


@bp.route("/confirm/resend", methods=["GET", "POST"])
def resend() -> Any:
    """Ask for a new confirmation link; the answer never says whether the address is known."""
    if request.method == "GET":
        return render_template("connect/resend.html", sent=False, error=None)
    check = check_profile(request.form, required=("email",), region=settings().phone_default_region)
    if "email" in check.errors:
        return render_template("connect/resend.html", sent=False, error=check.errors["email"]), 400
    resend_confirmation(db(), str(check.values["email"]), _links())
    return render_template("connect/resend.html", sent=True, error=None)


@bp.app_template_global()
def flashed_errors() -> list[str]:
    from flask import get_flashed_messages

    return [str(m) for m in get_flashed_messages(category_filter=["error"])]


def flash_error(message: str) -> None:
    flash(message, "error")
