"""The `talentconnect` command."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from jobs.digests import digest_context
from jobs.scheduler import AlertScheduler, PeriodicTask
from mailer.campaign_admin import dispatch_due_campaigns
from mailer.config import SmtpTarget
from mailer.models import MessageKind
from mailer.outbox import outbox_report
from mailer.sender import SmtpSender
from mailer.sink import MaildirStore, MailSink
from mailer.worker import OutboxWorker
from portal.alerts_cli import alerts
from portal.bounces_cli import bounces
from portal.campaigns_cli import campaigns
from portal.config import SETTINGS, ConfigError, Settings, load_settings, settings_markdown
from portal.demo import DemoResult, seed_demo
from portal.imports_cli import api_token_group, candidates_group, jobs_group
from portal.inbound_cli import inbound
from portal.logs import configure_logging
from portal.migrate import current_revision, head_revision, upgrade
from portal.recruiters_cli import recruiter
from preferences.db import make_engine, make_session_factory, session_scope

log = logging.getLogger("portal.cli")
console = Console(stderr=True)


def _settings(ctx: click.Context) -> Settings:
    """Load the settings on first use, so `--help` works even with a bad setting."""
    obj: dict[str, Any] = ctx.find_root().obj
    if obj.get("settings") is None:
        overrides = {"CONFIG_FILE": obj["config_file"]} if obj.get("config_file") else None
        obj["settings"] = load_settings(overrides=overrides)
        configure_logging(obj["settings"].log_level)
    settings: Settings = obj["settings"]
    return settings


def _make_database_dir(database_url: str) -> None:
    """Create the folder of a SQLite database file, which SQLite will not do itself."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _listen(app: Any, host: str, port: int, threads: int) -> Any:
    """Return a waitress server bound to host:port, or a one-line error if that fails."""
    from waitress import create_server

    try:
        return create_server(app, host=host, port=port, threads=threads)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} "
            "(is another copy running? choose another --port)"
        ) from None


@contextmanager
def _stop_on_signals(stop: Callable[[], None], *, interrupt: bool = False) -> Iterator[None]:
    """Call `stop` on SIGTERM and SIGINT while the block runs.

    With `interrupt`, the first signal also raises KeyboardInterrupt in the main
    thread, which is how waitress's serving loop is ended cleanly.
    """
    received = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        first = not received.is_set()
        received.set()
        log.info("signal received, shutting down", extra={"signal": signal.Signals(signum).name})
        stop()
        if interrupt and first:
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@click.group(
    help="Talent Connect: a talent-community portal and email subscription manager.\n\n"
    "Settings come from TALENTCONNECT_* environment variables and an optional TOML "
    "file (see `talentconnect settings`)."
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="TOML settings file (same as TALENTCONNECT_CONFIG_FILE).",
)
@click.pass_context
def cli(ctx: click.Context, config_file: str | None) -> None:
    ctx.obj = {"config_file": config_file, "settings": None}


@cli.command("settings")
@click.option("--markdown", is_flag=True, help="Print the table of docs/CONFIGURATION.md instead.")
def settings_cmd(markdown: bool) -> None:
    """List every setting with its default."""
    if markdown:
        click.echo(settings_markdown(), nl=False)
        return
    table = Table(title="Settings (environment variable, default, meaning)")
    table.add_column("Variable")
    table.add_column("Default")
    table.add_column("Meaning")
    for spec in SETTINGS:
        table.add_row(f"TALENTCONNECT_{spec.name}", spec.default or "(empty)", spec.help)
    Console().print(table)


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply migrations up to REVISION."""
    _make_database_dir(_settings(ctx).database_url)
    engine = make_engine(_settings(ctx).database_url)
    try:
        before = current_revision(engine)
        upgrade(engine, revision)
        after = current_revision(engine)
    finally:
        engine.dispose()
    click.echo(f"database at revision {after} (was {before or 'empty'})")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the database revision and the newest one available."""
    engine = make_engine(_settings(ctx).database_url)
    try:
        click.echo(f"current: {current_revision(engine) or 'empty'}  head: {head_revision()}")
    finally:
        engine.dispose()


def _print_demo_login(email: str, password: str, base_url: str) -> None:
    console.print(
        f"\n[bold]Demo recruiter login[/bold] at {base_url}/admin/login\n"
        f"  email:    [bold]{email}[/bold]\n"
        f"  password: [bold]{password}[/bold]  (new on every start)\n"
    )


def _seed_demo(factory: Any) -> DemoResult:

    with session_scope(factory) as session:
        result = seed_demo(session)
    log.info(
        "demo data ready",
        extra={
            "interests_created": result.interests_created,
            "jobs_created": result.jobs_created,
            "schedules_created": result.schedules_created,
        },
    )
    return result


@cli.command()
@click.option("--demo", is_flag=True, help="Seed the demo company (idempotent).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 128))
@click.pass_context
def run(ctx: click.Context, demo: bool, host: str, port: int, threads: int) -> None:
    """Run everything for one machine: web server, scheduler, sender worker and,
    without TALENTCONNECT_SMTP_URL, the development mail sink."""

    settings = _settings(ctx)
    if demo and settings.is_production:
        raise click.UsageError("--demo is refused in production")
    _make_database_dir(settings.database_url)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    demo_result = _seed_demo(factory) if demo else None
    # Bind first, so a busy port fails before any background thread starts.
    app = _web_app(settings)
    server: Any = _listen(app, host, port, threads)

    sink: MailSink | None = None
    target = settings.smtp_target
    if target is None:
        settings.mail_sink_dir.parent.mkdir(parents=True, exist_ok=True)
        sink = MailSink(MaildirStore(settings.mail_sink_dir), port=settings.mail_sink_port)
        sink.start()
        target = SmtpTarget(host=sink.host, port=sink.port)
        log.info("development mail sink listening", extra={"smtp": sink.url})

    scheduler = AlertScheduler(
        factory,
        reload_seconds=settings.scheduler_reload_seconds,
        dispatch_campaigns=campaign_dispatcher(settings),
        tasks=_scheduled_tasks(settings),
    )
    worker = make_worker(settings, factory, target)
    worker_thread = threading.Thread(
        target=worker.run,
        kwargs={"poll_interval": settings.worker_poll_seconds},
        name="outbox-worker",
    )
    try:
        scheduler.start()
        worker_thread.start()
        url = f"http://{host}:{server.effective_port}"
        log.info("web server listening", extra={"url": url, "threads": threads})
        console.print(
            f"[bold green]Talent Connect is running at {url}[/bold green]  (Ctrl-C stops)"
        )
        if sink is not None:
            console.print(f"Mail sink: every email is kept; read it at {url}/admin/mail")
        if demo_result is not None:
            _print_demo_login(demo_result.recruiter_email, demo_result.recruiter_password, url)
        with _stop_on_signals(worker.stop, interrupt=True):
            # Returns once a signal interrupts it; waitress then stops its threads.
            server.run()
    finally:
        worker.stop()
        server.close()
        worker_thread.join(timeout=60)
        scheduler.shutdown()
        if sink is not None:
            sink.stop()
        app.extensions["talentconnect"].engine.dispose()
        engine.dispose()
        log.info("stopped")


def campaign_dispatcher(settings: Settings) -> Callable[[Any], object]:
    """The scheduler's campaign dispatch, with the sender settings its size check needs."""
    mail = settings.mail_settings()
    return lambda factory: dispatch_due_campaigns(factory, settings=mail)


def _web_app(settings: Settings) -> Any:
    """The app a server runs, with its resume-parsing server started ahead of the first upload."""
    from portal.app import create_app
    from portal.resumes.sandbox import warm_up

    app = create_app(settings)
    warm_up()
    return app


def _scheduled_tasks(settings: Settings) -> list[PeriodicTask]:
    """The portal's housekeeping, run by whichever scheduler leads (`run` or `scheduler`)."""
    from portal.uploads import prune_task

    return [prune_task(settings.upload_dir, settings.upload_unclaimed_hours)]


def make_worker(
    settings: Settings, factory: Any, target: SmtpTarget, batch_size: int | None = None
) -> OutboxWorker:
    """The sender worker as `worker` and `run` build it, with job-alert digests wired in."""
    return OutboxWorker(
        factory,
        lambda: SmtpSender(target),
        settings.mail_settings(),
        batch_size=batch_size or settings.worker_batch_size,
        lease=timedelta(minutes=5),
        connections=settings.smtp_connections,
        rate=settings.send_rate,
        context_sources={MessageKind.JOB_ALERT: digest_context},
    )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    help="Worker processes (default: one per core, at least 2).",
)
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(1, 128),
    help="Threads per worker process; above 1, idle keep-alive connections are held too.",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve the web portal only (gunicorn), for production behind a reverse proxy.

    Each worker process builds its own app and database connections. SIGTERM
    finishes the requests in flight, then exits 0.
    """
    from portal.serving import WebServer, check_port_free, default_workers

    settings = _settings(ctx)
    problem = check_port_free(host, port)
    if problem is not None:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {problem} "
            "(is another copy running? choose another --port)"
        )
    count = workers or default_workers()
    log.info(
        "web server starting",
        extra={"url": f"http://{host}:{port}", "workers": count, "threads": threads},
    )
    try:
        WebServer(
            lambda: _web_app(settings),
            host=host,
            port=port,
            workers=count,
            threads=threads,
            log_level=settings.log_level,
        ).run()
    except SystemExit as exc:  # gunicorn's arbiter ends with sys.exit
        if exc.code not in (0, None):
            raise
    log.info("stopped")


@cli.command()
@click.option("--until-empty", is_flag=True, help="Exit once no message is due.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), help="Rows claimed at once.")
@click.pass_context
def worker(ctx: click.Context, until_empty: bool, batch_size: int | None) -> None:
    """Send queued outbox messages over SMTP (TALENTCONNECT_SMTP_URL)."""
    settings = _settings(ctx)
    target = settings.smtp_target
    if target is None:
        raise click.UsageError(
            "TALENTCONNECT_SMTP_URL is not set; the worker needs a relay "
            "(`talentconnect run` starts a development sink instead)"
        )
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    sender = make_worker(settings, factory, target, batch_size)
    with _stop_on_signals(sender.stop):
        sender.run(poll_interval=settings.worker_poll_seconds, until_empty=until_empty)
    engine.dispose()


@cli.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the alert scheduler until stopped.

    On PostgreSQL any number may run: the one holding the leader advisory lock
    runs alerts, the others stand by and take over within a minute if it stops.
    On SQLite run exactly one (or use `talentconnect run`).
    """
    settings = _settings(ctx)
    engine = make_engine(settings.database_url)
    alert_scheduler = AlertScheduler(
        make_session_factory(engine),
        reload_seconds=settings.scheduler_reload_seconds,
        dispatch_campaigns=campaign_dispatcher(settings),
        tasks=_scheduled_tasks(settings),
    )
    done = threading.Event()
    try:
        alert_scheduler.start()
        with _stop_on_signals(done.set):
            while not done.wait(1.0):
                pass
    finally:
        # Releases the leader lock at once, so a standby need not wait for a timeout.
        alert_scheduler.shutdown()
        engine.dispose()


@cli.group()
def outbox() -> None:
    """Outbox commands."""


@outbox.command("status")
@click.pass_context
def outbox_status(ctx: click.Context) -> None:
    """Print counts by status, the oldest pending message and recent errors."""
    engine = make_engine(_settings(ctx).database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            report = outbox_report(session)
    finally:
        engine.dispose()
    out = Console()
    table = Table(title="Outbox")
    table.add_column("Status")
    table.add_column("Messages", justify="right")
    for status, count in report.counts.items():
        table.add_row(status, str(count))
    out.print(table)
    oldest = report.oldest_pending_at.isoformat() if report.oldest_pending_at else "none"
    out.print(f"Oldest pending: {oldest}")
    for message_id, status, error in report.recent_errors:
        out.print(f"  #{message_id} {status}: {error}")


@cli.group()
def uploads() -> None:
    """Upload-folder housekeeping."""


@uploads.command("prune")
@click.option(
    "--older-than",
    "hours",
    default=None,
    type=click.FloatRange(min=0),
    help="Only files older than this many hours (default: UPLOAD_UNCLAIMED_HOURS, 24).",
)
@click.pass_context
def uploads_prune(ctx: click.Context, hours: float | None) -> None:
    """Delete uploaded resumes that no profile claimed (abandoned connect drafts).

    The running scheduler (`run`, `scheduler`) does this every hour by itself.
    """
    from portal.uploads import prune_orphan_uploads

    settings = _settings(ctx)
    if hours is None:
        hours = settings.upload_unclaimed_hours
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            removed = prune_orphan_uploads(session, settings.upload_dir, older_than_hours=hours)
    finally:
        engine.dispose()
    log.info("uploads pruned", extra={"removed": len(removed), "folder": str(settings.upload_dir)})
    click.echo(f"removed {len(removed)} orphaned upload(s)")


@cli.command("preference-link")
@click.argument("email")
@click.pass_context
def preference_link(ctx: click.Context, email: str) -> None:
    """Print a fresh preference-center URL for EMAIL (for support staff)."""
    from portal.links import preference_url
    from preferences.errors import InvalidEmail
    from preferences.models import CandidateStatus
    from preferences.subscriptions import find_candidate

    settings = _settings(ctx)
    engine = make_engine(settings.database_url)
    url: str | None = None
    try:
        with session_scope(make_session_factory(engine)) as session:
            try:
                candidate = find_candidate(session, email)
            except InvalidEmail:
                candidate = None
            if candidate is not None and candidate.status is not CandidateStatus.DELETED:
                url = preference_url(settings, candidate)
    finally:
        engine.dispose()
    if url is None:
        click.echo(f"talentconnect: no active candidate with the address {email}", err=True)
        # sys.exit, not ctx.exit: main() runs click with standalone_mode=False, which
        # would turn ctx.exit(1) into a returned value and exit 0.
        sys.exit(1)
    click.echo(url)


cli.add_command(inbound)
cli.add_command(bounces)
cli.add_command(alerts)
cli.add_command(campaigns)
cli.add_command(jobs_group)
cli.add_command(candidates_group)
cli.add_command(api_token_group)
cli.add_command(recruiter)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `talentconnect` console script."""
    try:
        cli.main(args=argv, prog_name="talentconnect", standalone_mode=False)
    except ConfigError as exc:
        click.echo(f"talentconnect: configuration error: {exc}", err=True)
        sys.exit(2)
    except SQLAlchemyError as exc:
        # One line an operator can act on, instead of a driver traceback.
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        click.echo(
            f"talentconnect: database error: {reason} (check TALENTCONNECT_DATABASE_URL; "
            "a new database needs `talentconnect db upgrade`)",
            err=True,
        )
        sys.exit(1)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
