"""Templates compiled per language (portal.templating): fixed messages are translated at
compile time, exactly as the page would have translated them; the rest still at render."""

from __future__ import annotations

from flask import Flask, render_template_string

from portal.i18n import request_translations
from portal.templating import PortalEnvironment


def test_each_language_gets_its_own_compiled_templates(app: Flask) -> None:
    env = app.jinja_env
    assert isinstance(env, PortalEnvironment)
    with app.test_request_context("/?lang=es"):
        spanish = env.get_template("_language_menu.html")
        compiled_with = spanish.environment
        assert isinstance(compiled_with, PortalEnvironment)
        assert compiled_with.static_catalog is request_translations()
    with app.test_request_context("/?lang=de"):
        german = env.get_template("_language_menu.html")
    assert spanish is not german
    assert spanish.environment is not german.environment


def test_fixed_messages_are_translated_when_compiled(app: Flask) -> None:
    source = (
        '{{ _("Language") }}|{% trans %}Language{% endtrans %}|{{ _("100%% sure") }}|'
        '{{ _("Hello %(name)s", name=who) }}'
    )
    with app.test_request_context("/?lang=es"):
        env = app.jinja_env
        assert isinstance(env, PortalEnvironment)
        overlay = env.for_catalog(request_translations())
        compiled = overlay.compile(source, raw=True)
        # The fixed ones are text in the compiled template; the one with a variable is a call.
        assert "Idioma" in compiled and "Language" not in compiled
        assert "Hello %(name)s" in compiled
        html = overlay.from_string(source).render(who="<b>Ana</b>")
    assert html == "Idioma|Idioma|100% sure|Hello &lt;b&gt;Ana&lt;/b&gt;"


def test_outside_the_per_language_templates_translation_is_unchanged(app: Flask) -> None:
    """A template made from a string (no overlay) translates as the page renders."""
    with app.test_request_context("/?lang=es"):
        assert render_template_string('{{ _("Language") }}') == "Idioma"
    with app.test_request_context("/"):
        assert render_template_string('{{ _("Language") }}') == "Language"
