"""Page parts rendered once per language and shape, then filled in for each request.

Some parts of a page are the same on every page of a kind but for one or two values of
the request: the footer's language menu differs only by the page's own address, the
language form only by where it posts and its token. Rendering them from their templates
on every request is most of what a busy page (the preference center) spends on them, so
`fragment` renders each once per catalog and shape, with a marker where each of those
values goes, and each request puts its values (escaped) in place of the markers.

The template stays the one place the HTML is written; what differs between requests
must be a `values` entry, and everything else the part shows belongs in its `shape`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, Final

from flask import current_app, render_template
from markupsafe import Markup, escape

# A marker is no text a template could produce from its shape: NUL never is.
_MARK: Final = "\x00{}\x00"
# Rendered parts kept per process: (catalog, Jinja environment, text) by their ids and
# the part's name and shape. A few languages times a few shapes; more means many apps
# in one process (tests), and the oldest are dropped then.
_LIMIT: Final = 512
_RENDERED: dict[tuple[int, int, str, Hashable], tuple[Any, Any, str]] = {}


def fragment(
    template: str,
    shape: tuple[tuple[str, Hashable], ...],
    values: Mapping[str, str],
    *,
    catalog: Any,
) -> Markup:
    """`template` rendered with the `shape` variables and the request's `values`.

    `shape` is every variable that changes what the part looks like (hashable, so the
    rendering is kept for it); `values` are the request's own, substituted escaped.
    `catalog` is the request's (`portal.i18n.request_translations`): the part is kept
    per catalog, as its words are in that catalog's language.
    """
    env = current_app.jinja_env
    key = (id(catalog), id(env), template, shape)
    found = _RENDERED.get(key)
    if found is None or found[0] is not catalog or found[1] is not env:
        marked = {name: Markup(_MARK.format(name)) for name in values}  # noqa: S704
        text = render_template(template, **dict(shape), **marked)
        if len(_RENDERED) >= _LIMIT:
            _RENDERED.pop(next(iter(_RENDERED)))
        found = _RENDERED[key] = (catalog, env, text)
    text = found[2]
    for name, value in values.items():
        text = text.replace(_MARK.format(name), str(escape(value)))
    return Markup(text)  # noqa: S704 - autoescaped template output, values escaped above
