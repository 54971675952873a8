"""What the API and the console share to answer a report download: build, render, and the file response."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app

from govern.extensions import db
from govern.reports.document import Period
from govern.reports.render import CONTENT_TYPES, filename, render_report
from govern.reports.service import build_report, check_name


def report_download(name: str, query: dict[str, Any]) -> Response:
    check_name(name)
    period = Period.between(query.get("from_"), query.get("to"))
    report = build_report(db.session, name, period, current_app.extensions["govern.settings"])
    fmt = query.get("format") or "json"
    body = render_report(report, fmt, locale=query.get("locale") or "en")
    response = Response(body, mimetype=CONTENT_TYPES[fmt].split(";")[0], content_type=CONTENT_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(report, fmt)}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Govern-Audit-Seq"] = str(report.chain_head.seq)
    return response
