"""Checks for candidate pages in each language: the catalog's words, no English, no overflow.

The expected words come from the gettext catalogs themselves (`translated`), so a test
names the English source and reads the translation the portal must show; a page "has no
English left" when no sentence of the source catalog (one whose translation differs)
appears in its visible text.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

from babel.messages.pofile import read_po

from mailer.i18n import TRANSLATIONS_DIR, translations

if TYPE_CHECKING:
    from playwright.sync_api import Page

LOCALES = ("en", "es", "de", "fr", "ar")
# Fragments of fewer words than this are too short to tell a language apart ("Job alerts"
# is English, but so is an interest a recruiter named "Job alerts").
MIN_WORDS = 4
# Placeholders and markup split a msgid into the fragments that are shown as written.
_SPLIT = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]+\}|<[^>]+>|[“”\"]")

# Everything on a page whose content may run past its box: the element's own scroll
# width beyond its client width means text or a child spills out of it (a word too long
# for a button, a step label wider than its step). Hidden elements, and the unseen
# default buttons of forms (.visually-hidden, one pixel wide on purpose), are skipped.
OVERFLOWING = """(selector) => [...document.querySelectorAll(selector)]
  .filter(el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden')
  .filter(el => !el.closest('.visually-hidden'))
  .filter(el => el.scrollWidth > el.clientWidth + 1)
  .map(el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}`
    + `${el.className && typeof el.className === 'string' ? '.' + el.className.trim()
      .split(/\\s+/).join('.') : ''} "${(el.innerText || el.value || '').trim().slice(0, 60)}"`
    + ` ${el.scrollWidth}>${el.clientWidth}`)"""
# The boxes German words are most likely to burst: buttons, the step bar, the header and
# its menu, the language menu, cards, form fields and headings.
BOXES = ", ".join(
    (
        "button",
        ".button",
        ".steps li",
        ".steps li *",
        ".site-header a",
        ".site-header summary",
        ".site-nav li",
        ".language-switch a",
        ".language-switch li",
        "[class*='card']",
        "input",
        "select",
        "textarea",
        "label",
        "legend",
        "h1",
        "h2",
        "h3",
    )
)


def translated(locale: str, message: str, **values: Any) -> str:
    """`message` (an English msgid) as the portal shows it in `locale`, placeholders filled."""
    text = translations(locale).gettext(message)
    return text % values if values else text


@cache
def english_sentences(locale: str) -> frozenset[str]:
    """Word runs of the source catalog that `locale` translates: none may show in `locale`.

    Each msgid is split at its placeholders and markup; a fragment of MIN_WORDS words or
    more is kept when the locale's catalog has a translation that does not contain it.
    """
    if locale == "en":
        return frozenset()
    path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    found: set[str] = set()
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translation = " ".join(s for s in strings if s)
        for msgid in ids:
            for fragment in _SPLIT.split(msgid):
                words = " ".join(fragment.split()).strip(" .,:;!?()")
                if len(words.split()) >= MIN_WORDS and words not in translation:
                    found.add(words)
    return frozenset(found)


def english_left(text: str, locale: str) -> list[str]:
    """The source sentences of the catalog that appear in `text` (whitespace collapsed)."""
    flat = " ".join(text.split())
    return sorted(s for s in english_sentences(locale) if s in flat)


def assert_in_language(page: Page, locale: str, name: str) -> None:
    """The page says it is in `locale` (lang and dir) and shows no English from the catalog."""
    lang, direction = page.evaluate("[document.documentElement.lang, document.documentElement.dir]")
    assert lang == locale, f"{name}: <html lang={lang}>, not {locale}"
    assert direction == ("rtl" if locale == "ar" else "ltr"), f"{name}: dir={direction}"
    left = english_left(page.locator("body").inner_text(), locale)
    assert left == [], f"{name} in {locale} shows English: {left}"


def assert_nothing_overflows(page: Page, name: str) -> None:
    """No button, step, menu link, card, field or heading is narrower than its content,
    and the document itself does not scroll sideways."""
    spilling: list[str] = page.evaluate(OVERFLOWING, BOXES)
    assert spilling == [], f"{name}: content wider than its box:\n  " + "\n  ".join(spilling)
    width = page.evaluate("window.innerWidth")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{name}: {scroll_width}px wide in a {width}px viewport"
