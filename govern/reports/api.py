"""/api/v1/reports: the compliance reports as CSV, JSON or PDF files."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from govern.auth.roles import Permission
from govern.reports.schemas import ReportQuerySchema
from govern.reports.service import REPORTS
from govern.reports.web import report_download
from govern.web.authz import requires

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="Compliance reports for auditors")


@blp.route("/")
class ReportIndex(MethodView):
    @requires(Permission.REPORTS_READ)
    @blp.response(200)
    def get(self):
        """The reports there are."""
        return {"reports": list(REPORTS), "formats": ["csv", "json", "pdf"]}


@blp.route("/<name>")
class ReportDownload(MethodView):
    @requires(Permission.REPORTS_READ)
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, content_type="application/json")
    @blp.alt_response(200, success=True, content_type="text/csv", description="format=csv")
    @blp.alt_response(200, success=True, content_type="application/pdf", description="format=pdf")
    def get(self, query, name):
        """One report over a period, as a file; it names the audit chain head it was read at."""
        return report_download(name, query)
