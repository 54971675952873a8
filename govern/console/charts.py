"""Horizontal bar charts as server-rendered SVG for console pages: no script, no style attribute, mirrored for RTL.

Colours and fonts come from classes in static/console/home.css (the CSP allows no inline style). The SVG is a picture
for sighted readers; the page puts the same numbers in a table for screen readers, so the SVG is aria-hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH, LABEL, VALUE, BAR, GAP, PAD = 480, 170, 64, 20, 8, 4
LABEL_CHARS = 26


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


def plain_number(value: float) -> str:
    return f"{value:g}"


def bar_chart(bars: Sequence[tuple[str, float]], *, rtl: bool = False, maximum: float | None = None,
              number: Callable[[float], str] = plain_number, tones: Sequence[str] | None = None) -> Markup:
    """One bar per (label, value), longest = `maximum` (default: the largest value). In RTL the labels stand on the
    right and the bars grow leftwards. `tones` gives each bar a class suffix (chart-bar-ok, -warn, -bad, ...)."""
    rows = list(bars)
    height = PAD * 2 + max(len(rows), 1) * (BAR + GAP) - GAP
    span = WIDTH - LABEL - VALUE
    direction = ' direction="rtl"' if rtl else ""
    biggest = max([maximum or 0] + [value for _label, value in rows] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" aria-hidden="true" focusable="false"{direction}>']
    for n, (label, value) in enumerate(rows):
        y = PAD + n * (BAR + GAP)
        length = span * max(value, 0) / biggest
        tone = f" chart-bar-{tones[n]}" if tones and n < len(tones) and tones[n] else ""
        # "end" and "start" follow the text direction: in RTL they are the left and right edges, hence the mirroring.
        label_x = LABEL - 8 if not rtl else WIDTH - LABEL + 8
        bar_x = LABEL if not rtl else WIDTH - LABEL - length
        value_x = LABEL + length + 6 if not rtl else WIDTH - LABEL - length - 6
        middle = y + BAR / 2
        parts.append(f'<g class="chart-row" data-label="{escape(label)}" data-value="{value:g}">')
        parts.append(f'<text class="chart-label" x="{label_x:.1f}" y="{middle:.1f}" text-anchor="end" '
                     f'dominant-baseline="central"><title>{escape(label)}</title>{escape(_short(label))}</text>')
        parts.append(f'<rect class="chart-bar{tone}" x="{bar_x:.1f}" y="{y}" width="{max(length, 1 if value else 0):.1f}" '
                     f'height="{BAR}" rx="2"/>')
        parts.append(f'<text class="chart-value" x="{value_x:.1f}" y="{middle:.1f}" text-anchor="start" '
                     f'dominant-baseline="central">{escape(number(value))}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
