"""Rendering email templates: MJML once, then Jinja per recipient."""

from __future__ import annotations

from typing import Any

import pytest

from mailer.errors import MailerError, TemplateNotFound
from mailer.render import RenderedEmail, Renderer

CONTEXT: dict[str, Any] = {
    "company_name": "Acme",
    "base_url": "https://careers.acme.example.com",
    "postal_address": "1 Test Street, Testville",
    "first_name": "Ana",
}

EXPECTED_TEXT = """Hi Ana,

Thank you for connecting with Acme. You are now part of our
talent community, and we will let you know about roles that match your
interests.

Browse our open jobs: https://careers.acme.example.com/jobs

Acme
1 Test Street, Testville"""


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def test_welcome_renders_subject_text_and_html(renderer: Renderer) -> None:
    """The welcome template fills subject, plain text and compiled HTML from the context."""
    rendered = renderer.render("welcome", CONTEXT)
    assert isinstance(rendered, RenderedEmail)
    assert rendered.subject == "Welcome to the Acme talent community"
    assert rendered.text.rstrip("\n") == EXPECTED_TEXT
    html = rendered.html
    assert html.startswith("<!doctype html>")
    assert "<title>Welcome to the Acme talent community</title>" in html
    assert ">Hi Ana,</div>" in html
    assert 'href="https://careers.acme.example.com/jobs"' in html
    assert "Acme · 1 Test Street, Testville" in html
    # MJML was compiled: no MJML tags and no unrendered Jinja left.
    assert "<mj-" not in html
    assert "{{" not in html
    assert "{{" not in rendered.text


def test_missing_first_name_falls_back(renderer: Renderer) -> None:
    """Without a first name the greeting says "there"."""
    rendered = renderer.render("welcome", {**CONTEXT, "first_name": ""})
    assert rendered.text.startswith("Hi there,\n")
    assert ">Hi there,</div>" in rendered.html


def test_html_part_escapes_markup_and_text_part_keeps_it(renderer: Renderer) -> None:
    """Values are HTML-escaped in the HTML part but left literal in text and subject."""
    hostile = {
        **CONTEXT,
        "first_name": '<script>alert("x")</script>',
        "company_name": "Smith & Sons",
    }
    rendered = renderer.render("welcome", hostile)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in rendered.html
    assert "Smith &amp; Sons" in rendered.html
    assert "Smith & Sons" not in rendered.html
    assert rendered.text.startswith('Hi <script>alert("x")</script>,\n')
    assert rendered.subject == "Welcome to the Smith & Sons talent community"


def test_subject_is_one_line(renderer: Renderer) -> None:
    """A context value with line breaks cannot split the subject (no header injection)."""
    rendered = renderer.render("welcome", {**CONTEXT, "company_name": "Acme\r\nBcc: x@evil.test"})
    assert rendered.subject == "Welcome to the Acme Bcc: x@evil.test talent community"
    assert "\n" not in rendered.subject
    assert "\r" not in rendered.subject


def test_unknown_template_raises_template_not_found(renderer: Renderer) -> None:
    """An unknown template name raises TemplateNotFound naming the missing file."""
    with pytest.raises(TemplateNotFound) as caught:
        renderer.render("no_such_template", CONTEXT)
    assert caught.value.name == "no_such_template.mjml"
    assert isinstance(caught.value, MailerError)


@pytest.mark.parametrize("name", ["../pyproject", "welcome/../welcome"])
def test_template_names_cannot_escape_the_package(renderer: Renderer, name: str) -> None:
    """A template name with path parts does not reach files outside the templates."""
    with pytest.raises(MailerError):
        renderer.render(name, CONTEXT)


def test_missing_context_variable_is_a_mailer_error(renderer: Renderer) -> None:
    """A context missing a variable the template needs raises a MailerError, not a Jinja one."""
    context = {k: v for k, v in CONTEXT.items() if k != "company_name"}
    with pytest.raises(MailerError, match="company_name"):
        renderer.render("welcome", context)


def test_renderer_compiles_each_template_once(renderer: Renderer) -> None:
    """The compiled templates are cached and reused for every recipient."""
    renderer.render("welcome", CONTEXT)
    cached = renderer._compiled["welcome"]
    second = renderer.render("welcome", {**CONTEXT, "first_name": "Bob"})
    assert renderer._compiled["welcome"] is cached
    assert second.text.startswith("Hi Bob,\n")


def test_every_template_in_the_folder_renders_subject_text_and_html() -> None:
    """Each template set in templates_email/ compiles and renders with its documented context."""
    from importlib import resources

    from mailer.render import Renderer

    names = sorted(
        p.name.removesuffix(".mjml")
        for p in resources.files("templates_email").iterdir()
        if p.name.endswith(".mjml")
    )
    assert {"welcome", "confirmation", "connect_existing", "login_link", "preference_link"} <= set(
        names
    )
    context = {
        "company_name": "Acme",
        "first_name": "Ana",
        "base_url": "https://careers.acme.example.com",
        "postal_address": "1 Main St",
        "confirm_url": "https://careers.acme.example.com/connect/confirm/t",
        "interests": ["Design"],
        "verified": False,
        "login_url": "https://careers.acme.example.com/login/link/t",
        "preferences_url": "https://careers.acme.example.com/preferences/t",
    }
    renderer = Renderer()
    for name in names:
        email = renderer.render(name, context)
        assert email.subject and email.text.strip() and "<html" in email.html, name
        assert "1 Main St" in email.text and "1 Main St" in email.html, name
