"""Console views of the directory sync: runs (sync now, approve or dismiss a held one), leavers, and the configuration check."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from govern import app_services
from govern.auth.roles import Permission
from govern.config import Settings
from govern.console import pages
from govern.console.labels import (
    departure_step_label,
    departure_steps,
    directory_source_label,
    leaver_signal_label,
    readable_duration,
    sync_count_label,
)
from govern.console.blueprint import ConsolePages
from govern.console.responses import refuse
from govern.directory import service, tasks
from govern.errors import DomainError
from govern.extensions import db
from govern.jobs import enqueue_after_commit
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

routes = ConsolePages()

SYNC_TASKS = {"incremental": tasks.sync_incremental, "full": tasks.sync_full}

routes.template_globals(departure_step_label, departure_steps, directory_source_label, leaver_signal_label, readable_duration,
                        sync_count_label)


def _settings() -> Settings:
    return app_services.settings()


def _runs_page(status: int = 200, **form_state):
    context = pages.sync_runs_page(db.session, directory_configured=bool(_settings().ldap_url))
    return render_template("console/sync_runs.html", **context, **form_state), status


@routes.get("/directory/runs")
@requires(Permission.PEOPLE_READ)
def directory_runs():
    return _runs_page()


@routes.post("/directory/runs/sync")
@requires(Permission.DIRECTORY_SYNC)
def directory_sync():
    """Like POST /api/v1/directory/runs: the sync is a job stored with this request, run once after it commits."""
    task = SYNC_TASKS.get(request.form.get("mode", ""))
    if task is None:
        return _runs_page(422, failed_form="sync", errors={"mode": _("Choose an incremental sync or a full reconciliation.")})
    if not _settings().ldap_url:
        return _runs_page(422, failed_form="sync", refusal=_(
            "No directory is configured, so there is nothing to sync from. Set GOVERN_LDAP_URL and GOVERN_LDAP_BASE_DN first."))
    enqueue_after_commit(db.session, task)
    flash(_("The sync is queued and runs in the background as soon as the job queue takes it: reload this page in a moment to see its run."), "success")
    return redirect(url_for(".directory_runs"))


def _decide(run_id: int, approve: bool):
    try:
        run = service.decide_held_run(db.session, current_actor(), run_id, approve=approve)
    except DomainError as error:
        return refuse(error, _runs_page, failed_form="decide")
    if approve:
        flash(_("Sync run %(id)s approved: everyone it held has departed, and their access was removed.", id=run.id), "success")
    else:
        flash(_("Sync run %(id)s dismissed: nobody departed.", id=run.id), "success")
    return redirect(url_for(".directory_runs"))


@routes.post("/directory/runs/<int:run_id>/approve")
@requires(Permission.DIRECTORY_DECIDE)
def directory_approve(run_id: int):
    return _decide(run_id, approve=True)


@routes.post("/directory/runs/<int:run_id>/dismiss")
@requires(Permission.DIRECTORY_DECIDE)
def directory_dismiss(run_id: int):
    return _decide(run_id, approve=False)


@routes.get("/directory/departures")
@requires(Permission.PEOPLE_READ)
def directory_departures():
    return render_template("console/departures.html", **pages.departures_page(db.session, request.args))


@routes.post("/directory/network-tasks/<int:task_id>/done")
@requires(Permission.ACCOUNTS_CONNECT)
def network_task_done(task_id: int):
    from govern.directory.network_roles import complete_task
    from govern.errors import DomainError

    try:
        complete_task(db.session, current_actor(), task_id)
    except DomainError as error:
        flash(error.detail, "error")
        return render_template("console/departures.html", **pages.departures_page(db.session, {})), error.status
    flash(_("Marked as done at the network."), "success")
    return redirect(url_for(".directory_departures"))


@routes.get("/directory/check")
@requires(Permission.DIRECTORY_SYNC)
def directory_check():
    return render_template("console/directory_check.html", check=pages.directory_check(_settings()))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
