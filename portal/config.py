"""Settings: environment variables prefixed TALENTCONNECT_, with an optional TOML file.

Every setting is listed in `SETTINGS` below and in the README's configuration
table. A malformed value stops start-up with a `ConfigError` naming the variable.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from mailer.config import MailSettings, SmtpTarget
from mailer.message import HeaderError, format_mailbox, parse_mailbox
from mailer.outbox import MailCap
from portal.auth.providers import OidcProviderConfig, parse_provider_configs
from portal.errors import PortalError

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
class SettingSpec:
    name: str
    default: str
    help: str


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "ENV",
        "development",
        "`development` or `production`. Production refuses the "
        "generated development secret, demo data and the /admin/mail page.",
    ),
    SettingSpec(
        "CONFIG_FILE",
        "",
        "Path of an optional TOML file with any of these settings "
        "(lower-case keys, no prefix). Environment variables win over the file.",
    ),
    SettingSpec(
        "INSTANCE_DIR",
        "instance",
        "Folder for the SQLite database, the development secret and the development mail sink.",
    ),
    SettingSpec(
        "DATABASE_URL",
        "sqlite:///<INSTANCE_DIR>/talentconnect.db",
        "SQLAlchemy URL, e.g. `postgresql+psycopg://user@host/db`.",
    ),
    SettingSpec(
        "SMTP_URL",
        "",
        "Relay, e.g. `smtp://user:pass@host:587?starttls=true` or "
        "`smtps://host:465`; option `timeout=SECONDS`. Empty: `talentconnect run` starts "
        "the built-in development mail sink.",
    ),
    SettingSpec(
        "SECRET_KEYS",
        "generated into <INSTANCE_DIR>/secret_key",
        "Comma-separated signing keys, newest first; the first signs, all verify. "
        "At least 32 characters each in production.",
    ),
    SettingSpec(
        "BASE_URL", "http://127.0.0.1:8000", "Public URL of the portal, used in links in emails."
    ),
    SettingSpec(
        "MAIL_FROM",
        "Acme Careers <careers@acme.example.com>",
        "From address of every email, optionally with a display name, which may hold "
        "UTF-8 and commas without quotes, e.g. José Müller, Acme Inc. <careers@acme.example.com>.",
    ),
    SettingSpec(
        "UNSUBSCRIBE_MAILBOX",
        "unsubscribe@<domain of MAIL_FROM>",
        "Address of the `mailto:` unsubscribe link in bulk email (RFC 8058). Route it "
        "to `talentconnect inbound serve`, which applies the request like the one-click link.",
    ),
    SettingSpec(
        "BOUNCE_DOMAIN",
        "<domain of MAIL_FROM>",
        "Domain of the VERP return path `bounces+<token>@BOUNCE_DOMAIN` every email is "
        "sent with. Route `bounces@` and `bounces+*@` that domain to "
        "`talentconnect bounces serve`.",
    ),
    SettingSpec(
        "BOUNCE_SCORE_THRESHOLD",
        "5",
        "Soft-bounce score at which an address is suppressed; each soft bounce adds 0.5, "
        "at most once a day.",
    ),
    SettingSpec(
        "BOUNCE_STALE_DAYS",
        "7",
        "Days without a bounce after which an address's soft-bounce score starts afresh.",
    ),
    SettingSpec(
        "REPUTATION_WARN_PERCENT",
        "2",
        "Share of a campaign's or alert run's messages refused for policy, spam or "
        "reputation reasons (percent of those handed to the relay) above which a "
        "`sender reputation warning` is logged; 0: never.",
    ),
    SettingSpec(
        "REPUTATION_PAUSE_PERCENT",
        "5",
        "Share of policy rejections above which a campaign pauses itself: its unsent "
        "messages are held until a recruiter resumes or cancels it; 0: never.",
    ),
    SettingSpec(
        "REPUTATION_MIN_SAMPLE",
        "100",
        "Messages a campaign or alert run must have handed to the relay (since it was "
        "last resumed) before the two rates above are judged.",
    ),
    SettingSpec(
        "POSTAL_ADDRESS",
        "",
        "Company postal address printed in every bulk email (CAN-SPAM). Required in production.",
    ),
    SettingSpec(
        "DKIM_DOMAIN",
        "",
        "Signing domain (`d=`) of the DKIM signature on every email, usually the domain of "
        "MAIL_FROM. Set DKIM_DOMAIN, DKIM_SELECTOR and DKIM_KEY_FILE together, or none: "
        "then mail goes out unsigned.",
    ),
    SettingSpec(
        "DKIM_SELECTOR",
        "",
        "DKIM selector (`s=`); the public key is the TXT record at "
        "`<selector>._domainkey.<DKIM_DOMAIN>`.",
    ),
    SettingSpec(
        "DKIM_KEY_FILE",
        "",
        "PEM file with the unencrypted DKIM private key: RSA of 2048 bits or more, or "
        "Ed25519. Read once at start-up.",
    ),
    SettingSpec("COMPANY_NAME", "Acme", "Company name shown on the portal and in emails."),
    SettingSpec(
        "UPLOAD_DIR", "<INSTANCE_DIR>/uploads", "Where resumes are stored, outside the web root."
    ),
    SettingSpec("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR."),
    SettingSpec(
        "WORKER_BATCH_SIZE",
        "100",
        "Outbox rows a sender worker claims at once. A worker killed mid-batch may "
        "send up to this many twice (their lease expires and another worker sends them).",
    ),
    SettingSpec(
        "SMTP_CONNECTIONS",
        "4",
        "SMTP connections each sender worker keeps open to the relay and sends over at once.",
    ),
    SettingSpec(
        "SEND_RATE",
        "0",
        "Most messages per second each sender worker hands to the relay; 0: no limit.",
    ),
    SettingSpec(
        "WORKER_POLL_SECONDS",
        "2",
        "How long an idle worker waits before looking for due mail again.",
    ),
    SettingSpec(
        "SCHEDULER_RELOAD_SECONDS",
        "60",
        "How often the scheduler re-reads alert schedules from the database.",
    ),
    SettingSpec(
        "MAIL_SINK_PORT", "0", "Port of the development mail sink on 127.0.0.1; 0 picks a free one."
    ),
    SettingSpec(
        "COMPANY_LOGO_URL",
        "",
        "URL of the company logo shown in the header; empty shows "
        "the first letter of COMPANY_NAME.",
    ),
    SettingSpec(
        "PRIVACY_URL",
        "",
        "https:// URL or /path of the company's privacy notice, linked from the connect "
        "form's review step; empty: no link.",
    ),
    SettingSpec(
        "BRAND_COLOR",
        "#0b3d91",
        "Primary colour of buttons and headers, as #rrggbb. "
        "Pick a dark enough colour for white text (WCAG AA).",
    ),
    SettingSpec(
        "TEXTS",
        "",
        "Overrides of button and link texts, as JSON or a TOML table, e.g. "
        '`{"connect_button": "Join our talent network"}`. Keys: '
        + ", ".join(
            f"`{k}`"
            for k in (
                "connect_button",
                "login_link",
                "continue_without",
                "show_details",
                "continue_button",
                "upload_button",
                "skip_link",
                "submit_button",
                "apply_button",
            )
        )
        + ".",
    ),
    SettingSpec(
        "REQUIRED_FIELDS",
        "first_name,last_name,email",
        "Profile fields the connect form "
        "requires (email always is). Any of first_name, last_name, email, phone, location, "
        "linkedin_url, github_url, portfolio_url.",
    ),
    SettingSpec("RESUME_STEP", "true", "Whether the connect flow shows the resume step."),
    SettingSpec(
        "DOUBLE_OPT_IN",
        "true",
        "Whether new job-alert subscriptions wait for a "
        "confirmation email (skipped when a social provider verified the address).",
    ),
    SettingSpec(
        "PHONE_DEFAULT_REGION",
        "US",
        "Region (ISO 3166 code) assumed for phone numbers written without a country code.",
    ),
    SettingSpec("MAX_UPLOAD_MB", "10", "Largest resume upload, in megabytes."),
    SettingSpec(
        "RESUME_PARSE_SECONDS",
        "5",
        "Wall-clock budget for reading one resume (in a separate process); a file that "
        "takes longer is refused and the process is killed.",
    ),
    SettingSpec(
        "RESUME_PARSE_MEMORY_MB",
        "256",
        "Address-space limit (`RLIMIT_AS`) of the process that reads one resume, "
        "interpreter included; a file that needs more is refused.",
    ),
    SettingSpec(
        "RESUME_PARSE_CONCURRENCY",
        "2",
        'Resumes read at once per web process; one more gets a 503 "try again in a few '
        'seconds" answer.',
    ),
    SettingSpec(
        "UPLOAD_VISITOR_MAX_FILES",
        "10",
        "Uploaded resumes one visitor (client IP) may have that no profile claimed yet; "
        "past it, uploads are refused until they are submitted or pruned.",
    ),
    SettingSpec(
        "UPLOAD_VISITOR_MAX_MB",
        "50",
        "Megabytes of unclaimed uploaded resumes one visitor (client IP) may have.",
    ),
    SettingSpec(
        "UPLOAD_UNCLAIMED_HOURS",
        "24",
        "Age after which an uploaded resume no profile claimed is deleted; the scheduler "
        "(`talentconnect run` or `scheduler`) prunes every hour.",
    ),
    SettingSpec(
        "REMOTE_FETCH_HOSTS",
        "www.googleapis.com,content.dropboxapi.com,dl.dropboxusercontent.com",
        "HTTPS hosts resumes may be imported from (Google "
        "Drive and Dropbox downloads); redirects must stay on this list.",
    ),
    SettingSpec(
        "GOOGLE_API_KEY",
        "",
        "Google Picker API key; with GOOGLE_CLIENT_ID, shows **Import from Google Drive**.",
    ),
    SettingSpec("GOOGLE_CLIENT_ID", "", "Google OAuth client id for the Drive picker."),
    SettingSpec("DROPBOX_APP_KEY", "", "Dropbox Chooser app key; shows **Import from Dropbox**."),
    SettingSpec(
        "OIDC_PROVIDERS",
        "",
        "Social login providers, as JSON or a TOML array of tables: "
        '`[{"name": "google", "client_id": "…", "client_secret": "…"}]`. Presets: google, '
        "linkedin, microsoft; any other needs `discovery_url` and `label`.",
    ),
    SettingSpec(
        "RATE_LIMIT_STORAGE_URL",
        "memory://",
        "Flask-Limiter storage; use `redis://host:6379/0` when several web processes run.",
    ),
    SettingSpec(
        "CONNECT_RATE_LIMIT",
        "20 per minute;200 per hour",
        "Form submissions allowed per client IP on the connect, login, preference and "
        "dashboard resume forms.",
    ),
    SettingSpec(
        "ADDRESS_MAIL_LIMIT",
        "5 per hour;10 per day",
        "Sign-in, preference-link and confirmation emails sent to one address, at most, "
        "counted together whoever asks for them; beyond it nothing is sent and the visitor "
        "sees the same page. Rates as in CONNECT_RATE_LIMIT.",
    ),
    SettingSpec(
        "API_RATE_LIMIT",
        "600 per minute",
        "Requests allowed to the `/api/v1` REST API per API token (each token counts "
        "alone); requests without a valid token count per client IP.",
    ),
    SettingSpec(
        "PROXY_HOPS",
        "0",
        "Reverse proxies in front of the app that append the client to `X-Forwarded-For`; "
        "the client IP (rate limits, consent records) is read that many entries from the "
        "right. 0 trusts no header. Set it only behind proxies that always set the header: "
        "otherwise a client can forge its address.",
    ),
)

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

_KNOWN = {s.name for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Validated settings for one process."""

    env: str
    instance_dir: Path
    database_url: str
    smtp_url: str
    secret_keys: tuple[str, ...]
    base_url: str
    mail_from: str
    postal_address: str
    company_name: str
    upload_dir: Path
    log_level: str
    worker_batch_size: int
    worker_poll_seconds: float
    smtp_connections: int
    send_rate: float
    scheduler_reload_seconds: int
    mail_sink_port: int
    company_logo_url: str = ""
    unsubscribe_mailbox: str = ""
    bounce_domain: str = ""
    bounce_score_threshold: float = 5.0
    bounce_stale_days: int = 7
    reputation_warn_percent: float = 2.0
    reputation_pause_percent: float = 5.0
    reputation_min_sample: int = 100
    privacy_url: str = ""
    brand_color: str = "#0b3d91"
    texts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TEXTS))
    required_fields: tuple[str, ...] = ("first_name", "last_name", "email")
    resume_step: bool = True
    double_opt_in: bool = True
    phone_default_region: str = "US"
    max_upload_mb: int = 10
    resume_parse_seconds: float = 5.0
    resume_parse_memory_mb: int = 256
    resume_parse_concurrency: int = 2
    upload_visitor_max_files: int = 10
    upload_visitor_max_mb: int = 50
    upload_unclaimed_hours: float = 24.0
    remote_fetch_hosts: tuple[str, ...] = ()
    google_api_key: str = ""
    google_client_id: str = ""
    dropbox_app_key: str = ""
    oidc_providers: tuple[OidcProviderConfig, ...] = ()
    rate_limit_storage_url: str = "memory://"
    connect_rate_limit: str = "20 per minute;200 per hour"
    address_mail_limit: str = "5 per hour;10 per day"
    api_rate_limit: str = "600 per minute"
    proxy_hops: int = 0
    uses_dev_secret: bool = False
    dkim: DkimSigner | None = None
    extra: dict[str, Any] = field(default_factory=dict)

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


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(PREFIX + name, f"{raw!r} must be true or false")


def _json(name: str, raw: str, kind: type) -> Any:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(PREFIX + name, f"is not valid JSON ({exc.msg})") from None
    if not isinstance(value, kind):
        raise ConfigError(PREFIX + name, f"must be a JSON {kind.__name__}")
    return value


def _texts(raw: str) -> dict[str, str]:
    texts = dict(DEFAULT_TEXTS)
    if not raw:
        return texts
    given = _json("TEXTS", raw, dict)
    for key, value in given.items():
        if key not in DEFAULT_TEXTS:
            raise ConfigError(PREFIX + "TEXTS", f"unknown text {key!r}")
        if not isinstance(value, str) or not value.strip() or len(value) > 80:
            raise ConfigError(PREFIX + "TEXTS", f"{key} must be 1 to 80 characters")
        texts[key] = value.strip()
    return texts


def _required_fields(raw: str) -> tuple[str, ...]:
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in PROFILE_FIELD_NAMES]
    if unknown:
        raise ConfigError(PREFIX + "REQUIRED_FIELDS", f"unknown field(s) {', '.join(unknown)}")
    if "email" not in names:
        names.append("email")
    return tuple(n for n in PROFILE_FIELD_NAMES if n in names)


def _region(raw: str) -> str:
    import phonenumbers

    region = raw.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(PREFIX + "PHONE_DEFAULT_REGION", f"{raw!r} is not a known region code")
    return region


def _oidc(raw: str) -> tuple[OidcProviderConfig, ...]:
    if not raw:
        return ()
    items = _json("OIDC_PROVIDERS", raw, list)
    try:
        return tuple(parse_provider_configs(items))
    except ValueError as exc:
        raise ConfigError(PREFIX + "OIDC_PROVIDERS", str(exc)) from None


def _int(name: str, raw: str, *, minimum: int, maximum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(PREFIX + name, f"{raw!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise ConfigError(PREFIX + name, f"{value} is not between {minimum} and {maximum}")
    return value


def _float(name: str, raw: str, *, minimum: float, maximum: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(PREFIX + name, f"{raw!r} is not a number") from None
    if not minimum <= value <= maximum:
        raise ConfigError(PREFIX + name, f"{value} is not between {minimum} and {maximum}")
    return value


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
    environment variables, then the TOML file, then defaults.
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
            raise ConfigError(key, "is not a Talent Connect setting (see the README)")
        raw[name] = value
    config_file = (overrides or {}).get("CONFIG_FILE") or raw.get("CONFIG_FILE", "")
    if config_file:
        raw = {**_read_toml(str(config_file)), **raw}
    for key, value in (overrides or {}).items():
        if key.upper() not in _KNOWN:
            raise ConfigError(PREFIX + key.upper(), "is not a Talent Connect setting")
        raw[key.upper()] = str(value) if not isinstance(value, str) else value

    def get(name: str) -> str:
        return raw.get(name, "").strip()

    env = get("ENV") or "development"
    if env not in ("development", "production"):
        raise ConfigError(PREFIX + "ENV", f"{env!r} must be development or production")
    production = env == "production"

    instance_dir = Path(get("INSTANCE_DIR") or "instance")

    database_url = get("DATABASE_URL") or f"sqlite:///{instance_dir / 'talentconnect.db'}"
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigError(PREFIX + "DATABASE_URL", "is not a database URL") from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(
            PREFIX + "DATABASE_URL",
            f"{backend!r} is not supported; use sqlite or postgresql+psycopg",
        )
    if backend == "postgresql" and url.get_driver_name() not in ("psycopg",):
        raise ConfigError(PREFIX + "DATABASE_URL", "use the psycopg driver: postgresql+psycopg://")

    smtp_url = get("SMTP_URL")
    if smtp_url:
        try:
            SmtpTarget.from_url(smtp_url)
        except ValueError as exc:
            raise ConfigError(PREFIX + "SMTP_URL", str(exc)) from None

    base_url = (get("BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(PREFIX + "BASE_URL", f"{base_url!r} must be an http(s) URL with a host")
    if parts.query or parts.fragment:
        raise ConfigError(PREFIX + "BASE_URL", "must not have a query or fragment")
    if production and parts.scheme != "https":
        raise ConfigError(PREFIX + "BASE_URL", "must use https in production")

    mail_from = _mail_from(get("MAIL_FROM") or "Acme Careers <careers@acme.example.com>")
    unsubscribe_mailbox = _unsubscribe_mailbox(get("UNSUBSCRIBE_MAILBOX"), mail_from)

    postal_address = get("POSTAL_ADDRESS")
    if production and not postal_address:
        raise ConfigError(PREFIX + "POSTAL_ADDRESS", "is required in production (CAN-SPAM)")
    if not postal_address:
        postal_address = "1 Example Street, Springfield (demo address)"

    keys_raw = get("SECRET_KEYS")
    uses_dev_secret = not keys_raw
    if keys_raw:
        keys = tuple(k.strip() for k in keys_raw.split(","))
        if any(not k for k in keys):
            raise ConfigError(PREFIX + "SECRET_KEYS", "has an empty key (check the commas)")
    else:
        if production:
            raise ConfigError(
                PREFIX + "SECRET_KEYS",
                "must be set in production; the generated development secret is refused",
            )
        keys = (_dev_secret(instance_dir),)
    if production:
        dev_file = instance_dir / DEV_SECRET_FILE
        if dev_file.exists() and dev_file.read_text(encoding="utf-8").strip() in keys:
            raise ConfigError(
                PREFIX + "SECRET_KEYS", "is the development secret; production needs its own keys"
            )
        if any(len(k) < MIN_SECRET_LENGTH for k in keys):
            raise ConfigError(
                PREFIX + "SECRET_KEYS", f"each key needs at least {MIN_SECRET_LENGTH} characters"
            )

    log_level = (get("LOG_LEVEL") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(
            PREFIX + "LOG_LEVEL", f"{log_level!r} must be DEBUG, INFO, WARNING or ERROR"
        )

    return Settings(
        env=env,
        instance_dir=instance_dir,
        database_url=database_url,
        smtp_url=smtp_url,
        secret_keys=keys,
        base_url=base_url,
        mail_from=mail_from,
        postal_address=postal_address,
        company_name=get("COMPANY_NAME") or "Acme",
        upload_dir=Path(get("UPLOAD_DIR") or instance_dir / "uploads"),
        log_level=log_level,
        worker_batch_size=_int(
            "WORKER_BATCH_SIZE", get("WORKER_BATCH_SIZE") or "100", minimum=1, maximum=10_000
        ),
        worker_poll_seconds=_float(
            "WORKER_POLL_SECONDS", get("WORKER_POLL_SECONDS") or "2", minimum=0.05, maximum=3600
        ),
        smtp_connections=_int(
            "SMTP_CONNECTIONS", get("SMTP_CONNECTIONS") or "4", minimum=1, maximum=64
        ),
        send_rate=_float("SEND_RATE", get("SEND_RATE") or "0", minimum=0, maximum=1_000_000),
        scheduler_reload_seconds=_int(
            "SCHEDULER_RELOAD_SECONDS",
            get("SCHEDULER_RELOAD_SECONDS") or "60",
            minimum=1,
            maximum=86_400,
        ),
        mail_sink_port=_int(
            "MAIL_SINK_PORT", get("MAIL_SINK_PORT") or "0", minimum=0, maximum=65_535
        ),
        company_logo_url=_logo(get("COMPANY_LOGO_URL")),
        unsubscribe_mailbox=unsubscribe_mailbox,
        bounce_domain=_bounce_domain(get("BOUNCE_DOMAIN"), mail_from),
        bounce_score_threshold=_float(
            "BOUNCE_SCORE_THRESHOLD",
            get("BOUNCE_SCORE_THRESHOLD") or "5",
            minimum=0.5,
            maximum=1000,
        ),
        bounce_stale_days=_int(
            "BOUNCE_STALE_DAYS", get("BOUNCE_STALE_DAYS") or "7", minimum=1, maximum=365
        ),
        reputation_warn_percent=_float(
            "REPUTATION_WARN_PERCENT", get("REPUTATION_WARN_PERCENT") or "2", minimum=0, maximum=100
        ),
        reputation_pause_percent=_float(
            "REPUTATION_PAUSE_PERCENT",
            get("REPUTATION_PAUSE_PERCENT") or "5",
            minimum=0,
            maximum=100,
        ),
        reputation_min_sample=_int(
            "REPUTATION_MIN_SAMPLE",
            get("REPUTATION_MIN_SAMPLE") or "100",
            minimum=1,
            maximum=1_000_000,
        ),
        privacy_url=_link("PRIVACY_URL", get("PRIVACY_URL")),
        brand_color=_color(get("BRAND_COLOR") or "#0b3d91"),
        texts=_texts(get("TEXTS")),
        required_fields=_required_fields(get("REQUIRED_FIELDS") or "first_name,last_name,email"),
        resume_step=_bool("RESUME_STEP", get("RESUME_STEP") or "true"),
        double_opt_in=_bool("DOUBLE_OPT_IN", get("DOUBLE_OPT_IN") or "true"),
        phone_default_region=_region(get("PHONE_DEFAULT_REGION") or "US"),
        max_upload_mb=_int("MAX_UPLOAD_MB", get("MAX_UPLOAD_MB") or "10", minimum=1, maximum=100),
        resume_parse_seconds=_float(
            "RESUME_PARSE_SECONDS", get("RESUME_PARSE_SECONDS") or "5", minimum=0.1, maximum=60
        ),
        resume_parse_memory_mb=_int(
            "RESUME_PARSE_MEMORY_MB",
            get("RESUME_PARSE_MEMORY_MB") or "256",
            minimum=64,
            maximum=16_384,
        ),
        resume_parse_concurrency=_int(
            "RESUME_PARSE_CONCURRENCY",
            get("RESUME_PARSE_CONCURRENCY") or "2",
            minimum=1,
            maximum=64,
        ),
        upload_visitor_max_files=_int(
            "UPLOAD_VISITOR_MAX_FILES",
            get("UPLOAD_VISITOR_MAX_FILES") or "10",
            minimum=1,
            maximum=10_000,
        ),
        upload_visitor_max_mb=_int(
            "UPLOAD_VISITOR_MAX_MB",
            get("UPLOAD_VISITOR_MAX_MB") or "50",
            minimum=1,
            maximum=100_000,
        ),
        upload_unclaimed_hours=_float(
            "UPLOAD_UNCLAIMED_HOURS",
            get("UPLOAD_UNCLAIMED_HOURS") or "24",
            minimum=0.1,
            maximum=24 * 365,
        ),
        remote_fetch_hosts=_hosts(
            get("REMOTE_FETCH_HOSTS")
            or "www.googleapis.com,content.dropboxapi.com,dl.dropboxusercontent.com"
        ),
        google_api_key=get("GOOGLE_API_KEY"),
        google_client_id=get("GOOGLE_CLIENT_ID"),
        dropbox_app_key=get("DROPBOX_APP_KEY"),
        oidc_providers=_oidc(get("OIDC_PROVIDERS")),
        rate_limit_storage_url=_storage(get("RATE_LIMIT_STORAGE_URL") or "memory://"),
        connect_rate_limit=_rate(
            "CONNECT_RATE_LIMIT", get("CONNECT_RATE_LIMIT") or "20 per minute;200 per hour"
        ),
        address_mail_limit=_rate(
            "ADDRESS_MAIL_LIMIT", get("ADDRESS_MAIL_LIMIT") or "5 per hour;10 per day"
        ),
        api_rate_limit=_rate("API_RATE_LIMIT", get("API_RATE_LIMIT") or "600 per minute"),
        proxy_hops=_int("PROXY_HOPS", get("PROXY_HOPS") or "0", minimum=0, maximum=5),
        uses_dev_secret=uses_dev_secret,
        dkim=_dkim(get("DKIM_DOMAIN"), get("DKIM_SELECTOR"), get("DKIM_KEY_FILE")),
    )


def _mail_from(raw: str) -> str:
    """The sender as `name <address>`, the name quoted where needed (RFC 6532 names welcome)."""
    try:
        name, spec = parse_mailbox(raw)
    except HeaderError:
        raise ConfigError(
            PREFIX + "MAIL_FROM",
            f"{raw!r} is not one address such as Acme Careers <careers@acme.example.com>",
        ) from None
    try:
        validate_email(spec, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ConfigError(PREFIX + "MAIL_FROM", f"{raw!r}: {exc}") from None
    # Quoted, so email-validator and email.utils read it back (an unquoted comma splits it).
    return format_mailbox(name, spec)


def _unsubscribe_mailbox(raw: str, mail_from: str) -> str:
    """A bare ASCII address (it goes into a mailto: URL and is matched at RCPT)."""
    name = PREFIX + "UNSUBSCRIBE_MAILBOX"
    sender = validate_email(
        mail_from, allow_display_name=True, check_deliverability=False, test_environment=True
    )
    value = raw or f"unsubscribe@{sender.ascii_domain}"
    try:
        mailbox = validate_email(
            value, allow_smtputf8=False, check_deliverability=False, test_environment=True
        )
    except EmailNotValidError as exc:
        raise ConfigError(name, f"{value!r}: {exc}") from None
    address = mailbox.ascii_email or mailbox.normalized
    # Every reply to the From address would otherwise be read as an unsubscribe request.
    if address.lower() in {sender.normalized.lower(), (sender.ascii_email or "").lower()}:
        raise ConfigError(name, "must differ from the MAIL_FROM address")
    return address


def _bounce_domain(raw: str, mail_from: str) -> str:
    """The ASCII (IDNA) domain of the VERP return path; MAIL_FROM's when not set."""
    if not raw:
        sender = validate_email(
            mail_from, allow_display_name=True, check_deliverability=False, test_environment=True
        )
        return sender.ascii_domain.lower()
    try:
        checked = validate_email(
            f"bounces@{raw.strip().rstrip('.')}",
            check_deliverability=False,
            test_environment=True,
        )
    except EmailNotValidError as exc:
        raise ConfigError(PREFIX + "BOUNCE_DOMAIN", f"{raw!r} is not a domain: {exc}") from None
    return checked.ascii_domain.lower()


def _link(name: str, raw: str) -> str:
    if raw and not (raw.startswith("https://") or raw.startswith("/")):
        raise ConfigError(PREFIX + name, "must be an https:// URL or a /path")
    return raw


def _logo(raw: str) -> str:
    return _link("COMPANY_LOGO_URL", raw)


def _color(raw: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", raw):
        raise ConfigError(PREFIX + "BRAND_COLOR", f"{raw!r} must look like #0b3d91")
    return raw.lower()


def _hosts(raw: str) -> tuple[str, ...]:
    hosts = tuple(h.strip().lower() for h in raw.split(",") if h.strip())
    for host in hosts:
        if not re.fullmatch(r"[a-z0-9.-]+(:[0-9]{1,5})?", host):
            raise ConfigError(PREFIX + "REMOTE_FETCH_HOSTS", f"{host!r} is not a host name")
    return hosts


def _storage(raw: str) -> str:
    scheme = raw.partition("://")[0]
    if scheme not in ("memory", "redis", "rediss", "redis+unix"):
        raise ConfigError(PREFIX + "RATE_LIMIT_STORAGE_URL", "must be memory:// or redis://…")
    return raw


def _rate(name: str, raw: str) -> str:
    """A Flask-Limiter rate string, checked at start-up.

    Flask-Limiter itself would only log a malformed limit, and then not apply it.
    """
    from limits import parse_many

    try:
        items = parse_many(raw)
    except ValueError as exc:
        raise ConfigError(
            PREFIX + name,
            f"{raw!r} is not a rate such as '600 per minute' or '20/minute;200/hour' ({exc})",
        ) from None
    if any(item.amount < 1 for item in items):
        raise ConfigError(PREFIX + name, f"{raw!r} allows no requests at all")
    return raw


def _dkim(domain: str, selector: str, key_file: str) -> DkimSigner | None:
    """The DKIM signer, with its key loaded once; None when no DKIM setting is given."""
    given = {"DKIM_DOMAIN": domain, "DKIM_SELECTOR": selector, "DKIM_KEY_FILE": key_file}
    if not any(given.values()):
        return None
    for name, value in given.items():
        if not value:
            raise ConfigError(
                PREFIX + name,
                "is not set; DKIM needs DKIM_DOMAIN, DKIM_SELECTOR and DKIM_KEY_FILE "
                "together (or none of them)",
            )
    # Imported here: only processes configured to sign load dkimpy.
    from mailer.dkim import DkimError, DkimSigner, check_dns_name, load_private_key

    for name, value, what in (
        ("DKIM_DOMAIN", domain, "domain"),
        ("DKIM_SELECTOR", selector, "selector"),
    ):
        try:
            check_dns_name(value, what)
        except DkimError as exc:
            raise ConfigError(PREFIX + name, str(exc)) from None
    try:
        key = load_private_key(Path(key_file))
    except DkimError as exc:
        raise ConfigError(PREFIX + "DKIM_KEY_FILE", str(exc)) from None
    return DkimSigner(domain=domain, selector=selector, key=key)
