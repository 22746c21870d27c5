"""Every email template renders exactly as its saved snapshot, in every language.

Each template in templates_email/ is rendered with SAMPLE_CONTEXT and compared
with tests/mailer/snapshots/NAME.html, NAME.txt and NAME.subject.txt (English),
and so is each of VARIANTS (a template with some values changed, e.g. the
re-permission reminder) under its own name,
and in each other locale with the context's prose translated as the worker
translates it (`sample_context`) against snapshots/LOCALE/NAME.*. A difference
fails with a unified diff; the HTML is split between tags for the diff only, so
it points at the element that changed.

After an intended change (a template, the shared partials, mjml-python), rewrite
the snapshots, then review them with `git diff` before committing:

    TALENTCONNECT_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/mailer/test_snapshots.py

The saved .html files open in a browser as they are.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import pytest

from jobs.posting_fields import Workplace
from jobs.search_criteria import SearchCriteria, describe
from mailer.i18n import (
    DEFAULT_LOCALES,
    SOURCE_LOCALE,
    is_right_to_left,
    language_note,
    translations,
)
from mailer.render import RenderedEmail, Renderer, template_names

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("TALENTCONNECT_UPDATE_SNAPSHOTS") == "1"
PARTS = ("html", "txt", "subject.txt")

# One fixed context with every variable any template uses. Change it only on
# purpose: every snapshot depends on it.
SAMPLE_CONTEXT: dict[str, Any] = {
    "company_name": "Acme",
    "first_name": "Ana",
    "base_url": "https://careers.acme.example.com",
    "postal_address": "1 Main Street, Springfield, IL 62701, USA",
    "confirm_url": "https://careers.acme.example.com/connect/confirm/CONFIRM-TOKEN",
    "interests": ["Data Science", "Design"],
    "mass_email": True,
    "resume_added": False,
    "verified": False,
    "login_url": "https://careers.acme.example.com/login/link/LOGIN-TOKEN",
    "preferences_url": "https://careers.acme.example.com/preferences/PREFERENCES-TOKEN",
    "unsubscribe_url": "https://careers.acme.example.com/unsubscribe/UNSUBSCRIBE-TOKEN",
    "reason": "You subscribed to job alerts for Data Science at Acme.",
    "dashboard_url": "https://careers.acme.example.com/dashboard/resume",
    "jobs": [
        {
            "title": "Senior Data Scientist",
            "location": "Berlin, Germany",
            "url": "https://careers.acme.example.com/jobs/101",
            "matched": ["Data Science", "Machine Learning"],
        },
        {
            "title": "Research & Development Engineer",
            "location": "",
            "url": "https://careers.acme.example.com/jobs/102",
            "matched": ["Data Science"],
            "searches": ["your search “python” in Berlin"],
        },
        {
            "title": "Product Designer",
            "location": "Remote (EU)",
            "url": "https://careers.acme.example.com/jobs/103",
            "matched": [],
            # A posting written in German (`jobs.digests`: `mailer.i18n.language_note`).
            "language_note": "(in German)",
        },
    ],
    "more_count": 4,
    "more_url": "https://careers.acme.example.com/jobs?interest=data-science",
    "search_description": "“python” in Berlin · Remote",
    "search_frequency": "daily",
    "from_interest": "Data Analytics",
    "to_interest": "Data Science",
    "subject": "Meet Acme at our Berlin hiring day",
    "body_html": (
        "<h2>Meet us in Berlin</h2>"
        "<p>Join our <strong>hiring day</strong> on 12 June: talks, interviews and coffee.</p>"
        '<p><a href="https://careers.acme.example.com/events/berlin">Save your seat</a></p>'
    ),
    "body_text": (
        "Meet us in Berlin\n\n"
        "Join our hiring day on 12 June: talks, interviews and coffee.\n\n"
        "Save your seat: https://careers.acme.example.com/events/berlin"
    ),
    "keep_url": "https://careers.acme.example.com/stay/STAY-TOKEN",
    "expires_on": "2027-01-05",
    "reminder": False,
    "endpoint_url": "https://crm.acme.example.com/hooks/talent",
    "endpoint_description": "CRM sync",
    "failing_since": "2026-12-01 09:30 UTC",
    "disabled_at": "2026-12-06 09:31 UTC",
    "webhooks_url": "https://careers.acme.example.com/admin/webhooks",
}

# Snapshots of a template rendered with some values changed, by snapshot name:
# (template, the values that differ from SAMPLE_CONTEXT).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "repermission_reminder": ("repermission", {"reminder": True}),
}


LOCALES = DEFAULT_LOCALES


def sample_context(locale: str) -> dict[str, Any]:
    """SAMPLE_CONTEXT with the prose the worker builds in Python written in `locale`."""
    if locale == SOURCE_LOCALE:
        return SAMPLE_CONTEXT
    _ = translations(locale).gettext
    context = dict(SAMPLE_CONTEXT)
    context["reason"] = _("You subscribed to job alerts for %(what)s at %(company)s.") % {
        "what": "Data Science",
        "company": "Acme",
    }
    # As portal.connect.saved_search queues it: in the email's language.
    described = describe(
        SearchCriteria(q="python", location="Berlin", workplace=Workplace.REMOTE), gettext=_
    )
    words = describe(SearchCriteria(q="python", location="Berlin"), gettext=_)
    if is_right_to_left(locale):
        described = f"\u2068{described}\u2069"
        words = f"\u2068{words}\u2069"  # as jobs.digests isolates it
    context["search_description"] = described
    search = _("your search %(search)s") % {"search": words}
    note = language_note("de", "en", locale)
    context["jobs"] = [
        {**job, "searches": [search]}
        if "searches" in job
        else {**job, "language_note": note}
        if "language_note" in job
        else job
        for job in SAMPLE_CONTEXT["jobs"]
    ]
    return context


def snapshot_names() -> list[str]:
    """Every snapshot's name: each template's, then each variant's."""
    return [*template_names(), *VARIANTS]


def snapshot_dir(locale: str) -> Path:
    return SNAPSHOTS if locale == SOURCE_LOCALE else SNAPSHOTS / locale


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, str], RenderedEmail]:
    renderer = Renderer()
    found = {
        (locale, name): renderer.render(name, sample_context(locale), locale)
        for locale in LOCALES
        for name in template_names()
    }
    for locale in LOCALES:
        for variant, (name, changes) in VARIANTS.items():
            context = {**sample_context(locale), **changes}
            found[locale, variant] = renderer.render(name, context, locale)
    return found


def _part(email: RenderedEmail, part: str) -> str:
    return {"html": email.html, "txt": email.text, "subject.txt": email.subject + "\n"}[part]


def _diff_lines(text: str, part: str) -> list[str]:
    if part == "html":
        # mjml-python writes long lines; one tag per line makes the diff readable.
        text = text.replace("><", ">\n<")
    return text.splitlines(keepends=True)


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("name", snapshot_names())
@pytest.mark.parametrize("locale", LOCALES)
def test_rendered_email_matches_snapshot(
    rendered: dict[tuple[str, str], RenderedEmail], locale: str, name: str, part: str
) -> None:
    """The rendered part is byte for byte the saved snapshot (set the env var to rewrite it)."""
    actual = _part(rendered[locale, name], part)
    path = snapshot_dir(locale) / f"{name}.{part}"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="")
        return
    if not path.exists():
        pytest.fail(
            f"no snapshot {path.name}; write it with TALENTCONNECT_UPDATE_SNAPSHOTS=1",
            pytrace=False,
        )
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(
            _diff_lines(expected, part),
            _diff_lines(actual, part),
            fromfile=f"snapshots/{path.relative_to(SNAPSHOTS)}",
            tofile="rendered",
        )
        pytest.fail(
            f"{name} {part} ({locale}) differs from its snapshot "
            f"(TALENTCONNECT_UPDATE_SNAPSHOTS=1 rewrites it):\n" + "".join(diff),
            pytrace=False,
        )


def test_every_snapshot_belongs_to_a_template() -> None:
    """No snapshot is left behind for a template (or a locale) that no longer exists."""
    wanted = {
        snapshot_dir(locale) / f"{name}.{part}"
        for locale in LOCALES
        for name in snapshot_names()
        for part in PARTS
    }
    dirs = {snapshot_dir(locale) for locale in LOCALES}
    orphans = sorted(
        p
        for p in SNAPSHOTS.rglob("*")
        if (p.is_dir() and p not in dirs) or (p.is_file() and p not in wanted)
    )
    if UPDATE:
        for orphan in orphans:
            if orphan.is_file():
                orphan.unlink()
        return
    assert not orphans, f"snapshots without a template: {orphans}"


def test_snapshots_hold_no_machine_specific_text() -> None:
    """Snapshots are the same on every machine: no local paths, no generator or version stamps."""
    local = [str(Path(__file__).resolve().parents[2]), str(Path.home())]
    local = [place for place in local if len(place) > 1]
    for path in sorted(p for p in SNAPSHOTS.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        assert not [place for place in local if place in text], path
        assert "generator" not in text.lower(), path
