"""Directory sync request and response schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from govern.directory.models import SyncMode, SyncStatus
from govern.outbox.schemas import JobSchema
from govern.people.models import PersonSource
from govern.schemas_common import PageArgs, StrictBoolean

DIRECTORY_SOURCES = [source.value for source in PersonSource]


class RunListArgs(PageArgs):
    """The sync runs list's filters: status, kind (mode), source and the days it started (UTC, both included)."""

    status = fields.Enum(SyncStatus, by_value=True)
    mode = fields.Enum(SyncMode, by_value=True)
    source = fields.String(validate=validate.OneOf(DIRECTORY_SOURCES))
    from_date = fields.Date()
    to_date = fields.Date()
    sort = fields.String(load_default="started_at", validate=validate.OneOf(["started_at", "status", "source"]))


class DepartureListArgs(PageArgs):
    """The leavers list's filters: pending or complete, SLA met or breached, source, and the days govern saw them."""

    state = fields.String(validate=validate.OneOf(["pending", "complete"]))
    sla = fields.String(validate=validate.OneOf(["met", "breached"]))
    source = fields.String(validate=validate.OneOf(DIRECTORY_SOURCES))
    from_date = fields.Date()
    to_date = fields.Date()
    sort = fields.String(load_default="first_seen_at", validate=validate.OneOf(["first_seen_at", "person"]))


class SyncRunSchema(Schema):
    id = fields.Integer()
    source = fields.String()
    mode = fields.Function(lambda run: run.mode.value)
    status = fields.Function(lambda run: run.status.value)
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    duration_seconds = fields.Function(
        lambda run: round((run.finished_at - run.started_at).total_seconds(), 3) if run.finished_at else None
    )
    counts = fields.Dict()
    error = fields.String(allow_none=True)
    held_departures = fields.List(fields.Dict(), allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class DepartureSchema(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    display_name = fields.Function(lambda departure: departure.person.display_name)
    source = fields.String()
    signals = fields.List(fields.String())
    directory_changed_at = fields.DateTime(allow_none=True)
    first_seen_at = fields.DateTime()
    access_removed_at = fields.DateTime(allow_none=True)
    time_to_revoke_seconds = fields.Float(allow_none=True)
    steps = fields.Dict()


class SyncRequestSchema(Schema):
    full = StrictBoolean(load_default=False)


class SyncQueuedSchema(JobSchema):
    full = fields.Boolean()


class OffboardingTaskSchema(Schema):
    id = fields.Integer()
    departure_id = fields.Integer()
    account_id = fields.Integer()
    network = fields.String()
    steps = fields.String()
    created_at = fields.DateTime()
    done_at = fields.DateTime(allow_none=True)
    done_by = fields.String(allow_none=True)
