"""Versioned consent wordings: each text a person agrees to, kept exactly as shown.

`wording_version(session, kind, locale, text)` returns the version id of that exact
text (kind and language included), making the version the first time the text is
seen. A changed text (new words in the settings, a new company name, a new
translation) gets a new version, numbered after the last of its kind and language;
an existing version is never rewritten (the ORM refuses updates). Consent events
store the id in `ConsentEvent.wording_version`, and `wording_texts` reads the words
back for the data export.

Versions are cached per process by (kind, locale, hash), so a page that records
consent pays one SELECT the first time it meets a text and nothing after.

Events recorded where no page showed a text (a one-click POST, a bounce, a complaint, a
recruiter's change, the API, a worker) name the version of their scope's default wording
in the candidate's language: `default_wording_version`, through the texts the portal
registers (`register_default_wordings`; `preferences` does not know the portal's words
or its settings). A process that registered none (a script using `preferences` alone)
records `NO_WORDING_VERSION`: it has no wording to name.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Iterable

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from preferences.clock import now
from preferences.models import ConsentScope, ConsentWording

# Kinds of consent text (ConsentWording.kind).
JOB_ALERTS = "job_alerts"
MASS_EMAIL = "mass_email"
SAVED_SEARCH = "saved_search"
PRIVACY_NOTICE = "privacy_notice"
RETENTION_STAY = "retention_stay"
KINDS = (JOB_ALERTS, MASS_EMAIL, SAVED_SEARCH, PRIVACY_NOTICE, RETENTION_STAY)
# The wording each consent scope is given under.
SCOPE_KINDS: dict[ConsentScope, str] = {
    ConsentScope.INTEREST: JOB_ALERTS,
    ConsentScope.MASS_EMAIL: MASS_EMAIL,
    ConsentScope.SAVED_SEARCH: SAVED_SEARCH,
    ConsentScope.RETENTION: RETENTION_STAY,
}
# What an event records when the process knows no wording for it (no texts registered, or
# none for its kind). Not a version: no `consent_wordings` row has it.
NO_WORDING_VERSION = "none"

# (kind, a language or None) -> (the language the text is in, the text shown by default),
# or None when there is no such text. The portal's: `portal.web.consent_texts`.
DefaultWordings = Callable[[str, str | None], tuple[str, str] | None]
_defaults: list[DefaultWordings] = []

# Per engine (a database): (kind, locale, sha256) -> version id. Weak, so a test's
# dropped database takes its versions with it.
_known: weakref.WeakKeyDictionary[Engine, dict[tuple[str, str, str], str]] = (
    weakref.WeakKeyDictionary()
)


def wording_hash(text: str) -> str:
    """SHA-256 of the text's UTF-8 bytes, as stored in `ConsentWording.sha256`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def wording_version(session: Session, kind: str, locale: str, text: str) -> str:
    """The version id of `text` as the `kind` consent wording in `locale`; made if new."""
    if kind not in KINDS:
        raise ValueError(f"unknown consent wording kind {kind!r}")
    digest = wording_hash(text)
    cache = _known.setdefault(session.get_bind().engine, {})
    key = (kind, locale, digest)
    known = cache.get(key)
    if known is not None:
        return known
    version = session.scalar(
        select(ConsentWording.version).where(
            ConsentWording.kind == kind,
            ConsentWording.locale == locale,
            ConsentWording.sha256 == digest,
        )
    )
    if version is None:
        # Not cached yet: the transaction that makes it may still roll back.
        return _make(session, kind, locale, text, digest)
    cache[key] = version
    return version


def _make(session: Session, kind: str, locale: str, text: str, digest: str) -> str:
    """Insert the next version of (kind, locale); a racing writer's row wins if it came first."""
    for _attempt in range(5):
        count = session.scalar(
            select(func.count())
            .select_from(ConsentWording)
            .where(ConsentWording.kind == kind, ConsentWording.locale == locale)
        )
        version = f"{kind}.{locale}.{int(count or 0) + 1}"
        try:
            with session.begin_nested():
                session.add(
                    ConsentWording(
                        version=version,
                        kind=kind,
                        locale=locale,
                        text=text,
                        sha256=digest,
                        created_at=now(),
                    )
                )
        except IntegrityError:
            made = session.scalar(
                select(ConsentWording.version).where(
                    ConsentWording.kind == kind,
                    ConsentWording.locale == locale,
                    ConsentWording.sha256 == digest,
                )
            )
            if made is not None:
                return made
            continue  # another text took this number first: count again
        return version
    raise RuntimeError(f"could not number a new {kind} wording in {locale}")


def wording_texts(session: Session, versions: Iterable[str]) -> dict[str, ConsentWording]:
    """The stored wordings of `versions` (unknown ones, such as pre-0019 labels, left out)."""
    wanted = sorted(set(versions))
    if not wanted:
        return {}
    rows = session.scalars(select(ConsentWording).where(ConsentWording.version.in_(wanted)))
    return {row.version: row for row in rows}


def register_default_wordings(texts: DefaultWordings) -> None:
    """Name the default consent texts by kind and language (replaces any registered before)."""
    _defaults[:] = [texts]


def forget_default_wordings() -> None:
    """Register no default texts again (tests; a process that is done with the portal's)."""
    _defaults.clear()


def default_wording_version(session: Session, scope: ConsentScope, locale: str | None) -> str:
    """The version of `scope`'s default wording in `locale` (None: the default language).

    `NO_WORDING_VERSION` when no texts are registered or there is none for the scope.
    Cheap once the version is cached: the text is worked out, hashed and looked up.
    """
    kind = SCOPE_KINDS.get(scope)
    if kind is None or not _defaults:
        return NO_WORDING_VERSION
    found = _defaults[0](kind, locale)
    if found is None:
        return NO_WORDING_VERSION
    language, text = found
    return wording_version(session, kind, language, text)


def forget_known_versions() -> None:
    """Empty the per-process cache (tests that recreate their database)."""
    _known.clear()
