"""Every table that holds rows about a candidate is exported and erased, by its owner's hook."""

from __future__ import annotations

import subprocess
import sys

import pytest

from portal import schema
from preferences.db import Base
from preferences.models import Candidate
from preferences.privacy import erasure_hooks

CANDIDATES = Candidate.__tablename__


def tables_about_candidates() -> dict[str, str]:
    """Each table with a foreign key to candidates, mapped to the package its model is in."""
    owners = {
        mapper.local_table.name: mapper.class_.__module__.split(".")[0]
        for mapper in Base.registry.mappers
    }
    return {
        table.name: owners.get(table.name, "?")
        for table in schema.metadata().sorted_tables
        if any(fk.column.table.name == CANDIDATES for fk in table.foreign_keys)
    }


def test_every_table_about_a_candidate_is_answered_for() -> None:
    """Preferences erases its own tables; each other package's table about a candidate is
    named by a registered hook of that package, so no row outlives an erasure unseen."""
    answered = {table: hook.owner for hook in erasure_hooks() for table in hook.tables}
    strays = {
        table: owner
        for table, owner in tables_about_candidates().items()
        if owner != "preferences" and answered.get(table) != owner
    }
    assert strays == {}
    assert answered == {
        "outbox_messages": "mailer",
        "digest_items": "jobs",
        "idempotency_keys": "portal",
    }


@pytest.mark.parametrize(
    ("module", "owners"),
    [
        ("mailer.models", ["mailer"]),
        ("mailer.outbox", ["mailer"]),
        ("jobs.models", ["mailer", "jobs"]),
        ("portal.auth.idempotency", ["mailer", "jobs", "portal"]),
        ("portal.schema", ["mailer", "jobs", "portal"]),
        ("portal.app", ["mailer", "jobs", "portal"]),
        ("portal.cli.context", ["mailer", "jobs", "portal"]),
        ("portal.cli.main", ["mailer", "jobs", "portal"]),
    ],
)
def test_importing_an_owner_registers_its_hook(module: str, owners: list[str]) -> None:
    """In a fresh interpreter, importing any module of mailer or jobs (or the web app or the
    CLI, which erase) registers their hooks, mailer's first; the portal's (stored API
    answers) comes with the web app, the CLI and its own module."""
    script = (
        f"import {module}\n"
        "from preferences.privacy import erasure_hooks\n"
        "print(','.join(hook.owner for hook in erasure_hooks()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip().split(",") == owners
