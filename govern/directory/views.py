"""Console views of the directory sync: runs (sync now, approve or dismiss a held one), leavers, and the configuration check."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from typing import Any

import structlog
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from govern import app_services
from govern.adapters.directory import DirectoryError
from govern.auth.roles import Permission
from govern.config import ConfigurationError, Settings
from govern.console import forms
from govern.console.blueprint import ConsolePages
from govern.console.labels import (
    departure_step_label,
    departure_steps,
    directory_source_label,
    leaver_signal_label,
    readable_duration,
    sync_count_label,
)
from govern.console.responses import refusal, refuse
from govern.directory import service, tasks
from govern.directory.models import SyncMode, SyncRun, SyncStatus
from govern.errors import DomainError
from govern.extensions import db
from govern.jobs import enqueue_after_commit
from govern.pagination import InvalidCursor
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

routes = ConsolePages()
log = structlog.get_logger("govern.console")
SYNC_TASKS = {"incremental": tasks.sync_incremental, "full": tasks.sync_full}
RUNS_LIMIT = 50
DEPARTURES_PER_PAGE = 50
NETWORK_TASKS_PER_PAGE = 25
DIRECTORY_SAMPLE = 5

routes.template_globals(departure_step_label, departure_steps, directory_source_label, leaver_signal_label, readable_duration,
                        sync_count_label)


def _settings() -> Settings:
    return app_services.settings()


def _sync_runs(session: Session, directory_configured: bool) -> dict[str, Any]:
    """Recent runs, and every held run however old: a held run waits for a decision even after a day of minutely syncs.
    Syncs asked for that have not run yet are listed too, with whether the job queue has them."""
    from govern.outbox.service import waiting_jobs

    held = list(session.scalars(select(SyncRun).where(SyncRun.status == SyncStatus.HELD).order_by(SyncRun.id.desc())))
    modes = {tasks.sync_full.name: SyncMode.FULL, tasks.sync_incremental.name: SyncMode.INCREMENTAL}
    waiting = [(job, modes[job.task]) for job in waiting_jobs(session, modes)]
    return {"runs": service.list_runs(session, RUNS_LIMIT), "held_runs": held, "directory_configured": directory_configured,
            "waiting_syncs": waiting}


def _departures(session: Session, args: Mapping[str, str]) -> dict[str, Any]:
    """A page of leavers, newest first, and a page of the removals still to do at the networks, oldest first; a
    stale or forged cursor starts that list again from its first page, saying so."""
    from govern.directory.network_roles import open_tasks_page

    problem = None
    try:
        page = service.departures_page(session, DEPARTURES_PER_PAGE, args.get("cursor") or None)
    except InvalidCursor:
        page, problem = service.departures_page(session, DEPARTURES_PER_PAGE), forms.problem_with("cursor")
    try:
        to_do = open_tasks_page(session, NETWORK_TASKS_PER_PAGE, args.get("tasks_cursor") or None)
    except InvalidCursor:
        to_do, problem = open_tasks_page(session, NETWORK_TASKS_PER_PAGE), forms.problem_with("cursor")
    return {"departures": page.items, "departures_page": page, "paging_problem": problem,
            "network_tasks": to_do.items, "network_tasks_page": to_do}


def _check(settings: Settings) -> dict[str, Any]:
    """What `govern directory test` shows: bind, read a sample and show how it maps; a readable problem, never a raise."""
    from govern.adapters.directory_factory import build_directory

    shown = {"configured": bool(settings.ldap_url), "flavor": settings.ldap_flavor, "urls": settings.ldap_url,
             "base_dn": settings.ldap_base_dn, "group_dn": settings.ldap_group_dn, "sample": [], "names_by_key": {},
             "problem": None}
    if not shown["configured"]:
        return shown
    source = None
    try:
        source = build_directory(settings)
        source.check()
        shown["sample"] = list(islice(source.all_entries(page_size=50), DIRECTORY_SAMPLE))
        shown["names_by_key"] = {entry.key: entry.display_name for entry in shown["sample"]}  # managers within the sample
    except ConfigurationError as exc:
        shown["problem"] = ("settings", str(exc))
    except DirectoryError as exc:
        shown["problem"] = ("directory", str(exc))
    except Exception as exc:  # noqa: BLE001 - a diagnostic page reports any failure of the adapter instead of a 500
        log.warning("directory_check_failed", error=type(exc).__name__)
        shown["problem"] = ("directory", f"{type(exc).__name__}: {exc}")
    finally:
        if source is not None and hasattr(source, "close"):
            source.close()
    return shown


def _runs_page(status: int = 200, **form_state):
    context = _sync_runs(db.session, directory_configured=bool(_settings().ldap_url))
    return render_template("directory/sync_runs.html", **context, **form_state), status


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
    return render_template("directory/departures.html", **_departures(db.session, request.args))


@routes.post("/directory/network-tasks/<int:task_id>/done")
@requires(Permission.ACCOUNTS_CONNECT)
def network_task_done(task_id: int):
    from govern.directory.network_roles import complete_task
    from govern.errors import DomainError

    try:
        complete_task(db.session, current_actor(), task_id)
    except DomainError as error:
        flash(refusal(error), "error")
        return render_template("directory/departures.html", **_departures(db.session, {})), error.status
    flash(_("Marked as done at the network."), "success")
    return redirect(url_for(".directory_departures"))


@routes.get("/directory/check")
@requires(Permission.DIRECTORY_SYNC)
def directory_check():
    return render_template("directory/check.html", check=_check(_settings()))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
