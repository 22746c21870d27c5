"""Settings: environment variables prefixed TALENTCONNECT_, with an optional TOML file.

Every setting is one row of `SETTINGS` below: its name, default, meaning and the reader
that checks its value and gives it its type. `load_settings` reads the table,
`talentconnect settings` lists it, and docs/CONFIGURATION.md holds it as Markdown
(`talentconnect settings --markdown`). A malformed value stops start-up with a
`ConfigError` naming the variable.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from jobs.posting_fields import language_tag
from mailer.config import MailSettings, SmtpTarget
from mailer.message import HeaderError, format_mailbox, parse_mailbox
from mailer.outbox import MailCap
from portal.auth.providers import OidcProviderConfig, parse_provider_configs
from portal.errors import PortalError
from portal.locales import available_locales
from preferences.retention import RetentionPolicy
from preferences.text import TextKind, UnstorableText, clean_text

if TYPE_CHECKING:
    from mailer.dkim import DkimSigner

PREFIX = "TALENTCONNECT_"
DEV_SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
MIN_SECRET_LENGTH = 32


class ConfigError(PortalError):
    """A setting is missing or malformed."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable
        self.message = message


@dataclass(frozen=True)
class Reading:
    """What a setting's reader is given besides the value: its name and the settings before it."""

    name: str
    earlier: Mapping[str, Any]

    @property
    def variable(self) -> str:
        return PREFIX + self.name

    @property
    def production(self) -> bool:
        return bool(self.earlier["ENV"] == "production")

    def error(self, message: str) -> ConfigError:
        return ConfigError(self.variable, message)


Reader = Callable[[str, Reading], Any]


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its name, default, meaning and the reader that checks and types its value.

    `read` gets the value with surrounding spaces stripped, the default in place of an empty
    one, and returns what `Settings` holds (its return annotation is the setting's type).
    A `derived_default` is worked out by `read` from earlier settings (it gets an empty value);
    `default` then says how, for the documentation. `field` names the `Settings` attribute the
    value fills; None for a setting read with others (CONFIG_FILE before the rest, DKIM_DOMAIN
    and DKIM_SELECTOR with DKIM_KEY_FILE).
    """

    name: str
    default: str
    help: str
    read: Reader
    derived_default: bool = False
    field: str | None = ""

    @property
    def attribute(self) -> str | None:
        """The `Settings` attribute this setting fills, if any."""
        return self.name.lower() if self.field == "" else self.field


# Readers: each checks one setting's value and returns it typed, or raises a ConfigError
# naming the variable. The table below says which setting each one reads.


def _text(value: str, at: Reading) -> str:
    return value


def _path(value: str, at: Reading) -> Path:
    return Path(value)


def _whole_number(*, minimum: int, maximum: int) -> Reader:
    def read(value: str, at: Reading) -> int:
        try:
            number = int(value)
        except ValueError:
            raise at.error(f"{value!r} is not a whole number") from None
        if not minimum <= number <= maximum:
            raise at.error(f"{number} is not between {minimum} and {maximum}")
        return number

    return read


def _number(*, minimum: float, maximum: float) -> Reader:
    def read(value: str, at: Reading) -> float:
        try:
            number = float(value)
        except ValueError:
            raise at.error(f"{value!r} is not a number") from None
        if not minimum <= number <= maximum:
            raise at.error(f"{number} is not between {minimum} and {maximum}")
        return number

    return read


def _months_by_country(value: str, at: Reading) -> dict[str, int]:
    """`FR=24,DE=6`: ISO 3166 alpha-2 codes (any case) to whole months, 1 to 240."""
    months: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        country, sep, number = (piece.strip() for piece in item.partition("="))
        if not sep or len(country) != 2 or not country.isalpha() or not country.isascii():
            raise at.error(f"{item!r} is not COUNTRY=MONTHS with a two-letter country code")
        if not number.isdigit() or not 1 <= int(number) <= 240:
            raise at.error(f"{item!r}: months must be a whole number from 1 to 240")
        if country.upper() in months:
            raise at.error(f"{country.upper()} is given twice")
        months[country.upper()] = int(number)
    return months


def _flag(value: str, at: Reading) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise at.error(f"{value!r} must be true or false")


def _https_or_path(value: str, at: Reading) -> str:
    if value and not (value.startswith("https://") or value.startswith("/")):
        raise at.error("must be an https:// URL or a /path")
    return value


def _https_url(value: str, at: Reading) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if value and (parts.scheme != "https" or not parts.hostname):
        raise at.error("must be an https:// URL, like https://www.example.com")
    return value


def _rate_limit(value: str, at: Reading) -> str:
    """A Flask-Limiter rate string, checked at start-up.

    Flask-Limiter itself would only log a malformed limit, and then not apply it.
    """
    from limits import parse_many

    try:
        items = parse_many(value)
    except ValueError as exc:
        raise at.error(
            f"{value!r} is not a rate such as '600 per minute' or '20/minute;200/hour' ({exc})"
        ) from None
    if any(item.amount < 1 for item in items):
        raise at.error(f"{value!r} allows no requests at all")
    return value


def _json(value: str, at: Reading, kind: type) -> Any:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise at.error(f"is not valid JSON ({exc.msg})") from None
    if not isinstance(parsed, kind):
        raise at.error(f"must be a JSON {kind.__name__}")
    return parsed


DEFAULT_TEXTS: dict[str, str] = {
    "connect_button": "Connect With Us",
    "login_link": "Log in",
    "continue_without": "Continue without one",
    "show_details": "Show Details",
    "continue_button": "Continue",
    "upload_button": "Upload",
    "skip_link": "Skip",
    "submit_button": "Submit Profile",
    "apply_button": "Apply",
}
# The consent texts a company may reword (CONSENT_TEXTS); their defaults are translated
# (portal.web.consent_texts), a company's own wording is shown as written in every language.
CONSENT_TEXT_KEYS = ("job_alerts", "mass_email", "saved_search", "privacy_notice")
CONSENT_TEXT_MAX = 500
PROFILE_FIELD_NAMES = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "location",
    "linkedin_url",
    "github_url",
    "portfolio_url",
)


def _env(value: str, at: Reading) -> str:
    if value not in ("development", "production"):
        raise at.error(f"{value!r} must be development or production")
    return value


def _database_url(value: str, at: Reading) -> str:
    database_url = value or f"sqlite:///{at.earlier['INSTANCE_DIR'] / 'talentconnect.db'}"
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise at.error("is not a database URL") from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise at.error(f"{backend!r} is not supported; use sqlite or postgresql+psycopg")
    if backend == "postgresql" and url.get_driver_name() not in ("psycopg",):
        raise at.error("use the psycopg driver: postgresql+psycopg://")
    return database_url


def _smtp_url(value: str, at: Reading) -> str:
    if value:
        try:
            SmtpTarget.from_url(value)
        except ValueError as exc:
            raise at.error(str(exc)) from None
    return value


def _secret_keys(value: str, at: Reading) -> tuple[str, ...]:
    """The given keys; none when not set (`load_settings` then uses the development secret)."""
    if not value:
        if at.production:
            raise at.error("must be set in production; the generated development secret is refused")
        return ()
    keys = tuple(k.strip() for k in value.split(","))
    if any(not k for k in keys):
        raise at.error("has an empty key (check the commas)")
    if at.production:
        dev_file = at.earlier["INSTANCE_DIR"] / DEV_SECRET_FILE
        if dev_file.exists() and dev_file.read_text(encoding="utf-8").strip() in keys:
            raise at.error("is the development secret; production needs its own keys")
        if any(len(k) < MIN_SECRET_LENGTH for k in keys):
            raise at.error(f"each key needs at least {MIN_SECRET_LENGTH} characters")
    return keys


def _base_url(value: str, at: Reading) -> str:
    base_url = value.rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise at.error(f"{base_url!r} must be an http(s) URL with a host")
    if parts.query or parts.fragment:
        raise at.error("must not have a query or fragment")
    if at.production and parts.scheme != "https":
        raise at.error("must use https in production")
    return base_url


def _mail_from(value: str, at: Reading) -> str:
    """The sender as `name <address>`, the name quoted where needed (RFC 6532 names welcome)."""
    try:
        name, spec = parse_mailbox(value)
    except HeaderError:
        raise at.error(
            f"{value!r} is not one address such as Acme Careers <careers@acme.example.com>"
        ) from None
    try:
        validate_email(spec, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise at.error(f"{value!r}: {exc}") from None
    # Quoted, so email-validator and email.utils read it back (an unquoted comma splits it).
    return format_mailbox(name, spec)


def _unsubscribe_mailbox(value: str, at: Reading) -> str:
    """A bare ASCII address (it goes into a mailto: URL and is matched at RCPT)."""
    sender = validate_email(
        at.earlier["MAIL_FROM"],
        allow_display_name=True,
        check_deliverability=False,
        test_environment=True,
    )
    value = value or f"unsubscribe@{sender.ascii_domain}"
    try:
        mailbox = validate_email(
            value, allow_smtputf8=False, check_deliverability=False, test_environment=True
        )
    except EmailNotValidError as exc:
        raise at.error(f"{value!r}: {exc}") from None
    address = mailbox.ascii_email or mailbox.normalized
    # Every reply to the From address would otherwise be read as an unsubscribe request.
    if address.lower() in {sender.normalized.lower(), (sender.ascii_email or "").lower()}:
        raise at.error("must differ from the MAIL_FROM address")
    return address


def _bounce_domain(value: str, at: Reading) -> str:
    """The ASCII (IDNA) domain of the VERP return path; MAIL_FROM's when not set."""
    if not value:
        sender = validate_email(
            at.earlier["MAIL_FROM"],
            allow_display_name=True,
            check_deliverability=False,
            test_environment=True,
        )
        return sender.ascii_domain.lower()
    try:
        checked = validate_email(
            f"bounces@{value.strip().rstrip('.')}",
            check_deliverability=False,
            test_environment=True,
        )
    except EmailNotValidError as exc:
        raise at.error(f"{value!r} is not a domain: {exc}") from None
    return checked.ascii_domain.lower()


def _postal_address(value: str, at: Reading) -> str:
    if at.production and not value:
        raise at.error("is required in production (CAN-SPAM)")
    return value or "1 Example Street, Springfield (demo address)"


def _dkim(value: str, at: Reading) -> DkimSigner | None:
    """The DKIM signer, with its key loaded once; None when no DKIM setting is given.

    Read with DKIM_KEY_FILE (the last of the three), from all three.
    """
    domain, selector, key_file = at.earlier["DKIM_DOMAIN"], at.earlier["DKIM_SELECTOR"], value
    given = {"DKIM_DOMAIN": domain, "DKIM_SELECTOR": selector, "DKIM_KEY_FILE": key_file}
    if not any(given.values()):
        return None
    for name, given_value in given.items():
        if not given_value:
            raise ConfigError(
                PREFIX + name,
                "is not set; DKIM needs DKIM_DOMAIN, DKIM_SELECTOR and DKIM_KEY_FILE "
                "together (or none of them)",
            )
    # Imported here: only processes configured to sign load dkimpy.
    from mailer.dkim import DkimError, DkimSigner, check_dns_name, load_private_key

    for name, given_value, what in (
        ("DKIM_DOMAIN", domain, "domain"),
        ("DKIM_SELECTOR", selector, "selector"),
    ):
        try:
            check_dns_name(given_value, what)
        except DkimError as exc:
            raise ConfigError(PREFIX + name, str(exc)) from None
    try:
        key = load_private_key(Path(key_file))
    except DkimError as exc:
        raise at.error(str(exc)) from None
    return DkimSigner(domain=domain, selector=selector, key=key)


def _upload_dir(value: str, at: Reading) -> Path:
    return Path(value or at.earlier["INSTANCE_DIR"] / "uploads")


def _log_level(value: str, at: Reading) -> str:
    log_level = value.upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise at.error(f"{log_level!r} must be DEBUG, INFO, WARNING or ERROR")
    return log_level


def _color(value: str, at: Reading) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise at.error(f"{value!r} must look like #0b3d91")
    return value.lower()


def _texts(value: str, at: Reading) -> dict[str, str]:
    texts = dict(DEFAULT_TEXTS)
    if not value:
        return texts
    given = _json(value, at, dict)
    for key, text in given.items():
        if key not in DEFAULT_TEXTS:
            raise at.error(f"unknown text {key!r}")
        if not isinstance(text, str) or not text.strip() or len(text) > 80:
            raise at.error(f"{key} must be 1 to 80 characters")
        texts[key] = text.strip()
    return texts


def _consent_texts(value: str, at: Reading) -> dict[str, str]:
    """The reworded consent texts by key (only those given: the rest are the defaults)."""
    if not value:
        return {}
    texts: dict[str, str] = {}
    for key, text in _json(value, at, dict).items():
        if key not in CONSENT_TEXT_KEYS:
            raise at.error(f"unknown consent text {key!r}")
        if not isinstance(text, str) or not text.strip() or len(text) > CONSENT_TEXT_MAX:
            raise at.error(f"{key} must be 1 to {CONSENT_TEXT_MAX} characters")
        try:
            cleaned = clean_text(text, TextKind.LINE)
            cleaned.format(company="")
        except UnstorableText as exc:
            raise at.error(f"{key} holds a character that cannot be shown ({exc.char!r})") from None
        except (KeyError, IndexError, ValueError):
            raise at.error(
                f"{key} may name only {{company}} in braces (write {{{{ and }}}} for a brace)"
            ) from None
        texts[key] = cleaned
    return texts


def _required_fields(value: str, at: Reading) -> tuple[str, ...]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in PROFILE_FIELD_NAMES]
    if unknown:
        raise at.error(f"unknown field(s) {', '.join(unknown)}")
    if "email" not in names:
        names.append("email")
    return tuple(n for n in PROFILE_FIELD_NAMES if n in names)


def _time_zone(value: str, at: Reading) -> str:
    name = value.strip()
    if name not in zoneinfo.available_timezones():
        raise at.error(f"{value!r} is not a time zone; use a name such as Europe/Berlin or UTC")
    return name


def _language(value: str, at: Reading) -> str:
    tag = language_tag(value)
    if tag is None:
        raise at.error(f"{value!r} is not a language tag; use one such as en, de or pt-BR")
    return tag


def _locales(value: str, at: Reading) -> tuple[str, ...]:
    available = available_locales()
    chosen: list[str] = []
    for part in value.split(","):
        if not part.strip():
            continue
        tag = language_tag(part)
        if tag not in available:
            raise at.error(
                f"{part.strip()!r} has no translation; choose from {', '.join(available)}"
            )
        if tag not in chosen:
            chosen.append(tag)
    if not chosen:
        raise at.error("name at least one language")
    return tuple(chosen)


def _region(value: str, at: Reading) -> str:
    import phonenumbers

    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise at.error(f"{value!r} is not a known region code")
    return region


def _hosts(value: str, at: Reading) -> tuple[str, ...]:
    hosts = tuple(h.strip().lower() for h in value.split(",") if h.strip())
    for host in hosts:
        if not re.fullmatch(r"[a-z0-9.-]+(:[0-9]{1,5})?", host):
            raise at.error(f"{host!r} is not a host name")
    return hosts


def _oidc(value: str, at: Reading) -> tuple[OidcProviderConfig, ...]:
    if not value:
        return ()
    items = _json(value, at, list)
    try:
        return tuple(parse_provider_configs(items))
    except ValueError as exc:
        raise at.error(str(exc)) from None


def _storage(value: str, at: Reading) -> str:
    scheme = value.partition("://")[0]
    if scheme not in ("memory", "redis", "rediss", "redis+unix"):
        raise at.error("must be memory:// or redis://…")
    return value


# Read top to bottom: a reader may use the settings above it (ENV, INSTANCE_DIR, MAIL_FROM,
# the DKIM pair), and of several malformed values the highest is reported.
SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "ENV",
        "development",
        "`development` or `production`. Production refuses the "
        "generated development secret, demo data and the /admin/mail page.",
        _env,
    ),
    SettingSpec(
        "CONFIG_FILE",
        "",
        "Path of an optional TOML file with any of these settings "
        "(lower-case keys, no prefix). Environment variables win over the file.",
        _text,
        field=None,
    ),
    SettingSpec(
        "INSTANCE_DIR",
        "instance",
        "Folder for the SQLite database, the development secret and the development mail sink.",
        _path,
    ),
    SettingSpec(
        "DATABASE_URL",
        "sqlite:///<INSTANCE_DIR>/talentconnect.db",
        "SQLAlchemy URL, e.g. `postgresql+psycopg://user@host/db`.",
        _database_url,
        derived_default=True,
    ),
    SettingSpec(
        "SMTP_URL",
        "",
        "Relay, e.g. `smtp://user:pass@host:587?starttls=true` or "
        "`smtps://host:465`; option `timeout=SECONDS`. Empty: `talentconnect run` starts "
        "the built-in development mail sink.",
        _smtp_url,
    ),
    SettingSpec(
        "BASE_URL",
        "http://127.0.0.1:8000",
        "Public URL of the portal, used in every link it builds (emails, `List-Unsubscribe`, "
        "pages). Not set: `talentconnect run` uses the address it listens on (its `--host` "
        "and `--port`, the port the system chose for `--port 0`; a wildcard host, `0.0.0.0` or "
        "`::`, gives the loopback `127.0.0.1` or `[::1]`), and every other command the "
        "default. Set, and not where `run` listens: `run` logs a warning (`serve` does not: "
        "behind a proxy the two always differ).",
        _base_url,
    ),
    SettingSpec(
        "MAIL_FROM",
        "Acme Careers <careers@acme.example.com>",
        "From address of every email, optionally with a display name. The name may hold "
        "UTF-8 and commas without quotes (`José Müller, Acme Inc. <careers@acme.example.com>`); "
        "it is quoted as needed, and sent as RFC 2047 encoded-words, or as raw UTF-8 "
        "(RFC 6532) in a message that goes with SMTPUTF8 anyway (to an internationalized "
        "address).",
        _mail_from,
    ),
    SettingSpec(
        "UNSUBSCRIBE_MAILBOX",
        "unsubscribe@<domain of MAIL_FROM>",
        "Address of the `mailto:` unsubscribe link in bulk email (RFC 8058). Route it "
        "to `talentconnect inbound serve`, which applies the request like the one-click link.",
        _unsubscribe_mailbox,
        derived_default=True,
    ),
    SettingSpec(
        "POSTAL_ADDRESS",
        "",
        "Company postal address printed in every bulk email (CAN-SPAM). Required in "
        "production; in development a demo address stands in.",
        _postal_address,
    ),
    SettingSpec(
        "SECRET_KEYS",
        "generated into <INSTANCE_DIR>/secret_key",
        "Comma-separated signing keys, newest first; the first signs, all verify. "
        "At least 32 characters each in production.",
        _secret_keys,
        derived_default=True,
    ),
    SettingSpec("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR.", _log_level),
    SettingSpec("COMPANY_NAME", "Acme", "Company name shown on the portal and in emails.", _text),
    SettingSpec(
        "COMPANY_TIME_ZONE",
        "UTC",
        "The company's time zone (an IANA name such as Europe/Berlin): where a new alert "
        "schedule starts.",
        _time_zone,
    ),
    SettingSpec(
        "DEFAULT_LOCALE",
        "en",
        "The company's language, as a BCP 47 tag such as en, de or pt-BR: job postings "
        "that name no language are written in it, and their salaries are formatted for it.",
        _language,
    ),
    SettingSpec(
        "SUPPORTED_LOCALES",
        "en,es,de,fr,ar",
        "The languages candidates may read the portal and their emails in, comma-separated "
        "(each needs a catalog in portal/translations; en is the source). Pages fall back to "
        "DEFAULT_LOCALE when it is one of them, else to the first.",
        _locales,
    ),
    SettingSpec(
        "UPLOAD_DIR",
        "<INSTANCE_DIR>/uploads",
        "Where resumes are stored, outside the web root.",
        _upload_dir,
        derived_default=True,
    ),
    SettingSpec(
        "WORKER_BATCH_SIZE",
        "100",
        "Outbox rows a sender worker claims at once. A worker killed mid-batch may "
        "send up to this many twice (their lease expires and another worker sends them).",
        _whole_number(minimum=1, maximum=10_000),
    ),
    SettingSpec(
        "WORKER_POLL_SECONDS",
        "2",
        "How long an idle worker (mail, or webhooks) waits before looking for due work again.",
        _number(minimum=0.05, maximum=3600),
    ),
    SettingSpec(
        "SMTP_CONNECTIONS",
        "4",
        "SMTP connections each sender worker keeps open to the relay and sends over at once.",
        _whole_number(minimum=1, maximum=64),
    ),
    SettingSpec(
        "SEND_RATE",
        "0",
        "Most messages per second each sender worker hands to the relay; 0: no limit.",
        _number(minimum=0, maximum=1_000_000),
    ),
    SettingSpec(
        "SCHEDULER_RELOAD_SECONDS",
        "60",
        "How often the scheduler re-reads alert schedules from the database.",
        _whole_number(minimum=1, maximum=86_400),
    ),
    SettingSpec(
        "MAIL_SINK_PORT",
        "0",
        "Port of the development mail sink on 127.0.0.1; 0 picks a free one.",
        _whole_number(minimum=0, maximum=65_535),
    ),
    SettingSpec(
        "COMPANY_WEBSITE",
        "",
        "The company's own website (https://), given to search engines as the hiring "
        "organization's sameAs in each job page's structured data; empty leaves it out.",
        _https_url,
    ),
    SettingSpec(
        "COMPANY_LOGO_URL",
        "",
        "URL of the company logo shown in the header; empty shows "
        "the first letter of COMPANY_NAME.",
        _https_or_path,
    ),
    SettingSpec(
        "BOUNCE_DOMAIN",
        "<domain of MAIL_FROM>",
        "Domain of the VERP return path `bounces+<token>@BOUNCE_DOMAIN` every email is "
        "sent with. Route `bounces@` and `bounces+*@` that domain to "
        "`talentconnect bounces serve`.",
        _bounce_domain,
        derived_default=True,
    ),
    SettingSpec(
        "BOUNCE_SCORE_THRESHOLD",
        "5",
        "Soft-bounce score at which an address is suppressed; each soft bounce adds 0.5, "
        "at most once a day.",
        _number(minimum=0.5, maximum=1000),
    ),
    SettingSpec(
        "BOUNCE_STALE_DAYS",
        "7",
        "Days without a bounce after which an address's soft-bounce score starts afresh.",
        _whole_number(minimum=1, maximum=365),
    ),
    SettingSpec(
        "REPUTATION_WARN_PERCENT",
        "2",
        "Share of a campaign's or alert run's messages refused for policy, spam or "
        "reputation reasons (percent of those handed to the relay) above which a "
        "`sender reputation warning` is logged; 0: never.",
        _number(minimum=0, maximum=100),
    ),
    SettingSpec(
        "REPUTATION_PAUSE_PERCENT",
        "5",
        "Share of policy rejections above which a campaign pauses itself: its unsent "
        "messages are held until a recruiter resumes or cancels it; 0: never.",
        _number(minimum=0, maximum=100),
    ),
    SettingSpec(
        "REPUTATION_MIN_SAMPLE",
        "100",
        "Messages a campaign or alert run must have handed to the relay (since it was "
        "last resumed) before the two rates above are judged.",
        _whole_number(minimum=1, maximum=1_000_000),
    ),
    SettingSpec(
        "PRIVACY_URL",
        "",
        "https:// URL or /path of the company's privacy notice, linked from the connect "
        "form's review step; empty: no link.",
        _https_or_path,
    ),
    SettingSpec(
        "BRAND_COLOR",
        "#0b3d91",
        "Primary colour of buttons and headers, as #rrggbb. "
        "Pick a dark enough colour for white text (WCAG AA).",
        _color,
    ),
    SettingSpec(
        "TEXTS",
        "",
        "Overrides of button and link texts, as JSON or a TOML table, e.g. "
        '`{"connect_button": "Join our talent network"}`. Keys: '
        + ", ".join(f"`{key}`" for key in DEFAULT_TEXTS)
        + ". The defaults are translated into each language; a text set here is shown "
        "as written, in every language.",
        _texts,
    ),
    SettingSpec(
        "CONSENT_TEXTS",
        "",
        "Overrides of the consent texts shown beside the boxes a person ticks, as JSON or a "
        'TOML table, e.g. `{"mass_email": "Send me news from {company}."}`. Keys: '
        + ", ".join(f"`{key}`" for key in CONSENT_TEXT_KEYS)
        + " (`privacy_notice` is the text of the PRIVACY_URL link); `{company}` stands for "
        "COMPANY_NAME. The defaults are translated into each language; a text set here is "
        "shown as written, in every language. Each text is kept with a version per language "
        "(see docs/CANDIDATES.md): changing one makes a new version, and the consents given "
        "under the old words keep them.",
        _consent_texts,
    ),
    SettingSpec(
        "REQUIRED_FIELDS",
        "first_name,last_name,email",
        "Profile fields the connect form requires (email always is). Any of "
        + ", ".join(PROFILE_FIELD_NAMES)
        + ".",
        _required_fields,
    ),
    SettingSpec("RESUME_STEP", "true", "Whether the connect flow shows the resume step.", _flag),
    SettingSpec(
        "DOUBLE_OPT_IN",
        "true",
        "Whether new job-alert subscriptions wait for a "
        "confirmation email (skipped when a social provider verified the address).",
        _flag,
    ),
    SettingSpec(
        "RETENTION_MONTHS",
        "24",
        "Months a candidate is kept after their last activity (joining, confirming, signing "
        "in, saving preferences, answering a re-permission email, applying while signed in, "
        "a recruiter's contact) before they are anonymized.",
        _whole_number(minimum=1, maximum=240),
    ),
    SettingSpec(
        "RETENTION_MONTHS_BY_COUNTRY",
        "",
        "Retention periods that differ by country, e.g. `FR=24,DE=6`, applied when a "
        "candidate's country is known (from the phone's region or a stated location); "
        "empty: RETENTION_MONTHS for everyone.",
        _months_by_country,
    ),
    SettingSpec(
        "REPERMISSION_DAYS",
        "30",
        "Days before a candidate's expiry that the re-permission email asks whether to stay "
        "(a reminder follows 7 days before). Nobody is anonymized sooner than this many days "
        "after being asked.",
        _whole_number(minimum=8, maximum=365),
    ),
    SettingSpec(
        "MAX_SAVED_SEARCHES",
        "10",
        'Saved job searches ("Email me jobs like this") one candidate may keep; saving '
        "one more is refused with a link to manage those kept.",
        _whole_number(minimum=1, maximum=1000),
    ),
    SettingSpec(
        "PHONE_DEFAULT_REGION",
        "US",
        "The company's region (ISO 3166 code): assumed for phone numbers written without a "
        "country code; its numbers display in national format, others in international.",
        _region,
    ),
    SettingSpec(
        "MAX_UPLOAD_MB",
        "10",
        "Largest resume upload, in megabytes.",
        _whole_number(minimum=1, maximum=100),
    ),
    SettingSpec(
        "RESUME_PARSE_SECONDS",
        "5",
        "Wall-clock budget for reading one resume (in a separate process); a file that "
        "takes longer is refused and the process is killed.",
        _number(minimum=0.1, maximum=60),
    ),
    SettingSpec(
        "RESUME_PARSE_MEMORY_MB",
        "256",
        "Address-space limit (`RLIMIT_AS`) of the process that reads one resume, "
        "interpreter included; a file that needs more is refused.",
        _whole_number(minimum=64, maximum=16_384),
    ),
    SettingSpec(
        "RESUME_PARSE_CONCURRENCY",
        "2",
        'Resumes read at once per web process; one more gets a 503 "try again in a few '
        'seconds" answer.',
        _whole_number(minimum=1, maximum=64),
    ),
    SettingSpec(
        "UPLOAD_VISITOR_MAX_FILES",
        "10",
        "Uploaded resumes one visitor (client IP) may have that no profile claimed yet; "
        "past it, uploads are refused until they are submitted or pruned.",
        _whole_number(minimum=1, maximum=10_000),
    ),
    SettingSpec(
        "UPLOAD_VISITOR_MAX_MB",
        "50",
        "Megabytes of unclaimed uploaded resumes one visitor (client IP) may have.",
        _whole_number(minimum=1, maximum=100_000),
    ),
    SettingSpec(
        "UPLOAD_UNCLAIMED_HOURS",
        "24",
        "Age after which an uploaded resume no profile claimed is deleted; the scheduler "
        "(`talentconnect run` or `scheduler`) prunes every hour.",
        _number(minimum=0.1, maximum=24 * 365),
    ),
    SettingSpec(
        "REMOTE_FETCH_HOSTS",
        "www.googleapis.com,content.dropboxapi.com,dl.dropboxusercontent.com",
        "HTTPS hosts resumes may be imported from (Google "
        "Drive and Dropbox downloads); redirects must stay on this list.",
        _hosts,
    ),
    SettingSpec(
        "FEED_ALLOWED_HOSTS",
        "",
        "Job feed hosts (`host` or `host:port`, comma-separated) that may be fetched even "
        "though they resolve to a private or loopback address, and over http://; for an "
        "on-premise applicant tracking system. Other feeds must be https:// on public addresses.",
        _hosts,
    ),
    SettingSpec(
        "FEED_MAX_MB",
        "20",
        "Largest job feed response, in megabytes; a larger one fails the sync.",
        _whole_number(minimum=1, maximum=1000),
    ),
    SettingSpec(
        "FEED_FETCH_SECONDS",
        "30",
        "Time allowed for fetching one job feed, redirects included; a slower one fails the sync.",
        _number(minimum=0.1, maximum=600),
    ),
    SettingSpec(
        "WEBHOOK_ALLOWED_HOSTS",
        "",
        "Webhook receiver hosts (`host` or `host:port`, comma-separated) that may be called "
        "though they resolve to a private or loopback address, and over http://; for "
        "on-premise and test receivers. Other endpoints must be https:// on public addresses.",
        _hosts,
    ),
    SettingSpec(
        "WEBHOOK_TIMEOUT_SECONDS",
        "10",
        "Time a webhook receiver has to answer one delivery; a slower one counts as a "
        "network error and is retried.",
        _number(minimum=0.1, maximum=120),
    ),
    SettingSpec(
        "WEBHOOK_RETRY_HOURS",
        "72",
        "How long a webhook delivery is retried (exponential backoff with jitter) after "
        "5xx, 429 and network errors before it is given up.",
        _number(minimum=0.01, maximum=24 * 30),
    ),
    SettingSpec(
        "WEBHOOK_DISABLE_AFTER_DAYS",
        "5",
        "An endpoint whose every delivery has failed for this many days in a row is "
        "disabled, and the admins are emailed.",
        _number(minimum=0.01, maximum=365),
    ),
    SettingSpec(
        "WEBHOOK_SECRET_GRACE_HOURS",
        "24",
        "After a signing secret is rotated, the old secret still signs (beside the new one) "
        "for this many hours.",
        _number(minimum=0, maximum=24 * 30),
    ),
    SettingSpec(
        "WEBHOOK_CONCURRENCY",
        "16",
        "Deliveries one webhook worker process makes at once.",
        _whole_number(minimum=1, maximum=256),
    ),
    SettingSpec(
        "WEBHOOK_KEEP_DAYS",
        "30",
        "Days delivered and failed webhook events (and their delivery records) are kept "
        "before the worker prunes them.",
        _whole_number(minimum=1, maximum=3650),
    ),
    SettingSpec(
        "GOOGLE_API_KEY",
        "",
        "Google Picker API key; with GOOGLE_CLIENT_ID, shows **Import from Google Drive**.",
        _text,
    ),
    SettingSpec("GOOGLE_CLIENT_ID", "", "Google OAuth client id for the Drive picker.", _text),
    SettingSpec(
        "DROPBOX_APP_KEY", "", "Dropbox Chooser app key; shows **Import from Dropbox**.", _text
    ),
    SettingSpec(
        "OIDC_PROVIDERS",
        "",
        "Social login providers, as JSON or a TOML array of tables: "
        '`[{"name": "google", "client_id": "…", "client_secret": "…"}]`. Presets: google, '
        "linkedin, microsoft; any other needs `discovery_url` and `label`.",
        _oidc,
    ),
    SettingSpec(
        "RATE_LIMIT_STORAGE_URL",
        "memory://",
        "Flask-Limiter storage; use `redis://host:6379/0` when several web processes run.",
        _storage,
    ),
    SettingSpec(
        "CONNECT_RATE_LIMIT",
        "20 per minute;200 per hour",
        "Form submissions allowed per client IP on the connect, login, preference and "
        "dashboard resume forms.",
        _rate_limit,
    ),
    SettingSpec(
        "ADDRESS_MAIL_LIMIT",
        "5 per hour;10 per day",
        "Sign-in, preference-link and confirmation emails sent to one address, at most, "
        "counted together whoever asks for them; beyond it nothing is sent and the visitor "
        "sees the same page. Rates as in CONNECT_RATE_LIMIT.",
        _rate_limit,
    ),
    SettingSpec(
        "API_RATE_LIMIT",
        "600 per minute",
        "Requests allowed to the `/api/v1` REST API per API token (each token counts "
        "alone); requests without a valid token count per client IP.",
        _rate_limit,
    ),
    SettingSpec(
        "PROXY_HOPS",
        "0",
        "Reverse proxies in front of the app that append the client to `X-Forwarded-For`; "
        "the client IP (rate limits, consent records) is read that many entries from the "
        "right. 0 trusts no header. Set it only behind proxies that always set the header: "
        "otherwise a client can forge its address.",
        _whole_number(minimum=0, maximum=5),
    ),
    SettingSpec(
        "DKIM_DOMAIN",
        "",
        "Signing domain (`d=`) of the DKIM signature on every email, usually the domain of "
        "MAIL_FROM. Set DKIM_DOMAIN, DKIM_SELECTOR and DKIM_KEY_FILE together, or none: "
        "then mail goes out unsigned.",
        _text,
        field=None,
    ),
    SettingSpec(
        "DKIM_SELECTOR",
        "",
        "DKIM selector (`s=`); the public key is the TXT record at "
        "`<selector>._domainkey.<DKIM_DOMAIN>`.",
        _text,
        field=None,
    ),
    SettingSpec(
        "DKIM_KEY_FILE",
        "",
        "PEM file with the unencrypted DKIM private key: RSA of 2048 bits or more, or "
        "Ed25519. Read once at start-up.",
        _dkim,
        field="dkim",
    ),
)


_KNOWN = {s.name for s in SETTINGS}


def settings_markdown() -> str:
    """Every setting as a row of the Markdown table in docs/CONFIGURATION.md."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for spec in SETTINGS:
        default = f"`{spec.default}`" if spec.default else "(empty)"
        meaning = spec.help.replace("|", "\\|")
        rows.append(f"| `{PREFIX}{spec.name}` | {default} | {meaning} |")
    return "\n".join(rows) + "\n"


@dataclass(frozen=True)
class Settings:
    """Validated settings for one process, built by `load_settings` from `SETTINGS`.

    One attribute per setting (see `SettingSpec.attribute`), of its reader's type, plus
    `uses_dev_secret`: no SECRET_KEYS were given, so the generated development secret signs;
    and `base_url_given`: BASE_URL was set (environment or file), so `talentconnect run`
    keeps it instead of using the address it listens on.
    """

    env: str
    instance_dir: Path
    database_url: str
    smtp_url: str
    secret_keys: tuple[str, ...]
    base_url: str
    mail_from: str
    postal_address: str
    company_name: str
    company_time_zone: str
    default_locale: str
    supported_locales: tuple[str, ...]
    upload_dir: Path
    log_level: str
    worker_batch_size: int
    worker_poll_seconds: float
    smtp_connections: int
    send_rate: float
    scheduler_reload_seconds: int
    mail_sink_port: int
    company_website: str
    company_logo_url: str
    unsubscribe_mailbox: str
    bounce_domain: str
    bounce_score_threshold: float
    bounce_stale_days: int
    reputation_warn_percent: float
    reputation_pause_percent: float
    reputation_min_sample: int
    privacy_url: str
    brand_color: str
    texts: dict[str, str]
    consent_texts: dict[str, str]
    required_fields: tuple[str, ...]
    resume_step: bool
    double_opt_in: bool
    max_saved_searches: int
    retention_months: int
    retention_months_by_country: dict[str, int]
    repermission_days: int
    phone_default_region: str
    max_upload_mb: int
    resume_parse_seconds: float
    resume_parse_memory_mb: int
    resume_parse_concurrency: int
    upload_visitor_max_files: int
    upload_visitor_max_mb: int
    upload_unclaimed_hours: float
    remote_fetch_hosts: tuple[str, ...]
    feed_allowed_hosts: tuple[str, ...]
    feed_max_mb: int
    feed_fetch_seconds: float
    webhook_allowed_hosts: tuple[str, ...]
    webhook_timeout_seconds: float
    webhook_retry_hours: float
    webhook_disable_after_days: float
    webhook_secret_grace_hours: float
    webhook_concurrency: int
    webhook_keep_days: int
    google_api_key: str
    google_client_id: str
    dropbox_app_key: str
    oidc_providers: tuple[OidcProviderConfig, ...]
    rate_limit_storage_url: str
    connect_rate_limit: str
    address_mail_limit: str
    api_rate_limit: str
    proxy_hops: int
    uses_dev_secret: bool
    base_url_given: bool
    dkim: DkimSigner | None

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def address_mail_caps(self) -> tuple[MailCap, ...]:
        """ADDRESS_MAIL_LIMIT as caps for `mailer.outbox.enqueue_capped`."""
        from limits import parse_many

        return tuple(
            MailCap(item.amount, timedelta(seconds=item.get_expiry()))
            for item in parse_many(self.address_mail_limit)
        )

    @property
    def smtp_target(self) -> SmtpTarget | None:
        return SmtpTarget.from_url(self.smtp_url) if self.smtp_url else None

    @property
    def mail_sink_dir(self) -> Path:
        return self.instance_dir / "mail-sink"

    @property
    def retention_policy(self) -> RetentionPolicy:
        """RETENTION_MONTHS, RETENTION_MONTHS_BY_COUNTRY and REPERMISSION_DAYS together."""
        return RetentionPolicy(
            months=self.retention_months,
            by_country=dict(self.retention_months_by_country),
            repermission_days=self.repermission_days,
        )

    def mail_settings(self) -> MailSettings:
        return MailSettings(
            mail_from=self.mail_from,
            company_name=self.company_name,
            base_url=self.base_url,
            postal_address=self.postal_address,
            secret_keys=self.secret_keys,
            dkim=self.dkim,
            unsubscribe_mailbox=self.unsubscribe_mailbox,
            bounce_domain=self.bounce_domain,
            bounce_score_threshold=self.bounce_score_threshold,
            bounce_stale_days=self.bounce_stale_days,
            reputation_warn_percent=self.reputation_warn_percent,
            reputation_pause_percent=self.reputation_pause_percent,
            reputation_min_sample=self.reputation_min_sample,
            locales=self.supported_locales,
            default_locale=self.default_locale,
        )


def _read_toml(path_text: str) -> dict[str, str]:
    path = Path(path_text)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(PREFIX + "CONFIG_FILE", f"no such file {path}") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(PREFIX + "CONFIG_FILE", f"cannot read {path}: {exc}") from None
    table = data.get("talentconnect", data)
    values: dict[str, str] = {}
    for key, value in table.items():
        name = key.upper()
        if name not in _KNOWN or name == "CONFIG_FILE":
            raise ConfigError(PREFIX + "CONFIG_FILE", f"{path}: unknown setting {key!r}")
        if isinstance(value, dict) or (
            isinstance(value, list) and any(isinstance(v, dict) for v in value)
        ):
            values[name] = json.dumps(value)
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        if isinstance(value, bool):
            value = "true" if value else "false"
        values[name] = str(value)
    return values


def _dev_secret(instance_dir: Path) -> str:
    """Return the development secret, creating it once under the instance folder."""
    path = instance_dir / DEV_SECRET_FILE
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    instance_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret + "\n")
    return secret


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Read, validate and return the settings.

    Precedence: `overrides` (upper-case names without the prefix), then
    environment variables, then the TOML file, then defaults. Each setting is read
    by its reader in `SETTINGS`, in the table's order.
    """
    env_map = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    for key, value in env_map.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX) :]
        if name.startswith("TEST_"):
            continue  # test-suite settings, not the app's
        if name not in _KNOWN:
            raise ConfigError(key, "is not a Talent Connect setting (see docs/CONFIGURATION.md)")
        raw[name] = value
    config_file = (overrides or {}).get("CONFIG_FILE") or raw.get("CONFIG_FILE", "")
    if config_file:
        raw = {**_read_toml(str(config_file)), **raw}
    for key, value in (overrides or {}).items():
        if key.upper() not in _KNOWN:
            raise ConfigError(PREFIX + key.upper(), "is not a Talent Connect setting")
        raw[key.upper()] = str(value) if not isinstance(value, str) else value

    values: dict[str, Any] = {}
    for spec in SETTINGS:
        value = raw.get(spec.name, "").strip()
        if not value and not spec.derived_default:
            value = spec.default
        values[spec.name] = spec.read(value, Reading(spec.name, values))
    uses_dev_secret = not values["SECRET_KEYS"]
    if uses_dev_secret:
        # Only once every value is valid, so that a refused start leaves no file behind.
        values["SECRET_KEYS"] = (_dev_secret(values["INSTANCE_DIR"]),)
    fields = {spec.attribute: values[spec.name] for spec in SETTINGS if spec.attribute}
    return Settings(
        **fields,
        uses_dev_secret=uses_dev_secret,
        base_url_given=bool(raw.get("BASE_URL", "").strip()),
    )
