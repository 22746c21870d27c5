"""The recruiter console: sign-in, its home with live counts, and (in development) the mail
sink viewer (admins only)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)

from mailer.sink import MaildirStore
from portal.auth.recruiters import authenticate_recruiter
from portal.console.overview import console_overview, time_until, when_in_words
from portal.i18n import gettext as _
from portal.web import sessions
from portal.web.forms import RecruiterLoginForm
from portal.web.runtime import db, settings
from preferences.models import RecruiterRole, RecruiterUser

bp = Blueprint("admin", __name__, url_prefix="/admin")

F = TypeVar("F", bound=Callable[..., Any])


def current_recruiter() -> RecruiterUser | None:
    """The signed-in, active recruiter of this browser's live session."""
    found = sessions.current_recruiter(db())
    return found[1] if found is not None else None


@bp.app_context_processor
def _console_shell() -> dict[str, Any]:
    # A function, so only console pages (whose header names the recruiter) look it up.
    return {"console_recruiter": current_recruiter}


def recruiter_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_recruiter() is None:
            return redirect(url_for("admin.login", next=request.path))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def admin_required(view: F) -> F:
    """A signed-in admin: others see the login page, or 403 when signed in as a recruiter."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_recruiter()
        if user is None:
            return redirect(url_for("admin.login", next=request.path))
        if user.role is not RecruiterRole.ADMIN:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def development_only(view: F) -> F:
    """404 in production, before any login check, so the page's existence isn't revealed."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if settings().is_production:
            abort(404)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _safe_next(target: str | None) -> str:
    # Only same-site paths, so the login form can't be used as an open redirect.
    # Browsers drop tabs and newlines from URLs ("/\t/evil" becomes "//evil"), so
    # any control character or space disqualifies the target as well.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and all(" " < c != "\x7f" for c in target)
    ):
        return target
    return url_for("admin.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = RecruiterLoginForm()
    error = None
    if form.validate_on_submit():
        user = authenticate_recruiter(db(), form.email.data or "", form.password.data or "")
        if user is not None:
            sessions.begin(db(), recruiter=user)
            return redirect(_safe_next(request.args.get("next")))
        error = _("That email and password don't match an active recruiter account.")
    status = 400 if request.method == "POST" else 200
    return render_template("admin/login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> Any:
    """Sign out: the session ends on the server, so a copy of the cookie stops working too."""
    sessions.end(db())
    return redirect(url_for("public.index"))


@bp.get("/")
@recruiter_required
def home() -> Any:
    """Every section of the console, with the figures a recruiter checks first."""
    overview = console_overview(db())
    next_run = overview.next_run
    return render_template(
        "admin/home.html",
        recruiter=current_recruiter(),
        overview=overview,
        next_run_in=time_until(next_run.at) if next_run else None,
        next_run_when=when_in_words(next_run.at) if next_run else None,
    )


def _sink() -> MaildirStore:
    path = settings().mail_sink_dir
    # Maildir creates its own folder but not a missing instance folder above it.
    path.parent.mkdir(parents=True, exist_ok=True)
    return MaildirStore(path)


@bp.get("/mail")
@development_only
@admin_required
def mail() -> Any:
    """Every message the development mail sink caught, newest first.

    Admins only: the messages hold every recipient's live sign-in and preference links.
    """
    store = _sink()
    return render_template(
        "admin/mail.html",
        messages=[(m, m.parsed()) for m in store.list()],
        relay_configured=bool(settings().smtp_url),
    )


@bp.get("/mail/<key>")
@development_only
@admin_required
def mail_message(key: str) -> Any:
    item = _sink().get(key)
    if item is None:
        abort(404)
    parsed = item.parsed()
    text_part = parsed.get_body(preferencelist=("plain",))
    return render_template(
        "admin/mail_message.html",
        item=item,
        message=parsed,
        text=text_part.get_content() if text_part is not None else "",
        has_html=parsed.get_body(preferencelist=("html",)) is not None,
    )


@bp.get("/mail/<key>/html")
@development_only
@admin_required
def mail_html(key: str) -> Any:
    """The HTML part, sandboxed: no scripts, no same-origin access."""
    item = _sink().get(key)
    if item is None:
        abort(404)
    part = item.parsed().get_body(preferencelist=("html",))
    if part is None:
        abort(404)
    response = Response(part.get_content(), mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; "
        "frame-ancestors 'self'"
    )
    return response
