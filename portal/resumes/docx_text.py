"""Text of a .docx in reading order: headers, body (tables, text boxes...), then footers.

The name block is read first, wherever it sits: the first paragraph in Word's Title style,
else the paragraph with the largest type (at least 14 pt, and larger than any other) among
the first body paragraphs.

The parts are streamed out of the zip through lxml's `iterparse`: each top-level block
(a paragraph, a table, a content control) is read when it closes, then cleared, so
memory holds one block at a time instead of the whole document. XML elements and
decompressed bytes are counted over all parts; past either cap, reading stops and the
text read so far is kept.
"""

from __future__ import annotations

import logging
import posixpath
import zipfile
from pathlib import Path
from typing import IO, Any

from lxml import etree

from portal.errors import PortalError

log = logging.getLogger(__name__)

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P = _W + "p"
_TBL = _W + "tbl"
_TR = _W + "tr"
_TC = _W + "tc"
_T = _W + "t"
_TAB = _W + "tab"
_BR = _W + "br"
_CR = _W + "cr"
_TXBX = _W + "txbxContent"
_HYPERLINK = _W + "hyperlink"
_SECT_PR = _W + "sectPr"
_BODY = _W + "body"
_PPR = _W + "pPr"
_PSTYLE = _W + "pStyle"
_SZ = _W + "sz"
_VAL = _W + "val"
_STYLE = _W + "style"
_NAME = _W + "name"
_STYLE_ID = _W + "styleId"
STYLES_PART = "word/styles.xml"
# The name block: Word's built-in Title style, or a run this large (half-points) near the top.
TITLE_STYLE = "Title"
_MIN_TITLE_HALF_POINTS = 28
_TITLE_WINDOW = 15
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
# Text boxes are written twice (DrawingML and a VML fallback); only the first copy is read.
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
MAIN_PART = "word/document.xml"
# A relationships part lists a few dozen targets; this is far more than any needs.
_MAX_RELS_BYTES = 1024 * 1024


class _CapReached(PortalError):
    """The document has more XML than the caps allow; the text read so far stands."""


class _Collector:
    """Gathers lines until a character budget runs out."""

    def __init__(self, max_chars: int) -> None:
        self.lines: list[str] = []
        self.budget = max_chars
        self.title_styles: frozenset[str] = frozenset({TITLE_STYLE})
        self.in_body = False
        self.body_paragraphs = 0
        self.titled: int | None = None  # line index of the first Title-style paragraph
        self.sizes: list[tuple[int, int]] = []  # (half-points, line index), top of the body

    def paragraph(self, p: Any, line: str) -> None:
        """Add a paragraph's line, noting whether it is a Title or has large type."""
        if self.in_body and line.strip() and not self.full:
            self.body_paragraphs += 1
            style = p.find(f"{_PPR}/{_PSTYLE}")
            if self.titled is None and style is not None and style.get(_VAL) in self.title_styles:
                self.titled = len(self.lines)
            elif self.body_paragraphs <= _TITLE_WINDOW:
                sizes = [_int(sz.get(_VAL)) for sz in p.iter(_SZ)]
                if sizes:
                    self.sizes.append((max(sizes), len(self.lines)))
        self.add(line)

    def title_first(self) -> list[str]:
        """The lines with the name block moved to the front."""
        at = self.titled
        if at is None and self.sizes:
            ranked = sorted(self.sizes, reverse=True)
            top = ranked[0][0]
            runner_up = ranked[1][0] if len(ranked) > 1 else 0
            if top >= _MIN_TITLE_HALF_POINTS and top > runner_up:
                at = ranked[0][1]
        if not at:
            return self.lines
        return [self.lines[at], *self.lines[:at], *self.lines[at + 1 :]]

    @property
    def full(self) -> bool:
        return self.budget <= 0

    def add(self, line: str) -> None:
        if not self.full:
            self.lines.append(line)
            self.budget -= len(line) + 1


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


class _Meter:
    """Counts elements and bytes over every part read from one document."""

    def __init__(self, max_elements: int, max_bytes: int) -> None:
        self.elements_left = max_elements
        self.bytes_left = max_bytes
        self.capped = ""

    def element(self) -> None:
        self.elements_left -= 1
        if self.elements_left < 0:
            self.capped = "element cap"
            raise _CapReached(self.capped)


class _MeteredReader:
    """A zip member as the XML parser reads it; ends the stream at the byte cap."""

    def __init__(self, raw: IO[bytes], meter: _Meter) -> None:
        self._raw = raw
        self._meter = meter

    def read(self, size: int = -1) -> bytes:
        if self._meter.bytes_left <= 0:
            self._meter.capped = "byte cap"
            return b""  # the parser then stops on an unfinished document
        want = self._meter.bytes_left if size < 0 else min(size, self._meter.bytes_left)
        data = self._raw.read(want)
        self._meter.bytes_left -= len(data)
        return data


def docx_text(
    path: Path,
    *,
    max_chars: int,
    max_elements: int = 100_000,
    max_xml_bytes: int = 16 * 1024 * 1024,
) -> str:
    """Return the document's text, one line per paragraph, table rows joined with " | "."""
    out = _Collector(max_chars)
    meter = _Meter(max_elements, max_xml_bytes)
    with zipfile.ZipFile(path) as zf:
        try:
            related = _relationships(zf, MAIN_PART, meter)
            headers = [t for kind, t in related if kind == "header"]
            footers = [t for kind, t in related if kind == "footer"]
            out.title_styles = _title_styles(zf, meter)
            for part in headers:
                _stream_part(zf, part, out, meter, body=False)
            out.in_body = True
            _stream_part(zf, MAIN_PART, out, meter, body=True)
            out.in_body = False
            for part in footers:
                _stream_part(zf, part, out, meter, body=False)
        except _CapReached:
            log.info("DOCX text cut short at the %s: %s", meter.capped, path.name)
    return "\n".join(out.title_first())


def _title_styles(zf: zipfile.ZipFile, meter: _Meter) -> frozenset[str]:
    """The style ids of Word's built-in Title style ("Title", or "Titel" in a German Word):
    its w:name is "Title" in every language."""
    ids = {TITLE_STYLE}
    try:
        info = zf.getinfo(STYLES_PART)
    except KeyError:
        return frozenset(ids)
    if info.file_size > _MAX_RELS_BYTES:
        return frozenset(ids)
    with zf.open(info) as fh:
        data = fh.read(_MAX_RELS_BYTES)
    meter.bytes_left -= len(data)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return frozenset(ids)
    for style in root.iter(_STYLE):
        meter.element()
        name = style.find(_NAME)
        if name is not None and (name.get(_VAL) or "").casefold() == TITLE_STYLE.casefold():
            ids.add(style.get(_STYLE_ID) or TITLE_STYLE)
    return frozenset(ids)


def _rels_name(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _relationships(zf: zipfile.ZipFile, part: str, meter: _Meter) -> list[tuple[str, str]]:
    """(kind, target) of a part's relationships, in file order.

    kind is "header" or "footer" with the target's part name, or "link" with an external
    hyperlink's URL; other relationships are left out.
    """
    name = _rels_name(part)
    try:
        info = zf.getinfo(name)
    except KeyError:
        return []
    if info.file_size > _MAX_RELS_BYTES:
        return []
    with zf.open(info) as fh:
        data = fh.read(_MAX_RELS_BYTES)
    meter.bytes_left -= len(data)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(data, parser)
    found: list[tuple[str, str]] = []
    folder = posixpath.dirname(part)
    for rel in root.iter(_RELATIONSHIP):
        meter.element()
        kind = (rel.get("Type") or "").rpartition("/")[2]
        target = rel.get("Target") or ""
        external = rel.get("TargetMode") == "External"
        if kind == "hyperlink" and external:
            found.append((f"link:{rel.get('Id')}", target))
        elif kind in ("header", "footer") and not external and target:
            # A target starting with "/" is from the package root, else from the part's folder.
            joined = target.lstrip("/") if target.startswith("/") else f"{folder}/{target}"
            found.append((kind, posixpath.normpath(joined)))
    return found


def _stream_part(
    zf: zipfile.ZipFile, part: str, out: _Collector, meter: _Meter, *, body: bool
) -> None:
    """Read the blocks of one part: the children of w:body, or of a header's or footer's root."""
    try:
        info = zf.getinfo(part)
    except KeyError:
        if body:
            raise
        return  # a header named in the relationships but missing from the zip
    links = {
        kind[5:]: target for kind, target in _relationships(zf, part, meter) if kind[:5] == "link:"
    }
    with zf.open(info) as raw:
        source = _MeteredReader(raw, meter)
        events = etree.iterparse(
            source,
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
        )
        container: Any = None
        container_depth = 0
        depth = 0
        try:
            for event, el in events:
                if event == "start":
                    depth += 1
                    meter.element()
                    if container is None and (el.tag == _BODY if body else depth == 1):
                        container, container_depth = el, depth
                    continue
                if container is not None and depth == container_depth + 1:
                    _block(el, links, out)
                    # Done with this block: free it and whatever came before it.
                    el.clear()
                    while el.getprevious() is not None:
                        del container[0]
                    if out.full:
                        return
                depth -= 1
        except etree.XMLSyntaxError:
            if meter.capped:
                raise _CapReached(meter.capped) from None
            raise


def _blocks(container: Any, links: dict[str, str], out: _Collector) -> None:
    for child in container.iterchildren():
        if out.full:
            return
        _block(child, links, out)


def _block(child: Any, links: dict[str, str], out: _Collector) -> None:
    if child.tag == _P:
        if not len(child):
            out.add("")  # an empty paragraph: nothing inside to look at
            return
        out.paragraph(child, _paragraph(child, links))
        for box in child.iter(_TXBX):
            if not any(True for _ in box.iterancestors(_FALLBACK)):
                _blocks(box, links, out)
    elif child.tag == _TBL:
        _table(child, links, out)
    elif child.tag != _SECT_PR and isinstance(child.tag, str):
        # Content controls, custom XML and tracked insertions all wrap ordinary blocks.
        _blocks(child, links, out)


def _table(table: Any, links: dict[str, str], out: _Collector) -> None:
    for row in table.iterchildren(_TR):
        cells = list(row.iterchildren(_TC))
        simple = all(
            len(list(c.iterchildren(_P))) <= 1 and not any(True for _ in c.iterchildren(_TBL))
            for c in cells
        )
        if simple:
            texts = [_paragraph(p, links) for c in cells for p in c.iterchildren(_P)]
            out.add(" | ".join(t for t in texts if t.strip()))
        else:
            for cell in cells:
                _blocks(cell, links, out)


def _paragraph(p: Any, links: dict[str, str]) -> str:
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
        url = links.get(link.get(_REL_ID) or "")
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
