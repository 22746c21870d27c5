"""Migration 0022 widens webhook_secrets.secret for sealed secrets; its downgrade refuses
while a sealed one is stored (the earlier release couldn't read it)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from portal.migrate import current_revision, downgrade, upgrade
from portal.webhooks.signing import new_secret
from tests.conftest import TEST_SEAL

REVISION = "0022"
PREVIOUS = "0021"


def _add_secret(engine: Engine, stored: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO webhook_endpoints (public_id, url, description, event_types, "
                "enabled, include_contact_data, created_at, updated_at) VALUES "
                "(:p, 'https://hooks.example.com/in', '', '[]', true, false, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"p": f"ep_{len(stored)}_{stored[-6:]}"},
        )
        endpoint_id = conn.execute(text("SELECT max(id) FROM webhook_endpoints")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO webhook_secrets (endpoint_id, secret, created_at) "
                "VALUES (:e, :s, CURRENT_TIMESTAMP)"
            ),
            {"e": endpoint_id, "s": stored},
        )


def test_a_plain_secret_survives_upgrade_anddowngrade(empty_engine: Engine) -> None:
    upgrade(empty_engine, PREVIOUS)
    plain = new_secret()
    _add_secret(empty_engine, plain)
    upgrade(empty_engine, REVISION)
    _add_secret(empty_engine, TEST_SEAL.seal(new_secret()))  # too long for 0021's column
    with empty_engine.begin() as conn:
        conn.execute(text("DELETE FROM webhook_secrets WHERE secret LIKE 'sealed:%'"))
    downgrade(empty_engine, PREVIOUS)
    assert current_revision(empty_engine) == PREVIOUS
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT secret FROM webhook_secrets")).scalars().all() == [plain]


def test_downgrade_refuses_while_sealed_secrets_are_stored(empty_engine: Engine) -> None:
    upgrade(empty_engine, REVISION)
    sealed = TEST_SEAL.seal(new_secret())
    _add_secret(empty_engine, sealed)
    with pytest.raises(RuntimeError, match="1 webhook signing secrets are sealed"):
        downgrade(empty_engine, PREVIOUS)
    assert current_revision(empty_engine) == REVISION
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT secret FROM webhook_secrets")).scalars().all() == [sealed]
