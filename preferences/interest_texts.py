"""An interest's name and details in a candidate's language.

The default language's (DEFAULT_LOCALE's) name and details are `Interest.name` and
`Interest.details`; `InterestTranslation` rows give other locales'. A candidate sees
their language's, or the default's where a translation is missing (or its details are
empty). The recruiter console always shows the default ones.

Pages and the alert run read a locale's translations with one query
(`interest_texts`) and then look names up in memory (`InterestTexts.name`), however
many interests they show: the interest list is short and curated by recruiters, so a
whole locale's rows are as cheap as the few a page shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from preferences.models import Interest, InterestTranslation


class HasInterestText(Protocol):
    """What an interest's translated texts are looked up by (an `Interest` or a row)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def details(self) -> str: ...


@dataclass(frozen=True)
class InterestText:
    """One interest's name and details in one locale."""

    name: str
    details: str


def lookup_tags(locale: str) -> tuple[str, ...]:
    """The stored tags that may hold `locale`'s translations, best first ("es-MX", "es")."""
    tag = locale.replace("_", "-")
    language = tag.split("-")[0]
    return (tag,) if language == tag else (tag, language)


@dataclass(frozen=True)
class InterestTexts:
    """One locale's interest translations, looked up in memory; the default's where none."""

    locale: str
    by_interest: Mapping[int, InterestText] = field(default_factory=dict)

    def name(self, interest: HasInterestText) -> str:
        """`interest`'s name in this locale, else its default name."""
        found = self.by_interest.get(interest.id)
        return found.name if found is not None and found.name else interest.name

    def details(self, interest: HasInterestText) -> str:
        """`interest`'s details in this locale, else its default details."""
        found = self.by_interest.get(interest.id)
        return found.details if found is not None and found.details else interest.details

    def name_of(self, interest_id: int, default: str) -> str:
        """The name of the interest with this id in this locale, else `default`."""
        found = self.by_interest.get(interest_id)
        return found.name if found is not None and found.name else default


_TEXT_COLUMNS = select(
    InterestTranslation.interest_id,
    InterestTranslation.locale,
    InterestTranslation.name,
    InterestTranslation.details,
)
_OF_LOCALE = _TEXT_COLUMNS.where(InterestTranslation.locale.in_(bindparam("tags", expanding=True)))


def translation_tags(locale: str, default_locale: str) -> tuple[str, ...]:
    """The stored tags to read `locale`'s names from, best first; none for the default's."""
    tags = lookup_tags(locale)
    return () if tags[-1] == lookup_tags(default_locale)[-1] else tags


def translated_name(tag_param: str, language_param: str) -> Any:
    """SQL for the name of the row's `Interest` in a locale, else its default name.

    The locale's stored tags are bound as `tag_param` (exact, "es-MX") and
    `language_param` (its language, "es"; the same tag again when it has no region):
    one column of the statement that lists the interests, no further query.
    """

    def stored(param: str) -> Any:
        return (
            select(InterestTranslation.name)
            .where(
                InterestTranslation.interest_id == Interest.id,
                InterestTranslation.locale == bindparam(param),
                InterestTranslation.name != "",
            )
            .scalar_subquery()
        )

    return func.coalesce(stored(tag_param), stored(language_param), Interest.name)


def interest_texts(
    session: Session,
    locale: str,
    *,
    default_locale: str | None = None,
    interest_ids: Iterable[int] | None = None,
) -> InterestTexts:
    """The translations of `locale` (of `interest_ids`, or of every interest), in one query.

    No query at all when `locale` is the default language's, which has no rows here.
    """
    tags = lookup_tags(locale)
    if default_locale is not None and tags[-1] == lookup_tags(default_locale)[-1]:
        return InterestTexts(locale)
    if interest_ids is None:
        # A page's whole locale: a statement built once, run as plain Core (pages in a
        # language other than the default's run it on every request).
        selected = session.connection().execute(_OF_LOCALE, {"tags": list(tags)}).all()
    else:
        ids = sorted(set(interest_ids))
        if not ids:
            return InterestTexts(locale)
        selected = session.execute(
            _TEXT_COLUMNS.where(
                InterestTranslation.locale.in_(tags), InterestTranslation.interest_id.in_(ids)
            )
        ).all()
    found: dict[int, InterestText] = {}
    # The broader tag first, so the exact one ("es-MX" over "es") wins when both exist.
    rows = sorted(selected, key=lambda row: tags.index(row.locale), reverse=True)
    for row in rows:
        found[row.interest_id] = InterestText(row.name, row.details)
    return InterestTexts(locale, found)


def interest_texts_by_locale(
    session: Session,
    locales: Iterable[str],
    *,
    default_locale: str | None = None,
    interest_ids: Iterable[int],
) -> dict[str, InterestTexts]:
    """`interest_texts` for several locales at once (a batch of emails), in one query."""
    wanted = sorted(set(locales))
    ids = sorted(set(interest_ids))
    default = lookup_tags(default_locale)[-1] if default_locale is not None else None
    tags = {locale: lookup_tags(locale) for locale in wanted if lookup_tags(locale)[-1] != default}
    every_tag = sorted({tag for found in tags.values() for tag in found})
    rows = (
        list(
            session.scalars(
                select(InterestTranslation).where(
                    InterestTranslation.locale.in_(every_tag),
                    InterestTranslation.interest_id.in_(ids),
                )
            )
        )
        if every_tag and ids
        else []
    )
    result = {locale: InterestTexts(locale) for locale in wanted}
    for locale, own in tags.items():
        mine = sorted((r for r in rows if r.locale in own), key=lambda r: own.index(r.locale))
        found = {row.interest_id: InterestText(row.name, row.details) for row in reversed(mine)}
        result[locale] = InterestTexts(locale, found)
    return result


def stored_translations(session: Session, interest_id: int) -> dict[str, InterestText]:
    """Every stored translation of one interest, by locale (for the console's edit page)."""
    rows = session.scalars(
        select(InterestTranslation).where(InterestTranslation.interest_id == interest_id)
    )
    return {row.locale: InterestText(row.name, row.details) for row in rows}
