"""A horizontal bar chart as SVG, drawn from a report's figures (no plotting library needed)."""

from __future__ import annotations

from markupsafe import Markup, escape

from govern.reports.document import Chart

WIDTH, BAR, GAP, LABEL, VALUE = 640, 18, 8, 170, 60


def bar_chart_svg(chart: Chart) -> Markup:
    bars = list(chart.bars) or [("(none)", 0)]
    top = 28
    height = top + len(bars) * (BAR + GAP) + 10
    span = WIDTH - LABEL - VALUE
    biggest = max([value for _label, value in bars] + [chart.threshold or 0, 1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" font-family="DejaVu Sans, sans-serif" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(chart.title)}">',
             f'<text x="0" y="16" font-size="13" font-weight="bold" fill="#1f2933">{escape(chart.title)}</text>']
    for n, (label, value) in enumerate(bars):
        y = top + n * (BAR + GAP)
        length = span * (value / biggest) if biggest else 0
        parts.append(f'<text x="{LABEL - 8}" y="{y + BAR - 5}" text-anchor="end" font-size="11" fill="#1f2933">{escape(label)}</text>')
        parts.append(f'<rect x="{LABEL}" y="{y}" width="{max(length, 1):.1f}" height="{BAR}" fill="#2f6f9f"/>')
        parts.append(f'<text x="{LABEL + length + 6:.1f}" y="{y + BAR - 5}" font-size="11" fill="#3e4c59">{value:g}</text>')
    if chart.threshold is not None:
        x = LABEL + span * (chart.threshold / biggest)
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 6}" stroke="#b42318" stroke-width="2" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x + 4:.1f}" y="{top - 6}" font-size="11" fill="#3e4c59">{escape(chart.threshold_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
