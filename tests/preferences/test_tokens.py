"""Signed links: purposes, tampering, key rotation, expiry, revocation, no email inside."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous.encoding import base64_decode
from sqlalchemy.orm import Session

from preferences.clock import FrozenClock, frozen
from preferences.models import Candidate, CandidateStatus
from preferences.tokens import (
    LIFETIMES,
    InvalidLink,
    LinkData,
    LinkExpired,
    LinkPurpose,
    candidate_for_link,
    make_link_token,
    read_link_token,
)

KEYS = ["current-signing-key-" + "c" * 24]
OLD_KEY = "previous-signing-key-" + "p" * 24
NEW_KEY = "next-signing-key-" + "n" * 24
DAY = 86400
# The characters of a token: URL-safe base64 plus the "." separator.
TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


def person(email: str = "ana.lovelace@example.com", version: int = 3) -> Candidate:
    """An unsaved candidate; signing reads only its public id and token version."""
    return Candidate(
        email=email, public_id="c0ffee00c0ffee00c0ffee00c0ffee00", token_version=version
    )


class SigningClock:
    """The frozen `preferences.clock`, moved in seconds: tokens are signed and aged by it."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock

    def advance(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))


@pytest.fixture
def signing_clock() -> Iterator[SigningClock]:
    """Freeze the clock tokens are stamped and checked with."""
    with frozen(datetime.fromtimestamp(1_800_000_000, UTC)) as clock:
        yield SigningClock(clock)


def payload_json(token: str) -> dict[str, object]:
    """Decode the (possibly compressed) payload segment of a token without verifying it."""
    compressed = token.startswith(".")
    segment = token.lstrip(".").split(".")[0]
    raw = base64_decode(segment)
    if compressed:
        raw = zlib.decompress(raw)
    loaded = json.loads(raw)
    assert isinstance(loaded, dict)
    return loaded


def test_a_token_reads_back_as_what_was_signed() -> None:
    """A fresh token verifies and names the candidate, its version and the extra data."""
    token = make_link_token(KEYS, LinkPurpose.ONE_CLICK, person(), l="interest:7")
    data = read_link_token(KEYS, LinkPurpose.ONE_CLICK, token)
    assert data == LinkData("c0ffee00c0ffee00c0ffee00c0ffee00", 3, {"l": "interest:7"})


@pytest.mark.parametrize("signed_for", list(LinkPurpose))
@pytest.mark.parametrize("read_as", list(LinkPurpose))
def test_a_token_is_rejected_for_any_other_purpose(
    signed_for: LinkPurpose, read_as: LinkPurpose
) -> None:
    """Each purpose has its own salt: a token only verifies for the purpose it was made for."""
    token = make_link_token(KEYS, signed_for, person())
    if signed_for is read_as:
        assert read_link_token(KEYS, read_as, token).public_id == person().public_id
    else:
        with pytest.raises(InvalidLink) as info:
            read_link_token(KEYS, read_as, token)
        assert not isinstance(info.value, LinkExpired)


def test_a_tampered_token_is_rejected() -> None:
    """Changing the payload, the signature or the key makes the token invalid."""
    token = make_link_token(KEYS, LinkPurpose.PREFERENCES, person())
    payload, stamp, signature = token.rsplit(".", 2)
    flipped = "A" if signature[0] != "A" else "B"
    forged_payload = make_link_token(KEYS, LinkPurpose.PREFERENCES, person(version=4))
    forged_payload = forged_payload.rsplit(".", 2)[0]
    for bad in (
        f"{payload}.{stamp}.{flipped}{signature[1:]}",
        f"{forged_payload}.{stamp}.{signature}",
        f"{payload}.{stamp}",
        "",
        "not-a-token",
        "x" * 3000,
    ):
        with pytest.raises(InvalidLink):
            read_link_token(KEYS, LinkPurpose.PREFERENCES, bad)
    with pytest.raises(InvalidLink):
        read_link_token(["some-other-key-" + "z" * 24], LinkPurpose.PREFERENCES, token)


def test_rotation_old_key_verifies_while_listed_and_not_after_removal() -> None:
    """A link signed with the previous key works while that key is listed after the new one."""
    old_token = make_link_token([OLD_KEY], LinkPurpose.PREFERENCES, person())
    rotated = [NEW_KEY, OLD_KEY]
    assert read_link_token(rotated, LinkPurpose.PREFERENCES, old_token).token_version == 3
    with pytest.raises(InvalidLink):
        read_link_token([NEW_KEY], LinkPurpose.PREFERENCES, old_token)


def test_rotation_the_newest_key_signs() -> None:
    """After rotation, new links are signed with the first key, so they survive dropping the old."""
    token = make_link_token([NEW_KEY, OLD_KEY], LinkPurpose.PREFERENCES, person())
    assert read_link_token([NEW_KEY], LinkPurpose.PREFERENCES, token).public_id
    with pytest.raises(InvalidLink):
        read_link_token([OLD_KEY], LinkPurpose.PREFERENCES, token)


def test_preference_and_unsubscribe_links_last_at_least_sixty_days() -> None:
    """CAN-SPAM needs 30 days; the design promises 60 or more, and login links 15 minutes."""
    assert LIFETIMES[LinkPurpose.PREFERENCES] >= 60 * DAY
    assert LIFETIMES[LinkPurpose.ONE_CLICK] >= 60 * DAY
    assert LIFETIMES[LinkPurpose.LOGIN] == 15 * 60


@pytest.mark.parametrize("purpose", [LinkPurpose.PREFERENCES, LinkPurpose.ONE_CLICK])
def test_a_link_is_valid_at_59_days_and_expires_just_after_its_lifetime(
    signing_clock: SigningClock, purpose: LinkPurpose
) -> None:
    """With a frozen clock: valid at 59 days and at the lifetime, expired one second later."""
    token = make_link_token(KEYS, purpose, person())
    signing_clock.advance(59 * DAY)
    assert read_link_token(KEYS, purpose, token).public_id == person().public_id
    signing_clock.advance(LIFETIMES[purpose] - 59 * DAY)
    assert read_link_token(KEYS, purpose, token).public_id == person().public_id
    signing_clock.advance(1)
    with pytest.raises(LinkExpired) as info:
        read_link_token(KEYS, purpose, token)
    # The expired page can offer a new link because the candidate is still known.
    assert info.value.public_id == person().public_id


def test_a_login_link_expires_after_fifteen_minutes(signing_clock: SigningClock) -> None:
    """Login links have the short lifetime."""
    token = make_link_token(KEYS, LinkPurpose.LOGIN, person())
    signing_clock.advance(15 * 60)
    read_link_token(KEYS, LinkPurpose.LOGIN, token)
    signing_clock.advance(1)
    with pytest.raises(LinkExpired):
        read_link_token(KEYS, LinkPurpose.LOGIN, token)


def test_an_expired_tampered_token_is_invalid_not_expired(signing_clock: SigningClock) -> None:
    """Age is only checked after the signature, so a forged old token is plain invalid."""
    token = make_link_token(KEYS, LinkPurpose.PREFERENCES, person())
    signing_clock.advance(LIFETIMES[LinkPurpose.PREFERENCES] + DAY)
    payload, stamp, signature = token.rsplit(".", 2)
    bad = f"{payload}.{stamp}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    with pytest.raises(InvalidLink) as info:
        read_link_token(KEYS, LinkPurpose.PREFERENCES, bad)
    assert not isinstance(info.value, LinkExpired)


def test_bumping_token_version_revokes_older_links(
    db_session: Session, candidate: Candidate
) -> None:
    """A link names a token version; once the candidate's version moves on, it stops working."""
    token = make_link_token(KEYS, LinkPurpose.PREFERENCES, candidate)
    data = read_link_token(KEYS, LinkPurpose.PREFERENCES, token)
    assert candidate_for_link(db_session, data) is candidate
    candidate.token_version += 1
    db_session.flush()
    with pytest.raises(InvalidLink):
        candidate_for_link(db_session, read_link_token(KEYS, LinkPurpose.PREFERENCES, token))
    fresh = make_link_token(KEYS, LinkPurpose.PREFERENCES, candidate)
    assert candidate_for_link(db_session, read_link_token(KEYS, LinkPurpose.PREFERENCES, fresh))


def test_a_deleted_candidates_links_stop_working(db_session: Session, candidate: Candidate) -> None:
    """An erased candidate's links verify cryptographically but name nobody usable."""
    token = make_link_token(KEYS, LinkPurpose.ONE_CLICK, candidate, l="mass_email")
    candidate.status = CandidateStatus.DELETED
    db_session.flush()
    with pytest.raises(InvalidLink):
        candidate_for_link(db_session, read_link_token(KEYS, LinkPurpose.ONE_CLICK, token))


@pytest.mark.parametrize("purpose", list(LinkPurpose))
def test_a_token_never_contains_the_email_address(purpose: LinkPurpose) -> None:
    """The decoded payload holds the public id and version, never the address."""
    email = "ana.lovelace@example.com"
    token = make_link_token(KEYS, purpose, person(email), l="interest:1")
    payload = payload_json(token)
    assert payload == {"c": person().public_id, "v": 3, "x": {"l": "interest:1"}}
    assert email not in json.dumps(payload)
    assert "ana.lovelace" not in token and "example" not in token


# Signed with the real clock once; every mutation below is read well within its lifetime.
VALID_TOKEN = make_link_token(KEYS, LinkPurpose.ONE_CLICK, person(), l="interest:42")
VALID_DATA = read_link_token(KEYS, LinkPurpose.ONE_CLICK, VALID_TOKEN)


@st.composite
def mutations(draw: st.DrawFn) -> str:
    """A valid token with one character substituted, inserted or deleted, or truncated."""
    token = VALID_TOKEN
    kind = draw(st.sampled_from(["substitute", "insert", "delete", "truncate"]))
    if kind == "truncate":
        return token[: draw(st.integers(0, len(token) - 1))]
    char = draw(st.sampled_from(TOKEN_ALPHABET))
    if kind == "insert":
        at = draw(st.integers(0, len(token)))
        return token[:at] + char + token[at:]
    at = draw(st.integers(0, len(token) - 1))
    if kind == "delete":
        return token[:at] + token[at + 1 :]
    return token[:at] + char + token[at + 1 :]


@given(mutations())
def test_no_mutation_of_a_valid_token_is_accepted(mutated: str) -> None:
    """Any edit is rejected, unless base64 slack makes it decode to exactly the same data."""
    try:
        data = read_link_token(KEYS, LinkPurpose.ONE_CLICK, mutated)
    except InvalidLink:
        return
    assert data == VALID_DATA


def test_link_expiry_follows_the_frozen_clock_not_the_wall_clock() -> None:
    """A link signed under a frozen clock is aged by that clock alone: decades of wall time
    since its date change nothing, and moving the clock past its lifetime expires it."""
    long_ago = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
    with frozen(long_ago) as clock:
        login = make_link_token(KEYS, LinkPurpose.LOGIN, person())
        preferences = make_link_token(KEYS, LinkPurpose.PREFERENCES, person())
        clock.advance(timedelta(seconds=LIFETIMES[LinkPurpose.LOGIN]))
        assert read_link_token(KEYS, LinkPurpose.LOGIN, login).public_id == person().public_id
        clock.advance(timedelta(seconds=1))
        with pytest.raises(LinkExpired):
            read_link_token(KEYS, LinkPurpose.LOGIN, login)
        assert read_link_token(KEYS, LinkPurpose.PREFERENCES, preferences).token_version == 3
    # Back on the real clock, the 2001 stamp is decades old.
    with pytest.raises(LinkExpired):
        read_link_token(KEYS, LinkPurpose.PREFERENCES, preferences)


def test_a_token_signed_after_the_clocks_now_is_expired_not_accepted(
    signing_clock: SigningClock,
) -> None:
    """A genuine token stamped later than `now()` (a clock set back, or another machine's
    clock ahead) is refused as expired, naming its candidate so a new link can be sent;
    once the clock reaches its stamp it works."""
    signing_clock.advance(60)
    token = make_link_token(KEYS, LinkPurpose.PREFERENCES, person())
    signing_clock.advance(-60)
    with pytest.raises(LinkExpired) as info:
        read_link_token(KEYS, LinkPurpose.PREFERENCES, token)
    assert info.value.public_id == person().public_id
    signing_clock.advance(60)
    assert read_link_token(KEYS, LinkPurpose.PREFERENCES, token).public_id == person().public_id


def test_a_custom_lifetime_replaces_the_purposes(signing_clock: SigningClock) -> None:
    """`lifetime=` (the Undo token's 30 days) ages a token instead of the purpose's 90."""
    token = make_link_token(KEYS, LinkPurpose.PREFERENCES, person())
    signing_clock.advance(30 * DAY)
    read_link_token(KEYS, LinkPurpose.PREFERENCES, token, lifetime=30 * DAY)
    signing_clock.advance(1)
    with pytest.raises(LinkExpired):
        read_link_token(KEYS, LinkPurpose.PREFERENCES, token, lifetime=30 * DAY)
    assert read_link_token(KEYS, LinkPurpose.PREFERENCES, token).public_id
