"""Request and response shapes of the publishing API: posts, approval rules, outside approvers' links, and the
policy's approvals."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from govern.auth.roles import Role
from govern.publishing.approval_progress import progress
from govern.publishing.models import ApprovalStatus, PostState, RuleScope, StepMode


class ApprovalSchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    account_handle = fields.Function(lambda a: a.account.handle)
    person_id = fields.Integer()
    requested_by = fields.String()
    network_action = fields.String()
    text = fields.Function(lambda a: a.params.get("text"))
    findings = fields.List(fields.Dict())
    pack_version = fields.String()
    status = fields.Function(lambda a: a.status.value)
    requested_at = fields.DateTime()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)


class ApprovalQuerySchema(Schema):
    status = fields.Enum(ApprovalStatus, by_value=True, load_default=ApprovalStatus.PENDING)


class ApprovalDecisionSchema(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=4000))


# --- posts and approval rules -------------------------------------------------------------------------
class PostVariantSchema(Schema):
    text = fields.String(load_default=None, validate=validate.Length(max=5000))
    media = fields.List(fields.String(validate=validate.Length(max=2000)), load_default=list, validate=validate.Length(max=10))


class PostCreateSchema(Schema):
    account_ids = fields.List(fields.Integer(strict=True), required=True, validate=validate.Length(min=1, max=50))
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    media = fields.List(fields.String(validate=validate.Length(max=2000)), load_default=list, validate=validate.Length(max=10))
    variants = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=64)), values=fields.Nested(PostVariantSchema),
                           load_default=dict)
    scheduled_at = fields.AwareDateTime(load_default=None, allow_none=True)
    submit = fields.Boolean(load_default=False, metadata={"description": "Submit it at once (as POST /posts/{id}/submit)."})


class PostUpdateSchema(Schema):
    account_ids = fields.List(fields.Integer(strict=True), validate=validate.Length(min=1, max=50))
    text = fields.String(validate=validate.Length(min=1, max=5000))
    media = fields.List(fields.String(validate=validate.Length(max=2000)), validate=validate.Length(max=10))
    variants = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=64)), values=fields.Nested(PostVariantSchema))
    scheduled_at = fields.AwareDateTime(allow_none=True)


class PostQuerySchema(Schema):
    state = fields.Enum(PostState, by_value=True, load_default=None)
    account_id = fields.Integer(load_default=None)


class PostTargetSchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    account_handle = fields.Function(lambda t: t.account.handle)
    network = fields.Function(lambda t: t.account.network.key)
    state = fields.Function(lambda t: t.state.value)
    idempotency_key = fields.String()
    external_id = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    published_at = fields.DateTime(allow_none=True)


class ApprovalStepProgressSchema(Schema):
    rule_id = fields.Integer(allow_none=True)
    rule_name = fields.String()
    step = fields.Function(lambda s: s.index + 1)
    mode = fields.String()
    approvers = fields.List(fields.String(), attribute="slots",
                            metadata={"description": "person:<id>, group:<SCIM group id>, role:<role> or external:<e-mail>"})
    group_names = fields.Dict(keys=fields.String(), values=fields.String(),
                              metadata={"description": "The step's directory groups' names when the rule was saved"})
    approved_by = fields.Function(lambda s: [{"name": d.approver_name, "slot": d.slot, "at": d.decided_at.isoformat(),
                                              "expires_at": d.expires_at.isoformat()} for d in s.approved_by])
    done = fields.Boolean()
    current = fields.Boolean()


class PostSchema(Schema):
    id = fields.Integer()
    state = fields.Function(lambda p: p.state.value)
    text = fields.String()
    media = fields.List(fields.String())
    variants = fields.Dict()
    scheduled_at = fields.DateTime(allow_none=True)
    author_person_id = fields.Integer(allow_none=True)
    created_by_name = fields.String()
    version = fields.Integer()
    block_reason = fields.String(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    findings = fields.List(fields.Dict())
    submitted_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    targets = fields.List(fields.Nested(PostTargetSchema))
    approval_steps = fields.Function(lambda p: ApprovalStepProgressSchema(many=True).dump(progress(p)))


class PostDecisionSchema(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=4000))


class PostRejectionSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class PostCancelSchema(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=4000))


class ApprovalStepSchema(Schema):
    mode = fields.String(load_default=StepMode.ANY.value, validate=validate.OneOf([m.value for m in StepMode]),
                         metadata={"description": "any: one of the approvers is enough; all: each of them (a role: one holder)"})
    people = fields.List(fields.Integer(strict=True), load_default=list, validate=validate.Length(max=50))
    roles = fields.List(fields.String(validate=validate.OneOf([r.value for r in Role])), load_default=list)
    externals = fields.List(fields.Email(), load_default=list, validate=validate.Length(max=20))
    groups = fields.List(fields.String(validate=validate.Length(min=1, max=36)), load_default=list,
                         validate=validate.Length(max=20),
                         metadata={"description": "Directory groups (the SCIM group ids): any member of a group at the "
                                                  "time of the decision fills it; in an all-of step a group counts once, "
                                                  "like a role. Each must exist when the rule is saved."})
    group_names = fields.Dict(keys=fields.String(), values=fields.String(), dump_only=True,
                              metadata={"description": "Each named group's display name when the rule was saved"})


class ApprovalRuleSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    scope_type = fields.Enum(RuleScope, by_value=True, required=True)
    scope_value = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    steps = fields.List(fields.Nested(ApprovalStepSchema), required=True, validate=validate.Length(min=1, max=10))
    created_by = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class ApprovalRuleUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=255))
    scope_type = fields.Enum(RuleScope, by_value=True)
    scope_value = fields.String(allow_none=True, validate=validate.Length(max=255))
    steps = fields.List(fields.Nested(ApprovalStepSchema), validate=validate.Length(min=1, max=10))


class ExternalLinkRequestSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    email = fields.Email(required=True)
    expires_in_hours = fields.Integer(load_default=72, validate=validate.Range(min=1, max=720))


class ExternalLinkSchema(Schema):
    id = fields.Integer()
    post_id = fields.Integer()
    approver_name = fields.String()
    approver_email = fields.String()
    expires_at = fields.DateTime()
    url = fields.String(metadata={"description": "The link to give the approver; shown once, govern keeps only a hash."})
