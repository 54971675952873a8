"""The console's people pages: the list, a person's card, and the person picker's search."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from govern.auth.roles import Permission
from govern.console import pages
from govern.console.blueprint import ConsolePages
from govern.extensions import db
from govern.people.models import PersonStatus
from govern.people.schemas import PersonListArgs
from govern.people.service import PersonFilter, list_people
from govern.web.authz import requires
from govern.web.request_cycle import current_principal

routes = ConsolePages()


@routes.get("/people")
@requires(Permission.PEOPLE_READ)
def people():
    results, errors = pages.listing(db.session, request.args, PersonListArgs(), list_people, PersonFilter)
    page = render_template("people/people.html", results=results, errors=errors, statuses=list(PersonStatus))
    return page, 400 if errors else 200


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
