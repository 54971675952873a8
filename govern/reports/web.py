"""What the API and the console share to answer a report download: build, then stream the file as it is written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response
from sqlalchemy.orm import Session

from govern import app_services
from govern.extensions import db
from govern.reports.document import Period
from govern.reports.render import CONTENT_TYPES, check_format, filename, stream_report
from govern.reports.service import build_report, check_name


class StreamedFile:
    """A response body read from the database while it is sent.

    The request ends as any other does (its wrapper commits, its context closes the session); the body then reads
    the rows on that same session object, which SQLAlchemy lets one use again after close() (a new transaction and
    pooled connection), and closes it when the body is done or when the server closes the body (a client that went
    away). No request or app context is kept open while the file is sent."""

    def __init__(self, session: Session, pieces: Iterator[bytes]) -> None:
        self.session, self.pieces = session, pieces

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.pieces
        finally:
            self.close()

    def close(self) -> None:
        self.session.close()


def report_download(name: str, query: dict[str, Any]) -> Response:
    """The figures are read here (a bad name or period is a 4xx before anything is sent); CSV and JSON rows are read
    while the body is sent."""
    check_name(name)
    fmt = check_format(query.get("format") or "json")
    period = Period.between(query.get("from_"), query.get("to"))
    session = db.session
    report = build_report(session, name, period, app_services.settings())
    pieces = stream_report(report, fmt, locale=query.get("locale") or "en")
    body: Any = b"".join(pieces) if fmt == "pdf" else StreamedFile(session, pieces)
    response = Response(body, mimetype=CONTENT_TYPES[fmt].split(";")[0], content_type=CONTENT_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(report, fmt)}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Govern-Audit-Seq"] = str(report.chain_head.seq)
    return response
