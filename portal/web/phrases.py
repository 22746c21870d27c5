"""The core's `Phrase`s in the page's language (see `preferences.phrases`)."""

from __future__ import annotations

from datetime import date, datetime

from babel.lists import format_list
from babel.units import format_unit
from flask import Blueprint
from flask_babel import format_date, get_locale
from markupsafe import Markup, escape

from portal.i18n import SOURCE_LOCALE, current_locale, gettext, ngettext
from portal.web.interest_names import page_interest_texts
from preferences.phrases import Phrase, PhraseDate, PhraseInterest, PhraseList


def translate(text: str) -> str:
    """`text` in the request's language; English (the source) exactly as the core wrote it."""
    if current_locale().split("-")[0] == SOURCE_LOCALE:
        return str(text)
    return _translated(text)


def _translated(text: object) -> str:
    if isinstance(text, Phrase):
        values = {name: _translated(value) for name, value in text.params.items()}
        if text.plural is not None and text.number is not None:
            return ngettext(text.msgid, text.plural, text.number, **values)
        return gettext(text.msgid, **values)
    if isinstance(text, PhraseDate):
        return format_date(text.day, text.style)
    if isinstance(text, PhraseInterest):
        return page_interest_texts().name_of(text.interest_id, str(text))
    if isinstance(text, PhraseList):
        items = [_translated(item) for item in text.items]
        return format_list(items, locale=get_locale()) if len(items) > 1 else items[0]
    return str(text)


def isolate(value: object, direction: str | None = None) -> Markup:
    """`value` (an address, a number) kept left-to-right inside a translated sentence.

    `<bdi>` isolates it from the sentence's direction (Arabic reads right to left); the
    English pages, whose sentences are left-to-right anyway, stay as they were.
    `direction="ltr"` (`|bdi("ltr")`) fixes the direction for a value with no letter to
    set it, such as a phone number, whose leading + must stay at its start.
    """
    if current_locale().split("-")[0] == SOURCE_LOCALE:
        return escape(value)
    if direction in ("ltr", "rtl"):
        return Markup('<bdi dir="{}">{}</bdi>').format(direction, value)
    return Markup("<bdi>{}</bdi>").format(value)


def local_day(when: date | datetime, style: str = "long") -> str:
    """A day in the page's language: "June 1, 2027" ("long") or "Jun 1, 2027" ("medium")."""
    return translate(PhraseDate(when, style))


def local_size(n: int) -> str:
    """A file size in the page's language with Babel's units: "1.5 MB" or "512 kB" in
    English, "1,5 Mo" in French (megabytes from 1 MiB, one decimal; else kilobytes)."""
    mb = 1024 * 1024
    if n >= mb:
        value = round(n / mb, 1)
        shown: float | int = int(value) if value == int(value) else value
        return format_unit(shown, "digital-megabyte", "short", locale=current_locale())
    return format_unit(max(1, n // 1024), "digital-kilobyte", "short", locale=current_locale())


def register_filters(bp: Blueprint) -> None:
    """The template filters of the candidate's pages: `phrase`, `bdi` and `local_day`."""
    bp.add_app_template_filter(translate, "phrase")
    bp.add_app_template_filter(isolate, "bdi")
    bp.add_app_template_filter(local_day, "local_day")
