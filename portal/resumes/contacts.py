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


def find_phones(text: str, default_region: str) -> list[Found]:
    """Valid phone numbers in order, as E.164; numbers without a country code use the region."""
    region = default_region.upper() if default_region else "ZZ"
    found: list[Found] = []
    matcher = phonenumbers.PhoneNumberMatcher(
        text[:PHONE_SCAN_CHARS], region, leniency=phonenumbers.Leniency.VALID, max_tries=2000
    )
    for match in matcher:
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        found.append(Found(e164, match.start))
        if len(found) >= 5:
            break
    return found


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
