"""The post-incident report as a PDF response, for the API and the console alike."""

from __future__ import annotations

from flask import Response
from flask_babel import force_locale

from govern.extensions import db
from govern.reports.render import render_pdf
from govern.runbooks.report import incident_report
from govern.runbooks.service import LANGUAGES, get_incident


def incident_report_pdf(incident_id: int, lang: str) -> Response:
    locale = lang if lang in LANGUAGES else "en"
    incident = get_incident(db.session, incident_id)
    with force_locale(locale):
        report = incident_report(db.session, incident)
    body = render_pdf(report, locale)
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="incident-{incident.id}-{locale}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Govern-Audit-Seq"] = str(report.chain_head.seq)
    return response
