"""HTML job descriptions (from an applicant tracking system) as our Markdown subset.

Keeps what `jobs.descriptions` renders: paragraphs, line breaks, bulleted and numbered
lists, bold, italic and http(s)/mailto links; headings become bold paragraphs. Every
other tag is dropped and its text kept, except script, style and the like, whose content
goes too. Text is escaped so that characters Markdown reads (`*`, `_`, `[`…) stay text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "main", "aside", "blockquote",
        "table", "tr", "pre", "figure", "figcaption", "dl", "dt", "dd", "hr", "address",
    }
)  # fmt: skip
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_DROPPED = frozenset(
    {"script", "style", "head", "title", "noscript", "template", "iframe", "svg", "object", "math"}
)
_BOLD = frozenset({"strong", "b"})
_ITALIC = frozenset({"em", "i"})
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_ESCAPED = re.compile(r"([\\`*_\[\]])")
_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+)([.)]?)")
_SPACE = re.compile(r"\s+")


def _escape(text: str) -> str:
    return _ESCAPED.sub(r"\\\1", text)


def _escape_line_start(match: re.Match[str]) -> str:
    """A line starting "#", ">", "-" or "1." would be a heading, quote or list: escape it."""
    space, mark, after = match.groups()
    if mark.isdigit():
        return f"{space}{mark}\\{after}" if after else match.group(0)
    return f"{space}\\{mark}{after}"


@dataclass
class _Inline:
    """Text collected inside bold, italic or a link, wrapped when the element ends."""

    tag: str
    href: str | None = None
    parts: list[str] = field(default_factory=list)


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.inline: list[_Inline] = []
        self.lists: list[list[int]] = []  # per open list: [next number, or 0 if bulleted]
        self.dropping = 0

    # --- output helpers ---

    def _text_so_far(self) -> str:
        return "".join(self.out)

    def _at_line_start(self) -> bool:
        text = self._text_so_far()
        return not text or text.endswith("\n") or bool(re.search(r"\n *(?:- |\d+\. )$", text))

    def _emit(self, text: str) -> None:
        if self.inline:
            self.inline[-1].parts.append(text)
        else:
            self.out.append(text)

    def _break_block(self) -> None:
        if self.inline:
            self._emit(" ")
            return
        if self.lists:
            # A paragraph inside a list item stays in the item.
            if not self._at_line_start():
                self.out.append(" ")
            return
        text = self._text_so_far()
        if text and not text.endswith("\n\n"):
            self.out.append("\n\n" if not text.endswith("\n") else "\n")

    # --- parser callbacks ---

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self.dropping += 1
            return
        if self.dropping:
            return
        if tag in _BLOCKS or tag in _HEADINGS:
            self._break_block()
            if tag in _HEADINGS:
                self.inline.append(_Inline("heading"))
        elif tag == "br":
            self._emit("\n" if not self.inline else " ")
        elif tag in ("ul", "ol"):
            if not self.lists:
                self._break_block()
            self.lists.append([1 if tag == "ol" else 0])
        elif tag == "li":
            self._list_item()
        elif tag in _BOLD or tag in _ITALIC:
            self.inline.append(_Inline("bold" if tag in _BOLD else "italic"))
        elif tag == "a":
            self.inline.append(_Inline("link", href=dict(attrs).get("href")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            return  # a self-closed <svg/> has no content to drop
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr"):
            self.handle_endtag(tag)

    def _list_item(self) -> None:
        if not self.lists:
            self.lists.append([0])
        current = self.lists[-1]
        marker = "- " if current[0] == 0 else f"{current[0]}. "
        if current[0]:
            current[0] += 1
        text = self._text_so_far()
        if text and not text.endswith("\n"):
            self.out.append("\n")
        self.out.append("    " * (len(self.lists) - 1) + marker)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping:
            return
        if tag in _HEADINGS:
            self._close_inline("heading")
            self._break_block()
        elif tag in _BLOCKS:
            self._break_block()
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self.out.append("\n")
            if not self.lists:
                self._break_block()
        elif tag in ("td", "th"):
            self._emit(" ")
        elif tag in _BOLD:
            self._close_inline("bold")
        elif tag in _ITALIC:
            self._close_inline("italic")
        elif tag == "a":
            self._close_inline("link")

    def _close_inline(self, kind: str) -> None:
        if not any(item.tag == kind for item in self.inline):
            return
        while self.inline:
            item = self.inline.pop()
            self._emit(_wrap(item))
            if item.tag == kind:
                return

    def handle_data(self, data: str) -> None:
        if self.dropping:
            return
        text = _SPACE.sub(" ", data)
        if not self.inline and self._at_line_start():
            text = text.lstrip()
        if not text:
            return
        text = _escape(text)
        if not self.inline and self._at_line_start():
            text = _LINE_START.sub(_escape_line_start, text)
        self._emit(text)

    def result(self) -> str:
        while self.inline:
            item = self.inline.pop()
            self._emit(_wrap(item))
        lines = [line.rstrip() for line in self._text_so_far().split("\n")]
        text = "\n".join(lines)
        return re.sub(r"\n{3,}", "\n\n", text).strip("\n").strip()


def _wrap(item: _Inline) -> str:
    """The element's text, marked up; spaces at its edges stay outside the markers."""
    inner = "".join(item.parts)
    stripped = inner.strip()
    if not stripped:
        return inner
    lead = " " if inner[0].isspace() else ""
    trail = " " if inner[-1].isspace() else ""
    if item.tag == "bold" or item.tag == "heading":
        return f"{lead}**{stripped}**{trail}"
    if item.tag == "italic":
        return f"{lead}*{stripped}*{trail}"
    href = _safe_href(item.href)
    if href is None:
        return inner
    return f"{lead}[{stripped}]({href}){trail}"


def _safe_href(href: str | None) -> str | None:
    if not href:
        return None
    href = href.strip()
    try:
        scheme = urlsplit(href).scheme.lower()
    except ValueError:
        return None
    if scheme not in _LINK_SCHEMES or any(c.isspace() or ord(c) < 32 for c in href):
        return None
    return href.replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def html_to_markdown(html: str) -> str:
    """The HTML fragment as Markdown of the subset job descriptions use."""
    converter = _Converter()
    converter.feed(html)
    converter.close()
    return converter.result()
