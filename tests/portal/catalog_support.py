"""The strings the code and templates mark for translation, extracted as `make translations`
does (shared by the catalog checks and the pseudo-locale test)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import NamedTuple

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

ROOT = Path(__file__).resolve().parents[2]
# As `make translations` extracts: pybabel's defaults (N_ marks a string translated
# where it is shown) and Flask-Babel's lazy forms.
KEYWORDS = {
    "_": None,
    "N_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
}


class Marked(NamedTuple):
    """One marked string: its id (singular, or singular and plural) and its context."""

    id: str | tuple[str, ...]
    context: str | None

    @property
    def singular(self) -> str:
        return self.id[0] if isinstance(self.id, tuple) else self.id


# The candidate side's mapping (messages.pot) and the recruiter console's (console.pot).
CANDIDATE_MAPPING = "babel.cfg"
CONSOLE_MAPPING = "babel-console.cfg"


@cache
def marked_messages(mapping: str = CANDIDATE_MAPPING) -> tuple[Marked, ...]:
    """Every string the files of one mapping mark for translation, once each: by default
    the candidate side's, which the language catalogs translate."""
    with (ROOT / mapping).open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[tuple[str | tuple[str, ...], str | None], Marked] = {}
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        ROOT,
        method_map,
        options_map,
        keywords=KEYWORDS,
        directory_filter=lambda path: (
            not Path(path).name.startswith((".", "_"))
            and Path(path).name not in {"node_modules", "tests", "bench"}
        ),
    ):
        key = (tuple(message) if isinstance(message, tuple | list) else message, context)
        found.setdefault(key, Marked(*key))
    return tuple(found.values())
