"""Address normalization and the suppression hash."""

from __future__ import annotations

import hashlib
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preferences.addresses import address_hash, normalize_email
from preferences.errors import InvalidEmail, PreferencesError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ana@example.com", "ana@example.com"),
        ("Ana.Lopez@Example.COM", "ana.lopez@example.com"),
        ("  ana@example.com\t\n", "ana@example.com"),
        ("ANA+jobs@EXAMPLE.com", "ana+jobs@example.com"),
        ("josé@exämple.test", "josé@exämple.test"),
        ("JOSÉ@EXÄMPLE.TEST", "josé@exämple.test"),
        # Decomposed input (e + combining acute, a + combining diaeresis) comes out NFC.
        ("jose\u0301@exa\u0308mple.test", "jos\u00e9@ex\u00e4mple.test"),
        # A punycode domain is shown in its Unicode form, so both spellings agree.
        ("jose@xn--exmple-cua.test", "jose@exämple.test"),
    ],
)
def test_normalize_email_canonical_form(raw: str, expected: str) -> None:
    """normalize_email trims, lower-cases, NFC-normalizes and decodes IDNA domains."""
    result = normalize_email(raw)
    assert result == expected
    assert unicodedata.is_normalized("NFC", result)


def test_internationalized_address_is_kept_in_unicode() -> None:
    """An internationalized address is accepted and stays Unicode, not punycode."""
    result = normalize_email("josé@exämple.test")
    assert result == "jos\u00e9@ex\u00e4mple.test"
    assert not result.isascii()
    assert "xn--" not in result


@pytest.mark.parametrize(
    ("raw", "reason_part"),
    [
        ("", "the address is empty"),
        ("   ", "the address is empty"),
        ("ana", "must have an @-sign"),
        ("ana@", "There must be something after the @-sign"),
        ("@example.com", "There must be something before the @-sign"),
        ("ana@@example.com", "invalid characters"),
        ("ana@example", "It should have a period"),
        ("ana example@example.com", "invalid character"),
        ("ana..lopez@example.com", "two periods"),
        ("a" * 300 + "@example.com", "too long"),
        ("ana@" + "b" * 64 + ".com", "so many characters"),
    ],
)
def test_invalid_addresses_raise_with_a_reason(raw: str, reason_part: str) -> None:
    """An unusable address raises InvalidEmail carrying the address and a readable reason."""
    with pytest.raises(InvalidEmail) as caught:
        normalize_email(raw)
    assert caught.value.address == raw
    assert reason_part in caught.value.reason
    assert str(caught.value) == f"{raw!r} is not a valid email address: {caught.value.reason}"
    assert isinstance(caught.value, PreferencesError)


def test_address_hash_is_sha256_of_the_normalized_address() -> None:
    """address_hash is the SHA-256 hex digest of the normalized form."""
    expected = hashlib.sha256(b"ana@example.com").hexdigest()
    assert address_hash("ana@example.com") == expected
    assert len(expected) == 64


@pytest.mark.parametrize(
    "spelling",
    [
        "ana@example.com",
        "ANA@EXAMPLE.COM",
        " Ana@Example.com ",
    ],
)
def test_address_hash_same_for_equivalent_spellings(spelling: str) -> None:
    """Every spelling of one address hashes to the same digest."""
    assert address_hash(spelling) == address_hash("ana@example.com")


def test_address_hash_same_for_internationalized_spellings() -> None:
    """Composed, decomposed, upper-case and punycode spellings of an IDN address agree."""
    digests = {
        address_hash("josé@exämple.test"),
        address_hash("jose\u0301@exa\u0308mple.test"),
        address_hash("JOSÉ@EXÄMPLE.TEST"),
        address_hash("josé@xn--exmple-cua.test"),
    }
    assert digests == {hashlib.sha256("josé@exämple.test".encode()).hexdigest()}


def test_address_hash_differs_between_addresses() -> None:
    """Different addresses hash differently."""
    assert address_hash("ana@example.com") != address_hash("bob@example.com")


def test_address_hash_refuses_invalid_address() -> None:
    """An invalid address cannot be hashed (nothing could ever match it)."""
    with pytest.raises(InvalidEmail):
        address_hash("not an address")


_letters = st.characters(categories=("Lu", "Ll", "Nd"), codec="utf-8")
_local = st.text(_letters | st.sampled_from(".-_+"), min_size=1, max_size=70)
_label = st.text(_letters | st.just("-"), min_size=1, max_size=20)
_domain = st.lists(_label, min_size=1, max_size=3).map(lambda labels: ".".join([*labels, "test"]))
_padding = st.sampled_from(["", " ", "\t", "\n "])
_addresses = st.builds(
    lambda pad, local, domain: f"{pad}{local}@{domain}{pad}", _padding, _local, _domain
)


@settings(max_examples=300, deadline=None)
@given(_addresses)
def test_normalize_email_is_idempotent(raw: str) -> None:
    """Normalizing an accepted address again changes nothing, and its hash is stable."""
    try:
        once = normalize_email(raw)
    except InvalidEmail:
        return
    assert normalize_email(once) == once
    assert once == once.strip()
    assert unicodedata.is_normalized("NFC", once)
    assert address_hash(raw) == address_hash(once)


@settings(max_examples=200, deadline=None)
@given(st.emails())
def test_normalize_email_accepts_and_lowercases_plain_addresses(raw: str) -> None:
    """Every RFC 5322 address Hypothesis generates either normalizes to lower case or is refused."""
    try:
        result = normalize_email(raw)
    except InvalidEmail as exc:
        assert exc.reason
        return
    assert result == result.lower()
    assert result.count("@") == 1
