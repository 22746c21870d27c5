"""The optional facts of a posting that people filter on: type, workplace, pay, dates, language.

One reader for every way a posting arrives (the console form, an import row, an API
body): values may be text (forms, CSV) or JSON types, and each problem is worded
twice, as `field: reason` for rows and bodies and as a sentence for the console.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Final, TypeVar

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, list_currencies

from jobs.errors import JobsError
from jobs.wording import N_, Gettext, source_text
from preferences.clock import TimeOutOfRange, utc_in_range
from preferences.text import TextKind, UnstorableText, clean_text


class EmploymentType(enum.StrEnum):
    FULL_TIME = "full_time"
    PART_TIME = "part_time"
    CONTRACT = "contract"
    TEMPORARY = "temporary"
    INTERNSHIP = "internship"


class Workplace(enum.StrEnum):
    ON_SITE = "on_site"
    HYBRID = "hybrid"
    REMOTE = "remote"


class SalaryPeriod(enum.StrEnum):
    HOUR = "hour"
    MONTH = "month"
    YEAR = "year"


EMPLOYMENT_TYPE_LABELS: Final[Mapping[EmploymentType, str]] = {
    EmploymentType.FULL_TIME: N_("Full time"),
    EmploymentType.PART_TIME: N_("Part time"),
    EmploymentType.CONTRACT: N_("Contract"),
    EmploymentType.TEMPORARY: N_("Temporary"),
    EmploymentType.INTERNSHIP: N_("Internship"),
}
WORKPLACE_LABELS: Final[Mapping[Workplace, str]] = {
    Workplace.ON_SITE: N_("On site"),
    Workplace.HYBRID: N_("Hybrid"),
    Workplace.REMOTE: N_("Remote"),
}
# The pay in words, per period: a range, one amount, a floor, a ceiling (whole sentences,
# so a translation can order the amounts and the period as its language does).
SALARY_PATTERNS: Final[Mapping[SalaryPeriod, tuple[str, str, str, str]]] = {
    SalaryPeriod.HOUR: (
        N_("%(low)s\u2013%(high)s an hour"),
        N_("%(amount)s an hour"),
        N_("from %(amount)s an hour"),
        N_("up to %(amount)s an hour"),
    ),
    SalaryPeriod.MONTH: (
        N_("%(low)s\u2013%(high)s a month"),
        N_("%(amount)s a month"),
        N_("from %(amount)s a month"),
        N_("up to %(amount)s a month"),
    ),
    SalaryPeriod.YEAR: (
        N_("%(low)s\u2013%(high)s a year"),
        N_("%(amount)s a year"),
        N_("from %(amount)s a year"),
        N_("up to %(amount)s a year"),
    ),
}

MAX_DEPARTMENT = 120
MAX_LANGUAGE = 35
# Amounts are stored as NUMERIC(12, 2): up to 9,999,999,999.99.
MAX_SALARY = Decimal("10000000000")
_CENT = Decimal("0.01")

_AMOUNT_RE: Final = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?")
_LANGUAGE_RE: Final = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_CURRENCIES: Final = frozenset(list_currencies())


@dataclass(frozen=True)
class PostingDetails:
    """A posting's optional facts, checked; None (or "") where not given."""

    employment_type: EmploymentType | None = None
    workplace: Workplace | None = None
    department: str = ""
    salary_min: Decimal | None = None
    salary_max: Decimal | None = None
    salary_currency: str | None = None
    salary_period: SalaryPeriod | None = None
    valid_through: datetime | None = None
    language: str | None = None

    def values(self) -> dict[str, object]:
        """The facts by column name, as stored on a JobPosting."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


DETAIL_FIELDS: Final = tuple(f.name for f in fields(PostingDetails))


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field: `reason` for rows and bodies, `message` for the console."""

    reason: str
    message: str


class DetailsRejected(JobsError, ValueError):
    """Some facts break a rule; `problems` maps each field to its Problem."""

    def __init__(self, problems: dict[str, Problem]) -> None:
        super().__init__("; ".join(f"{k}: {p.reason}" for k, p in problems.items()))
        self.problems = problems


_Choice = TypeVar("_Choice", bound=enum.StrEnum)


def parse_time(value: str) -> datetime:
    """An ISO 8601 date or date-time as aware UTC; a time without an offset is taken as UTC.

    Raises ValueError for anything else, a blank value included, and its subclass
    `TimeOutOfRange` for a time before 1970, from 2100 on, or beyond what UTC can hold.
    """
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return utc_in_range(parsed)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _choice(
    raw: Mapping[str, object], name: str, kind: type[_Choice], problems: dict[str, Problem]
) -> _Choice | None:
    value = raw.get(name)
    if _blank(value):
        return None
    allowed = ", ".join(m.value for m in kind)
    if isinstance(value, str):
        key = re.sub(r"[\s-]+", "_", value.strip().casefold())
        try:
            return kind(key)
        except ValueError:
            pass
    problems[name] = Problem(f"must be one of {allowed}", f"Choose one of: {allowed}.")
    return None


def _amount(raw: Mapping[str, object], name: str, problems: dict[str, Problem]) -> Decimal | None:
    value = raw.get(name)
    if _blank(value):
        return None
    amount: Decimal | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        amount = Decimal(str(value))
    elif isinstance(value, str) and _AMOUNT_RE.fullmatch(value.strip()):
        amount = Decimal(value.strip().replace(",", ""))
    if amount is not None and amount.is_finite() and not 0 <= amount < MAX_SALARY:
        problems[name] = Problem(
            "must be from 0 to 9999999999.99", "Enter an amount from 0 to 9,999,999,999.99."
        )
        return None
    if amount is None or not amount.is_finite() or amount != amount.quantize(_CENT):
        problems[name] = Problem(
            "must be an amount like 55000 or 27.50",
            "Enter an amount like 55000 or 27.50 (digits, at most two decimals).",
        )
        return None
    return amount


def _currency(raw: Mapping[str, object], problems: dict[str, Problem]) -> str | None:
    value = raw.get("salary_currency")
    if _blank(value):
        return None
    code = value.strip().upper() if isinstance(value, str) else ""
    if code not in _CURRENCIES:
        problems["salary_currency"] = Problem(
            "must be an ISO 4217 currency code like EUR or USD",
            "Enter a currency code like EUR, USD or GBP.",
        )
        return None
    return code


def language_tag(value: str) -> str | None:
    """`value` as a canonical BCP 47 tag ("en", "de-CH", "zh-Hant-TW"); None if unknown."""
    text = value.strip().replace("_", "-")
    if not _LANGUAGE_RE.fullmatch(text) or len(text) > MAX_LANGUAGE:
        return None
    try:
        locale = Locale.parse(text, sep="-")
    except (UnknownLocaleError, ValueError):
        return None
    return "-".join(
        part for part in (locale.language, locale.script, locale.territory, locale.variant) if part
    )


def _language(raw: Mapping[str, object], problems: dict[str, Problem]) -> str | None:
    value = raw.get("language")
    if _blank(value):
        return None
    tag = language_tag(value) if isinstance(value, str) else None
    if tag is None:
        problems["language"] = Problem(
            "must be a language tag like en, de or pt-BR",
            "Enter a language tag like en, de or pt-BR.",
        )
    return tag


def _department(raw: Mapping[str, object], problems: dict[str, Problem]) -> str:
    value = raw.get("department")
    if _blank(value):
        return ""
    if not isinstance(value, str):
        problems["department"] = Problem("must be text", "Enter the department as text.")
        return ""
    try:
        text = clean_text(value, TextKind.LINE)
    except UnstorableText as exc:
        problems["department"] = Problem(exc.reason, exc.message)
        return ""
    if len(text) > MAX_DEPARTMENT:
        problems["department"] = Problem(
            f"is longer than {MAX_DEPARTMENT} characters",
            f"Use at most {MAX_DEPARTMENT} characters.",
        )
    return text


def _valid_through(
    raw: Mapping[str, object], posted_at: datetime | None, problems: dict[str, Problem]
) -> datetime | None:
    value = raw.get("valid_through")
    if _blank(value):
        return None
    if not isinstance(value, str):
        problems["valid_through"] = Problem(
            "must be an ISO 8601 date or date-time string", "Enter a date, like 2027-01-31."
        )
        return None
    try:
        text = value.strip()
        if len(text) == 10 and "T" not in text.upper():
            # A date alone means the whole of that day (UTC): "valid through 31 January".
            text = f"{text}T{time.max}"
        moment = parse_time(text)
    except TimeOutOfRange:
        problems["valid_through"] = Problem(
            f"{value!r} is not between 1970 and 2099", "Enter a date from 1970 to 2099."
        )
        return None
    except ValueError:
        problems["valid_through"] = Problem(
            f"{value!r} is not an ISO 8601 date or date-time (like 2027-01-31T23:59Z)",
            "Enter a date, like 2027-01-31.",
        )
        return None
    if posted_at is not None and moment <= posted_at:
        problems["valid_through"] = Problem(
            "must be later than posted_at", "Choose a date after the posting date."
        )
        return None
    return moment


def read_details(raw: Mapping[str, object], posted_at: datetime | None = None) -> PostingDetails:
    """Check a posting's optional facts from `raw` (text or JSON values); missing keys are blank.

    `posted_at` (when known) is what `valid_through` must come after. Raises
    `DetailsRejected` naming every bad field.
    """
    problems: dict[str, Problem] = {}
    details = PostingDetails(
        employment_type=_choice(raw, "employment_type", EmploymentType, problems),
        workplace=_choice(raw, "workplace", Workplace, problems),
        department=_department(raw, problems),
        salary_min=_amount(raw, "salary_min", problems),
        salary_max=_amount(raw, "salary_max", problems),
        salary_currency=_currency(raw, problems),
        salary_period=_choice(raw, "salary_period", SalaryPeriod, problems),
        valid_through=_valid_through(raw, posted_at, problems),
        language=_language(raw, problems),
    )
    _check_salary(details, problems)
    if problems:
        raise DetailsRejected(problems)
    return details


def _check_salary(details: PostingDetails, problems: dict[str, Problem]) -> None:
    amounts = [a for a in (details.salary_min, details.salary_max) if a is not None]
    if any(name.startswith("salary_") for name in problems):
        return
    if (
        details.salary_min is not None
        and details.salary_max is not None
        and details.salary_min > details.salary_max
    ):
        problems["salary_max"] = Problem(
            "must not be less than salary_min", "The maximum must not be less than the minimum."
        )
    if amounts and details.salary_currency is None:
        problems["salary_currency"] = Problem(
            "is required with a salary", "Enter the currency of the salary, like EUR."
        )
    if amounts and details.salary_period is None:
        problems["salary_period"] = Problem(
            "is required with a salary (hour, month or year)",
            "Choose whether the salary is per hour, month or year.",
        )
    if not amounts and (details.salary_currency or details.salary_period):
        problems["salary_min"] = Problem(
            "is required with a salary currency or period",
            "Enter the salary (a minimum, a maximum or both), or leave currency and period empty.",
        )


def details_as_text(job: object) -> dict[str, str]:
    """A posting's facts as a form shows them to edit: text, "" where not given.

    `job` is anything with the facts as attributes (a JobPosting).
    """
    shown: dict[str, str] = {}
    for name in DETAIL_FIELDS:
        value = getattr(job, name)
        if value is None:
            shown[name] = ""
        elif isinstance(value, datetime):
            shown[name] = (
                value.date().isoformat() if value.time() == time.max else value.isoformat()
            )
        elif isinstance(value, enum.Enum):
            shown[name] = str(value.value)
        else:
            shown[name] = str(value)
    return shown


def babel_locale(tag: str) -> Locale:
    """The Babel locale for a BCP 47 tag already checked by `language_tag` (English if not)."""
    try:
        return Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return Locale("en")


def _money(amount: Decimal, currency: str, locale: Locale, whole: bool) -> str:
    pattern = locale.currency_formats["standard"].pattern
    if whole:
        return format_currency(
            amount,
            currency,
            format=pattern.replace(".00", ""),
            locale=locale,
            currency_digits=False,
        )
    return format_currency(amount, currency, locale=locale)


def salary_text(job: object, tag: str, gettext: Gettext = source_text) -> str | None:
    """The pay for the locale `tag`, like "€55,000 to €70,000 a year" (an en dash for "to").

    None when the posting states no salary. `gettext` translates the wording (the
    English source by default); `tag` formats the amounts.

    `job` is anything with the salary facts as attributes (a JobPosting).
    """
    low: Decimal | None = getattr(job, "salary_min", None)
    high: Decimal | None = getattr(job, "salary_max", None)
    currency: str | None = getattr(job, "salary_currency", None)
    period: SalaryPeriod | None = getattr(job, "salary_period", None)
    if currency is None or period is None or (low is None and high is None):
        return None
    locale = babel_locale(tag)
    whole = all(a == a.to_integral_value() for a in (low, high) if a is not None)
    ranged, exact, floor, ceiling = SALARY_PATTERNS[SalaryPeriod(period)]
    if low is not None and high is not None and low != high:
        return gettext(ranged) % {
            "low": _money(low, currency, locale, whole),
            "high": _money(high, currency, locale, whole),
        }
    if low is not None:
        pattern = exact if high is not None else floor
        return gettext(pattern) % {"amount": _money(low, currency, locale, whole)}
    assert high is not None
    return gettext(ceiling) % {"amount": _money(high, currency, locale, whole)}


def place_text(job: object, gettext: Gettext = source_text) -> str:
    """Where the work is done: "Remote", "Hybrid · Leeds", "Berlin" or "Location flexible"."""
    location: str = getattr(job, "location", "") or ""
    workplace: Workplace | None = getattr(job, "workplace", None)
    if workplace is None:
        return location or gettext(N_("Location flexible"))
    label = gettext(WORKPLACE_LABELS[Workplace(workplace)])
    if workplace == Workplace.ON_SITE and location:
        return location
    return f"{label} · {location}" if location else label


def amount_number(amount: Decimal) -> int | float:
    """A stored amount as a JSON number: whole amounts as integers (55000, not 55000.0)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)
