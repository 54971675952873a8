"""The console's SVG bar charts draw exactly the numbers they are given, to scale, mirrored in RTL."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from govern.console.charts import LABEL, WIDTH, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def _rows(svg: str) -> list[tuple[str, float, float, float, str]]:
    """(label, data-value, bar x, bar width, printed value) per bar."""
    root = ET.fromstring(svg)
    rows = []
    for group in root.iter(f"{SVG}g"):
        rect = group.find(f"{SVG}rect")
        texts = group.findall(f"{SVG}text")
        rows.append((group.get("data-label"), float(group.get("data-value")), float(rect.get("x")),
                     float(rect.get("width")), texts[1].text))
    return rows


def test_each_bar_carries_its_label_and_number_and_is_drawn_to_scale():
    svg = bar_chart([("healthy", 8), ("needs reconnect", 2), ("revoked", 0)])
    rows = _rows(svg)
    assert [(label, value, printed) for label, value, _x, _w, printed in rows] == [
        ("healthy", 8, "8"), ("needs reconnect", 2, "2"), ("revoked", 0, "0")]
    assert rows[0][3] == 4 * rows[1][3] and rows[2][3] == 0
    assert 'aria-hidden="true"' in svg and "style" not in svg and "<script" not in svg


def test_a_maximum_sets_the_scale_and_numbers_are_formatted_by_the_caller():
    rows = _rows(bar_chart([("Q4 review", 50)], maximum=100, number=lambda v: f"{v:g}%"))
    full = WIDTH - LABEL - 64
    assert rows[0][3] == full / 2 and rows[0][4] == "50%"


def test_rtl_mirrors_the_bars_and_labels():
    ltr, rtl = _rows(bar_chart([("صحي", 3)])), _rows(bar_chart([("صحي", 3)], rtl=True))
    assert ltr[0][2] == LABEL  # bars start right of the labels
    assert rtl[0][2] + rtl[0][3] == WIDTH - LABEL  # and end left of them in RTL
    assert 'direction="rtl"' in bar_chart([("x", 1)], rtl=True)


def test_labels_are_escaped_and_long_ones_shortened_with_the_full_text_as_a_title():
    svg = bar_chart([("<b>" + "x" * 40, 1)])
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert re.search(r"<title>&lt;b&gt;x{40}</title>", svg) and "…" in svg
