"""/api/v1/audit/evidence-exports: evidence bundles of a period, prepared in the background and downloaded when done."""

from __future__ import annotations

from flask import send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from govern import app_services
from govern.auth.roles import Permission
from govern.evidence import service
from govern.evidence.tasks import queue_export
from govern.extensions import db
from govern.schemas_common import AwareDateTime
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

# under the audit trail's URLs, where auditors have always found them
blp = Blueprint("evidence", __name__, url_prefix="/api/v1/audit",
                description="Evidence bundles: every report of a period with its sealed audit events")


class EvidenceExportRequest(Schema):
    from_ = AwareDateTime(data_key="from", required=True, metadata={"description": "Start of the period (UTC)."})
    to = AwareDateTime(required=True, metadata={"description": "End of the period (UTC, exclusive)."})


class EvidenceExportSchema(Schema):
    id = fields.Integer()
    job_id = fields.String(allow_none=True)
    requested_by = fields.String()
    period_from = fields.DateTime()
    period_to = fields.DateTime()
    state = fields.Function(lambda export: export.state.value, metadata={"description": "queued | running | done | failed"})
    stage = fields.String(metadata={"description": "What is being written now."})
    progress_done = fields.Integer()
    progress_total = fields.Integer(metadata={"description": "Events plus report rows to write."})
    progress_at = fields.DateTime(allow_none=True, metadata={"description": "When progress was last written; a running export silent for 15 minutes has stalled (its worker stopped)."})
    percent = fields.Integer()
    size_bytes = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


@blp.route("/evidence-exports")
class EvidenceExports(MethodView):
    @requires(Permission.AUDIT_READ)
    @blp.response(200, EvidenceExportSchema(many=True))
    def get(self):
        """Recent evidence bundles asked for, newest first."""
        return service.recent_exports(db.session)

    @requires(Permission.AUDIT_READ)
    @blp.arguments(EvidenceExportRequest)
    @blp.response(202, EvidenceExportSchema)
    def post(self, data):
        """Prepare the evidence bundle of a period in the background (a job); read its progress at
        /audit/evidence-exports/{id} and download it from .../bundle when its state is done."""
        export = service.request_export(db.session, current_actor(), data["from_"], data["to"])
        queue_export(export)
        return export


@blp.route("/evidence-exports/<int:export_id>")
class EvidenceExportState(MethodView):
    @requires(Permission.AUDIT_READ)
    @blp.response(200, EvidenceExportSchema)
    def get(self, export_id):
        """One evidence bundle's state and progress."""
        return service.get_export(db.session, export_id)


@blp.route("/evidence-exports/<int:export_id>/bundle")
class EvidenceExportBundle(MethodView):
    @requires(Permission.AUDIT_READ)
    @blp.response(200, content_type="application/zip")
    def get(self, export_id):
        """The bundle file once its state is done (409 before; 404 once expired); the download is audited."""
        export, path = service.download_path(db.session, current_actor(),
                                             app_services.settings().instance_path, export_id)
        return send_file(path, mimetype="application/zip", as_attachment=True, download_name=export.file_name, max_age=0)
