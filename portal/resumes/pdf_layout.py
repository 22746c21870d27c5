"""Reading order of a PDF page from pdfminer.six's layout analysis.

pdfminer groups the glyphs of a page into text lines with positions and font sizes;
this module puts those lines in the order a person reads them: lines that span the
whole width (a header band, a footer) where they stand, and between them a left
column before a right one when the page has a gutter. The line set in the largest
type near the top of the first page (the name block of nearly every resume) is
moved to the front, whichever column it sits in. Letter-spaced lines
("J O H N   D O E") are rebuilt from the glyph positions.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LAParams, LTChar, LTPage, LTTextLine

# Columns: a gutter must leave this many lines wholly on each side, and at most this
# share of the page's lines may cross it (a header band, a footer, a wide table row).
_MIN_COLUMN_LINES = 3
_MAX_CROSSING_SHARE = 0.2
# The name block: at least this much larger than the page's usual text, in its top part.
_TITLE_RATIO = 1.25
_TITLE_TOP_SHARE = 0.4
# Boxes are not ordered by pdfminer (boxes_flow=None): this module orders the lines.
LAYOUT = LAParams(boxes_flow=None, all_texts=True)


@dataclass(frozen=True)
class Line:
    """One text line: its box (PDF units, y grows upwards), text and glyph size."""

    x0: float
    x1: float
    bottom: float
    top: float
    text: str
    size: float

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


class CappedAggregator(PDFPageAggregator):
    """A page aggregator that keeps at most `max_chars` glyphs over the whole file.

    Layout analysis costs grow with the glyph count; past the cap the glyphs are
    dropped (the text read so far stands), so no page can make the analysis slow.
    Paths and images are not kept at all: only text matters here.
    """

    def __init__(self, rsrcmgr: Any, laparams: LAParams, max_chars: int) -> None:
        super().__init__(rsrcmgr, laparams=laparams)
        self.chars_left = max_chars

    def render_char(self, *args: Any, **kwargs: Any) -> float:
        if self.chars_left <= 0:
            return 0.0
        self.chars_left -= 1
        advance: float = super().render_char(*args, **kwargs)
        return advance

    def paint_path(self, *args: Any, **kwargs: Any) -> None:
        return None

    def render_image(self, *args: Any, **kwargs: Any) -> None:
        return None


def _text_lines(item: Any) -> Iterator[LTTextLine]:
    for child in item:
        if isinstance(child, LTTextLine):
            yield child
        elif isinstance(child, Iterable) and not isinstance(child, LTChar):
            yield from _text_lines(child)


def _line_text(line: LTTextLine) -> tuple[str, float]:
    """The text of a line and its median glyph size; letter-spaced runs rebuilt as words."""
    chars = [c for c in line if isinstance(c, LTChar)]
    sizes = [c.size for c in chars if c.get_text().strip()]
    size = statistics.median(sizes) if sizes else 0.0
    text = line.get_text().strip()
    spaced = _letter_spaced(chars)
    return (spaced if spaced is not None else text), size


def _letter_spaced(chars: list[LTChar]) -> str | None:
    """Rebuild "J O H N   D O E" as "JOHN DOE" from the gaps between glyphs; None if not spaced."""
    glyphs = [c for c in chars if c.get_text().strip()]
    if len(glyphs) < 4 or len(glyphs) > 80 or len(glyphs) < len(chars):
        # Spaces drawn as characters: the text itself shows the spacing (parse.prepare_text).
        return None
    gaps = [b.x0 - a.x1 for a, b in itertools.pairwise(glyphs)]
    widths = [c.width for c in glyphs]
    typical_gap = statistics.median(gaps)
    if typical_gap <= 0.3 * statistics.median(widths):
        return None
    words: list[str] = [glyphs[0].get_text()]
    for gap, glyph in zip(gaps, glyphs[1:], strict=True):
        if gap > 1.6 * typical_gap + 0.15 * glyph.size:
            words.append("")
        words[-1] += glyph.get_text()
    return " ".join(words)


def page_lines(page: LTPage) -> list[Line]:
    """The page's non-empty text lines."""
    lines = []
    for item in _text_lines(page):
        text, size = _line_text(item)
        if text:
            lines.append(Line(item.x0, item.x1, item.y0, item.y1, text, size))
    return lines


def _gutter(lines: list[Line], width: float) -> float | None:
    """The x of a vertical gutter between two columns side by side, or None."""
    if len(lines) < 2 * _MIN_COLUMN_LINES or width <= 0:
        return None
    best: list[float] = []
    best_cross = max(2, int(_MAX_CROSSING_SHARE * len(lines))) + 1
    step = max(1.0, width / 200)
    x = width * 0.15
    while x < width * 0.85:
        left = [ln for ln in lines if ln.x1 <= x]
        right = [ln for ln in lines if ln.x0 >= x]
        cross = len(lines) - len(left) - len(right)
        if (
            len(left) >= _MIN_COLUMN_LINES
            and len(right) >= _MIN_COLUMN_LINES
            and cross <= best_cross
            and _side_by_side(left, right)
        ):
            if cross < best_cross:
                best, best_cross = [], cross
            best.append(x)
        x += step
    if not best:
        return None
    # The middle of the widest run of equally good positions.
    runs: list[list[float]] = [[best[0]]]
    for x in best[1:]:
        if x - runs[-1][-1] <= step * 1.5:
            runs[-1].append(x)
        else:
            runs.append([x])
    widest = max(runs, key=len)
    return widest[len(widest) // 2]


def _side_by_side(left: list[Line], right: list[Line]) -> bool:
    """Whether two groups of lines share much of their height (columns, not stacked blocks)."""
    low = max(min(ln.bottom for ln in left), min(ln.bottom for ln in right))
    high = min(max(ln.top for ln in left), max(ln.top for ln in right))
    shorter = min(
        max(ln.top for ln in left) - min(ln.bottom for ln in left),
        max(ln.top for ln in right) - min(ln.bottom for ln in right),
    )
    return shorter > 0 and high - low >= 0.3 * shorter


def _rows(lines: list[Line]) -> list[str]:
    """Lines top to bottom; pieces on the same baseline joined left to right."""
    out: list[str] = []
    row: list[Line] = []
    for line in sorted(lines, key=lambda ln: (-ln.top, ln.x0)):
        if row and abs(line.middle - row[0].middle) <= 0.4 * max(1.0, row[0].top - row[0].bottom):
            row.append(line)
            continue
        if row:
            out.append(_join(row))
        row = [line]
    if row:
        out.append(_join(row))
    return out


def _join(row: list[Line]) -> str:
    row = sorted(row, key=lambda ln: ln.x0)
    text = row[0].text
    for before, line in itertools.pairwise(row):
        # A wide gap separates items ("Phone      +1 …"): three spaces keep them apart.
        text += (" " if line.x0 - before.x1 < max(line.size, 1.0) else "   ") + line.text
    return text


def order_lines(lines: list[Line], width: float) -> list[str]:
    """The page's text in reading order: bands of full-width lines, columns left to right."""
    gutter = _gutter(lines, width)
    if gutter is None:
        return _rows(lines)
    crossing = sorted(
        (ln for ln in lines if ln.x0 < gutter < ln.x1), key=lambda ln: (-ln.top, ln.x0)
    )
    out: list[str] = []
    remaining = [ln for ln in lines if not ln.x0 < gutter < ln.x1]
    for cut in [*crossing, None]:
        above = [ln for ln in remaining if cut is None or ln.middle > cut.middle]
        remaining = [ln for ln in remaining if ln not in above]
        out += _rows([ln for ln in above if ln.x1 <= gutter])
        out += _rows([ln for ln in above if ln.x1 > gutter])
        if cut is not None:
            out.append(cut.text)
    return out


def title_first(lines: list[Line], height: float) -> list[Line]:
    """The first page's lines with its name block (largest type near the top) first, if any."""
    sized = [ln.size for ln in lines if ln.size > 0]
    if not sized or height <= 0:
        return []
    usual = statistics.median(sized)
    top = [ln for ln in lines if ln.top >= height * (1 - _TITLE_TOP_SHARE)]
    if not top:
        return []
    largest = max(ln.size for ln in top)
    if largest < usual * _TITLE_RATIO:
        return []
    title = [ln for ln in top if ln.size >= largest * 0.95]
    # One block: the lines of that size closest together at the top; never more than two.
    title.sort(key=lambda ln: -ln.top)
    return title[:2]
