"""The `talentconnect` command: the root group, `run` and `serve`, and the entry point.

Each other command lives in a module of its own in this package; this one
names them in `COMMANDS`, and the root group imports a command's module only
when that command runs (or when `talentconnect --help` lists them all). So
`talentconnect worker` loads the sender and not the web app, the resume parser
or every other command: a smaller, faster-starting process.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import sys
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from portal.cli.context import make_database_dir, settings_for, stop_on_signals
from portal.config import SETTINGS, ConfigError, Settings, settings_markdown

if TYPE_CHECKING:
    from portal.demo import DemoResult

log = logging.getLogger("portal.cli")
console = Console(stderr=True)


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


def _bound_port(server: Any) -> int:
    """The port a waitress server listens on (the one the system chose for port 0)."""
    if hasattr(server, "effective_port"):
        return int(server.effective_port)
    # A host name of several addresses gets one socket each (a MultiSocketServer).
    return int(server.effective_listen[0][1])


# Hosts that mean "every interface", and the loopback a browser on this machine uses for each.
_WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def listening_url(host: str, port: int) -> str:
    """The http:// address of a server on host:port, as a browser on this machine reaches it.

    A wildcard host becomes the loopback of its family: it always resolves, where the
    machine's name may not; set BASE_URL for links other machines can follow.
    """
    name = _WILDCARD_HOSTS.get(host, host)
    if ":" in name:
        name = f"[{name}]"
    return f"http://{name}:{port}"


def _base_url_reaches(base_url: str, host: str, port: int) -> bool:
    """Whether BASE_URL names the server listening on host:port (loopback names are one)."""
    parts = urlsplit(base_url)
    if (parts.port or (443 if parts.scheme == "https" else 80)) != port:
        return False
    if host in _WILDCARD_HOSTS:
        return True
    names = {(parts.hostname or "").lower(), host.strip("[]").lower()}
    return len(names) == 1 or names <= _LOOPBACK_HOSTS


def _warn_if_base_url_elsewhere(settings: Settings, host: str, port: int) -> None:
    """Log one warning when BASE_URL (set by the operator) is not where this server listens."""
    if not _base_url_reaches(settings.base_url, host, port):
        log.warning(
            "BASE_URL is not where this server listens; links in emails and pages use BASE_URL",
            extra={"base_url": settings.base_url, "listening": listening_url(host, port)},
        )


class LateApp:
    """A WSGI app filled in after the server has bound its port.

    `run` binds its port before building the app, so that the app's links can name the
    port the system chose (for --port 0).
    """

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:
            raise RuntimeError("the portal is not ready yet")
        return self.app(environ, start_response)


# Command name: (module, attribute). Each module is imported on first use of its command.
COMMANDS: dict[str, tuple[str, str]] = {
    "alerts": ("portal.cli.alerts", "alerts"),
    "api-token": ("portal.cli.api_tokens", "api_token_group"),
    "bounces": ("portal.cli.bounces", "bounces"),
    "campaigns": ("portal.cli.campaigns", "campaigns"),
    "candidates": ("portal.cli.imports", "candidates_group"),
    "db": ("portal.cli.database", "db"),
    "feeds": ("portal.cli.feeds", "feeds_group"),
    "inbound": ("portal.cli.inbound", "inbound"),
    "jobs": ("portal.cli.imports", "jobs_group"),
    "outbox": ("portal.cli.outbox", "outbox"),
    "preference-link": ("portal.cli.links", "preference_link"),
    "recruiter": ("portal.cli.recruiters", "recruiter"),
    "retention": ("portal.cli.retention", "retention"),
    "scheduler": ("portal.cli.workers", "scheduler"),
    "uploads": ("portal.cli.uploads", "uploads"),
    "webhooks": ("portal.cli.webhooks", "webhooks"),
    "worker": ("portal.cli.workers", "worker"),
}

# Names this module used to import from the command modules, still importable from it.
_LAZY_NAMES: dict[str, str] = {
    "campaign_dispatcher": "portal.cli.workers",
    "make_worker": "portal.cli.workers",
    "scheduled_tasks": "portal.cli.workers",
    "make_webhook_worker": "portal.cli.webhooks",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class LazyGroup(click.Group):
    """A group whose commands in `COMMANDS` are imported when first looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command) and command.name == cmd_name
            self.add_command(command)
        return command


@click.group(
    cls=LazyGroup,
    help="Talent Connect: a talent-community portal and email subscription manager.\n\n"
    "Settings come from TALENTCONNECT_* environment variables and an optional TOML "
    "file (see `talentconnect settings`).",
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
    from rich.table import Table

    table = Table(title="Settings (environment variable, default, meaning)")
    table.add_column("Variable")
    table.add_column("Default")
    table.add_column("Meaning")
    for spec in SETTINGS:
        table.add_row(f"TALENTCONNECT_{spec.name}", spec.default or "(empty)", spec.help)
    Console().print(table)


def _print_demo_login(email: str, password: str, base_url: str) -> None:
    console.print(
        f"\n[bold]Demo recruiter login[/bold] at {base_url}/admin/login\n"
        f"  email:    [bold]{email}[/bold]\n"
        f"  password: [bold]{password}[/bold]  (new on every start)\n"
    )


def _seed_demo(factory: Any) -> DemoResult:
    # Imported here: the demo data is loaded by `run --demo` alone.
    from portal.demo import seed_demo
    from preferences.db import session_scope

    with session_scope(factory) as session:
        result = seed_demo(session)
    log.info(
        "demo data ready",
        extra={
            "interests_created": result.interests_created,
            "jobs_created": result.jobs_created,
            "schedules_created": result.schedules_created,
            "candidates_created": result.candidates_created,
            "alert_runs_created": result.alert_runs_created,
            "messages_created": result.messages_created,
        },
    )
    return result


@cli.command()
@click.option(
    "--demo",
    is_flag=True,
    help="Seed the demo company (idempotent) and start Demo ID, a development-only "
    "sign-in provider on loopback.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 128))
@click.pass_context
def run(ctx: click.Context, demo: bool, host: str, port: int, threads: int) -> None:
    """Run everything for one machine: web server, scheduler, sender worker, webhook
    worker and, without TALENTCONNECT_SMTP_URL, the development mail sink."""
    # Imported here: every other command starts without the scheduler, workers and sink.
    from jobs.scheduler import AlertScheduler
    from mailer.config import SmtpTarget
    from mailer.sink import MaildirStore, MailSink
    from portal.cli.database import seal_secrets
    from portal.cli.webhooks import make_webhook_worker
    from portal.cli.workers import campaign_dispatcher, make_worker, scheduled_tasks
    from portal.migrate import upgrade
    from preferences.db import make_engine, make_session_factory

    settings = settings_for(ctx)
    if demo and settings.is_production:
        raise click.UsageError("--demo is refused in production")
    make_database_dir(settings.database_url)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    seal_secrets(settings, engine)
    factory = make_session_factory(engine)
    demo_result = _seed_demo(factory) if demo else None
    # Bind first, so a busy port fails before any background thread starts, and so
    # links can name the port bound (the system chooses one for --port 0).
    late = LateApp()
    server: Any = _listen(late, host, port, threads)
    port = _bound_port(server)
    url = listening_url(host, port)
    if settings.base_url_given:
        _warn_if_base_url_elsewhere(settings, host, port)
    else:
        # The web app, the worker and the scheduler all build links from these settings.
        settings = dataclasses.replace(settings, base_url=url)
    demo_id: Any = None
    if demo:
        # Imported here: Flask and Authlib's server parts load for `run --demo` alone.
        from portal.auth.demo_id import DemoIdRefused, start_demo_id, with_demo_id

        # The start page's "Continue with Demo ID": a development provider on loopback.
        try:
            demo_id = start_demo_id(settings, demo=True)
        except DemoIdRefused as exc:
            raise click.ClickException(str(exc)) from None
        settings = with_demo_id(settings, demo_id)
        log.info("Demo ID sign-in provider listening", extra={"url": demo_id.url})
    app = late.app = _web_app(settings)

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
        tasks=scheduled_tasks(settings),
    )
    worker = make_worker(settings, factory, target)
    worker_thread = threading.Thread(
        target=worker.run,
        kwargs={"poll_interval": settings.worker_poll_seconds},
        name="outbox-worker",
    )
    # Its own thread, as `talentconnect webhooks` is its own process: a slow receiver
    # never holds up mail.
    hooks = make_webhook_worker(settings, factory)
    hooks_thread = threading.Thread(
        target=hooks.run,
        kwargs={"poll_interval": settings.worker_poll_seconds},
        name="webhook-worker",
    )

    def stop_workers() -> None:
        worker.stop()
        hooks.stop()

    try:
        scheduler.start()
        worker_thread.start()
        hooks_thread.start()
        log.info("web server listening", extra={"url": url, "threads": threads})
        console.print(
            f"[bold green]Talent Connect is running at {url}[/bold green]  (Ctrl-C stops)"
        )
        if sink is not None:
            console.print(f"Mail sink: every email is kept; read it at {url}/admin/mail")
        if demo_result is not None:
            _print_demo_login(
                demo_result.recruiter_email, demo_result.recruiter_password, settings.base_url
            )
        with stop_on_signals(stop_workers, interrupt=True):
            # Returns once a signal interrupts it; waitress then stops its threads.
            server.run()
    finally:
        stop_workers()
        server.close()
        worker_thread.join(timeout=60)
        hooks_thread.join(timeout=60)
        scheduler.shutdown()
        if sink is not None:
            sink.stop()
        if demo_id is not None:
            demo_id.stop()
        app.extensions["talentconnect"].engine.dispose()
        engine.dispose()
        log.info("stopped")


def _web_app(settings: Settings) -> Any:
    """The app a server runs, with its resume-parsing server started ahead of the first upload."""
    # Imported here: only `run` and `serve` load Flask and every view; other commands start fast.
    from portal.app import create_app
    from portal.resumes.sandbox import warm_up

    app = create_app(settings)
    warm_up()
    return app


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
    # Imported here: gunicorn is loaded by `serve` alone.
    from portal.web.serving import WebServer, check_port_free, default_workers

    settings = settings_for(ctx)
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
