# ruff: noqa: RUF001  (the pages are checked in their own typography)
"""The candidate's pages in Spanish, German, French and Arabic: home, jobs, a job, the
connect flow, sign-in and saved searches, with consent recorded in the words shown."""

from __future__ import annotations

import html
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jobs.posting_fields import EmploymentType, SalaryPeriod, Workplace
from mailer.models import OutboxMessage
from mailer.render import Renderer
from portal.app import create_app
from portal.connect.saved_search import SAVED_SEARCH_WORDING, saved_search_wording
from portal.connect.submit import (
    ALERTS_WORDING,
    MASS_EMAIL_WORDING,
    alerts_wording,
    mass_email_wording,
)
from preferences.db import session_scope
from preferences.models import Candidate, ConsentEvent, ConsentScope
from tests.conftest import make_settings

from .helpers import add_interest, add_job, csrf_token

LANGS = ("es", "de", "fr", "ar")

# A few words each page shows in each language (as the page has them, HTML-escaped).
EXPECTED: dict[str, dict[str, list[str]]] = {
    "es": {
        "home": [
            "Últimas ofertas",
            "Conecta con nosotros",
            "Ver las <bdi>2</bdi> ofertas",
            "puestos abiertos",
        ],
        "jobs": [
            "Ofertas abiertas",
            "<bdi>2</bdi> ofertas",
            "Filtrar ofertas",
            "Jornada completa (1)",
        ],
        "no_jobs": [
            "Ninguna oferta abierta coincide con tu búsqueda.",
            "Prueba a quitar un filtro:",
        ],
        "job": [
            "Postularse",
            "55.000\u00a0€–70.000\u00a0€ al año",
            "Publicado el",
            "Jornada completa",
        ],
        "start": ["Únete a nuestra comunidad de talento", "Empezar"],
        "details_error": [
            "Corrige esto",
            "Introduce una dirección de correo como name@example.com.",
        ],
        "interests": [
            "¿Qué te interesa?",
            "Mostrar detalles",
            'data-hide-label="Ocultar detalles"',
        ],
        "review": ["Revisa tu perfil", "Enviar perfil", "Nuestros correos"],
        "thanks": ["¡Gracias, Ana!", "Próximos pasos"],
        "login": ["Iniciar sesión", "Con tu correo", "¿Olvidaste tu contraseña?"],
        "save": ["Envíame ofertas como estas", "Frecuencia", "Una vez al día"],
        "save_error": ["Marca esta casilla para que podamos enviarte ofertas como estas."],
        "check_email": ["Revisa tu correo", "No se envía nada hasta que confirmes."],
    },
    "de": {
        "home": ["Neueste Stellen", "Vernetzen Sie sich mit uns", "Alle <bdi>2</bdi> Jobs ansehen"],
        "jobs": ["Offene Stellen", "<bdi>2</bdi> Jobs", "Jobs filtern", "Vollzeit (1)"],
        "no_jobs": ["Keine offene Stelle passt zu Ihrer Suche.", "Entfernen Sie einen Filter:"],
        "job": [
            "Bewerben",
            "55.000\u00a0€–70.000\u00a0€ pro Jahr",
            "Veröffentlicht am",
            "Vollzeit",
        ],
        "start": ["Treten Sie unserer Talent-Community bei", "Loslegen"],
        "details_error": [
            "Bitte korrigieren Sie Folgendes",
            "Geben Sie eine E-Mail-Adresse wie name@example.com ein.",
        ],
        "interests": [
            "Was interessiert Sie?",
            "Details anzeigen",
            'data-hide-label="Details ausblenden"',
        ],
        "review": ["Überprüfen Sie Ihr Profil", "Profil absenden", "E-Mails von uns"],
        "thanks": ["Vielen Dank, Ana!", "Nächste Schritte"],
        "login": ["Anmelden", "Mit Ihrer E-Mail-Adresse", "Passwort vergessen?"],
        "save": ["Ähnliche Jobs per E-Mail erhalten", "Wie oft", "Einmal täglich"],
        "save_error": ["Setzen Sie dieses Häkchen, damit wir Ihnen ähnliche Jobs"],
        "check_email": [
            "Prüfen Sie Ihre E-Mails",
            "Bis zu Ihrer Bestätigung wird nichts gesendet.",
        ],
    },
    "fr": {
        "home": ["Dernières offres", "Restons en contact", "Voir les <bdi>2</bdi> offres"],
        "jobs": ["Offres ouvertes", "<bdi>2</bdi> offres", "Filtrer les offres", "Temps plein (1)"],
        "no_jobs": [
            "Aucune offre ne correspond à votre recherche.",
            "Essayez de retirer un filtre :",
        ],
        "job": ["Postuler", "par an", "Publiée le", "Temps plein"],
        "start": ["Rejoignez notre communauté de talents", "Commencer"],
        "details_error": [
            "Veuillez corriger ceci",
            "Saisissez une adresse e-mail comme name@example.com.",
        ],
        "interests": [
            "Qu’est-ce qui vous intéresse ?",
            "Afficher les détails",
            'data-hide-label="Masquer les détails"',
        ],
        "review": ["Vérifiez votre profil", "Envoyer mon profil", "Nos e-mails"],
        "thanks": ["Merci, Ana !", "Prochaines étapes"],
        "login": ["Se connecter", "Avec votre e-mail", "Mot de passe oublié ?"],
        "save": ["Recevoir des offres similaires par e-mail", "Fréquence", "Une fois par jour"],
        "save_error": ["Cochez cette case pour que nous puissions vous envoyer des offres"],
        "check_email": ["Consultez vos e-mails", "Rien n’est envoyé tant que vous n’avez pas"],
    },
    "ar": {
        "home": ["أحدث الوظائف", "تواصل معنا", "عرض الوظيفتين"],
        "jobs": ["الوظائف الشاغرة", "وظيفتان", "تصفية الوظائف", "دوام كامل (1)"],
        "no_jobs": ["لا توجد وظائف شاغرة تطابق بحثك.", "جرّب إزالة أحد عوامل التصفية:"],
        "job": ["تقدّم الآن", "سنويًا", "نُشرت في", "دوام كامل"],
        "start": ["انضم إلى مجتمع المواهب لدينا", "ابدأ"],
        "details_error": ["يُرجى تصحيح ما يلي", "أدخل عنوان بريد إلكتروني مثل"],
        "interests": ["ما الذي يهمك؟", "عرض التفاصيل", 'data-hide-label="إخفاء التفاصيل"'],
        "review": ["راجع ملفك الشخصي", "إرسال الملف الشخصي", "رسائلنا الإلكترونية"],
        "thanks": ["شكرًا لك يا Ana!", "الخطوات التالية"],
        "login": ["تسجيل الدخول", "ببريدك الإلكتروني", "هل نسيت كلمة المرور؟"],
        "save": ["أرسل إليّ وظائف مشابهة", "عدد مرات الإرسال", "مرة يوميًا"],
        "save_error": ["حدّد هذا المربع لنتمكن من إرسال وظائف مشابهة إليك."],
        "check_email": ["تحقق من بريدك الإلكتروني", "لن يُرسل شيء حتى تؤكد."],
    },
}
# English source text each page would show: none of it may be left in a translated page.
ENGLISH: dict[str, list[str]] = {
    "home": ["Latest openings", "Connect With Us", "View all 2 jobs", "Build what"],
    "jobs": ["Open jobs", "2 jobs", "Filter jobs", "Full time (1)", "Posted "],
    "no_jobs": ["No open jobs match your search.", "Try removing a filter:"],
    "job": [">Apply<", "a year", "Posted ", "Full time", "All jobs"],
    "start": ["Join our talent community", "Get started", "Already a member?"],
    "details_error": ["Please fix", "Enter an email address like"],
    "interests": ["What interests you?", "Show Details", "Hide details"],
    "review": ["Review your profile", "Submit Profile", "Emails from us", ALERTS_WORDING],
    "thanks": ["Thank you", "Next steps"],
    "login": [">Log in<", "With your email", "Forgot your password?"],
    "save": ["Email me jobs like this", "How often", "Once a day", SAVED_SEARCH_WORDING],
    "save_error": ["Tick this box"],
    "check_email": ["Check your email", "Nothing is sent until you confirm."],
}


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> Iterator[dict[str, int]]:
    """Two open design jobs; one full time, remote-free, with a yearly salary in euros."""
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
        ids = {"design": design.id, "job": job.id}
    yield ids


def _page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.text
    return html.unescape(response.get_data(as_text=True))


def _check(text: str, lang: str, page: str) -> None:
    # The page's own part: the header and footer around it (base.html) are not these pages'.
    main = text[text.index('<main id="main"') : text.index("</main>")]
    for expected in EXPECTED[lang][page]:
        assert expected in main, (lang, page, expected)
    for english in ENGLISH[page]:
        assert english not in main, (lang, page, english)


@pytest.mark.parametrize("lang", LANGS)
def test_home_jobs_and_a_job_page_are_translated(
    client: FlaskClient, world: dict[str, int], lang: str
) -> None:
    """Home, /jobs with and without results, and a job page read in the chosen language."""
    _check(_page(client, f"/?lang={lang}"), lang, "home")
    _check(_page(client, f"/jobs?q=designer&lang={lang}"), lang, "jobs")
    _check(_page(client, f"/jobs?q=nothing-like-this&lang={lang}"), lang, "no_jobs")
    _check(_page(client, f"/jobs/{world['job']}?lang={lang}"), lang, "job")


def _post(client: FlaskClient, path: str, data: dict[str, Any]) -> Any:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf_token": csrf_token(page.text), **data})


@pytest.mark.parametrize("lang", LANGS)
def test_the_connect_flow_is_translated_and_consent_quotes_the_words_shown(
    app: Flask,
    client: FlaskClient,
    sessions: sessionmaker[Session],
    world: dict[str, int],
    lang: str,
) -> None:
    """Start to thanks in one language: a validation error in it, the consent wording shown
    in it, and the consent events recording that translated wording."""
    _check(_page(client, f"/connect?lang={lang}"), lang, "start")
    wrong = _post(
        client,
        "/connect/details",
        {"first_name": "Ana", "last_name": "Silva", "email": "not-an-address"},
    )
    assert wrong.status_code == 400
    _check(html.unescape(wrong.text), lang, "details_error")
    r = _post(
        client,
        "/connect/details",
        {"first_name": "Ana", "last_name": "Silva", "email": "ana@example.com"},
    )
    assert r.status_code == 302
    _check(_page(client, "/connect/interests"), lang, "interests")
    r = _post(client, "/connect/interests", {"interest": str(world["design"])})
    assert r.status_code == 302
    review = _page(client, "/connect/review")
    _check(review, lang, "review")
    with app.test_request_context(f"/?lang={lang}"):
        alerts, mass = alerts_wording(), mass_email_wording("Acme")
    assert alerts != ALERTS_WORDING and mass != MASS_EMAIL_WORDING.format(company="Acme")
    assert alerts in review and mass in review
    done = client.post(
        "/connect/review",
        data={
            "csrf_token": csrf_token(review),
            "first_name": "Ana",
            "last_name": "Silva",
            "email": "ana@example.com",
            "interest": str(world["design"]),
            "alerts": "yes",
            "mass_email": "yes",
            "action": "submit",
        },
    )
    assert done.status_code == 302, done.text
    _check(_page(client, "/connect/thanks"), lang, "thanks")
    with session_scope(sessions) as session:
        events = session.scalars(select(ConsentEvent)).all()
        assert {e.detail["wording"] for e in events if e.scope is ConsentScope.INTEREST} == {alerts}


@pytest.mark.parametrize("lang", LANGS)
def test_login_page_is_translated(client: FlaskClient, lang: str) -> None:
    """The sign-in page reads in the chosen language, and so does its error."""
    _check(_page(client, f"/login?lang={lang}"), lang, "login")
    r = _post(client, "/login", {"email": "ana@example.com", "password": "", "action": "password"})
    assert r.status_code == 400
    assert "Enter your password" not in r.text


@pytest.mark.parametrize("lang", LANGS)
def test_saving_a_search_is_translated_and_consent_quotes_the_words_shown(
    app: Flask,
    client: FlaskClient,
    sessions: sessionmaker[Session],
    world: dict[str, int],
    lang: str,
) -> None:
    """ "Email me jobs like this" in one language: the form, its error, "Check your email", and
    the consent event recording the translated wording."""
    path = f"/jobs/save?q=designer&lang={lang}"
    page = _page(client, path)
    _check(page, lang, "save")
    form = {"q": "designer", "frequency": "daily", "email": "ana@example.com"}
    refused = client.post("/jobs/save", data={"csrf_token": csrf_token(page), **form})
    assert refused.status_code == 400
    _check(html.unescape(refused.text), lang, "save_error")
    sent = client.post(
        "/jobs/save", data={"csrf_token": csrf_token(page), **form, "consent": "yes"}
    )
    assert sent.status_code == 200
    _check(html.unescape(sent.text), lang, "check_email")
    with app.test_request_context(f"/?lang={lang}"):
        wording = saved_search_wording()
    assert wording != SAVED_SEARCH_WORDING
    with session_scope(sessions) as session:
        (event,) = session.scalars(select(ConsentEvent)).all()
        assert event.detail["wording"] == wording


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("es", "«designer» en Berlin · En remoto"),
        ("de", "„designer“ in Berlin · Remote"),
        # Isolated (FSI … PDI) in right-to-left text, as a digest's words for a search.
        ("ar", "\u2068«designer» في Berlin · عن بُعد\u2069"),
        ("en", "“designer” in Berlin · Remote"),
    ],
)
def test_a_visitors_saved_search_confirmation_describes_the_search_in_the_page_language(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    world: dict[str, int],
    lang: str,
    words: str,
) -> None:
    """The confirmation email's "emails with new jobs matching …" names the search in the
    language of the page it was saved from, the visitor's new candidate's language."""
    search = {"q": "designer", "location": "Berlin", "workplace": "remote"}
    page = _page(client, f"/jobs/save?q=designer&location=Berlin&workplace=remote&lang={lang}")
    sent = client.post(
        "/jobs/save",
        data={
            "csrf_token": csrf_token(page),
            **search,
            "frequency": "daily",
            "email": "zoe@example.com",
            "consent": "yes",
        },
    )
    assert sent.status_code == 200, sent.text
    with session_scope(sessions) as session:
        zoe = session.scalars(select(Candidate).where(Candidate.email == "zoe@example.com")).one()
        assert zoe.locale == lang
        (row,) = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "saved_search_confirm")
        ).all()
        context = dict(row.context)
    assert context["search_description"] == words
    context.update(
        company_name="Acme", base_url="https://x.example", postal_address="", first_name=""
    )
    email = Renderer().render("saved_search_confirm", context, lang)
    assert words in email.text and html.escape(words) in email.html


def test_a_texts_override_is_shown_as_written_in_every_language(
    tmp_path: Path, database_url: str
) -> None:
    """A company's TEXTS override reads the same in every language; the defaults it leaves
    alone are translated."""
    settings = make_settings(tmp_path, database_url, TEXTS='{"connect_button": "Join the crew"}')
    application = create_app(settings)
    try:
        client = application.test_client()
        for lang, log_in in (("es", "Iniciar sesión"), ("de", "Anmelden"), ("ar", "تسجيل الدخول")):
            page = _page(client, f"/?lang={lang}")
            assert "Join the crew" in page and log_in in page
            assert "Log in" not in page
        assert "Join the crew" in _page(client, "/?lang=en")
    finally:
        application.extensions["talentconnect"].engine.dispose()
