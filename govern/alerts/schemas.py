"""Request and response shapes of the alerts API (the console's list reads the same filters)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from govern.alerts.models import AlertKind, AlertStatus
from govern.schemas_common import Integer, PageArgs, page_schema


class AlertSchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    account_handle = fields.Function(lambda alert: alert.account.handle)
    kind = fields.Function(lambda alert: alert.kind.value, metadata={"enum": [kind.value for kind in AlertKind]})
    status = fields.Function(lambda alert: alert.status.value, metadata={"enum": [status.value for status in AlertStatus]})
    keyword = fields.String(allow_none=True, metadata={"description": "The crisis lexicon entry, for a keyword alert."})
    details = fields.Dict(metadata={"description": "spike: hour, items_this_hour, hourly_average, multiple, min_volume; "
                                                   "keyword: item_kind, external_id, matched, excerpt."})
    raised_at = fields.DateTime()
    acknowledged_by = fields.String(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledge_note = fields.String(allow_none=True)


class AlertListArgs(PageArgs):
    account_id = Integer(validate=validate.Range(min=1))
    kind = fields.Enum(AlertKind, by_value=True)
    status = fields.Enum(AlertStatus, by_value=True)


AlertPage = page_schema(AlertSchema, "AlertPage")


class AcknowledgeSchema(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
