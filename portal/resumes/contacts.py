"""Find contact details in resume text: email, phone, LinkedIn, GitHub and a personal site."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from portal.resumes.wordsets import word_set

# Every pattern that starts with a repeated class has a look-behind guard, so a match can
# only begin at the start of a run; without it a long run of letters costs quadratic time.
_LOCAL_CHARS = r"\w.!#$%&'*+/=?^`{}~-"
_EMAIL = re.compile(
    rf"(?<![{_LOCAL_CHARS}])[{_LOCAL_CHARS}]{{1,64}}@[\w-]{{1,63}}(?:\.[\w-]{{1,63}}){{1,8}}"
)
_LINKEDIN = re.compile(
    r"(?<![\w.-])(?:https?://)?(?:[a-z]{2,3}\.)?linkedin\.com/in/([\w%-]{2,100})", re.I
)
_GITHUB = re.compile(
    r"(?<![\w.-])(?:https?://)?(?:www\.)?github\.com/([a-z0-9](?:[a-z0-9-]{0,38}))(?![\w-])", re.I
)
_URL_TAIL = r"[^\s<>()\[\]{}\"'|,;]*"
_URL = re.compile(rf"(?<![\w@./-])(?:https?://|www\.){_URL_TAIL}", re.I)
_SITE_TLDS = (
    "dev|io|me|com|net|org|design|art|site|page|app|co|xyz|tech|studio|blog|info|online|"
    "ca|de|fr|uk|in|br|es|it|nl|jp|au|ch|se|dk|no|pl|pt|ie|nz|eu"
)
_BARE_SITE = re.compile(
    rf"(?<![\w@./-])[a-z0-9][a-z0-9-]{{0,62}}(?:\.[a-z0-9-]{{1,63}}){{0,4}}\.(?:{_SITE_TLDS})"
    rf"(?:/{_URL_TAIL})?(?![\w-])",
    re.I,
)
_GITHUB_RESERVED = word_set(
    """
    about orgs features topics pricing login join explore marketplace sponsors
    collections enterprise settings site apps events security contact
    """
)
# Profiles on these hosts are not a personal site (LinkedIn and GitHub have their own fields).
_NOT_PORTFOLIO = (
    "linkedin.com",
    "github.com",
    "twitter.com",
    "x.com",
    "facebook.com",
    "instagram.com",
    "youtube.com",
    "google.com",
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "yahoo.com",
    "icloud.com",
    "dropbox.com",
    "example.com",
)
PHONE_SCAN_CHARS = 30_000


@dataclass(frozen=True)
class Found:
    """A value and the character offset it was found at."""

    value: str
    start: int


def find_emails(text: str, *, limit: int = 3, max_tries: int = 50) -> list[Found]:
    """Valid addresses in order, normalized by email-validator (internationalized ones too)."""
    found: list[Found] = []
    for tries, match in enumerate(_EMAIL.finditer(text)):
        if len(found) >= limit or tries >= max_tries:
            break  # the first address is the one used; validation is not free
        # Quotes and dots around an address are punctuation of the sentence, not the address.
        candidate = match.group(0).lstrip(".'").rstrip(".-")
        try:
            result = validate_email(candidate, check_deliverability=False, test_environment=True)
        except (EmailNotValidError, ValueError):
            continue
        found.append(Found(result.normalized, match.start()))
    return found


# Dash and minus forms that break a number in two ("+41\u201179\u2010123"), read as "-".
_DASHES = str.maketrans(
    dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d", "-")
)
# Scripts that point to one country's numbers when a resume is written in them.
_SCRIPT_REGIONS = (
    (re.compile(r"[\u3040-\u30ff]"), "JP"),
    (re.compile(r"[\uac00-\ud7af]"), "KR"),
    (re.compile(r"[\u4e00-\u9fff]"), "CN"),
    (re.compile(r"[\u0400-\u04ff]"), "RU"),
    (re.compile(r"[\u0370-\u03ff]"), "GR"),
    (re.compile(r"[\u0900-\u097f]"), "IN"),
    (re.compile(r"[\u0e00-\u0e7f]"), "TH"),
)
# A year range ("2015 - 2019") is not a phone number, however possible its digits.
# A month/year or a year range inside a matched "number".
_DATES = re.compile(
    r"\b(?:0?[1-9]|1[0-2])[/.](?:19|20)\d\d\b|\b(?:19|20)\d\d\s*-\s*(?:0?[1-9]|1[0-2])[/.]"
)
_YEARS = re.compile(r"(?:19|20)\d\d\s*-\s*(?:(?:19|20)\d\d|present)", re.I)
_GENERIC_TLDS = word_set("com net org io dev me co app info biz edu gov xyz tech ai eu")


# A wide gap between items ("079 123 45 67   8001 Zürich"): the matcher would read on.
_ITEM_GAP = re.compile(r"[^\S\n]{3,}")


def phone_text(text: str) -> str:
    """`text` with every dash and minus form as "-", and wide gaps between items as line
    breaks, so one number never runs into the next item (same length: offsets still hold)."""
    return _ITEM_GAP.sub(lambda m: "\n" + m.group(0)[1:], text.translate(_DASHES))


def international_regions(text: str) -> list[str]:
    """Regions of the numbers written with a country code ("+41 …"), in order."""
    found: list[str] = []
    matcher = phonenumbers.PhoneNumberMatcher(
        text[:PHONE_SCAN_CHARS], "ZZ", leniency=phonenumbers.Leniency.POSSIBLE, max_tries=200
    )
    for match in matcher:
        region = phonenumbers.region_code_for_number(match.number)
        if region and region != "ZZ" and region not in found:
            found.append(region)
        if len(found) >= 3:
            break
    return found


def email_region(address: str) -> str | None:
    """The country of an address's top-level domain ("…@example.ch" -> "CH"), if any."""
    tld = address.rpartition(".")[2].upper()
    if len(tld) != 2 or tld.lower() in _GENERIC_TLDS:
        return None
    tld = {"UK": "GB"}.get(tld, tld)
    return tld if phonenumbers.country_code_for_region(tld) else None


def script_region(text: str) -> str | None:
    """The country a non-Latin script points to (Cyrillic -> RU, kana -> JP...), if any."""
    sample = text[:5_000]
    for pattern, region in _SCRIPT_REGIONS:
        if pattern.search(sample):
            return region
    return None


def find_phones(text: str, default_region: str) -> list[Found]:
    """Valid phone numbers in order, as E.164; numbers without a country code use the region."""
    region = default_region.upper() if default_region else "ZZ"
    found: list[Found] = []
    matcher = phonenumbers.PhoneNumberMatcher(
        text[:PHONE_SCAN_CHARS], region, leniency=phonenumbers.Leniency.VALID, max_tries=2000
    )
    for match in matcher:
        if _DATES.search(match.raw_string):
            continue  # "09/2016 - 02/2020": dates, not a number
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        found.append(Found(e164, match.start))
        if len(found) >= 5:
            break
    return found


def find_possible_phone(text: str, region: str, offset: int = 0) -> Found | None:
    """A number that is only "possible" (new ranges, template numbers), in one contact line.

    Looser than `find_phones`, so only for the contact block: at least eight digits, and
    never a year range.
    """
    if _YEARS.search(text):
        return None
    matcher = phonenumbers.PhoneNumberMatcher(
        text, region or "ZZ", leniency=phonenumbers.Leniency.POSSIBLE, max_tries=20
    )
    for match in matcher:
        if sum(c.isdigit() for c in match.raw_string) < 8:
            continue
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        return Found(e164, offset + match.start)
    return None


def find_linkedin(text: str) -> Found | None:
    """The first LinkedIn profile, as https://www.linkedin.com/in/<slug>."""
    match = _LINKEDIN.search(text)
    if match is None:
        return None
    return Found(f"https://www.linkedin.com/in/{match.group(1)}", match.start())


def find_github(text: str) -> Found | None:
    """The first GitHub profile, as https://github.com/<user>."""
    for match in _GITHUB.finditer(text):
        user = match.group(1)
        if user.lower() not in _GITHUB_RESERVED:
            return Found(f"https://github.com/{user}", match.start())
    return None


def find_sites(text: str, *, bare: bool) -> list[Found]:
    """Personal web addresses; bare domains (no scheme, no www) only when `bare` is set."""
    pattern_hits = [(m.group(0), m.start()) for m in _URL.finditer(text)]
    if bare:
        pattern_hits += [(m.group(0), m.start()) for m in _BARE_SITE.finditer(text)]
    found: list[Found] = []
    for raw, start in sorted(pattern_hits, key=lambda hit: hit[1]):
        url = normalize_site(raw)
        if url is not None and all(f.start != start for f in found):
            found.append(Found(url, start))
    return found


def normalize_site(raw: str) -> str | None:
    """Return an absolute http(s) URL for a personal site, or None if it is not one."""
    raw = raw.rstrip(".,:;!?)]}>'\"")
    if not re.match(r"https?://", raw, re.I):
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if "." not in host or parts.username or parts.password:
        return None
    if any(host == bad or host.endswith("." + bad) for bad in _NOT_PORTFOLIO):
        return None
    path = parts.path if parts.path not in ("", "/") else ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{host}{path}{query}"


def mask(text: str, spans: list[tuple[int, int]]) -> str:
    """Blank out `spans` (same length), so e.g. an email's domain is not taken for a website."""
    chars = list(text)
    for start, end in spans:
        for i in range(start, min(end, len(chars))):
            chars[i] = " "
    return "".join(chars)


def email_spans(text: str) -> list[tuple[int, int]]:
    """Spans of everything that looks like an address, valid or not."""
    return [m.span() for m in _EMAIL.finditer(text)]
