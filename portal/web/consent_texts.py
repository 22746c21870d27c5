"""The consent texts the portal shows, and the version each is recorded under.

A person agrees to words: the job-alert box on the connect form and the preference
center, the mass-email box, a saved search's box, and the privacy notice link beside
them. Each text is the company's own (CONSENT_TEXTS, shown as written in every
language) or the default, translated into the page's language. A page shows a text from
`consent_text`, and the consent events it records name `ConsentText.version()`: the
version (`preferences.wordings.wording_version`) of exactly those words in that language,
so a changed setting, company name or translation is a new version and the words given
under an old one stay on record.

Events nobody was shown a text for (a one-click POST, a bounce, a recruiter's change, a
worker's) name the default wording of their scope in the candidate's language: `install`
registers `default_wording` with `preferences.wordings` for that, from the app factory
and from every command's settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from flask import current_app, has_app_context, has_request_context

from jobs.wording import N_
from mailer.i18n import matching_locale, translations
from portal.config import Settings
from portal.i18n import current_locale, request_translations, ui_default
from portal.web.runtime import EXTENSION_KEY, db, settings
from preferences.center import ShownWordings
from preferences.wordings import (
    JOB_ALERTS,
    MASS_EMAIL,
    PRIVACY_NOTICE,
    SAVED_SEARCH,
    register_default_wordings,
    wording_version,
)

# The defaults, in English (the catalogs translate them). CONSENT_TEXTS keys are the kinds.
JOB_ALERTS_TEXT: Final = N_(
    "Email me job alerts for the areas I selected. I can change how often, pause or "
    "unsubscribe from any alert email."
)
# `%(company)s` is COMPANY_NAME (`{company}` in a CONSENT_TEXTS text).
MASS_EMAIL_TEXT: Final = N_(
    "Yes, send me occasional emails about %(company)s, events and career "
    "opportunities. I can unsubscribe at any time."
)
SAVED_SEARCH_TEXT: Final = N_(
    "Email me new jobs that match this search. I can change how often, pause or stop "
    "these emails at any time."
)
# The words of the PRIVACY_URL link.
PRIVACY_NOTICE_TEXT: Final = N_("How we use your data")
DEFAULT_TEXTS: Final = {
    JOB_ALERTS: JOB_ALERTS_TEXT,
    MASS_EMAIL: MASS_EMAIL_TEXT,
    SAVED_SEARCH: SAVED_SEARCH_TEXT,
    PRIVACY_NOTICE: PRIVACY_NOTICE_TEXT,
}


@dataclass(frozen=True)
class ConsentText:
    """One consent text as a page shows it, in `locale`.

    `text` is the words shown; `recorded` what its version is of: the same words, and
    for the privacy notice its link too (`[words](PRIVACY_URL)`), since the notice a
    person was pointed to is part of what they were told.
    """

    kind: str
    locale: str
    text: str
    recorded: str

    def version(self) -> str:
        """The version of these words (made the first time they are recorded; cached)."""
        return wording_version(db(), self.kind, self.locale, self.recorded)


def _words(kind: str, catalog: Any, s: Settings, company: str | None) -> str:
    company = s.company_name if company is None else company
    own = s.consent_texts.get(kind)
    if own is not None:
        return own.format(company=company)
    text: str = catalog.ugettext(DEFAULT_TEXTS[kind])
    return text % {"company": company} if kind == MASS_EMAIL else text


def _text(kind: str, locale: str, catalog: Any, s: Settings, company: str | None) -> ConsentText:
    words = _words(kind, catalog, s, company)
    recorded = f"[{words}]({s.privacy_url})" if kind == PRIVACY_NOTICE else words
    return ConsentText(kind, locale, words, recorded)


def consent_text(kind: str, *, company: str | None = None) -> ConsentText:
    """The `kind` consent text in this request's language (`company`: for COMPANY_NAME)."""
    return _text(kind, current_locale(), request_translations(), settings(), company)


def shown_wordings() -> ShownWordings:
    """The versions of the preference center's texts (the alert boxes' and mass email's)."""
    return ShownWordings(
        job_alerts=consent_text(JOB_ALERTS).version(),
        mass_email=consent_text(MASS_EMAIL).version(),
    )


def privacy_notice() -> ConsentText | None:
    """The privacy notice link's text, or None when there is no PRIVACY_URL to link."""
    return consent_text(PRIVACY_NOTICE) if settings().privacy_url else None


# The settings `default_wording` reads outside an app context (a worker, a command).
_installed: list[Settings] = []
# (kind, language) -> (the settings it was worked out for, the default text).
_default_texts: dict[tuple[str, str], tuple[Settings, str]] = {}


def install(s: Settings) -> None:
    """Have consent events nobody was shown a text for name `s`'s default wordings."""
    _installed[:] = [s]
    register_default_wordings(default_wording)


def _current_settings() -> Settings | None:
    if has_app_context() and EXTENSION_KEY in current_app.extensions:
        return settings()
    return _installed[0] if _installed else None


def default_wording(kind: str, locale: str | None) -> tuple[str, str] | None:
    """(language, text) of the `kind` wording a page would show in `locale`.

    `locale` is the candidate's language: one the portal does not offer reads as the
    default language. Inside a request the page's own catalog is not used: the event
    is about the candidate, not about whoever made the request.
    """
    s = _current_settings()
    if s is None or kind not in DEFAULT_TEXTS:
        return None
    tag = matching_locale(locale, s.supported_locales) or ui_default(s)
    # The text depends only on the settings, the kind and the language: worked out once
    # per process (each one-click POST names it in its consent event).
    cached = _default_texts.get((kind, tag))
    if cached is not None and cached[0] is s:
        return tag, cached[1]
    catalog = translations(tag)
    if has_request_context() and tag == current_locale():
        catalog = request_translations()  # the same catalog, already looked up
    text = _text(kind, tag, catalog, s, None).recorded
    _default_texts[(kind, tag)] = (s, text)
    return tag, text
