"""Email rendering: MJML compiled once per template, then Jinja per recipient.

Template NAME in the `templates_email` package is three files: `NAME.mjml`
(the HTML body), `NAME.txt` (the plain-text alternative) and
`NAME.subject.txt`. Files whose names start with `_` are partials shared by
several templates, never templates themselves (`_head.mjml`: fonts and
colours; `_header.mjml`: the brand bar; `_footer.mjml`: the address line of
transactional mail; `_bulk_footer.*`: see below):

- In MJML, `<mj-include path="_x.mjml" />` is replaced by the partial's source
  before the compile (one level, no nesting). mjml-python's own include loader
  is not used because it renders an included section without the body width
  (no 600px max-width, no Outlook table width).
- In text, `{% include "_x.txt" %}` is an ordinary Jinja include.

MJML runs before Jinja, and Jinja tags pass through the compile untouched in
text content, in attribute values and in `<mj-raw>` (the place for block tags
such as `{% for %}` between MJML elements). Jinja expressions inside attribute
values must not contain double quotes. The HTML is autoescaped; text and
subject are not, and the subject is collapsed to one line without control characters
(`preferences.text.scrub_text`).

Preheader (the inbox preview line): a `display:none` div in `<mj-raw>` at the
top of `<mj-body>`, never `<mj-preview>`. mjml-python writes the preview in
white on the body's light grey, which SpamAssassin scores as hidden text
(HTML_FONT_LOW_CONTRAST); `tests/mailer/test_spam_score.py` scores every
template.

Context. The worker supplies `company_name`, `base_url`, `postal_address` and
`first_name` (empty until the reader's address is confirmed, so a name typed into
a form never reaches an unconfirmed address) to every template; the code that
queues a message adds the rest:

- `confirmation`: `confirm_url`, `interests` (list of names), `mass_email`
  (whether confirming also opts in to mass email; rows queued before it default
  to false), `preferences_url` (Manage your email preferences; left out for rows
  queued before it). Goes to an unconfirmed address, so it greets without a name.
- `connect_existing`: `confirm_url` (empty for a `verified` notice), `interests`
  (names turned on, or to confirm), `mass_email`, `resume_added` (notice only),
  `verified`.
- `login_link`: `login_url`. `preference_link`: `preferences_url`.
- `saved_search_confirm`: `confirm_url`, `search_description` (the search in words,
  in the email's language: the queuing code translates it),
  `search_frequency` (instant, daily or weekly). Goes to an address that may be
  unconfirmed, so it greets without a name.
- `welcome`: `preferences_url`, as in `confirmation`. `account_deleted`: nothing
  more. `resume_nudge`: `dashboard_url`.
- `repermission` (queued by the retention run, `mailer.retention`): `keep_url` (the
  signed "Keep me" page, `LinkPurpose.STAY`), `preferences_url`, `expires_on` (the
  day the candidate is anonymized if they do nothing, an ISO date string shown with
  the `date` filter) and `reminder` (true for the reminder before expiry: another
  subject and first paragraph). Transactional: no unsubscribe footer.
- `job_alert`: `jobs` (at most 10 dicts with `title`, `location` (may be
  empty), `url` and `matched`, a list of interest names), `more_count` (further
  matches not shown) and `more_url`, plus the bulk footer.
- `campaign`: `subject`, `body_html`, `body_text`, plus the bulk footer.
  `body_html` is inserted unescaped: the caller must sanitize it first.

Bulk footer (`_bulk_footer.mjml` and `_bulk_footer.txt`, in `job_alert` and
`campaign`): `reason` (one sentence saying why the reader gets this email,
e.g. "You subscribed to job alerts for Data Science at Acme."),
`preferences_url` (Manage preferences), `unsubscribe_url` (Unsubscribe), and
`company_name` with `postal_address` (CAN-SPAM).

Every variable a template uses is required (StrictUndefined): a missing one
raises MailerError, so bulk mail cannot go out without its footer.

Languages. `render(name, context, locale)` writes the email in `locale`; one not
among the renderer's `locales` (SUPPORTED_LOCALES, from `MailSettings.locales`),
or without a catalog, is English, and "es-MX" is Spanish. The worker chooses the
locale of each row (`mailer.i18n.message_locale`): the candidate's
`Candidate.locale` when the row has a candidate, else the `locale` key of the
row's context (stored by the code that queued it for an address without a
candidate: the farewell to an erased account, or `portal.i18n.current_locale()`
for mail queued in a request), else English.

Each locale has its own HTML and text Jinja environments with `jinja2.ext.i18n`
and that locale's catalog installed (`mailer.i18n.translations`: the portal's
compiled catalogs, loaded once per process; English is the source and has none),
created on first use under the lock; the MJML output is shared, so MJML still
compiles once per template whatever the number of locales. Mark text with
`{% trans %}…{% endtrans %}` (variables as simple names: `{% trans names=interests
|join(list_comma) %}`; counts with `{% pluralize count %}` and the number shown as
`num=count|number`, the placeholder a plural form may leave out). Trans blocks are
Jinja tags, so they go where the other tags do: in `<mj-text>`, `<mj-title>`,
`<mj-button>` text and `<mj-raw>`, never around MJML elements. Untrimmed blocks
keep their line breaks, which the text parts use for their wrapping. Where the words
a page uses for the same English do not fit an email's use, the email gives its
message a context: `{{ pgettext('email footer', 'Unsubscribe') }}` (a footer link,
not the unsubscribe page's button; `pgettext(context, text, name=value)` with
`%(name)s` placeholders).

Every environment also has, for its locale: `html_lang`; `html_dir` ("rtl" for a
right-to-left language, else "auto", as mjml-python writes by default) for
`<mjml lang dir>`; `text_direction` ("ltr"/"rtl", for mj-section and mj-column),
`text_align` ("left"/"right", for mj-text), `start_side` (for list padding),
`list_comma` and `list_semicolon` (", " and "; ", or the locale's own, to join names);
and filters `number` (Babel's decimal format), `date(tz)` and `datetime(tz)`
(Babel's medium formats, moved to the time zone `tz`, e.g. a schedule's; `date`
also reads an ISO date string, as a JSON context stores a day), and
`ltr`, which in right-to-left text parts wraps a URL in Unicode isolates
(U+2066 … U+2069) so it keeps its order (no direction marks around sentences).
Prose that Python builds into the context (the footer `reason`) is translated
by the code that builds it, with `mailer.i18n.translations(locale)`.

Shared renders (`render_shared`, for bulk mail). The readers of one digest or
campaign get the same email but for a few personal values (`PERSONAL_KEYS`: the
greeting's name and the two footer links). Seen twice, the rest of such a context
(with the template, the locale and which personal values are empty) is rendered
once with random markers in place of the personal values, and each later reader's
email is those parts with their values put in (HTML-escaped in the HTML), the
same text a full render writes: a digest's job cards are rendered once per process,
not once per reader. So a template may print a personal value, as is or through
`ltr`, and test whether it is empty, but not transform it (`upper`, `length`,
`safe`, …): each shared render is made twice with different markers and used only
if the two agree, else that context renders in full every time. At most
`SHARED_RENDERS` renders are kept (least recently used go first). Such an email names
the text before its first personal value (`text_prefix`, `html_prefix`), which
`mailer.message` then base64-encodes once for all its readers.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from jinja2 import (
    Environment,
    FunctionLoader,
    StrictUndefined,
    Template,
    TemplateError,
    select_autoescape,
)
from markupsafe import escape
from mjml import mjml2html

from mailer.errors import MailerError, TemplateNotFound
from mailer.i18n import (
    DEFAULT_LOCALES,
    SOURCE_LOCALE,
    format_day,
    format_moment,
    format_number,
    is_right_to_left,
    list_separators,
    supported_locale,
    translations,
)
from preferences.text import scrub_text

TEMPLATE_PACKAGE = "templates_email"
# Names are plain words, so no name can reach a file outside the package.
_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_PARTIAL_NAME = re.compile(r"_[A-Za-z0-9_-]+\.(?:mjml|txt)")
_MJ_INCLUDE = re.compile(r'<mj-include\s+path="([^"]*)"\s*/>')


@dataclass(frozen=True)
class RenderedEmail:
    """The parts of one rendered email."""

    subject: str
    text: str
    html: str
    # A start of `text` and of `html` that other emails share (a shared render's text
    # before its first personal value): `mailer.message` encodes it once. Hints, not
    # content: an email equals the same text and HTML without them.
    text_prefix: str = field(default="", compare=False, repr=False)
    html_prefix: str = field(default="", compare=False, repr=False)


def _one_line(subject: str) -> str:
    # scrub_text: a control character that reached a stored value before the stored-text
    # rule must not fail every message (`message` refuses it).
    return " ".join(scrub_text(subject).split())


def _read(package: str, filename: str) -> str:
    ref = resources.files(package).joinpath(filename)
    if not ref.is_file():
        raise TemplateNotFound(filename)
    return ref.read_text(encoding="utf-8")


def _read_partial(package: str, filename: str, suffix: str) -> str:
    if not _PARTIAL_NAME.fullmatch(filename) or not filename.endswith(suffix):
        raise TemplateNotFound(filename)
    return _read(package, filename)


def _inline_includes(package: str, mjml_source: str) -> str:
    """Replace each `<mj-include path="_x.mjml" />` with that partial's MJML."""
    return _MJ_INCLUDE.sub(lambda m: _read_partial(package, m.group(1), ".mjml"), mjml_source)


# Context values of bulk mail that differ from reader to reader (see "Shared renders").
PERSONAL_KEYS: tuple[str, ...] = ("first_name", "unsubscribe_url", "preferences_url")
SHARED_RENDERS = 256


# Mail to the company's own staff, written in English like the console and always queued
# with the source locale: not in the candidates' catalogs.
STAFF_TEMPLATES: frozenset[str] = frozenset({"webhook_disabled"})


def template_names(package: str = TEMPLATE_PACKAGE) -> list[str]:
    """Names of every template in `package`, sorted (partials excluded)."""
    return sorted(
        ref.name.removesuffix(".mjml")
        for ref in resources.files(package).iterdir()
        if ref.name.endswith(".mjml") and _TEMPLATE_NAME.fullmatch(ref.name.removesuffix(".mjml"))
    )


@dataclass
class _Compiled:
    """One template after the MJML compile: Jinja sources, and their templates per locale."""

    subject: str
    text: str
    html: str
    by_locale: dict[str, tuple[Template, Template, Template]] = field(default_factory=dict)


def _wrap_ltr(value: object) -> str:
    # First-strong isolate: a URL or an address keeps its left-to-right order inside
    # right-to-left text, without forcing the direction of the sentence around it.
    return f"\u2066{value}\u2069"


def _keep(value: object) -> object:
    return value


# Types a shared render's key may hold: their equality is equality of what they print.
_PLAIN = (str, int, float, bool, type(None))


def _freeze(value: object) -> object:
    """A hashable, exact stand-in for a context value; raises TypeError for any other type."""
    if isinstance(value, _PLAIN):
        # The type too: Markup("<b>") prints unescaped, "<b>" escaped; 1 and True print apart.
        return (type(value), value)
    if isinstance(value, list | tuple):
        return (type(value), tuple(_freeze(v) for v in value))
    if isinstance(value, dict):
        return (dict, tuple((k, _freeze(v)) for k, v in value.items()))
    raise TypeError(type(value).__name__)


@dataclass(frozen=True)
class _Shared:
    """A rendered email as pieces: literal text, and between them the personal keys."""

    subject: tuple[str, ...]
    text: tuple[str, ...]
    html: tuple[str, ...]

    @staticmethod
    def fill(pieces: tuple[str, ...], values: Mapping[str, str]) -> str:
        # Odd pieces are keys: re.split with one capturing group.
        return "".join(values[p] if n % 2 else p for n, p in enumerate(pieces))


_UNSAFE = object()


class Renderer:
    """Renders email templates from `templates_email/` (or another package of templates).

    The MJML compile is the slow step, so it runs once per template and
    process; per recipient only Jinja runs. Each locale has its own pair of Jinja
    environments with that locale's catalog installed (loaded once), so rendering
    for many recipients in many languages never loads a catalog per message.
    """

    def __init__(
        self, package: str = TEMPLATE_PACKAGE, locales: Collection[str] = DEFAULT_LOCALES
    ) -> None:
        self._package = package
        self._locales = tuple(locales)
        self._environments: dict[str, tuple[Environment, Environment]] = {}
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()
        # Shared renders (render_shared): contexts seen once, and those rendered shared.
        self._seen: set[object] = set()
        self._shared: OrderedDict[object, _Shared | object] = OrderedDict()

    def _load_text_partial(self, filename: str) -> str | None:
        # Jinja's loader protocol: None means "not found" and becomes a TemplateError.
        try:
            return _read_partial(self._package, filename, ".txt")
        except TemplateNotFound:
            return None

    def _make_environments(self, locale: str) -> tuple[Environment, Environment]:
        """The HTML and text environments of `locale` (call with the lock held)."""
        # No loader for HTML: an include in the HTML would skip the MJML compile.
        html_env = Environment(
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
        )
        text_env = Environment(
            autoescape=False,  # noqa: S701 - plain text and subject, never HTML
            undefined=StrictUndefined,
            loader=FunctionLoader(self._load_text_partial),
            extensions=["jinja2.ext.i18n"],
        )
        rtl = is_right_to_left(locale)
        catalog = translations(locale)
        comma, semicolon = list_separators(locale)
        for env in (html_env, text_env):
            env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
            env.globals.update(
                locale=locale,
                html_lang=locale,
                # "auto" for left-to-right languages: what mjml-python writes by default.
                html_dir="rtl" if rtl else "auto",
                text_direction="rtl" if rtl else "ltr",
                text_align="right" if rtl else "left",
                start_side="right" if rtl else "left",
                list_comma=comma,
                list_semicolon=semicolon,
            )
            env.filters["number"] = lambda value, _l=locale: format_number(value, _l)
            env.filters["date"] = lambda value, tz=None, _l=locale: format_day(value, _l, tz)
            env.filters["datetime"] = lambda value, tz=None, _l=locale: format_moment(value, _l, tz)
        html_env.filters["ltr"] = _keep
        text_env.filters["ltr"] = _wrap_ltr if rtl else _keep
        return html_env, text_env

    def _compile(self, name: str) -> _Compiled:
        if not _TEMPLATE_NAME.fullmatch(name):
            raise TemplateNotFound(f"{name}.mjml")
        source = _inline_includes(self._package, _read(self._package, f"{name}.mjml"))
        try:
            html = mjml2html(source)
        except ValueError as exc:
            raise MailerError(f"template {name!r} is not valid MJML: {exc}") from exc
        return _Compiled(
            subject=_read(self._package, f"{name}.subject.txt").strip(),
            text=_read(self._package, f"{name}.txt"),
            html=html,
        )

    def _templates(self, name: str, locale: str) -> tuple[Template, Template, Template]:
        with self._lock:
            compiled = self._compiled.get(name)
            if compiled is None:
                compiled = self._compiled[name] = self._compile(name)
            templates = compiled.by_locale.get(locale)
            if templates is None:
                envs = self._environments.get(locale)
                if envs is None:
                    envs = self._environments[locale] = self._make_environments(locale)
                html_env, text_env = envs
                templates = compiled.by_locale[locale] = (
                    text_env.from_string(compiled.subject),
                    text_env.from_string(compiled.text),
                    html_env.from_string(compiled.html),
                )
            return templates

    def render(
        self, name: str, context: dict[str, Any], locale: str = SOURCE_LOCALE
    ) -> RenderedEmail:
        """Render template `name` for one recipient, in `locale` (unsupported: English)."""
        locale = supported_locale(locale, self._locales)
        subject, text, html = self._render_parts(name, context, locale)
        return RenderedEmail(subject=_one_line(subject), text=text, html=html)

    def _render_parts(
        self, name: str, context: Mapping[str, Any], locale: str
    ) -> tuple[str, str, str]:
        """Subject (before it is made one line), text and HTML of `name` in a supported locale."""
        try:
            subject, text, html = self._templates(name, locale)
            return subject.render(context), text.render(context), html.render(context)
        except TemplateError as exc:
            # Keep Jinja's errors inside the mailer's tree, so the worker records a
            # failed row instead of aborting the whole batch.
            raise MailerError(f"template {name!r} failed to render: {exc}") from exc

    def render_shared(
        self,
        name: str,
        context: dict[str, Any],
        locale: str = SOURCE_LOCALE,
        personal: tuple[str, ...] = PERSONAL_KEYS,
    ) -> RenderedEmail:
        """`render`, reusing one render for every reader whose context differs only in the
        `personal` values (module docstring, "Shared renders"). Returns the same email."""
        locale = supported_locale(locale, self._locales)
        values = {k: v for k in personal if type(v := context.get(k)) is str and v}
        if not values:
            return self.render(name, context, locale)
        rest = {k: v for k, v in context.items() if k not in values}
        try:
            key: object = (name, locale, tuple(values), _freeze(rest))
            hash(key)
        except TypeError:
            return self.render(name, context, locale)
        first = False
        with self._lock:
            shared = self._shared.get(key)
            if shared is not None:
                self._shared.move_to_end(key)
            elif key not in self._seen:
                # Seen once: a context no other reader shares costs no more than before.
                if len(self._seen) >= 16 * SHARED_RENDERS:
                    self._seen.clear()
                self._seen.add(key)
                first = True
        if first:
            return self.render(name, context, locale)
        if shared is None:
            shared = self._make_shared(name, rest, tuple(values), locale)
            with self._lock:
                self._seen.discard(key)
                self._shared[key] = shared
                if len(self._shared) > SHARED_RENDERS:
                    self._shared.popitem(last=False)
        if not isinstance(shared, _Shared):
            return self.render(name, context, locale)
        escaped = {k: str(escape(v)) for k, v in values.items()}
        return RenderedEmail(
            subject=_one_line(_Shared.fill(shared.subject, values)),
            text=_Shared.fill(shared.text, values),
            html=_Shared.fill(shared.html, escaped),
            text_prefix=shared.text[0],
            html_prefix=shared.html[0],
        )

    def _make_shared(
        self, name: str, rest: dict[str, Any], keys: tuple[str, ...], locale: str
    ) -> _Shared | object:
        """The pieces of `name` rendered with markers for `keys`; `_UNSAFE` if the template
        does more with a personal value than print it."""
        renders = []
        for _ in range(2):
            # Letters and digits only: escaping, `ltr` and translations leave them whole.
            markers = {k: f"m{secrets.token_hex(10)}" for k in keys}
            parts = self._render_parts(name, {**rest, **markers}, locale)
            pattern = re.compile("(" + "|".join(markers.values()) + ")")
            by_marker = {m: k for k, m in markers.items()}
            renders.append(
                tuple(
                    tuple(by_marker[p] if n % 2 else p for n, p in enumerate(pattern.split(part)))
                    for part in parts
                )
            )
        if renders[0] != renders[1]:
            return _UNSAFE
        subject, text, html = renders[0]
        return _Shared(subject=subject, text=text, html=html)
