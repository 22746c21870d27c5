"""Flask-WTF forms of the recruiter console (their labels are marked for the console's
catalog, console.pot; the console is served in English).

Also the posted-id helpers every form uses."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from typing import TypeVar

from babel import Locale
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    EmailField,
    Field,
    Form,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from jobs.posting_fields import (
    EMPLOYMENT_TYPE_LABELS,
    MAX_DEPARTMENT,
    MAX_LANGUAGE,
    WORKPLACE_LABELS,
    SalaryPeriod,
)
from preferences.interest_admin import MAX_DETAILS, MAX_NAME, translation_key
from preferences.text import unstorable


class StoredText:
    """A WTForms validator: the field's text holds nothing the stored-text rule refuses.

    That is a control character (NUL included) or a lone surrogate (`preferences.text`).
    Line breaks and tabs are the services' to normalise, by the field's kind.
    """

    def __call__(self, form: Form, field: Field) -> None:
        problem = unstorable(field.data) if isinstance(field.data, str) else None
        if problem is not None:
            raise ValidationError(problem.message)


class RecruiterLoginForm(FlaskForm):
    email = EmailField(lazy_gettext("Work email"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=500)])


class InterestForm(FlaskForm):
    """Create or edit an interest; `preferences.interest_admin` checks the values."""

    name = StringField(
        lazy_gettext("Name"), validators=[DataRequired(), Length(max=120), StoredText()]
    )
    details = TextAreaField(
        lazy_gettext("Details (what candidates see under “Show Details”)"),
        validators=[Length(max=5000), StoredText()],
    )
    keywords = TextAreaField(
        lazy_gettext("Keywords (separated by commas; used to suggest this interest from a resume)"),
        validators=[Length(max=5000), StoredText()],
    )


def language_name(locale: str) -> str:
    """A language's English name ("Spanish"), as the English-only console shows it."""
    return Locale.parse(locale, sep="-").get_display_name("en") or locale


@lru_cache(maxsize=8)
def interest_form_class(locales: tuple[str, ...]) -> type[InterestForm]:
    """`InterestForm` with an optional name and details per further language.

    The fields are `name_<locale>` and `details_<locale>` (`translation_key`), the keys
    `preferences.interest_admin.update_interest` reports its problems under.
    """
    fields: dict[str, Field] = {}
    for locale in locales:
        language = language_name(locale)
        fields[translation_key("name", locale)] = StringField(
            lazy_gettext("Name in %(language)s", language=language),
            validators=[
                Length(
                    max=MAX_NAME,
                    message=lazy_gettext("Use at most %(count)s characters.", count=MAX_NAME),
                ),
                StoredText(),
            ],
        )
        fields[translation_key("details", locale)] = TextAreaField(
            lazy_gettext("Details in %(language)s", language=language),
            validators=[
                Length(
                    max=MAX_DETAILS,
                    message=lazy_gettext("Use at most %(count)s characters.", count=MAX_DETAILS),
                ),
                StoredText(),
            ],
        )
    return type("TranslatedInterestForm", (InterestForm,), fields)


# A database id as a form sends it: ASCII digits, short enough for a 64-bit column.
_MAX_ID_DIGITS = 18


def form_id(value: object) -> int | None:
    """A row id posted in a form, or None for anything else.

    Not `str.isdigit()` then `int()`: "²" is a digit that int() refuses, and a 5,000-digit
    string is beyond int()'s limit, or beyond what SQLite and PostgreSQL can compare.
    """
    text = str(value)
    if 0 < len(text) <= _MAX_ID_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return None


def form_ids(values: list[str]) -> list[int]:
    """The row ids among posted values, in order; anything else is left out."""
    return [i for i in map(form_id, values) if i is not None]


def _id_or_zero(value: object) -> int:
    # A tampered value becomes "Not a valid choice", not WTForms' "could not coerce".
    return form_id(value) or 0


class MergeInterestForm(FlaskForm):
    target = SelectField(lazy_gettext("Merge into"), coerce=_id_or_zero)


_Choice = TypeVar("_Choice", bound=StrEnum)


def _unstated(labels: Mapping[_Choice, str]) -> list[SelectChoice]:
    return [SelectChoice("", "Not stated")] + [SelectChoice(k.value, v) for k, v in labels.items()]


class JobPostingForm(FlaskForm):
    """Create or edit a posting; `jobs.posting_admin` checks the values."""

    reference = StringField(
        lazy_gettext("Reference"), validators=[DataRequired(), Length(max=100), StoredText()]
    )
    title = StringField(
        lazy_gettext("Title"), validators=[DataRequired(), Length(max=200), StoredText()]
    )
    location = StringField(lazy_gettext("Location"), validators=[Length(max=200), StoredText()])
    apply_url = URLField(
        lazy_gettext("Apply URL (https://)"),
        validators=[DataRequired(), Length(max=1000), StoredText()],
    )
    posted_at = StringField(
        lazy_gettext("Posted at (UTC; empty means now)"), validators=[Length(max=40)]
    )
    description = TextAreaField(
        lazy_gettext("Description"), validators=[Length(max=50_000), StoredText()]
    )
    interests = SelectMultipleField(lazy_gettext("Interests"), coerce=_id_or_zero)
    # The optional facts; jobs.posting_fields checks them (and words what is wrong).
    employment_type = SelectField(
        lazy_gettext("Employment type"),
        choices=_unstated(EMPLOYMENT_TYPE_LABELS),
        validate_choice=False,
    )
    workplace = SelectField(
        lazy_gettext("Workplace"), choices=_unstated(WORKPLACE_LABELS), validate_choice=False
    )
    department = StringField(lazy_gettext("Department"), validators=[Length(max=MAX_DEPARTMENT)])
    salary_min = StringField(lazy_gettext("Salary from"), validators=[Length(max=40)])
    salary_max = StringField(lazy_gettext("Salary to"), validators=[Length(max=40)])
    salary_currency = StringField(lazy_gettext("Currency (ISO code)"), validators=[Length(max=10)])
    salary_period = SelectField(
        lazy_gettext("Salary per"),
        choices=[SelectChoice("", "Not stated")]
        + [SelectChoice(p.value, p.value.capitalize()) for p in SalaryPeriod],
        validate_choice=False,
    )
    valid_through = StringField(
        lazy_gettext("Open until (closes itself after this day)"), validators=[Length(max=40)]
    )
    language = StringField(
        lazy_gettext("Language of the posting"), validators=[Length(max=MAX_LANGUAGE)]
    )


class ImportJobsForm(FlaskForm):
    file = FileField(lazy_gettext("CSV or JSON file"), validators=[FileRequired()])


class InviteRecruiterForm(FlaskForm):
    email = EmailField(lazy_gettext("Work email"), validators=[DataRequired(), Length(max=320)])
    name = StringField(lazy_gettext("Name"), validators=[Length(max=200), StoredText()])
    role = SelectField(
        lazy_gettext("Role"),
        choices=[SelectChoice("recruiter", "Recruiter"), SelectChoice("admin", "Admin")],
        default="recruiter",
    )
