"""`talentconnect jobs import` and `candidates import`: bulk data from CSV or JSON files."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from sqlalchemy.orm import Session

from portal.cli.context import settings_for
from portal.cli.progress import progress_bar
from portal.console.imports import ImportRejected, ImportReport, import_candidates, import_jobs
from preferences.db import make_engine, make_session_factory, session_scope

log = logging.getLogger("portal.cli")

FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
Importer = Callable[[Session, bytes, str, Callable[[int, int], None]], ImportReport]


def _run_import(ctx: click.Context, path: Path, what: str, importer: Importer) -> None:

    settings = settings_for(ctx)
    data = path.read_bytes()
    engine = make_engine(settings.database_url)
    try:
        with (
            progress_bar(f"Importing {what}") as step,
            session_scope(make_session_factory(engine)) as session,
        ):
            report = importer(session, data, path.name, step)
    except ImportRejected as exc:
        for line, reason in exc.errors:
            click.echo(f"{path.name}:{line}: {reason}", err=True)
        click.echo(
            f"talentconnect: {path.name} was not imported: {len(exc.errors)} problem(s); "
            "nothing was stored",
            err=True,
        )
        log.info("import rejected", extra={"file": path.name, "problems": len(exc.errors)})
        sys.exit(1)
    finally:
        engine.dispose()
    log.info(
        "import finished",
        extra={
            "file": path.name,
            "kind": what,
            # "created" is a LogRecord attribute, so every count gets a prefix.
            "rows_created": report.created,
            "rows_updated": report.updated,
            "rows_unchanged": report.unchanged,
            "rows_skipped": len(report.skipped),
        },
    )
    out = Console()
    for line, reason in report.skipped:
        out.print(f"skipped line {line}: {reason}", markup=False, highlight=False)
    out.print(
        f"{what}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.skipped)} skipped",
        markup=False,
        highlight=False,
    )


@click.group("jobs")
def jobs_group() -> None:
    """Job postings."""


@jobs_group.command("import")
@click.argument("file", type=FILE)
@click.pass_context
def jobs_import(ctx: click.Context, file: Path) -> None:
    """Create or update postings from a CSV or JSON FILE (all rows, or none).

    CSV columns: reference,title,description,location,apply_url,interests,posted_at
    (interests: names or slugs separated by ';'), and optionally employment_type,
    workplace, department, salary_min, salary_max, salary_currency, salary_period,
    valid_through and language (see docs/API.md). A known reference updates that
    posting. Any bad row rejects the file: every problem is printed with its line.
    """

    _run_import(
        ctx,
        file,
        "jobs",
        lambda session, data, name, step: import_jobs(session, data, name, on_progress=step),
    )


@click.group("candidates")
def candidates_group() -> None:
    """Candidates in the talent community."""


@candidates_group.command("import")
@click.argument("file", type=FILE)
@click.pass_context
def candidates_import(ctx: click.Context, file: Path) -> None:
    """Add an existing talent pool from a CSV FILE (all rows, or none).

    CSV columns: email,first_name,last_name,phone,interests,mass_email,consent_source,
    consent_at (mass_email yes or no). Consent is recorded with source `import` at
    consent_at. Known addresses only gain what they lack; suppressed and erased
    addresses are skipped.
    """

    region = settings_for(ctx).phone_default_region
    _run_import(
        ctx,
        file,
        "candidates",
        lambda session, data, name, step: import_candidates(
            session, data, name, phone_region=region, on_progress=step
        ),
    )
