"""The console's people pages: recruiter accounts (admins only) and one-time login links."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from portal.console.recruiter_admin import (
    LoginLinkInvalid,
    RecruiterError,
    RecruiterNameRefused,
    check_login_link,
    create_recruiter,
    deactivate,
    list_recruiters,
    make_login_link_token,
    set_role,
    use_login_link,
)
from portal.i18n import gettext as _
from portal.views.admin import current_recruiter
from portal.views.console_confirm import ask, confirmed
from portal.web import sessions
from portal.web.forms import InviteRecruiterForm
from portal.web.runtime import db, settings
from preferences.errors import InvalidEmail
from preferences.models import RecruiterRole, RecruiterUser

bp = Blueprint("console_people", __name__, url_prefix="/admin")

F = TypeVar("F", bound=Callable[..., Any])


def signed_in(admin: bool = False) -> Callable[[F], F]:
    """Require a signed-in recruiter (else the login page); with `admin`, an admin (else 403)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_recruiter()
            if user is None:
                return redirect(url_for("admin.login", next=request.path))
            if admin and user.role is not RecruiterRole.ADMIN:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def _is_admin() -> bool:
    user = current_recruiter()
    return user is not None and user.role is RecruiterRole.ADMIN


@bp.app_context_processor
def _console_helpers() -> dict[str, Any]:
    # A function, so only pages that show the console menu look the recruiter up.
    return {"console_is_admin": _is_admin}


def me() -> RecruiterUser:
    """The signed-in recruiter (only called behind `signed_in`)."""
    user = current_recruiter()
    assert user is not None
    return user


def show_errors(form: FlaskForm, errors: dict[str, str]) -> list[str]:
    """Attach service errors to the form's fields; return those that belong to no field."""
    loose: list[str] = []
    for name, message in errors.items():
        field = form._fields.get(name)
        if field is None:
            loose.append(message)
        else:
            field.errors = [message]
    return loose


def _people_page(
    form: InviteRecruiterForm, *, errors: list[str] | None = None, link: str | None = None
) -> Any:
    s = settings()
    company = [
        (_("Company name"), s.company_name, "TALENTCONNECT_COMPANY_NAME"),
        (_("Postal address"), s.postal_address, "TALENTCONNECT_POSTAL_ADDRESS"),
        (_("Portal address"), s.base_url, "TALENTCONNECT_BASE_URL"),
        (_("Sender"), s.mail_from, "TALENTCONNECT_MAIL_FROM"),
        (_("Brand colour"), s.brand_color, "TALENTCONNECT_BRAND_COLOR"),
    ]
    return render_template(
        "admin/recruiters/list.html",
        recruiters=list_recruiters(db()),
        me=me(),
        form=form,
        errors=errors or [],
        link=link,
        company=company,
        roles=list(RecruiterRole),
    ), (400 if errors or form.errors else 200)


@bp.get("/recruiters")
@signed_in(admin=True)
def recruiters() -> Any:
    return _people_page(InviteRecruiterForm())


@bp.post("/recruiters")
@signed_in(admin=True)
def invite() -> Any:
    """Create a recruiter without a password and show their one-time login link."""
    form = InviteRecruiterForm()
    if not form.validate_on_submit():
        return _people_page(form)
    try:
        user = create_recruiter(
            db(),
            form.email.data or "",
            role=RecruiterRole(form.role.data),
            name=form.name.data or "",
        )
    except InvalidEmail as exc:
        form.email.errors = [_("Enter a valid email address (%(reason)s).", reason=exc.reason)]
        return _people_page(form)
    except RecruiterNameRefused as exc:
        form.name.errors = [str(exc).capitalize() + "."]
        return _people_page(form)
    except RecruiterError as exc:
        form.email.errors = [str(exc).capitalize() + "."]
        return _people_page(form)
    token = make_login_link_token(settings().secret_keys, user)
    link = url_for("console_people.login_link", token=token, _external=True)
    return _people_page(InviteRecruiterForm(formdata=None), link=link)


@bp.post("/recruiters/<int:user_id>/role")
@signed_in(admin=True)
def change_role(user_id: int) -> Any:
    try:
        role = RecruiterRole(request.form.get("role", ""))
        user = set_role(db(), user_id, role, by=me().id)
    except ValueError:
        return _people_page(InviteRecruiterForm(formdata=None), errors=[_("Choose a known role.")])
    except RecruiterError as exc:
        return _people_page(InviteRecruiterForm(formdata=None), errors=[str(exc).capitalize()])
    flash(_("%(email)s is now %(role)s.", email=user.email, role=user.role.value))
    return redirect(url_for("console_people.recruiters"))


@bp.post("/recruiters/<int:user_id>/deactivate")
@signed_in(admin=True)
def deactivate_recruiter(user_id: int) -> Any:
    """Deactivate another recruiter's account once confirmed; unconfirmed, ask and change nothing.

    Only a change the service would make is asked about: one's own account, an unknown or
    an already deactivated one go straight to `deactivate`, which refuses or ignores them.
    """
    user = db().get(RecruiterUser, user_id)
    if user is not None and user.active and user.id != me().id and not confirmed():
        return ask(
            "admin/recruiters/deactivate.html",
            _("Tick the box to confirm. Nothing has been deactivated."),
            user=user,
        )
    try:
        user = deactivate(db(), user_id, by=me().id)
    except RecruiterError as exc:
        return _people_page(InviteRecruiterForm(formdata=None), errors=[str(exc).capitalize()])
    flash(_("%(email)s can no longer log in.", email=user.email))
    return redirect(url_for("console_people.recruiters"))


@bp.route("/login/<link_token:token>", methods=["GET", "POST"])
def login_link(token: str) -> Any:
    """A one-time login link: GET shows a button (mail scanners prefetch), POST signs in once."""
    try:
        if request.method == "POST":
            user = use_login_link(db(), settings().secret_keys, token)
            sessions.begin(db(), recruiter=user, by_link=True)
            return redirect(url_for("admin.home"))
        user = check_login_link(db(), settings().secret_keys, token)
    except LoginLinkInvalid as exc:
        return render_template("admin/recruiters/login_link.html", problem=str(exc)), 400
    return render_template("admin/recruiters/login_link.html", problem=None, user=user)
