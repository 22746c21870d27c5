"""Server-rendered SVG charts: a horizontal bar chart and a line chart.

No JavaScript and no style attributes (the page CSP allows neither inline):
colours are presentation attributes. Each chart is `role="img"` with a
`<title>` and `<desc>` it is labelled by; the pages put a data table next to it.

There is no viewBox: a scaled chart would scale its text too (tiny on a phone,
huge on a wide screen). The SVG is as wide as its box, horizontal positions are
percentages of that width, and text inherits the page's font size. Layout that
depends on text width (wrapping names, thinning date labels) is worked out for
the narrowest box the console has, `NARROWEST_PX`, so it holds at any width.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from markupsafe import Markup, escape

FONT_PX = 16  # the page text (1rem) the labels inherit
CHAR_PX = 9.5  # a generous average advance of a system-ui character at FONT_PX
LINE_PX = 22  # one line of label text
NARROWEST_PX = 320  # a 375 px phone less the page's side margins
WIDE_PX = 660  # a chart at least this wide (viewport >= 720 px) shows more date labels
LABEL_GAP_PX = 12  # the least space between two date labels
COLOURS = ("#0b3d91", "#c2410c", "#047857", "#7c3aed")
INK, MUTED, GRID = "#1f2933", "#52606d", "#d9e2ec"

BAR_PX = 22
ROW_GAP_PX = 14
BAR_SPAN_PCT = 75.0  # the largest bar; the rest of the width holds its value
LABEL_CHARS = int(NARROWEST_PX // CHAR_PX) - 2
LABEL_LINES = 2

PLOT_LEFT_PCT, PLOT_RIGHT_PCT = 3.0, 97.0
PLOT_PX = 170
_ids = itertools.count(1)


def _nice_max(value: int) -> int:
    """A round axis maximum at or above `value` (at least 1)."""
    if value <= 5:
        return max(value, 1)
    step = 10 ** (len(str(value)) - 1)
    return ((value + step - 1) // step) * step


def wrap_label(text: str, *, per_line: int, lines: int) -> list[str]:
    """`text` wrapped at spaces into at most `lines` lines of `per_line` characters.

    A word longer than a line is cut; text that does not fit ends with "…".
    """
    words = text.split()
    out: list[str] = []
    current = ""
    while words and len(out) < lines:
        word = words[0]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= per_line:
            current = candidate
            words.pop(0)
        elif current:
            out.append(current)
            current = ""
        else:  # one word longer than a line
            out.append(word[:per_line])
            words[0] = word[per_line:]
    if current and len(out) < lines:
        out.append(current)
        current = ""
    if words or current:
        last = out[-1]
        out[-1] = (last if len(last) < per_line else last[: per_line - 1]).rstrip() + "…"
    return out or [""]


def axis_label_step(count: int, *, widest_chars: int, plot_px: float, multiple_of: int = 1) -> int:
    """Draw every how-many-th of `count` evenly spaced axis labels so that none overlap.

    The outermost labels are anchored at their point's edge, not centred, and two
    such can be neighbours, so points with labels are kept two label widths (plus
    a gap) apart. `multiple_of` makes the labels a subset of a denser set drawn
    with that step.
    """
    per_point = plot_px / max(1, count - 1)
    needed = math.ceil((2 * widest_chars * CHAR_PX + LABEL_GAP_PX) / per_point)
    return multiple_of * max(1, math.ceil(needed / multiple_of))


def axis_label_indices(
    count: int, *, widest_chars: int, plot_px: float, multiple_of: int = 1
) -> list[int]:
    """The labels to draw with `axis_label_step`, counted back from the last (the latest date)."""
    step = axis_label_step(
        count, widest_chars=widest_chars, plot_px=plot_px, multiple_of=multiple_of
    )
    return sorted(range(count - 1, -1, -step))


def axis_labels(count: int, *, widest_chars: int) -> list[tuple[int, str, bool]]:
    """(index, text-anchor, wide screens only) of each of `count` axis labels to draw.

    The set for the narrowest chart is part of a denser one shown on wide screens.
    The outermost labels of each set are anchored at their point's edge, so that
    none reaches past the chart's side.
    """
    plot = (PLOT_RIGHT_PCT - PLOT_LEFT_PCT) / 100
    wide_step = axis_label_step(count, widest_chars=widest_chars, plot_px=WIDE_PX * plot)
    wide = axis_label_indices(count, widest_chars=widest_chars, plot_px=WIDE_PX * plot)
    narrow = axis_label_indices(
        count, widest_chars=widest_chars, plot_px=NARROWEST_PX * plot, multiple_of=wide_step
    )
    drawn = []
    for i in wide:
        anchor = "start" if i in (wide[0], narrow[0]) else "middle"
        anchor = "end" if i == count - 1 and count > 1 else anchor
        drawn.append((i, anchor, i not in narrow))
    return drawn


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="100%" height="{height}" '
        f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
    ]


def _close(parts: list[str]) -> Markup:
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text is escaped where it is added


def bar_chart(title: str, description: str, items: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per (label, value), the name above its bar.

    Long names wrap onto two lines and end with "…"; every row has the full name
    and value as its tooltip.
    """
    chart_id = f"chart{next(_ids)}"
    top = _nice_max(max((v for _, v in items), default=0))
    rows: list[str] = []
    y = 4
    for label, value in items:
        lines = wrap_label(label, per_line=LABEL_CHARS, lines=LABEL_LINES)
        pct = round(BAR_SPAN_PCT * value / top, 2) if top else 0
        row = [f"<g><title>{escape(label)}: {value}</title>"]
        for line in lines:
            y += LINE_PX
            row.append(
                f'<text class="chart-label" x="0" y="{y - 6}" fill="{INK}">{escape(line)}</text>'
            )
        row += [
            f'<rect x="0" y="{y}" width="{pct}%" height="{BAR_PX}" fill="{COLOURS[0]}" rx="3"/>',
            f'<text class="chart-value" x="{pct}%" dx="8" y="{y + BAR_PX - 5}" fill="{INK}">'
            f"{value}</text></g>",
        ]
        rows += row
        y += BAR_PX + ROW_GAP_PX
    if not items:
        rows.append(f'<text x="0" y="24" fill="{MUTED}">No data yet</text>')
        y = 36
    return _close(_open(chart_id, title, description, y) + rows)


def _legend(series: Sequence[tuple[str, Sequence[int]]]) -> tuple[list[str], int]:
    """Legend swatches, wrapping to a new line before they would pass NARROWEST_PX."""
    parts: list[str] = []
    x, y = 0.0, 0
    for n, (name, _) in enumerate(series):
        width = 20 + len(name) * CHAR_PX
        if x and x + width > NARROWEST_PX:
            x, y = 0.0, y + LINE_PX + 4
        colour = COLOURS[n % len(COLOURS)]
        parts += [
            f'<rect x="{x:.0f}" y="{y + 5}" width="14" height="14" fill="{colour}"/>',
            f'<text class="chart-label" x="{x + 20:.0f}" y="{y + 17}" fill="{INK}">'
            f"{escape(name)}</text>",
        ]
        x += width + 24
    return parts, y + LINE_PX


def line_chart(
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
) -> Markup:
    """One line per (name, values) over the x `labels`, with a legend and a y axis.

    Date labels are thinned so none overlap in the narrowest chart; a chart on a
    wide screen shows a denser set (the others have class `chart-wide-only`).
    """
    chart_id = f"chart{next(_ids)}"
    legend, legend_bottom = _legend(series)
    upper = legend_bottom + 30  # room for the top tick's label above its grid line
    lower = upper + PLOT_PX
    height = lower + 34
    top = _nice_max(max((v for _, values in series for v in values), default=0))
    count = len(labels)
    span = PLOT_RIGHT_PCT - PLOT_LEFT_PCT

    def x(i: int) -> str:
        return f"{PLOT_LEFT_PCT + span * i / max(1, count - 1):.3f}%"

    def y(v: int) -> str:
        return f"{lower - (lower - upper) * v / top:.1f}"

    parts = _open(chart_id, title, description, height) + legend
    for tick in (0, top // 2, top) if top > 1 else (0, top):
        parts += [
            f'<line x1="0" x2="100%" y1="{y(tick)}" y2="{y(tick)}" stroke="{GRID}"/>',
            f'<text class="chart-tick" x="0" y="{float(y(tick)) - 6:.1f}" fill="{MUTED}">'
            f"{tick}</text>",
        ]
    widest = max((len(label) for label in labels), default=0)
    for i, anchor, wide_only in axis_labels(count, widest_chars=widest):
        cls = "chart-axis chart-wide-only" if wide_only else "chart-axis"
        parts.append(
            f'<text class="{cls}" x="{x(i)}" y="{lower + 24}" text-anchor="{anchor}" '
            f'fill="{MUTED}">{escape(labels[i])}</text>'
        )
    for n, (_, values) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        parts += [
            f'<line x1="{x(i)}" y1="{y(a)}" x2="{x(i + 1)}" y2="{y(b)}" stroke="{colour}" '
            'stroke-width="2.5" stroke-linecap="round"/>'
            for i, (a, b) in enumerate(itertools.pairwise(values))
        ]
        if len(values) <= 31:  # dots on a long series only blur the line
            parts += [
                f'<circle cx="{x(i)}" cy="{y(v)}" r="3" fill="{colour}"/>'
                for i, v in enumerate(values)
            ]
    if not labels:
        parts.append(f'<text x="0" y="{upper + 24}" fill="{MUTED}">No data yet</text>')
    return _close(parts)
