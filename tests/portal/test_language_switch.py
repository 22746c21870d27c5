"""Choosing the language: the footer's switcher, hreflang alternates on public pages only,
the candidate's stored language (set at sign-up, used and updated on their signed and
signed-in pages), and the language form of the preference center and the dashboard."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portal.app import create_app
from portal.auth.accounts import set_password
from portal.config import DEFAULT_TEXTS, Settings
from portal.i18n import COOKIE, DEFAULT_TEXT_MESSAGES, PUBLIC_ENDPOINTS
from portal.web.links import one_click_url, preference_url
from preferences.clock import now
from preferences.db import session_scope
from preferences.language import AUDIT_ACTION
from preferences.models import AuditEvent, Candidate, ConsentEvent, ConsentSource
from preferences.subscriptions import get_or_create_candidate, subscribe
from preferences.tokens import LinkPurpose, make_link_token
from tests.conftest import make_settings

from .helpers import add_interest, add_job, csrf_token

EMAIL = "ana@example.com"
PASSWORD = "a long enough password"
LANGUAGES = {
    "en": "English",
    "es": "Español",
    "de": "Deutsch",
    "fr": "Français",
    "ar": "العربية",
}
ALTERNATE = re.compile(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">')
SWITCH_LINK = re.compile(
    r'<li><a href="([^"]+)" lang="([^"]+)" hreflang="([^"]+)"'
    r'( aria-current="true")?>([^<]+)</a></li>'
)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> dict[str, int]:
    """One interest with one open job; Ana, a member with a password, subscribed to it."""
    with session_scope(sessions) as session:
        design = add_interest(session, "Design", position=1)
        job = add_job(session, "Product Designer", interests=[design])
        ana, _ = get_or_create_candidate(session, EMAIL, first_name="Ana")
        ana.email_verified_at = now()
        set_password(ana, PASSWORD)
        subscribe(session, ana, design, confirmed=True, source=ConsentSource.ADMIN)
        session.flush()
        ids = {"design": design.id, "job": job.id, "ana": ana.id}
    return ids


def html_tag(page: str) -> str:
    start = page.index("<html")
    return page[start : page.index(">", start) + 1]


def switch_links(page: str) -> list[tuple[str, str, str, bool, str]]:
    """(href, lang, hreflang, current, name) of each link of the footer's language menu."""
    menu = page[page.index('<nav class="language-switch"') :]
    menu = menu[: menu.index("</nav>")]
    return [
        (href.replace("&amp;", "&"), lang, hreflang, bool(current), name)
        for href, lang, hreflang, current, name in SWITCH_LINK.findall(menu)
    ]


def alternates(page: str) -> dict[str, str]:
    head = page[: page.index("</head>")]
    return {tag: href.replace("&amp;", "&") for tag, href in ALTERNATE.findall(head)}


def ana(sessions: sessionmaker[Session]) -> Candidate:
    with session_scope(sessions) as session:
        found = session.scalar(select(Candidate).where(Candidate.email == EMAIL))
        assert found is not None
        session.expunge(found)
        return found


def set_locale(sessions: sessionmaker[Session], tag: str) -> None:
    with session_scope(sessions) as session:
        found = session.scalar(select(Candidate).where(Candidate.email == EMAIL))
        assert found is not None
        found.locale = tag


def audit_events(sessions: sessionmaker[Session]) -> list[AuditEvent]:
    with session_scope(sessions) as session:
        events = list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == AUDIT_ACTION).order_by(AuditEvent.id)
            )
        )
        session.expunge_all()
        return events


def consent_count(sessions: sessionmaker[Session]) -> int:
    with session_scope(sessions) as session:
        return session.scalar(select(func.count()).select_from(ConsentEvent)) or 0


def preference_path(settings: Settings, sessions: sessionmaker[Session]) -> str:
    return preference_url(settings, ana(sessions)).removeprefix(settings.base_url)


def log_in(client: FlaskClient) -> None:
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
    assert response.status_code == 302, response.text


# -- the footer's language menu ------------------------------------------------------------


def test_the_menu_links_to_this_page_in_each_language_named_in_itself(
    client: FlaskClient,
) -> None:
    """Plain links (no JavaScript) that keep the other query arguments; the current is marked."""
    page = client.get("/jobs?q=python&page=1&lang=de").text
    links = switch_links(page)
    assert [(lang, hreflang, name) for _h, lang, hreflang, _c, name in links] == [
        (tag, tag, name) for tag, name in LANGUAGES.items()
    ]
    assert [href for href, *_rest in links] == [
        f"/jobs?q=python&page=1&lang={tag}" for tag in LANGUAGES
    ]
    assert [lang for _h, lang, _hl, current, _n in links if current] == ["de"]
    assert 'aria-labelledby="language-switch-label"' in page
    assert ">Sprache</p>" in page


def test_following_a_menu_link_serves_and_remembers_that_language(client: FlaskClient) -> None:
    """The link is all it takes: the page comes in Arabic, right to left, and stays so."""
    (arabic,) = [link for link in switch_links(client.get("/").text) if link[1] == "ar"]
    page = client.get(arabic[0]).text
    assert html_tag(page) == '<html lang="ar" dir="rtl">'
    assert "الانتقال إلى المحتوى الرئيسي" in page  # the skip link
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None and cookie.value == "ar"
    assert html_tag(client.get("/jobs").text) == '<html lang="ar" dir="rtl">'


def test_only_supported_languages_are_offered(tmp_path: Path, database_url: str) -> None:
    """SUPPORTED_LOCALES limits the menu (and the alternates) to its languages."""
    app = create_app(make_settings(tmp_path, database_url, SUPPORTED_LOCALES="en,fr"))
    try:
        page = app.test_client().get("/").text
        assert [link[1] for link in switch_links(page)] == ["en", "fr"]
        assert set(alternates(page)) == {"en", "fr", "x-default"}
    finally:
        app.extensions["talentconnect"].engine.dispose()


def test_the_page_frame_is_translated_and_english_is_unchanged(client: FlaskClient) -> None:
    """Header, navigation, footer and skip link in Spanish; the English page as before."""
    spanish = client.get("/?lang=es").text
    for text in (
        "Saltar al contenido principal",
        ">Empleos</a>",
        "Ofertas abiertas",
        "Acceso para candidatos",
        "Somos una empresa que ofrece igualdad de oportunidades.",
        ">Menú</summary>",
        'aria-label="Principal"',
    ):
        assert text in spanish, text
    english = client.get("/?lang=en").text
    for text in (
        '<a class="skip-link" href="#main">Skip to main content</a>',
        ">Jobs</a>",
        ">Connect With Us</a>",
        "We are an equal opportunity employer.",
    ):
        assert text in english, text


def test_default_texts_are_translated_and_a_companys_own_are_kept(
    tmp_path: Path, database_url: str
) -> None:
    """TEXTS left at their defaults follow the language; a company's rewording is its own."""
    app = create_app(
        make_settings(tmp_path, database_url, TEXTS='{"connect_button": "Join our talent network"}')
    )
    try:
        page = app.test_client().get("/?lang=de").text
        assert "Join our talent network" in page
        assert ">Anmelden</a>" in page  # login_link, left at "Log in"
    finally:
        app.extensions["talentconnect"].engine.dispose()


def test_the_translatable_default_texts_are_the_settings_defaults() -> None:
    """portal.i18n marks each default of TEXTS for translation, word for word."""
    assert {key: message._args[0] for key, message in DEFAULT_TEXT_MESSAGES.items()} == (
        DEFAULT_TEXTS
    )


def test_a_page_answering_a_post_only_address_switches_from_the_form_page(
    client: FlaskClient, world: dict[str, int], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """A GET of a POST-only address would fail: the menu leads to the page the form was on."""
    path = preference_path(settings, sessions)
    csrf = csrf_token(client.get(path).text)

    def menu_after_undo(referrer: str | None) -> list[str]:
        headers = {"Referer": referrer} if referrer else {}
        # An Undo without its snapshot: an error page, answering /preferences/<token>/undo.
        page = client.post(f"{path}/undo", data={"csrf_token": csrf}, headers=headers)
        assert page.status_code == 400
        return [href for href, *_rest in switch_links(page.text)]

    assert menu_after_undo(f"http://localhost{path}")[1] == f"{path}?lang=es"
    # No Referer, or another site's: the home page.
    assert menu_after_undo(None)[1] == "/?lang=es"
    assert menu_after_undo("https://elsewhere.example/preferences/x")[1] == "/?lang=es"


# -- hreflang alternates -------------------------------------------------------------------


def test_public_pages_list_every_language_and_x_default(
    client: FlaskClient, world: dict[str, int], settings: Settings
) -> None:
    """Home, /jobs (with its query), a job and the connect start page: absolute, from BASE_URL."""
    base = settings.base_url
    for path in ("/", "/jobs?q=design", f"/jobs/{world['job']}", "/connect"):
        page = client.get(path)
        assert page.status_code == 200, path
        joiner = "&" if "?" in path else "?"
        assert alternates(page.text) == {
            **{tag: f"{base}{path}{joiner}lang={tag}" for tag in LANGUAGES},
            "x-default": f"{base}{path}",
        }, path
    # ?lang= itself is never repeated; the other arguments are kept.
    page = client.get("/jobs?lang=fr&q=design").text
    assert alternates(page)["x-default"] == f"{base}/jobs?q=design"
    assert alternates(page)["es"] == f"{base}/jobs?q=design&lang=es"


CANONICAL = re.compile(r'<link rel="canonical" href="([^"]+)">')


def test_a_job_pages_canonical_link_is_the_language_version_it_is(
    client: FlaskClient, world: dict[str, int], settings: Settings
) -> None:
    """`?lang=xx` points at itself, as its hreflang alternate does; no `?lang=`, the bare URL."""
    url = f"{settings.base_url}/jobs/{world['job']}"
    for tag in LANGUAGES:
        page = client.get(f"/jobs/{world['job']}?lang={tag}").text
        assert CANONICAL.findall(page) == [f"{url}?lang={tag}"], tag
        assert alternates(page)[tag] == f"{url}?lang={tag}"
    # The x-default: the bare URL, whatever language the cookie or the browser picks.
    for headers in ({}, {"Accept-Language": "de"}):
        page = client.get(f"/jobs/{world['job']}", headers=headers).text
        assert CANONICAL.findall(page) == [url]
    # A language not offered, and other arguments, are not part of any version.
    page = client.get(f"/jobs/{world['job']}?lang=zz&utm_source=mail").text
    assert CANONICAL.findall(page) == [url]


def test_signed_signed_in_and_error_pages_have_no_alternates(
    client: FlaskClient, world: dict[str, int], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """A preference link, an unsubscribe link, the dashboard, a 404: none lists alternates."""
    candidate = ana(sessions)
    unsubscribe = one_click_url(settings, candidate, f"interest:{world['design']}")
    paths = [
        preference_path(settings, sessions),
        unsubscribe.removeprefix(settings.base_url),
        "/jobs/999999",
        "/login",
    ]
    for path in paths:
        page = client.get(path).text
        assert "hreflang=" in page  # the switcher is there...
        assert alternates(page) == {}, path  # ...but no alternates
    log_in(client)
    for path in ("/dashboard", "/dashboard/preferences", "/dashboard/profile"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert alternates(page.text) == {}, path


def test_every_public_endpoint_is_a_route(app: Flask) -> None:
    """A renamed view would silently lose its alternates: the list names real endpoints."""
    assert set(app.view_functions) >= PUBLIC_ENDPOINTS


# -- the candidate's stored language -------------------------------------------------------


def _walk_connect(client: FlaskClient, interest_id: int, email: str) -> None:
    def post(path: str, data: dict[str, Any]) -> Any:
        page = client.get(path)
        assert page.status_code == 200, page.text
        return client.post(path, data={"csrf_token": csrf_token(page.text), **data})

    post("/connect/details", {"first_name": "Zoé", "last_name": "Martin", "email": email})
    post("/connect/interests", {"interest": [str(interest_id)]})
    review = client.get("/connect/review")
    response = client.post(
        "/connect/review",
        data={
            "csrf_token": csrf_token(review.text),
            "first_name": "Zoé",
            "last_name": "Martin",
            "email": email,
            "interest": [str(interest_id)],
            "alerts": "yes",
            "action": "submit",
        },
    )
    assert response.status_code == 302, response.text


def test_sign_up_stores_the_language_the_pages_were_in(
    client: FlaskClient, world: dict[str, int], sessions: sessionmaker[Session]
) -> None:
    """Chosen with ?lang=fr on the start page, then remembered through the flow."""
    assert client.get("/connect?lang=fr").status_code == 200
    _walk_connect(client, world["design"], "zoe@example.com")
    with session_scope(sessions) as session:
        zoe = session.scalar(select(Candidate).where(Candidate.email == "zoe@example.com"))
        assert zoe is not None and zoe.locale == "fr"


def test_sign_up_in_english_stays_english(
    client: FlaskClient, world: dict[str, int], sessions: sessionmaker[Session]
) -> None:
    """Nothing chosen: the default language is stored."""
    _walk_connect(client, world["design"], "zoe@example.com")
    with session_scope(sessions) as session:
        zoe = session.scalar(select(Candidate).where(Candidate.email == "zoe@example.com"))
        assert zoe is not None and zoe.locale == "en"


def test_a_visitor_saving_a_search_is_stored_in_the_page_language(
    client: FlaskClient, world: dict[str, int], sessions: sessionmaker[Session]
) -> None:
    """The "Email me jobs like this" sign-up creates the candidate in the page's language."""
    page = client.get("/jobs?q=design&lang=es")
    form = re.search(r'<form method="post" action="/jobs/save".*?</form>', page.text, re.S)
    assert form is not None
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form[0]))
    response = client.post(
        "/jobs/save",
        data={**fields, "frequency": "daily", "email": "zoe@example.com", "consent": "yes"},
    )
    assert response.status_code == 200, response.text
    with session_scope(sessions) as session:
        zoe = session.scalar(select(Candidate).where(Candidate.email == "zoe@example.com"))
        assert zoe is not None and zoe.locale == "es"


def test_signed_pages_are_in_the_candidates_language(
    client: FlaskClient, world: dict[str, int], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """Her German beats the browser's French and a remembered Spanish; nothing is stored."""
    set_locale(sessions, "de")
    client.set_cookie(COOKIE, "es")
    headers = {"Accept-Language": "fr"}
    candidate = ana(sessions)
    unsubscribe = one_click_url(settings, candidate, f"interest:{world['design']}")
    keys = settings.secret_keys
    # A sign-in link is good until the account next changes (portal.auth.accounts).
    unused = candidate.updated_at.isoformat() if candidate.updated_at else ""
    for path in (
        preference_path(settings, sessions),
        unsubscribe.removeprefix(settings.base_url),
        # The sign-in link's page (its button), and the emailed confirmation link.
        f"/login/link/{make_link_token(keys, LinkPurpose.LOGIN, candidate, u=unused)}",
        f"/connect/confirm/{make_link_token(keys, LinkPurpose.CONFIRM_EMAIL, candidate)}",
    ):
        page = client.get(path, headers=headers)
        assert page.status_code == 200, path
        assert html_tag(page.text) == '<html lang="de" dir="ltr">', path
    # A public page is the visitor's own choice again.
    assert html_tag(client.get("/", headers=headers).text) == '<html lang="es" dir="ltr">'
    assert audit_events(sessions) == []


def test_lang_on_the_sign_in_link_page_serves_it_and_keeps_the_link_working(
    client: FlaskClient, world: dict[str, int], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """The footer's language links on the sign-in page must not use the link up."""
    set_locale(sessions, "de")
    candidate = ana(sessions)
    unused = candidate.updated_at.isoformat() if candidate.updated_at else ""
    token = make_link_token(settings.secret_keys, LinkPurpose.LOGIN, candidate, u=unused)
    path = f"/login/link/{token}"
    page = client.get(f"{path}?lang=fr")
    assert html_tag(page.text) == '<html lang="fr" dir="ltr">'
    again = client.get(path)
    assert again.status_code == 200, again.text
    assert ana(sessions).locale == "de"


def test_lang_on_a_signed_page_is_stored_with_an_audit_event(
    client: FlaskClient, world: dict[str, int], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """?lang=ar on her preference link: the page is Arabic and so is she, from then on."""
    path = preference_path(settings, sessions)
    consents = consent_count(sessions)
    page = client.get(f"{path}?lang=ar")
    assert html_tag(page.text) == '<html lang="ar" dir="rtl">'
    assert ana(sessions).locale == "ar"
    (event,) = audit_events(sessions)
    assert (event.actor, event.subject) == ("candidate", ana(sessions).public_id)
    assert event.detail == {"from": "en", "to": "ar", "via": "lang_parameter"}
    assert consent_count(sessions) == consents  # a language is not a consent
    # Another browser, no cookie: her link now opens in Arabic.
    fresh = client.application.test_client()
    assert html_tag(fresh.get(path).text) == '<html lang="ar" dir="rtl">'
    # The same choice again writes nothing more.
    client.get(f"{path}?lang=ar")
    assert len(audit_events(sessions)) == 1


def test_lang_on_an_unsubscribe_page_is_stored(
    client: FlaskClient, world: dict[str, int], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """The unsubscribe page is one of hers too; its GET still changes no subscription."""
    url = one_click_url(settings, ana(sessions), f"interest:{world['design']}")
    consents = consent_count(sessions)
    page = client.get(url.removeprefix(settings.base_url) + "?lang=fr")
    assert page.status_code == 200
    assert html_tag(page.text) == '<html lang="fr" dir="ltr">'
    assert ana(sessions).locale == "fr"
    assert consent_count(sessions) == consents


def test_a_tampered_or_unknown_link_stores_nothing(
    client: FlaskClient, world: dict[str, int], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """?lang= on a link that does not verify is only the visitor's choice, never hers."""
    path = preference_path(settings, sessions)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    response = client.get(f"{tampered}?lang=ar")
    assert response.status_code == 400
    assert ana(sessions).locale == "en"
    assert audit_events(sessions) == []


def test_the_dashboard_is_in_her_language_and_lang_there_is_stored(
    client: FlaskClient, world: dict[str, int], sessions: sessionmaker[Session]
) -> None:
    """Signed in: her stored language; ?lang= on a dashboard page changes it."""
    set_locale(sessions, "fr")
    log_in(client)
    client.set_cookie(COOKIE, "es")
    assert html_tag(client.get("/dashboard").text) == '<html lang="fr" dir="ltr">'
    assert audit_events(sessions) == []
    page = client.get("/dashboard/profile?lang=de")
    assert html_tag(page.text) == '<html lang="de" dir="ltr">'
    assert ana(sessions).locale == "de"
    (event,) = audit_events(sessions)
    assert event.detail == {"from": "fr", "to": "de", "via": "lang_parameter"}


# -- the language form ---------------------------------------------------------------------


def language_form(page: str) -> dict[str, str]:
    """The language form's action and hidden fields, and the options it offers."""
    section = page[page.index('<section class="language-choice') :]
    section = section[: section.index("</section>")]
    action = re.search(r'<form method="post" action="([^"]+)"', section)
    assert action is not None
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', section))
    options = re.findall(
        r'<option value="([^"]+)" lang="[^"]+"( selected)?>([^<]+)</option>', section
    )
    return {
        "action": action[1],
        **fields,
        "options": ",".join(f"{tag}={name.strip()}" for tag, _s, name in options),
        "selected": "".join(tag for tag, selected, _n in options if selected),
    }


def test_the_preference_center_changes_the_language(
    client: FlaskClient, world: dict[str, int], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """Pick Español, Save language: stored, audited, and the page says so in Spanish."""
    path = preference_path(settings, sessions)
    form = language_form(client.get(path).text)
    assert form["action"] == f"{path}/language"
    assert form["options"] == ",".join(f"{tag}={name}" for tag, name in LANGUAGES.items())
    assert form["selected"] == "en"
    consents = consent_count(sessions)
    response = client.post(
        form["action"], data={"csrf_token": form["csrf_token"], "language": "es"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"{path}?lang=es&language=saved#language"
    assert ana(sessions).locale == "es"
    (event,) = audit_events(sessions)
    assert event.detail == {"from": "en", "to": "es", "via": "preference_center"}
    assert consent_count(sessions) == consents
    page = client.get(response.headers["Location"]).text
    assert html_tag(page) == '<html lang="es" dir="ltr">'
    assert "Guardado. Tus páginas y los correos que te enviamos están ahora en este idioma." in page
    assert language_form(page)["selected"] == "es"


def test_the_preference_center_refuses_a_language_not_offered(
    tmp_path: Path, database_url: str, world: dict[str, int], sessions: sessionmaker[Session]
) -> None:
    """A value outside SUPPORTED_LOCALES (here Arabic, switched off) is refused, nothing stored."""
    settings = make_settings(tmp_path, database_url, SUPPORTED_LOCALES="en,es")
    app = create_app(settings)
    try:
        client = app.test_client()
        path = preference_path(settings, sessions)
        form = language_form(client.get(path).text)
        for value in ("ar", "xx", "", "ES", "es-MX"):
            response = client.post(
                form["action"], data={"csrf_token": form["csrf_token"], "language": value}
            )
            assert response.status_code == 400, value
            assert "That language isn&#39;t one we offer" in response.text
            assert "Nothing was changed." in response.text
        assert ana(sessions).locale == "en"
        assert audit_events(sessions) == []
    finally:
        app.extensions["talentconnect"].engine.dispose()


def test_the_preference_center_form_refuses_a_tampered_link_or_token(
    client: FlaskClient, world: dict[str, int], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """A link that does not verify, or a form token not bound to the link: 400, nothing stored."""
    path = preference_path(settings, sessions)
    form = language_form(client.get(path).text)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    response = client.post(
        f"{tampered}/language", data={"csrf_token": form["csrf_token"], "language": "de"}
    )
    assert response.status_code == 400
    assert "This link doesn&#39;t work" in response.text
    response = client.post(form["action"], data={"csrf_token": "0" * 40, "language": "de"})
    assert response.status_code == 400
    response = client.post(form["action"], data={"language": "de"})
    assert response.status_code == 400
    assert ana(sessions).locale == "en"
    assert audit_events(sessions) == []


def test_the_dashboard_changes_the_language(
    client: FlaskClient, world: dict[str, int], sessions: sessionmaker[Session]
) -> None:
    """From the dashboard home and from its preference page, each going back where it was."""
    log_in(client)
    form = language_form(client.get("/dashboard").text)
    assert (form["action"], form["back"]) == ("/dashboard/language", "home")
    response = client.post(
        form["action"],
        data={"csrf_token": form["csrf_token"], "back": form["back"], "language": "ar"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard?lang=ar&language=saved#language"
    page = client.get(response.headers["Location"]).text
    assert html_tag(page) == '<html lang="ar" dir="rtl">'
    assert "تم الحفظ." in page
    form = language_form(client.get("/dashboard/preferences").text)
    assert form["back"] == "preferences"
    response = client.post(
        form["action"],
        data={"csrf_token": form["csrf_token"], "back": form["back"], "language": "de"},
    )
    assert response.headers["Location"] == "/dashboard/preferences?lang=de&language=saved#language"
    assert ana(sessions).locale == "de"
    assert [e.detail for e in audit_events(sessions)] == [
        {"from": "en", "to": "ar", "via": "dashboard"},
        {"from": "ar", "to": "de", "via": "dashboard"},
    ]


def test_the_dashboard_form_refuses_bad_values_a_missing_token_and_strangers(
    client: FlaskClient, world: dict[str, int], sessions: sessionmaker[Session]
) -> None:
    """A language not offered: 400; no CSRF token: 400; not signed in: to the login page."""
    stranger = client.application.test_client()
    response = stranger.post("/dashboard/language", data={"language": "de"})
    assert response.status_code == 302 or response.status_code == 400
    log_in(client)
    form = language_form(client.get("/dashboard").text)
    response = client.post(
        form["action"], data={"csrf_token": form["csrf_token"], "language": "klingon"}
    )
    assert response.status_code == 400
    assert "That language isn&#39;t one we offer" in response.text
    response = client.post(form["action"], data={"language": "de"})
    assert response.status_code == 400
    assert ana(sessions).locale == "en"
    assert audit_events(sessions) == []


def test_the_language_hook_runs_in_the_requests_write_mode(app: Flask) -> None:
    """It reads the database, so it runs after the hook that keeps GETs off SQLite's write lock."""
    names = [hook.__name__ for hook in app.before_request_funcs[None]]
    assert names.index("_serve_in_their_language") > names.index("_start_timer")


def test_the_recruiter_console_stays_english_left_to_right(client: FlaskClient) -> None:
    """The console is not translated: an Arabic visitor's choice does not turn it round."""
    client.set_cookie(COOKIE, "ar")
    page = client.get("/admin/login?lang=ar").text
    assert html_tag(page) == '<html lang="en" dir="ltr">'
    assert 'class="language-switch"' not in page
    assert html_tag(client.get("/").text) == '<html lang="ar" dir="rtl">'
