"""Page parts rendered once per language and shape (portal.web.fragments): each request's
values are put in escaped, and a part is never shown in another language than the page's."""

from __future__ import annotations

from flask import Flask

from portal.i18n import language_menu, request_translations
from portal.web.fragments import fragment

SHAPE = (("in_grid", False), ("saved", False), ("back", None), ("current", "en"))
OPTIONS = (("options", (("en", "English"), ("es", "Español"))),)


def _choice(app: Flask, path: str, action: str, csrf: str) -> str:
    with app.test_request_context(path):
        return str(
            fragment(
                "_language_choice.html",
                SHAPE + OPTIONS,
                {"action": action, "csrf": csrf},
                catalog=request_translations(),
            )
        )


def test_each_requests_values_are_filled_in_escaped(app: Flask) -> None:
    first = _choice(app, "/", "/preferences/a/language", "one")
    hostile = _choice(app, "/", '/x?a=1&b="><script>', "two")
    assert 'action="/preferences/a/language"' in first and 'value="one"' in first
    assert 'action="/x?a=1&amp;b=&#34;&gt;&lt;script&gt;"' in hostile
    assert 'value="two"' in hostile and "one" not in hostile
    assert "<script>" not in hostile and "\x00" not in first + hostile


def test_a_part_is_in_the_language_of_each_page(app: Flask) -> None:
    """Kept per catalog: the Spanish page's menu is Spanish though English came first."""
    with app.test_request_context("/jobs?q=a&lang=en"):
        english = str(language_menu())
    with app.test_request_context("/jobs?q=a&lang=es"):
        spanish = str(language_menu())
    assert ">Language<" in english and ">Idioma<" in spanish
    assert 'href="/jobs?q=a&amp;lang=es" lang="es" hreflang="es" aria-current="true"' in spanish
    assert 'href="/jobs?q=a&amp;lang=en" lang="en" hreflang="en" aria-current="true"' in english


def test_the_console_has_no_language_menu(app: Flask) -> None:
    with app.test_request_context("/admin/"):
        app.preprocess_request()
        assert str(language_menu()) == ""
