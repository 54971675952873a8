"""CSV and JSON round-trip the report; the PDF is a real document whose pages show Arabic and Hebrew names."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from govern.reports.document import BadReportRequest, ChainHead, CheckpointRef, Chart, Period, Report, Section
from govern.reports.render import CHUNK, PDF_ROWS, parse_csv, render_report, report_html, stream_report
from tests.unit.reports.conftest import ARABIC_NAME, HEBREW_NAME

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def sample_report(rows: int = 2) -> Report:
    people = [(1, ARABIC_NAME, "=cmd|' /C calc'!A0", 4.5, START), (2, HEBREW_NAME, "plain", None, None)]
    people += [(n, f"Person {n}", "x", float(n), START) for n in range(3, rows + 1)]
    return Report(
        name="access", title="Access report", period=Period(START, START + timedelta(days=31)),
        generated_at=START + timedelta(days=31, minutes=5), basis=("grants in effect", "people"),
        chain_head=ChainHead(42, "ab" * 32), checkpoint=CheckpointRef(40, "key-1", START, "cd" * 32),
        summary={"effective_grants": 2, "false_positive_rate": 0.25, "median": None},
        sections=(Section.of("grants", "Effective grants", [("id", "Grant"), ("person", "Person"), ("reason", "Reason"),
                                                            ("hours", "Hours"), ("since", "Since")],
                             people[:rows], rtl=("person",)),
                  Section.of("empty", "Nothing here", [("a", "A"), ("b", "B")], [])),
        alerts=("1 leaver still has access",), charts=(Chart("By role", (("admin", 3), ("analyst", 1))),),
    )


def test_json_holds_everything():
    document = json.loads(render_report(sample_report(), "json"))
    assert document["report"] == "access" and document["period"] == {"from": "2026-01-01T00:00:00+00:00",
                                                                      "to": "2026-02-01T00:00:00+00:00",
                                                                      "last_day": "2026-01-31"}
    assert document["chain_head"] == {"seq": 42, "hash": "ab" * 32}
    assert document["checkpoint"] == {"seq": 40, "key_id": "key-1", "signed_at": START.isoformat(), "head_hash": "cd" * 32}
    assert document["summary"] == {"effective_grants": 2, "false_positive_rate": 0.25, "median": None}
    assert document["alerts"] == ["1 leaver still has access"]
    grants = document["sections"][0]
    assert grants["columns"] == ["id", "person", "reason", "hours", "since"]
    assert grants["rows"][0] == [1, ARABIC_NAME, "=cmd|' /C calc'!A0", 4.5, START.isoformat()]
    assert grants["rows"][1] == [2, HEBREW_NAME, "plain", None, None]


def test_csv_blocks_round_trip():
    blocks = parse_csv(render_report(sample_report(), "csv"))
    assert list(blocks) == ["metadata", "summary", "section:grants", "section:empty"]
    metadata = blocks["metadata"]
    assert metadata["header"] == ["field", "value"]
    fields = dict((row[0], row[1]) for row in metadata["rows"] if row[0] not in ("basis", "alert", "framework"))
    assert fields["chain_head_seq"] == "42" and fields["chain_head_hash"] == "ab" * 32
    assert fields["period_from"] == "2026-01-01T00:00:00+00:00" and fields["checkpoint_key_id"] == "key-1"
    assert [row[1] for row in metadata["rows"] if row[0] == "basis"] == ["grants in effect", "people"]
    assert dict(blocks["summary"]["rows"]) == {"effective_grants": "2", "false_positive_rate": "0.25", "median": ""}
    grants = blocks["section:grants"]
    assert grants["header"] == ["id", "person", "reason", "hours", "since"]
    # a formula is defused for spreadsheets; names come back as they went in
    assert grants["rows"] == [["1", ARABIC_NAME, "'=cmd|' /C calc'!A0", "4.5", START.isoformat()],
                              ["2", HEBREW_NAME, "plain", "", ""]]
    assert blocks["section:empty"] == {"header": ["a", "b"], "rows": []}


def test_unknown_format_is_refused():
    with pytest.raises(BadReportRequest):
        render_report(sample_report(), "xlsx")


def test_pdf_html_marks_names_for_bidi_and_rtl_locales():
    html = report_html(sample_report(), "en")
    assert f'<td dir="rtl">{ARABIC_NAME}</td>' in html and f'<td dir="rtl">{HEBREW_NAME}</td>' in html
    assert '<td dir="ltr">plain</td>' in report_html(sample_report(), "ar")  # a Latin value reads left to right
    assert '<html lang="he" dir="rtl">' in report_html(sample_report(), "he")
    assert '<table class="chart">' in html and "<caption>By role</caption>" in html and "1 leaver still has access" in html


def _ink(image) -> int:
    """How many pixels are not (near) white."""
    grey = image.convert("L")
    return sum(count for level, count in enumerate(grey.histogram()) if level < 200)


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_pdf_pages_render_with_the_names(locale):
    pdfium = pytest.importorskip("pypdfium2")
    data = render_report(sample_report(rows=40), "pdf", locale=locale)
    assert data.startswith(b"%PDF-")
    document = pdfium.PdfDocument(data)
    assert len(document) >= 3  # title page, summary with its chart, the tables
    table_page = document[2]
    image = table_page.render(scale=1.5).to_pil()
    assert _ink(image) > 2000, "the table page is blank"
    text = table_page.get_textpage().get_text_range()
    # Pango shaped the names with real glyphs: the PDF's text layer maps them back to the letters
    assert "Person 3" in text
    for name in (ARABIC_NAME, HEBREW_NAME):
        letters = set(name.replace(" ", ""))
        assert letters <= set(text), f"{name} is not on the page"
    assert _ink(document[1].render(scale=1).to_pil()) > 500, "the summary page is blank"


def test_pdf_shows_the_first_rows_and_says_how_many_more():
    report = sample_report(rows=PDF_ROWS + 57)
    html = report_html(report, "en")
    grants = html.split("<h2>Effective grants", 1)[1].split("</section>", 1)[0]
    assert grants.count("<tr>") == PDF_ROWS + 1  # the header row and the first PDF_ROWS rows
    assert "…and 57 more rows are in the CSV export." in grants
    assert "Nothing here" in html and "None" in html
    assert "more rows" not in html.split("Nothing here", 1)[1]


def test_figures_agree_across_csv_json_and_pdf():
    report = sample_report(rows=PDF_ROWS + 30_000)
    document = json.loads(render_report(report, "json"))
    blocks = parse_csv(render_report(report, "csv"))
    html = report_html(report, "en")
    grants = next(s for s in document["sections"] if s["key"] == "grants")
    assert grants["count"] == len(grants["rows"]) == len(blocks["section:grants"]["rows"]) == PDF_ROWS + 30_000
    assert dict(blocks["summary"]["rows"]) == {key: "" if value is None else str(value)
                                              for key, value in document["summary"].items()}
    assert "(30,200)" in html and "…and 30,000 more rows are in the CSV export." in html
    shown = {"effective_grants": "2", "false_positive_rate": "25%", "median": "—"}  # a ratio reads as a percentage
    assert set(shown) == set(document["summary"])
    for key, text in shown.items():
        assert f'<td class="value"><span dir="ltr">{text}</span></td>' in html, key


def test_csv_and_json_stream_in_pieces_reading_rows_as_they_go():
    reads = []

    def rows():
        for n in range(50_000):
            reads.append(n)
            yield (n, f"Person {n}", "x", 1.0, START)

    report = sample_report()
    section = Section.streamed("grants", "Effective grants", [("id", "Grant"), ("person", "Person"), ("reason", "Reason"),
                                                             ("hours", "Hours"), ("since", "Since")], 50_000, rows)
    report = Report(**{**report.__dict__, "sections": (section,)})
    for fmt in ("csv", "json"):
        reads.clear()
        pieces = stream_report(report, fmt)
        first = next(pieces)
        assert len(reads) < 50_000, "the first piece came before every row was read"
        assert len(first) < 4 * CHUNK
        assert sum(len(piece) for piece in pieces) > 0 and len(reads) == 50_000


def test_the_more_rows_note_is_translated(app):
    with app.app_context():
        arabic = report_html(sample_report(rows=PDF_ROWS + 5), "ar")
        hebrew = report_html(sample_report(rows=PDF_ROWS + 5), "he")
    assert "5 صفًا آخر في ملف CSV" in arabic and "ועוד 5 שורות נמצאות בייצוא ה-CSV" in hebrew
