"""/api/v1/audit: the events (newest first), the signed checkpoints, the public signing keys and a verification."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from sqlalchemy import select

from govern.audit import checkpoints, service, trail
from govern.audit.models import AuditCheckpoint
from govern.audit.signing import current_signer
from govern.errors import NotFound
from govern.auth.roles import Permission
from govern.extensions import db
from govern.web.authz import public, requires
from govern.web.request_cycle import current_actor
from govern.limits import DB_BIGINT_MAX
from govern.schemas_common import AwareDateTime, Integer

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The tamper-evident audit trail")


class AuditEventSchema(Schema):
    seq = fields.Integer()
    occurred_at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    target_type = fields.String()
    target_id = fields.String()
    summary = fields.Dict()
    request_id = fields.String(allow_none=True)
    client_addr = fields.String(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String()


class AuditListArgs(Schema):
    actor = fields.String(validate=validate.Length(max=255))
    action = fields.String(validate=validate.Length(max=128), metadata={"description": "Prefix, e.g. 'grants:'"})
    target_type = fields.String(validate=validate.Length(max=64))
    target_id = fields.String(validate=validate.Length(max=255))
    since = AwareDateTime()
    until = AwareDateTime()
    related = fields.Boolean(load_default=False, metadata={
        "description": "With target_type account or person and a target_id: every event about it, those of its "
                       "grants, review items, violations and approvals included (as its console history shows)."})
    limit = Integer(load_default=100, validate=validate.Range(min=1, max=500))
    before_seq = Integer(maximum=DB_BIGINT_MAX, load_default=None, validate=validate.Range(min=1), metadata={"description": "Keyset cursor: next_before_seq of the previous page."})
    after_seq = Integer(maximum=DB_BIGINT_MAX, load_default=None, validate=validate.Range(min=1), metadata={
        "description": "Keyset cursor the other way: prev_after_seq of a page, for the page before it (newer events)."})

    @validates_schema
    def _one_way(self, data, **kwargs):
        if data.get("before_seq") is not None and data.get("after_seq") is not None:
            raise ValidationError("pass before_seq or after_seq, not both", "after_seq")


class AuditPage(Schema):
    items = fields.List(fields.Nested(AuditEventSchema))
    next_before_seq = fields.Integer(allow_none=True, metadata={"description": "Pass as ?before_seq= for the next "
                                                                              "(older) page; null on the last page."})
    prev_after_seq = fields.Integer(allow_none=True, metadata={"description": "Pass as ?after_seq= for the page before "
                                                                             "(newer events); null on the first page."})


@blp.route("/events")
class AuditEvents(MethodView):
    @requires(Permission.AUDIT_READ)
    @blp.arguments(AuditListArgs, location="query")
    @blp.response(200, AuditPage)
    def get(self, args):
        """Audit events, newest first, filtered."""
        limit, before_seq, after_seq = args.pop("limit"), args.pop("before_seq"), args.pop("after_seq")
        page = service.events_page(db.session, service.EventFilter(**args), limit, before_seq, after_seq)
        return {"items": page.items, "next_before_seq": page.next_before_seq, "prev_after_seq": page.prev_after_seq}


class SigningKeySchema(Schema):
    key_id = fields.String()
    algorithm = fields.String()
    public_key = fields.String(metadata={"description": "Base64 of the raw 32-byte Ed25519 public key."})
    source = fields.String(metadata={"description": "local (a key file) or vault-transit"})
    valid_from = fields.String()
    valid_until = fields.String(allow_none=True)


class SigningKeysSchema(Schema):
    keys = fields.List(fields.Nested(SigningKeySchema))


class CheckpointSchema(Schema):
    seq = fields.Integer()
    head_hash = fields.String()
    signed_at = fields.DateTime()
    key_id = fields.String()
    signature = fields.String()


class CheckpointListArgs(Schema):
    limit = Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class RotateKeySchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class VerificationSchema(Schema):
    ok = fields.Boolean()
    events_checked = fields.Integer()
    checkpoints_checked = fields.Integer()
    last_seq = fields.Integer(allow_none=True)
    last_hash = fields.String(allow_none=True)
    first_failure = fields.String(allow_none=True)
    notes = fields.List(fields.String())
    whole_trail_verified_at = fields.String(allow_none=True, metadata={
        "description": "When the latest kept whole-trail verification ran (daily job or `govern audit verify`); "
                       "null when the whole trail was walked for this answer."})
    whole_trail_verified_by = fields.String(allow_none=True)
    events_checked_now = fields.Integer(metadata={"description": "Events walked for this answer."})


@blp.route("/keys")
class SigningKeys(MethodView):
    @public
    @blp.response(200, SigningKeysSchema)
    def get(self):
        """The public keys that sign audit checkpoints, with their validity periods (public: verifiers fetch them).

        Read from the key table only: the checkpoint job publishes the signer's keys every minute, so an anonymous
        request never reaches Vault or writes."""
        return {"keys": [trail.describe_key(row) for row in trail.published_keys(db.session)]}


@blp.route("/keys/rotate")
class RotateSigningKey(MethodView):
    @requires(Permission.AUDIT_MANAGE)
    @blp.arguments(RotateKeySchema)
    @blp.response(201, SigningKeySchema)
    def post(self, args):
        """Seal the head with the current key, make a new key current, and seal again with it."""
        new = checkpoints.rotate_key(db.session, current_actor(), current_signer(), args["reason"])
        row = next(r for r in trail.published_keys(db.session) if r.key_id == new.key_id)
        return trail.describe_key(row)


@blp.route("/checkpoints")
class Checkpoints(MethodView):
    @requires(Permission.AUDIT_READ)
    @blp.arguments(CheckpointListArgs, location="query")
    @blp.response(200, CheckpointSchema(many=True))
    def get(self, args):
        """Signed checkpoints, newest first."""
        return list(db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(args["limit"])))

    @requires(Permission.AUDIT_MANAGE)
    @blp.response(201, CheckpointSchema)
    @blp.alt_response(200, description="The head was already sealed: the latest checkpoint.")
    def post(self):
        """Sign the chain head now."""
        signed = checkpoints.sign_checkpoint(db.session, current_signer())
        if signed is None:
            latest = trail.latest_checkpoint(db.session)
            if latest is None:
                raise NotFound("the audit trail is empty: there is nothing to sign")
            return latest, 200
        return signed


@blp.route("/verification")
class Verification(MethodView):
    @requires(Permission.AUDIT_READ)
    @blp.response(200, VerificationSchema)
    def get(self):
        """The latest whole-trail verification (the daily job, `govern audit verify`) and the events since it, checked
        now against the sealed head; the whole trail when no verification is kept yet."""
        from govern.audit.verifications import verify_for_reader

        return verify_for_reader(db.session, trail.trusted_keys_from_signer(db.session, current_signer()))
