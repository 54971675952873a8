"""Rendering a Report as CSV, JSON or PDF (WeasyPrint from a Jinja template; Pango shapes Arabic and Hebrew)."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from govern.locales import RTL_LOCALES
from govern.reports.document import BadReportRequest, Cell, Chart, Report, Section
from govern.reports.labels import Presenter
from govern.text import spreadsheet_safe

RENDER_FORMATS = ("csv", "json", "pdf")
REPORT_FORMATS_STREAMED = ("csv", "json")  # every row written; the PDF shows the first PDF_ROWS
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json", "pdf": "application/pdf"}
TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "reports"


PDF_ROWS = 200  # rows of each table the PDF shows; the rest are in the CSV and JSON
CHUNK = 64 * 1024  # bytes gathered before a piece of a streamed file is handed on

RowsWritten = Callable[[int], None]  # told how many more rows were written (a progress bar)


def render_report(report: Report, fmt: str, locale: str = "en") -> bytes:
    """The whole file in memory: for small reports and tests; the CLI, the API and the bundle stream it."""
    return b"".join(stream_report(report, fmt, locale))


def stream_report(report: Report, fmt: str, locale: str = "en", on_rows: RowsWritten | None = None) -> Iterator[bytes]:
    """The file in pieces of about CHUNK bytes, rows read from the database as they are written."""
    if fmt == "json":
        return _chunked(_json_pieces(report, on_rows))
    if fmt == "csv":
        return _chunked(_csv_pieces(report, on_rows))
    if fmt == "pdf":
        return iter([render_pdf(report, locale)])
    raise BadReportRequest("unknown format %(fmt)s; use one of: %(value)s", fmt=f"{fmt!r}", value=', '.join(RENDER_FORMATS))


def check_format(fmt: str) -> str:
    if fmt not in RENDER_FORMATS:
        raise BadReportRequest("unknown format %(fmt)s; use one of: %(value)s", fmt=f"{fmt!r}", value=', '.join(RENDER_FORMATS))
    return fmt


def _chunked(pieces: Iterable[str]) -> Iterator[bytes]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode("utf-8")


def filename(report: Report, fmt: str) -> str:
    day = "%Y%m%d"
    return f"govern-{report.name}-{report.period.start.strftime(day)}-{report.period.last_day.strftime(day)}.{fmt}"


# --- JSON -----------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def report_metadata(report: Report) -> dict[str, Any]:
    """Everything in the report but the section rows, JSON-ready (datetimes as ISO 8601 UTC)."""
    checkpoint = report.checkpoint
    return {
        "report": report.name,
        "title": report.title,
        "period": report.period.as_json(),
        "generated_at": report.generated_at.isoformat(),
        "basis": list(report.basis),
        "frameworks": list(report.frameworks),
        "chain_head": {"seq": report.chain_head.seq, "hash": report.chain_head.hash},
        "checkpoint": None if checkpoint is None else {
            "seq": checkpoint.seq, "key_id": checkpoint.key_id, "signed_at": checkpoint.signed_at.isoformat(),
            "head_hash": checkpoint.head_hash,
        },
        "alerts": list(report.alerts),
        "summary": {key: _plain(value) for key, value in report.summary.items()},
    }


def report_document(report: Report) -> dict[str, Any]:
    """Everything in the report as one JSON-ready object, rows included (in memory: small reports and tests)."""
    return {**report_metadata(report), "sections": [
        {"key": s.key, "title": s.title, "columns": list(s.columns), "count": s.count,
         "rows": [[_plain(c) for c in row] for row in s.iter_rows()]} for s in report.sections]}


def _json_cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _json_pieces(report: Report, on_rows: RowsWritten | None) -> Iterator[str]:
    """One JSON object like report_document's, written as it is read: the metadata, then each section's rows,
    one row a line."""
    head = json.dumps(report_metadata(report), ensure_ascii=False, indent=2)
    yield head[:-2] + ',\n  "sections": ['
    for number, section in enumerate(report.sections):
        opening = {"key": section.key, "title": section.title, "columns": list(section.columns), "count": section.count}
        yield ("," if number else "") + "\n    " + json.dumps(opening, ensure_ascii=False)[:-1] + ', "rows": ['
        written = 0
        for row in section.iter_rows():
            yield ("," if written else "") + "\n      " + orjson.dumps(row, default=_json_cell).decode()
            written += 1
            if on_rows is not None and written % 1000 == 0:
                on_rows(1000)
        if on_rows is not None:
            on_rows(written % 1000)
        yield ("\n    " if written else "") + "]}"
    yield "\n  ]\n}\n"


def render_json(report: Report) -> bytes:
    return render_report(report, "json")


# --- CSV ------------------------------------------------------------------------------------------
def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return spreadsheet_safe(str(value)) if isinstance(value, str) else str(value)


class _Lines:
    """What csv.writer writes into, handed on line by line."""

    def __init__(self) -> None:
        self.pieces: list[str] = []

    def write(self, text: str) -> None:
        self.pieces.append(text)

    def take(self) -> Iterator[str]:
        pieces, self.pieces = self.pieces, []
        return iter(pieces)


def _csv_pieces(report: Report, on_rows: RowsWritten | None) -> Iterator[str]:
    """Blocks separated by one empty line; each opens with a marker row ([metadata], [summary], [section:KEY]),
    then a header row, then data rows. See docs/reports.md."""
    document = report_metadata(report)
    out = _Lines()
    writer = csv.writer(out, lineterminator="\r\n")
    metadata: list[tuple[str, Any]] = [
        ("report", report.name), ("title", report.title), ("period_from", document["period"]["from"]),
        ("period_to", document["period"]["to"]), ("period_last_day", document["period"]["last_day"]),
        ("generated_at", document["generated_at"]),
        ("chain_head_seq", report.chain_head.seq), ("chain_head_hash", report.chain_head.hash),
    ]
    checkpoint = document["checkpoint"] or {}
    metadata += [(f"checkpoint_{key}", checkpoint.get(key)) for key in ("seq", "key_id", "signed_at", "head_hash")]
    metadata += [("basis", basis) for basis in report.basis]
    metadata += [("framework", framework) for framework in report.frameworks]
    metadata += [("alert", alert) for alert in report.alerts]
    writer.writerow(["[metadata]"])
    writer.writerow(["field", "value"])
    writer.writerows([(key, _csv_cell(value)) for key, value in metadata])
    writer.writerow([])
    writer.writerow(["[summary]"])
    writer.writerow(["figure", "value"])
    writer.writerows([(key, _csv_cell(value)) for key, value in report.summary.items()])
    yield from out.take()
    for section in report.sections:
        writer.writerow([])
        writer.writerow([f"[section:{section.key}]"])
        writer.writerow(section.columns)
        written = 0
        for row in section.iter_rows():
            writer.writerow([_csv_cell(cell) for cell in row])
            yield from out.take()
            written += 1
            if on_rows is not None and written % 1000 == 0:
                on_rows(1000)
        if on_rows is not None:
            on_rows(written % 1000)
        yield from out.take()


def render_csv(report: Report) -> bytes:
    return render_report(report, "csv")


def parse_csv(data: bytes) -> dict[str, dict[str, Any]]:
    """The blocks of a report CSV: {marker: {"header": [...], "rows": [[...], ...]}} (all values as text)."""
    blocks: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for row in csv.reader(io.StringIO(data.decode("utf-8"), newline="")):
        if not row:
            current = None
        elif current is None:
            current = blocks[row[0].strip("[]")] = {"header": None, "rows": []}
        elif current["header"] is None:
            current["header"] = row
        else:
            current["rows"].append(row)
    return blocks


# --- PDF ------------------------------------------------------------------------------------------
def _translator(locale: str):
    """gettext in `locale` when an app is there to give the catalogues; English otherwise."""
    try:
        from flask import has_app_context
        from flask_babel import force_locale, gettext
    except ImportError:  # pragma: no cover - flask-babel is a dependency
        return lambda text, **values: text % values if values else text
    if not has_app_context():
        return lambda text, **values: text % values if values else text

    def translate(text: str, **values: Any) -> str:
        with force_locale(locale):
            return gettext(text, **values)

    return translate


def _table_size(section: Section) -> str:
    """A smaller type for a table with many columns, so that every column fits the page's width."""
    columns = len(section.columns)
    return "wide" if columns > 14 else "medium" if columns > 9 else "narrow"


def chart_rows(chart: Chart, present: Presenter) -> list[tuple[str, str, float]]:
    """A chart's bars as (label, value, length in % of the longest): drawn as an HTML table, which WeasyPrint lays out
    right to left and shapes (its SVG text is neither), and which is the chart's own data table."""
    biggest = max([value for _label, value in chart.bars] + [chart.threshold or 0]) or 1
    return [(present.chart_bar(chart.codes, label), present.number(value), round(100 * value / biggest, 1))
            for label, value in chart.bars]


def report_html(report: Report, locale: str = "en") -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    translate = _translator(locale)
    present = Presenter(locale, translate, report.network_names, report.actor_names)
    template = environment.get_template("report.html")
    charts = [(present.text(chart.title), chart_rows(chart, present),
               present.text(chart.threshold_label) if chart.threshold is not None else "") for chart in report.charts]
    tables = [pdf_table(section) for section in report.sections]
    return template.render(report=report, locale=locale, direction="rtl" if locale in RTL_LOCALES else "ltr",
                           charts=charts, tables=tables, _=translate, present=present, number=present.number,
                           period=report.period.shown(), whole_days=report.period.whole_days, table_size=_table_size)


def pdf_table(section: Section, limit: int = PDF_ROWS) -> tuple[Section, list[tuple[Cell, ...]], int]:
    """A section as the PDF shows it: its first `limit` rows, and how many more the CSV and JSON hold."""
    shown = list(islice(section.iter_rows(), limit))
    return section, shown, max(section.count - len(shown), 0)


def render_pdf(report: Report, locale: str = "en") -> bytes:
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):  # page-by-page progress is not worth a log line
        logging.getLogger(name).setLevel(logging.WARNING)
    from weasyprint import HTML

    return HTML(string=report_html(report, locale), base_url=str(TEMPLATES)).write_pdf()
