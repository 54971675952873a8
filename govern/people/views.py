"""The console's people pages: the list, a person's card, and the person picker's search."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from govern.auth.roles import Permission
from govern.console import forms, pages
from govern.console.blueprint import ConsolePages
from govern.console.labels import label
from govern.console.tables import EXPORT_BATCH, csv_download, every_row, refused_filters
from govern.extensions import db
from govern.people.models import PersonStatus
from govern.people.schemas import PersonListArgs
from govern.people.service import PersonFilter, count_people, list_people
from govern.web.authz import requires
from govern.web.request_cycle import current_principal

routes = ConsolePages()


@routes.get("/people")
@requires(Permission.PEOPLE_READ)
def people():
    results, total, errors = pages.counted_listing(db.session, request.args, PersonListArgs(), list_people, PersonFilter,
                                                   count_people)
    page = render_template("people/people.html", results=results, total=total, errors=errors, statuses=list(PersonStatus))
    return page, 400 if errors else 200


@routes.get("/people/export.csv")
@requires(Permission.PEOPLE_READ)
def people_csv():
    """Every person the list's filters select, as a spreadsheet reads it."""
    args, errors = forms.load(PersonListArgs(), request.args)
    if errors:
        return refused_filters(errors)
    filters, paging = forms.split_paging(args)
    chosen, sort = PersonFilter(**filters), paging.get("sort", "display_name")
    rows = every_row(lambda cursor: list_people(db.session, chosen, sort, EXPORT_BATCH, cursor))
    header = [_("Name"), _("Username"), _("Email"), _("Department"), _("Manager"), _("Status"), _("Left on")]
    return csv_download("people", header, (
        (person.display_name, person.username, person.email, person.department,
         person.manager.display_name if person.manager else "", label(person.status),
         person.left_at.date().isoformat() if person.left_at else "")
        for person in rows))


@routes.get("/people/<int:person_id>")
@requires(Permission.PEOPLE_READ)
def person(person_id: int):
    context = pages.person_page(db.session, person_id, current_principal(), request.args)
    return render_template("console/person.html", **context), 400 if context["paging_problem"] else 200


@routes.get("/people/search")
@requires(Permission.PEOPLE_READ)
def people_search():
    """The person picker's matches as JSON (at most 20 current employees); the page works without it."""
    found = pages.people_to_pick(db.session, request.args.get("q", "").strip()[:200])
    return {"items": [{"id": person.id, "label": f"{person.display_name} ({person.email or person.username})"}
                      for person in found]}


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
