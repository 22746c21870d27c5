"""Interest translations: stored through `update_interest`, read per locale in one query."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from preferences.center import center_page
from preferences.interest_admin import InterestRejected, create_interest, update_interest
from preferences.interest_texts import (
    InterestText,
    interest_texts,
    interest_texts_by_locale,
    stored_translations,
    translation_tags,
)
from preferences.models import AuditEvent, Candidate, Interest, InterestTranslation

LOCALES = ("es", "de", "fr", "ar")


def _design(session: Session) -> Interest:
    return create_interest(session, name="Design", details="All about design.", keywords="")


def _save(session: Session, interest: Interest, **texts: InterestText) -> Interest:
    return update_interest(
        session,
        interest.id,
        name=interest.name,
        details=interest.details,
        keywords="",
        translations=texts,
        locales=LOCALES,
        recruiter_id=7,
    )


def _rows(session: Session) -> list[tuple[int, str, str, str]]:
    return sorted(
        (r.interest_id, r.locale, r.name, r.details)
        for r in session.scalars(select(InterestTranslation))
    )


def test_translations_are_stored_read_back_and_fall_back(db_session: Session) -> None:
    """A saved Spanish name and details are what `interest_texts("es")` gives; German has
    none and gives the defaults; an empty Spanish details falls back to the default's."""
    design = _design(db_session)
    _save(db_session, design, es=InterestText("  Diseño   gráfico ", "Todo sobre diseño."))
    assert stored_translations(db_session, design.id) == {
        "es": InterestText("Diseño gráfico", "Todo sobre diseño.")
    }
    spanish = interest_texts(db_session, "es")
    assert spanish.name(design) == "Diseño gráfico"
    assert spanish.details(design) == "Todo sobre diseño."
    german = interest_texts(db_session, "de")
    assert (german.name(design), german.details(design)) == ("Design", "All about design.")
    _save(db_session, design, es=InterestText("Diseño", ""))
    assert interest_texts(db_session, "es").details(design) == "All about design."
    # A regional tag reads its language's translations.
    assert interest_texts(db_session, "es-MX").name(design) == "Diseño"


def test_emptying_a_language_deletes_it_and_each_change_is_audited(db_session: Session) -> None:
    """Saving an empty name and details removes that language; each Save that changed a
    language records one audit event naming the languages, and one that changed none none."""
    design = _design(db_session)
    _save(db_session, design, es=InterestText("Diseño", ""), de=InterestText("Gestaltung", ""))
    _save(db_session, design, es=InterestText("", ""), de=InterestText("Gestaltung", ""))
    _save(db_session, design, es=InterestText("", ""), de=InterestText("Gestaltung", ""))
    assert _rows(db_session) == [(design.id, "de", "Gestaltung", "")]
    audits = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "interest.translated")
    ).all()
    assert [(a.actor, a.subject, a.detail) for a in audits] == [
        ("recruiter:7", f"interest:{design.id}", {"locales": ["de", "es"]}),
        ("recruiter:7", f"interest:{design.id}", {"locales": ["es"]}),
    ]


@pytest.mark.parametrize(
    ("texts", "key"),
    [
        ({"pt": InterestText("Desenho", "")}, "translations"),
        ({"en": InterestText("Design again", "")}, "translations"),
        ({"es": InterestText("x" * 121, "")}, "name_es"),
        ({"es": InterestText("Dise\x00ño", "")}, "name_es"),
        ({"es": InterestText("Diseño", "\ud800")}, "details_es"),
        ({"es": InterestText("", "Sin nombre")}, "name_es"),
        ({"ar": InterestText("تصميم", "x" * 5001)}, "details_ar"),
    ],
)
def test_a_bad_translation_is_refused_and_nothing_changes(
    db_session: Session, texts: dict[str, InterestText], key: str
) -> None:
    """Unsupported (or the default) locale, too long, control characters, a lone surrogate,
    details without a name: refused under its key, with the default name left as it was
    even when it was changed in the same Save."""
    design = _design(db_session)
    _save(db_session, design, de=InterestText("Gestaltung", ""))
    before = _rows(db_session)
    with pytest.raises(InterestRejected) as refused:
        update_interest(
            db_session,
            design.id,
            name="Visual design",
            details="",
            keywords="",
            translations={**texts, "fr": InterestText("Conception", "")},
            locales=LOCALES,
        )
    assert key in refused.value.errors
    assert _rows(db_session) == before
    assert db_session.get_one(Interest, design.id).name == "Design"


def test_names_are_unique_within_a_language_only(db_session: Session) -> None:
    """Two interests may not share a Spanish name (in any case); the same word in two
    languages, or equal to a default name, is fine; the database agrees."""
    design = _design(db_session)
    sales = create_interest(db_session, name="Sales", details="", keywords="")
    _save(db_session, design, es=InterestText("Diseño", ""), de=InterestText("Design", ""))
    with pytest.raises(InterestRejected) as refused:
        _save(db_session, sales, es=InterestText("DISEÑO", ""))
    assert "already called" in refused.value.errors["name_es"]
    _save(db_session, sales, fr=InterestText("Diseño", ""))
    db_session.add(InterestTranslation(interest_id=sales.id, locale="es", name="Diseño"))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_a_deleted_interest_takes_its_translations_with_it(db_session: Session) -> None:
    """ON DELETE CASCADE: deleting the interest row deletes its translations."""
    design = _design(db_session)
    _save(db_session, design, es=InterestText("Diseño", ""))
    db_session.execute(delete(Interest).where(Interest.id == design.id))
    assert _rows(db_session) == []


def test_several_locales_are_read_in_one_query(db_session: Session) -> None:
    """`interest_texts_by_locale` reads es, de and fr in one statement and none for the
    default."""
    design = _design(db_session)
    _save(db_session, design, es=InterestText("Diseño", ""), de=InterestText("Gestaltung", ""))
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "interest_translations" in statement:
            statements.append(statement)

    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        found = interest_texts_by_locale(
            db_session, ["es", "de", "fr", "en"], default_locale="en", interest_ids=[design.id]
        )
        english = interest_texts(db_session, "en", default_locale="en")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(statements) == 1
    assert {locale: texts.name(design) for locale, texts in found.items()} == {
        "es": "Diseño",
        "de": "Gestaltung",
        "fr": "Design",
        "en": "Design",
    }
    assert english.name(design) == "Design"


def test_the_preference_page_reads_names_in_its_language_with_the_interests(
    db_session: Session,
) -> None:
    """`center_page` with a locale's tags: the exact tag's name, else its language's, else
    the default name; the default locale reads no translation at all (no tags)."""
    design = _design(db_session)
    writing = create_interest(db_session, name="Writing", details="", keywords="")
    _save(db_session, design, es=InterestText("Diseño", ""))
    db_session.add(InterestTranslation(interest_id=design.id, locale="es-MX", name="Diseño MX"))
    db_session.flush()
    candidate = Candidate(email="ana@example.com")
    db_session.add(candidate)
    db_session.flush()

    def names(tags: tuple[str, ...]) -> dict[int, str]:
        return {
            option.id: option.name for option in center_page(db_session, candidate, tags).interests
        }

    assert translation_tags("es-MX", "en") == ("es-MX", "es")
    assert names(translation_tags("es-MX", "en")) == {design.id: "Diseño MX", writing.id: "Writing"}
    assert names(translation_tags("es", "en")) == {design.id: "Diseño", writing.id: "Writing"}
    assert names(translation_tags("de", "en")) == {design.id: "Design", writing.id: "Writing"}
    assert translation_tags("en-GB", "en") == ()
    assert names(()) == {design.id: "Design", writing.id: "Writing"}
