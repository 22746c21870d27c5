"""A digest names interests in the reader's language and says "(in English)" for a posting
written in another language than theirs; delivered through the real worker."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from jobs import digests
from jobs.digests import digest_context
from jobs.models import JobPosting
from mailer.config import MailSettings, SmtpTarget
from mailer.eligibility import check_batch
from mailer.models import MessageKind, OutboxMessage
from mailer.outbox import enqueue
from mailer.render import Renderer
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from preferences.clock import FrozenClock, frozen
from preferences.db import make_session_factory, session_scope
from preferences.models import Candidate, ConsentSource, Interest, InterestTranslation
from preferences.subscriptions import subscribe

from .support import T0

MAIL = MailSettings(
    mail_from="Acme Careers <careers@acme.example.com>",
    company_name="Acme",
    base_url="https://careers.acme.example.com",
    postal_address="1 Test Street, Testville",
    secret_keys=("digest-languages-key-" + "k" * 32,),
    default_locale="en",
)
READERS = {"ana@example.com": "es", "eve@example.com": "en", "ben@example.com": "de"}


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with frozen(T0) as fixed:
        yield fixed


def _parts(email: EmailMessage) -> tuple[str, str]:
    text = html = ""
    for part in email.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_content().replace("\r\n", "\n")
        elif part.get_content_type() == "text/html":
            html = part.get_content()
    return text, html


def _job(title: str, language: str | None, interests: list[Interest], hours: int) -> JobPosting:
    return JobPosting(
        reference=f"REF-{hours}",
        title=title,
        description="",
        location="Madrid",
        apply_url="https://jobs.example.com/apply",
        posted_at=T0 - timedelta(hours=hours),
        language=language,
        interests=interests,
    )


@pytest.fixture
def delivered(
    engine: Engine, smtp_server: MailSink, clock: FrozenClock
) -> tuple[dict[str, EmailMessage], list[str]]:
    """One digest per reader of three jobs (English, Spanish, and one in the company's
    language), sent by the worker in one batch; by address, with the translation reads."""
    sessions: sessionmaker[Session] = make_session_factory(engine)
    with session_scope(sessions) as session:
        engineering, data = engineering_and_data(session)
        session.add_all(
            [
                InterestTranslation(interest_id=engineering.id, locale="es", name="Ingeniería"),
                InterestTranslation(interest_id=data.id, locale="es", name="Datos"),
            ]
        )
        jobs = [
            _job("Backend engineer", "en-GB", [engineering, data], 1),
            _job("Ingeniera de datos", "es", [data], 2),
            _job("Platform engineer", None, [engineering], 3),
        ]
        session.add_all(jobs)
        session.flush()
        for address, locale in READERS.items():
            candidate = Candidate(email=address, first_name="Sam", locale=locale)
            candidate.email_verified_at = T0
            session.add(candidate)
            session.flush()
            queue_digest(session, candidate, (engineering, data), [engineering, data], jobs)
    reads: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "interest_translations" in statement:
            reads.append(statement)

    worker = OutboxWorker(
        sessions,
        lambda: SmtpSender(SmtpTarget.from_url(f"{smtp_server.url}?timeout=5")),
        MAIL,
        worker_id="digest-languages",
        batch_size=20,
        lease=timedelta(minutes=5),
        context_sources={MessageKind.JOB_ALERT: digest_context},
    )
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert worker.run_once().sent == len(READERS)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert isinstance(smtp_server.store, MemoryStore)
    received = smtp_server.store.wait_for(len(READERS))
    by_address = {}
    for message in received:
        (address,) = message.envelope_to
        by_address[address] = message.parsed()
    return by_address, reads


def engineering_and_data(session: Session) -> tuple[Interest, Interest]:
    """The two interests every digest here is about, in that order."""
    engineering = Interest(name="Engineering", slug="engineering", position=1)
    data = Interest(name="Data", slug="data", position=2)
    session.add_all([engineering, data])
    session.flush()
    return engineering, data


def queue_digest(
    session: Session,
    candidate: Candidate,
    subscribed_to: Sequence[Interest],
    covers: list[Interest],
    jobs: list[JobPosting],
    *,
    more_count: int = 0,
) -> None:
    """Subscribe `candidate` to `subscribed_to` and queue them a digest of `covers`' jobs."""
    for interest in subscribed_to:
        subscribe(session, candidate, interest, source=ConsentSource.IMPORT, confirmed=True)
    enqueue(
        session,
        kind=MessageKind.JOB_ALERT,
        template="job_alert",
        to_address=candidate.email,
        dedupe_key=f"digest:{candidate.email}",
        candidate_id=candidate.id,
        context={
            "interest_id": covers[0].id,
            "interest_ids": [interest.id for interest in covers],
            "job_ids": [job.id for job in jobs],
            "more_count": more_count,
        },
    )


def test_a_spanish_reader_gets_spanish_names_and_the_note_on_english_postings(
    delivered: tuple[dict[str, EmailMessage], list[str]],
) -> None:
    """Spanish: "coincide con: Ingeniería, Datos", "(en inglés)" after the English posting
    and the one in the company's language (English), nothing after the Spanish one; the
    footer names the interests in Spanish; the batch read the translations once."""
    by_address, reads = delivered
    text, html = _parts(by_address["ana@example.com"])
    assert "- Backend engineer (en inglés)\n" in text
    assert "- Platform engineer (en inglés)\n" in text
    assert "- Ingeniera de datos\n" in text
    assert "coincide con: Ingeniería, Datos" in text
    assert "coincide con: Datos" in text
    assert "Te suscribiste a las alertas de empleo de Ingeniería, Datos en Acme." in text
    assert "Engineering" not in text
    assert ">Backend engineer</a> <span" in html and "(en inglés)</span>" in html
    assert html.count("(en inglés)") == 2
    assert "Ingeniería, Datos" in html
    assert len(reads) == 1


def test_english_and_german_readers_get_default_names_and_their_own_notes(
    delivered: tuple[dict[str, EmailMessage], list[str]],
) -> None:
    """English: default names, "(in Spanish)" after the Spanish posting only (en-GB is
    English). German, untranslated: default names, "(auf Englisch)" and "(auf Spanisch)"."""
    by_address, _reads = delivered
    english, english_html = _parts(by_address["eve@example.com"])
    assert "- Ingeniera de datos (in Spanish)\n" in english
    assert "- Backend engineer\n" in english and "- Platform engineer\n" in english
    assert "matched: Engineering, Data" in english
    assert "(in English)" not in english and "(in English)" not in english_html
    german, _html = _parts(by_address["ben@example.com"])
    assert "- Backend engineer (auf Englisch)\n" in german
    assert "- Ingeniera de datos (auf Spanisch)\n" in german
    assert "passend zu: Engineering, Data" in german
    assert "Ingeniería" not in german


def test_readers_of_one_digest_share_its_context_and_get_the_same_as_alone(
    engine: Engine, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch works a shared digest's context out once per language and coverage
    (`_shared_key`), and each reader gets what a batch of their row alone gets, rendered
    to the same text, in a dict of their own; a reader who left an interest gets less."""
    sessions: sessionmaker[Session] = make_session_factory(engine)
    with session_scope(sessions) as session:
        engineering, data = engineering_and_data(session)
        session.add(InterestTranslation(interest_id=data.id, locale="es", name="Datos"))
        jobs = [
            _job("Backend engineer", "en", [engineering, data], 1),
            _job("Ingeniera de datos", "es", [data], 2),
        ]
        session.add_all(jobs)
        session.flush()
        readers = [("es", True), ("es", True), ("en", True), ("en", False), ("de", True)]
        for n, (locale, both) in enumerate(readers):
            candidate = Candidate(email=f"r{n}@example.com", first_name="Sam", locale=locale)
            session.add(candidate)
            session.flush()
            chosen = (engineering, data) if both else (engineering,)
            queue_digest(session, candidate, chosen, [engineering, data], jobs, more_count=3)
    with session_scope(sessions) as session:
        messages = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        reasons: list[str] = []
        reason = digests._reason

        def counted(*args: Any) -> str:
            reasons.append(args[3])
            return reason(*args)

        monkeypatch.setattr(digests, "_reason", counted)
        together = digest_context(session, messages, MAIL)
        assert sorted(reasons) == ["de", "en", "en", "es"]
        monkeypatch.undo()
        alone = {m.id: digest_context(session, [m], MAIL)[m.id] for m in messages}
    with session_scope(sessions) as session:
        # After the worker's check of the batch, the same contexts without reading the
        # candidates or subscriptions again.
        messages = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        check_batch(session, messages)
        reads: list[str] = []
        listener = lambda _c, _k, statement, *_a: reads.append(statement)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert digest_context(session, messages, MAIL) == together
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert reads and not [r for r in reads if "FROM candidates" in r]
        assert not [r for r in reads if "FROM subscriptions" in r]
    renderer = Renderer()
    for message, (locale, _both) in zip(messages, readers, strict=True):
        shared, own = together[message.id], alone[message.id]
        assert isinstance(shared, dict) and isinstance(own, dict)
        assert shared == own
        context = {**MAIL.base_context("Sam"), **message.context, **shared}
        context |= {"unsubscribe_url": "https://u.example/x", "preferences_url": "https://p/x"}
        assert renderer.render("job_alert", context, locale) == renderer.render(
            "job_alert", {**context, **own}, locale
        )
    first, second, third, fourth = (together[m.id] for m in messages[:4])
    assert first is not second and first == second
    assert first != third and third != fourth
    assert isinstance(fourth, dict) and "Data" not in str(fourth["reason"])
