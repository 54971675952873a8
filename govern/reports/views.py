"""Console pages of the compliance reports: choose a period, download each report as CSV, JSON or PDF."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from marshmallow import ValidationError

from govern.auth.roles import Permission
from govern.console.labels import N_
from govern.console.blueprint import ConsolePages
from govern.console.templating import isolate
from govern.reports.document import Period
from govern.reports.render import RENDER_FORMATS
from govern.reports.schemas import ReportQuerySchema
from govern.reports.service import REPORTS
from govern.reports.web import report_download
from govern.web.authz import requires

routes = ConsolePages()

REPORT_TEXTS = {
    "access": (N_("Access"), N_("Every grant in effect, who gave it and when it was last reviewed; leavers who still have access.")),
    "leavers": (N_("Leavers"), N_("Every leaver in the period: when the directory changed, when each access was removed, the SLA.")),
    "accounts": (N_("Accounts"), N_("The inventory with owners, connection health, token expiry, open violations and a risk score.")),
    "policy": (N_("Policy"), N_("Violations by category, rule, account, language and month; blocked, approved and published posts.")),
    "credentials": (N_("Credentials"), N_("Break-glass checkouts, wrapped token hand-offs, password rotations due and done.")),
    "reviews": (N_("Access reviews"), N_("Access review campaigns and every decision taken in them.")),
}


PERIOD_PROBLEMS = {
    "from": N_("Pick a day between 1970-01-01 and 2199-12-31, no later than the end of the period."),
    "to": N_("Pick a day between 1970-01-01 and 2199-12-31."),
}


def _period(args: Mapping[str, str]) -> tuple[Period | None, dict[str, str]]:
    """The period the page's From and To fields ask for, read with the API's schema; or a message per field."""
    submitted = {key: args.get(key, "").strip() for key in ("from", "to") if args.get(key, "").strip()}
    try:
        values = ReportQuerySchema(only=("from_", "to")).load(submitted)
    except ValidationError as error:
        return None, {name: _(PERIOD_PROBLEMS[name]) for name in PERIOD_PROBLEMS if name in error.messages}
    return Period.between(values.get("from_"), values.get("to")), {}


def _reports_page(status: int = 200, refusal: str | None = None):
    since, until = request.args.get("from", "").strip(), request.args.get("to", "").strip()
    period, errors = _period(request.args)
    page = render_template("reports/reports.html", reports=REPORTS, texts=REPORT_TEXTS, formats=RENDER_FORMATS,
                           since=since, until=until, period=period, errors=errors,
                           link_args={key: value for key, value in (("from", since), ("to", until)) if value},
                           refusal=refusal, locale=str(get_locale()))
    return page, 422 if errors else status


@routes.get("/reports")
@requires(Permission.REPORTS_READ)
def reports():
    return _reports_page()


def _refusal(name: str, fmt: str) -> tuple[int, str] | None:
    """Why the console will not build this file (a 404 or 400 on the reports page, in the reader's language)."""
    if name not in REPORTS:
        return 404, _("There is no report named “%(name)s”. Choose one of the reports below.", name=isolate(name[:60]))
    if fmt not in RENDER_FORMATS:
        return 400, _("Reports come as CSV, JSON or PDF, not “%(format)s”. Choose one of the links below.", format=isolate(fmt[:40]))
    return None


@routes.get("/reports/<name>/download")
@requires(Permission.REPORTS_READ)
def report_file(name: str):
    fmt = request.args.get("format", "pdf")
    period, errors = _period(request.args)
    refused = _refusal(name, fmt)
    if errors or refused:
        return _reports_page(*(refused or (200, None)))
    query = {"from_": period.start, "to": period.end, "format": fmt, "locale": str(get_locale())}
    return report_download(name, query)


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
