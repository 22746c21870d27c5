"""A candidate's country, when their phone or stated location tells it.

Retention periods may differ by country (`RETENTION_MONTHS_BY_COUNTRY`), so each
candidate row carries an ISO 3166 alpha-2 `country`, kept up to date whenever the
phone or location changes (an ORM hook here, so every write path is covered). The
phone's region wins: it is parsed, where a typed place is free text. A location is
read from its last comma-separated part: a US state's two-letter code ("Austin,
TX"), a country's English name or its own name ("Berlin, Deutschland"), or an
alpha-2/alpha-3 code ("London, UK").
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

import phonenumbers
from babel import Locale
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from preferences.models import Candidate

US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "DC",
        "PR",
    ]
)
# Names people write that the locale data does not list.
_EXTRA_NAMES = {
    "uk": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "america": "US",
    "holland": "NL",
    "deutschland": "DE",
    "españa": "ES",
    "méxico": "MX",
    "brasil": "BR",
    "россия": "RU",
    "中国": "CN",
}
_NAME_LOCALES = ("en", "de", "fr", "es", "it", "pt", "nl", "ru", "zh", "ja", "ar")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


@functools.cache
def _country_names() -> dict[str, str]:
    """Folded country names in several languages, and alpha-2 codes, to alpha-2 codes."""
    names: dict[str, str] = {}
    for code in map(str, Locale("en").territories):
        if len(code) == 2 and code.isalpha() and code not in ("ZZ", "EU", "UN", "QO", "EZ"):
            names[code.casefold()] = code
    for tag in _NAME_LOCALES:
        for key, name in Locale.parse(tag).territories.items():
            code = str(key)
            if len(code) == 2 and code.isalpha():
                names.setdefault(_fold(str(name)), code)
    names.update(_EXTRA_NAMES)
    return names


def country_from_phone(phone_e164: str | None) -> str | None:
    """The region of an E.164 number, or None when it has none (or is not a number)."""
    if not phone_e164:
        return None
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone_e164, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "001" else None


def country_from_location(location: str | None) -> str | None:
    """The country a free-text place names in its last part, or None when unsure."""
    if not location:
        return None
    tail = location.rsplit(",", 1)[-1].strip()
    if len(tail) == 2 and tail.isupper() and tail in US_STATES and "," in location:
        return "US"
    return _country_names().get(_fold(tail))


def country_of(phone_e164: str | None, location: str | None) -> str | None:
    """The candidate's country: the phone's region first, then the location's."""
    return country_from_phone(phone_e164) or country_from_location(location)


@event.listens_for(Session, "before_flush")
def _keep_country(session: Session, _context: Any, _instances: Any) -> None:
    """Set `Candidate.country` on every new candidate and every phone or location change."""
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Candidate):
            continue
        if obj in session.dirty and not _changed(obj, "phone_e164", "location"):
            continue
        obj.country = country_of(obj.phone_e164, obj.location)


def _changed(obj: Candidate, *names: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)
