"""Migration 0017 adds campaign_variants, and its downgrade takes it away again."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from portal.migrate import current_revision, downgrade, upgrade

REVISION = "0017"
# The revision 0017 comes after (the coordinator relinks it when another lands first).
PREVIOUS = "0015"


def _campaign(engine: Engine) -> int:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO campaigns (name, subject, body, audience, status, created_at) "
                "VALUES ('n', 's', 'b', '{}', 'draft', CURRENT_TIMESTAMP)"
            )
        )
        return int(conn.execute(text("SELECT max(id) FROM campaigns")).scalar_one())


def test_upgrade_adds_variants_unique_per_language_and_deleted_with_the_campaign(
    empty_engine: Engine,
) -> None:
    """From the revision before, 0017 adds the table; a second variant in one language is
    refused, and deleting the campaign deletes its variants."""
    upgrade(empty_engine, PREVIOUS)
    assert "campaign_variants" not in inspect(empty_engine).get_table_names()
    campaign_id = _campaign(empty_engine)
    upgrade(empty_engine, REVISION)
    assert current_revision(empty_engine) == REVISION
    insert = text(
        "INSERT INTO campaign_variants (campaign_id, locale, subject, body) "
        "VALUES (:c, :l, 'Hola', 'Cuerpo')"
    )
    with empty_engine.begin() as conn:
        conn.execute(insert, {"c": campaign_id, "l": "es"})
        conn.execute(insert, {"c": campaign_id, "l": "fr"})
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        conn.execute(insert, {"c": campaign_id, "l": "es"})
    with empty_engine.begin() as conn:
        conn.execute(text("DELETE FROM campaigns WHERE id = :c"), {"c": campaign_id})
        assert conn.execute(text("SELECT count(*) FROM campaign_variants")).scalar_one() == 0


def test_downgrade_drops_the_table_and_keeps_the_campaigns(empty_engine: Engine) -> None:
    """Down to the revision before: campaign_variants is gone, campaigns are untouched;
    upgrading again works."""
    upgrade(empty_engine, REVISION)
    campaign_id = _campaign(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO campaign_variants (campaign_id, locale, subject, body) "
                "VALUES (:c, 'es', 'Hola', 'Cuerpo')"
            ),
            {"c": campaign_id},
        )
    downgrade(empty_engine, PREVIOUS)
    assert current_revision(empty_engine) == PREVIOUS
    assert "campaign_variants" not in inspect(empty_engine).get_table_names()
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM campaigns")).scalars().all() == [campaign_id]
    upgrade(empty_engine, REVISION)
    assert "campaign_variants" in inspect(empty_engine).get_table_names()
