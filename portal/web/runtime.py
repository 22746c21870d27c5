"""Request-scoped access to the runtime and the database session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from portal.config import Settings

if TYPE_CHECKING:
    # Only a type here: the app factory builds the parser, so a process without the web
    # app (the sender worker records consent texts through this package) skips its imports.
    from portal.resumes.sandbox import ResumeParser

EXTENSION_KEY = "talentconnect"


@dataclass
class Runtime:
    """What one app instance holds: its settings, engine and session factory."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    # Reads uploaded resumes in child processes; its concurrency limit is per process.
    parser: ResumeParser


def runtime() -> Runtime:
    """Return the runtime of the current app."""
    rt: Runtime = current_app.extensions[EXTENSION_KEY]
    return rt


def settings() -> Settings:
    return runtime().settings


def resume_parser() -> ResumeParser:
    """Return this process's resume parser (child processes with time and memory budgets)."""
    return runtime().parser


def db() -> Session:
    """Return this request's session; it commits after a successful response."""
    session: Session | None = g.get("db_session")
    if session is None:
        session = runtime().sessions()
        g.db_session = session
    return session
