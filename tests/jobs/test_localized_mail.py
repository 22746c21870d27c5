"""Digests and campaigns reach each candidate in their own language, through the worker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from jobs.digests import digest_context
from jobs.models import JobPosting
from jobs.search_criteria import SearchCriteria, describe
from mailer.config import MailSettings, SmtpTarget
from mailer.i18n import translations
from mailer.models import Campaign, MessageKind
from mailer.outbox import enqueue
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from preferences.clock import FrozenClock, frozen
from preferences.db import make_session_factory, session_scope
from preferences.models import Candidate, ConsentSource, Interest, MassEmail, MassEmailStatus
from preferences.subscriptions import subscribe

from .support import T0

MAIL = MailSettings(
    mail_from="Acme Careers <careers@acme.example.com>",
    company_name="Acme",
    base_url="https://careers.acme.example.com",
    postal_address="1 Test Street, Testville",
    secret_keys=("localized-mail-key-" + "k" * 32,),
)
CAMPAIGN_SUBJECT = "Meet Acme in Berlin"
# Each reader's stored language: three with a catalog, one nobody translated to.
READERS = {
    "ana@example.com": "es",
    "ben@example.com": "de",
    "chadi@example.com": "ar",
    "dora@example.com": "pt-BR",
    "eve@example.com": "fr",
}


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with frozen(T0) as fixed:
        yield fixed


def _parts(email: EmailMessage) -> tuple[str, str]:
    text = html = ""
    for part in email.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_content()
        elif part.get_content_type() == "text/html":
            html = part.get_content()
    return text, html


@pytest.fixture
def delivered(
    engine: Engine, smtp_server: MailSink, clock: FrozenClock
) -> dict[tuple[str, str], EmailMessage]:
    """A digest and a campaign for each reader, sent by the worker; by (address, kind)."""
    sessions: sessionmaker[Session] = make_session_factory(engine)
    with session_scope(sessions) as session:
        interest = Interest(name="Engineering", slug="engineering")
        campaign = Campaign(name="Berlin", subject=CAMPAIGN_SUBJECT, body="Join us.", audience={})
        job = JobPosting(
            reference="REF-1",
            title="Backend engineer",
            description="",
            location="Berlin",
            apply_url="https://jobs.example.com/apply",
            posted_at=T0 - timedelta(hours=1),
            interests=[interest],
        )
        session.add_all([interest, campaign, job])
        session.flush()
        for address, locale in READERS.items():
            candidate = Candidate(email=address, first_name="Sam", locale=locale)
            candidate.email_verified_at = T0
            session.add(candidate)
            session.flush()
            session.add(MassEmailStatus(candidate_id=candidate.id, status=MassEmail.OPTED_IN))
            subscribe(session, candidate, interest, source=ConsentSource.IMPORT, confirmed=True)
            enqueue(
                session,
                kind=MessageKind.JOB_ALERT,
                template="job_alert",
                to_address=address,
                dedupe_key=f"digest:{address}",
                candidate_id=candidate.id,
                context={"interest_id": interest.id, "job_ids": [job.id], "more_count": 2},
            )
            enqueue(
                session,
                kind=MessageKind.CAMPAIGN,
                template="campaign",
                to_address=address,
                dedupe_key=f"campaign:{address}",
                candidate_id=candidate.id,
                context={"campaign_id": campaign.id},
            )
    worker = OutboxWorker(
        sessions,
        lambda: SmtpSender(SmtpTarget.from_url(f"{smtp_server.url}?timeout=5")),
        MAIL,
        worker_id="localized",
        batch_size=20,
        lease=timedelta(minutes=5),
        context_sources={MessageKind.JOB_ALERT: digest_context},
    )
    assert worker.run_once().sent == 2 * len(READERS)
    assert isinstance(smtp_server.store, MemoryStore)
    received = smtp_server.store.wait_for(2 * len(READERS))
    by_key: dict[tuple[str, str], EmailMessage] = {}
    for message in received:
        email = message.parsed()
        (address,) = message.envelope_to
        kind = "campaign" if email["Subject"] == CAMPAIGN_SUBJECT else "digest"
        by_key[address, kind] = email
    assert len(by_key) == 2 * len(READERS)
    return by_key


@pytest.mark.parametrize(
    ("address", "subject", "phrases"),
    [
        (
            "ana@example.com",
            "Nuevas ofertas en Acme: Backend engineer y 2 más",
            [
                "Hola, Sam:",
                "3 nuevas ofertas de empleo en Acme coinciden con tus alertas de empleo:",
                "Y 2 ofertas más que coinciden:",
                "Te suscribiste a las alertas de empleo de Engineering en Acme.",
                "Gestionar preferencias: https://careers.acme.example.com/preferences/",
                "Darse de baja: https://careers.acme.example.com/unsubscribe/",
            ],
        ),
        (
            "ben@example.com",
            "Neue Stellen bei Acme: Backend engineer und 2 weitere",
            [
                "Hallo Sam,",
                "3 neue Stellen bei Acme passen zu Ihren Jobbenachrichtigungen:",
                "Sie haben Jobbenachrichtigungen für Engineering bei Acme abonniert.",
                "Einstellungen verwalten: https://careers.acme.example.com/preferences/",
                "Abmelden: https://careers.acme.example.com/unsubscribe/",
            ],
        ),
        (
            "chadi@example.com",
            "وظائف جديدة في Acme: Backend engineer ووظيفتان أخريان",
            [
                "مرحبًا Sam،",
                "3 وظائف جديدة في Acme تطابق تنبيهات الوظائف لديك:",
                "ووظيفتان مطابقتان أخريان:",
                "اشتركت في تنبيهات الوظائف الخاصة بـ Engineering لدى Acme.",
                "إلغاء الاشتراك: \u2066https://careers.acme.example.com/unsubscribe/",
            ],
        ),
        (
            "eve@example.com",
            "Nouvelles offres chez Acme : Backend engineer et 2 autres",
            [
                "Bonjour Sam,",
                "3 nouvelles offres chez Acme correspondent à vos alertes emploi :",
                "Vous êtes abonné aux alertes emploi pour Engineering chez Acme.",
                "Se désabonner : https://careers.acme.example.com/unsubscribe/",
            ],
        ),
        (
            "dora@example.com",
            "New jobs at Acme: Backend engineer and 2 more",
            [
                "Hi Sam,",
                "3 new jobs at Acme match your job alerts:",
                "You subscribed to job alerts for Engineering at Acme.",
                "Unsubscribe: https://careers.acme.example.com/unsubscribe/",
            ],
        ),
    ],
)
def test_digest_arrives_in_the_readers_language(
    delivered: dict[tuple[str, str], EmailMessage], address: str, subject: str, phrases: list[str]
) -> None:
    """Subject, body, plural counts and the footer reason of a digest are in the reader's locale."""
    email = delivered[address, "digest"]
    assert email["Subject"] == subject
    text, html = _parts(email)
    for phrase in phrases:
        assert phrase in text, (phrase, text)
    # The HTML carries the same translated footer reason.
    reason = next(phrase for phrase in phrases if "Engineering" in phrase)
    assert f">{reason}</div>" in html


@pytest.mark.parametrize(
    ("address", "reason", "unsubscribe"),
    [
        (
            "ana@example.com",
            "Aceptaste recibir correos de la comunidad de talento de Acme.",
            "Darse de baja",
        ),
        (
            "ben@example.com",
            "Sie haben zugestimmt, E-Mails der Talent-Community von Acme zu erhalten.",
            "Abmelden",
        ),
        ("chadi@example.com", "وافقت على تلقي رسائل من مجتمع المواهب لدى Acme.", "إلغاء الاشتراك"),
        (
            "eve@example.com",
            "Vous avez accepté de recevoir des e-mails de la communauté de talents Acme.",
            "Se désabonner",
        ),
        (
            "dora@example.com",
            "You opted in to emails from the Acme talent community.",
            "Unsubscribe",
        ),
    ],
)
def test_campaign_footer_arrives_in_the_readers_language(
    delivered: dict[tuple[str, str], EmailMessage], address: str, reason: str, unsubscribe: str
) -> None:
    """A campaign keeps the recruiter's subject and body; its footer is in the reader's locale."""
    email = delivered[address, "campaign"]
    text, html = _parts(email)
    assert text.startswith("Join us.")
    assert reason in text and reason in html
    assert f">{unsubscribe}</a>" in html


@pytest.mark.parametrize("kind", ["digest", "campaign"])
def test_arabic_html_reads_right_to_left(
    delivered: dict[tuple[str, str], EmailMessage], kind: str
) -> None:
    """The Arabic HTML is marked dir="rtl" with right-aligned text; the others stay as they were."""
    _, html = _parts(delivered["chadi@example.com", kind])
    assert '<html lang="ar" dir="rtl"' in html
    assert "text-align:right" in html
    for address, locale in [("ana@example.com", "es"), ("dora@example.com", "en")]:
        _, other = _parts(delivered[address, kind])
        assert f'<html lang="{locale}" dir="auto"' in other
        assert "text-align:right" not in other


def test_a_saved_search_is_described_in_the_readers_language() -> None:
    """The digest's words for a saved search ("“python” in Berlin") follow the reader's locale."""
    criteria = SearchCriteria(q="python", location="Berlin", interest="eng")
    assert describe(criteria, "Engineering") == "“python” in Berlin · Engineering"
    german = translations("de").gettext
    assert describe(criteria, "Engineering", german) == "„python“ in Berlin · Engineering"
    assert describe(SearchCriteria(location="Lyon"), gettext=translations("fr").gettext) == (
        "à Lyon"
    )
    assert describe(SearchCriteria(), gettext=translations("es").gettext) == (
        "todas las ofertas abiertas"
    )
