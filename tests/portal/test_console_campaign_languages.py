"""Console campaign languages: a variant per language on the write page, its errors, the
audience per language, and the preview and test send per language."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.models import Campaign, CampaignVariant, OutboxMessage
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import Candidate, MassEmail, MassEmailStatus
from tests.portal.helpers import csrf_token, login


def _seed(sessions: sessionmaker[Session]) -> None:
    """Opted-in candidates: two Spanish, one German, one English."""
    with session_scope(sessions) as session:
        for name, locale in (("ana", "es"), ("eva", "es-MX"), ("ben", "de"), ("cal", "en")):
            candidate = Candidate(
                email=f"{name}@example.com", locale=locale, email_verified_at=now()
            )
            session.add(candidate)
            session.flush()
            session.add(MassEmailStatus(candidate_id=candidate.id, status=MassEmail.OPTED_IN))


def _post(client: FlaskClient, path: str, **fields: str) -> tuple[int, str, str]:
    page = client.get(path)
    assert page.status_code == 200
    data = {
        "csrf_token": csrf_token(page.text),
        "name": "Autumn news",
        "subject": "News from Acme",
        "body": "Hello **everyone**.",
        "audience": "all",
        "action": "save",
        **fields,
    }
    response = client.post(path, data=data)
    return response.status_code, response.headers.get("Location", ""), response.text


def _variants(sessions: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with sessions() as session:
        rows = session.scalars(select(CampaignVariant).order_by(CampaignVariant.locale))
        return [(v.locale, v.subject, v.body) for v in rows]


def test_the_write_page_has_a_fieldset_per_language_besides_the_default(
    client: FlaskClient, recruiter: tuple[str, str]
) -> None:
    """English is the default; Spanish, German, French and Arabic each have a subject and
    message field under their own legend, and the tabs script is included."""
    login(client, *recruiter)
    page = client.get("/admin/campaigns/new").text
    assert "<legend>English (default)</legend>" in page
    for locale, name in (("es", "Spanish"), ("de", "German"), ("fr", "French"), ("ar", "Arabic")):
        assert f'id="language-{locale}"' in page
        assert f"<legend>{name} " in page
        assert f'name="subject-{locale}"' in page and f'name="body-{locale}"' in page
    assert 'name="subject-en"' not in page
    assert "campaign_languages.js" in page


def test_the_console_saves_edits_and_removes_variants(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Filled variants are stored, empty ones are not; editing updates one, and emptying
    both fields of a variant removes it. The edit page shows the stored variants."""
    login(client, *recruiter)
    status, location, _ = _post(
        client,
        "/admin/campaigns/new",
        **{
            "subject-es": "Noticias de Acme",
            "body-es": "Hola a **todos**.",
            "subject-fr": "Nouvelles d'Acme",
            "body-fr": "Bonjour à tous.",
        },
    )
    assert status == 302
    assert _variants(sessions) == [
        ("es", "Noticias de Acme", "Hola a **todos**."),
        ("fr", "Nouvelles d'Acme", "Bonjour à tous."),
    ]
    with sessions() as session:
        campaign_id = session.scalars(select(Campaign.id)).one()
    edit_path = f"/admin/campaigns/{campaign_id}/edit"
    edit = html.unescape(client.get(edit_path).text)
    assert "Noticias de Acme" in edit and "Hola a **todos**." in edit
    status, _, _ = _post(
        client,
        edit_path,
        **{"subject-es": "Más noticias", "body-es": "Hola otra vez.", "subject-fr": ""},
    )
    assert status == 302
    assert _variants(sessions) == [("es", "Más noticias", "Hola otra vez.")]
    detail = client.get(location).text
    assert "English (default), Spanish" in detail


def test_an_invalid_variant_shows_a_clear_error_and_stores_nothing(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A Spanish subject without a message, and a German image without alt text, are refused
    with errors naming the language next to the fields; no campaign is stored."""
    login(client, *recruiter)
    status, _, page = _post(
        client,
        "/admin/campaigns/new",
        **{
            "subject-es": "Noticias",
            "subject-de": "Neuigkeiten",
            "body-de": "![](https://acme.example.com/team.png)",
        },
    )
    assert status == 400
    page = html.unescape(page)
    assert re.search(r'id="body-es-error">Write the Spanish message', page)
    assert "leave both fields empty" in page
    assert 'id="body-de-error">German version: Add alt text' in page
    assert '<a href="#body-es">' in page
    assert 'aria-invalid="true"' in page.split('id="body-es"')[1].split(">")[0]
    # What was typed stays in the form.
    assert 'value="Neuigkeiten"' in page
    with sessions() as session:
        assert session.scalars(select(Campaign)).all() == []
    assert _variants(sessions) == []


def test_preview_of_a_variant_before_saving(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """The Spanish preview button renders the Spanish message and stores nothing."""
    login(client, *recruiter)
    status, _, page = _post(
        client,
        "/admin/campaigns/new",
        action="preview-es",
        **{"subject-es": "Noticias", "body-es": "Hola a **todos**."},
    )
    assert status == 200
    assert "Preview of the message in Spanish" in page
    preview = page.split('id="preview-heading"')[1]
    assert "Hola a <strong>todos</strong>." in preview
    assert "everyone" not in preview
    assert _variants(sessions) == []


def test_the_audience_is_counted_per_language_with_the_version_each_gets(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """es and es-MX get the Spanish version; de (no German variant) and en the default."""
    _seed(sessions)
    login(client, *recruiter)
    _, location, _ = _post(
        client, "/admin/campaigns/new", **{"subject-es": "Noticias", "body-es": "Hola."}
    )
    page = client.get(location).text
    table = page.split('id="audience-languages"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(\d+)</td></tr>", table)
    assert sorted(rows) == sorted(
        [
            ("Spanish <code>es</code>", "Spanish version", "1"),
            ("Spanish (Mexico) <code>es-MX</code>", "Spanish version", "1"),
            ("German <code>de</code>", "default (English)", "1"),
            ("English <code>en</code>", "default (English)", "1"),
        ]
    )
    versions = page.split('id="audience-versions"')[1].split("</p>")[0]
    assert "default (English): <strong>2</strong>" in versions
    assert "Spanish: <strong>2</strong>" in versions


def test_preview_and_test_send_in_a_variants_language(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """?preview=es shows the Spanish email in the frame, and its test button sends that one."""
    _seed(sessions)
    login(client, *recruiter)
    _, location, _ = _post(
        client, "/admin/campaigns/new", **{"subject-es": "Noticias", "body-es": "Hola a **todos**."}
    )
    with sessions() as session:
        campaign_id = session.scalars(select(Campaign.id)).one()
    page = client.get(f"{location}?preview=es").text
    assert f"/admin/campaigns/{campaign_id}/preview.html?lang=es" in page
    assert 'value="es"' in page and "Send a test of the Spanish version to me" in page
    frame = client.get(f"/admin/campaigns/{campaign_id}/preview.html?lang=es")
    assert "Hola a <strong>todos</strong>." in frame.text
    assert 'lang="es"' in frame.text
    default = client.get(f"/admin/campaigns/{campaign_id}/preview.html")
    assert "Hello <strong>everyone</strong>." in default.text
    response = client.post(
        f"/admin/campaigns/{campaign_id}/test",
        data={"csrf_token": csrf_token(page), "locale": "es"},
    )
    assert response.status_code == 302
    with sessions() as session:
        (row,) = session.scalars(select(OutboxMessage)).all()
        assert row.context == {"campaign_id": campaign_id, "test": True, "locale": "es"}
    notice = html.unescape(client.get(location).text)
    assert "A test (Spanish version) is on its way" in notice
