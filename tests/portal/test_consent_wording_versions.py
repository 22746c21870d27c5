"""The portal's consent texts are versioned as shown: per language, per setting, in the export,
and for events nobody was shown a text for (a one-click POST, a worker)."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.i18n import translations
from portal.app import create_app
from portal.config import ConfigError, Settings
from portal.connect.saved_search import SAVED_SEARCH_WORDING
from portal.connect.submit import ALERTS_WORDING, MASS_EMAIL_WORDING
from portal.web.consent_texts import MASS_EMAIL_TEXT, PRIVACY_NOTICE_TEXT
from portal.web.links import one_click_url
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
)
from preferences.privacy import export_candidate_data
from preferences.subscriptions import (
    append_consent,
    find_candidate,
    get_or_create_candidate,
    opt_in_mass_email,
)
from preferences.tokens import LinkPurpose, make_link_token
from preferences.wordings import NO_WORDING_VERSION, wording_texts
from tests.conftest import TEST_SECRET, make_settings

from .helpers import add_interest, csrf_token

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


def spanish(message: str, **variables: str) -> str:
    text = translations("es").gettext(message)
    return text % variables if variables else text


def shown(page_html: str) -> str:
    """A page's text as a person reads it (entities decoded)."""
    return html.unescape(page_html)


def sign_up(
    client: FlaskClient,
    interest_id: int,
    email: str,
    *,
    mass_email: bool = False,
    lang: str | None = None,
) -> str:
    """Walk the connect flow to Submit Profile; returns the review page as shown."""
    if lang is not None:
        assert client.get(f"/connect/details?lang={lang}").status_code == 200
    page = client.get("/connect/details")
    r = client.post(
        "/connect/details",
        data={
            "csrf_token": csrf_token(page.text),
            "first_name": "Ana",
            "last_name": "Silva",
            "email": email,
        },
    )
    assert r.status_code == 302, r.text
    page = client.get("/connect/interests")
    r = client.post(
        "/connect/interests",
        data={"csrf_token": csrf_token(page.text), "interest": [str(interest_id)]},
    )
    assert r.status_code == 302, r.text
    review = client.get("/connect/review")
    assert review.status_code == 200
    data: dict[str, Any] = {
        "csrf_token": csrf_token(review.text),
        "first_name": "Ana",
        "last_name": "Silva",
        "email": email,
        "interest": [str(interest_id)],
        "alerts": "yes",
        "action": "submit",
    }
    if mass_email:
        data["mass_email"] = "yes"
    r = client.post("/connect/review", data=data)
    assert r.status_code == 302, r.text
    return shown(review.text)


def grants(session: Session, email: str) -> dict[ConsentScope, ConsentEvent]:
    candidate = find_candidate(session, email)
    assert candidate is not None
    events = session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.candidate_id == candidate.id)
        .order_by(ConsentEvent.id)
    ).all()
    return {e.scope: e for e in events if e.action is ConsentAction.GRANT}


def words_of(session: Session, version: str) -> tuple[str, str, str]:
    wording = wording_texts(session, [version])[version]
    return wording.kind, wording.locale, wording.text


@pytest.fixture
def design(sessions: sessionmaker[Session]) -> int:
    with session_scope(sessions) as session:
        return add_interest(session, "Design").id


@pytest.fixture
def app_with(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Apps on the test database with these settings (no double opt-in); closed after."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        application = create_app(
            make_settings(tmp_path, database_url, DOUBLE_OPT_IN="false", **overrides)
        )
        application.config["TESTING"] = True
        made.append(application)
        return application

    yield make
    for application in made:
        application.extensions["talentconnect"].engine.dispose()


def test_a_spanish_page_records_the_spanish_words_it_showed(
    app_with: Callable[..., Flask], sessions: sessionmaker[Session], design: int
) -> None:
    """The grants of a sign-up in Spanish name es versions whose words are the page's."""
    app = app_with()
    page = sign_up(app.test_client(), design, "ana@example.com", mass_email=True, lang="es")
    alerts = spanish(ALERTS_WORDING)
    mass = spanish(MASS_EMAIL_TEXT, company="Acme")
    assert alerts != ALERTS_WORDING and alerts in page and mass in page
    with session_scope(sessions) as session:
        events = grants(session, "ana@example.com")
        assert words_of(session, events[ConsentScope.INTEREST].wording_version) == (
            "job_alerts",
            "es",
            alerts,
        )
        assert events[ConsentScope.INTEREST].wording_version.startswith("job_alerts.es.")
        assert words_of(session, events[ConsentScope.MASS_EMAIL].wording_version) == (
            "mass_email",
            "es",
            mass,
        )


@pytest.mark.parametrize(
    ("first", "second", "scope", "old_words"),
    [
        (
            {"CONSENT_TEXTS": '{"job_alerts": "Send me alerts, version one."}'},
            {"CONSENT_TEXTS": '{"job_alerts": "Send me alerts, version two."}'},
            ConsentScope.INTEREST,
            "Send me alerts, version one.",
        ),
        (
            {"COMPANY_NAME": "Acme"},
            {"COMPANY_NAME": "Acme Labs"},
            ConsentScope.MASS_EMAIL,
            MASS_EMAIL_WORDING.format(company="Acme"),
        ),
    ],
)
def test_a_changed_setting_between_two_sign_ups_is_a_new_version_and_the_old_words_stay(
    app_with: Callable[..., Flask],
    sessions: sessionmaker[Session],
    design: int,
    first: dict[str, str],
    second: dict[str, str],
    scope: ConsentScope,
    old_words: str,
) -> None:
    """New words in the settings make a new version; the first person's export keeps theirs."""
    page = sign_up(
        app_with(**first).test_client(),
        design,
        "ana@example.com",
        mass_email=True,
    )
    assert old_words in page  # shown as written (a company's own words are not translated)
    sign_up(
        app_with(**second).test_client(),
        design,
        "bea@example.com",
        mass_email=True,
    )
    with session_scope(sessions) as session:
        ana = grants(session, "ana@example.com")[scope].wording_version
        bea = grants(session, "bea@example.com")[scope].wording_version
        assert ana != bea
        assert ana.rsplit(".", 1)[0] == bea.rsplit(".", 1)[0]  # same kind and language
        assert words_of(session, ana)[2] == old_words
        assert words_of(session, bea)[2] != old_words
        candidate = find_candidate(session, "ana@example.com")
        assert candidate is not None
        history = export_candidate_data(session, candidate)["consent_history"]
    (row,) = [h for h in history if h["scope"] == scope.value and h["action"] == "grant"]
    assert (row["wording"], row["wording_version"], row["source"], row["ip_address"]) == (
        old_words,
        ana,
        "connect_form",
        "127.0.0.1",
    )
    assert row["wording_sha256"] and row["occurred_at"]


def test_the_privacy_notice_link_is_versioned_with_the_consents_given_beside_it(
    app_with: Callable[..., Flask], sessions: sessionmaker[Session], design: int
) -> None:
    """With PRIVACY_URL, the link's words and address are a version the form's grants name."""
    app = app_with(
        PRIVACY_URL="/privacy",
        CONSENT_TEXTS='{"privacy_notice": "Read our privacy notice."}',
    )
    page = sign_up(app.test_client(), design, "ana@example.com")
    assert '<a href="/privacy">Read our privacy notice.</a>' in page
    with session_scope(sessions) as session:
        grant = grants(session, "ana@example.com")[ConsentScope.INTEREST]
        assert words_of(session, grant.detail["privacy_notice"]) == (
            "privacy_notice",
            "en",
            "[Read our privacy notice.](/privacy)",
        )


def test_without_a_privacy_url_no_notice_is_shown_or_recorded(
    client: FlaskClient, sessions: sessionmaker[Session], design: int
) -> None:
    """No PRIVACY_URL: no link on the page, no privacy notice in the grants."""
    page = sign_up(client, design, "ana@example.com")
    assert PRIVACY_NOTICE_TEXT not in page
    with session_scope(sessions) as session:
        grant = grants(session, "ana@example.com")[ConsentScope.INTEREST]
        assert "privacy_notice" not in grant.detail


def test_the_preference_center_shows_and_records_its_versions_in_the_page_language(
    client: FlaskClient, sessions: sessionmaker[Session], design: int
) -> None:
    """A Spanish member's center quotes both texts; a Save's grants name their es versions."""
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, "ana@example.com", locale="es")
        token = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, candidate)
    page = client.get(f"/preferences/{token}")
    alerts, mass = spanish(ALERTS_WORDING), spanish(MASS_EMAIL_TEXT, company="Acme")
    assert alerts in shown(page.text) and mass in shown(page.text)
    r = client.post(
        f"/preferences/{token}",
        data={
            "csrf_token": csrf_token(page.text),
            "interest": [str(design)],
            f"frequency-{design}": "weekly",
            "mass_email": "yes",
        },
    )
    assert r.status_code == 200
    with session_scope(sessions) as session:
        events = grants(session, "ana@example.com")
        assert events[ConsentScope.INTEREST].source is ConsentSource.PREFERENCE_CENTER
        assert words_of(session, events[ConsentScope.INTEREST].wording_version) == (
            "job_alerts",
            "es",
            alerts,
        )
        assert words_of(session, events[ConsentScope.MASS_EMAIL].wording_version) == (
            "mass_email",
            "es",
            mass,
        )


def test_a_saved_search_records_the_words_beside_its_box(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """A visitor's saved search names the version of the box's words."""
    page = client.get("/jobs/save?q=python")
    assert SAVED_SEARCH_WORDING in shown(page.text)
    r = client.post(
        "/jobs/save",
        data={
            "csrf_token": csrf_token(page.text),
            "q": "python",
            "email": "ana@example.com",
            "consent": "yes",
            "frequency": "daily",
        },
    )
    assert r.status_code == 200, r.text
    with session_scope(sessions) as session:
        event = grants(session, "ana@example.com")[ConsentScope.SAVED_SEARCH]
        assert words_of(session, event.wording_version) == (
            "saved_search",
            "en",
            SAVED_SEARCH_WORDING,
        )


def test_a_one_click_withdrawal_names_the_default_wording_in_the_candidates_language(
    client: FlaskClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """Nobody was shown a text: the event names the default mass-email wording in Spanish."""
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, "ana@example.com", locale="es")
        opt_in_mass_email(session, candidate, source=ConsentSource.ADMIN)
        path = one_click_url(settings, candidate, "mass_email").removeprefix(settings.base_url)
    r = client.post(path, data=ONE_CLICK_BODY, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200
    with session_scope(sessions) as session:
        (withdrawal,) = session.scalars(
            select(ConsentEvent).where(ConsentEvent.action == ConsentAction.WITHDRAW)
        ).all()
        assert withdrawal.source is ConsentSource.ONE_CLICK
        assert words_of(session, withdrawal.wording_version) == (
            "mass_email",
            "es",
            spanish(MASS_EMAIL_TEXT, company="Acme"),
        )


def test_events_outside_a_request_name_the_installed_apps_defaults(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    """A worker's event (no request, no app context) names the app's default wording."""
    with session_scope(sessions) as session:
        candidate = Candidate(email="ana@example.com", locale="de")
        session.add(candidate)
        session.flush()
        append_consent(
            session,
            candidate.id,
            scope=ConsentScope.MASS_EMAIL,
            action=ConsentAction.CHANGE,
            source=ConsentSource.BOUNCE,
        )
        (event,) = session.scalars(select(ConsentEvent)).all()
        assert event.wording_version != NO_WORDING_VERSION
        kind, locale, text = words_of(session, event.wording_version)
        expected = translations("de").gettext(MASS_EMAIL_TEXT) % {"company": "Acme"}
        assert (kind, locale, text) == ("mass_email", "de", expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"newsletter": "Yes"}', "unknown consent text 'newsletter'"),
        ('{"mass_email": "News from {brand}"}', "may name only {company}"),
        ('{"job_alerts": ""}', "job_alerts must be 1 to 500 characters"),
        ('{"job_alerts": "Bad \\u0000 text"}', "cannot be shown"),
        ('["job_alerts"]', "must be a JSON dict"),
    ],
)
def test_consent_texts_refuses_what_it_cannot_show(
    tmp_path: Path, database_url: str, value: str, message: str
) -> None:
    """A malformed CONSENT_TEXTS names the variable and what is wrong."""
    with pytest.raises(ConfigError, match="CONSENT_TEXTS") as info:
        make_settings(tmp_path, database_url, CONSENT_TEXTS=value)
    assert message in str(info.value)


def test_consent_texts_keeps_only_the_reworded_texts(tmp_path: Path, database_url: str) -> None:
    """Given texts are kept (trimmed, one line); the others stay the translated defaults."""
    loaded = make_settings(
        tmp_path, database_url, CONSENT_TEXTS='{"mass_email": "  News from {company}.\\n"}'
    )
    assert loaded.consent_texts == {"mass_email": "News from {company}."}
