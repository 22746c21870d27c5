"""Text of a .docx in reading order: headers, body (tables, text boxes...), then footers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn

_P = qn("w:p")
_TBL = qn("w:tbl")
_TR = qn("w:tr")
_TC = qn("w:tc")
_T = qn("w:t")
_TAB = qn("w:tab")
_BR = qn("w:br")
_CR = qn("w:cr")
_TXBX = qn("w:txbxContent")
_HYPERLINK = qn("w:hyperlink")
_SECT_PR = qn("w:sectPr")
_REL_ID = qn("r:id")
# Text boxes are written twice (DrawingML and a VML fallback); only the first copy is read.
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"


class _Collector:
    """Gathers lines until a character budget runs out."""

    def __init__(self, max_chars: int) -> None:
        self.lines: list[str] = []
        self.budget = max_chars

    @property
    def full(self) -> bool:
        return self.budget <= 0

    def add(self, line: str) -> None:
        if not self.full:
            self.lines.append(line)
            self.budget -= len(line) + 1


def docx_text(path: Path, *, max_chars: int) -> str:
    """Return the document's text, one line per paragraph, table rows joined with " | "."""
    document = docx.Document(str(path))
    main = document.part
    out = _Collector(max_chars)
    related = list(main.rels.values())
    headers = [r.target_part for r in related if r.reltype == RT.HEADER]
    footers = [r.target_part for r in related if r.reltype == RT.FOOTER]
    for part in headers:
        _blocks(part.element, part, out)
    _blocks(main.element.body, main, out)
    for part in footers:
        _blocks(part.element, part, out)
    return "\n".join(out.lines)


def _blocks(container: Any, part: Any, out: _Collector) -> None:
    for child in container.iterchildren():
        if out.full:
            return
        if child.tag == _P:
            out.add(_paragraph(child, part))
            for box in child.iter(_TXBX):
                if not any(True for _ in box.iterancestors(_FALLBACK)):
                    _blocks(box, part, out)
        elif child.tag == _TBL:
            _table(child, part, out)
        elif child.tag != _SECT_PR:
            # Content controls, custom XML and tracked insertions all wrap ordinary blocks.
            _blocks(child, part, out)


def _table(table: Any, part: Any, out: _Collector) -> None:
    for row in table.iterchildren(_TR):
        cells = list(row.iterchildren(_TC))
        simple = all(
            len(list(c.iterchildren(_P))) <= 1 and not any(True for _ in c.iterchildren(_TBL))
            for c in cells
        )
        if simple:
            texts = [_paragraph(p, part) for c in cells for p in c.iterchildren(_P)]
            out.add(" | ".join(t for t in texts if t.strip()))
        else:
            for cell in cells:
                _blocks(cell, part, out)


def _paragraph(p: Any, part: Any) -> str:
    pieces: list[str] = []
    for el in p.iter(_T, _TAB, _BR, _CR):
        if _inside_text_box(el, p):
            continue  # read separately, as its own block
        if el.tag == _T:
            pieces.append(el.text or "")
        elif el.tag == _TAB:
            pieces.append("\t")
        else:
            pieces.append("\n")
    text = "".join(pieces)
    for link in p.iter(_HYPERLINK):
        url = _link_url(link, part)
        if url and url not in text:
            text += " " + url
    return text


def _inside_text_box(el: Any, p: Any) -> bool:
    for ancestor in el.iterancestors():
        if ancestor is p:
            return False
        if ancestor.tag == _TXBX:
            return True
    return False


def _link_url(link: Any, part: Any) -> str | None:
    rel_id = link.get(_REL_ID)
    if not rel_id:
        return None
    rel = part.rels.get(rel_id)
    if rel is None or not rel.is_external:
        return None
    target: str = rel.target_ref
    return target
