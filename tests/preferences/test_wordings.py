"""Versioned consent wordings: one version per exact text, kind and language, never rewritten,
the default wording of events nobody was shown a text for, and the wordings in the export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from preferences.clock import FrozenClock
from preferences.errors import AppendOnlyViolation
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentScope,
    ConsentSource,
    ConsentWording,
    Interest,
)
from preferences.privacy import ABOUT_EXPORT, export_candidate_data
from preferences.subscriptions import (
    CURRENT_WORDING_VERSION,
    append_consent,
    opt_in_mass_email,
    subscribe,
)
from preferences.wordings import (
    JOB_ALERTS,
    MASS_EMAIL,
    NO_WORDING_VERSION,
    default_wording_version,
    forget_known_versions,
    register_default_wordings,
    wording_hash,
    wording_texts,
    wording_version,
)

from .support import T0, consent_events

ALERTS_EN = "Email me job alerts. I can stop them at any time."
ALERTS_ES = "Envíame alertas de empleo. Puedo detenerlas cuando quiera."
DEFAULTS = {
    (JOB_ALERTS, "en"): ALERTS_EN,
    (JOB_ALERTS, "es"): ALERTS_ES,
    (MASS_EMAIL, "en"): "Send me news from Acme.",
    (MASS_EMAIL, "es"): "Envíame noticias de Acme.",
}


def _defaults(kind: str, locale: str | None) -> tuple[str, str] | None:
    tag = locale if locale in ("en", "es") else "en"
    text = DEFAULTS.get((kind, tag))
    return (tag, text) if text is not None else None


@pytest.fixture
def defaults() -> Iterator[None]:
    """The default texts a portal would register, in English and Spanish."""
    register_default_wordings(_defaults)
    yield


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on the test database while the test runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _rows(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ConsentWording)) or 0


def test_the_same_text_is_the_same_version(db_session: Session) -> None:
    """Asking again for the same words, kind and language gives the same version, no new row."""
    first = wording_version(db_session, JOB_ALERTS, "en", ALERTS_EN)
    forget_known_versions()  # read back from the table, not the cache
    assert wording_version(db_session, JOB_ALERTS, "en", ALERTS_EN) == first == "job_alerts.en.1"
    assert _rows(db_session) == 1


def test_a_new_text_is_a_new_version_and_the_old_one_is_never_rewritten(
    db_session: Session,
) -> None:
    """Changed words make the next version; the first keeps its words, and an update is refused."""
    first = wording_version(db_session, JOB_ALERTS, "en", ALERTS_EN)
    second = wording_version(db_session, JOB_ALERTS, "en", ALERTS_EN + " Really.")
    assert (first, second) == ("job_alerts.en.1", "job_alerts.en.2")
    stored = wording_texts(db_session, [first, second])
    assert stored[first].text == ALERTS_EN
    assert stored[first].sha256 == wording_hash(ALERTS_EN)
    assert stored[second].text == ALERTS_EN + " Really."
    db_session.commit()
    stored[first].text = "Something else"
    with pytest.raises(AppendOnlyViolation):
        db_session.flush()
    db_session.rollback()
    assert wording_texts(db_session, [first])[first].text == ALERTS_EN


def test_versions_are_per_language_and_kind(db_session: Session) -> None:
    """The same kind in another language, or another kind, counts its versions on its own."""
    assert wording_version(db_session, JOB_ALERTS, "en", ALERTS_EN) == "job_alerts.en.1"
    assert wording_version(db_session, JOB_ALERTS, "es", ALERTS_ES) == "job_alerts.es.1"
    # The very same words as another language's are still that language's own version.
    assert wording_version(db_session, JOB_ALERTS, "de", ALERTS_EN) == "job_alerts.de.1"
    assert wording_version(db_session, MASS_EMAIL, "en", ALERTS_EN) == "mass_email.en.1"
    with pytest.raises(ValueError, match="unknown consent wording kind"):
        wording_version(db_session, "newsletter", "en", ALERTS_EN)


def test_without_registered_texts_an_event_names_no_wording(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """A process that registered no texts (preferences alone) writes NO_WORDING_VERSION."""
    subscribe(db_session, candidate, interest, source=ConsentSource.ADMIN)
    (grant,) = consent_events(db_session, candidate.id)
    assert grant.wording_version == NO_WORDING_VERSION != CURRENT_WORDING_VERSION
    assert default_wording_version(db_session, ConsentScope.INTEREST, "en") == NO_WORDING_VERSION


def test_an_event_nobody_was_shown_a_text_for_names_the_default_in_the_candidates_language(
    db_session: Session, candidate: Candidate, interest: Interest, defaults: None
) -> None:
    """A withdrawal by id names the default wording in the stored language, read from the row."""
    candidate.locale = "es"
    subscribe(db_session, candidate, interest, source=ConsentSource.ADMIN, confirmed=True)
    db_session.expunge(candidate)  # not loaded: the language is read from the table
    append_consent(
        db_session,
        candidate.id,
        scope=ConsentScope.INTEREST,
        interest_id=interest.id,
        action=ConsentAction.WITHDRAW,
        source=ConsentSource.ONE_CLICK,
    )
    grant, withdrawal = consent_events(db_session, candidate.id)
    assert grant.wording_version == withdrawal.wording_version == "job_alerts.es.1"
    texts = wording_texts(db_session, [withdrawal.wording_version])
    assert texts["job_alerts.es.1"].text == ALERTS_ES
    # A language the portal does not offer reads as its default language.
    assert default_wording_version(db_session, ConsentScope.INTEREST, "pt") == "job_alerts.en.1"
    # A scope with no text registered names none.
    assert default_wording_version(db_session, ConsentScope.RETENTION, "es") == NO_WORDING_VERSION


def test_a_cached_default_costs_no_query_beyond_the_insert(
    db_session: Session,
    candidate: Candidate,
    interest: Interest,
    defaults: None,
    statements: list[str],
) -> None:
    """Once its version is known, an event given the language (its candidate loaded) is one
    INSERT, plus one for the webhook events it stands for, and nothing else."""
    append_consent(
        db_session,
        candidate.id,
        scope=ConsentScope.MASS_EMAIL,
        action=ConsentAction.WITHDRAW,
        source=ConsentSource.ONE_CLICK,
        locale="en",
    )
    db_session.commit()  # the version read back once committed is cached
    default_wording_version(db_session, ConsentScope.MASS_EMAIL, "en")
    db_session.refresh(candidate)
    statements.clear()
    append_consent(
        db_session,
        candidate.id,
        scope=ConsentScope.MASS_EMAIL,
        action=ConsentAction.WITHDRAW,
        source=ConsentSource.ONE_CLICK,
        locale="en",
    )
    assert [s.split()[0] for s in statements] == ["INSERT", "INSERT"]
    assert "webhook_events" in statements[1]


def test_the_export_lists_each_consent_with_its_words_version_hash_time_source_and_ip(
    db_session: Session,
    candidate: Candidate,
    interest: Interest,
    clock: FrozenClock,
) -> None:
    """Each consent row carries the version's exact words and hash; older rows fall back."""
    version = wording_version(db_session, JOB_ALERTS, "en", ALERTS_EN)
    subscribe(
        db_session,
        candidate,
        interest,
        source=ConsentSource.CONNECT_FORM,
        wording_version=version,
        ip_address="203.0.113.9",
    )
    # Events from before versions: one quoting its words, one naming nothing we keep.
    opt_in_mass_email(
        db_session,
        candidate,
        source=ConsentSource.CONNECT_FORM,
        wording_version=CURRENT_WORDING_VERSION,
        wording="Yes, old words.",
    )
    append_consent(
        db_session,
        candidate.id,
        scope=ConsentScope.MASS_EMAIL,
        action=ConsentAction.WITHDRAW,
        source=ConsentSource.IMPORT,
        wording_version="import",
    )
    history = export_candidate_data(db_session, candidate)["consent_history"]
    assert [
        (
            h["scope"],
            h["interest"],
            h["action"],
            h["source"],
            h["wording"],
            h["wording_version"],
            h["wording_sha256"],
            h["wording_locale"],
            h["ip_address"],
            h["occurred_at"],
        )
        for h in history
    ] == [
        (
            "interest",
            "Engineering",
            "grant",
            "connect_form",
            ALERTS_EN,
            "job_alerts.en.1",
            wording_hash(ALERTS_EN),
            "en",
            "203.0.113.9",
            T0.isoformat(),
        ),
        (
            "mass_email",
            None,
            "grant",
            "connect_form",
            "Yes, old words.",
            CURRENT_WORDING_VERSION,
            None,
            None,
            None,
            T0.isoformat(),
        ),
        (
            "mass_email",
            None,
            "withdraw",
            "import",
            None,
            "import",
            None,
            None,
            None,
            T0.isoformat(),
        ),
    ]
    assert "wording" in ABOUT_EXPORT


def test_the_export_reads_every_wording_in_one_query(
    db_session: Session,
    candidate: Candidate,
    interest: Interest,
    statements: list[str],
) -> None:
    """However many consents, their words are read in one query."""
    for n in range(4):
        version = wording_version(db_session, JOB_ALERTS, "en", f"{ALERTS_EN} ({n})")
        append_consent(
            db_session,
            candidate.id,
            scope=ConsentScope.INTEREST,
            interest_id=interest.id,
            action=ConsentAction.CHANGE,
            source=ConsentSource.DASHBOARD,
            wording_version=version,
        )
    db_session.flush()
    statements.clear()
    history = export_candidate_data(db_session, candidate)["consent_history"]
    assert [h["wording"] for h in history] == [f"{ALERTS_EN} ({n})" for n in range(4)]
    assert sum("consent_wordings" in s for s in statements) == 1
