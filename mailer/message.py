"""Building the bytes of one email."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, make_msgid

from preferences.clock import now


def needs_smtputf8(*addresses: str) -> bool:
    """Return whether any address has non-ASCII characters."""
    return any(not a.isascii() for a in addresses)


def build_message(
    *,
    from_addr: str,
    to_addr: str,
    subject: str,
    text: str,
    html: str,
    message_id_domain: str,
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    """Return a multipart/alternative message (text first, then HTML).

    `From`, `To`, `Subject`, `Date` and `Message-ID` are each set exactly once.
    """
    policy = SMTPUTF8 if needs_smtputf8(from_addr, to_addr) else SMTP
    msg = EmailMessage(policy=policy)
    msg["From"] = from_addr
    msg["To"] = to_addr
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now())
    msg["Message-ID"] = make_msgid(domain=message_id_domain)
    for name, value in (extra_headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg
