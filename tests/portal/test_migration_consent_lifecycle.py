"""Migration 0019 (consent lifecycle) backfills last activity and country, and goes back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, column, insert, inspect, table, text

from portal.migrate import current_revision, downgrade, upgrade

REVISION = "0019"
PREVIOUS = "0018"


_CANDIDATES = table(
    "candidates",
    *(
        column(name)
        for name in ("public_id", "email", "first_name", "last_name", "locale", "timezone",
                     "token_version", "status", "created_at", "updated_at",
                     "email_verified_at", "phone_e164", "location")
    ),
)  # fmt: skip
_EVENTS = table(
    "consent_events",
    *(
        column(name)
        for name in ("candidate_id", "scope", "action", "source", "wording_version",
                     "detail", "occurred_at")
    ),
)  # fmt: skip


def _at(text_value: str) -> datetime:
    return datetime.fromisoformat(text_value)


def _candidate(engine: Engine, email: str, created: str, **columns: Any) -> int:
    row = {
        "public_id": f"p-{email}",
        "email": email,
        "first_name": "",
        "last_name": "",
        "locale": "en",
        "timezone": "UTC",
        "token_version": 1,
        "status": "active",
        "created_at": _at(created),
        "updated_at": _at(created),
        **columns,
    }
    with engine.begin() as conn:
        conn.execute(insert(_CANDIDATES).values(**row))
        return int(
            conn.execute(
                text("SELECT id FROM candidates WHERE email = :e"), {"e": email}
            ).scalar_one()
        )


def test_upgrade_counts_activity_from_what_the_person_did_and_reads_countries(
    empty_engine: Engine,
) -> None:
    """Last activity: the latest of joining, confirming, signing in and the person's own
    consent changes (not a one-click or a bounce); country from the phone, else the
    location. The downgrade removes the new tables and columns; upgrading again works."""
    upgrade(empty_engine, PREVIOUS)
    quiet = _candidate(empty_engine, "quiet@example.com", "2024-01-01 10:00:00")
    busy = _candidate(
        empty_engine,
        "busy@example.com",
        "2024-01-01 10:00:00",
        email_verified_at=_at("2024-02-01 10:00:00"),
        phone_e164="+4930123456",
    )
    placed = _candidate(
        empty_engine, "placed@example.com", "2024-01-01 10:00:00", location="Lyon, France"
    )
    with empty_engine.begin() as conn:
        for source, at in (("preference_center", "2024-05-01 10:00:00"),
                           ("one_click", "2024-09-01 10:00:00")):  # fmt: skip
            conn.execute(
                insert(_EVENTS).values(
                    candidate_id=busy,
                    scope="mass_email",
                    action="grant",
                    source=source,
                    wording_version="v",
                    detail="{}",
                    occurred_at=_at(at),
                )
            )
    upgrade(empty_engine, REVISION)
    assert current_revision(empty_engine) == REVISION
    with empty_engine.connect() as conn:
        rows = {
            row.id: (str(row.last_active_at)[:10], row.country)
            for row in conn.execute(text("SELECT id, last_active_at, country FROM candidates"))
        }
    assert rows == {
        quiet: ("2024-01-01", None),
        busy: ("2024-05-01", "DE"),
        placed: ("2024-01-01", "FR"),
    }
    tables = set(inspect(empty_engine).get_table_names())
    assert {"consent_wordings", "legal_holds", "retention_notices", "retention_runs"} <= tables

    downgrade(empty_engine, PREVIOUS)
    assert current_revision(empty_engine) == PREVIOUS
    tables = set(inspect(empty_engine).get_table_names())
    assert not {"consent_wordings", "legal_holds", "retention_notices", "retention_runs"} & tables
    columns = {c["name"] for c in inspect(empty_engine).get_columns("candidates")}
    assert not {"last_active_at", "country"} & columns
    upgrade(empty_engine, REVISION)
    assert current_revision(empty_engine) == REVISION
