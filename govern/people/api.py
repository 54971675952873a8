"""/api/v1/people: the directory's people and what each can do."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from govern.auth.roles import Permission
from govern.extensions import db
from govern.grants.schemas import GrantSchema
from govern.grants.service import GrantFilter, grants_page
from govern.people import service
from govern.people.schemas import PersonListArgs, PersonPage, PersonSchema
from govern.web.authz import requires

blp = Blueprint("people", __name__, url_prefix="/api/v1", description="People from the company directory")


class PersonDetailSchema(Schema):
    person = fields.Nested(PersonSchema)
    access = fields.List(fields.Nested(GrantSchema), metadata={"description": "Grants in force now: the first page."})
    access_total = fields.Integer(metadata={"description": "How many grants are in force in all."})
    access_next_cursor = fields.String(allow_none=True, metadata={
        "description": "When there are more: pass as ?cursor= to /api/v1/people/{person_id}/grants."})


@blp.route("/people")
class People(MethodView):
    @requires(Permission.PEOPLE_READ)
    @blp.arguments(PersonListArgs, location="query")
    @blp.response(200, PersonPage)
    def get(self, args):
        """List people, filtered, with keyset pagination."""
        paging = {k: args.pop(k) for k in ("sort", "limit", "cursor")}
        return service.list_people(db.session, service.PersonFilter(**args), **paging)


@blp.route("/people/<int:person_id>")
class PersonDetail(MethodView):
    @requires(Permission.PEOPLE_READ)
    @blp.response(200, PersonDetailSchema)
    def get(self, person_id):
        """One person with the access they hold now (the first page of it; the rest from /people/{person_id}/grants)."""
        person = service.get_person(db.session, person_id)
        access = grants_page(db.session, GrantFilter(person_id=person_id, state="active"))
        return {"person": person, "access": access.items, "access_total": access.total,
                "access_next_cursor": access.next_cursor}
