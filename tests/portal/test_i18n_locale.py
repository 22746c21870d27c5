"""Which language a page is served in: ?lang=, the remembered choice, Accept-Language,
DEFAULT_LOCALE, and SUPPORTED_LOCALES limiting all of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from portal.app import create_app
from portal.config import ConfigError
from portal.i18n import COOKIE, available_locales, supported_tag
from tests.conftest import make_settings


def _html_tag(client: FlaskClient, url: str, **headers: str) -> str:
    page = client.get(url, headers=headers).get_data(as_text=True)
    return page[page.index("<html") : page.index(">", page.index("<html")) + 1]


def test_every_catalog_in_the_repository_is_available() -> None:
    assert set(available_locales()) >= {"en", "es", "de", "fr", "ar"}


def test_a_page_is_english_by_default(client: FlaskClient) -> None:
    assert _html_tag(client, "/") == '<html lang="en" dir="ltr">'


def test_lang_in_the_url_chooses_and_is_remembered(client: FlaskClient) -> None:
    response = client.get("/?lang=es")
    assert '<html lang="es" dir="ltr">' in response.get_data(as_text=True)
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None and cookie.value == "es"
    # The next page, without ?lang=, is in the remembered language.
    assert _html_tag(client, "/jobs") == '<html lang="es" dir="ltr">'


def test_arabic_pages_read_right_to_left(client: FlaskClient) -> None:
    assert _html_tag(client, "/?lang=ar") == '<html lang="ar" dir="rtl">'


def test_accept_language_is_used_when_nothing_was_chosen(client: FlaskClient) -> None:
    tag = _html_tag(client, "/", **{"Accept-Language": "pt-BR, de;q=0.8, en;q=0.5"})
    assert tag == '<html lang="de" dir="ltr">'


def test_an_unsupported_choice_falls_back(client: FlaskClient) -> None:
    assert _html_tag(client, "/?lang=xx-evil") == '<html lang="en" dir="ltr">'
    assert client.get_cookie(COOKIE) is None


def test_supported_locales_limits_the_choice(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(
        tmp_path, database_url, SUPPORTED_LOCALES="de,en", DEFAULT_LOCALE="de-AT"
    )
    app = create_app(settings)
    try:
        client = app.test_client()
        assert _html_tag(client, "/?lang=es") == '<html lang="de" dir="ltr">'
        assert _html_tag(client, "/", **{"Accept-Language": "fr"}) == '<html lang="de" dir="ltr">'
    finally:
        app.extensions["talentconnect"].engine.dispose()


def test_a_locale_without_a_catalog_is_refused(tmp_path: Path, database_url: str) -> None:
    with pytest.raises(ConfigError, match="'pt' has no translation"):
        make_settings(tmp_path, database_url, SUPPORTED_LOCALES="en,pt")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("es-MX", "es"), ("ES", "es"), ("fr_CA", "fr"), ("", None), ("zz", None), (None, None)],
)
def test_supported_tag(value: str | None, expected: str | None) -> None:
    assert supported_tag(value, ("en", "es", "fr")) == expected


def test_a_page_in_a_negotiated_language_varies_by_accept_language_and_cookie(
    client: FlaskClient,
) -> None:
    """When the words came from Accept-Language (or the tc_lang cookie), the answer says
    so, and a shared cache keeps one copy per language; the same holds for a 404 page."""
    for url, status in (("/", 200), ("/jobs", 200), ("/no-such-page", 404)):
        response = client.get(url, headers={"Accept-Language": "de"})
        assert response.status_code == status
        assert '<html lang="de"' in response.get_data(as_text=True)
        assert {"accept-language", "cookie"} <= {v.lower() for v in response.vary}, url


def test_a_language_chosen_by_the_url_or_fixed_does_not_vary_by_accept_language(
    client: FlaskClient,
) -> None:
    """`?lang=` names the language, the console is always English and the API's JSON has no
    language: none of them depends on Accept-Language."""
    for url in ("/?lang=es", "/admin/login", "/api/v1/openapi.json"):
        response = client.get(url, headers={"Accept-Language": "de"})
        assert response.status_code == 200, url
        assert "accept-language" not in {v.lower() for v in response.vary}, url
