"""Query arguments of a report download, shared by the API and the console."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from govern.reports.render import RENDER_FORMATS


class ReportQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(RENDER_FORMATS),
                           metadata={"description": "csv, json or pdf"})
    from_ = fields.String(data_key="from", load_default=None, validate=validate.Length(max=40),
                          metadata={"description": "Start: YYYY-MM-DD or ISO 8601 date-time (UTC if no offset); default 90 days before 'to'"})
    to = fields.String(load_default=None, validate=validate.Length(max=40),
                       metadata={"description": "End: YYYY-MM-DD (that whole day included) or ISO 8601 date-time; default now"})
    locale = fields.String(load_default="en", validate=validate.OneOf(("en", "ar", "he")),
                           metadata={"description": "Language of the PDF's headings"})
