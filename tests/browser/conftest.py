"""Fixtures for the browser tests: one chromium, axe-core, and a live portal per test.

The portal is served by waitress on a free loopback port, on the parametrized
`database_url`, with interests (details and keywords) and jobs seeded.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from portal.app import create_app
from portal.cli.main import LateApp
from portal.config import Settings
from preferences.clock import now
from preferences.db import make_engine, make_session_factory, session_scope
from tests.browser.servers import stop_waitress
from tests.conftest import make_settings, require_or_skip
from tests.portal.helpers import add_interest, add_job

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.oidc.provider import OidcTestProvider

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# key: (name, details, keywords, position). Keywords are chosen so that the corpus resume
# 01_one_column.pdf (Python, Go, SQL, Kubernetes) suggests Software Engineering only.
INTERESTS: dict[str, tuple[str, str, list[str], int]] = {
    "software": (
        "Software Engineering",
        "Build and run the services and apps behind our products, mostly in Python.",
        ["python", "kubernetes", "golang"],
        1,
    ),
    "design": (
        "Design",
        "Product, interaction and visual design for our web and mobile apps.",
        ["figma", "user research"],
        2,
    ),
    "data": (
        "Data Science",
        "Analytics, experiments and forecasting models that steer the business.",
        ["statistics", "pandas"],
        3,
    ),
    "sales": (
        "Sales",
        "Account executives and sales engineers who help customers choose us.",
        ["quota", "crm"],
        4,
    ),
}
# title: (interest keys, hours since posting, closed). Negative hours: not published yet.
JOBS: dict[str, tuple[tuple[str, ...], float, bool]] = {
    "Design Systems Engineer": (("software", "design"), 2, False),
    "Platform Engineer": (("software",), 5, False),
    "Data Scientist": (("data",), 10, False),
    "Product Designer": (("design",), 26, False),
    "Account Executive": (("sales",), 30, False),
    "Backend Engineer": (("software",), 50, False),
    "Senior Designer (filled)": (("design",), 3, True),
    "Design Lead (next week)": (("design",), -24 * 7, False),
}


@dataclass(frozen=True)
class LivePortal:
    """A running portal: its address, settings, a way into its database, seeded ids."""

    url: str
    settings: Settings
    sessions: sessionmaker[Session]
    interests: dict[str, int]

    def name(self, key: str) -> str:
        return INTERESTS[key][0]


def _seed(sessions: sessionmaker[Session]) -> dict[str, int]:
    with session_scope(sessions) as session:
        interests = {}
        for key, (name, details, keywords, position) in INTERESTS.items():
            interest = add_interest(session, name, position=position)
            interest.details = details
            interest.keywords = keywords
            interests[key] = interest
        at = now()
        for title, (keys, hours, closed) in JOBS.items():
            add_job(
                session,
                title,
                interests=[interests[k] for k in keys],
                posted_at=at - timedelta(hours=hours),
                closed_at=at - timedelta(minutes=30) if closed else None,
            )
        return {key: interest.id for key, interest in interests.items()}


@contextmanager
def serve_portal(
    tmp_path: Path, database_url: str, configure: Callable[[str], dict[str, Any]] | None = None
) -> Iterator[LivePortal]:
    """Serve a seeded portal; `configure(url)` may add settings once the address is known."""
    from waitress import create_server

    late = LateApp()
    server: Any = create_server(late, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    engine = make_engine(database_url)
    try:
        url = f"http://127.0.0.1:{server.effective_port}"
        overrides = configure(url) if configure else {}
        settings = make_settings(tmp_path, database_url, BASE_URL=url, **overrides)
        sessions = make_session_factory(engine)
        interests = _seed(sessions)
        late.app = create_app(settings)
        thread.start()
        yield LivePortal(url, settings, sessions, interests)
    finally:
        if thread.is_alive():
            stop_waitress(server, thread)
        else:
            server.close()
        if late.app is not None:
            late.app.extensions["talentconnect"].engine.dispose()
        engine.dispose()


@pytest.fixture
def portal(tmp_path: Path, database_url: str) -> Iterator[LivePortal]:
    """The portal without social sign-in: the start page offers "Get started"."""
    with serve_portal(tmp_path, database_url) as live:
        yield live


@pytest.fixture
def oidc_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OidcTestProvider]:
    """The real loopback OpenID provider; the portal's HTTP client trusts its test CA."""
    from tests.oidc.provider import OidcTestProvider

    provider = OidcTestProvider(tmp_path / "provider")
    provider.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(provider.ca_path))
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def social_portal(
    tmp_path: Path, database_url: str, oidc_provider: OidcTestProvider
) -> Iterator[LivePortal]:
    """The portal with one provider, "Test ID", whose redirect URI is this portal's."""

    def configure(url: str) -> dict[str, Any]:
        oidc_provider.client.redirect_uris = [f"{url}/connect/social/test/callback"]
        return {"OIDC_PROVIDERS": json.dumps([oidc_provider.portal_config()])}

    with serve_portal(tmp_path, database_url, configure) as live:
        yield live


# Module scope, not session: only one sync Playwright may run at a time, and other test
# modules (tests/browser/test_landing.py) start their own.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's chromium, headless, shared by a module's tests; never a downloaded one."""
    executable = shutil.which("chromium")
    if executable is None:
        require_or_skip("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's source, from npm (`make` installs it into node_modules/)."""
    if not AXE_JS.is_file():
        require_or_skip(f"{AXE_JS.relative_to(ROOT)} is missing: run `npm ci` (or `make`)")
    return AXE_JS.read_text(encoding="utf-8")
