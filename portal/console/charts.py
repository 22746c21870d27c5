"""Server-rendered SVG charts: a horizontal bar chart and a line chart.

No JavaScript and no style attributes (the page CSP allows neither inline):
colours are presentation attributes. Each chart is `role="img"` with a
`<title>` and `<desc>` it is labelled by; the pages put a data table next to it.
The viewBox scales the chart down to any width (375 px phones included).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 480
BAR_HEIGHT = 28
BAR_GAP = 10
LABEL_WIDTH = 170
LINE_HEIGHT = 260
PAD = 40
COLOURS = ("#0b3d91", "#c2410c", "#047857", "#7c3aed")
_ids = itertools.count(1)


def _nice_max(value: int) -> int:
    """A round axis maximum at or above `value` (at least 1)."""
    if value <= 5:
        return max(value, 1)
    step = 10 ** (len(str(value)) - 1)
    return ((value + step - 1) // step) * step


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'font-family="system-ui, sans-serif" font-size="16">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
    ]


def bar_chart(title: str, description: str, items: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per (label, value), longest value scaled to the full width."""
    chart_id = f"chart{next(_ids)}"
    height = max(1, len(items)) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    top = _nice_max(max((v for _, v in items), default=0))
    span = WIDTH - LABEL_WIDTH - 60
    parts = _open(chart_id, title, description, height)
    for row, (label, value) in enumerate(items):
        y = BAR_GAP + row * (BAR_HEIGHT + BAR_GAP)
        length = round(span * value / top) if top else 0
        short = label if len(label) <= 18 else label[:17] + "…"
        parts += [
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 20}" text-anchor="end" fill="#1f2933">'
            f"{escape(short)}</text>",
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT}" '
            f'fill="{COLOURS[0]}" rx="3"/>',
            f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 20}" fill="#1f2933">{value}</text>',
        ]
    if not items:
        parts.append(f'<text x="{PAD}" y="24" fill="#52606d">No data yet</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped


def line_chart(
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
) -> Markup:
    """One polyline per (name, values) over the x `labels`, with a legend and a y axis."""
    chart_id = f"chart{next(_ids)}"
    height = LINE_HEIGHT
    top = _nice_max(max((v for _, values in series for v in values), default=0))
    left, right, upper, lower = PAD + 10, WIDTH - 20, 30, height - 40
    count = max(1, len(labels) - 1)

    def x(i: int) -> float:
        return left + (right - left) * i / count

    def y(v: int) -> float:
        return lower - (lower - upper) * v / top

    parts = _open(chart_id, title, description, height)
    for tick in (0, top // 2, top) if top > 1 else (0, top):
        parts += [
            f'<line x1="{left}" x2="{right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#d9e2ec"/>',
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="#52606d">'
            f"{tick}</text>",
        ]
    step = max(1, len(labels) // 6)
    for i, label in enumerate(labels):
        if i % step == 0 or i == len(labels) - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 18}" text-anchor="middle" fill="#52606d">'
                f"{escape(label)}</text>"
            )
    for n, (name, values) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
        )
        parts += [
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>'
            for i, v in enumerate(values)
        ]
        legend_x = left + n * 170
        parts += [
            f'<rect x="{legend_x}" y="6" width="14" height="14" fill="{colour}"/>',
            f'<text x="{legend_x + 20}" y="18" fill="#1f2933">{escape(name)}</text>',
        ]
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
