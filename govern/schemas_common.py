"""Schema pieces shared by every domain's API: pagination arguments and page envelopes."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from govern.limits import DB_INT_MAX


class Integer(fields.Integer):
    """An integer the database can store: beyond its column type's range a value is refused (422, field named).

    Every request schema uses this instead of marshmallow's unbounded Integer, so an id like
    99999999999999999999 never reaches PostgreSQL (which answered NumericValueOutOfRange, a 503).
    """

    def __init__(self, *, maximum: int = DB_INT_MAX, **kwargs):
        super().__init__(**kwargs)
        self.validators.insert(0, validate.Range(min=-maximum - 1, max=maximum))


class PageArgs(Schema):
    limit = Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=2048))


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "next_cursor": fields.String(allow_none=True, metadata={"description": "Pass as ?cursor= for the next page; null on the last page."}),
        },
        name=name,
    )

