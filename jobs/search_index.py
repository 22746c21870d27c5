"""How posting text is indexed for search, shared by `/jobs` search and saved-search alerts.

Both must agree on what a word is, or a saved search would mail jobs its page does
not show (or miss ones it does):

- **SQLite:** an FTS5 table, `job_search`, over the posting's title and description,
  tokenized with `FTS5_TOKENIZE` (Porter stemming on Unicode words, diacritics folded).
- **PostgreSQL:** a stored `tsvector` column, `job_postings.search_vector`, with a GIN
  index: the title weighted A, the description B, each under the text search
  configuration of the posting's language (`pg_config_sql`). A posting that names no
  language is indexed as `NULL_LANGUAGE_CONFIG`.

`location_matches` is the one rule for the `location` filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import func, or_

FTS5_TABLE: Final = "job_search"
FTS5_TOKENIZE: Final = "porter unicode61 remove_diacritics 2"
PG_VECTOR_COLUMN: Final = "search_vector"

# Primary language subtag -> PostgreSQL's built-in text search configuration.
PG_CONFIGS: Final[Mapping[str, str]] = {
    "ar": "arabic",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}
# A language without a configuration is split into words but not stemmed.
FALLBACK_CONFIG: Final = "simple"
# NULL means "the company's language" (DEFAULT_LOCALE), which an index expression cannot
# read; English is that setting's default. Postings in another language should name it.
NULL_LANGUAGE_CONFIG: Final = "english"


def pg_config_sql(language_sql: str) -> str:
    """SQL text naming the configuration (as text) for a language column or expression.

    A CASE over literals, so it may be used inside a generated column when each branch
    is wrapped with its own `to_tsvector('<config>', …)` (see `pg_vector_sql`).
    """
    primary = f"lower(split_part({language_sql}, '-', 1))"
    branches = " ".join(f"WHEN '{tag}' THEN '{cfg}'" for tag, cfg in sorted(PG_CONFIGS.items()))
    return (
        f"CASE WHEN {language_sql} IS NULL THEN '{NULL_LANGUAGE_CONFIG}' "
        f"ELSE CASE {primary} {branches} ELSE '{FALLBACK_CONFIG}' END END"
    )


def _weighted(config: str, title_sql: str, description_sql: str) -> str:
    return (
        f"setweight(to_tsvector('{config}'::regconfig, coalesce({title_sql}, '')), 'A') || "
        f"setweight(to_tsvector('{config}'::regconfig, coalesce({description_sql}, '')), 'B')"
    )


def pg_vector_sql(language_sql: str, title_sql: str, description_sql: str) -> str:
    """SQL text of a posting's weighted tsvector, immutable (literal configurations only),
    so PostgreSQL accepts it as a stored generated column."""
    primary = f"lower(split_part({language_sql}, '-', 1))"
    branches = " ".join(
        f"WHEN '{tag}' THEN {_weighted(cfg, title_sql, description_sql)}"
        for tag, cfg in sorted(PG_CONFIGS.items())
    )
    return (
        f"CASE WHEN {language_sql} IS NULL "
        f"THEN {_weighted(NULL_LANGUAGE_CONFIG, title_sql, description_sql)} "
        f"ELSE CASE {primary} {branches} "
        f"ELSE {_weighted(FALLBACK_CONFIG, title_sql, description_sql)} END END"
    )


def escape_like(value: Any) -> Any:
    """`value` (a string, or a column or SQL expression) with LIKE's wildcards escaped by
    a backslash, so a `%` or `_` typed by a visitor matches itself."""
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.replace(func.replace(func.replace(value, "\\", "\\\\"), "%", "\\%"), "_", "\\_")


def location_matches(location_column: Any, wanted: Any) -> Any:
    """The `location` filter: `wanted` equals the posting's location or one of its
    comma-separated parts, ignoring case ("berlin" finds "Berlin, Germany"; "germany" too).

    `wanted` is lower-cased and stripped already; a string or a column (a saved search's).
    """
    place = func.lower(location_column)
    like = escape_like(wanted)
    return or_(
        place == wanted,
        place.like(like + ",%", escape="\\"),
        place.like("%, " + like, escape="\\"),
        place.like("%, " + like + ",%", escape="\\"),
    )
