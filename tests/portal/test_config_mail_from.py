"""MAIL_FROM takes a display name as people write it: UTF-8 and specials without quotes."""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path

import pytest
from email_validator import validate_email

from portal.config import ConfigError, Settings, load_settings


def _load(tmp_path: Path, mail_from: str) -> Settings:
    return load_settings(
        environ={
            "TALENTCONNECT_INSTANCE_DIR": str(tmp_path / "instance"),
            "TALENTCONNECT_MAIL_FROM": mail_from,
        }
    )


@pytest.mark.parametrize(
    ("raw", "stored", "name"),
    [
        (
            "José Müller <careers@acme.example.com>",
            '"José Müller" <careers@acme.example.com>',
            "José Müller",
        ),
        (
            "Acme, Inc. <careers@acme.example.com>",
            '"Acme, Inc." <careers@acme.example.com>',
            "Acme, Inc.",
        ),
        (
            "José Müller,  Acme Inc.   <careers@acme.example.com>",
            '"José Müller, Acme Inc." <careers@acme.example.com>',
            "José Müller, Acme Inc.",
        ),
        (
            '"Acme, Inc." <careers@acme.example.com>',
            '"Acme, Inc." <careers@acme.example.com>',
            "Acme, Inc.",
        ),
        (
            "Acme Careers <careers@acme.example.com>",
            "Acme Careers <careers@acme.example.com>",
            "Acme Careers",
        ),
        ("careers@acme.example.com", "careers@acme.example.com", ""),
        ("Équipe <recrutement@exämple.test>", '"Équipe" <recrutement@exämple.test>', "Équipe"),
    ],
)
def test_display_names_are_accepted_and_quoted_as_needed(
    tmp_path: Path, raw: str, stored: str, name: str
) -> None:
    """An unquoted UTF-8 or comma-holding name is accepted and stored quoted, as parsers read it."""
    settings = _load(tmp_path, raw)
    assert settings.mail_from == stored
    assert parseaddr(settings.mail_from)[0] == name
    checked = validate_email(
        settings.mail_from,
        allow_display_name=True,
        check_deliverability=False,
        test_environment=True,
    )
    assert checked.display_name == (name or None)
    domain = checked.ascii_domain
    assert settings.unsubscribe_mailbox == f"unsubscribe@{domain}"
    assert settings.bounce_domain == domain
    assert settings.mail_settings().sending_domain == raw.rsplit("@", 1)[1].rstrip(">")


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("Acme <not an address>", "is not one address"),
        ("Acme, Inc.", "is not one address"),
        ("Acme <careers@acme>", "The part after the @-sign"),
        ("Acme\x00 <careers@acme.example.com>", "is not one address"),
        ("Acme <careers@acme.example.com>\r\nBcc: victim@example.com", "is not one address"),
    ],
)
def test_a_bad_mail_from_stops_start_up_naming_the_variable(
    tmp_path: Path, raw: str, says: str
) -> None:
    """Something that is not one address is refused with a message naming MAIL_FROM."""
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, raw)
    assert "TALENTCONNECT_MAIL_FROM" in str(info.value)
    assert says in str(info.value)
