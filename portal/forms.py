"""Flask-WTF forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length


class RecruiterLoginForm(FlaskForm):
    email = EmailField("Work email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=500)])


class InterestForm(FlaskForm):
    """Create or edit an interest; `preferences.interest_admin` checks the values."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    details = TextAreaField(
        "Details (what candidates see under “Show Details”)", validators=[Length(max=5000)]
    )
    keywords = TextAreaField(
        "Keywords (separated by commas; used to suggest this interest from a resume)",
        validators=[Length(max=5000)],
    )


def _id_or_zero(value: object) -> int:
    # A tampered value becomes "Not a valid choice", not WTForms' "could not coerce".
    try:
        return int(str(value))
    except ValueError:
        return 0


class MergeInterestForm(FlaskForm):
    target = SelectField("Merge into", coerce=_id_or_zero)


class JobPostingForm(FlaskForm):
    """Create or edit a posting; `jobs.posting_admin` checks the values."""

    reference = StringField("Reference", validators=[DataRequired(), Length(max=100)])
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    location = StringField("Location", validators=[Length(max=200)])
    apply_url = URLField("Apply URL (https://)", validators=[DataRequired(), Length(max=1000)])
    posted_at = StringField("Posted at (UTC; empty means now)", validators=[Length(max=40)])
    description = TextAreaField("Description", validators=[Length(max=50_000)])
    interests = SelectMultipleField("Interests", coerce=_id_or_zero)


class ImportJobsForm(FlaskForm):
    file = FileField("CSV or JSON file", validators=[FileRequired()])


class InviteRecruiterForm(FlaskForm):
    email = EmailField("Work email", validators=[DataRequired(), Length(max=320)])
    name = StringField("Name", validators=[Length(max=200)])
    role = SelectField(
        "Role",
        choices=[SelectChoice("recruiter", "Recruiter"), SelectChoice("admin", "Admin")],
        default="recruiter",
    )
