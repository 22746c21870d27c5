"""What the mailer needs to know: the relay and the sender identity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    # Only for the annotation: importing dkimpy is left to processes that sign.
    from mailer.dkim import DkimSigner

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(query: dict[str, list[str]], name: str, default: bool) -> bool:
    values = query.get(name)
    if not values:
        return default
    value = values[-1].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={values[-1]!r} must be true or false")


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to hand mail to the relay."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool = False
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        """Parse `smtp://user:pass@host:587?starttls=true` (or `smtps://` for implicit TLS)."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"scheme must be smtp or smtps, not {parts.scheme or 'missing'!r}")
        if not parts.hostname:
            raise ValueError("a host is required, as in smtp://mail.example.com:587")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"the port is not a number between 1 and 65535 ({exc})") from None
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = set(query) - {"starttls", "timeout"}
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))}")
        use_tls = parts.scheme == "smtps"
        start_tls = _flag(query, "starttls", default=False)
        if use_tls and start_tls:
            raise ValueError("smtps:// already uses TLS; drop starttls=true")
        timeout = 30.0
        if "timeout" in query:
            try:
                timeout = float(query["timeout"][-1])
            except ValueError:
                raise ValueError("timeout must be a number of seconds") from None
            if timeout <= 0:
                raise ValueError("timeout must be positive")
        return cls(
            host=parts.hostname,
            port=port or (465 if use_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            start_tls=start_tls,
            timeout=timeout,
        )


@dataclass(frozen=True)
class MailSettings:
    """Sender identity and footer facts that every message needs."""

    mail_from: str
    company_name: str
    base_url: str
    postal_address: str
    # Signing keys for unsubscribe and preference links (newest first); none: no links.
    secret_keys: tuple[str, ...] = ()
    # Where unsubscribe requests by email go (the mailto: of List-Unsubscribe); empty:
    # unsubscribe@ the sending domain.
    unsubscribe_mailbox: str = ""
    # Domain of the VERP return path (bounces+<token>@…); empty: the sending domain.
    bounce_domain: str = ""
    # Soft-bounce scoring (mailer.bounces): the score that suppresses an address, and
    # how many days without a bounce start the score afresh.
    bounce_score_threshold: float = 5.0
    bounce_stale_days: int = 7
    # The sender-reputation alarm (mailer.reputation): the share of policy rejections
    # (percent of the messages a send handed to the relay) that logs a warning, and
    # that pauses a campaign; 0 turns either off. Neither is judged before a send has
    # handed `reputation_min_sample` messages to the relay.
    reputation_warn_percent: float = 2.0
    reputation_pause_percent: float = 5.0
    reputation_min_sample: int = 100
    # The languages mail is written in (SUPPORTED_LOCALES): a candidate's other locale,
    # or one without a catalog, gets English (mailer.i18n).
    locales: tuple[str, ...] = ("en", "es", "de", "fr", "ar")
    # The company's language (DEFAULT_LOCALE): what a job posting without a language of
    # its own is written in.
    default_locale: str = "en"
    # Signs every message when DKIM_DOMAIN, DKIM_SELECTOR and DKIM_KEY_FILE are set.
    dkim: DkimSigner | None = None

    def base_context(self, first_name: str = "") -> dict[str, Any]:
        """What every template may use: company, portal, postal address, reader's name."""
        return {
            "company_name": self.company_name,
            "base_url": self.base_url,
            "postal_address": self.postal_address,
            "first_name": first_name,
        }

    @property
    def return_path_domain(self) -> str:
        """The domain bounces come back to: BOUNCE_DOMAIN, else the sending domain."""
        return self.bounce_domain or self.sending_domain

    @property
    def sending_domain(self) -> str:
        """The domain of the From address, used for Message-ID."""
        address = self.mail_from.rsplit("<", 1)[-1].rstrip(">").strip()
        return address.rpartition("@")[2] or "localhost"

    @property
    def unsubscribe_address(self) -> str:
        """The mailbox of the mailto: unsubscribe link."""
        return self.unsubscribe_mailbox or f"unsubscribe@{self.sending_domain}"
