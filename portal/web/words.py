"""Candidate-facing words that are not in a template: configurable texts and `jobs`' labels.

The button and link texts of TEXTS (`portal.config.DEFAULT_TEXTS`) are the company's
when it overrides them, shown as written in every language; a text left at its default
is shown in the page's language. `jobs` hands up English labels marked for the
catalogs (`jobs.wording`); `gettext` here translates them for the request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

from flask_babel import gettext as _gettext

from jobs.wording import N_
from portal.config import DEFAULT_TEXTS
from portal.i18n import current_locale

# DEFAULT_TEXTS as the catalogs know them: `make translations` extracts these, and a test
# checks they are the defaults exactly.
TRANSLATED_DEFAULTS: Final = (
    N_("Connect With Us"),
    N_("Log in"),
    N_("Continue without one"),
    N_("Show Details"),
    N_("Continue"),
    N_("Upload"),
    N_("Skip"),
    N_("Submit Profile"),
    N_("Apply"),
)


def gettext(message: str) -> str:
    """`message` (a catalog message, such as a `jobs` label) in the request's language."""
    return str(_gettext(message))


class PageTexts(Mapping[str, str]):
    """TEXTS for one page: an override as written, a default in the page's language."""

    def __init__(self, configured: Mapping[str, str]) -> None:
        self._configured = configured

    def __getitem__(self, key: str) -> str:
        text = self._configured[key]
        if text == DEFAULT_TEXTS.get(key):
            return gettext(text)
        return text

    def __iter__(self) -> Iterator[str]:
        return iter(self._configured)

    def __len__(self) -> int:
        return len(self._configured)


def number_locale(default_locale: str) -> str:
    """The locale to format amounts in: DEFAULT_LOCALE when the page is in its language
    (it names the region, "en-GB"), else the page's own locale."""
    page = current_locale()
    if default_locale.replace("_", "-").split("-")[0].lower() == page.split("-")[0].lower():
        return default_locale
    return page
