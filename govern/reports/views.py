"""Console pages of the compliance reports: choose a period, download each report as CSV, JSON or PDF."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import get_locale

from govern.auth.roles import Permission
from govern.console.labels import N_
from govern.console.views import bp
from govern.errors import DomainError
from govern.reports.document import Period
from govern.reports.render import RENDER_FORMATS
from govern.reports.service import REPORTS
from govern.reports.web import report_download
from govern.web.authz import requires

REPORT_TEXTS = {
    "access": (N_("Access"), N_("Every grant in effect, who gave it and when it was last reviewed; leavers who still have access.")),
    "leavers": (N_("Leavers"), N_("Every leaver in the period: when the directory changed, when each access was removed, the SLA.")),
    "accounts": (N_("Accounts"), N_("The inventory with owners, connection health, token expiry, open violations and a risk score.")),
    "policy": (N_("Policy"), N_("Violations by category, rule, account, language and month; blocked, approved and published posts.")),
    "credentials": (N_("Credentials"), N_("Break-glass checkouts, wrapped token hand-offs, password rotations due and done.")),
    "reviews": (N_("Access reviews"), N_("Access review campaigns and every decision taken in them.")),
}


@bp.get("/reports")
@requires(Permission.REPORTS_READ)
def reports():
    since, until = request.args.get("from", "").strip(), request.args.get("to", "").strip()
    refusal, period = None, None
    try:
        period = Period.parse(since or None, until or None)
    except DomainError as error:
        refusal = error.detail
    page = render_template("console/reports.html", reports=REPORTS, texts=REPORT_TEXTS, formats=RENDER_FORMATS,
                           since=since, until=until, period=period,
                           link_args={key: value for key, value in (("from", since), ("to", until)) if value}, refusal=refusal, locale=str(get_locale()))
    return page, 400 if refusal else 200


@bp.get("/reports/<name>/download")
@requires(Permission.REPORTS_READ)
def report_file(name: str):
    query = {"from_": request.args.get("from") or None, "to": request.args.get("to") or None,
             "format": request.args.get("format", "pdf"), "locale": str(get_locale())}
    if query["format"] not in RENDER_FORMATS:
        query["format"] = "pdf"
    return report_download(name, query)
