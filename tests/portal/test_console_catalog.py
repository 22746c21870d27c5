"""The recruiter console's strings are marked for translation in a domain of their own:
`make translations` extracts them into console.pot, and none of them into the candidate
catalogs (messages.pot and the languages' messages.po), which stay the candidate side's."""

from __future__ import annotations

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from portal.i18n import TRANSLATIONS_DIR

from .catalog_support import CONSOLE_MAPPING, marked_messages


def _template(name: str) -> Catalog:
    with (TRANSLATIONS_DIR / name).open("rb") as handle:
        return read_po(handle)


def _ids(catalog: Catalog) -> set[tuple[str, str | None]]:
    return {
        (m.id[0] if isinstance(m.id, tuple | list) else m.id, m.context) for m in catalog if m.id
    }


def _console_marked() -> set[tuple[str, str | None]]:
    return {(m.singular, m.context) for m in marked_messages(CONSOLE_MAPPING)}


def _candidate_marked() -> set[tuple[str, str | None]]:
    return {(m.singular, m.context) for m in marked_messages()}


def test_the_console_marks_its_strings() -> None:
    """Navigation, templates' text and the views' notices are all marked."""
    marked = _console_marked()
    for text in ("Mail sink", "Log in with your work email and password.", "Feed saved."):
        assert (text, None) in marked


def test_console_pot_has_every_marked_console_string() -> None:
    missing = sorted(_console_marked() - _ids(_template("console.pot")), key=str)
    assert not missing, f"run `make translations`; console.pot lacks {missing[:10]}"


def test_no_console_string_leaks_into_the_candidate_catalogs() -> None:
    """Strings only the console uses are in neither messages.pot nor a language's catalog;
    one the candidate pages use too is in both, as it should be."""
    console_only = _console_marked() - _candidate_marked()
    assert ("Mail sink", None) in console_only
    leaked = sorted(console_only & _ids(_template("messages.pot")), key=str)
    assert not leaked, f"console strings in messages.pot: {leaked[:10]}"
    for locale in ("es", "de", "fr", "ar"):
        catalog = _template(f"{locale}/LC_MESSAGES/messages.po")
        assert not console_only & _ids(catalog), locale


def test_the_candidate_extraction_leaves_console_files_out() -> None:
    """babel.cfg ignores the console's templates and views before its general patterns."""
    assert ("Log in with your work email and password.", None) not in _candidate_marked()
