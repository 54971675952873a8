"""/api/v1/runbooks and /api/v1/incidents: crisis runbooks, their holding statements (a second person approves),
activating one, and running its incident (steps, a statement during the pause, close, the report)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from govern import app_services
from govern.auth.roles import Permission
from govern.extensions import db
from govern.runbooks import service
from govern.runbooks.schemas import (
    IncidentCloseSchema, IncidentEscalateSchema, IncidentQuerySchema, IncidentReportQuerySchema, IncidentSchema, RunbookActivateSchema,
    RunbookPatchSchema, RunbookSchema, RunbookStatementSchema, RunbookWriteSchema, StatementReleaseRequestSchema,
    StatementReleaseSchema,
)
from govern.runbooks.web import incident_report_pdf
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

blp = Blueprint("runbooks", __name__, url_prefix="/api/v1",
                description="Crisis runbooks: contacts, checklist and pre-approved holding statements; their incidents")


def _person() -> int | None:
    return current_principal().person_id


@blp.route("/runbooks")
class Runbooks(MethodView):
    @requires(Permission.RUNBOOKS_READ)
    @blp.response(200, RunbookSchema(many=True))
    def get(self):
        """Every runbook, by name."""
        return service.list_runbooks(db.session)

    @requires(Permission.RUNBOOKS_MANAGE)
    @blp.arguments(RunbookWriteSchema)
    @blp.response(201, RunbookSchema)
    def post(self, data):
        """Write a runbook. Its statements are pre-approved only once a second person approves each."""
        return service.create_runbook(db.session, current_actor(), _person(), data)


@blp.route("/runbooks/<int:runbook_id>")
class RunbookDetail(MethodView):
    @requires(Permission.RUNBOOKS_READ)
    @blp.response(200, RunbookSchema)
    def get(self, runbook_id):
        """One runbook."""
        return service.get_runbook(db.session, runbook_id)

    @requires(Permission.RUNBOOKS_MANAGE)
    @blp.arguments(RunbookWriteSchema)
    @blp.response(200, RunbookSchema)
    def put(self, data, runbook_id):
        """Replace the runbook's fields; statements given are added (an unchanged text keeps its approval)."""
        return service.update_runbook(db.session, current_actor(), _person(), runbook_id, data)

    @requires(Permission.RUNBOOKS_MANAGE)
    @blp.arguments(RunbookPatchSchema)
    @blp.response(200, RunbookSchema)
    def patch(self, data, runbook_id):
        """Change the fields given."""
        return service.update_runbook(db.session, current_actor(), _person(), runbook_id, data)


@blp.route("/runbooks/<int:runbook_id>/statements/<int:statement_id>/approve")
class StatementApprove(MethodView):
    @requires(Permission.RUNBOOKS_MANAGE)
    @blp.response(200, RunbookStatementSchema)
    def post(self, runbook_id, statement_id):
        """Approve a holding statement: a second person; its author gets 409 (second-person-required)."""
        return service.approve_statement(db.session, current_actor(), _person(), runbook_id, statement_id)


@blp.route("/runbooks/<int:runbook_id>/activate")
class RunbookActivate(MethodView):
    @requires(Permission.INCIDENTS_LEAD)
    @blp.arguments(RunbookActivateSchema)
    @blp.response(201, IncidentSchema)
    def post(self, data, runbook_id):
        """Activate: pause the scope (unless `pause` is false or the runbook says not to), notify the first stage's
        contacts, open an incident. 409 while the runbook already has an open incident."""
        return service.activate(db.session, current_actor(), _person(), runbook_id, data["severity"], data["reason"],
                                data["pause"])


@blp.route("/incidents")
class Incidents(MethodView):
    @requires(Permission.RUNBOOKS_READ)
    @blp.arguments(IncidentQuerySchema, location="query")
    @blp.response(200, IncidentSchema(many=True))
    def get(self, query):
        """Incidents, newest first (filter with `status`)."""
        return service.list_incidents(db.session, query["status"])


@blp.route("/incidents/<int:incident_id>")
class IncidentDetail(MethodView):
    @requires(Permission.RUNBOOKS_READ)
    @blp.response(200, IncidentSchema)
    def get(self, incident_id):
        """One incident with its timeline."""
        return service.get_incident(db.session, incident_id)


@blp.route("/incidents/<int:incident_id>/steps/<step>/done")
class IncidentStep(MethodView):
    @requires(Permission.INCIDENTS_LEAD)
    @blp.response(200, IncidentSchema)
    def post(self, incident_id, step):
        """Tick a checklist step."""
        return service.tick_step(db.session, current_actor(), _person(), incident_id, step)


@blp.route("/incidents/<int:incident_id>/close")
class IncidentClose(MethodView):
    @requires(Permission.INCIDENTS_LEAD)
    @blp.arguments(IncidentCloseSchema)
    @blp.response(200, IncidentSchema)
    def post(self, data, incident_id):
        """Close the incident (its pause stays until a second person resumes it)."""
        return service.close_incident(db.session, current_actor(), _person(), incident_id, data["note"])


@blp.route("/incidents/<int:incident_id>/escalate")
class IncidentEscalate(MethodView):
    @requires(Permission.INCIDENTS_LEAD)
    @blp.arguments(IncidentEscalateSchema)
    @blp.response(200, IncidentSchema)
    def post(self, data, incident_id):
        """Escalate to the runbook's next stage and notify its contacts. 409 when closed (incident-closed) or already
        at the last stage (last-stage)."""
        return service.escalate(db.session, current_actor(), _person(), incident_id, data["note"])


@blp.route("/incidents/<int:incident_id>/statements")
class IncidentStatements(MethodView):
    @requires(Permission.RUNBOOKS_READ)
    @blp.response(200, StatementReleaseSchema(many=True))
    def get(self, incident_id):
        """The statement releases asked for during the incident."""
        service.get_incident(db.session, incident_id)
        return service.releases_of(db.session, incident_id)

    @requires(Permission.INCIDENTS_LEAD)
    @blp.arguments(StatementReleaseRequestSchema)
    @blp.response(201, StatementReleaseSchema)
    def post(self, data, incident_id):
        """Ask to publish a pre-approved statement to an account in scope; a second person confirms it."""
        return service.request_statement(db.session, current_actor(), _person(), incident_id, data["statement_id"],
                                         data["account_id"])


@blp.route("/incidents/<int:incident_id>/statements/<int:release_id>/confirm")
class IncidentStatementConfirm(MethodView):
    @requires(Permission.INCIDENTS_LEAD)
    @blp.response(200, StatementReleaseSchema)
    def post(self, incident_id, release_id):
        """Confirm (a second person): the statement is published through the broker, past the pause for this exact
        text and account, once. `status` says published or failed (with the reason)."""
        return service.confirm_statement(db.session, app_services.broker(), current_actor(), _person(), incident_id,
                                         release_id)


@blp.route("/incidents/<int:incident_id>/report.pdf")
class IncidentReport(MethodView):
    @requires(Permission.RUNBOOKS_READ)
    @blp.arguments(IncidentReportQuerySchema, location="query")
    @blp.response(200, content_type="application/pdf")
    def get(self, query, incident_id):
        """The post-incident report (en, ar or he) from the timeline and the audit events about the incident."""
        return incident_report_pdf(incident_id, query["lang"])
