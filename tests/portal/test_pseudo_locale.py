"""No English left behind: in the pseudo-locale (every catalog string accented and 40%
longer, tests/portal/pseudo_locale.py) every candidate page and every email a candidate
can receive shows no plain English word that is not data."""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from jobs.digests import digest_context
from jobs.posting_fields import EmploymentType, SalaryPeriod, Workplace
from mailer.config import MailSettings, SmtpTarget
from mailer.i18n import (
    add_catalog_directory,
    message_locale,
    remove_catalog_directory,
    translations,
)
from mailer.links import sign_links
from mailer.models import Campaign, MessageKind, OutboxMessage
from mailer.outbox import enqueue
from mailer.render import STAFF_TEMPLATES, RenderedEmail, Renderer, template_names
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from portal.app import create_app
from portal.auth.accounts import set_password
from portal.config import Settings
from portal.web.links import one_click_url
from preferences.clock import frozen, now
from preferences.db import make_session_factory, session_scope
from preferences.models import (
    Candidate,
    ConsentSource,
    Interest,
    InterestStatus,
    MassEmail,
    MassEmailStatus,
)
from preferences.subscriptions import get_or_create_candidate, opt_in_mass_email, subscribe
from preferences.tokens import LinkPurpose, make_link_token
from tests.conftest import TEST_SECRET, make_settings
from tests.mailer.test_snapshots import SAMPLE_CONTEXT, sample_context
from tests.saved_search_seed import seed_search

from .helpers import add_interest, add_job, csrf_token, emailed_link
from .pseudo_locale import PSEUDO_LOCALE, find_leaks, pseudo, visible_texts, write_pseudo_catalog
from .test_connect_uploads import upload

EMAIL = "ana@example.com"
PASSWORD = "a long enough passphrase"
RESUME = b"Ana Silva\nana@example.com\nBerlin, Germany\nDesign\nProduct design, user research\n"
# What the walk's pages show that nobody translates: the seeded people, jobs and
# interests (recruiter-written), the company's settings (tests.conftest.make_settings).
DATA = (
    "Ana",
    "Silva",
    EMAIL,
    "Acme Careers",
    "Acme",
    "1 Test Street, Testville",
    "Design",
    "All about Design.",
    "Research",
    "All about Research.",
    "Product Designer",
    "Data Designer",
    "Berlin, Germany",
    "A role on a friendly team.",
    "Good benefits.",
    "designer",
    "nothing-like-this",
    "python",
    "Berlin",
    "resume.txt",
    "Product design, user research",
    "new.ana@example.com",
    "“week”",
    "“nowhere”",
    "“never”",
)


@pytest.fixture(scope="module")
def pseudo_catalogs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The pseudo catalog, written for this module and found by the app and the mailer."""
    directory = write_pseudo_catalog(tmp_path_factory.mktemp("pseudo-translations"))
    add_catalog_directory(directory)
    yield directory
    remove_catalog_directory(directory)


@pytest.fixture
def settings(pseudo_catalogs: Path, tmp_path: Path, database_url: str) -> Settings:
    """The test settings with the pseudo-locale among the candidates' languages."""
    return make_settings(tmp_path, database_url, SUPPORTED_LOCALES=f"en,{PSEUDO_LOCALE}")


@dataclass(frozen=True)
class World:
    """Ana (a member with a password, in the pseudo-locale), an interest and two jobs."""

    candidate_id: int
    interest_id: int
    job_id: int
    preferences_token: str


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with session_scope(sessions) as session:
        design = add_interest(session, "Design", position=1)
        job = add_job(session, "Product Designer", interests=[design])
        job.employment_type = EmploymentType.FULL_TIME
        job.workplace = Workplace.ON_SITE
        job.salary_min = Decimal("55000")
        job.salary_max = Decimal("70000")
        job.salary_currency = "EUR"
        job.salary_period = SalaryPeriod.YEAR
        add_job(session, "Data Designer", interests=[design])
        candidate, _ = get_or_create_candidate(session, EMAIL, first_name="Ana", last_name="Silva")
        candidate.locale = PSEUDO_LOCALE
        candidate.email_verified_at = now()
        set_password(candidate, PASSWORD)
        subscribe(session, candidate, design, source=ConsentSource.CONNECT_FORM, confirmed=True)
        opt_in_mass_email(session, candidate, source=ConsentSource.CONNECT_FORM)
        seed_search(session, candidate, "python", "Berlin", workplace=Workplace.REMOTE)
        token = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, candidate)
        return World(candidate.id, design.id, job.id, token)


class Walk:
    """Visits pages, keeping every leak per page (a test asserts once, listing them all)."""

    def __init__(self, client: FlaskClient, data: tuple[str, ...] = ()) -> None:
        self.client = client
        self.data = (*DATA, *data)
        self.leaks: dict[str, list[str]] = {}

    def check(self, name: str, response: TestResponse, status: int = 200) -> TestResponse:
        assert response.status_code == status, (name, response.status_code, response.text)
        if 300 <= status < 400:
            return response  # a redirect: nobody reads its body
        assert f'<html lang="{PSEUDO_LOCALE}"' in response.text, name
        found = find_leaks(visible_texts(response.text), self.data)
        if found:
            self.leaks[name] = found
        return response

    def get(self, path: str, status: int = 200) -> TestResponse:
        return self.check(f"GET {path}", self.client.get(path), status)

    def post(
        self, path: str, data: dict[str, Any], status: int = 200, form_page: str | None = None
    ) -> TestResponse:
        """POST `data` with the CSRF token of `form_page` (default: `path`) and check it."""
        page = self.client.get(form_page or path)
        response = self.client.post(path, data={"csrf_token": csrf_token(page.text), **data})
        return self.check(f"POST {path} {sorted(data)}", response, status)

    def check_mail(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        expected: Collection[str] = (),
    ) -> None:
        """Render every email queued so far from its outbox row as the worker does (links
        signed, in the locale the worker would choose) and check subject, HTML and text."""
        mail = settings.mail_settings()
        renderer = Renderer(locales=mail.locales)
        with session_scope(sessions) as session:
            rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
            assert set(expected) <= {row.template for row in rows}, "expected mail not queued"
            for row in rows:
                candidate = session.get(Candidate, row.candidate_id) if row.candidate_id else None
                context = {
                    **mail.base_context(candidate.first_name or "" if candidate else ""),
                    **row.context,
                }
                sign_links(
                    context,
                    public_id=candidate.public_id if candidate else None,
                    secret_keys=settings.secret_keys,
                    base_url=settings.base_url,
                )
                locale = message_locale(
                    candidate.locale if candidate else None, row.context, mail.locales
                )
                email = renderer.render(row.template, context, locale)
                found = _email_leaks(email, DATA)
                if found:
                    self.leaks[f"email {row.template} ({row.to_address})"] = found

    def assert_clean(self) -> None:
        report = "\n".join(
            f"{page}:\n" + "\n".join(f"    {text!r}" for text in texts)
            for page, texts in self.leaks.items()
        )
        assert not self.leaks, f"text not from the catalog:\n{report}"


_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
_INPUT = re.compile(r"<input\b[^>]*>")


def _attribute(tag: str, name: str) -> str:
    found = re.search(rf'\b{name}="([^"]*)"', tag)
    return html.unescape(found.group(1)) if found else ""


def form_on(page: str, action_part: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the first form on `page` whose action has `action_part`."""
    for attributes, body in _FORM.findall(page):
        action = _attribute(attributes, "action")
        if action_part in action:
            hidden = {
                _attribute(tag, "name"): _attribute(tag, "value")
                for tag in _INPUT.findall(body)
                if _attribute(tag, "type") == "hidden"
            }
            return action, hidden
    raise AssertionError(f"no form posting to {action_part!r}")


@pytest.fixture
def walk(client: FlaskClient) -> Walk:
    # The visitor chose the pseudo-locale (the cookie keeps it for the pages that follow).
    client.get(f"/?lang={PSEUDO_LOCALE}")
    return Walk(client)


def test_the_pseudo_catalog_keeps_placeholders_tags_and_entities() -> None:
    """Only text is accented: placeholders, markup and entities stay as they were."""
    text = pseudo('Hello %(name)s, <a href="%(url)s">see {count} jobs</a> &amp; more')
    assert text.startswith("⟦") and text.endswith("⟧")
    for kept in ("%(name)s", '<a href="%(url)s">', "{count}", "</a>", "&amp;"):
        assert kept in text
    assert "Hello" not in text and "jobs" not in text and "more" not in text
    assert len(text) >= 1.4 * len("Hello %(name)s, see {count} jobs & more")


def test_the_checker_reports_an_unmarked_string_in_a_rendered_template(
    app: Flask, world: World
) -> None:
    """A template with one marked and one unmarked string: only the unmarked one leaks."""
    template = (
        '<html lang="{{ page_locale }}"><body><h1>{{ _("Log in") }}</h1>'
        "<p>Forgotten text</p><p>{{ name }}</p>"
        '<input type="submit" value="Send it"><img alt="{{ _("Log in") }}">'
        '<a lang="en">English</a><script>var ignored = "script";</script>'
        '<button data-confirm="Really?" data-hide-label="{{ _("Log in") }}">x</button>'
        "</body></html>"
    )
    with app.test_request_context(f"/?lang={PSEUDO_LOCALE}"):
        page = app.jinja_env.from_string(template).render(name="Ana")
    assert "Log in" not in page
    assert find_leaks(visible_texts(page), DATA) == ["Forgotten text", "Send it", "Really?"]


def test_public_pages_and_error_pages(
    walk: Walk, world: World, sessions: sessionmaker[Session], settings: Settings
) -> None:
    """Home, job search (results, none, filters), a job, sign-in, "email me jobs like this"
    and its confirmation link, and the error pages (404, 405, 400, expired link)."""
    walk.get("/")
    walk.get("/jobs")
    walk.get("/jobs?q=designer")
    walk.get("/jobs?q=nothing-like-this")
    walk.get("/jobs?workplace=on_site&type=full_time&posted=week&location=Berlin")
    walk.get("/jobs?workplace=nowhere&type=never&q=" + "designer+" * 40)  # dropped, noted
    walk.get(f"/jobs/{world.job_id}")
    walk.get("/jobs/999999", status=404)
    walk.get("/no-such-page", status=404)
    walk.get("/preferences/not-a-valid-token", status=400)
    walk.get("/login")
    walk.post("/login", {"email": EMAIL, "password": "", "action": "password"}, status=400)
    walk.post("/login", {"email": EMAIL, "password": "wrong one", "action": "password"}, 400)
    walk.get("/login/forgot")
    walk.post("/login/forgot", {"email": EMAIL})
    walk.get("/jobs/save?q=designer")
    walk.post(
        "/jobs/save",
        {"q": "designer", "frequency": "daily", "email": "zoe@example.com"},
        status=400,
        form_page="/jobs/save?q=designer",
    )
    walk.post(
        "/jobs/save",
        {"q": "designer", "frequency": "daily", "email": "zoe@example.com", "consent": "yes"},
        form_page="/jobs/save?q=designer",
    )
    with session_scope(sessions) as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "saved_search_confirm")
        ).one()
        confirm_path = emailed_link(session, row, "confirm_url").removeprefix(settings.base_url)
    page = walk.get(confirm_path)
    walk.check(
        "POST saved search confirmation",
        walk.client.post(confirm_path, data={"csrf_token": csrf_token(page.text)}),
        status=200,
    )
    with frozen(now() + timedelta(days=60)):
        walk.get(confirm_path, status=410)
    walk.get("/logout", status=405)
    feed = walk.client.get("/jobs.atom")  # a feed reader's view of the jobs, in the language
    assert feed.status_code == 200 and f'xml:lang="{PSEUDO_LOCALE}"' in feed.text
    feed_title = re.findall(r"<title>(.*?)</title>", feed.text)[:1]  # the feed's, not a job's
    summaries = re.findall(r"<summary>(.*?)</summary>", feed.text)
    if found := find_leaks(map(html.unescape, feed_title + summaries), walk.data):
        walk.leaks["GET /jobs.atom"] = found
    walk.check("POST without a form token", walk.client.post("/connect/details", data={}), 400)
    walk.check_mail(sessions, settings, expected={"saved_search_confirm"})
    walk.assert_clean()


def test_the_connect_flow_every_step_and_its_errors(
    walk: Walk, world: World, sessions: sessionmaker[Session], settings: Settings
) -> None:
    """Start, details (with an error), interests and a detail, resume, review, thanks."""
    walk.get("/connect")
    walk.get("/connect/details")
    walk.post(
        "/connect/details",
        {"first_name": "Ana", "last_name": "Silva", "email": "not-an-address"},
        status=400,
    )
    walk.post(
        "/connect/details",
        {"first_name": "Ana", "last_name": "Silva", "email": "new.ana@example.com"},
        status=302,
    )
    walk.get("/connect/interests")
    walk.get("/connect/interests/design")
    walk.post("/connect/interests", {}, status=400)
    walk.post("/connect/interests", {"interest": str(world.interest_id)}, status=302)
    walk.get("/connect/resume")
    walk.check(
        "POST /connect/resume (wrong type)",
        walk.client.post(
            "/connect/resume",
            data={
                "csrf_token": csrf_token(walk.client.get("/connect/resume").text),
                "resume": (io.BytesIO(b"\x00\x01binary"), "resume.exe"),
            },
            content_type="multipart/form-data",
        ),
        status=400,
    )
    uploaded = walk.client.post(
        "/connect/resume",
        data={
            "csrf_token": csrf_token(walk.client.get("/connect/resume").text),
            "resume": (io.BytesIO(RESUME), "resume.txt"),
        },
        content_type="multipart/form-data",
    )
    walk.check("POST /connect/resume", uploaded, status=302)
    review = walk.get("/connect/review")  # with what was read from the resume
    walk.check(
        "POST /connect/review add_suggested",
        walk.client.post(
            "/connect/review",
            data={"csrf_token": csrf_token(review.text), "action": "add_suggested"},
        ),
        status=200,
    )
    review = walk.get("/connect/review")
    form = {
        "first_name": "Ana",
        "last_name": "Silva",
        "email": "new.ana@example.com",
        "interest": str(world.interest_id),
        "action": "submit",
    }
    refused = walk.client.post(
        "/connect/review", data={"csrf_token": csrf_token(review.text), **form, "email": "x"}
    )
    walk.check("POST /connect/review (bad email)", refused, status=400)
    done = walk.client.post(
        "/connect/review",
        data={"csrf_token": csrf_token(review.text), **form, "alerts": "yes", "mass_email": "yes"},
    )
    walk.check("POST /connect/review", done, status=302)
    walk.get("/connect/thanks")
    walk.get("/connect/confirm/resend")
    walk.post("/connect/confirm/resend", {"email": "new.ana@example.com"})
    # Again with a member's address and an interest new to her: the same pages, and an
    # email offering what she may confirm.
    with session_scope(sessions) as session:
        research = add_interest(session, "Research", position=2).id
    details = {"first_name": "Ana", "last_name": "Silva", "email": EMAIL}
    walk.post("/connect/details", details, status=302)
    walk.post("/connect/interests", {"interest": str(research)}, status=302)
    review = walk.get("/connect/review")
    again = walk.client.post(
        "/connect/review",
        data={
            "csrf_token": csrf_token(review.text),
            **details,
            "interest": str(research),
            "alerts": "yes",
            "action": "submit",
        },
    )
    walk.check("POST /connect/review (a member's address)", again, status=302)
    walk.get("/connect/thanks")
    walk.check_mail(sessions, settings, expected={"confirmation", "connect_existing"})
    walk.assert_clean()


def test_signed_links_preference_center_and_unsubscribe(
    walk: Walk, world: World, sessions: sessionmaker[Session], settings: Settings
) -> None:
    """The preference center (the mass-email warning and what continues, a field error,
    the saved summary), one-click unsubscribe, the language form, expired and resend pages."""
    center = f"/preferences/{world.preferences_token}"
    walk.get(center)
    keep = {"interest": [str(world.interest_id)]}
    walk.post(center, keep)  # mass email unticked: the warning step
    pause = {f"pause-{world.interest_id}": now().date().isoformat(), "mass_email": "yes"}
    walk.post(center, {**keep, **pause}, status=400)
    walk.post(center, {**keep, "confirm_mass_email_off": "yes"})
    later = (now() + timedelta(days=40)).date().isoformat()
    saved = walk.post(center, {**keep, f"pause-{world.interest_id}": later})
    undo_action, undo_fields = form_on(saved.text, "/undo")
    walk.check("POST undo", walk.client.post(undo_action, data=undo_fields), 200)
    walk.post(center, {**keep, f"pause-{world.interest_id}": later})
    page = walk.get(center)  # paused until a date, mass email off, a saved search
    search_action, search_fields = form_on(page.text, "/searches/")
    for action in ("pause", "frequency", "remove"):
        posted = walk.client.post(
            search_action, data={**search_fields, "action": action, "frequency": "weekly"}
        )
        walk.check(f"POST saved search {action}", posted, posted.status_code)
        page = walk.get(center)
        if "/searches/" in page.text:
            search_action, search_fields = form_on(page.text, "/searches/")
    walk.get("/preferences/resend")
    walk.post("/preferences/resend", {"email": EMAIL})
    with frozen(now() + timedelta(days=91)):
        walk.get(center, status=410)
    with session_scope(sessions) as session:
        candidate = session.get_one(Candidate, world.candidate_id)
        unsubscribe = one_click_url(settings, candidate, f"interest:{world.interest_id}")
        confirm = make_link_token([TEST_SECRET], LinkPurpose.CONFIRM_EMAIL, candidate)
    unsubscribe_path = unsubscribe.removeprefix(settings.base_url)
    walk.get(unsubscribe_path)
    walk.check("POST one-click (no field)", walk.client.post(unsubscribe_path, data={}), 400)
    one_click = {"List-Unsubscribe": "One-Click"}
    walk.check("POST one-click", walk.client.post(unsubscribe_path, data=one_click))
    walk.check("POST one-click again", walk.client.post(unsubscribe_path, data=one_click))
    with session_scope(sessions) as session:
        candidate = session.get_one(Candidate, world.candidate_id)
        mass = one_click_url(settings, candidate, "mass_email").removeprefix(settings.base_url)
        session.get_one(Interest, world.interest_id).status = InterestStatus.RETIRED
    walk.get(mass)
    walk.check("POST one-click mass email", walk.client.post(mass, data=one_click))
    walk.get(unsubscribe_path, status=400)  # the list has closed
    with frozen(now() + timedelta(days=200)):
        walk.get(unsubscribe_path, status=410)
        walk.get(f"/connect/confirm/{confirm}", status=410)
    walk.get(f"/connect/confirm/{confirm}")
    walk.get(f"/login/link/{confirm}", status=400)  # a link of another purpose
    walk.post("/login", {"email": EMAIL, "action": "link"})
    with session_scope(sessions) as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "login_link")
        ).one()
        login = emailed_link(session, row, "login_url")
    walk.get(login.removeprefix(settings.base_url))
    walk.check_mail(sessions, settings, expected={"login_link", "preference_link"})
    page = walk.get(center)
    action, fields = form_on(page.text, "/language")
    chosen = walk.client.post(
        action, data={**fields, "language": PSEUDO_LOCALE}, follow_redirects=True
    )
    walk.check("POST the language form (and the page it returns to)", chosen)
    walk.assert_clean()


def test_the_keep_me_page_of_a_re_permission_email(
    walk: Walk, world: World, sessions: sessionmaker[Session]
) -> None:
    """The "Keep me" page (the question, the confirmation after the button, a second keep),
    and its tampered and expired links."""
    with session_scope(sessions) as session:
        candidate = session.get_one(Candidate, world.candidate_id)
        stay = f"/stay/{make_link_token([TEST_SECRET], LinkPurpose.STAY, candidate)}"
    walk.get(stay)
    walk.post(stay, {})
    walk.post(stay, {})
    walk.get(stay + "x", status=400)
    with frozen(now() + timedelta(days=401)):
        walk.get(stay, status=410)
    walk.assert_clean()


def test_the_dashboard_and_its_pages(
    walk: Walk, world: World, sessions: sessionmaker[Session], settings: Settings
) -> None:
    """Signed in with a password: the dashboard, preferences, profile, resume, delete."""
    walk.post("/login", {"email": EMAIL, "password": PASSWORD, "action": "password"}, 302)
    walk.get("/dashboard")
    walk.get("/dashboard/preferences")
    walk.post("/dashboard/preferences", {"interest": [str(world.interest_id)]})
    resume = {"resume": (io.BytesIO(b"Ana Silva\nDesigner in Berlin\n"), "resume.txt")}
    uploaded = walk.client.post(
        "/dashboard/resume",
        data={"csrf_token": csrf_token(walk.get("/dashboard").text), **resume},
        content_type="multipart/form-data",
    )
    walk.check("POST /dashboard/resume", uploaded, status=302)
    walk.get("/dashboard")  # with the resume's name, size and date
    walk.get("/dashboard/resume/delete")
    wrong_type = {"resume": (io.BytesIO(b"\x00\x01binary"), "resume.exe")}
    refused = walk.client.post(
        "/dashboard/resume",
        data={"csrf_token": csrf_token(walk.get("/dashboard").text), **wrong_type},
        content_type="multipart/form-data",
    )
    walk.check("POST /dashboard/resume (wrong type)", refused, refused.status_code)
    token = csrf_token(walk.get("/dashboard").text)
    mismatch = {"csrf_token": token, "password": "one new passphrase", "confirm": "another"}
    walk.client.post("/dashboard/password", data=mismatch)
    walk.get("/dashboard")  # the password form's error
    page = walk.get("/dashboard")
    action, fields = form_on(page.text, "/language")
    chosen = walk.client.post(
        action, data={**fields, "language": PSEUDO_LOCALE}, follow_redirects=True
    )
    walk.check("POST the dashboard's language form", chosen)
    walk.get("/dashboard/profile")
    walk.post("/dashboard/profile", {"first_name": "", "last_name": "Silva"}, status=400)
    walk.post("/dashboard/profile", {"first_name": "Ana", "last_name": "Silva"}, status=302)
    walk.get("/dashboard")  # "Your profile is saved."
    walk.get("/dashboard/delete")
    walk.post("/dashboard/delete", {}, status=400)
    page = walk.get("/dashboard/preferences")
    search_action, search_fields = form_on(page.text, "/searches/")
    posted = walk.client.post(search_action, data={**search_fields, "action": "pause"})
    walk.check("POST dashboard saved search", posted, posted.status_code)
    walk.post("/dashboard/preferences", {"interest": []})
    walk.get("/dashboard")
    token = csrf_token(walk.get("/dashboard").text)
    walk.client.post("/dashboard/signout-everywhere", data={"csrf_token": token})
    walk.get("/login")  # signed out everywhere
    walk.post("/login", {"email": EMAIL, "password": PASSWORD, "action": "password"}, 302)
    walk.post("/dashboard/delete", {"confirm": "yes"})
    walk.get("/")  # after the farewell
    walk.check_mail(sessions, settings, expected={"account_deleted"})
    walk.assert_clean()


def _email_leaks(email: RenderedEmail, data: tuple[str, ...]) -> list[str]:
    texts = [email.subject, *visible_texts(email.html), *email.text.splitlines()]
    return find_leaks([" ".join(t.split()) for t in texts if t.strip()], data)


# What the sample context holds that nobody translates; its prose built in Python
# (`reason`, the search's words) is translated by `sample_context` and checked.
_SAMPLE_DATA_KEYS = ("company_name", "first_name", "postal_address", "from_interest")
_SAMPLE_DATA_KEYS += ("to_interest", "subject")


def _sample_data() -> tuple[str, ...]:
    """The sample context's data: names, job titles, interests, the campaign's own text."""
    values: list[str] = [*DATA, *(SAMPLE_CONTEXT[key] for key in _SAMPLE_DATA_KEYS)]
    values.extend(SAMPLE_CONTEXT["interests"])
    for job in SAMPLE_CONTEXT["jobs"]:
        values.extend([job["title"], job["location"], *job["matched"]])
    # The campaign's body is recruiter-written: its lines and the HTML's text nodes.
    values.extend(SAMPLE_CONTEXT["body_text"].splitlines())
    values.extend(visible_texts(SAMPLE_CONTEXT["body_html"]))
    values.extend(["python", "Berlin"])  # the saved search's own words
    return tuple(values)


@pytest.mark.parametrize("name", [n for n in template_names() if n not in STAFF_TEMPLATES])
def test_every_email_template(pseudo_catalogs: Path, name: str) -> None:
    """Each email (subject, HTML, text part) in the pseudo-locale, with the sample context."""
    assert translations(PSEUDO_LOCALE).gettext("Unsubscribe") == pseudo("Unsubscribe")
    renderer = Renderer(locales=("en", PSEUDO_LOCALE))
    email = renderer.render(name, sample_context(PSEUDO_LOCALE), PSEUDO_LOCALE)
    leaks = _email_leaks(email, _sample_data())
    assert not leaks, f"{name}: text not from the catalog:\n" + "\n".join(map(repr, leaks))


def test_the_emails_the_pages_queue(
    walk: Walk, world: World, sessions: sessionmaker[Session], settings: Settings
) -> None:
    """The sign-in and preference-link mail, and the saved-search confirmation to a member,
    rendered from their outbox rows as the worker does."""
    walk.post("/login", {"email": EMAIL, "action": "link"}, status=200)
    walk.post("/preferences/resend", {"email": EMAIL})
    walk.post("/login/forgot", {"email": EMAIL})
    walk.post(
        "/jobs/save",
        {"q": "designer", "frequency": "daily", "email": EMAIL, "consent": "yes"},
        form_page="/jobs/save?q=designer",
    )
    walk.check_mail(sessions, settings, expected={"login_link", "preference_link"})
    walk.assert_clean()


def _parts_of(email: EmailMessage) -> tuple[str, str]:
    text = body = ""
    for part in email.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_content()
        elif part.get_content_type() == "text/html":
            body = part.get_content()
    return text, body


def test_a_digest_and_a_campaign_through_the_worker(
    pseudo_catalogs: Path, engine: Engine, smtp_server: MailSink
) -> None:
    """A job-alert digest (an interest and a saved search) and a campaign, built and sent
    by the real worker to a candidate whose language is the pseudo-locale."""
    sessions = make_session_factory(engine)
    mail = MailSettings(
        mail_from="Acme Careers <careers@acme.example.com>",
        company_name="Acme",
        base_url="https://careers.acme.example.com",
        postal_address="1 Test Street, Testville",
        secret_keys=(TEST_SECRET,),
        locales=("en", PSEUDO_LOCALE),
    )
    with session_scope(sessions) as session:
        design = add_interest(session, "Design")
        job = add_job(session, "Product Designer", interests=[design])
        campaign = Campaign(
            name="Berlin", subject="Meet Acme in Berlin", body="Join us.", audience={}
        )
        session.add(campaign)
        candidate = Candidate(email=EMAIL, first_name="Ana", locale=PSEUDO_LOCALE)
        candidate.email_verified_at = now()
        session.add(candidate)
        session.flush()
        session.add(MassEmailStatus(candidate_id=candidate.id, status=MassEmail.OPTED_IN))
        subscribe(session, candidate, design, source=ConsentSource.IMPORT, confirmed=True)
        search = seed_search(session, candidate, "python", "Berlin")
        context = {
            "interest_ids": [design.id],
            "search_ids": [search.id],
            "job_ids": [job.id],
            "job_searches": {str(job.id): [search.id]},
            "more_count": 2,
        }
        enqueue(
            session,
            kind=MessageKind.JOB_ALERT,
            template="job_alert",
            to_address=EMAIL,
            dedupe_key="digest",
            candidate_id=candidate.id,
            context=context,
        )
        enqueue(
            session,
            kind=MessageKind.CAMPAIGN,
            template="campaign",
            to_address=EMAIL,
            dedupe_key="campaign",
            candidate_id=candidate.id,
            context={"campaign_id": campaign.id},
        )
    worker = OutboxWorker(
        sessions,
        lambda: SmtpSender(SmtpTarget.from_url(f"{smtp_server.url}?timeout=5")),
        mail,
        worker_id="pseudo",
        batch_size=10,
        lease=timedelta(minutes=5),
        context_sources={MessageKind.JOB_ALERT: digest_context},
    )
    assert worker.run_once().sent == 2
    assert isinstance(smtp_server.store, MemoryStore)
    leaks: dict[str, list[str]] = {}
    data = (*DATA, "Meet Acme in Berlin", "Join us.", "“python”")
    for message in smtp_server.store.wait_for(2):
        email = message.parsed()
        text, body = _parts_of(email)
        texts = [str(email["Subject"]), *visible_texts(body), *text.splitlines()]
        found = find_leaks([" ".join(t.split()) for t in texts if t.strip()], data)
        if found:
            leaks[str(email["Subject"])] = found
    assert not leaks, f"text not from the catalog: {leaks}"


def test_social_sign_in_and_resume_import_buttons(
    pseudo_catalogs: Path, tmp_path: Path, database_url: str
) -> None:
    """With social login and the Drive and Dropbox pickers configured, the pages that
    offer them (connect, sign-in, the resume step) are in the pseudo-locale too, and so is
    the 413 page of an upload over MAX_UPLOAD_MB."""
    providers = [
        {"name": name, "client_id": "id", "client_secret": "secret"}
        for name in ("google", "linkedin", "microsoft")
    ]
    configured = make_settings(
        tmp_path,
        database_url,
        SUPPORTED_LOCALES=f"en,{PSEUDO_LOCALE}",
        OIDC_PROVIDERS=json.dumps(providers),
        GOOGLE_API_KEY="api-key",
        GOOGLE_CLIENT_ID="client-id",
        DROPBOX_APP_KEY="app-key",
        MAX_UPLOAD_MB="1",
    )
    application = create_app(configured)
    application.config["TESTING"] = True
    try:
        # The providers' and services' own names are brands, written as they are.
        brands = ("Google Drive", "Google", "LinkedIn", "Microsoft", "Dropbox")
        walk = Walk(application.test_client(), brands)
        walk.get(f"/?lang={PSEUDO_LOCALE}")
        walk.get("/connect")
        walk.get("/login")
        walk.post(
            "/connect/details",
            {"first_name": "Ana", "last_name": "Silva", "email": "new.ana@example.com"},
            status=302,
        )
        walk.get("/connect/resume")
        refused = upload(walk.client, "resume.pdf", b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024))
        walk.check("POST /connect/resume (over the request limit)", refused, status=413)
        walk.assert_clean()
    finally:
        application.extensions["talentconnect"].engine.dispose()
