"""Relay URLs and sender identity."""

from __future__ import annotations

import dataclasses

import pytest

from mailer.config import MailSettings, SmtpTarget


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://localhost", SmtpTarget(host="localhost", port=25)),
        ("smtp://127.0.0.1:2525", SmtpTarget(host="127.0.0.1", port=2525)),
        ("  smtp://mail.example.com:587  ", SmtpTarget(host="mail.example.com", port=587)),
        (
            "smtp://user:secret@mail.example.com:587?starttls=true",
            SmtpTarget(
                host="mail.example.com",
                port=587,
                username="user",
                password="secret",
                start_tls=True,
            ),
        ),
        (
            "smtps://apikey:p%40ss%2Fw0rd@smtp.example.com",
            SmtpTarget(
                host="smtp.example.com",
                port=465,
                username="apikey",
                password="p@ss/w0rd",
                use_tls=True,
            ),
        ),
        (
            "smtp://mail.example.com?starttls=no&timeout=2.5",
            SmtpTarget(host="mail.example.com", port=25, timeout=2.5),
        ),
        ("smtp://[::1]:2525", SmtpTarget(host="::1", port=2525)),
        ("SMTP://Mail.Example.com:25", SmtpTarget(host="mail.example.com", port=25)),
    ],
)
def test_from_url_parses_good_urls(url: str, expected: SmtpTarget) -> None:
    """Good relay URLs give the expected host, port, credentials, TLS mode and timeout."""
    assert SmtpTarget.from_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example.com", "scheme must be smtp or smtps, not 'http'"),
        ("mail.example.com:25", "scheme must be smtp or smtps, not 'mail.example.com'"),
        ("//mail.example.com", "scheme must be smtp or smtps, not 'missing'"),
        ("", "scheme must be smtp or smtps, not 'missing'"),
        ("smtp://", "a host is required, as in smtp://mail.example.com:587"),
        ("smtp://:25", "a host is required"),
        ("smtp://mail.example.com:port", "the port is not a number between 1 and 65535"),
        ("smtp://mail.example.com:70000", "the port is not a number between 1 and 65535"),
        ("smtp://mail.example.com?tls=true", "unknown option(s) tls"),
        ("smtp://mail.example.com?b=1&a=2", "unknown option(s) a, b"),
        ("smtp://mail.example.com?starttls=maybe", "starttls='maybe' must be true or false"),
        ("smtps://mail.example.com?starttls=true", "smtps:// already uses TLS; drop starttls=true"),
        ("smtp://mail.example.com?timeout=soon", "timeout must be a number of seconds"),
        ("smtp://mail.example.com?timeout=0", "timeout must be positive"),
        ("smtp://mail.example.com?timeout=-3", "timeout must be positive"),
    ],
)
def test_from_url_rejects_bad_urls_clearly(url: str, message: str) -> None:
    """A bad relay URL raises ValueError saying what is wrong."""
    with pytest.raises(ValueError) as caught:
        SmtpTarget.from_url(url)
    assert message in str(caught.value)


def test_from_url_error_never_echoes_the_password() -> None:
    """An error about a URL with credentials does not repeat the password."""
    with pytest.raises(ValueError) as caught:
        SmtpTarget.from_url("smtp://user:hunter2@mail.example.com:99999")
    assert "hunter2" not in str(caught.value)


def test_smtp_target_is_immutable() -> None:
    """A parsed target cannot be changed afterwards."""
    target = SmtpTarget.from_url("smtp://localhost")
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.port = 26  # type: ignore[misc]


@pytest.mark.parametrize(
    ("mail_from", "domain"),
    [
        ("Acme Careers <careers@acme.example.com>", "acme.example.com"),
        ("careers@acme.example.com", "acme.example.com"),
        ("<careers@acme.example.com>", "acme.example.com"),
        ("Acme <jobs@mail.acme.example.com>", "mail.acme.example.com"),
        ("José <josé@exämple.test>", "exämple.test"),
    ],
)
def test_sending_domain_comes_from_the_from_address(mail_from: str, domain: str) -> None:
    """The Message-ID domain is the domain of the From address."""
    settings = MailSettings(
        mail_from=mail_from, company_name="Acme", base_url="https://x", postal_address="y"
    )
    assert settings.sending_domain == domain
