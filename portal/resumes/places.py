"""Recognise places: "City, Region" ("Berlin, Germany", "San Francisco, CA"), and world
cities from the gazetteer, alone or beside a postcode ("8001 Zürich", "Москва", "北京市朝阳区")."""

from __future__ import annotations

import itertools
import re

from portal.resumes.gazetteer import City, gazetteer
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
    phone email mobile contact tel engineer developer manager designer analyst consultant
    senior junior lead traders trading solutions systems group services
    """
)


def region_key(text: str) -> str:
    """Compare regions ignoring case, dots and spacing ("U.S.A." is "usa")."""
    return " ".join(text.replace(".", "").casefold().split())


def is_region(text: str) -> bool:
    """Whether `text` names a country, a US state or another well-known region."""
    if text.replace(".", "").strip() in _REGION_CODES:
        return True
    key = region_key(text)
    return key in _REGION_NAMES_SET or (len(key) > 3 and gazetteer().country(text) is not None)


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
            before = parts[at - 1] if at else ""
            # "Acatlán, Puebla, México": the city, its state, then the country.
            if before and _is_city(before) and gazetteer().country(region):
                return f"{before}, {city}, {region}"
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


# --- the world: gazetteer cities and postcodes ------------------------------------------

# Postcode, then city: "8001 Zürich" (CH/AT/BE/DK...), "10115 Berlin" (DE/FR/IT/ES),
# "1012 AB Amsterdam" (NL), "123456 Москва" (RU), "01310-100 São Paulo" (BR), "D-80331 München",
# "50-066 Wrocław" (PL), "4700-320 Braga" (PT).
_POSTCODE_FIRST = re.compile(
    r"^(?:[A-Z]{1,2}[-\u2010\u2013 ])?(?:\d{4} ?[A-Z]{2}(?= )|\d{4,5}-\d{3}|\d{2}-\d{3}|\d{4,6})\s+"
    r"(?P<city>[^\d,]+?)\s*$"
)
# City, then postcode: "Bengaluru 560001" / "Pune - 411 001" (IN), "Москва, 123456" (RU),
# "London SW1A 1AA" (UK), "São Paulo 01310-100" (BR), "Springfield 62701" (US).
_POSTCODE_LAST = re.compile(
    r"^(?P<city>[^\d,]+?)\s*[,\-\u2013]?\s*(?:\d{6}|\d{3} \d{3}|\d{5}(?:-\d{3,4})?"
    r"|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\s*$"
)
# Australia: "Brisbane QLD 4000".
_POSTCODE_AU = re.compile(r"^(?P<city>[^\d,]+?)\s+(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)\s+\d{4}\s*$")
# Japan: "〒100-0001 東京都千代田区…".
_POSTCODE_JP = re.compile(r"^〒?\s*\d{3}-\d{4}\s*(?P<city>\S.*)$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# Single words that are cities somewhere but, alone on a resume line, are something else.
_NOT_A_PLACE = word_set(
    """
    summary profile experience education skills languages projects contact references
    interests about remote present python java go react spark kafka figma sales marketing
    data english german french spanish italian chinese russian japanese portuguese arabic
    hindi greek objective employment work home office mobile phone email
    """
)


def place_label(city_text: str, country: str, *, admin1: str = "", country_text: str = "") -> str:
    """ "City, ST" in the US, else "City, Country" (the country as written, or in English)."""
    if country == "US" and admin1 and not country_text:
        return f"{city_text}, {admin1}"
    name = country_text or gazetteer().country_names.get(country, country)
    return f"{city_text}, {name}"


def find_world_place(item: str, *, country_hint: str | None = None) -> str | None:
    """A city from the gazetteer in one contact item ("8001 Zürich", "Москва", "北京市朝阳区").

    The city is kept as the resume writes it; the country is the one written beside it,
    else the city's own. A postcode with a city the gazetteer does not know
    ("12345 Musterstadt") needs `country_hint`, the country the resume points to.
    """
    g = gazetteer()
    parts = [p.strip() for p in item.split(",") if p.strip()]
    if not parts or len(parts) > 3:
        return None
    written = ""
    if len(parts) >= 2 and g.country(parts[-1]):
        written = parts[-1]
        parts = parts[:-1]
    written_code = g.country(written) if written else None
    # "Bahnhofstrasse 1, 8001 Zürich": the street before the city is passed over; so is a
    # street or box number before a city without a postcode ("P.O. Box 12345-80100, Mombasa").
    for at in range(len(parts)):
        postcoded = any(p.match(parts[at]) for p in (_POSTCODE_FIRST, _POSTCODE_LAST, _POSTCODE_AU))
        after_address = at == len(parts) - 1 and any(c.isdigit() for c in parts[at - 1])
        if at and not postcoded and not after_address:
            continue
        found = _city_part(parts[at], parts[at + 1 :], written, written_code, country_hint)
        if found:
            return found
    return None


def _city_part(
    head: str, tail: list[str], written: str, written_code: str | None, country_hint: str | None
) -> str | None:
    g = gazetteer()
    postcoded = False
    for pattern in (_POSTCODE_JP, _POSTCODE_FIRST, _POSTCODE_LAST, _POSTCODE_AU):
        match = pattern.match(head)
        if match:
            head, postcoded = match.group("city").strip(" -\u2013"), True
            break
    if not postcoded and tail:
        match = _POSTCODE_FIRST.match(tail[0]) or _POSTCODE_LAST.match(tail[0])
        postcoded = match is not None
    city = g.city(head, written_code or country_hint)
    if city is None and _CJK.search(head):
        head, city = _cjk_prefix(head)
    if city is not None and (written_code is None or written_code == city.country):
        if not postcoded and not _plausible_alone(head, city):
            return None
        return place_label(head, city.country, admin1=city.admin1, country_text=written)
    code = written_code or (country_hint if postcoded else None)
    if code and postcoded and _is_city(head):
        return place_label(head, code, country_text=written)
    if written_code and _is_city(head) and not tail:
        return place_label(head, written_code, country_text=written)
    return None


_CJK_REGION_END = re.compile(r"(?<=[府県省都道])")


def _cjk_prefix(text: str) -> tuple[str, City | None]:
    """The city of a CJK address, as written: "北京市朝阳区" -> "北京市",
    "大阪府大阪市北区" -> "大阪市" (a part ending in 市, "city", is tried first)."""
    g = gazetteer()
    compact = text.replace(" ", "")
    parts = [p for p in _CJK_REGION_END.split(compact) if p]
    for part in sorted(parts, key=lambda p: "市" not in p):
        for end in range(min(len(part), 8), 1, -1):
            city = g.city(part[:end])
            if city is not None:
                # "大阪市" is written with its "city" suffix; keep it as written.
                if part[end : end + 1] == "市":
                    end += 1
                return part[:end], city
    return text, None


def _plausible_alone(text: str, city: City) -> bool:
    """A bare name is taken for a city only if it is not a common resume word."""
    words = text.split()
    if not words or len(words) > 4 or any(c.isdigit() for c in text):
        return False
    if any(w.casefold().strip(".") in _NOT_A_PLACE or w.casefold() in _NOT_CITY for w in words):
        return False
    first = text[0]
    return not first.islower()
