"""Candidate-facing words that are not in a template: `jobs`' labels and amounts.

`jobs` hands up English labels marked for the catalogs (`jobs.wording`); `gettext` here
translates them for the request. (TEXTS, the configurable button and link texts, are
`portal.i18n.localized_texts`'.)
"""

from __future__ import annotations

from portal.i18n import current_locale
from portal.i18n import gettext as _gettext


def gettext(message: str) -> str:
    """`message` (a catalog message, such as a `jobs` label) in the request's language."""
    return str(_gettext(message))


def number_locale(default_locale: str) -> str:
    """The locale to format amounts in: DEFAULT_LOCALE when the page is in its language
    (it names the region, "en-GB"), else the page's own locale."""
    page = current_locale()
    if default_locale.replace("_", "-").split("-")[0].lower() == page.split("-")[0].lower():
        return default_locale
    return page
