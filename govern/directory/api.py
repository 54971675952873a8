"""/api/v1/directory: sync runs (approve or dismiss a held one), departures, and a sync on demand."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from govern import app_services
from govern.auth.roles import Permission
from govern.directory import network_roles, service, tasks
from govern.directory.schemas import (
    DepartureSchema,
    OffboardingTaskSchema,
    SyncQueuedSchema,
    SyncRequestSchema,
    SyncRunSchema,
)
from govern.errors import InvalidOperation
from govern.extensions import db
from govern.jobs import enqueue_after_commit
from govern.outbox import service as outbox
from govern.outbox.schemas import JobSchema
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

blp = Blueprint("directory", __name__, url_prefix="/api/v1/directory", description="Directory sync and departures")
SYNC_TASKS = (tasks.sync_incremental.name, tasks.sync_full.name)


@blp.route("/runs")
class SyncRuns(MethodView):
    @requires(Permission.PEOPLE_READ)
    @blp.response(200, SyncRunSchema(many=True))
    def get(self):
        """Recent sync runs, newest first; held runs wait for a governance decision."""
        return service.list_runs(db.session)

    @requires(Permission.DIRECTORY_SYNC)
    @blp.arguments(SyncRequestSchema)
    @blp.response(202, SyncQueuedSchema)
    def post(self, data):
        """Sync now (incremental, or a full reconciliation): a job, stored with this request and run once after it
        (`delivered` is false until the broker has it; read its state at /directory/sync-jobs/{job_id})."""
        if not app_services.settings().ldap_url:
            raise InvalidOperation("no directory is configured (GOVERN_LDAP_URL)")
        job = enqueue_after_commit(db.session, tasks.sync_full if data["full"] else tasks.sync_incremental)
        return {**outbox.job_document(job), "full": data["full"]}


@blp.route("/sync-jobs/<job_id>")
class SyncJob(MethodView):
    @requires(Permission.PEOPLE_READ)
    @blp.response(200, JobSchema)
    def get(self, job_id):
        """A sync asked for on demand: pending, delivered (waiting for a worker), done or failed."""
        return outbox.job_document(outbox.get_job(db.session, job_id, SYNC_TASKS))


@blp.route("/runs/<int:run_id>/approve")
class ApproveRun(MethodView):
    @requires(Permission.DIRECTORY_DECIDE)
    @blp.response(200, SyncRunSchema)
    def post(self, run_id):
        """Approve a held run: its departures happen now."""
        return service.decide_held_run(db.session, current_actor(), run_id, approve=True)


@blp.route("/runs/<int:run_id>/dismiss")
class DismissRun(MethodView):
    @requires(Permission.DIRECTORY_DECIDE)
    @blp.response(200, SyncRunSchema)
    def post(self, run_id):
        """Dismiss a held run: nobody departs."""
        return service.decide_held_run(db.session, current_actor(), run_id, approve=False)


@blp.route("/departures")
class Departures(MethodView):
    @requires(Permission.PEOPLE_READ)
    @blp.response(200, DepartureSchema(many=True))
    def get(self):
        """Leavers, newest first, with what was removed and the time to revoke."""
        return service.departures(db.session)


@blp.route("/offboarding-tasks")
class OffboardingTasks(MethodView):
    @requires(Permission.PEOPLE_READ)
    @blp.response(200, OffboardingTaskSchema(many=True))
    def get(self):
        """Removals at the networks that a person must do by hand, with the exact steps."""
        return network_roles.open_tasks(db.session)


@blp.route("/offboarding-tasks/<int:task_id>/done")
class OffboardingTaskDone(MethodView):
    @requires(Permission.ACCOUNTS_CONNECT)
    @blp.response(200, OffboardingTaskSchema)
    def post(self, task_id):
        """Record that the removal was done at the network."""
        return network_roles.complete_task(db.session, current_actor(), task_id)
