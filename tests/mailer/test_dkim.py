"""DKIM signing: dkimpy verifies what we sign, tampering breaks it, and the relay gets those bytes.

dkimpy's `verify` is the independent check. Its `dnsfunc` hook serves the
public key record, so no DNS is involved.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import SmtpTarget
from mailer.dkim import (
    DkimError,
    DkimSigner,
    PrivateKey,
    _relaxed_body,
    check_dns_name,
    load_private_key,
    private_key_from_pem,
)
from mailer.message import build_message_bytes, uri_list
from mailer.models import MessageKind
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from preferences.clock import FrozenClock
from preferences.models import MassEmail

from .support import SETTINGS, T0, add_candidate, queue

DOMAIN = "acme.example.com"
SELECTOR = "tc2026"
KEYS = ("dkim-test-key-" + "k" * 30,)
HTTPS = "https://careers.acme.example.com/unsubscribe/" + "t" * 120
MAILTO = "mailto:unsubscribe@acme.example.com?subject=unsubscribe%20" + "t" * 120


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(params=["rsa", "ed25519"])
def signer(
    request: pytest.FixtureRequest,
    rsa_key: rsa.RSAPrivateKey,
    ed25519_key: ed25519.Ed25519PrivateKey,
) -> DkimSigner:
    """A signer with an RSA-2048 key, then with an Ed25519 key."""
    key: PrivateKey = rsa_key if request.param == "rsa" else ed25519_key
    return DkimSigner(domain=DOMAIN, selector=SELECTOR, key=key)


def dns_for(signer: DkimSigner) -> Callable[..., bytes | None]:
    """A dkimpy dnsfunc that knows only this signer's TXT record."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        if name == f"{signer.dns_name}.".encode():
            return signer.dns_record().encode()
        return None

    return lookup


def verifies(data: bytes, signer: DkimSigner) -> bool:
    return bool(dkim.verify(data, dnsfunc=dns_for(signer)))


def bulk_message(to: str = "ana@example.com", subject: str = "New jobs for you") -> bytes:
    return build_message_bytes(
        from_addr="Acme Careers <careers@acme.example.com>",
        to_addr=to,
        subject=subject,
        text="Hi Ana,\n\nThree new jobs match Data Science.\n",
        html="<p>Hi Ana,</p><p>Three new jobs match <b>Data Science</b>.</p>",
        message_id_domain=DOMAIN,
        extra_headers={
            "List-Id": "Acme mass-email <mass-email.acme.example.com>",
            "List-Unsubscribe": uri_list([HTTPS, MAILTO]),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    ).data


def signature_tags(data: bytes) -> dict[str, str]:
    """The tags of the DKIM-Signature field at the top of `data`, white space removed."""
    assert data.startswith(b"DKIM-Signature:")
    field = re.match(rb"DKIM-Signature:(.*?)\r\n(?![ \t])", data, re.S)
    assert field is not None
    value = re.sub(r"\s+", "", field.group(1).decode("ascii"))
    return dict(tag.split("=", 1) for tag in value.split(";") if tag)


def test_signature_verifies_with_dkimpy(signer: DkimSigner, clock: FrozenClock) -> None:
    """A signed bulk message verifies with dkimpy against the published public key."""
    signed = signer.sign(bulk_message())
    assert verifies(signed, signer)


def test_altered_list_unsubscribe_fails_verification(
    signer: DkimSigner, clock: FrozenClock
) -> None:
    """Changing one character of List-Unsubscribe breaks the signature."""
    signed = signer.sign(bulk_message())
    tampered = signed.replace(b"/unsubscribe/ttt", b"/unsubscribe/ttx", 1)
    assert tampered != signed
    assert not verifies(tampered, signer)


def test_added_second_list_unsubscribe_fails_verification(
    signer: DkimSigner, clock: FrozenClock
) -> None:
    """A second List-Unsubscribe added on the way breaks the signature (the name is oversigned)."""
    signed = signer.sign(bulk_message())
    # Above the original: a verifier that signed the name once would check only the
    # lowest copy and pass, while a mail client may well show the top one.
    evil = b"List-Unsubscribe: <https://evil.example/u>\r\n"
    tampered = signed.replace(b"\r\nFrom: ", b"\r\n" + evil + b"From: ", 1)
    assert tampered != signed
    assert not verifies(tampered, signer)


def test_altered_body_fails_verification(signer: DkimSigner, clock: FrozenClock) -> None:
    """Changing the body breaks the body hash."""
    signed = signer.sign(bulk_message())
    head, body = signed.split(b"\r\n\r\n", 1)
    assert not verifies(head + b"\r\n\r\n" + body.replace(b"SGkg", b"SGKg", 1), signer)


def test_signature_tags(signer: DkimSigner, clock: FrozenClock) -> None:
    """The field names the algorithm, relaxed/relaxed, domain, selector, now() and every header."""
    tags = signature_tags(signer.sign(bulk_message()))
    assert tags["v"] == "1"
    assert tags["a"] == signer.algorithm
    assert tags["c"] == "relaxed/relaxed"
    assert (tags["d"], tags["s"]) == (DOMAIN, SELECTOR)
    assert int(tags["t"]) == int(T0.timestamp())
    signed = tags["h"].split(":")
    required = [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "list-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ]
    assert signed == required + required


def test_transactional_mail_signs_only_the_headers_it_has(
    signer: DkimSigner, clock: FrozenClock
) -> None:
    """Without list headers, h= lists only the headers present, and the signature verifies."""
    data = build_message_bytes(
        from_addr="Acme Careers <careers@acme.example.com>",
        to_addr="ana@example.com",
        subject="Your login link",
        text="Log in\n",
        html="<p>Log in</p>",
        message_id_domain=DOMAIN,
    ).data
    signed = signer.sign(data)
    assert "list-unsubscribe" not in signature_tags(signed)["h"]
    assert verifies(signed, signer)


def test_signature_field_is_folded_into_short_lines(signer: DkimSigner, clock: FrozenClock) -> None:
    """The DKIM-Signature field is folded so no line passes 78 characters."""
    signed = signer.sign(bulk_message())
    field = signed.split(b"\r\nFrom:", 1)[0]
    assert field.count(b"\r\n\t") >= 3
    assert all(len(line) <= 78 for line in field.split(b"\r\n"))


def test_signing_prepends_and_changes_nothing_else(signer: DkimSigner, clock: FrozenClock) -> None:
    """sign() returns the DKIM-Signature field followed by exactly the bytes it was given."""
    data = bulk_message()
    signed = signer.sign(data)
    assert signed.endswith(data)
    assert signed[: -len(data)].startswith(b"DKIM-Signature: v=1;")
    assert signed[: -len(data)].endswith(b"\r\n")


def test_a_message_vouched_crlf_signs_the_same(signer: DkimSigner, clock: FrozenClock) -> None:
    """Signing a built message without counting its line ends (`crlf=True`, as the worker
    does) gives the same signature, and it verifies."""
    data = bulk_message()
    assert signer.sign(data, crlf=True) == signer.sign(data)
    assert verifies(signer.sign(data, crlf=True), signer)


def test_utf8_headers_sign_and_verify(signer: DkimSigner, clock: FrozenClock) -> None:
    """A message for an internationalized recipient (raw UTF-8 headers) signs and verifies."""
    signed = signer.sign(bulk_message(to="josé@exämple.test", subject="Grüße, José"))
    assert "To: josé@exämple.test".encode() in signed
    assert verifies(signed, signer)


@pytest.mark.parametrize(
    "body",
    [
        b"Hello  world \t\r\nsecond line\t\r\n\r\n\r\n",
        b"",
        b"\r\n",
        b"no final line break",
        b"tab\there\r\n",
    ],
    ids=["white-space", "empty", "blank-line", "no-final-crlf", "tab"],
)
def test_bodies_that_need_canonicalizing_still_verify(
    signer: DkimSigner, clock: FrozenClock, body: bytes
) -> None:
    """A hand-made body with runs of white space or trailing blank lines signs correctly."""
    data = (
        b"From: careers@acme.example.com\r\nTo: ana@example.com\r\n"
        b"Subject:   spaced   out  \r\n\r\n" + body
    )
    assert verifies(signer.sign(data), signer)


def test_the_quick_body_check_gives_dkimpys_canonical_body() -> None:
    """The body taken as canonical without dkimpy is exactly what dkimpy makes of it, for
    bodies with spaces before spaces, CR, lone CR and text, with few and many spaces."""
    rng = random.Random(19)
    pieces = [b" ", b"  ", b"\r\n", b"\r", b"\n", b"\t", b"a", b"QUJD", b"x y", b" \r\n"]
    for size in (1, 3, 8, 40, 120):
        for _ in range(300):
            body = b"".join(rng.choice(pieces) for _ in range(size)) + rng.choice(
                [b"\r\n", b"", b"\r\n\r\n"]
            )
            expected = dkim.canonicalization.CanonicalizationPolicy.from_c_value(
                b"relaxed/relaxed"
            ).canonicalize_body(body)
            assert _relaxed_body(body) == expected, body
    base64_body = b'Content-Type: text/plain; charset="utf-8"\r\n\r\nQUJD\r\n'
    assert _relaxed_body(base64_body) is base64_body


def test_bare_lf_message_still_verifies(signer: DkimSigner, clock: FrozenClock) -> None:
    """A message with LF line ends is canonicalized by dkimpy and verifies as CRLF."""
    data = b"From: careers@acme.example.com\nSubject: hi\n\nline one \nline two\n\n"
    signed = signer.sign(data)
    assert verifies(signed, signer)
    assert verifies(signed.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), signer)


def test_message_without_from_is_refused(signer: DkimSigner) -> None:
    """DKIM must sign From, so a message without one is refused."""
    with pytest.raises(DkimError, match="From"):
        signer.sign(b"Subject: hi\r\n\r\nbody\r\n")


def test_dns_records(rsa_key: rsa.RSAPrivateKey, ed25519_key: ed25519.Ed25519PrivateKey) -> None:
    """The TXT record names the key type and carries the public key in base64."""
    rsa_signer = DkimSigner(domain=DOMAIN, selector=SELECTOR, key=rsa_key)
    ed_signer = DkimSigner(domain=DOMAIN, selector=SELECTOR, key=ed25519_key)
    assert rsa_signer.dns_name == f"{SELECTOR}._domainkey.{DOMAIN}"
    assert rsa_signer.dns_record().startswith("v=DKIM1; k=rsa; p=MIIBIjAN")
    assert re.fullmatch(r"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=", ed_signer.dns_record())
    # The private key stays out of logs and tracebacks.
    assert repr(rsa_signer) == f"DkimSigner(domain='{DOMAIN}', selector='{SELECTOR}')"


def pem(key: PrivateKey | ec.EllipticCurvePrivateKey, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def test_keys_load_from_pem_files(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, ed25519_key: ed25519.Ed25519PrivateKey
) -> None:
    """PKCS#8 and PKCS#1 RSA keys and PKCS#8 Ed25519 keys load from PEM files."""
    pkcs1 = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    for name, data in (
        ("rsa8.pem", pem(rsa_key)),
        ("rsa1.pem", pkcs1),
        ("ed.pem", pem(ed25519_key)),
    ):
        (tmp_path / name).write_bytes(data)
        key = load_private_key(tmp_path / name)
        assert isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey)


def test_unusable_keys_are_refused(tmp_path: Path) -> None:
    """A short RSA key, an EC key, an encrypted key, garbage or a missing file is refused."""
    # The weak key is the point: it must be refused.
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    with pytest.raises(DkimError, match="1024-bit RSA key; DKIM needs at least 2048"):
        private_key_from_pem(pem(short))
    with pytest.raises(DkimError, match="neither an RSA nor an Ed25519 key"):
        private_key_from_pem(pem(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(DkimError, match="encrypted"):
        private_key_from_pem(pem(ed25519.Ed25519PrivateKey.generate(), b"secret"))
    with pytest.raises(DkimError, match="not a PEM private key"):
        private_key_from_pem(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(DkimError, match="cannot read"):
        load_private_key(tmp_path / "missing.pem")


@pytest.mark.parametrize("name", ["", "acme..example", "-acme.example", "exämple.test", "a b"])
def test_bad_dns_names_are_refused(name: str) -> None:
    """Domains and selectors must be ASCII DNS names."""
    with pytest.raises(DkimError):
        check_dns_name(name, "domain")


def test_worker_sends_exactly_the_signed_bytes(
    sessions: sessionmaker[Session], smtp_server: MailSink, signer: DkimSigner
) -> None:
    """Through the worker, what the SMTP server receives carries a signature that verifies."""
    ana = add_candidate(sessions, "ana@example.com", mass_email=MassEmail.OPTED_IN)
    queue(sessions, "ana@example.com", "campaign", kind=MessageKind.CAMPAIGN, candidate_id=ana)
    queue(sessions, "ana@example.com", "welcome", candidate_id=ana)
    settings = dataclasses.replace(SETTINGS, secret_keys=KEYS, dkim=signer)
    worker = OutboxWorker(
        sessions,
        lambda: SmtpSender(SmtpTarget(host=smtp_server.host, port=smtp_server.port, timeout=5)),
        settings,
        lease=timedelta(minutes=5),
    )
    assert worker.run_once().sent == 2
    assert isinstance(smtp_server.store, MemoryStore)
    received = smtp_server.store.wait_for(2)
    for item in received:
        assert item.data.startswith(b"DKIM-Signature: v=1;")
        assert verifies(item.data, signer)
    (campaign,) = [m for m in received if m.parsed()["List-Unsubscribe"] is not None]
    assert "list-unsubscribe" in signature_tags(campaign.data)["h"].split(":")
    tampered = re.sub(rb"(/unsubscribe/[^>]*?)[A-Za-z0-9](>)", rb"\1_\2", campaign.data, count=1)
    assert tampered != campaign.data
    assert not verifies(tampered, signer)
