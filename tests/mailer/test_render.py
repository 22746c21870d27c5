"""Rendering email templates: MJML once, then Jinja per recipient."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from mailer.errors import MailerError, TemplateNotFound
from mailer.i18n import format_day
from mailer.render import STAFF_TEMPLATES, RenderedEmail, Renderer, template_names

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


# Every variable any template uses, so each one renders from this context.
FULL_CONTEXT: dict[str, Any] = {
    "company_name": "Acme",
    "first_name": "Ana",
    "base_url": "https://careers.acme.example.com",
    "postal_address": "1 Main St",
    "confirm_url": "https://c.example/connect/confirm/t",
    "interests": ["Design"],
    "verified": False,
    "login_url": "https://c.example/login/link/t",
    "preferences_url": "https://c.example/preferences/t",
    "unsubscribe_url": "https://c.example/unsubscribe/t",
    "reason": "You subscribed to job alerts for Data Science at Acme.",
    "dashboard_url": "https://c.example/dashboard/resume",
    "search_description": "“python” in Berlin",
    "search_frequency": "weekly",
    "jobs": [
        {
            "title": "Data Scientist",
            "location": "Berlin",
            "url": "https://c.example/jobs/1",
            "matched": ["Data Science", "Machine Learning"],
        },
        {"title": "Analyst", "location": "", "url": "https://c.example/jobs/2", "matched": []},
    ],
    "more_count": 2,
    "more_url": "https://c.example/more",
    "from_interest": "Data Science",
    "to_interest": "Data & Analytics",
    "subject": "Meet us in Berlin & Co",
    "body_html": "<p>Join our <strong>hiring event</strong>.</p>",
    "body_text": "Join our hiring event.",
    "keep_url": "https://c.example/stay/t",
    "expires_on": "2027-01-05",
    "reminder": False,
    "endpoint_url": "https://crm.example/hooks",
    "endpoint_description": "",
    "failing_since": "2026-12-01 09:30 UTC",
    "disabled_at": "2026-12-06 09:31 UTC",
    "webhooks_url": "https://c.example/admin/webhooks",
}


# Mail to recruiters, in English like the console (queued with locale "en").
RECRUITER_TEMPLATES = STAFF_TEMPLATES


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture
def template_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., str]]:
    """Make a throwaway template package on disk; returns a function that writes its files."""
    name = "emails_" + re.sub(r"\W", "_", tmp_path.name)
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(**files: str) -> str:
        for filename, text in files.items():
            (folder / filename.replace("__", ".")).write_text(text, encoding="utf-8")
        return name

    yield write
    sys.modules.pop(name, None)


MINIMAL_MJML = (
    "<mjml><mj-body><mj-section><mj-column>{body}</mj-column></mj-section></mj-body></mjml>"
)


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


def test_every_template_in_the_folder_renders_subject_text_and_html(renderer: Renderer) -> None:
    """Each template set in templates_email/ compiles and renders with its documented context."""
    names = template_names()
    assert {
        "welcome",
        "confirmation",
        "connect_existing",
        "login_link",
        "preference_link",
        "job_alert",
        "campaign",
        "resume_nudge",
        "account_deleted",
        "interest_merged",
        "repermission",
        "webhook_disabled",
    } <= set(names)
    for name in names:
        email = renderer.render(name, FULL_CONTEXT)
        assert email.subject and email.text.strip() and "<html" in email.html, name
        assert "1 Main St" in email.text and "1 Main St" in email.html, name
        assert '<html lang="en"' in email.html, name
        # Every Jinja tag survived the MJML compile and was rendered.
        assert "{{" not in email.html and "{%" not in email.html and "{#" not in email.html, name


def test_partials_are_not_templates(renderer: Renderer) -> None:
    """Files starting with "_" are shared partials: not listed and not renderable on their own."""
    assert not [name for name in template_names() if name.startswith("_")]
    with pytest.raises(TemplateNotFound):
        renderer.render("_bulk_footer", FULL_CONTEXT)


def test_mjml_include_is_inlined_with_the_body_width(renderer: Renderer) -> None:
    """An included footer keeps the 600px body width (mjml-python's own include drops it)."""
    html = renderer.render("job_alert", FULL_CONTEXT).html
    before = html[: html.index("You subscribed to job alerts")]
    section = before.rindex('<div style="margin:0px auto;')
    assert before[section:].startswith('<div style="margin:0px auto;max-width:600px;">')
    outlook_table = before[before.rindex("<!--[if mso | IE]><table", 0, section) : section]
    assert 'width="600"' in outlook_table


@pytest.mark.parametrize("path", ["_missing.mjml", "../pyproject.mjml", "other.mjml", "_x.txt"])
def test_mjml_includes_reach_only_partials(template_package: Callable[..., str], path: str) -> None:
    """An mj-include of a missing partial, a path outside the package or a template fails."""
    package = template_package(
        t__mjml=MINIMAL_MJML.format(body=f'<mj-include path="{path}" />'),
        t__txt="text",
        t__subject__txt="subject",
        other__mjml=MINIMAL_MJML.format(body="<mj-text>other</mj-text>"),
        _x__txt="partial",
    )
    with pytest.raises(TemplateNotFound) as caught:
        Renderer(package).render("t", {})
    assert caught.value.name == path


@pytest.mark.parametrize("path", ["_missing.txt", "../pyproject.toml", "other.txt"])
def test_text_includes_reach_only_partials(template_package: Callable[..., str], path: str) -> None:
    """The text part's Jinja include serves only `_x.txt` partials of the template package."""
    package = template_package(
        t__mjml=MINIMAL_MJML.format(body="<mj-text>t</mj-text>"),
        t__txt=f'{{% include "_ok.txt" %}} / {{% include "{path}" %}}',
        t__subject__txt="subject",
        _ok__txt="partial {{ who }}",
        other__txt="a template's text",
    )
    with pytest.raises(MailerError, match=re.escape(path)):
        Renderer(package).render("t", {"who": "x"})
    package_ok = template_package(t__txt='{% include "_ok.txt" %}!')
    assert Renderer(package_ok).render("t", {"who": "Ana"}).text == "partial Ana!"


def test_mjml_partials_are_inlined_before_the_compile(template_package: Callable[..., str]) -> None:
    """An MJML partial compiles with its template, and its Jinja renders per recipient."""
    package = template_package(
        t__mjml=MINIMAL_MJML.format(body='<mj-include path="_part.mjml" />'),
        t__txt="t",
        t__subject__txt="s",
        _part__mjml='<mj-text font-size="17px">Hello {{ who }}</mj-text>',
    )
    html = Renderer(package).render("t", {"who": "<Ana>"}).html
    assert "font-size:17px" in html
    assert ">Hello &lt;Ana&gt;</div>" in html
    assert "mj-include" not in html


def test_broken_mjml_is_a_mailer_error(template_package: Callable[..., str]) -> None:
    """MJML that does not compile raises a MailerError, so the worker records a failed row."""
    package = template_package(t__mjml="<mjml><mj-body><mj-text>", t__txt="t", t__subject__txt="s")
    with pytest.raises(MailerError, match="not valid MJML"):
        Renderer(package).render("t", {})


@pytest.mark.parametrize("name", ["job_alert", "campaign"])
def test_bulk_templates_carry_the_four_footer_items(renderer: Renderer, name: str) -> None:
    """Bulk mail shows the postal address, the reason, Manage preferences and Unsubscribe."""
    email = renderer.render(name, FULL_CONTEXT)
    html, text = email.html, email.text
    assert "Acme · 1 Main St" in html
    assert ">You subscribed to job alerts for Data Science at Acme.</div>" in html
    assert re.search(r'<a href="https://c\.example/preferences/t"[^>]*>Manage preferences<', html)
    assert re.search(r'<a href="https://c\.example/unsubscribe/t"[^>]*>Unsubscribe</a>', html)
    footer = text[text.rindex("\n--\n") :]
    assert "You subscribed to job alerts for Data Science at Acme." in footer
    assert "Manage preferences: https://c.example/preferences/t" in footer
    assert "Unsubscribe: https://c.example/unsubscribe/t" in footer
    assert footer.rstrip().endswith("Acme\n1 Main St")


FOOTER_ITEMS = ["reason", "preferences_url", "unsubscribe_url", "postal_address"]


@pytest.mark.parametrize("missing", FOOTER_ITEMS)
@pytest.mark.parametrize("name", ["job_alert", "campaign"])
def test_bulk_mail_without_a_footer_item_does_not_render(
    renderer: Renderer, name: str, missing: str
) -> None:
    """A bulk message whose context lacks a footer item fails instead of going out without it."""
    context = {k: v for k, v in FULL_CONTEXT.items() if k != missing}
    with pytest.raises(MailerError, match=missing):
        renderer.render(name, context)


def test_job_alert_escapes_markup_in_html_only(renderer: Renderer) -> None:
    """HTML-special characters in job fields are escaped in the HTML part, literal in text."""
    job = {
        "title": '<b>R&D</b> "Lead"',
        "location": "Zürich <HQ>",
        "url": 'https://c.example/jobs/1" onclick="alert(1)',
        "matched": ["C & C++"],
    }
    email = renderer.render("job_alert", {**FULL_CONTEXT, "jobs": [job], "more_count": 0})
    assert "&lt;b&gt;R&amp;D&lt;/b&gt; &#34;Lead&#34;" in email.html
    assert "<b>R&D</b>" not in email.html
    assert "Zürich &lt;HQ&gt;" in email.html
    assert "matched: C &amp; C++" in email.html
    assert 'href="https://c.example/jobs/1&#34; onclick=&#34;alert(1)"' in email.html
    assert 'onclick="' not in email.html
    assert '- <b>R&D</b> "Lead"\n' in email.text
    assert email.subject == 'New job at Acme: <b>R&D</b> "Lead"'


def test_job_alert_lists_each_job_with_its_matched_interests(renderer: Renderer) -> None:
    """Each job shows its linked title, its location and "matched: A, B" in HTML and text."""
    email = renderer.render("job_alert", FULL_CONTEXT)
    assert re.search(r'<a href="https://c\.example/jobs/1"[^>]*>Data Scientist</a>', email.html)
    assert "Berlin · matched: Data Science, Machine Learning" in email.html
    assert "- Data Scientist\n  Berlin · matched: Data Science, Machine Learning\n" in email.text
    assert "  https://c.example/jobs/1\n" in email.text
    assert email.subject == "New jobs at Acme: Data Scientist and 3 more"


@pytest.mark.parametrize(
    ("more_count", "phrase"),
    [(0, None), (1, "And 1 more matching job"), (7, "And 7 more matching jobs")],
)
def test_job_alert_more_link_only_when_more_matches(
    renderer: Renderer, more_count: int, phrase: str | None
) -> None:
    """The "and N more matching jobs" link to more_url appears only when more_count > 0."""
    email = renderer.render("job_alert", {**FULL_CONTEXT, "more_count": more_count})
    if phrase is None:
        assert "more matching" not in email.html
        assert "more matching" not in email.text
        assert "https://c.example/more" not in email.html + email.text
    else:
        assert re.search(rf'<a href="https://c\.example/more"[^>]*>{phrase}</a>', email.html)
        assert f"{phrase}: https://c.example/more" in email.text


def test_campaign_inserts_the_sanitized_body_and_uses_its_subject(renderer: Renderer) -> None:
    """The campaign wrapper takes subject and text from the context and inserts body_html as is."""
    email = renderer.render("campaign", FULL_CONTEXT)
    assert email.subject == "Meet us in Berlin & Co"
    assert "<title>Meet us in Berlin &amp; Co</title>" in email.html
    assert "<p>Join our <strong>hiring event</strong>.</p>" in email.html
    assert email.text.startswith("Join our hiring event.\n")
    # The note to callers is a Jinja comment: it never reaches the recipient.
    assert "sanitize" not in email.html


def test_resume_nudge_links_to_the_dashboard(renderer: Renderer) -> None:
    """The resume nudge points to dashboard_url in both parts and carries no unsubscribe link."""
    email = renderer.render("resume_nudge", FULL_CONTEXT)
    assert 'href="https://c.example/dashboard/resume"' in email.html
    assert "https://c.example/dashboard/resume" in email.text
    assert "Unsubscribe" not in email.html + email.text


def test_account_deleted_says_what_was_kept_and_that_the_address_cannot_rejoin(
    renderer: Renderer,
) -> None:
    """The deletion notice names the kept salted hash and says the address cannot join again."""
    email = renderer.render("account_deleted", FULL_CONTEXT)
    for part in (email.html, " ".join(email.text.split())):
        assert "salted hash of your email address" in part
        assert "can't use this address to join" in part
        assert "use a different email address" in part


def test_repermission_asks_to_stay_with_one_button_and_says_what_happens_otherwise(
    renderer: Renderer,
) -> None:
    """The re-permission email: one Keep button, a preferences link, the deletion day, no
    unsubscribe footer; the reminder has its own subject and first paragraph."""
    email = renderer.render("repermission", FULL_CONTEXT)
    assert email.subject == "Do you want to stay in the Acme talent community?"
    assert email.html.count('href="https://c.example/stay/t"') == 1
    assert ">Keep me in the talent community<" in email.html
    assert "Keep me in the talent community: https://c.example/stay/t" in email.text
    assert 'href="https://c.example/preferences/t"' in email.html
    assert "Manage your email preferences: https://c.example/preferences/t" in email.text
    for part in (email.html, " ".join(email.text.split())):
        assert "on Jan 5, 2027 we delete your profile, your resume and your email address" in part
        assert "You can always join again later." in part
        assert "Unsubscribe" not in part
        assert "only reminder" not in part
    reminder = renderer.render("repermission", {**FULL_CONTEXT, "reminder": True})
    assert reminder.subject == (
        "Reminder: your Acme talent community profile will be deleted on Jan 5, 2027"
    )
    assert "This is the only reminder we send." in " ".join(reminder.text.split())
    assert "This is the only reminder we send." in reminder.html
    assert 'href="https://c.example/stay/t"' in reminder.html


def test_repermission_in_spanish_gives_the_day_in_spanish(renderer: Renderer) -> None:
    """A Spanish re-permission email writes the deletion day the Spanish way."""
    email = renderer.render("repermission", FULL_CONTEXT, "es")
    for part in (email.html, email.text):
        assert "5 ene 2027" in part
    assert "Jan 5, 2027" not in email.html + email.text
    assert email.subject != "Do you want to stay in the Acme talent community?"


@pytest.mark.parametrize(
    ("value", "locale", "shown"),
    [
        ("2027-01-05", "en", "Jan 5, 2027"),
        ("2027-01-05", "de", "05.01.2027"),
        (date(2027, 1, 5), "en", "Jan 5, 2027"),
        (datetime(2027, 1, 5, 23, 30, tzinfo=UTC), "en", "Jan 5, 2027"),
    ],
)
def test_format_day_reads_an_iso_date_string(value: object, locale: str, shown: str) -> None:
    """`format_day` takes an ISO date string (a JSON context's day) as well as a date."""
    assert format_day(value, locale) == shown  # type: ignore[arg-type]


def test_format_day_refuses_a_string_that_is_not_a_date() -> None:
    """A string that is not an ISO date is a ValueError, not a wrong day."""
    with pytest.raises(ValueError):
        format_day("next Tuesday", "en")


@pytest.mark.parametrize("name", ["confirmation", "welcome"])
def test_first_emails_link_to_the_preference_center_in_both_parts(
    renderer: Renderer, name: str
) -> None:
    """Confirmation and welcome carry "Manage your email preferences"; rows queued before, not."""
    email = renderer.render(name, FULL_CONTEXT)
    assert "Manage your email preferences: https://c.example/preferences/t" in email.text
    assert 'href="https://c.example/preferences/t"' in email.html
    assert "Manage your email preferences</a>" in email.html
    older = renderer.render(name, {k: v for k, v in FULL_CONTEXT.items() if k != "preferences_url"})
    assert "Manage your email preferences" not in older.text + older.html


LOCALES = ("es", "de", "fr", "ar")


@pytest.mark.parametrize("locale", ["pt", "pt-BR", "xx", "", "../es", "en-GB"])
def test_unsupported_locale_falls_back_to_english(renderer: Renderer, locale: str) -> None:
    """A locale without a catalog (or no locale at all) renders exactly the English email."""
    for name in template_names():
        assert renderer.render(name, FULL_CONTEXT, locale) == renderer.render(name, FULL_CONTEXT)


def test_a_regional_tag_uses_its_language(renderer: Renderer) -> None:
    """ "es-MX" and "DE_at" are rendered in Spanish and German."""
    assert renderer.render("welcome", CONTEXT, "es-MX").subject == (
        "Te damos la bienvenida a la comunidad de talento de Acme"
    )
    assert renderer.render("welcome", CONTEXT, "DE_at").text.startswith("Hallo Ana,\n")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_template_renders_in_every_locale(renderer: Renderer, locale: str) -> None:
    """Each template renders in each locale, every trans block translated, no Jinja left over."""
    for name in template_names():
        if name in RECRUITER_TEMPLATES:
            continue
        english = renderer.render(name, FULL_CONTEXT)
        email = renderer.render(name, FULL_CONTEXT, locale)
        if name != "campaign":  # its subject is the recruiter's
            assert email.subject != english.subject, (locale, name)
        assert email.text != english.text and email.html != english.html, (locale, name)
        assert f'<html lang="{locale}"' in email.html, name
        for part in (email.subject, email.text, email.html):
            assert "{{" not in part and "{%" not in part and "%(" not in part, (locale, name)
        assert "1 Main St" in email.text and "1 Main St" in email.html, name


def test_every_marked_email_string_is_translated_in_every_catalog() -> None:
    """Every string marked in templates_email/ has a translation (all plural forms) per locale."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.mofile import read_mo

    from mailer.i18n import TRANSLATIONS_DIR

    templates = Path(__file__).resolve().parents[2] / "templates_email"
    marked = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(templates),
            method_map=[("**.mjml", "jinja2"), ("**.txt", "jinja2")],
        )
    }
    assert len(marked) > 80
    for locale in LOCALES:
        with (TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.mo").open("rb") as mo:
            catalog = read_mo(mo)
        for message in marked:
            key = message if isinstance(message, str) else message[0]
            entry = catalog.get(key)
            assert entry is not None and entry.string, (locale, message)
            if isinstance(entry.string, tuple):
                assert all(entry.string), (locale, message)


def test_each_template_is_compiled_by_mjml_once_for_all_locales(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The MJML compile runs once per template; other locales reuse its output."""
    import mailer.render as render_module

    calls: list[str] = []
    real = render_module.mjml2html

    def counting(source: str) -> str:
        calls.append(source)
        return real(source)

    monkeypatch.setattr(render_module, "mjml2html", counting)
    renderer = Renderer()
    for locale in ("en", "es", "ar", "es", "en", "de", "fr"):
        renderer.render("welcome", CONTEXT, locale)
    assert len(calls) == 1


def test_catalogs_are_loaded_once_per_locale() -> None:
    """A locale's catalog is loaded once and shared, not read again per message."""
    from mailer.i18n import translations

    assert translations("es") is translations("es")
    assert translations("es").gettext("Unsubscribe") == "Darme de baja"
    assert translations("en").gettext("Unsubscribe") == "Unsubscribe"


def test_arabic_reads_right_to_left(renderer: Renderer) -> None:
    """Arabic HTML is dir="rtl" and right-aligned; its text part isolates URLs, no LTR marks."""
    email = renderer.render("job_alert", FULL_CONTEXT, "ar")
    assert '<html lang="ar" dir="rtl"' in email.html
    assert "text-align:right" in email.html and "direction:rtl" in email.html
    assert "\u200e" not in email.text and "\u200f" not in email.text
    assert "\u2066https://c.example/unsubscribe/t\u2069" in email.text
    english = renderer.render("job_alert", FULL_CONTEXT)
    assert "\u2066" not in english.text and 'dir="auto"' in english.html
    # Lists start on the reading side.
    confirmation = renderer.render("confirmation", FULL_CONTEXT, "ar").html
    assert "padding-right:20px" in confirmation and "padding-left:20px" not in confirmation


def test_renders_concurrently_in_many_locales() -> None:
    """Threads rendering in different locales each get their own language."""
    from concurrent.futures import ThreadPoolExecutor

    renderer = Renderer()
    expected = {
        "en": "Hi Ana,",
        "es": "Hola, Ana:",
        "de": "Hallo Ana,",
        "fr": "Bonjour Ana,",
        "ar": "مرحبًا Ana،",
    }
    jobs = [locale for _ in range(20) for locale in expected]
    with ThreadPoolExecutor(max_workers=8) as pool:
        texts = list(pool.map(lambda loc: renderer.render("welcome", CONTEXT, loc).text, jobs))
    for locale, text in zip(jobs, texts, strict=True):
        assert text.startswith(expected[locale] + "\n"), (locale, text[:40])


def test_numbers_and_dates_follow_the_locale_and_time_zone(
    template_package: Callable[..., str],
) -> None:
    """`number`, `date(tz)` and `datetime(tz)` format with Babel for the locale, in the zone."""
    from datetime import UTC, datetime

    package = template_package(
        t__mjml=MINIMAL_MJML.format(body="<mj-text>{{ n|number }}</mj-text>"),
        t__txt="{{ n|number }} | {{ at|date(tz) }} | {{ at|datetime(tz) }}",
        t__subject__txt="s",
    )
    renderer = Renderer(package)
    # 23:30 UTC on 2 November is already 3 November in Berlin.
    context = {"n": 12345.5, "at": datetime(2026, 11, 2, 23, 30, tzinfo=UTC), "tz": "Europe/Berlin"}
    assert renderer.render("t", context, "de").text == (
        "12.345,5 | 03.11.2026 | 03.11.2026, 00:30:00"
    )
    assert renderer.render("t", context).text == (
        "12,345.5 | Nov 3, 2026 | Nov 3, 2026, 12:30:00\u202fAM"
    )
    assert ">12.345,5</div>" in renderer.render("t", context, "de").html


# --- shared renders (bulk mail) ---------------------------------------------------------


@pytest.mark.parametrize("name", ["job_alert", "campaign"])
@pytest.mark.parametrize("locale", ["en", "es", "de", "fr", "ar"])
def test_shared_render_writes_what_a_full_render_writes(name: str, locale: str) -> None:
    """Readers sharing a digest or campaign get, from one shared render, the email a render
    of their own would write: their name and links in place, escaped in the HTML."""
    renderer = Renderer()
    readers = [
        {"first_name": "Ana", "unsubscribe_url": "https://c.example/unsubscribe/a1"},
        {"first_name": 'José <b>&"Ü"</b>', "unsubscribe_url": "https://c.example/unsubscribe/b2"},
        {"first_name": "", "unsubscribe_url": "https://c.example/unsubscribe/c3"},
        {"first_name": "Li", "unsubscribe_url": "https://c.example/unsubscribe/d4?x=1&y=2"},
    ]
    for _round in range(3):
        for reader in readers:
            context = {
                **FULL_CONTEXT,
                **reader,
                "preferences_url": reader["unsubscribe_url"].replace("unsubscribe", "pref"),
            }
            expected = renderer.render(name, dict(context), locale)
            shared = renderer.render_shared(name, dict(context), locale)
            assert shared == expected
            # The start it names as shared with other readers is its own start.
            assert shared.text.startswith(shared.text_prefix)
            assert shared.html.startswith(shared.html_prefix)
            if _round:
                assert len(shared.html_prefix) > 1000
    # Rendered once per shape of context (the empty name is a shape of its own), not per reader.
    assert len(renderer._shared) == 2


def test_shared_render_needs_the_same_shared_context(template_package: Any) -> None:
    """A reader whose digest differs in anything but the personal values gets their own."""
    package = template_package(
        t__mjml=MINIMAL_MJML.format(
            body="<mj-text>{{ first_name }} {{ jobs|join(',') }}</mj-text>"
        ),
        t__txt="{{ first_name }}: {{ jobs|join(',') }} {{ unsubscribe_url|ltr }}",
        t__subject__txt="{{ jobs|length }} jobs for {{ first_name }}",
    )
    renderer = Renderer(package)
    for jobs in (["a", "b"], ["a", "c"], ["a", "b"], ["a", "c"], [1, 2], ["1", "2"], [1, 2]):
        for person in ("Ana", "Bo\r\nBcc: x", "Çem"):
            context = {"first_name": person, "jobs": jobs, "unsubscribe_url": f"https://u/{person}"}
            assert renderer.render_shared("t", context, "ar") == renderer.render("t", context, "ar")


def test_shared_render_falls_back_when_a_template_transforms_a_personal_value(
    template_package: Any,
) -> None:
    """A template that does more with a personal value than print it renders in full."""
    package = template_package(
        t__mjml=MINIMAL_MJML.format(body="<mj-text>{{ first_name|upper }}</mj-text>"),
        t__txt="{{ first_name|upper }} {{ first_name[:2] }}",
        t__subject__txt="Hi {{ first_name }}",
    )
    renderer = Renderer(package)
    for person in ("ana", "bo", "ana", "bo", "cy"):
        rendered = renderer.render_shared("t", {"first_name": person})
        assert rendered.text == f"{person.upper()} {person[:2]}"
        assert rendered.subject == f"Hi {person}"
