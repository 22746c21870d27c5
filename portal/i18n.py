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

The recruiter console (`/admin`) is not translated: its pages are always in English.

Every candidate page's footer links to the page itself in each supported language
(`language_menu`, plain links with `?lang=xx`, so no JavaScript is needed), each named
in its own language. Public pages (`PUBLIC_ENDPOINTS`: pages anyone may find, with no
signed token and nothing of one person's) also list their other languages for search
engines as `<link rel="alternate" hreflang>` (`hreflang_alternates`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode, urlsplit

from babel import Locale
from flask import Flask, Response, g, has_request_context, request
from flask_babel import Babel, get_locale, get_translations, lazy_gettext, refresh
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from mailer.i18n import catalog_directories, matching_locale
from portal.config import DEFAULT_TEXTS
from portal.locales import SOURCE_LOCALE, TRANSLATIONS_DIR, available_locales
from portal.web import signed_routes
from portal.web.fragments import fragment

if TYPE_CHECKING:
    from portal.config import Settings

__all__ = ["SOURCE_LOCALE", "TRANSLATIONS_DIR", "available_locales"]

COOKIE: Final = "tc_lang"
QUERY_ARG: Final = "lang"
# A year: the visitor chose it; it is not personal data beyond the choice itself.
COOKIE_MAX_AGE: Final = 365 * 24 * 3600
_SETTINGS_KEY: Final = "talentconnect.locales"
# Pages anyone may find and share: the same content for everyone, in every language. Only
# these carry hreflang alternates; a page of one person's (a signed link, the dashboard)
# never does, whatever this says (`hreflang_alternates` checks that too).
PUBLIC_ENDPOINTS: Final = frozenset({"public.index", "public.jobs", "public.job", "connect.start"})
# The button and link texts a company may reword (TEXTS): their defaults are translated,
# a company's own wording is shown as written. Kept word for word with
# portal.config.DEFAULT_TEXTS (tests/portal/test_language_switch.py checks).
DEFAULT_TEXT_MESSAGES: Final = {
    "connect_button": lazy_gettext("Connect With Us"),
    "login_link": lazy_gettext("Log in"),
    "continue_without": lazy_gettext("Continue without one"),
    "show_details": lazy_gettext("Show Details"),
    "continue_button": lazy_gettext("Continue"),
    "upload_button": lazy_gettext("Upload"),
    "skip_link": lazy_gettext("Skip"),
    "submit_button": lazy_gettext("Submit Profile"),
    "apply_button": lazy_gettext("Apply"),
}


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
    return matching_locale(value, supported)


def _chosen_by_url(supported: tuple[str, ...]) -> str | None:
    return supported_tag(request.args.get(QUERY_ARG), supported)


def is_recruiter_page() -> bool:
    """Whether this request is the recruiter console's (`/admin`), which is in English only."""
    blueprint = request.blueprint or ""
    return blueprint == "admin" or blueprint.startswith("console_")


def select_locale() -> str:
    """Flask-Babel's locale selector: see the module docstring for the order.

    The recruiter console is written in the source language only: its pages say so
    (lang="en", left to right) whatever a visitor chose for the candidate pages.
    """
    if is_recruiter_page():
        return SOURCE_LOCALE
    supported, default = g.get("_tc_locales") or _locales_of_app()
    for tag in (
        _chosen_by_url(supported),
        supported_tag(g.get("candidate_locale"), supported),
    ):
        if tag:
            return tag
    # From here the language depends on the request's headers (`_vary_by_language`).
    setattr(g, _NEGOTIATED_KEY, True)
    for tag in (
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


def chosen_by_url() -> str | None:
    """The supported language this request's `?lang=` names, if any."""
    supported, _default = g.get("_tc_locales") or _locales_of_app()
    return _chosen_by_url(supported)


def use_candidate_locale(tag: str | None) -> None:
    """Serve this request in a known candidate's stored language (unless `?lang=` says else).

    Called once the page knows whose it is; any locale already worked out for the
    request is dropped, so text translated from here on is in the candidate's language.
    """
    g.candidate_locale = tag
    refresh()
    g.pop(_TRANSLATIONS_KEY, None)
    g.pop(_LOCALE_KEY, None)


def current_locale() -> str:
    """The request's locale tag ("en", "es", "ar"); the source language outside a request."""
    if not has_request_context():
        return SOURCE_LOCALE
    found: str | None = g.get(_LOCALE_KEY)
    if found is None:
        locale = get_locale()
        found = str(locale) if locale is not None else SOURCE_LOCALE
        setattr(g, _LOCALE_KEY, found)
    return found


@lru_cache(maxsize=64)
def text_direction(tag: str) -> str:
    """ "rtl" for a right-to-left language (Arabic), else "ltr"."""
    right_to_left = Locale.parse(tag, sep="-").character_order == "right-to-left"
    return "rtl" if right_to_left else "ltr"


@lru_cache(maxsize=64)
def endonym(tag: str) -> str:
    """A language's name in that language, capitalized as a menu item: "Español", "العربية"."""
    name = Locale.parse(tag, sep="-").display_name or tag
    return name[:1].upper() + name[1:]


def _query_with(tag: str | None) -> str:
    """This request's query string with `lang` set to `tag` (dropped for None), order kept."""
    pairs = [(key, value) for key, value in request.args.items(multi=True) if key != QUERY_ARG]
    if tag is not None:
        pairs.append((QUERY_ARG, tag))
    return urlencode(pairs)


def _page_path() -> str:
    """The path that shows this page again on a GET, within the app.

    A page answering a POST to an address that only takes POST (a form's error page)
    is shown again from the page the form was on (a same-site Referer), else home.
    """
    rule = request.url_rule
    if request.method in ("GET", "HEAD") or rule is None or "GET" in (rule.methods or ()):
        return request.script_root + request.path
    referrer = urlsplit(request.referrer or "")
    if (
        referrer.netloc == request.host
        and referrer.path.startswith("/")
        and not referrer.path.startswith("//")
    ):
        return referrer.path
    return request.script_root + "/"


def _link(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def language_menu() -> Markup:
    """The footer's language menu (`_language_menu.html`): this page in each supported
    language, the current one marked. Nothing on the recruiter console's pages, which
    are in one language.

    The menu is rendered once per language (`portal.web.fragments`): only the page's
    address differs from page to page. Each link is that address with `lang=xx` last.
    """
    if is_recruiter_page():
        return Markup("")
    supported, _default = g.get("_tc_locales") or _locales_of_app()
    here = current_locale()
    links = tuple((tag, endonym(tag), tag == here) for tag in supported)
    others = _query_with(None)
    page = f"{_page_path()}?{others}&" if others else f"{_page_path()}?"
    return fragment(
        "_language_menu.html", (("links", links),), {"page": page}, catalog=request_translations()
    )


@pass_context
def hreflang_alternates(context: Context) -> list[tuple[str, str]]:
    """(hreflang, absolute URL) of this public page in every supported language, and x-default.

    Empty for every page that is not in PUBLIC_ENDPOINTS, for a signed or a signed-in
    page (`signed_routes.needs_no_store`), for anything but a GET, and for error pages.
    """
    if (
        request.endpoint not in PUBLIC_ENDPOINTS
        or request.method not in ("GET", "HEAD")
        or context.name == "error.html"
        or signed_routes.needs_no_store()
    ):
        return []
    from flask import current_app

    base = current_app.extensions[_SETTINGS_KEY + ".base_url"]
    supported, _default = g.get("_tc_locales") or _locales_of_app()
    path = base + request.script_root + request.path
    links = [(tag, _link(path, _query_with(tag))) for tag in supported]
    links.append(("x-default", _link(path, _query_with(None))))
    return links


def language_version(url: str) -> str:
    """`url` (absolute, no query) as the language version this request asked for.

    With `?lang=xx` when the request's URL chose a supported language (as that language's
    hreflang alternate links it), bare otherwise: the x-default, in the source language
    or the visitor's. A page's canonical link points at the version it is.
    """
    if not has_request_context():
        return url
    tag = chosen_by_url()
    return _link(url, urlencode([(QUERY_ARG, tag)]) if tag else "")


def localized_texts(texts: Mapping[str, str]) -> dict[str, str]:
    """The company's button and link texts in the page's language.

    A text left at its default is translated; one the company reworded (TEXTS) is its own.
    """
    # A default is its own catalog message (DEFAULT_TEXT_MESSAGES marks them). Every page
    # shows them: worked out once per catalog and set of texts, not on every page.
    catalog = request_translations()
    key = (id(catalog), id(texts))
    found = _LOCALIZED_TEXTS.get(key)
    if found is None or found[0] is not catalog or found[1] is not texts:
        translated = {
            name: catalog.ugettext(value)
            if name in DEFAULT_TEXT_MESSAGES and value == DEFAULT_TEXTS.get(name)
            else value
            for name, value in texts.items()
        }
        if len(_LOCALIZED_TEXTS) >= _LOCALIZED_TEXTS_MAX:  # many apps in one process (tests)
            _LOCALIZED_TEXTS.clear()
        found = _LOCALIZED_TEXTS[key] = (catalog, texts, translated)
    return dict(found[2])


# (catalog, texts, texts translated with it) by the ids of the first two; the entry holds
# them, so the ids stay theirs. Catalogs are loaded once per process and locale, and an
# app's texts are its settings': a few entries.
_LOCALIZED_TEXTS: dict[tuple[int, int], tuple[Any, Mapping[str, str], dict[str, str]]] = {}
_LOCALIZED_TEXTS_MAX: Final = 64


_TRANSLATIONS_KEY: Final = "_tc_translations"
_LOCALE_KEY: Final = "_tc_locale"
# Set when the request's language came from its headers (cookie, Accept-Language).
_NEGOTIATED_KEY: Final = "_tc_negotiated"


def request_translations() -> Any:
    """The request's catalog, looked up once per request (Flask-Babel looks it up again
    on every call, a dozen context lookups each: most of a translated page's cost)."""
    if not has_request_context():
        return get_translations()
    found = g.get(_TRANSLATIONS_KEY)
    if found is None:
        found = get_translations()
        setattr(g, _TRANSLATIONS_KEY, found)
    return found


def gettext(string: str, **variables: Any) -> str:
    """Flask-Babel's `gettext`, through the request's catalog looked up once."""
    translated: str = request_translations().ugettext(string)
    return translated % variables if variables else translated


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """Flask-Babel's `ngettext` (`%(num)s` is the count), through the request's catalog."""
    variables.setdefault("num", num)
    translated: str = request_translations().ungettext(singular, plural, num)
    return translated % variables


# The template context variable that holds the request's catalog for one rendering.
_CATALOG_VAR: Final = "_tc_catalog"


def _catalog_of(context: Context) -> Any:
    """The catalog a template renders with: the one its rendering was given, else the request's."""
    found = context.parent.get(_CATALOG_VAR)
    return found if found is not None else request_translations()


def _formatted(context: Context, text: str, variables: dict[str, Any]) -> str:
    """Jinja's newstyle formatting: escaped variables in an autoescaped template, `%%` as `%`."""
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - a catalog message, as Jinja itself marks it
    # `text % {}` is `text` when it holds no `%`: skip formatting then (most messages).
    return text % variables if variables or "%" in text else text


@pass_context
def _template_gettext(context: Context, string: str, /, **variables: Any) -> str:
    return _formatted(context, _catalog_of(context).ugettext(string), variables)


@pass_context
def _template_ngettext(
    context: Context, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    variables.setdefault("num", num)
    return _formatted(context, _catalog_of(context).ungettext(singular, plural, num), variables)


@pass_context
def _template_pgettext(context: Context, msgctxt: str, string: str, /, **variables: Any) -> str:
    variables.setdefault("context", msgctxt)
    return _formatted(context, _catalog_of(context).upgettext(msgctxt, string), variables)


@pass_context
def _template_npgettext(
    context: Context, msgctxt: str, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    variables.setdefault("context", msgctxt)
    variables.setdefault("num", num)
    translated = _catalog_of(context).unpgettext(msgctxt, singular, plural, num)
    return _formatted(context, translated, variables)


def _install_template_gettext(app: Flask) -> None:
    """Templates' `_`, `gettext`, `ngettext`, `pgettext` and `npgettext`, newstyle.

    They behave as Jinja's own newstyle callables (`install_gettext_callables(...,
    newstyle=True)`, as Flask-Babel installs them), without Jinja's two extra calls per
    message and the request-context lookups: each rendering is handed the request's
    catalog once (`_CATALOG_VAR`, by the context processor in `init_app`). A page has
    dozens of messages, so this is most of what translating a page costs.
    """
    env = app.jinja_env
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.globals.update(
        _=_template_gettext,
        gettext=_template_gettext,
        ngettext=_template_ngettext,
        pgettext=_template_pgettext,
        npgettext=_template_npgettext,
    )


def init_app(app: Flask, settings: Settings) -> None:
    """Install Flask-Babel with the locale selector, and remember a `?lang=` choice."""
    app.extensions[_SETTINGS_KEY] = (settings.supported_locales, ui_default(settings))
    app.extensions[_SETTINGS_KEY + ".base_url"] = settings.base_url
    Babel(
        app,
        default_locale=ui_default(settings),
        # The repository's catalogs, then any a test added (mailer.i18n.add_catalog_directory).
        default_translation_directories=";".join(str(d) for d in catalog_directories()),
        locale_selector=select_locale,
    )
    _install_template_gettext(app)

    @app.after_request
    def _vary_by_language(response: Response) -> Response:
        if g.pop(_NEGOTIATED_KEY, False):
            # The page's words came from the tc_lang cookie or Accept-Language: a shared
            # cache must keep one copy per value of each (RFC 9110, 12.5.5).
            response.vary.add("Accept-Language")
            response.vary.add("Cookie")
        return response

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
            _CATALOG_VAR: request_translations(),
            "page_locale": tag,
            "page_dir": text_direction(tag),
            "supported_locales": settings.supported_locales,
            "language_menu": language_menu,
            "hreflang_alternates": hreflang_alternates,
        }
