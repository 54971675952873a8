"""The job document: what an endpoint that queues a job answers, and what reading the job by id shows."""

from __future__ import annotations

from marshmallow import Schema, fields

from govern.outbox.models import JobState


class JobSchema(Schema):
    job_id = fields.String(metadata={"description": "The job's id (also its Celery task id); read its state by it."})
    task = fields.String()
    state = fields.String(metadata={"description": " | ".join(state.value for state in JobState)
                                    + ": pending until handed to the broker, done once it ran."})
    queued = fields.Boolean(metadata={"description": "Always true: the job is stored and will run."})
    delivered = fields.Boolean(metadata={"description": "False until the job has been handed to the broker (or, "
                                                        "without one, to the in-process runner)."})
    attempts = fields.Integer(metadata={"description": "Hand-overs tried, refused ones included."})
    last_error = fields.String(allow_none=True, metadata={"description": "Why the last hand-over or run failed."})
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True, metadata={"description": "When it ran (or failed)."})
