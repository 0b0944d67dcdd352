"""Small server-rendered SVG charts: no script, no library, readable by screen readers.

Each chart is an ``<svg role="img">`` with a title and a one-sentence description;
the page shows the same numbers in a table next to it, so the chart is never the
only way to read them. Values are escaped by ``format_html``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 120
PLOT_WIDTH = 360
VALUE_WIDTH = 90
COLUMN_WIDTH = 34
COLUMN_PLOT_HEIGHT = 140
# The labels are 12px (desk.css, .chart-label): 0.65em is wider than the average
# character of the desk's sans-serif fonts, so a label sized by it is never clipped.
CHAR_WIDTH = 12 * 0.65


def text_width(text: str) -> int:
    """Room for ``text`` at the charts' font size, rounded up."""
    return int(len(text) * CHAR_WIDTH + 0.999)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    note: str = ""  # e.g. "n=4", shown after the value


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} {unit}".strip()


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, unit: str = "") -> SafeString:
    """Horizontal bars, one per row, with the value written at the end of each bar."""
    peak = max((b.value or 0.0 for b in bars), default=0.0) or 1.0
    height = len(bars) * (BAR_HEIGHT + GAP) + GAP
    values = [_fmt(b.value, unit) + (f" ({b.note})" if b.note else "") for b in bars]
    # Wide enough for the longest label and value: a fixed width clipped long ones.
    label_width = max([LABEL_WIDTH] + [text_width(b.label) + 12 for b in bars])
    value_width = max([VALUE_WIDTH] + [text_width(v) + 10 for v in values])
    width = label_width + PLOT_WIDTH + value_width
    rows = []
    for i, (bar, value) in enumerate(zip(bars, values, strict=True)):
        y = GAP + i * (BAR_HEIGHT + GAP)
        length = 0.0 if bar.value is None else max(PLOT_WIDTH * bar.value / peak, 2.0)
        rows.append(
            (
                label_width - 8,
                f"{y + BAR_HEIGHT * 0.7:.1f}",
                bar.label,
                label_width,
                y,
                f"{length:.1f}",
                BAR_HEIGHT,
                f"{label_width + length + 6:.1f}",
                f"{y + BAR_HEIGHT * 0.7:.1f}",
                value,
            )
        )
    body = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="end" class="chart-label">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="{}" class="chart-bar"></rect>'
        '<text x="{}" y="{}" class="chart-value">{}</text>',
        rows,
    )
    return _svg(chart_id, title, _describe(bars, unit), width, height, body)


def column_chart(chart_id: str, title: str, bars: Sequence[Bar], *, unit: str = "") -> SafeString:
    """Vertical columns over time (months), labelled below, values above each column."""
    peak = max((b.value or 0.0 for b in bars), default=0.0) or 1.0
    top, bottom = 18, 34
    width = len(bars) * (COLUMN_WIDTH + GAP) + GAP
    height = top + COLUMN_PLOT_HEIGHT + bottom
    cols = []
    for i, bar in enumerate(bars):
        x = GAP + i * (COLUMN_WIDTH + GAP)
        length = 0.0 if bar.value is None else max(COLUMN_PLOT_HEIGHT * bar.value / peak, 2.0)
        y = top + COLUMN_PLOT_HEIGHT - length
        cols.append(
            (
                x,
                f"{y:.1f}",
                COLUMN_WIDTH,
                f"{length:.1f}",
                f"{x + COLUMN_WIDTH / 2:.1f}",
                f"{y - 4:.1f}",
                "" if bar.value is None else f"{bar.value:.1f}".removesuffix(".0"),
                f"{x + COLUMN_WIDTH / 2:.1f}",
                top + COLUMN_PLOT_HEIGHT + 14,
                bar.label[-2:],  # month number; the year is in the table and the title
                f"{x + COLUMN_WIDTH / 2:.1f}",
                top + COLUMN_PLOT_HEIGHT + 28,
                bar.label[:4] if i == 0 or bar.label.endswith("-01") else "",
            )
        )
    body = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="chart-bar"></rect>'
        '<text x="{}" y="{}" text-anchor="middle" class="chart-value">{}</text>'
        '<text x="{}" y="{}" text-anchor="middle" class="chart-label">{}</text>'
        '<text x="{}" y="{}" text-anchor="middle" class="chart-label">{}</text>',
        cols,
    )
    axis = format_html(
        '<line x1="0" x2="{}" y1="{}" y2="{}" class="chart-axis"></line>',
        width,
        top + COLUMN_PLOT_HEIGHT,
        top + COLUMN_PLOT_HEIGHT,
    )
    return _svg(chart_id, title, _describe(bars, unit), width, height, axis + body)


def _describe(bars: Sequence[Bar], unit: str) -> str:
    known = [b for b in bars if b.value is not None]
    if not known:
        return "No data yet."
    return "; ".join(f"{b.label}: {_fmt(b.value, unit)}" for b in known) + "."


def _svg(
    chart_id: str, title: str, description: str, width: int, height: int, body: str
) -> SafeString:
    return format_html(
        '<svg class="chart" role="img" aria-labelledby="{0}-t {0}-d" viewBox="0 0 {1} {2}" '
        'width="{1}" height="{2}" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{0}-t">{3}</title><desc id="{0}-d">{4}</desc>{5}</svg>',
        chart_id,
        width,
        height,
        title,
        description,
        mark_safe(body),  # built above with format_html: every value in it is escaped
    )
