"""Access review request and response schemas (the API and the console share them)."""

from __future__ import annotations

from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, validate

from govern.limits import DB_INT_MAX
from govern.grants.schemas import GrantAccountSchema, GrantPersonSchema
from govern.reviews.models import CampaignStatus, DeadlineAction, ScopeKind
from govern.reviews.service import MAX_BULK, MAX_COMMENT, MAX_NAME, MAX_REMINDER_HOURS, STATE_FILTERS, item_state
from govern.outbox.schemas import JobSchema
from govern.schemas_common import AwareDateTime, Integer, PageArgs, page_schema


# A review runs for weeks; a deadline more than a year out would never bite.
MAX_DEADLINE_AHEAD = timedelta(days=366)
MAX_DEADLINE_AHEAD_TEXT = "one year"


class ReviewProgressSchema(Schema):
    total = fields.Integer()
    decided = fields.Integer()
    pending = fields.Integer()
    certified = fields.Integer()
    revoked = fields.Integer()
    revoked_at_deadline = fields.Integer()
    escalated = fields.Integer()
    percent = fields.Integer()


class CampaignSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    scope_kind = fields.Enum(ScopeKind, by_value=True)
    scope_value = fields.String(allow_none=True)
    status = fields.Enum(CampaignStatus, by_value=True)
    on_deadline = fields.Enum(DeadlineAction, by_value=True)
    opened_by = fields.String()
    opened_at = fields.DateTime()
    deadline = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    reminder_every_hours = fields.Integer()
    snapshot_at = fields.DateTime(allow_none=True, metadata={"description": "When the grants in force were read into "
                                                             "items; null while the campaign is opening."})
    opening_job_id = fields.String(allow_none=True, metadata={"description": "The job that snapshots the items: read "
                                                              "its state at /reviews/campaigns/{id}/opening-job."})
    progress = fields.Nested(ReviewProgressSchema)


class ReviewerProgressSchema(Schema):
    reviewer = fields.Nested(GrantPersonSchema, allow_none=True, attribute="person",
                             metadata={"description": "null: governance decides these"})
    total = fields.Integer()
    pending = fields.Integer()


class CampaignDetailSchema(Schema):
    campaign = fields.Nested(CampaignSchema)
    reviewers = fields.List(fields.Nested(ReviewerProgressSchema),
                            metadata={"description": "Progress per reviewer, those with most waiting first (at most 100)."})
    reviewers_total = fields.Integer(metadata={"description": "How many reviewers the campaign has (governance counts as one)."})


class CampaignOpeningSchema(Schema):
    campaign = fields.Nested(CampaignSchema, metadata={"description": "The campaign, opening until its job has run."})
    job = fields.Nested(JobSchema)


class ReviewItemSchema(Schema):
    id = fields.Integer()
    campaign_id = fields.Integer()
    campaign_name = fields.Function(lambda item: item.campaign.name)
    deadline = fields.Function(lambda item: item.campaign.deadline.isoformat())
    grant_id = fields.Integer()
    person = fields.Nested(GrantPersonSchema)
    account = fields.Nested(GrantAccountSchema)
    grant_role = fields.String()
    granted_since = fields.Function(lambda item: item.grant.starts_at.isoformat())
    reviewer_person_id = fields.Integer(allow_none=True)
    state = fields.Function(lambda item: item_state(item),
                            metadata={"description": "pending, already_removed, or the decision"})
    decision = fields.Function(lambda item: item.decision.value if item.decision else None)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    escalated_from_person_id = fields.Integer(allow_none=True, metadata={"description": "the reviewer before the deadline "
                                                                         "passed the item to governance"})
    comment = fields.String(allow_none=True)


ReviewItemPage = page_schema(ReviewItemSchema, "ReviewItemPage")


class ReviewItemPageArgs(PageArgs):
    pass


def _storable_id(value: str) -> None:
    if value.isdigit() and int(value) > DB_INT_MAX:
        raise ValidationError("Not a person id.")


class CampaignItemArgs(PageArgs):
    """A campaign's items of one reviewer (a person's id, or "governance") and one state."""

    reviewer = fields.String(load_default=None, validate=[validate.Regexp(r"^(governance|[1-9][0-9]{0,9})$"), _storable_id],
                             metadata={"description": "a reviewer's person id, or governance"})
    state = fields.String(load_default=None, validate=validate.OneOf(sorted(STATE_FILTERS)),
                          metadata={"description": "waiting, kept or removed"})


class BulkDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["certify", "revoke"]))
    items = fields.List(Integer(strict=True, validate=validate.Range(min=1)), required=True,
                        validate=validate.Length(min=1, max=MAX_BULK))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_COMMENT),
                            metadata={"description": "required to revoke: a short reason, the same for every item"})


class StaleItemSchema(Schema):
    id = fields.Integer(attribute="item_id")
    problem = fields.Function(lambda stale: stale.error.title)
    detail = fields.Function(lambda stale: stale.error.detail)


class BulkOutcomeSchema(Schema):
    decided = fields.List(fields.Nested(ReviewItemSchema))
    stale = fields.List(fields.Nested(StaleItemSchema), metadata={"description": "items left as they were, and why"})


class ReassignSchema(Schema):
    reviewer_person_id = Integer(required=True, validate=validate.Range(min=1))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_COMMENT))


class CampaignPreviewRequestSchema(Schema):
    scope_kind = fields.Enum(ScopeKind, by_value=True, required=True)
    scope_value = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))


class OverlapSchema(Schema):
    campaign = fields.Nested(lambda: CampaignRefSchema())
    items = fields.Integer()


class CampaignRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    status = fields.Enum(CampaignStatus, by_value=True)


class CampaignPreviewSchema(Schema):
    items = fields.Integer(metadata={"description": "items opening now would create (access already under review left out)"})
    reviewers = fields.Integer()
    accounts = fields.Integer()
    for_governance = fields.Integer()
    already_under_review = fields.Integer()
    overlaps = fields.List(fields.Nested(OverlapSchema), metadata={"description": "running campaigns already asking "
                                                                    "about some of the access in the scope"})


class MyItemsArgs(PageArgs):
    pending_only = fields.Boolean(load_default=True, truthy={"true"}, falsy={"false"}, metadata={"description": "false: also the items already decided "
                                                                             "(waiting ones come first)."})


class CampaignListArgs(Schema):
    status = fields.Enum(CampaignStatus, by_value=True, load_default=None)


class CampaignPageArgs(PageArgs):
    """The console's campaigns list: a page of the campaigns of one status, newest opened first."""

    status = fields.Enum(CampaignStatus, by_value=True)


class CampaignOpenSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=MAX_NAME))
    scope_kind = fields.Enum(ScopeKind, by_value=True, required=True)
    scope_value = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    deadline = AwareDateTime(required=True, ahead=MAX_DEADLINE_AHEAD, ahead_text=MAX_DEADLINE_AHEAD_TEXT)
    on_deadline = fields.Enum(DeadlineAction, by_value=True, load_default=None, allow_none=True,
                              metadata={"description": "default: the review_on_deadline setting"})
    reminder_every_hours = Integer(load_default=None, allow_none=True,
                                          validate=validate.Range(min=1, max=MAX_REMINDER_HOURS))


class ReviewDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["certify", "revoke"]))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_COMMENT),
                            metadata={"description": "required to revoke: a short reason"})


class ReviewExtendSchema(Schema):
    deadline = AwareDateTime(required=True, ahead=MAX_DEADLINE_AHEAD, ahead_text=MAX_DEADLINE_AHEAD_TEXT)


class ReviewCloseSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_COMMENT))
