"""Words for people that `jobs` (and the packages below the portal) hand up untranslated.

`jobs` never imports Flask, so it cannot know a request's language. Its labels and
sentence patterns are marked with `N_` (a no-op that `make translations` extracts into
the catalogs), and a function that words something for a person takes a `gettext`
argument: the portal passes Flask-Babel's, anything else gets the English source.
"""

from __future__ import annotations

from collections.abc import Callable

#: Translates one catalog message (English source text in, the reader's language out).
Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Mark `message` for the catalogs without translating it (it is translated when shown)."""
    return message


def source_text(message: str) -> str:
    """The `Gettext` of the source language: the message as written."""
    return message
