"""Job descriptions as a safe Markdown subset, rendered the same wherever a posting is shown.

Recruiters type descriptions in the console (the browser sends line breaks as CRLF,
which storage turns into LF) or import them. Blank lines separate paragraphs, lines
starting with "-", "*" or "1." make lists, a single line break stays a break, and
**bold**, *italic* and [links](https://…) work. HTML typed into a description is
shown as the text it is (escaped before Markdown reads it), and the allow-list
below keeps the result safe whatever `markdown` makes of the rest.
"""

from __future__ import annotations

import re

import markdown
import nh3
from markupsafe import Markup

ALLOWED_TAGS = frozenset(
    {"p", "br", "ul", "ol", "li", "strong", "em", "a", "h3", "h4", "blockquote", "code"}
)
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_LIST_ITEM = re.compile(r"\s{0,3}(?:[-*+]|\d{1,9}\.)\s+\S")


def _lists_start_blocks(text: str) -> str:
    """A blank line before a list that follows a line of text ("You will:" then "- …"),
    which is how people type lists and which Markdown would otherwise keep as text."""
    lines: list[str] = []
    for line in text.split("\n"):
        follows_text = bool(lines) and bool(lines[-1].strip()) and not _LIST_ITEM.match(lines[-1])
        if follows_text and _LIST_ITEM.match(line):
            lines.append("")
        lines.append(line)
    return "\n".join(lines)


def description_html(text: str) -> Markup:
    """The description as sanitized HTML: paragraphs, lists, emphasis and links."""
    normalised = _lists_start_blocks(text.replace("\r\n", "\n").replace("\r", "\n"))
    # "<" and "&" as text: typed markup is shown, not interpreted (">" still quotes).
    normalised = normalised.replace("&", "&amp;").replace("<", "&lt;")
    # nl2br: a single line break stays a break, as it was typed.
    rendered = markdown.markdown(normalised, extensions=["sane_lists", "nl2br"])
    cleaned = nh3.clean(
        rendered,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={"a": {"href", "title"}},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 - sanitized by the allow-list just above
