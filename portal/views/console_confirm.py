"""The step a destructive console action takes before it acts; no blueprint of its own.

A button on a list posts without a confirmation: the view answers with a page that says
what will happen and asks for a box to be ticked (`ask`), and changes nothing. That page
posts again with ``step=confirm``; the action happens only when ``confirm=yes`` comes
with it (`confirmed`). With JavaScript, static/confirm.js asks in a dialog instead, and
its OK sends ``confirm=yes`` from the list at once. The macros that draw the step are in
templates/admin/_confirm.html, the page in templates/admin/_confirm_page.html.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request


def confirmed() -> bool:
    """Whether a destructive action's form carries its confirmation (a ticked box, or OK)."""
    return request.form.get("confirm") == "yes"


def ask(template: str, unticked: str, **context: Any) -> tuple[str, int]:
    """The confirmation page `template`, with the view's `context`; nothing has changed.

    First asked, it is a 200. Sent back from that page with its box left unticked, it
    says so with the message `unticked` (as `error`) and is a 400.
    """
    again = request.form.get("step") == "confirm"
    page = render_template(template, error=unticked if again else None, **context)
    return page, (400 if again else 200)
