"""The candidate's language: which locale a request is served in, and the catalogs.

Candidate-facing text goes through gettext (Flask-Babel): `_()`/`gettext` in Python and
`{% trans %}`/`_()` in templates, with the catalogs in `portal/translations/<locale>/
LC_MESSAGES/messages.po` (English is the source language and has no catalog of its own).
`make translations` extracts the strings and updates the catalogs; the `.mo` files are
compiled from them by `make` (install, `run` and `test`), never committed.

A request's locale is the first of these that is in SUPPORTED_LOCALES:

1. `?lang=xx` on the URL (and then remembered in the `tc_lang` cookie);
2. the candidate's stored language (`g.candidate_locale`, set by the signed pages and the
   dashboard once they know whose page it is);
3. the `tc_lang` cookie;
4. the browser's `Accept-Language`;
5. DEFAULT_LOCALE (or, if that is not supported, the first supported locale).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from babel import Locale
from flask import Flask, Response, g, has_request_context, request
from flask_babel import Babel, get_locale

from portal.locales import SOURCE_LOCALE, TRANSLATIONS_DIR, available_locales

if TYPE_CHECKING:
    from portal.config import Settings

__all__ = ["SOURCE_LOCALE", "TRANSLATIONS_DIR", "available_locales"]

COOKIE: Final = "tc_lang"
QUERY_ARG: Final = "lang"
# A year: the visitor chose it; it is not personal data beyond the choice itself.
COOKIE_MAX_AGE: Final = 365 * 24 * 3600
_SETTINGS_KEY: Final = "talentconnect.locales"


def ui_default(settings: Settings) -> str:
    """The locale pages fall back to: DEFAULT_LOCALE, or its language, when supported."""
    supported = settings.supported_locales
    for tag in (settings.default_locale, settings.default_locale.split("-")[0]):
        if tag in supported:
            return tag
    return supported[0]


def supported_tag(value: str | None, supported: tuple[str, ...]) -> str | None:
    """`value` (a language tag, any case, `_` or `-`) as one of `supported`; None if not.

    "es-MX" falls back to "es" when only "es" is supported.
    """
    if not value:
        return None
    tag = value.strip().replace("_", "-")
    lowered = {locale.lower(): locale for locale in supported}
    for candidate in (tag.lower(), tag.split("-")[0].lower()):
        if candidate in lowered:
            return lowered[candidate]
    return None


def _chosen_by_url(supported: tuple[str, ...]) -> str | None:
    return supported_tag(request.args.get(QUERY_ARG), supported)


def select_locale() -> str:
    """Flask-Babel's locale selector: see the module docstring for the order."""
    supported, default = g.get("_tc_locales") or _locales_of_app()
    for tag in (
        _chosen_by_url(supported),
        supported_tag(g.get("candidate_locale"), supported),
        supported_tag(request.cookies.get(COOKIE), supported),
        request.accept_languages.best_match(supported),
    ):
        if tag:
            return tag
    return default


def _locales_of_app() -> tuple[tuple[str, ...], str]:
    from flask import current_app

    locales: tuple[tuple[str, ...], str] = current_app.extensions[_SETTINGS_KEY]
    g._tc_locales = locales
    return locales


def current_locale() -> str:
    """The request's locale tag ("en", "es", "ar"); the source language outside a request."""
    if not has_request_context():
        return SOURCE_LOCALE
    locale = get_locale()
    return str(locale) if locale is not None else SOURCE_LOCALE


def text_direction(tag: str) -> str:
    """ "rtl" for a right-to-left language (Arabic), else "ltr"."""
    right_to_left = Locale.parse(tag, sep="-").character_order == "right-to-left"
    return "rtl" if right_to_left else "ltr"


def init_app(app: Flask, settings: Settings) -> None:
    """Install Flask-Babel with the locale selector, and remember a `?lang=` choice."""
    app.extensions[_SETTINGS_KEY] = (settings.supported_locales, ui_default(settings))
    Babel(
        app,
        default_locale=ui_default(settings),
        default_translation_directories=str(TRANSLATIONS_DIR),
        locale_selector=select_locale,
    )

    @app.after_request
    def _remember_choice(response: Response) -> Response:
        chosen = _chosen_by_url(settings.supported_locales)
        if chosen and request.cookies.get(COOKIE) != chosen:
            response.set_cookie(
                COOKIE,
                chosen,
                max_age=COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.base_url.startswith("https://"),
            )
        return response

    @app.context_processor
    def _language_context() -> dict[str, object]:
        tag = current_locale()
        return {
            "page_locale": tag,
            "page_dir": text_direction(tag),
            "supported_locales": settings.supported_locales,
        }
