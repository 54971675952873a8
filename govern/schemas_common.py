"""Schema pieces shared by every domain's API: pagination arguments and page envelopes."""

from __future__ import annotations

from datetime import timedelta, timezone

from marshmallow import Schema, fields, validate

from govern.db import utcnow
from govern.limits import DB_INT_MAX, EARLIEST_YEAR, LATEST_YEAR, YEAR_PATTERN, YEARS_TEXT


class Integer(fields.Integer):
    """An integer the database can store: beyond its column type's range a value is refused (422, field named).

    Every request schema uses this instead of marshmallow's unbounded Integer, so an id like
    99999999999999999999 never reaches PostgreSQL (which answered NumericValueOutOfRange, a 503).
    """

    def __init__(self, *, maximum: int = DB_INT_MAX, **kwargs):
        super().__init__(**kwargs)
        self.validators.insert(0, validate.Range(min=-maximum - 1, max=maximum))


class AwareDateTime(fields.AwareDateTime):
    """ISO 8601 with an offset, returned in UTC; written in the years 1970 to 2199, and at most `ahead` from now.

    Every date-time a request schema reads is one of these: 0001-01-01T00:00:00+14:00 or 9999-12-31 are
    refused here (422, the field named) instead of overflowing in a time-zone conversion or a "+1 day".
    """

    default_error_messages = {
        "out_of_range": f"Must be a date-time {YEARS_TEXT}.",
        "too_far": "Must be at most {limit} from now.",
    }

    def __init__(self, *, ahead: timedelta | None = None, ahead_text: str | None = None, **kwargs):
        super().__init__(default_timezone=None, **kwargs)
        self.ahead = ahead
        self.ahead_text = ahead_text or (f"{ahead.days} days" if ahead else "")
        described = f"ISO 8601 with an offset, {YEARS_TEXT}" + (f"; at most {self.ahead_text} from now." if ahead else ".")
        self.metadata = {"description": described, "pattern": YEAR_PATTERN, **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
            raise self.make_error("out_of_range")
        moment = parsed.astimezone(timezone.utc)  # cannot overflow: at most a day from a year in range
        if self.ahead is not None and moment > utcnow() + self.ahead:
            raise self.make_error("too_far", limit=self.ahead_text)
        return moment


class StrictBoolean(fields.Boolean):
    """A JSON true or false, nothing else: marshmallow's Boolean also takes 0, 1, "yes", "on"... which the
    OpenAPI document (type: boolean) does not, so a client reading it would never expect them to work."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):  # 0 == False and 1 == True, so a set of booleans would let them in
            raise self.make_error("invalid", input=value)
        return value


class PageArgs(Schema):
    limit = Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=2048))


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "next_cursor": fields.String(allow_none=True, metadata={"description": "Pass as ?cursor= for the next page; null on the last page."}),
            "prev_cursor": fields.String(allow_none=True, metadata={"description": "Pass as ?cursor= for the page before; null on the first page."}),
        },
        name=name,
    )

