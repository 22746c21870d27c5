"""Interest names per language: edited on the console's tabs, shown to candidates in theirs."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from portal.auth.accounts import set_password
from portal.config import Settings
from portal.web.links import one_click_url
from preferences.db import session_scope
from preferences.models import (
    AuditEvent,
    Candidate,
    ConsentSource,
    Interest,
    InterestTranslation,
)
from preferences.subscriptions import get_or_create_candidate, subscribe
from preferences.tokens import LinkPurpose, make_link_token
from tests.conftest import TEST_SECRET

from .helpers import add_interest, add_job, csrf_token, login

EMAIL = "ana@example.com"
PASSWORD = "a long enough passphrase"


@dataclass(frozen=True)
class World:
    design: int
    sales: int
    english_job: int
    spanish_job: int
    token: str


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    """Design (translated to Spanish), Sales (not translated); a job in English and one in
    Spanish, both Design; Ana, subscribed to both interests."""
    with session_scope(sessions) as session:
        design = add_interest(session, "Design", position=1)
        sales = add_interest(session, "Sales", position=2)
        session.add(
            InterestTranslation(
                interest_id=design.id, locale="es", name="Diseño", details="Todo sobre diseño."
            )
        )
        english = add_job(session, "Product Designer", interests=[design, sales])
        english.language = "en"
        spanish = add_job(session, "Diseñadora de producto", interests=[design])
        spanish.language = "es"
        candidate, _ = get_or_create_candidate(session, EMAIL, first_name="Ana")
        set_password(candidate, PASSWORD)
        for interest in (design, sales):
            subscribe(
                session, candidate, interest, source=ConsentSource.CONNECT_FORM, confirmed=True
            )
        token = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, candidate)
        return World(design.id, sales.id, english.id, spanish.id, token)


def _text(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return html.unescape(response.get_data(as_text=True))


def _main(text: str) -> str:
    return text[text.index('<main id="main"') : text.index("</main>")]


@contextmanager
def translation_queries(app: Flask) -> Iterator[list[str]]:
    """The SQL statements that read interest_translations while the block runs."""
    engine = app.extensions["talentconnect"].engine
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "interest_translations" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


# ---- candidates see their language, or the default --------------------------------------


def test_job_search_and_job_pages_show_spanish_names_and_the_language_note(
    app: Flask, client: FlaskClient, world: World
) -> None:
    """/jobs in Spanish: the area filter, the job cards' tags and the heading say "Diseño",
    Sales (untranslated) keeps its name, the English posting says "(en inglés)" and the
    Spanish one nothing; all with one read of the translations."""
    with translation_queries(app) as queries:
        page = _main(_text(client, "/jobs?interest=design&lang=es"))
    assert len(queries) == 1
    assert "<h1>Ofertas de Diseño</h1>" in page
    assert re.search(r'<option value="design"[^>]*>\s*Diseño', page)
    assert re.search(r'<option value="sales"[^>]*>\s*Sales', page)
    assert '<li class="tag">Diseño</li>' in page
    assert '<li class="tag">Sales</li>' in page
    assert '<li class="tag">Design</li>' not in page
    cards = page.split('<li class="job-card">')[1:]
    english = next(c for c in cards if "Product Designer" in c)
    spanish = next(c for c in cards if "Diseñadora de producto" in c)
    assert (
        '<bdi lang="en">Product Designer</bdi> <span class="job-language">(en inglés)</span>'
        in english
    )
    assert "job-language" not in spanish

    detail = _main(_text(client, f"/jobs/{world.english_job}?lang=es"))
    assert "(en inglés)" in detail
    assert ">Diseño</a>" in detail and ">Sales</a>" in detail
    assert "(en inglés)" not in _main(_text(client, f"/jobs/{world.spanish_job}?lang=es"))


def test_pages_in_the_default_language_or_an_untranslated_one_show_the_default(
    app: Flask, client: FlaskClient, world: World
) -> None:
    """English reads no translations and shows "Design"; German has none and falls back to
    the default names, while saying the Spanish posting is "(auf Spanisch)"."""
    with translation_queries(app) as queries:
        english = _main(_text(client, "/jobs"))
    assert queries == []
    assert '<li class="tag">Design</li>' in english and "Diseño" not in english
    assert "(in Spanish)" in english and "(in English)" not in english
    german = _main(_text(client, "/jobs?lang=de"))
    assert '<li class="tag">Design</li>' in german and "Diseño" not in german
    assert "(auf Spanisch)" in german and "(auf Englisch)" in german


def test_home_and_the_connect_interest_details_in_spanish(
    client: FlaskClient, world: World
) -> None:
    """The home page's areas and an interest's "Show Details" page use the Spanish name and
    details; an untranslated interest shows its default details."""
    home = _main(_text(client, "/?lang=es"))
    assert ">Diseño</a>" in home and ">Sales</a>" in home
    detail = _main(_text(client, "/connect/interests/design?lang=es"))
    assert "<h1>Diseño</h1>" in detail and "Todo sobre diseño." in detail
    sales = _main(_text(client, "/connect/interests/sales?lang=es"))
    assert "<h1>Sales</h1>" in sales and "All about Sales." in sales


def test_the_connect_flows_interest_choices_are_in_spanish(
    client: FlaskClient, world: World
) -> None:
    """The interests step lists "Diseño" with its Spanish details, and Sales as it is."""
    page = client.get("/connect/details?lang=es")
    response = client.post(
        "/connect/details",
        data={
            "csrf_token": csrf_token(page.text),
            "first_name": "Bea",
            "last_name": "Ruiz",
            "email": "bea@example.com",
        },
    )
    assert response.status_code == 302
    interests = _main(_text(client, "/connect/interests"))
    assert f'<label for="interest-{world.design}">Diseño</label>' in interests
    assert "Todo sobre diseño." in interests and "All about Design." not in interests
    assert f'<label for="interest-{world.sales}">Sales</label>' in interests


def test_the_preference_center_and_one_click_page_name_interests_in_spanish(
    app: Flask,
    client: FlaskClient,
    settings: Settings,
    sessions: sessionmaker[Session],
    world: World,
) -> None:
    """The signed preference page's rows and the one-click page say "Diseño"; the summary
    after a Save names it in Spanish too; each page reads the translations once."""
    with translation_queries(app) as queries:
        page = _text(client, f"/preferences/{world.token}?lang=es")
    assert len(queries) == 1
    assert f'<label for="interest-{world.design}">Diseño' in page
    assert f'<label for="interest-{world.sales}">Sales' in page
    saved = client.post(
        f"/preferences/{world.token}?lang=es",
        data={
            "csrf_token": csrf_token(page),
            "interest": [str(world.sales)],
            f"frequency-{world.sales}": "daily",
            f"frequency-{world.design}": "daily",
        },
    )
    assert "Se detuvieron las alertas de empleo de Diseño." in html.unescape(saved.text)
    with session_scope(sessions) as session:
        candidate = session.scalars(select(Candidate)).one()
        path = one_click_url(settings, candidate, f"interest:{world.sales}")
        both = one_click_url(settings, candidate, f"interests:{world.design}.{world.sales}")
    confirm = _text(client, path.removeprefix(settings.base_url) + "?lang=es")
    assert "¿Darte de baja de las alertas de empleo de Sales?" in confirm
    several = _text(client, both.removeprefix(settings.base_url) + "?lang=es")
    assert "Diseño" in several and "Design" not in _main(several)


def test_the_dashboard_names_matches_in_spanish(client: FlaskClient, world: World) -> None:
    """The dashboard's "Matched:" line names the translated interest."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": EMAIL,
            "password": PASSWORD,
            "action": "password",
        },
    )
    assert response.status_code == 302
    home = _main(_text(client, "/dashboard?lang=es"))
    assert "Coincide con: Diseño, Sales" in home
    assert "Coincide con: Design" not in home


# ---- the console: one tab per language ----------------------------------------------------


def _translations(sessions: sessionmaker[Session]) -> list[tuple[int, str, str, str]]:
    with session_scope(sessions) as session:
        rows = session.scalars(select(InterestTranslation))
        return sorted((r.interest_id, r.locale, r.name, r.details) for r in rows)


def _audits(sessions: sessionmaker[Session]) -> list[tuple[str, str, Any]]:
    with session_scope(sessions) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == "interest.translated"))
        return [(r.actor, r.subject, r.detail) for r in rows]


def _edit_form(world: World, **changes: str) -> dict[str, str]:
    form = {
        "name": "Design",
        "details": "All about Design.",
        "keywords": "design",
        "name_es": "Diseño",
        "details_es": "Todo sobre diseño.",
        "name_de": "",
        "details_de": "",
        "name_fr": "",
        "details_fr": "",
        "name_ar": "",
        "details_ar": "",
    }
    form.update(changes)
    return form


def test_the_edit_page_has_a_fieldset_per_language_and_saves_them(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    world: World,
) -> None:
    """Each supported language is a fieldset under its heading (the default first, in
    English); a Save stores the filled ones, empties delete, and the change is audited."""
    assert login(client, *recruiter).status_code == 302
    url = f"/admin/interests/{world.design}/edit"
    page = client.get(url)
    assert page.status_code == 200
    text = html.unescape(page.text)
    headings = re.findall(r'<h2 class="language-panel-title">([^<]+)</h2>', text)
    assert headings == ["English (default)", "Spanish", "German", "French", "Arabic"]
    assert text.count("<fieldset") >= 5 and "campaign_languages.js" in text
    assert 'name="name_es"' in text and 'value="Diseño"' in text
    assert 'lang="ar"' in text and 'dir="auto"' in text
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(page.text),
            **_edit_form(
                world,
                name_es="",
                details_es="",
                name_de="Gestaltung",
                details_de="Alles über Gestaltung.",
                name_ar="التصميم",
            ),
        },
    )
    assert response.status_code == 302, response.text
    assert _translations(sessions) == [
        (world.design, "ar", "التصميم", ""),
        (world.design, "de", "Gestaltung", "Alles über Gestaltung."),
    ]
    [(actor, subject, detail)] = _audits(sessions)
    assert actor.startswith("recruiter:") and subject == f"interest:{world.design}"
    assert detail == {"locales": ["ar", "de", "es"]}
    again = html.unescape(client.get(url).text)
    assert 'value="Gestaltung"' in again and "Alles über Gestaltung." in again
    # Saving the same again changes nothing, so it audits nothing.
    unchanged = client.post(
        url,
        data={
            "csrf_token": csrf_token(again),
            **_edit_form(
                world,
                name_es="",
                details_es="",
                name_de="Gestaltung",
                details_de="Alles über Gestaltung.",
                name_ar="التصميم",
            ),
        },
    )
    assert unchanged.status_code == 302
    assert len(_audits(sessions)) == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name_es": "x" * 121}, "name_es", "at most 120"),
        ({"name_es": "SALES TEAM", "name": "Design"}, None, None),  # valid: the control case
        ({"name_de": "Ven\x00tas"}, "name_de", None),
        ({"name_fr": "", "details_fr": "Tout sur le design."}, "name_fr", "Enter a name"),
        ({"name": "", "name_de": "Gestaltung"}, "name", None),
        ({"details_ar": "x" * 5001}, "details_ar", "at most 5000"),
    ],
)
def test_invalid_translations_are_refused_and_nothing_is_stored(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    world: World,
    changes: dict[str, str],
    field: str | None,
    message: str | None,
) -> None:
    """A bad field fails the whole Save with a message at that field: the name, the other
    languages and the audit log stay as they were."""
    assert login(client, *recruiter).status_code == 302
    url = f"/admin/interests/{world.design}/edit"
    page = client.get(url)
    before = _translations(sessions)
    response = client.post(
        url, data={"csrf_token": csrf_token(page.text), **_edit_form(world, **changes)}
    )
    if field is None:
        assert response.status_code == 302
        return
    assert response.status_code == 400
    text = html.unescape(response.text)
    assert f'id="error-{field}"' in text
    assert 'class="field field-invalid"' in text
    if message:
        assert message in text
    assert _translations(sessions) == before
    assert _audits(sessions) == []
    with session_scope(sessions) as session:
        assert session.get_one(Interest, world.design).name == "Design"


def test_a_save_without_a_languages_fields_keeps_that_language(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    world: World,
) -> None:
    """A form that leaves out the Spanish fields altogether (not emptied: absent) keeps the
    stored Spanish name; only the fields it carries change."""
    assert login(client, *recruiter).status_code == 302
    url = f"/admin/interests/{world.design}/edit"
    page = client.get(url)
    form = {
        "name": "Design",
        "details": "New details.",
        "keywords": "design",
        "name_de": "Gestaltung",
    }
    response = client.post(url, data={"csrf_token": csrf_token(page.text), **form})
    assert response.status_code == 302
    assert _translations(sessions) == [
        (world.design, "de", "Gestaltung", ""),
        (world.design, "es", "Diseño", "Todo sobre diseño."),
    ]


def test_a_name_another_interest_has_in_that_language_is_refused(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    world: World,
) -> None:
    """Sales cannot be called "diseño" in Spanish (Design is, whatever the case)."""
    assert login(client, *recruiter).status_code == 302
    url = f"/admin/interests/{world.sales}/edit"
    page = client.get(url)
    form = _edit_form(world, name="Sales", details="", keywords="sales", name_es="DISEÑO")
    response = client.post(url, data={"csrf_token": csrf_token(page.text), **form})
    assert response.status_code == 400
    assert "already called" in html.unescape(response.text)
    with session_scope(sessions) as session:
        count = session.scalar(
            select(func.count()).where(InterestTranslation.interest_id == world.sales)
        )
    assert count == 0


def test_the_demo_names_its_interests_in_spanish_once(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """The demo seeds a Spanish name and details for each of its interests, once however
    often it is seeded, and the Spanish home page shows them."""
    from portal.demo import INTERESTS, SPANISH, seed_demo

    assert set(SPANISH) == {name for name, _details, _keywords in INTERESTS}
    for _ in range(2):
        with session_scope(sessions) as session:
            seed_demo(session, history=False)
    with session_scope(sessions) as session:
        rows = session.scalars(select(InterestTranslation)).all()
        assert len(rows) == len(SPANISH) and {r.locale for r in rows} == {"es"}
    home = _main(_text(client, "/?lang=es"))
    assert ">Ingeniería de software</a>" in home and ">Software Engineering</a>" not in home
    assert ">Software Engineering</a>" in _main(_text(client, "/?lang=de"))
