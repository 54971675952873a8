"""Schema pieces shared by every domain's API: pagination arguments and page envelopes."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=2048))


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "next_cursor": fields.String(allow_none=True, metadata={"description": "Pass as ?cursor= for the next page; null on the last page."}),
        },
        name=name,
    )
