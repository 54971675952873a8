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
from govern.console import forms, pages
from govern.console.blueprint import ConsolePages
from govern.console.labels import (
    N_,
    departure_step_label,
    departure_steps,
    directory_source_label,
    label,
    leaver_signal_label,
    readable_duration,
    sync_count_label,
)
from govern.console.responses import refusal, refuse
from govern.console.tables import EXPORT_BATCH, csv_download, every_row, moment_cell, refused_filters
from govern.db import utcnow
from govern.directory import service, tasks
from govern.directory.models import Departure, SyncMode, SyncRun, SyncStatus
from govern.directory.schemas import DIRECTORY_SOURCES, DepartureListArgs, RunListArgs
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
DEPARTURE_STATES = {"pending": N_("Pending"), "complete": N_("Complete")}
SLA_OUTCOMES = {"met": N_("SLA met"), "breached": N_("SLA breached")}

routes.template_globals(departure_step_label, departure_steps, directory_source_label, leaver_signal_label, readable_duration,
                        sync_count_label)


def _settings() -> Settings:
    return app_services.settings()


def _runs_list(session: Session, args: Mapping[str, str]):
    """A page of the runs the filters select, its total, or the readable problems with the filters."""
    return pages.counted_listing(session, args, RunListArgs(), _list_runs, service.RunFilter, service.count_runs)


def _list_runs(session: Session, chosen: service.RunFilter, **paging: Any):
    return service.runs_page(session, chosen, **paging)


def _sync_runs(session: Session, directory_configured: bool, args: Mapping[str, str]) -> dict[str, Any]:
    """Runs a page at a time under the list's filters, and every held run however old: a held run waits for a decision
    even after a day of minutely syncs. Syncs asked for that have not run yet are listed too, with whether the job
    queue has them."""
    from govern.outbox.service import waiting_jobs

    held = list(session.scalars(select(SyncRun).where(SyncRun.status == SyncStatus.HELD).order_by(SyncRun.id.desc())))
    modes = {tasks.sync_full.name: SyncMode.FULL, tasks.sync_incremental.name: SyncMode.INCREMENTAL}
    waiting = [(job, modes[job.task]) for job in waiting_jobs(session, modes)]
    results, total, errors = _runs_list(session, args)
    return {"runs": results.items if results else [], "results": results, "total": total, "filter_errors": errors,
            "statuses": list(SyncStatus), "modes": list(SyncMode), "sources": DIRECTORY_SOURCES, "held_runs": held,
            "directory_configured": directory_configured, "waiting_syncs": waiting}


def _departure_filter(**filters: Any) -> service.DepartureFilter:
    """The leavers list's filters, with the SLA the leavers report measures against."""
    return service.DepartureFilter(**filters, sla_hours=float(_settings().leaver_revocation_sla_hours))


def _list_departures(session: Session, chosen: service.DepartureFilter, **paging: Any):
    return service.departures_page(session, filters=chosen, **paging)


def _departures(session: Session, args: Mapping[str, str]) -> dict[str, Any]:
    """A page of the leavers the filters select (newest first, or by name) with its total, and a page of the removals
    still to do at the networks, oldest first; a stale or forged cursor starts that list again from its first page,
    saying so. Filters the list cannot use are readable problems (a 400)."""
    from govern.directory.network_roles import open_tasks_page

    def listed(query: Mapping[str, str]):
        return pages.counted_listing(session, query, DepartureListArgs(), _list_departures, _departure_filter,
                                     service.count_departures)

    problem = None
    results, total, errors = listed(args)
    if set(errors) == {"cursor"}:
        problem = errors.pop("cursor")
        results, total, errors = listed({key: value for key, value in args.items() if key != "cursor"})
    try:
        to_do = open_tasks_page(session, NETWORK_TASKS_PER_PAGE, args.get("tasks_cursor") or None)
    except InvalidCursor:
        to_do, problem = open_tasks_page(session, NETWORK_TASKS_PER_PAGE), forms.problem_with("cursor")
    shown = results.items if results else []
    return {"departures": shown, "departures_page": results, "total": total, "filter_errors": errors,
            "paging_problem": problem, "pending": service.departure_pending(session, [d.id for d in shown]),
            "network_tasks": to_do.items, "network_tasks_page": to_do, "sources": DIRECTORY_SOURCES,
            "departure_states": DEPARTURE_STATES, "sla_outcomes": SLA_OUTCOMES,
            "sla_hours": f"{float(_settings().leaver_revocation_sla_hours):g}"}


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
    context = _sync_runs(db.session, bool(_settings().ldap_url), request.args)
    page = render_template("directory/sync_runs.html", **context, **form_state)
    return page, 400 if context["filter_errors"] and status < 400 else status


@routes.get("/directory/runs")
@requires(Permission.PEOPLE_READ)
def directory_runs():
    return _runs_page()


@routes.get("/directory/runs/export.csv")
@requires(Permission.PEOPLE_READ)
def directory_runs_csv():
    """Every sync run the list's filters select, in the list's order, as a spreadsheet reads it."""
    args, errors = forms.load(RunListArgs(), request.args)
    if errors:
        return refused_filters(errors)
    filters, paging = forms.split_paging(args)
    chosen, sort = service.RunFilter(**filters), paging.get("sort", "started_at")
    rows = every_row(lambda cursor: service.runs_page(db.session, chosen, sort, EXPORT_BATCH, cursor))
    header = [_("Run"), _("Source"), _("Mode"), _("Status"), _("Started"), _("Finished"), _("Duration"), _("Counts"),
              _("Error"), _("Decided by"), _("Decided")]
    return csv_download("sync-runs", header, (
        (run.id, directory_source_label(run.source), label(run.mode), label(run.status), moment_cell(run.started_at),
         moment_cell(run.finished_at),
         readable_duration((run.finished_at - run.started_at).total_seconds()) if run.finished_at else "",
         "; ".join(f"{sync_count_label(name)}: {number}" for name, number in (run.counts or {}).items()),
         run.error or "", run.decided_by or "", moment_cell(run.decided_at))
        for run in rows))


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
    context = _departures(db.session, request.args)
    return render_template("directory/departures.html", **context), 400 if context["filter_errors"] else 200


@routes.get("/directory/departures/export.csv")
@requires(Permission.PEOPLE_READ)
def directory_departures_csv():
    """Every leaver the list's filters select, in the list's order: why, when, what was removed, the SLA."""
    args, errors = forms.load(DepartureListArgs(), request.args)
    if errors:
        return refused_filters(errors)
    filters, paging = forms.split_paging(args)
    chosen, sort = _departure_filter(**filters), paging.get("sort", "first_seen_at")
    pending: set[int] = set()
    now = utcnow()

    def fetch(cursor: str | None):
        page = service.departures_page(db.session, EXPORT_BATCH, cursor, chosen, sort)
        pending.update(service.departure_pending(db.session, [departure.id for departure in page.items]))
        return page

    header = [_("Person"), _("Email"), _("Source"), _("Why"), _("Directory changed"), _("Seen by govern"),
              _("Access removed"), _("Time to revoke"), _("SLA"), _("Progress"), _("Offboarding checklist")]
    return csv_download("leavers", header, (_departure_row(departure, departure.id in pending, chosen.sla_hours, now)
                                           for departure in every_row(fetch)))


def _departure_row(departure: Departure, pending: bool, sla_hours: float, now) -> tuple[Any, ...]:
    outcome = service.sla_outcome(departure, sla_hours, now)
    return (departure.person.display_name, departure.person.email or "", directory_source_label(departure.source),
            ", ".join(leaver_signal_label(signal) for signal in departure.signals or []),
            moment_cell(departure.directory_changed_at), moment_cell(departure.first_seen_at),
            moment_cell(departure.access_removed_at),
            readable_duration(departure.time_to_revoke_seconds) if departure.time_to_revoke_seconds is not None else "",
            _(SLA_OUTCOMES[outcome]) if outcome else "", _(DEPARTURE_STATES["pending" if pending else "complete"]),
            "; ".join(f"{departure_step_label(step)}: {count}" for step, count in departure_steps(departure.steps)))


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
