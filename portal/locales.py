"""Which languages the portal has catalogs for (read by the settings and by `portal.i18n`).

The catalogs are `portal/translations/<locale>/LC_MESSAGES/messages.po`; English is the
source language and has none. A directory added with `mailer.i18n.add_catalog_directory`
(the test suite's pseudo-locale) counts too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from mailer.i18n import catalog_directories

TRANSLATIONS_DIR: Final = Path(__file__).resolve().parent / "translations"
SOURCE_LOCALE: Final = "en"


def available_locales() -> tuple[str, ...]:
    """The source language and every locale with a catalog in the repository."""
    found = sorted(
        {
            path.parent.parent.name
            for directory in catalog_directories()
            for path in directory.glob("*/LC_MESSAGES/messages.po")
            if not path.parent.parent.name.startswith("en")
        }
    )
    return (SOURCE_LOCALE, *found)
