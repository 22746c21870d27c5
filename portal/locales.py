"""Which languages the portal has catalogs for (read by the settings and by `portal.i18n`).

The catalogs are `portal/translations/<locale>/LC_MESSAGES/messages.po`; English is the
source language and has none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

TRANSLATIONS_DIR: Final = Path(__file__).resolve().parent / "translations"
SOURCE_LOCALE: Final = "en"


def available_locales() -> tuple[str, ...]:
    """The source language and every locale with a catalog in the repository."""
    found = sorted(
        path.parent.parent.name
        for path in TRANSLATIONS_DIR.glob("*/LC_MESSAGES/messages.po")
        if not path.parent.parent.name.startswith("en")
    )
    return (SOURCE_LOCALE, *found)
