"""Validating the profile fields of the connect form, with a message per field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import phonenumbers
from flask_babel import format_number

from jobs.wording import N_
from portal.i18n import gettext as _
from preferences.addresses import normalize_email
from preferences.errors import InvalidEmail
from preferences.text import UnstorableText, scrub_text, unstorable

# English; `labels()` gives them in the request's language.
LABELS = {
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "email": N_("Email"),
    "phone": N_("Phone"),
    "location": N_("City or location"),
    "linkedin_url": N_("LinkedIn profile"),
    "github_url": N_("GitHub profile"),
    "portfolio_url": N_("Portfolio or website"),
}
MAX_LENGTHS = {
    "first_name": 100,
    "last_name": 100,
    "email": 320,
    "phone": 40,
    "location": 200,
    "linkedin_url": 500,
    "github_url": 500,
    "portfolio_url": 500,
}
URL_HOSTS = {
    "linkedin_url": ("linkedin.com",),
    "github_url": ("github.com",),
    "portfolio_url": (),
}


def labels() -> dict[str, str]:
    """The field labels in the request's language."""
    return {name: _(label) for name, label in LABELS.items()}


@dataclass
class ProfileCheck:
    """Cleaned values and any field errors."""

    values: dict[str, str | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _clean_text(raw: object) -> tuple[str, UnstorableText | None]:
    """One line by the stored-text rule, and what the rule refuses in it, if anything.

    The text comes back without the refused characters, to show in the form again.
    """
    text = raw if isinstance(raw, str) else ""
    return " ".join(scrub_text(text).split()), unstorable(text)


def _url(name: str, raw: str) -> tuple[str | None, str | None]:
    value = raw if "://" in raw else f"https://{raw}"
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        _port = parts.port
    except ValueError:  # an unbalanced "[" (a broken IPv6 literal), a port out of range
        return None, _("Enter a web address like https://example.com/you.")
    if parts.scheme not in ("http", "https") or "." not in host:
        return None, _("Enter a web address like https://example.com/you.")
    allowed = URL_HOSTS[name]
    if allowed and not any(host == h or host.endswith("." + h) for h in allowed):
        return None, _("Enter a %(site)s address.", site=allowed[0])
    return value, None


def check_profile(
    data: Mapping[str, object], *, required: Sequence[str], region: str
) -> ProfileCheck:
    """Clean every profile field in `data`; required ones must be present.

    The messages are in the request's language.
    """
    result = ProfileCheck()
    for name, label in labels().items():
        raw, problem = _clean_text(data.get(name, ""))
        if problem is not None:
            result.values[name] = raw[: MAX_LENGTHS[name]] or None
            result.errors[name] = _refused_message(label, problem)
            continue
        if not raw:
            result.values[name] = None
            if name in required:
                result.errors[name] = _("%(label)s is required.", label=label)
            continue
        if len(raw) > MAX_LENGTHS[name]:
            result.values[name] = raw[: MAX_LENGTHS[name]]
            result.errors[name] = _(
                "%(label)s can be at most %(num)s characters.",
                label=label,
                num=format_number(MAX_LENGTHS[name]),
            )
            continue
        if name == "email":
            try:
                result.values[name] = normalize_email(raw)
            except InvalidEmail:
                result.values[name] = raw
                result.errors[name] = _("Enter an email address like name@example.com.")
        elif name == "phone":
            result.values[name] = _phone(raw, region)
            if result.values[name] is None:
                result.values[name] = raw
                result.errors[name] = _("Enter a phone number, with the country code if abroad.")
        elif name in URL_HOSTS:
            value, error = _url(name, raw)
            result.values[name] = value or raw
            if error:
                result.errors[name] = error
        else:
            result.values[name] = raw
    return result


def _refused_message(label: str, problem: UnstorableText) -> str:
    """The field's message for a character the stored-text rule refuses."""
    if 0xD800 <= ord(problem.char) <= 0xDFFF:
        return _(
            "%(label)s contains an unpaired surrogate (%(code)s), which is not valid Unicode "
            "text; remove it.",
            label=label,
            code=problem.code_point,
        )
    if "bidirectional" in problem.reason:
        return _(
            "%(label)s contains the bidirectional control character %(code)s; remove it.",
            label=label,
            code=problem.code_point,
        )
    return _(
        "%(label)s contains the control character %(code)s; remove it.",
        label=label,
        code=problem.code_point,
    )


def _phone(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
