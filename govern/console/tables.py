"""What every list page of the console offers beyond its first page: the whole filtered list as a CSV file."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from flask import Response, render_template, stream_with_context
from flask_babel import gettext as _

from govern.db import utcnow
from govern.pagination import Page
from govern.text import spreadsheet_safe

EXPORT_BATCH = 500


def safe_cell(value: Any) -> str:
    """A value as a CSV cell a spreadsheet shows as text: never a formula, whatever a handle or a name holds."""
    return spreadsheet_safe("" if value is None else str(value))


def moment_cell(moment: datetime | None) -> str:
    """A time as a spreadsheet cell: ISO 8601 to the second (UTC), or empty."""
    return moment.isoformat(timespec="seconds") if moment else ""


def refused_filters(errors: dict[str, str]) -> tuple[str, int]:
    """An export asked for with filters the list itself would refuse: the readable 400 page."""
    return render_template("console/error.html", status=400, title=_("This request could not be used"), errors=errors), 400


def every_row(fetch: Callable[[str | None], Page[Any]]) -> Iterator[Any]:
    """Every row of a keyset-paged list, a batch at a time (`fetch(cursor)` returns one page)."""
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def csv_download(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV file streamed as it is written (a list of 100,000 rows never sits in memory), UTF-8 with a byte-order
    mark so spreadsheets read Arabic and Hebrew right; the file name says what and when."""

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow([safe_cell(cell) for cell in header])
        for count, row in enumerate(rows, start=1):
            writer.writerow([safe_cell(cell) for cell in row])
            if count % 200 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    filename = f"govern-{name}-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(stream_with_context(lines()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
