"""Recruiter-written words in the page's language: interest names and details (see
`preferences.interest_texts`), and the note on a job posting written in another language.

A page reads its locale's interest translations once, the first time a template or a
view asks for a name (`page_interest_texts`), however many interests it shows; pages in
the default language read none. Templates write `interest|interest_name` and
`interest|interest_details` where a candidate sees them. The recruiter console keeps
`interest.name`, the default name.

`job|job_language_note` is "(in English)" on a Spanish page for a posting written in
English (`mailer.i18n.language_note`, as the job-alert digests say it), else empty.
"""

from __future__ import annotations

from typing import Final, Protocol

from flask import Flask, g

from mailer.i18n import language_note
from portal.i18n import current_locale, gettext, ui_default
from portal.web.runtime import db, settings
from preferences.interest_texts import (
    HasInterestText,
    InterestTexts,
    interest_texts,
    translation_tags,
)

_KEY: Final = "_tc_interest_texts"


def page_interest_texts() -> InterestTexts:
    """The request's locale's interest translations, read once per request and locale."""
    locale = current_locale()
    found: InterestTexts | None = g.get(_KEY)
    if found is None or found.locale != locale:
        found = interest_texts(db(), locale, default_locale=ui_default(settings()))
        setattr(g, _KEY, found)
    return found


def page_translation_tags() -> tuple[str, ...]:
    """The stored tags of the page's locale's interest names, for a statement that reads
    them along with the interests (`preferences.center.center_page`); none for the default's."""
    return translation_tags(current_locale(), ui_default(settings()))


def interest_name(interest: HasInterestText) -> str:
    """`interest`'s name in the page's language, else its default name."""
    return page_interest_texts().name(interest)


def interest_details(interest: HasInterestText) -> str:
    """`interest`'s details in the page's language, else its default details."""
    return page_interest_texts().details(interest)


class _Posting(Protocol):
    @property
    def language(self) -> str | None: ...


def job_language_note(job: _Posting) -> str:
    """ "(in English)" when `job` is written in another language than the page's; else ""."""
    return language_note(job.language, settings().default_locale, current_locale(), gettext)


def job_language(job: _Posting) -> str:
    """The language `job` is written in (BCP 47): its own, else the company's."""
    return job.language or settings().default_locale


def init_app(app: Flask) -> None:
    """Install the `interest_name`, `interest_details` and `job_language_note` filters."""
    app.add_template_filter(interest_name, "interest_name")
    app.add_template_filter(interest_details, "interest_details")
    app.add_template_filter(job_language_note, "job_language_note")
    app.add_template_filter(job_language, "job_language")
