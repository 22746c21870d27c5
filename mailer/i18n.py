"""Email languages: which locale a message is written in, and that locale's catalog.

Outside a web request there is no Flask-Babel, so mail code asks this module for a
locale's translations (`translations(locale).gettext(...)`) with an explicit locale.
The catalogs are the portal's (`portal/translations/<locale>/LC_MESSAGES/messages.mo`,
compiled by `make`), found by path: `mailer` never imports `portal` (nor Flask).

A message's locale (`message_locale`): the candidate's `Candidate.locale` when the
row has a candidate; else the `locale` the code that queued it stored in its context
(an address without a candidate, e.g. the farewell to an erased account); else
English. A locale not among `MailSettings.locales`, or without a catalog, is English.

`add_catalog_directory` lets a process find catalogs outside the repository too (the
portal's pages and `portal.locales.available_locales` search the same directories).
Only the test suite uses it, for its pseudo-locale (tests/portal/test_pseudo_locale.py):
production catalogs all live in the repository.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, Final

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.models import OutboxMessage
from preferences.db import among
from preferences.models import Candidate

TRANSLATIONS_DIR: Final = Path(__file__).resolve().parents[1] / "portal" / "translations"
SOURCE_LOCALE: Final = "en"
# The same default as the portal's SUPPORTED_LOCALES setting.
DEFAULT_LOCALES: Final = ("en", "es", "de", "fr", "ar")
# Context key of the locale stored with a row queued for an address without a candidate.
LOCALE_KEY: Final = "locale"

_cache: dict[str, NullTranslations] = {}
_cache_lock = threading.Lock()
# Searched after TRANSLATIONS_DIR, in the order added (see the module docstring).
_extra_directories: list[Path] = []


def catalog_directories() -> tuple[Path, ...]:
    """Where catalogs are looked for: the repository's, then any added directory."""
    return (TRANSLATIONS_DIR, *_extra_directories)


def add_catalog_directory(path: Path) -> None:
    """Also look for `<locale>/LC_MESSAGES/messages.mo` under `path` (a test's catalog).

    Apps created afterwards serve its locales' pages; mail finds them at once.
    """
    with _cache_lock:
        if path not in _extra_directories:
            _extra_directories.append(path)
        _cache.clear()


def remove_catalog_directory(path: Path) -> None:
    """Stop looking under `path` (undoes `add_catalog_directory`)."""
    with _cache_lock:
        if path in _extra_directories:
            _extra_directories.remove(path)
        _cache.clear()


def translations(locale: str) -> NullTranslations:
    """The catalog of `locale`, loaded once per process; English is the source (no catalog)."""
    found = _cache.get(locale)
    if found is not None:
        return found
    with _cache_lock:
        found = _cache.get(locale)
        if found is None:
            found = NullTranslations() if locale == SOURCE_LOCALE else _load(locale)
            _cache[locale] = found
        return found


def _load(locale: str) -> NullTranslations:
    """The first catalog of `locale` among `catalog_directories()`; none is NullTranslations."""
    for directory in catalog_directories():
        # Translations.load falls back to NullTranslations when there is no .mo.
        found = Translations.load(str(directory), [locale], "messages")
        if isinstance(found, Translations):
            return found
    return NullTranslations()


def matching_locale(value: object, supported: Collection[str]) -> str | None:
    """`value` (a language tag, any case, `_` or `-`) as one of `supported`; None if not.

    "es-MX" falls back to "es" when only "es" is supported. (The portal's pages choose
    their language with it too.)
    """
    if not isinstance(value, str) or not value.strip():
        return None
    tag = value.strip().replace("_", "-")
    lowered = {locale.lower(): locale for locale in supported}
    for candidate in (tag.lower(), tag.split("-")[0].lower()):
        if candidate in lowered:
            return lowered[candidate]
    return None


def supported_locale(value: object, supported: Collection[str] = DEFAULT_LOCALES) -> str:
    """`value` as one of `supported` ("es-MX" → "es" when only "es" is); else English."""
    return matching_locale(value, supported) or SOURCE_LOCALE


def message_locale(
    candidate_locale: str | None,
    context: Mapping[str, Any],
    supported: Collection[str] = DEFAULT_LOCALES,
) -> str:
    """The locale one message is rendered in (see the module docstring for the order)."""
    if candidate_locale is not None:
        return supported_locale(candidate_locale, supported)
    return supported_locale(context.get(LOCALE_KEY), supported)


# How a language separates the items of a list, and lists of lists, where
# English writes ", " and "; " (Arabic has its own comma and semicolon).
_SEPARATORS: Final = {"ar": ("، ", "؛ ")}


def list_separators(locale: str) -> tuple[str, str]:
    """The comma and the semicolon (each with its space) `locale` joins list items with."""
    return _SEPARATORS.get(locale.split("-")[0], (", ", "; "))


def _language(tag: str) -> str:
    return tag.strip().replace("_", "-").split("-")[0].lower()


def language_note(
    written_in: str | None,
    default_locale: str,
    locale: str,
    gettext: Callable[[str], str] | None = None,
) -> str:
    """ "(in English)": what language a text is written in, when it is not the reader's.

    `written_in` is the text's language (BCP 47; None: the company's, `default_locale`),
    `locale` the reader's; only the language parts are compared ("es-MX" reads "es"),
    and the note names the language only, in the reader's language, through the catalog
    message "(in %(language)s)" (`gettext`: the reader's catalog, by default `locale`'s).
    Empty when they match or a tag is not a language.
    """
    written = _language(written_in or default_locale)
    if not written or written == _language(locale):
        return ""
    try:
        name = Locale.parse(written).get_display_name(Locale.parse(locale, sep="-"))
    except (ValueError, TypeError, UnknownLocaleError):
        return ""
    if not name:
        return ""
    _ = gettext or translations(locale).gettext
    return _("(in %(language)s)") % {"language": name}


def is_right_to_left(locale: str) -> bool:
    """Whether `locale` is written right to left (Arabic)."""
    try:
        return Locale.parse(locale, sep="-").character_order == "right-to-left"
    except (ValueError, UnknownLocaleError):
        return False


def format_number(value: float | int, locale: str) -> str:
    """A count or amount as `locale` writes it ("1,234" in en, "1.234" in de)."""
    return format_decimal(value, locale=locale)


def format_day(value: date | datetime | str, locale: str, tz: tzinfo | str | None = None) -> str:
    """A date in `locale`'s medium format; a datetime is first moved to `tz` (a schedule's).

    A string is an ISO date ("2027-01-05"), as a queued message's JSON context keeps
    one; anything else in it raises ValueError.
    """
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime) and tz is not None:
        value = value.astimezone(_zone(tz))
    return _format_date(value, format="medium", locale=locale)


def format_moment(value: datetime, locale: str, tz: tzinfo | str | None = None) -> str:
    """A date and time in `locale`'s medium format, in time zone `tz` (default UTC)."""
    return _format_datetime(value, format="medium", tzinfo=_zone(tz) if tz else None, locale=locale)


def _zone(tz: tzinfo | str) -> tzinfo:
    if isinstance(tz, str):
        from zoneinfo import ZoneInfo

        return ZoneInfo(tz)
    return tz


def candidate_locales(session: Session, candidate_ids: Collection[int]) -> dict[int, str]:
    """Each candidate's stored language (`Candidate.locale`), in one query."""
    if not candidate_ids:
        return {}
    rows = session.execute(
        select(Candidate.id, Candidate.locale).where(among(session, Candidate.id, candidate_ids))
    )
    return {row.id: row.locale for row in rows}


def message_locales(
    session: Session,
    messages: Sequence[OutboxMessage],
    supported: Collection[str] = DEFAULT_LOCALES,
    stored: Mapping[int, str] | None = None,
) -> dict[int, str]:
    """Per outbox id, the locale the message is rendered in (`message_locale`).

    `stored` is the candidates' languages by id when the caller already read them (the
    worker's send-time check does); otherwise they are read here, in one query.
    """
    if stored is None:
        stored = candidate_locales(
            session, {m.candidate_id for m in messages if m.candidate_id is not None}
        )
    return {
        m.id: message_locale(
            stored.get(m.candidate_id) if m.candidate_id is not None else None,
            m.context,
            supported,
        )
        for m in messages
    }
