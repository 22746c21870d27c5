"""Email rendering: MJML compiled once per template, then Jinja per recipient."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

from jinja2 import Environment, StrictUndefined, TemplateError, select_autoescape
from mjml import mjml2html

from mailer.errors import MailerError, TemplateNotFound

_TEMPLATE_PACKAGE = "templates_email"


@dataclass(frozen=True)
class RenderedEmail:
    """The parts of one rendered email."""

    subject: str
    text: str
    html: str


def _read(name: str) -> str:
    ref = resources.files(_TEMPLATE_PACKAGE).joinpath(name)
    if not ref.is_file():
        raise TemplateNotFound(name)
    return ref.read_text(encoding="utf-8")


class Renderer:
    """Renders email templates from `templates_email/`.

    Each template is three files: `NAME.mjml` (HTML body), `NAME.txt` (plain
    text) and `NAME.subject.txt`. The MJML compile is the slow step, so it runs
    once per template and process; per recipient only Jinja runs.
    """

    def __init__(self) -> None:
        self._html_env = Environment(
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
        )
        self._text_env = Environment(autoescape=False, undefined=StrictUndefined)  # noqa: S701 - plain text
        self._compiled: dict[str, tuple[Any, Any, Any]] = {}
        self._lock = threading.Lock()

    def _templates(self, name: str) -> tuple[Any, Any, Any]:
        with self._lock:
            cached = self._compiled.get(name)
            if cached is None:
                html = mjml2html(_read(f"{name}.mjml"))
                cached = (
                    self._text_env.from_string(_read(f"{name}.subject.txt").strip()),
                    self._text_env.from_string(_read(f"{name}.txt")),
                    self._html_env.from_string(html),
                )
                self._compiled[name] = cached
            return cached

    def render(self, name: str, context: dict[str, Any]) -> RenderedEmail:
        """Render template `name` for one recipient."""
        try:
            subject, text, html = self._templates(name)
            return RenderedEmail(
                subject=" ".join(subject.render(context).split()),
                text=text.render(context),
                html=html.render(context),
            )
        except TemplateError as exc:
            # Keep Jinja's errors inside the mailer's tree, so the worker records a
            # failed row instead of aborting the whole batch.
            raise MailerError(f"template {name!r} failed to render: {exc}") from exc
