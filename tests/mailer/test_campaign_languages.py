"""Campaign variants per language: each recipient gets their language's subject and body, or
the default, through the real worker; the audience preview counts recipients per language."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailer.campaign_admin import (
    CampaignDraft,
    CampaignError,
    LanguageCount,
    VariantDraft,
    get_campaign,
    preview_campaign_audience,
    queue_audience,
    render_preview,
    save_draft,
    send_now,
    send_test,
)
from mailer.i18n import translations
from mailer.models import CampaignVariant
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from preferences.clock import FrozenClock
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    MassEmail,
    MassEmailStatus,
    RecruiterUser,
    SuppressionReason,
)
from preferences.suppressions import suppress

from .support import SETTINGS, T0
from .test_worker import make_worker, sink_target

# Candidates' footers need signed unsubscribe links.
SIGNED = replace(SETTINGS, secret_keys=("campaign-languages-key-" + "k" * 32,))

REASON = "You opted in to emails from the %(company)s talent community."
SPANISH = VariantDraft("es", "Conoce a Acme en Berlín", "Hola, te esperamos en **Berlín**.")
FRENCH = VariantDraft("fr", "Rencontrez Acme à Berlin", "Bonjour, à **Berlin** !")
# name: stored language. No German variant: "de" falls back to the default.
READERS = {"ana": "es", "ben": "de", "cal": "en", "dia": "es-MX", "eli": "fr", "fay": "es"}


def _seed(sessions: sessionmaker[Session]) -> dict[str, int]:
    with session_scope(sessions) as session:
        ids = {}
        for name, locale in READERS.items():
            candidate = Candidate(
                email=f"{name}@example.com",
                first_name=name.title(),
                locale=locale,
                email_verified_at=T0 - timedelta(days=1),
            )
            session.add(candidate)
            session.flush()
            session.add(MassEmailStatus(candidate_id=candidate.id, status=MassEmail.OPTED_IN))
            ids[name] = candidate.id
        recruiter = RecruiterUser(email="rita@acme.example.com", name="Rita")
        session.add(recruiter)
        session.flush()
        ids["recruiter"] = recruiter.id
        # Suppressed: left out of the audience and of the Spanish count.
        suppress(session, "fay@example.com", SuppressionReason.HARD_BOUNCE)
    return ids


def _campaign(sessions: sessionmaker[Session], *variants: VariantDraft) -> int:
    with session_scope(sessions) as session:
        draft = CampaignDraft(
            "Berlin", "Meet Acme in Berlin", "Hello, see you in **Berlin**.", variants=variants
        )
        return save_draft(session, draft, settings=SETTINGS).id


def _html(email: EmailMessage) -> str:
    part = email.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def _text(email: EmailMessage) -> str:
    part = email.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_each_recipient_gets_their_languages_variant_or_the_default(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """es and es-MX get the Spanish variant, fr the French one; de (no German variant) and en
    get the default subject and body, each in a footer of their own language."""
    ids = _seed(sessions)
    campaign_id = _campaign(sessions, SPANISH, FRENCH)
    with session_scope(sessions) as session:
        assert send_now(session, campaign_id, settings=SETTINGS) == 5
    target = sink_target(smtp_server)
    worker = OutboxWorker(sessions, lambda: SmtpSender(target), SIGNED, worker_id="languages")
    result = worker.run_once()
    assert result.sent == 5
    assert isinstance(smtp_server.store, MemoryStore)
    received = {m.envelope_to[0]: m.parsed() for m in smtp_server.store.wait_for(5)}
    assert set(received) == {f"{n}@example.com" for n in ("ana", "ben", "cal", "dia", "eli")}
    expected = {
        "ana": (SPANISH.subject, "Hola, te esperamos en", "es"),
        "dia": (SPANISH.subject, "Hola, te esperamos en", "es"),
        "eli": (FRENCH.subject, "Bonjour, à", "fr"),
        "ben": ("Meet Acme in Berlin", "Hello, see you in", "de"),
        "cal": ("Meet Acme in Berlin", "Hello, see you in", "en"),
    }
    for name, (subject, opening, footer_locale) in expected.items():
        email = received[f"{name}@example.com"]
        assert email["Subject"] == subject, name
        assert opening in _text(email), name
        html = _html(email)
        assert opening in html, name
        assert "<strong>" in html, name
        reason = translations(footer_locale).gettext(REASON) % {"company": "Acme"}
        assert reason in _text(email), name
    # Nobody gets another language's body.
    assert "Hola" not in _text(received["ben@example.com"])
    assert "Hello" not in _text(received["ana@example.com"])
    assert ids["fay"] not in {ids[n] for n in expected}


def test_dispatch_again_queues_nobody_twice_with_variants(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Variants change only what is rendered: a second dispatch still queues no one twice."""
    _seed(sessions)
    campaign_id = _campaign(sessions, SPANISH)
    with session_scope(sessions) as session:
        assert send_now(session, campaign_id, settings=SETTINGS) == 5
    with session_scope(sessions) as session:
        assert queue_audience(session, get_campaign(session, campaign_id)) == 0


def test_audience_preview_counts_recipients_per_language(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Each stored language is counted once, with the variant it gets (None: the default);
    the suppressed Spanish reader is not counted."""
    _seed(sessions)
    campaign_id = _campaign(sessions, SPANISH, FRENCH)
    with sessions() as session:
        preview = preview_campaign_audience(session, campaign_id, SETTINGS.locales)
    assert preview.would_receive == 5
    assert set(preview.languages) == {
        LanguageCount("es", "es", 1),
        LanguageCount("es-MX", "es", 1),
        LanguageCount("fr", "fr", 1),
        LanguageCount("de", None, 1),
        LanguageCount("en", None, 1),
    }
    assert sum(row.count for row in preview.languages) == preview.would_receive
    assert preview.by_variant() == [(None, 2), ("es", 2), ("fr", 1)]
    # Without a French variant the French reader falls back to the default.
    with sessions() as session:
        only_spanish = preview_campaign_audience(session, campaign_id, ("en", "es"))
    assert LanguageCount("fr", None, 1) in only_spanish.languages


def test_an_invalid_variant_is_refused_and_nothing_is_stored(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """A variant with a subject but no body, or an image without alt text, is refused with a
    message naming the language; the campaign keeps what it had."""
    campaign_id = _campaign(sessions, SPANISH)
    bad = (
        VariantDraft("es", "Hola", ""),
        VariantDraft("fr", "Salut", "![](https://acme.example.com/x.png)"),
    )
    with pytest.raises(CampaignError) as caught, session_scope(sessions) as session:
        save_draft(
            session,
            CampaignDraft("Berlin", "Changed", "Changed", variants=bad),
            campaign_id=campaign_id,
            settings=SETTINGS,
        )
    assert "Spanish" in caught.value.problems["body-es"]
    assert caught.value.problems["body-fr"].startswith("French version: Add alt text")
    with sessions() as session:
        campaign = get_campaign(session, campaign_id)
        assert campaign.subject == "Meet Acme in Berlin"
        assert [(v.locale, v.subject) for v in campaign.variants] == [("es", SPANISH.subject)]


def test_an_emptied_variant_is_removed_and_deleting_a_campaign_removes_its_variants(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Both fields empty means "no variant"; variants go with their campaign (ON DELETE CASCADE)."""
    campaign_id = _campaign(sessions, SPANISH, FRENCH)
    with session_scope(sessions) as session:
        save_draft(
            session,
            CampaignDraft("Berlin", "S", "B", variants=(VariantDraft("es", " ", ""), FRENCH)),
            campaign_id=campaign_id,
            settings=SETTINGS,
        )
    with session_scope(sessions) as session:
        assert [v.locale for v in get_campaign(session, campaign_id).variants] == ["fr"]
        session.delete(get_campaign(session, campaign_id))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(CampaignVariant)) == 0


def test_a_sent_campaigns_variants_cannot_be_edited(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Variants are editable only while the campaign is (draft or scheduled)."""
    _seed(sessions)
    campaign_id = _campaign(sessions, SPANISH)
    with session_scope(sessions) as session:
        send_now(session, campaign_id, settings=SETTINGS)
    with pytest.raises(CampaignError), session_scope(sessions) as session:
        save_draft(
            session,
            CampaignDraft("Berlin", "S", "B", variants=(VariantDraft("es", "Otro", "Otro"),)),
            campaign_id=campaign_id,
        )
    with sessions() as session:
        assert get_campaign(session, campaign_id).variants[0].subject == SPANISH.subject


def test_preview_and_test_send_per_language(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """The preview and the test send in Spanish show the Spanish variant and footer."""
    ids = _seed(sessions)
    campaign_id = _campaign(sessions, SPANISH)
    with sessions() as session:
        email = render_preview(session, campaign_id, SETTINGS, locale="es")
        default = render_preview(session, campaign_id, SETTINGS)
    assert email.subject == SPANISH.subject
    assert "Hola, te esperamos en <strong>Berlín</strong>" in email.html
    assert translations("es").gettext(REASON) % {"company": "Acme"} in email.text
    assert default.subject == "Meet Acme in Berlin"
    with session_scope(sessions) as session:
        send_test(session, campaign_id, ids["recruiter"], settings=SETTINGS, locale="es")
    assert make_worker(sessions, sink_target(smtp_server)).run_once().sent == 1
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    assert received.parsed()["Subject"] == "[Test] " + SPANISH.subject
    assert "Hola, te esperamos en" in _text(received.parsed())
