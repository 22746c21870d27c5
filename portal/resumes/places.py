"""Recognise "City, Region" locations such as "Berlin, Germany" or "San Francisco, CA"."""

from __future__ import annotations

import itertools
import re

from portal.resumes.wordsets import word_set

_US_STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR"
)
_OTHER_CODES = "AB BC MB NB NL NS NT NU ON PE QC SK YT NSW VIC QLD TAS ACT US USA UK UAE"
_REGION_NAMES = """
alabama|alaska|arizona|arkansas|california|colorado|connecticut|delaware|florida|georgia|hawaii|
idaho|illinois|indiana|iowa|kansas|kentucky|louisiana|maine|maryland|massachusetts|michigan|
minnesota|mississippi|missouri|montana|nebraska|nevada|new hampshire|new jersey|new mexico|
new york|north carolina|north dakota|ohio|oklahoma|oregon|pennsylvania|rhode island|
south carolina|south dakota|tennessee|texas|utah|vermont|virginia|washington|west virginia|
wisconsin|wyoming|ontario|quebec|british columbia|alberta|manitoba|nova scotia|
new south wales|victoria|queensland|karnataka|maharashtra|tamil nadu|telangana|delhi|
bavaria|bayern|catalonia|england|scotland|wales|northern ireland
"""
_COUNTRIES = """
united states|united states of america|united kingdom|great britain|canada|mexico|
brazil|brasil|argentina|chile|colombia|peru|uruguay|germany|deutschland|france|spain|españa|
portugal|italy|italia|netherlands|the netherlands|belgium|luxembourg|switzerland|austria|
ireland|denmark|sweden|norway|finland|iceland|poland|czechia|czech republic|slovakia|hungary|
romania|bulgaria|greece|croatia|slovenia|serbia|estonia|latvia|lithuania|ukraine|turkey|
türkiye|israel|egypt|morocco|nigeria|kenya|ghana|south africa|ethiopia|
united arab emirates|saudi arabia|qatar|india|pakistan|bangladesh|sri lanka|nepal|china|
hong kong|taiwan|japan|south korea|korea|singapore|malaysia|indonesia|philippines|thailand|
vietnam|australia|new zealand
"""
# Codes count only in capitals, so "in" or "me" in a sentence is not Indiana or Maine.
_REGION_CODES = frozenset((_US_STATES + " " + _OTHER_CODES).split())
_REGION_NAMES_SET = frozenset(
    n.strip() for n in (_REGION_NAMES + "|" + _COUNTRIES).replace("\n", "").split("|")
)
_CITIES_NAMED_LIKE_REGIONS = frozenset(
    {
        "new york",
        "washington",
        "delhi",
        "quebec",
        "victoria",
        "singapore",
        "hong kong",
        "luxembourg",
    }
)
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['\u2019.\-](?=[^\W\d_]))*\.?")
_PARTICLES = word_set(
    """
    de da do dos das del della di du la le am an upon on en sur
    """
)
_POSTCODE_TOKEN = re.compile(r"\S*\d\S*")
# Words that make a "City, Region"-shaped phrase something else (an employer, a degree...).
_NOT_CITY = word_set(
    """
    university college school institute inc ltd llc gmbh corp company street st road rd
    avenue ave suite floor remote present experience education skills location address
    phone email mobile contact tel
    """
)


def region_key(text: str) -> str:
    """Compare regions ignoring case, dots and spacing ("U.S.A." is "usa")."""
    return " ".join(text.replace(".", "").casefold().split())


def is_region(text: str) -> bool:
    """Whether `text` names a country, a US state or another well-known region."""
    if text.replace(".", "").strip() in _REGION_CODES:
        return True
    return region_key(text) in _REGION_NAMES_SET


def _words(text: str) -> list[str] | None:
    """Split into name-like words, or None if anything else is in there."""
    words = text.split()
    if not words or len(words) > 4:
        return None
    if not all(_WORD.fullmatch(w) for w in words):
        return None
    return words


def _is_city(text: str) -> bool:
    words = _words(text)
    if words is None:
        return False
    if is_region(text) and region_key(text) not in _CITIES_NAMED_LIKE_REGIONS:
        return False
    if any(w.casefold().strip(".") in _NOT_CITY for w in words):
        return False
    if words[0][0].islower() or words[-1][0].islower():
        return False
    if len(words) == 1 and len(text) <= 3 and text.isupper():
        return False  # a region code ("RJ" in "Rio de Janeiro - RJ"), not a city
    return all(not w[0].islower() or w.casefold() in _PARTICLES for w in words)


def _strip_postcodes(text: str) -> str:
    """Drop postcode-like tokens ("10115 Berlin", "CA 94105", "ON M5V 2T6")."""
    return " ".join(t for t in text.split() if not _POSTCODE_TOKEN.fullmatch(t))


def find_city_region(segment: str, *, loose: bool = False) -> str | None:
    """Return "City, Region" from one segment of a line, or None.

    With `loose`, the region need not be a known one, but the segment must be nothing else.
    """
    raw_parts = segment.split(",")
    parts = [p for p in (_strip_postcodes(r) for r in raw_parts) if p]
    for at, (city, region) in enumerate(itertools.pairwise(parts)):
        if _is_city(city) and is_region(region):
            after = parts[at + 2] if at + 2 < len(parts) else ""
            # "Curitiba, PR, Brazil": a country after the state belongs to the place too.
            if after and is_region(after):
                return f"{city}, {region}, {after}"
            return f"{city}, {region}"
    if loose and len(raw_parts) == 2 and not any(c.isdigit() for c in segment):
        city, region = (p.strip() for p in raw_parts)
        if _is_city(city) and (_is_city(region) or is_region(region)):
            return f"{city}, {region}"
    return None


_ITEM_SEPARATORS = re.compile(r"\s*(?:[|•·]|\u2014|\u2013|\s-\s|\t|\s{3,})\s*")


def split_items(line: str) -> list[str]:
    """Split a contact line into items ("Berlin, Germany | +49 … | jane@…"), keeping commas."""
    return [s for s in _ITEM_SEPARATORS.split(line.strip()) if s]
