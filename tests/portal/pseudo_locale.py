"""A pseudo-locale: every catalog string accented, bracketed and lengthened by 40%.

Text that reaches a page or an email through the catalog then has no plain ASCII word
left in it, so any such word a candidate would read either is data (their name, a job
title, the company's name) or was never marked for translation: a leak
(`find_leaks`, used by tests/portal/test_pseudo_locale.py).

Babel knows no `en-XA` (the usual pseudo-locale tag), and Flask-Babel parses every page
locale with Babel. The pseudo catalog is therefore installed under a real tag that no
product catalog uses, Georgian (`ka`), from a temporary directory added with
`mailer.i18n.add_catalog_directory`. Its Babel data writes dates in Georgian script, so
a date formatted without Babel (English month names) shows up as a leak too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

from .catalog_support import marked_messages

PSEUDO_LOCALE: Final = "ka"
OPEN, CLOSE = "⟦", "⟧"
_LETTERS: Final = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "áƀçðéƒĝĥíĵķĺɱñóþǫŕšţúṽŵẋýžÁßÇÐÉƑĜĤÍĴĶĹṀÑÓÞǪŔŠŢÚṼŴẊÝŽ",
)
# Left as they are: placeholders (%(name)s, %(num)d, %s, %%, {name}), HTML tags and
# entities. Everything between them is text a reader sees.
_KEPT: Final = re.compile(
    r"%\([A-Za-z_][A-Za-z0-9_]*\)[sdifr]|%[sdif%]|\{[A-Za-z_][A-Za-z0-9_]*\}"
    r"|<[^<>]+>|&(?:#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);"
)
# A word of three ASCII letters or more: nothing the catalog wrote contains one.
_ASCII_WORD: Final = re.compile(r"[A-Za-z]{3,}")
_URL_OR_ADDRESS: Final = re.compile(r"https?://\S+|[\w.+-]+@[\w.-]+\w|/[\w./?=&%-]+")


def pseudo(text: str) -> str:
    """`text` accented letter by letter, wrapped in ⟦ ⟧ and padded ~40% with "·"."""
    if not text:
        return text
    parts: list[str] = []
    position = 0
    for kept in _KEPT.finditer(text):
        parts.append(text[position : kept.start()].translate(_LETTERS))
        parts.append(kept.group())
        position = kept.end()
    parts.append(text[position:].translate(_LETTERS))
    padding = "·" * math.ceil(len(text) * 0.4)
    return f"{OPEN}{''.join(parts)}{padding}{CLOSE}"


def pseudo_catalog() -> Catalog:
    """A catalog of every marked string (plural forms too) in the pseudo-locale."""
    catalog = Catalog(locale=PSEUDO_LOCALE)
    for message in marked_messages():
        if isinstance(message.id, tuple):
            singular, plural = message.id[0], message.id[1]
            forms = tuple(
                pseudo(singular if index == 0 else plural) for index in range(catalog.num_plurals)
            )
            catalog.add((singular, plural), forms, context=message.context)
        else:
            catalog.add(message.id, pseudo(message.id), context=message.context)
    return catalog


def write_pseudo_catalog(directory: Path) -> Path:
    """Write `<directory>/ka/LC_MESSAGES/messages.po` and `.mo`; return `directory`."""
    target = directory / PSEUDO_LOCALE / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    catalog = pseudo_catalog()
    with (target / "messages.po").open("wb") as handle:
        write_po(handle, catalog)
    with (target / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    return directory


# Elements whose content no reader sees; void elements never have an end tag.
_HIDDEN: Final = frozenset({"script", "style", "template"})
_VOID: Final = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_SHOWN_ATTRIBUTES: Final = ("alt", "title", "placeholder", "aria-label")
# The words the page's scripts show (a confirm dialog, a toggled label, a status line).
_SCRIPT_TEXT: Final = re.compile(r"data-confirm(?:-[a-z]+)?|data-[a-z-]+-(?:label|message)")


class _VisibleText(HTMLParser):
    """Collects the text a reader sees or hears: text nodes, the attributes shown and the
    words a script shows from `data-confirm`, `data-…-label` and `data-…-message`.

    Skips <script>, <style> and <template>, and any element written in another language
    than the page (`lang` differs from <html lang>: the language menu's own names).
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._page_lang: str | None = None
        self._open: list[tuple[str, bool]] = []  # (tag, skipped)

    def _skipping(self) -> bool:
        return bool(self._open) and self._open[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "html":
            self._page_lang = values.get("lang")
        foreign = "lang" in values and tag != "html" and values["lang"] != self._page_lang
        skipped = self._skipping() or tag in _HIDDEN or foreign
        if not skipped:
            self.texts.extend(
                value
                for name, value in values.items()
                if value and (name in _SHOWN_ATTRIBUTES or _SCRIPT_TEXT.fullmatch(name))
            )
            if tag == "input" and values.get("type") in {"submit", "button", "reset"}:
                self.texts.append(values.get("value", ""))
            if tag == "meta" and values.get("name") == "description":
                self.texts.append(values.get("content", ""))
        if tag not in _VOID:
            self._open.append((tag, skipped))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self._skipping() and data.strip():
            self.texts.append(data)


def visible_texts(html: str) -> list[str]:
    """The text nodes and shown attributes of an HTML page or email, in order."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return [" ".join(text.split()) for text in parser.texts if text.strip()]


def find_leaks(texts: Iterable[str], data: Iterable[str] = ()) -> list[str]:
    """The texts that hold an ASCII word of 3+ letters once `data` (strings that are
    nobody's to translate: names, addresses, job titles), URLs and addresses are removed."""
    known = sorted({item for item in data if item}, key=len, reverse=True)
    leaks = []
    for text in texts:
        rest = text
        for item in known:
            rest = rest.replace(item, " ")
        rest = _URL_OR_ADDRESS.sub(" ", rest)
        if _ASCII_WORD.search(rest):
            leaks.append(text)
    return leaks
