"""Person request and response schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from govern.people.models import PersonSource, PersonStatus
from govern.schemas_common import Integer, PageArgs, page_schema


class PersonRefSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()


class PersonSchema(Schema):
    id = fields.Integer()
    source = fields.Enum(PersonSource, by_value=True)
    external_id = fields.String()
    username = fields.String()
    email = fields.String(allow_none=True)
    display_name = fields.String()
    department = fields.String(allow_none=True)
    manager = fields.Nested(PersonRefSchema, allow_none=True)
    status = fields.Enum(PersonStatus, by_value=True)
    left_at = fields.DateTime(allow_none=True)


class PersonListArgs(PageArgs):
    q = fields.String(validate=validate.Length(max=200))
    status = fields.Enum(PersonStatus, by_value=True)
    department = fields.String(validate=validate.Length(max=255))
    source = fields.Enum(PersonSource, by_value=True)
    manager_id = Integer(validate=validate.Range(min=1))
    sort = fields.String(load_default="display_name", validate=validate.OneOf(["display_name", "username", "id"]))


PersonPage = page_schema(PersonSchema, "PersonPage")
