"""Templates compiled once per language, with their fixed messages already translated.

A candidate page shows a few dozen catalog messages. Translated while the page renders,
each costs a call through Jinja's context, a catalog lookup and a `Markup` (the
preference page spent more on that than on the rest of its template). Most of them are
fixed text: `{{ _("Language") }}`, or `{% trans %}…{% endtrans %}` without variables.
Their translation depends only on the language, so `PortalEnvironment` compiles each
template once per catalog (a Jinja overlay per language, sharing the loader, globals and
filters) with every fixed message replaced by its translation at compile time; Jinja
then folds it into the template's static text. Messages with variables, plurals and
contexts are still translated as the page renders (`portal.i18n`'s template callables).

The replacement gives exactly what the newstyle `gettext` would have: the translation
formatted with no variables (so `%%` reads `%`), marked safe in an autoescaped template.
A message whose formatting fails is left to the page, to fail there as it would have.
"""

from __future__ import annotations

from typing import Any, Final

from flask import has_request_context
from flask.templating import Environment
from jinja2 import Template, nodes

from portal.i18n import request_translations

# The template callables of a fixed message: `_("…")` and `gettext("…")` (`{% trans %}`).
_GETTEXT_NAMES: Final = frozenset({"_", "gettext"})
# Templates each language's overlay keeps compiled (the app's templates, with room).
_CACHE_SIZE: Final = 800


def _fixed_message(node: nodes.Node, catalog: Any) -> nodes.Node | None:
    """The translated constant that replaces `node`, when it is a fixed message's call."""
    if not (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name in _GETTEXT_NAMES
        and len(node.args) == 1
        and isinstance(node.args[0], nodes.Const)
        and isinstance(node.args[0].value, str)
        and not node.kwargs
        and node.dyn_args is None
        and node.dyn_kwargs is None
    ):
        return None
    try:
        text = catalog.ugettext(node.args[0].value) % {}
    except (TypeError, ValueError, KeyError):
        return None
    return nodes.MarkSafeIfAutoescape(nodes.Const(text, lineno=node.lineno), lineno=node.lineno)


def _translate_fixed_messages(node: nodes.Node, catalog: Any) -> None:
    """Replace every fixed message under `node` with its translation, in place."""
    for field in node.fields:
        value = getattr(node, field, None)
        if isinstance(value, nodes.Node):
            replacement = _fixed_message(value, catalog)
            if replacement is not None:
                setattr(node, field, replacement)
            else:
                _translate_fixed_messages(value, catalog)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if not isinstance(item, nodes.Node):
                    continue
                replacement = _fixed_message(item, catalog)
                if replacement is not None:
                    value[index] = replacement
                else:
                    _translate_fixed_messages(item, catalog)


class PortalEnvironment(Environment):
    """Flask's Jinja environment, handing out each template compiled for the request's
    language (see the module docstring). Outside a request, templates are the plain ones."""

    # Set on a language's overlay: the catalog its templates are compiled with.
    static_catalog: Any = None

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        if self.static_catalog is not None:
            _translate_fixed_messages(tree, self.static_catalog)
        return tree

    def for_catalog(self, catalog: Any) -> PortalEnvironment:
        """This environment's overlay for `catalog`, made on first use."""
        overlays: dict[int, tuple[Any, PortalEnvironment]] = self.__dict__.setdefault(
            "_overlays", {}
        )
        found = overlays.get(id(catalog))
        if found is None or found[0] is not catalog:
            overlay = self.overlay(cache_size=_CACHE_SIZE)
            overlay.static_catalog = catalog
            overlay.__dict__["_overlays"] = {}
            found = overlays[id(catalog)] = (catalog, overlay)  # the entry keeps the id its own
        return found[1]

    def get_template(
        self,
        name: str | Template,
        parent: str | None = None,
        globals: Any = None,
    ) -> Template:
        if self.static_catalog is None and not isinstance(name, Template) and has_request_context():
            return self.for_catalog(request_translations()).get_template(name, parent, globals)
        return super().get_template(name, parent, globals)
