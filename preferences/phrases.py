"""Sentences the core words for a person, in English, that the web layer can translate.

`preferences` never imports Flask, so it cannot know a request's language. It words what
a Save changed, a form's errors or a list's name as a `Phrase`: a `str` (the English text,
exactly as before, so logs, tests and English pages are unchanged) that also remembers its
gettext message id and its values. The portal translates it (`portal.web.phrases.translate`)
when it shows it. Message ids are marked with `N_` so `make translations` extracts them.

A value may itself be a `Phrase`, a `PhraseDate` (a day, worded in the page's locale), a
`PhraseList` (names joined the way the page's language joins them) or a `PhraseInterest`
(an interest's name, in the page's language where a recruiter translated it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Final

# English day formats, as the pages wrote them before they were translated; the web layer
# uses the locale's own "long" and "medium" date formats for the other languages.
_ENGLISH_DATES: Final = {"long": "%B %-d, %Y", "medium": "%b %-d, %Y"}


def N_(message: str) -> str:
    """Mark `message` for translation without translating it here."""
    return message


class PhraseDate(str):
    """A day in a sentence: English text now, the locale's date format when translated."""

    day: date
    style: str

    def __new__(cls, when: date | datetime, style: str = "long") -> PhraseDate:
        day = when.date() if isinstance(when, datetime) else when
        text = super().__new__(cls, format(day, _ENGLISH_DATES[style]))
        text.day = day
        text.style = style
        return text


class PhraseList(str):
    """Names in a sentence: "A", "A and B", "A, B and C"; joined per locale when translated."""

    items: tuple[str, ...]

    def __new__(cls, items: Sequence[str]) -> PhraseList:
        names = tuple(items)
        english = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        text = super().__new__(cls, english)
        text.items = names
        return text


class PhraseInterest(str):
    """An interest's name in a sentence: the default name now, the page's when translated."""

    interest_id: int

    def __new__(cls, interest_id: int, name: str) -> PhraseInterest:
        text = super().__new__(cls, name)
        text.interest_id = interest_id
        return text


class Phrase(str):
    """A sentence in English that remembers how to translate it.

    `Phrase(N_("Stopped job alerts for %(name)s."), name=...)`; this module's
    `ngettext(singular, plural, n, ...)` makes one with a count (gettext's `num`).
    """

    msgid: str
    plural: str | None
    number: int | None  # the count, for a plural
    params: dict[str, object]

    def __new__(
        cls,
        msgid: str,
        /,
        *,
        plural: str | None = None,
        count: int | None = None,
        **params: object,
    ) -> Phrase:
        values: dict[str, object] = {k: str(v) for k, v in params.items()}
        if count is not None:
            values.setdefault("num", count)
        template = msgid if plural is None or count == 1 else plural
        text = super().__new__(cls, template % values)
        text.msgid = msgid
        text.plural = plural
        text.number = count
        text.params = dict(params)
        return text


def ngettext(singular: str, plural: str, count: int, **params: object) -> Phrase:
    """A `Phrase` with a count, marked for extraction like gettext's `ngettext`."""
    return Phrase(singular, plural=plural, count=count, **params)
