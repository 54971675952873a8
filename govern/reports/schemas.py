"""Query arguments of a report download, shared by the API and the console."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from govern.db import utcnow
from govern.locales import SUPPORTED_LOCALES
from govern.limits import YEAR_PATTERN
from govern.reports.document import BadReportRequest, parse_moment
from govern.reports.render import RENDER_FORMATS


class PeriodEdge(fields.String):
    """`from` or `to`: a date or an ISO 8601 date-time, read as a UTC datetime (a `to` date includes that day)."""

    def __init__(self, *, end_of_day: bool, **kwargs):
        super().__init__(**kwargs)
        self.end_of_day = end_of_day
        self.metadata = {"anyOf": [{"format": "date"}, {"format": "date-time"}], "pattern": YEAR_PATTERN, **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.strip():
            return None  # an empty field of a form is no bound
        if len(text) > 40:
            raise ValidationError("Longer than maximum length 40.")
        try:
            return parse_moment(text, self.data_key or attr or "", end_of_day=self.end_of_day)
        except BadReportRequest as error:
            raise ValidationError(error.detail) from None


class ReportQuerySchema(Schema):
    # Checked where the file is made (render.check_format): an unknown format is a 400 problem, not a field error.
    format = fields.String(load_default="json", validate=validate.Length(max=16),
                           metadata={"description": "csv, json or pdf; any other is refused with 400", "enum": list(RENDER_FORMATS)})
    from_ = PeriodEdge(end_of_day=False, data_key="from", load_default=None,
                       metadata={"description": "Start: YYYY-MM-DD or ISO 8601 date-time (UTC if no offset), years 1970 to 2199; default 90 days before 'to'"})
    to = PeriodEdge(end_of_day=True, load_default=None,
                    metadata={"description": "End: YYYY-MM-DD, that whole day included (to=2026-12-01 covers all of 1 December), or an ISO 8601 date-time, that moment excluded; years 1970 to 2199; default now"})
    locale = fields.String(load_default="en", validate=validate.OneOf(SUPPORTED_LOCALES),
                           metadata={"description": "Language of the PDF: its headings, column names, labels and numbers"})

    @validates_schema
    def _ordered(self, data, **kwargs):
        since, until = data.get("from_"), data.get("to")
        if since and since > (until or utcnow()):
            raise ValidationError("must not be after 'to' (or now, when 'to' is not given)", "from")
