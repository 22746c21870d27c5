"""Migration 0018 (interest translations) adds the translations table and takes it away again."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from portal.migrate import current_revision, downgrade, upgrade
from preferences.db import make_engine, make_session_factory, session_scope
from preferences.models import Interest, InterestTranslation

REVISION = "0018"


def test_upgrade_keeps_interests_and_downgrade_removes_only_the_table(
    empty_database_url: str,
) -> None:
    """From 0017 (its predecessor) with an interest: the upgrade adds the table (unique
    per interest and locale, cascading deletes), the downgrade drops it and keeps the
    interest, and the upgrade runs again cleanly."""
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0017")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO interests (name, slug, details, keywords, position, status, "
                    "created_at) VALUES ('Design', 'design', '', '[]', 1, 'active', "
                    "CURRENT_TIMESTAMP)"
                )
            )
        assert "interest_translations" not in inspect(engine).get_table_names()
        upgrade(engine, REVISION)
        assert current_revision(engine) == REVISION
        sessions = make_session_factory(engine)
        with session_scope(sessions) as session:
            design = session.scalars(select(Interest)).one()
            session.add(InterestTranslation(interest_id=design.id, locale="es", name="Diseño"))
        with pytest.raises(IntegrityError), session_scope(sessions) as session:
            session.add(InterestTranslation(interest_id=design.id, locale="es", name="Otro"))
        downgrade(engine, "0017")
        assert "interest_translations" not in inspect(engine).get_table_names()
        assert current_revision(engine) == "0017"
        upgrade(engine, REVISION)
        with session_scope(sessions) as session:
            assert session.scalars(select(Interest.name)).all() == ["Design"]
            assert session.scalars(select(InterestTranslation)).all() == []
            session.add(InterestTranslation(interest_id=design.id, locale="es", name="Diseño"))
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM interests"))
        with session_scope(sessions) as session:
            assert session.scalars(select(InterestTranslation)).all() == []
    finally:
        engine.dispose()
