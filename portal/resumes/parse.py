"""Turn resume text into suggested profile fields, skills and interests."""

from __future__ import annotations

import bisect
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portal.resumes import contacts
from portal.resumes.errors import ExtractionFailed
from portal.resumes.extract import DEFAULT_EXTRACT_LIMITS, ExtractLimits, extract_text
from portal.resumes.gazetteer import gazetteer
from portal.resumes.names import find_name
from portal.resumes.places import find_city_region, find_world_place, split_items
from portal.resumes.skills import InterestKeywords, match_interests

log = logging.getLogger(__name__)

# The same names as portal.config.PROFILE_FIELD_NAMES, i.e. the connect form's fields.
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "location",
    "linkedin_url",
    "github_url",
    "portfolio_url",
)
MAX_PARSE_CHARS = 100_000
ZONE_TOP_LINES = 15
ZONE_BOTTOM_LINES = 5
ZONE_RADIUS = 2
# Column widths of the Candidate model, so a suggestion always fits.
_MAX_LEN = {"first_name": 100, "last_name": 100, "location": 200}
_MAX_URL = 500
# "Location: Berlin", "Based in Berlin", and "Location Berlin, Germany" (a table cell lost).
_LOCATION_LABEL = re.compile(
    r"^\s*(?:(?P<address>(?:home\s+|postal\s+)?address)|(?:current\s+)?location|city|residence"
    r"|(?P<phrase>based\s+in|lives\s+in))\b(?P<sep>\s*[:|\-\u2013\u2014]\s*|\s+)(?P<value>\S.*)$",
    re.I,
)
_SITE_LABEL = re.compile(
    r"(?<!\w)(?:portfolio|website|web\s*site|web|site|blog|homepage|home\s*page|personal\s+site)"
    r"\s*[:|\-\u2013\u2014]\s*(\S.*)$",
    re.I,
)


@dataclass
class ParsedResume:
    """Fields suggested from a resume; every one is optional and for the candidate to confirm.

    `failed` is True when no text could be read at all (a corrupt, truncated or encrypted
    file, or a scanned PDF without a text layer); the fields are then all empty.
    """

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None  # E.164
    location: str | None = None
    linkedin_url: str | None = None
    github_url: str | None = None
    portfolio_url: str | None = None
    skills: list[str] = field(default_factory=list)
    suggested_interest_ids: list[int] = field(default_factory=list)
    failed: bool = False

    def contact_fields(self) -> dict[str, str | None]:
        """The eight profile fields, by name."""
        return {name: getattr(self, name) for name in CONTACT_FIELDS}

    def as_dict(self) -> dict[str, Any]:
        """A JSON-safe dict, for Resume.parsed_fields."""
        return {
            **self.contact_fields(),
            "skills": list(self.skills),
            "suggested_interest_ids": list(self.suggested_interest_ids),
            "failed": self.failed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ParsedResume:
        """Rebuild from `as_dict` output; unknown keys and wrongly typed values are dropped."""
        data = data if isinstance(data, Mapping) else {}
        values: dict[str, Any] = {}
        for name in CONTACT_FIELDS:
            value = data.get(name)
            values[name] = value if isinstance(value, str) and value else None
        values["skills"] = [s for s in _list(data.get("skills")) if isinstance(s, str)]
        values["suggested_interest_ids"] = [
            i
            for i in _list(data.get("suggested_interest_ids"))
            if isinstance(i, int) and not isinstance(i, bool)
        ]
        values["failed"] = data.get("failed") is True
        return cls(**values)


def _list(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list) else ()


def parse_file(
    path: Path,
    kind: str,
    interests: Sequence[InterestKeywords],
    *,
    default_region: str = "US",
    limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS,
) -> ParsedResume:
    """Extract and parse a stored resume; raises nothing but MemoryError.

    When the text cannot be read the result is empty with `failed=True`: a resume that
    cannot be parsed is still attached, and the candidate types their details instead.
    Untrusted files are parsed through `portal.resumes.sandbox`, which runs this in a
    separate process with a time and a memory budget.
    """
    try:
        text = extract_text(path, kind, limits)
    except ExtractionFailed as exc:
        log.info("resume parse skipped: %s", exc.detail)
        return ParsedResume(failed=True)
    if not text.strip():
        return ParsedResume(failed=True)
    try:
        return parse_resume(text, interests, default_region=default_region)
    except MemoryError:
        raise  # over the sandbox's memory budget: the file is refused, not half-read
    except Exception:
        # parse_resume is tested never to raise; this guard keeps the connect flow going anyway.
        log.exception("resume parser error")
        return ParsedResume(failed=True)


@dataclass(frozen=True)
class _Lines:
    """Non-empty lines of the text with their offsets, to map a match to its line."""

    texts: list[str]
    starts: list[int]
    ends: list[int]

    @classmethod
    def of(cls, text: str) -> _Lines:
        texts: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        offset = 0
        for raw in text.splitlines(keepends=True):
            if raw.strip():
                texts.append(raw.strip())
                starts.append(offset)
                ends.append(offset + len(raw))
            offset += len(raw)
        return cls(texts, starts, ends)

    def index_at(self, offset: int) -> int:
        return max(0, bisect.bisect_right(self.starts, offset) - 1)

    def same_lines_of(self, other: str) -> list[str]:
        """The same lines cut from `other`, a same-length variant of the text (e.g. masked)."""
        return [other[s:e].strip() for s, e in zip(self.starts, self.ends, strict=True)]


_SOFT_HYPHEN = "\u00ad"
# A tab or a carriage return between two letters is a Word export's word break.
_INNER_BREAK = re.compile(r"(?<=[^\W\d_])[\t\r](?=[^\W\d_])")
# "J O H N   D O E": single letters one space apart, words further apart.
_SPACED = re.compile(r"(?<!\S)[^\W\d_](?: [^\W\d_]){2,}(?:\s{2,}[^\W\d_](?: [^\W\d_])*)+(?!\S)")
# Icons before contact items (✉ ☎ ⌂, icon-font glyphs in the private use area) part items.
_ICONS = re.compile(
    r"[^\S\n]*[\u2190-\u21ff\u2300-\u23ff\u2600-\u27bf\ue000-\uf8ff\U0001f300-\U0001faff]+[^\S\n]*"
)


def prepare_text(text: str) -> str:
    """Cap the length, drop lone surrogates and unify look-alike characters (NFKC).

    Soft hyphens go; a tab or a carriage return inside a run of words becomes a space
    (other tabs stay item separators), stray carriage returns end lines, and
    letter-spaced runs ("J O H N   D O E") become words ("JOHN DOE").
    """
    text = text[:MAX_PARSE_CHARS]
    text = text.encode("utf-8", "replace").decode("utf-8")
    # NFKC turns ligatures ("ﬁ"), full-width letters and no-break spaces into plain ones.
    text = unicodedata.normalize("NFKC", text).replace("\x00", " ").replace(_SOFT_HYPHEN, "")
    text = text.replace("\r\n", "\n")
    if text.count("\r") > text.count("\n"):
        text = text.replace("\r", "\n")  # old Mac line ends: every CR ends a line
    text = _INNER_BREAK.sub(" ", text).replace("\r", "\n")
    text = _ICONS.sub("   ", text)
    return _SPACED.sub(_collapse_spaced, text)


def _collapse_spaced(match: re.Match[str]) -> str:
    return " ".join(word.replace(" ", "") for word in re.split(r"\s{2,}", match.group(0)))


def parse_resume(
    text: str,
    interests: Sequence[InterestKeywords],
    *,
    default_region: str = "US",
) -> ParsedResume:
    """Suggest profile fields, skills and interests from resume text; never raises on any str."""
    text = prepare_text(text)
    lines = _Lines.of(text)
    result = ParsedResume()

    emails = contacts.find_emails(text)
    masked = contacts.phone_text(contacts.mask(text, contacts.email_spans(text)))
    linkedin = contacts.find_linkedin(text)
    github = contacts.find_github(text)
    result.email = emails[0].value if emails else None
    result.linkedin_url = _url(linkedin.value if linkedin else None)
    result.github_url = _url(github.value if github else None)

    name = find_name(lines.texts, emails[0].value if emails else None)
    if name is not None:
        result.first_name = name.first[: _MAX_LEN["first_name"]]
        result.last_name = name.last[: _MAX_LEN["last_name"]] or None

    # Where the resume is from: numbers written with a country code, then its place.
    international = contacts.international_regions(masked)
    hints = [*international]
    if emails:
        tld_region = contacts.email_region(emails[0].value)
        if tld_region:
            hints.append(tld_region)
    script = contacts.script_region(text)
    if script:
        hints.append(script)
    hits = [f.start for f in (*emails[:1], linkedin, github) if f is not None]
    zone = _contact_zone(lines, sorted({lines.index_at(h) for h in hits}))
    hit_lines = {lines.index_at(h) for h in hits}
    skip = {name.line} if name is not None else set()
    location = _find_location(lines.texts, zone, hit_lines, skip, hints[0] if hints else None)
    result.location = location.label if location else None
    regions = [*international]
    if location and location.country:
        regions.append(location.country)
    regions += [h for h in hints if h not in regions]
    phone = _find_phone(masked, lines, zone, regions, default_region)
    result.phone = phone.value if phone else None
    if phone:
        zone = _contact_zone(lines, sorted({*hit_lines, lines.index_at(phone.start)}))

    masked_lines = lines.same_lines_of(masked)
    result.portfolio_url = _url(_find_site(masked_lines, zone))
    result.skills, result.suggested_interest_ids = match_interests(text, interests)
    return result


def _find_phone(
    text: str, lines: _Lines, zone: list[int], regions: list[str], default_region: str
) -> contacts.Found | None:
    """The first valid number read with the resume's own region, else with the default one;
    else a merely possible number on a contact line."""
    tried: list[str] = []
    for region in [*regions[:1], default_region]:
        region = (region or "ZZ").upper()
        if region in tried:
            continue
        tried.append(region)
        phones = contacts.find_phones(text, region)
        if phones:
            return phones[0]
    if not regions:
        return None  # nothing says where the number is from: better empty than wrong
    region = regions[0].upper()
    for index in zone:
        start, end = lines.starts[index], lines.ends[index]
        found = contacts.find_possible_phone(text[start:end], region, start)
        if found:
            return found
    return None


def _contact_zone(lines: _Lines, hit_lines: list[int]) -> list[int]:
    """Indexes of lines likely to hold contact details, top of the page first."""
    count = len(lines.texts)
    zone = set(range(min(ZONE_TOP_LINES, count)))
    zone |= set(range(max(0, count - ZONE_BOTTOM_LINES), count))
    for line in hit_lines:
        zone |= set(range(max(0, line - ZONE_RADIUS), min(count, line + ZONE_RADIUS + 1)))
    return sorted(zone)


@dataclass(frozen=True)
class _Place:
    label: str
    country: str | None


def _place(label: str) -> _Place:
    """A found place and the country it is in, when the gazetteer knows."""
    label = label[: _MAX_LEN["location"]]
    g = gazetteer()
    parts = [p.strip() for p in label.split(",")]
    country = g.country(parts[-1]) if len(parts) > 1 else None
    if country is None and len(parts) > 1 and find_city_region(label) and len(parts[-1]) == 2:
        country = "US" if parts[-1].isupper() and parts[-1] not in ("UK",) else None
    if country is None:
        city = g.city(parts[0])
        country = city.country if city else None
    return _Place(label, country)


def _find_location(
    lines: list[str],
    zone: list[int],
    contact_lines: set[int],
    skip: set[int],
    country_hint: str | None,
) -> _Place | None:
    """A labelled location first, then a "City, Region" item near the contact details,
    then a city the gazetteer knows (alone, or beside a postcode)."""
    for index in [*zone, *range(len(lines))]:
        found = _labelled_location(lines[index], country_hint)
        if found:
            return _place(found)
    # A "City, ST" beside the e-mail or profile links first: an employer's place ("Google,
    # Mountain View, CA") may come earlier in the page.
    for index in sorted(zone, key=lambda i: i not in contact_lines):
        for item in split_items(lines[index]):
            found = find_city_region(item)
            if found:
                return _place(found)
    for index in zone:
        if index in skip:
            continue
        for item in split_items(lines[index]):
            found = find_world_place(item, country_hint=country_hint)
            if found:
                return _place(found)
    # Unknown regions ("Bengaluru, Karnataka") only on a line of their own or beside contacts.
    for index in zone:
        items = split_items(lines[index])
        if len(items) == 1 or index in contact_lines:
            for item in items:
                found = find_city_region(item, loose=True)
                if found:
                    return _place(found)
    return None


def _labelled_location(line: str, country_hint: str | None = None) -> str | None:
    match = _LOCATION_LABEL.match(line)
    if match is None:
        return None
    value = match.group("value").strip()
    items = split_items(value)
    first = (items[0] if items else value).strip(" .;")
    world = find_world_place(first, country_hint=country_hint)
    if world and not find_city_region(first):
        return world
    if match.group("address"):
        return find_city_region(value) or find_city_region(first, loose=True) or None
    if not match.group("sep").strip() and not match.group("phrase"):
        # Without a colon, "Location" may just start a sentence; keep only a clear place.
        return first if find_city_region(first, loose=True) or find_city_region(first) else None
    if len(first) > 80 or "@" in first or "//" in first or not any(c.isalpha() for c in first):
        return None
    return first


def _find_site(lines: list[str], zone: list[int]) -> str | None:
    """A personal website: a labelled one anywhere, else the first in the contact zone."""
    for line in lines:
        labelled = _SITE_LABEL.search(line)
        if labelled:
            found = contacts.find_sites(labelled.group(1), bare=True)
            if found:
                return found[0].value
    for index in zone:
        found = contacts.find_sites(lines[index], bare=True)
        if found:
            return found[0].value
    return None


def _url(value: str | None) -> str | None:
    return value if value is not None and len(value) <= _MAX_URL else None
