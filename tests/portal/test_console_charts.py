"""The console charts' layout: label text at page size, long names wrapped, date labels thinned."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta

import pytest

from portal.console.charts import (
    CHAR_PX,
    LABEL_GAP_PX,
    NARROWEST_PX,
    PLOT_LEFT_PCT,
    PLOT_RIGHT_PCT,
    WIDE_PX,
    axis_label_indices,
    axis_label_step,
    axis_labels,
    bar_chart,
    line_chart,
    wrap_label,
)

LONG = "Senior Principal Distributed Systems Reliability Engineering and Platform Operations"


def test_short_labels_stay_on_one_line() -> None:
    """A name that fits is one line, unchanged."""
    assert wrap_label("Design", per_line=30, lines=2) == ["Design"]


def test_long_labels_wrap_at_words_and_end_with_an_ellipsis() -> None:
    """A long name wraps at spaces onto two lines, and what does not fit ends with "…"."""
    wrapped = wrap_label(LONG, per_line=30, lines=2)
    assert len(wrapped) == 2
    assert all(len(line) <= 30 for line in wrapped)
    assert wrapped[0] == "Senior Principal Distributed"
    assert wrapped[1].endswith("…")
    assert LONG.startswith(" ".join(wrapped)[:-1].rstrip())


def test_a_word_longer_than_a_line_is_cut() -> None:
    """One unbroken 80-character word still fits: cut, with an ellipsis at the end."""
    wrapped = wrap_label("x" * 80, per_line=30, lines=2)
    assert [len(line) for line in wrapped] == [30, 30]
    assert wrapped[1].endswith("…")


@pytest.mark.parametrize("count", [1, 2, 7, 12, 13, 30, 31, 60, 90, 91, 365])
@pytest.mark.parametrize("plot_px", [NARROWEST_PX * 0.9, 640.0, 1100.0])
def test_axis_labels_never_overlap_and_the_latest_is_shown(count: int, plot_px: float) -> None:
    """At any count and width, shown labels are far enough apart for their text; the last shows."""
    widest = 6  # "Sep 15"
    shown = axis_label_indices(count, widest_chars=widest, plot_px=plot_px)
    assert shown[-1] == count - 1
    assert shown == sorted(set(shown))
    per_point = plot_px / max(1, count - 1)
    label_px = widest * CHAR_PX
    for a, b in itertools.pairwise(shown):
        # The outer labels are anchored at their point's edge, so allow two labels.
        assert (b - a) * per_point >= 2 * label_px + LABEL_GAP_PX


def _boxes(
    labels: list[tuple[int, str, bool]], count: int, chart_px: float, widest: int
) -> list[tuple[float, float]]:
    """Where each label's text lies, in px, in a chart `chart_px` wide."""
    left = chart_px * PLOT_LEFT_PCT / 100
    plot = chart_px * (PLOT_RIGHT_PCT - PLOT_LEFT_PCT) / 100
    width = widest * CHAR_PX
    boxes = []
    for index, anchor, _ in labels:
        x = left + plot * index / max(1, count - 1)
        start = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        boxes.append((start, start + width))
    return boxes


@pytest.mark.parametrize("widest", [3, 6, 11])
def test_drawn_labels_never_overlap_or_leave_the_chart(widest: int) -> None:
    """With the anchors drawn, no label crosses another or an edge, on a phone or wide."""
    for count in range(1, 121):
        labels = axis_labels(count, widest_chars=widest)
        assert labels[-1][0] == count - 1
        narrow = [label for label in labels if not label[2]]
        for chart_px, drawn in ((NARROWEST_PX, narrow), (WIDE_PX, labels)):
            boxes = _boxes(drawn, count, chart_px, widest)
            assert boxes[0][0] >= 0 and boxes[-1][1] <= chart_px, (count, boxes)
            for (_, end), (start, _) in itertools.pairwise(boxes):
                assert start - end >= LABEL_GAP_PX, (count, chart_px, drawn)


def test_the_phone_labels_are_a_subset_of_the_wide_screen_ones() -> None:
    """Both sets are drawn on a wide screen, so the sparser one must be part of the denser."""
    for count in (12, 13, 90):
        wide_step = axis_label_step(count, widest_chars=6, plot_px=640)
        wide = axis_label_indices(count, widest_chars=6, plot_px=640)
        narrow = axis_label_indices(count, widest_chars=6, plot_px=300, multiple_of=wide_step)
        assert set(narrow) <= set(wide)
        assert len(narrow) < len(wide)


def test_twelve_weekly_labels_do_not_print_the_last_two_side_by_side() -> None:
    """The old chart printed every second label and the last: weeks 10 and 11 collided."""
    shown = axis_label_indices(12, widest_chars=6, plot_px=NARROWEST_PX * 0.9)
    assert 10 not in shown and 11 in shown


def test_bar_chart_labels_are_page_sized_and_never_left_of_the_chart() -> None:
    """No font size or viewBox scales the text; labels start at x=0; the full name is a tooltip."""
    svg = str(bar_chart("T", "D", [(LONG, 10), ("Design", 5)]))
    assert "viewBox" not in svg and "font-size" not in svg
    assert 'text-anchor="end"' not in svg
    assert f"<title>{LONG}: 10</title>" in svg
    assert "…" in svg


def test_bar_chart_scales_bars_to_the_largest_value() -> None:
    """The longest bar is twice the half-value one; an empty chart says there is no data."""
    svg = str(bar_chart("T", "D", [("a", 10), ("b", 5)]))
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)%"', svg)]
    assert widths[0] == 2 * widths[1]
    assert "No data yet" in str(bar_chart("T", "D", []))


def test_line_chart_with_ninety_days_thins_its_date_labels() -> None:
    """90 daily labels: only the thinned ones are drawn, at most a wide set hidden on phones."""
    start = date(2026, 9, 1)
    labels = [f"{d:%b} {d.day}" for d in (start + timedelta(days=i) for i in range(90))]
    svg = str(line_chart("T", "D", labels, [("Mass email", list(range(90)))]))
    assert "viewBox" not in svg and "font-size" not in svg
    drawn = re.findall(r'<text class="(chart-axis[^"]*)"[^>]*>([^<]+)</text>', svg)
    narrow = [text for cls, text in drawn if "chart-wide-only" not in cls]
    assert narrow[-1] == labels[-1]
    assert 2 <= len(narrow) <= 6
    assert len(drawn) > len(narrow)
