"""The console's interests pages: list, create, edit, reorder, retire and merge."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from jobs.posting_admin import merge_interest
from portal.i18n import gettext as _
from portal.i18n import ui_default
from portal.views.console_confirm import ask, confirmed
from portal.views.console_people import me, show_errors, signed_in
from portal.web.forms import InterestForm, MergeInterestForm, interest_form_class, language_name
from portal.web.runtime import db, settings
from preferences.interest_admin import (
    InterestRejected,
    console_interests,
    create_interest,
    move_interest,
    retire_interest,
    translation_key,
    update_interest,
)
from preferences.interest_texts import InterestText, stored_translations
from preferences.interests import active_interests
from preferences.models import Interest, Subscription

bp = Blueprint("console_interests", __name__, url_prefix="/admin/interests")


def _subscriber_counts() -> dict[int, int]:
    rows = db().execute(
        select(Subscription.interest_id, func.count()).group_by(Subscription.interest_id)
    )
    return {interest_id: count for interest_id, count in rows}


def _list_page(form: InterestForm, errors: list[str] | None = None) -> Any:
    failed = bool(errors or form.errors)
    return render_template(
        "admin/interests/list.html",
        interests=console_interests(db()),
        counts=_subscriber_counts(),
        form=form,
        errors=errors or [],
    ), (400 if failed else 200)


def _interest_or_404(interest_id: int) -> Interest:
    interest = db().get(Interest, interest_id)
    if interest is None:
        abort(404)
    return interest


@bp.get("/")
@signed_in()
def index() -> Any:
    return _list_page(InterestForm(formdata=None))


@bp.post("/")
@signed_in()
def create() -> Any:
    form = InterestForm()
    if not form.validate_on_submit():
        return _list_page(form)
    try:
        interest = create_interest(
            db(),
            name=form.name.data or "",
            details=form.details.data or "",
            keywords=form.keywords.data or "",
        )
    except InterestRejected as exc:
        return _list_page(form, show_errors(form, exc.errors))
    flash(_("Added %(name)s.", name=interest.name))
    return redirect(url_for("console_interests.index"))


def _translation_locales() -> tuple[str, ...]:
    """The languages an interest's name and details may be translated into: every
    supported one but the default, whose name and details are the interest's own."""
    default = ui_default(settings())
    return tuple(locale for locale in settings().supported_locales if locale != default)


def _language_panels(form: InterestForm, locales: tuple[str, ...]) -> list[dict[str, Any]]:
    """One panel (tab) per language for the edit page: the default first, with its fields."""
    default = ui_default(settings())
    panels: list[dict[str, Any]] = [
        {
            "locale": default,
            "title": f"{language_name(default)} (default)",
            "name": form.name,
            "details": form.details,
        }
    ]
    for locale in locales:
        panels.append(
            {
                "locale": locale,
                "title": language_name(locale),
                "name": form[translation_key("name", locale)],
                "details": form[translation_key("details", locale)],
            }
        )
    return panels


def _edit_page(
    interest: Interest, form: InterestForm, locales: tuple[str, ...], errors: list[str]
) -> Any:
    return render_template(
        "admin/interests/edit.html",
        interest=interest,
        form=form,
        panels=_language_panels(form, locales),
        errors=errors,
    )


def _posted_translations(form: InterestForm, locales: tuple[str, ...]) -> dict[str, InterestText]:
    """The languages the form posted; one whose fields it left out (a form from before a
    language was added, a script) keeps what is stored rather than being emptied."""
    return {
        locale: InterestText(
            form[translation_key("name", locale)].data or "",
            form[translation_key("details", locale)].data or "",
        )
        for locale in locales
        if translation_key("name", locale) in request.form
    }


@bp.route("/<int:interest_id>/edit", methods=["GET", "POST"])
@signed_in()
def edit(interest_id: int) -> Any:
    """Edit an interest's name and details in each supported language (one tab each)."""
    interest = _interest_or_404(interest_id)
    locales = _translation_locales()
    form_class = interest_form_class(locales)
    if request.method == "GET":
        stored = stored_translations(db(), interest.id)
        values: dict[str, str] = {}
        for locale in locales:
            text = stored.get(locale, InterestText("", ""))
            values[translation_key("name", locale)] = text.name
            values[translation_key("details", locale)] = text.details
        form = form_class(
            formdata=None,
            name=interest.name,
            details=interest.details,
            keywords=", ".join(interest.keywords),
            **values,
        )
        return _edit_page(interest, form, locales, [])
    form = form_class()
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            update_interest(
                db(),
                interest_id,
                name=form.name.data or "",
                details=form.details.data or "",
                keywords=form.keywords.data or "",
                translations=_posted_translations(form, locales),
                locales=locales,
                recruiter_id=me().id,
            )
        except InterestRejected as exc:
            errors = show_errors(form, exc.errors)
        else:
            flash(_("Saved %(name)s.", name=interest.name))
            return redirect(url_for("console_interests.index"))
    return _edit_page(interest, form, locales, errors), 400


@bp.post("/<int:interest_id>/move")
@signed_in()
def move(interest_id: int) -> Any:
    try:
        move_interest(db(), interest_id, request.form.get("direction", ""))
    except InterestRejected as exc:
        return _list_page(InterestForm(formdata=None), list(exc.errors.values()))
    return redirect(url_for("console_interests.index") + f"#interest-{interest_id}")


@bp.post("/<int:interest_id>/retire")
@signed_in()
def retire(interest_id: int) -> Any:
    """Retire an interest once confirmed; unconfirmed, ask for it and change nothing."""
    interest = db().get(Interest, interest_id)
    if interest is not None and interest.merged_into_id is None and not confirmed():
        return ask(
            "admin/interests/retire.html",
            _("Tick the box to confirm. Nothing has been retired."),
            interest=interest,
            subscribers=_subscriber_counts().get(interest.id, 0),
        )
    try:
        interest = retire_interest(db(), interest_id)
    except InterestRejected as exc:
        return _list_page(InterestForm(formdata=None), list(exc.errors.values()))
    flash(_("Retired %(name)s: candidates can no longer choose it.", name=interest.name))
    return redirect(url_for("console_interests.index"))


@bp.route("/<int:interest_id>/merge", methods=["GET", "POST"])
@signed_in()
def merge(interest_id: int) -> Any:
    """Merge this interest into another (subscribers, history and job tags) once confirmed.

    Without the ticked box (or the dialog's OK, which ticks it) nothing moves.
    """
    source = _interest_or_404(interest_id)
    form = MergeInterestForm()
    form.target.choices = [
        SelectChoice(str(i.id), i.name) for i in active_interests(db()) if i.id != source.id
    ]
    errors: list[str] = []
    confirm_error = None
    if request.method == "POST" and form.validate_on_submit():
        if not confirmed():
            confirm_error = _("Tick the box to confirm. Nothing has been merged.")
        else:
            try:
                result = merge_interest(
                    db(), source.id, int(form.target.data), recruiter_id=me().id
                )
            except InterestRejected as exc:
                errors = show_errors(form, exc.errors)
            else:
                flash(
                    _(
                        "Merged %(source)s into %(target)s: %(moved)d subscriptions moved, "
                        "%(told)d candidates will be told by email.",
                        source=result.source.name,
                        target=result.target.name,
                        moved=result.moved + result.combined,
                        told=len(result.to_notify),
                    )
                )
                return redirect(url_for("console_interests.index"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/interests/merge.html",
        source=source,
        form=form,
        errors=errors,
        confirm_error=confirm_error,
        subscribers=_subscriber_counts().get(source.id, 0),
    ), status
