"""The translation catalogs are complete: every marked string is in every catalog,
translated (every plural form), with the same placeholders as the English source."""

from __future__ import annotations

import re
from functools import cache

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from portal.i18n import TRANSLATIONS_DIR, available_locales

from .catalog_support import marked_messages

# %(name)s and %(count)d (gettext), {name} (str.format), and HTML tags with their names.
_PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)[sdif]|\{[A-Za-z_][A-Za-z0-9_]*\}")
_TAG = re.compile(r"</?([a-z][a-z0-9]*)\b")

TRANSLATED = [locale for locale in available_locales() if locale != "en"]


@cache
def _catalog(locale: str) -> Catalog:
    path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _marked() -> frozenset[tuple[str, str | None]]:
    """Every string the code and templates mark for translation (singular, context)."""
    return frozenset((m.singular, m.context) for m in marked_messages())


def _forms(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def _ids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def _tags(text: str) -> list[str]:
    return sorted(_TAG.findall(text))


def test_there_are_catalogs_to_check() -> None:
    assert {"es", "de", "fr", "ar"} <= set(TRANSLATED)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_marked_string_is_in_the_catalog(locale: str) -> None:
    catalog = _catalog(locale)
    present = {(_ids(m)[0], m.context) for m in catalog if m.id}
    missing = sorted(_marked() - present, key=str)
    assert not missing, f"run `make translations`; {locale} lacks {missing[:10]}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_string_is_translated(locale: str) -> None:
    catalog = _catalog(locale)
    untranslated = [
        _ids(m)[0]
        for m in catalog
        if m.id and (m.fuzzy or not all(form.strip() for form in _forms(m)))
    ]
    assert not untranslated, f"{locale}: {len(untranslated)} untranslated, e.g. {untranslated[:5]}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_plural_forms_are_all_given(locale: str) -> None:
    catalog = _catalog(locale)
    for message in catalog:
        if message.id and message.pluralizable:
            assert len(_forms(message)) == catalog.num_plurals, (locale, _ids(message)[0])


@pytest.mark.parametrize("locale", TRANSLATED)
def test_placeholders_and_markup_match_the_source(locale: str) -> None:
    catalog = _catalog(locale)
    for message in catalog:
        if not message.id:
            continue
        source = " ".join(_ids(message))
        wanted = _placeholders(source)
        for form in _forms(message):
            if not form:
                continue
            # A plural form may leave the count out ("one job" in words); nothing else.
            got = _placeholders(form)
            if message.pluralizable:
                assert got <= wanted, (locale, source, form)
                assert wanted - got <= {"%(num)d", "%(num)s", "%(count)d", "%(count)s"}, (
                    locale,
                    source,
                    form,
                )
            else:
                assert got == wanted, (locale, source, form)
            assert _tags(form) == _tags(_ids(message)[0]), (locale, source, form)


def test_the_checker_catches_a_changed_placeholder() -> None:
    """The placeholder rule itself: a renamed or lost placeholder is a difference."""
    assert _placeholders("Hello %(name)s, {count} jobs") == {"%(name)s", "{count}"}
    assert _placeholders("Hola %(nombre)s") != _placeholders("Hello %(name)s")
