"""Webhook signing secrets at rest: sealed under SECRET_KEYS, re-sealed on key rotation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from portal.cli.main import cli
from portal.webhooks.models import WebhookEndpoint, WebhookSecret
from portal.webhooks.sealing import (
    SEALED_PREFIX,
    SealReport,
    SecretSeal,
    SecretUnreadable,
    seal_stored_secrets,
)
from portal.webhooks.signing import new_secret
from preferences.clock import FrozenClock
from preferences.db import make_engine, make_session_factory, session_scope
from tests.conftest import TEST_SEAL, TEST_SECRET
from tests.portal.webhooks.conftest import Hooks

OLD_KEY = "old-secret-key-" + "o" * 32
NEW_KEY = "new-secret-key-" + "n" * 32
GONE_KEY = "gone-secret-key-" + "g" * 32


def _stored(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(WebhookSecret.sealed).order_by(WebhookSecret.id)))


def test_a_sealed_secret_holds_neither_the_secret_nor_its_key() -> None:
    """What is stored opens to the secret, and shows nothing of it; each sealing differs."""
    secret = new_secret()
    sealed = TEST_SEAL.seal(secret)
    assert sealed.startswith(SEALED_PREFIX)
    assert secret not in sealed and secret.removeprefix("whsec_") not in sealed
    assert TEST_SEAL.seal(secret) != sealed
    assert TEST_SEAL.unseal(sealed) == secret
    assert TEST_SEAL.is_current(sealed)


def test_a_new_first_key_still_opens_what_the_old_one_sealed() -> None:
    """Rotation as for links: [new, old] opens both; [new] alone opens only its own."""
    secret = new_secret()
    by_old = SecretSeal([OLD_KEY]).seal(secret)
    both = SecretSeal([NEW_KEY, OLD_KEY])
    assert both.unseal(by_old) == secret
    assert not both.is_current(by_old)
    by_new = both.seal(secret)
    assert both.is_current(by_new)
    assert SecretSeal([NEW_KEY]).unseal(by_new) == secret
    with pytest.raises(SecretUnreadable, match="TALENTCONNECT_SECRET_KEYS"):
        SecretSeal([NEW_KEY]).unseal(by_old)


@pytest.mark.parametrize(
    "stored",
    [
        "sealed:v1:gAAAAABnot-a-token",
        "sealed:v1:",
        "sealed:v1:\u00e9t\u00e9",
        "plain words",
        "",
    ],
    ids=["garbage-token", "empty-token", "not-ascii", "no-prefix", "empty"],
)
def test_a_damaged_stored_value_is_unreadable_not_a_crash(stored: str) -> None:
    with pytest.raises(SecretUnreadable):
        TEST_SEAL.unseal(stored)
    assert not TEST_SEAL.is_current(stored)


def test_a_tampered_sealed_secret_is_refused() -> None:
    """Fernet's HMAC: one changed character and the value no longer opens."""
    sealed = TEST_SEAL.seal(new_secret())
    at = len(SEALED_PREFIX) + 20
    tampered = sealed[:at] + ("A" if sealed[at] != "A" else "B") + sealed[at + 1 :]
    with pytest.raises(SecretUnreadable):
        TEST_SEAL.unseal(tampered)


def test_sealing_needs_a_key() -> None:
    with pytest.raises(ValueError, match="SECRET_KEYS"):
        SecretSeal([])


def test_seal_stored_secrets_seals_plain_and_old_ones_and_leaves_unreadable_ones(
    hooks: Hooks,
) -> None:
    """Plain (an earlier release's) and older-key secrets are sealed under the first key;
    one no key opens is left as it is and counted; a second run has nothing to do."""
    plain = hooks.endpoint()
    under_old = hooks.endpoint()
    lost = hooks.endpoint()
    secret_of_old = new_secret()
    with session_scope(hooks.sessions) as session:
        session.execute(
            update(WebhookSecret)
            .where(WebhookSecret.endpoint_id == plain.id)
            .values(sealed=plain.secret)
        )
        session.execute(
            update(WebhookSecret)
            .where(WebhookSecret.endpoint_id == under_old.id)
            .values(sealed=SecretSeal([OLD_KEY]).seal(secret_of_old))
        )
        session.execute(
            update(WebhookSecret)
            .where(WebhookSecret.endpoint_id == lost.id)
            .values(sealed=SecretSeal([GONE_KEY]).seal(new_secret()))
        )
    lost_before = _stored(hooks.sessions)[2]
    seal = SecretSeal([TEST_SECRET, OLD_KEY])
    report = seal_stored_secrets(hooks.sessions, seal)
    assert report == SealReport(sealed=2, current=0, unreadable=1)
    first, second, third = _stored(hooks.sessions)
    only_first = SecretSeal([TEST_SECRET])
    assert only_first.unseal(first) == plain.secret
    assert only_first.unseal(second) == secret_of_old
    assert third == lost_before
    assert seal_stored_secrets(hooks.sessions, seal) == SealReport(
        sealed=0, current=2, unreadable=1
    )


def test_an_endpoint_whose_secret_no_key_opens_fails_its_deliveries_and_others_go_on(
    hooks: Hooks, clock: FrozenClock
) -> None:
    """No request goes out unsigned: the delivery fails with the reason and is retried;
    the batch's other endpoint gets its event, signed as usual. With the key back, the
    retry goes out."""
    good = hooks.endpoint()
    lost = hooks.endpoint(url=hooks.receiver.url + "/lost")
    with session_scope(hooks.sessions) as session:
        session.execute(
            update(WebhookSecret)
            .where(WebhookSecret.endpoint_id == lost.id)
            .values(sealed=SecretSeal([GONE_KEY]).seal(lost.secret))
        )
    hooks.event(candidate="c1")
    result = hooks.drain()
    assert (result.delivered, result.retried, result.failed) == (1, 1, 0), result
    [received] = hooks.receiver.received
    assert not received.path.endswith("/lost")
    assert received.verified_by == [good.secret]
    [failed] = [a for a in hooks.attempts() if not a.succeeded]
    assert failed.endpoint_id == lost.id and failed.status_code is None
    assert (failed.error or "").startswith("not sent: ")
    assert "TALENTCONNECT_SECRET_KEYS" in (failed.error or "")

    clock.advance(timedelta(minutes=1))
    assert hooks.drain(hooks.worker(secret_keys=(TEST_SECRET, GONE_KEY))).delivered == 1
    retried = hooks.receiver.received[-1]
    assert retried.path.endswith("/lost") and retried.verified_by == [lost.secret]


def _cli(tmp_path: Path, database_url: str, keys: str, *args: str) -> Result:
    env = {
        "TALENTCONNECT_DATABASE_URL": database_url,
        "TALENTCONNECT_SECRET_KEYS": keys,
        "TALENTCONNECT_INSTANCE_DIR": str(tmp_path / "instance"),
    }
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_db_seal_secrets_seals_and_says_so_and_fails_on_an_unreadable_one(
    hooks: Hooks, database_url: str, tmp_path: Path
) -> None:
    """`talentconnect db seal-secrets`: plain secrets sealed under the first key, exit 0;
    then with that key gone, it says what to do and exits 1, leaving the value alone."""
    endpoint = hooks.endpoint()
    with session_scope(hooks.sessions) as session:
        session.execute(update(WebhookSecret).values(sealed=endpoint.secret))
    result = _cli(tmp_path, database_url, f"{NEW_KEY},{TEST_SECRET}", "db", "seal-secrets")
    assert result.exit_code == 0, result.output
    assert "1 sealed now" in result.output
    [stored] = _stored(hooks.sessions)
    assert SecretSeal([NEW_KEY]).unseal(stored) == endpoint.secret

    result = _cli(tmp_path, database_url, TEST_SECRET, "db", "seal-secrets")
    assert result.exit_code == 1
    assert "1 unreadable" in result.output
    assert "put it back" in result.output
    assert _stored(hooks.sessions) == [stored]


def test_a_receiver_verifies_what_the_worker_signs_with_a_sealed_secret(hooks: Hooks) -> None:
    """End to end, with the standardwebhooks package: the shown secret verifies."""
    endpoint = hooks.endpoint()
    [stored] = _stored(hooks.sessions)
    assert endpoint.secret not in stored
    hooks.event(candidate="c1")
    hooks.drain()
    [received] = hooks.receiver.received
    Webhook(endpoint.secret).verify(received.body, received.headers)


def test_db_upgrade_seals_the_secrets_an_earlier_release_stored_in_plain_text(
    tmp_path: Path,
) -> None:
    """After migrating to the newest revision, `db upgrade` seals plain secrets."""
    url = f"sqlite:///{tmp_path / 'up.db'}"
    assert _cli(tmp_path, url, TEST_SECRET, "db", "upgrade").exit_code == 0
    engine = make_engine(url)
    try:
        secret = new_secret()
        with session_scope(make_session_factory(engine)) as session:
            endpoint = WebhookEndpoint(url="https://hooks.example.com/in")
            endpoint.secrets.append(WebhookSecret(sealed=secret))  # as 0021 stored it
            session.add(endpoint)
        result = _cli(tmp_path, url, TEST_SECRET, "db", "upgrade")
        assert result.exit_code == 0, result.output
        assert "1 sealed now" in result.output
        with engine.connect() as conn:
            [stored] = conn.execute(select(WebhookSecret.sealed)).scalars().all()
    finally:
        engine.dispose()
    assert stored.startswith(SEALED_PREFIX) and TEST_SEAL.unseal(stored) == secret
