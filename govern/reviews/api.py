"""/api/v1/reviews: access review campaigns, the items waiting for the caller, and deciding them."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from govern import app_services
from govern.auth.roles import Permission, role_allows
from govern.errors import NotFound
from govern.extensions import db
from govern.outbox import service as outbox
from govern.outbox.schemas import JobSchema
from govern.reviews import service, tasks
from govern.reviews.models import ReviewCampaign
from govern.reviews.schemas import (
    BulkDecisionSchema,
    BulkOutcomeSchema,
    CampaignItemArgs,
    CampaignPreviewRequestSchema,
    CampaignPreviewSchema,
    ReassignSchema,
    CampaignDetailSchema,
    CampaignListArgs,
    CampaignOpeningSchema,
    CampaignOpenSchema,
    CampaignSchema,
    ReviewCloseSchema,
    ReviewDecisionSchema,
    ReviewExtendSchema,
    MyItemsArgs,
    ReviewItemPage,
    ReviewItemSchema,
)
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

blp = Blueprint("reviews", __name__, url_prefix="/api/v1/reviews", description="Access reviews: certify or revoke who may act on each account")


def review_settings() -> service.ReviewSettings:
    return service.ReviewSettings.from_settings(app_services.settings())


def current_decider() -> service.Decider:
    principal = current_principal()
    return service.Decider(principal.person_id, role_allows(principal.role, Permission.REVIEWS_MANAGE))


def campaign_document(campaign: ReviewCampaign, progress: service.Progress) -> dict[str, Any]:
    return {**{key: getattr(campaign, key) for key in CampaignSchema().fields if key != "progress"},
            "progress": progress.as_dict()}


def with_progress(campaign: ReviewCampaign) -> dict[str, Any]:
    return campaign_document(campaign, service.progress_of(db.session, [campaign.id])[campaign.id])


@blp.route("/campaigns")
class Campaigns(MethodView):
    @requires(Permission.REVIEWS_READ)
    @blp.arguments(CampaignListArgs, location="query")
    @blp.response(200, CampaignSchema(many=True))
    def get(self, args):
        """Campaigns, newest first, with their progress."""
        campaigns = service.list_campaigns(db.session, args["status"])
        progress = service.progress_of(db.session, [c.id for c in campaigns])
        return [campaign_document(campaign, progress[campaign.id]) for campaign in campaigns]

    @requires(Permission.REVIEWS_MANAGE)
    @blp.arguments(CampaignOpenSchema)
    @blp.response(202, CampaignOpeningSchema, headers={"Location": {"description": "The campaign",
                                                                     "schema": {"type": "string"}}})
    def post(self, data):
        """Open a campaign: a job snapshots every grant in force in the scope into an item for its account's owner
        (or up the manager chain). The campaign is `opening` until the job has run; follow `job` or the campaign."""
        campaign = service.request_campaign(db.session, current_actor(), review_settings(), **data)
        job = tasks.enqueue_open(db.session, campaign, current_actor())
        location = url_for(".CampaignDetail", campaign_id=campaign.id)
        return {"campaign": with_progress(campaign), "job": outbox.job_document(job)}, 202, {"Location": location}


@blp.route("/campaigns/<int:campaign_id>")
class CampaignDetail(MethodView):
    @requires(Permission.REVIEWS_READ)
    @blp.response(200, CampaignDetailSchema)
    def get(self, campaign_id):
        """One campaign, its progress, and each reviewer's (null reviewer: governance)."""
        campaign = service.get_campaign(db.session, campaign_id)
        overview = service.campaign_overview(db.session, campaign_id)
        return {"campaign": campaign_document(campaign, overview.progress), "reviewers": overview.reviewers,
                "reviewers_total": overview.reviewers_total}


@blp.route("/campaigns/<int:campaign_id>/opening-job")
class CampaignOpeningJob(MethodView):
    @requires(Permission.REVIEWS_READ)
    @blp.response(200, JobSchema)
    def get(self, campaign_id):
        """The job that snapshots the campaign's items: pending, delivered (waiting for a worker), done or failed."""
        campaign = service.get_campaign(db.session, campaign_id)
        if campaign.opening_job_id is None:
            raise NotFound("review campaign %(campaign_id)s was not opened by a job", campaign_id=campaign_id)
        return outbox.job_document(outbox.get_job(db.session, campaign.opening_job_id, [tasks.open_campaign.name]))


@blp.route("/campaigns/<int:campaign_id>/items")
class CampaignItems(MethodView):
    @requires(Permission.REVIEWS_READ)
    @blp.arguments(CampaignItemArgs, location="query")
    @blp.response(200, ReviewItemPage)
    def get(self, args, campaign_id):
        """The items of a campaign, decided or not, account by account: a page at a time (pass next_cursor on);
        optionally of one reviewer (a person id, or governance) and one state (waiting, kept, removed)."""
        service.get_campaign(db.session, campaign_id)
        reviewer = args.pop("reviewer", None)
        item_filter = service.ItemFilter(reviewer=int(reviewer) if reviewer and reviewer.isdigit() else reviewer,
                                         state=args.pop("state", None))
        return service.campaign_items_page(db.session, campaign_id, item_filter=item_filter, **args)


@blp.route("/items/mine")
class MyItems(MethodView):
    @requires(Permission.REVIEWS_RESPOND)
    @blp.arguments(MyItemsArgs, location="query")
    @blp.response(200, ReviewItemPage)
    def get(self, args):
        """The items for the caller's person (with reviews:manage, also those governance decides), a page at a time:
        by default only those waiting; with pending_only=false the decided ones follow them."""
        return service.items_for_page(db.session, current_decider(), **args)


@blp.route("/items/<int:item_id>/decision")
class ItemDecision(MethodView):
    @requires(Permission.REVIEWS_RESPOND)
    @blp.arguments(ReviewDecisionSchema)
    @blp.response(200, ReviewItemSchema)
    def post(self, data, item_id):
        """Keep (certify) or remove (revoke, with a short reason) one grant."""
        return service.decide_item(db.session, current_actor(), current_decider(), item_id, data["decision"], data["comment"])


@blp.route("/items/decisions")
class ItemDecisions(MethodView):
    @requires(Permission.REVIEWS_RESPOND)
    @blp.arguments(BulkDecisionSchema)
    @blp.response(200, BulkOutcomeSchema)
    def post(self, data):
        """Keep or remove several items in one transaction (each audited). Items that can no longer be decided
        (decided elsewhere, removed outside the review, not yours, closed) are left as they are and listed in `stale`."""
        return service.decide_items(db.session, current_actor(), current_decider(), data["items"], data["decision"],
                                    data["comment"])


@blp.route("/items/<int:item_id>/reassign")
class ItemReassign(MethodView):
    @requires(Permission.REVIEWS_RESPOND)
    @blp.arguments(ReassignSchema)
    @blp.response(200, ReviewItemSchema)
    def post(self, data, item_id):
        """Hand a waiting item to another reviewer (its reviewer, or reviews:manage): audited, the new reviewer told."""
        return service.reassign_item(db.session, current_actor(), current_decider(), item_id, data["reviewer_person_id"],
                                     data["reason"])


@blp.route("/campaigns/preview")
class CampaignPreview(MethodView):
    @requires(Permission.REVIEWS_MANAGE)
    @blp.arguments(CampaignPreviewRequestSchema)
    @blp.response(200, CampaignPreviewSchema)
    def post(self, data):
        """What opening a campaign over the scope now would ask (items, reviewers, accounts), and the running campaigns
        already asking about some of the same access: opening leaves that access out (decision 0059)."""
        return service.preview_campaign(db.session, data["scope_kind"], data.get("scope_value"))


@blp.route("/campaigns/<int:campaign_id>/close")
class CampaignClose(MethodView):
    @requires(Permission.REVIEWS_MANAGE)
    @blp.arguments(ReviewCloseSchema, required=False)
    @blp.response(200, CampaignSchema)
    def post(self, data, campaign_id):
        """Close early; nothing is revoked and undecided items stay undecided."""
        return with_progress(service.close_campaign(db.session, current_actor(), campaign_id, data["reason"]))


@blp.route("/campaigns/<int:campaign_id>/process-deadline")
class CampaignDeadline(MethodView):
    @requires(Permission.REVIEWS_MANAGE)
    @blp.response(200, CampaignSchema)
    def post(self, campaign_id):
        """Past the deadline: revoke or escalate what nobody reviewed (a mass revocation is held instead)."""
        campaign = service.process_deadline(db.session, current_actor(), review_settings(), campaign_id)
        return with_progress(campaign)


@blp.route("/campaigns/<int:campaign_id>/approve-held")
class CampaignApprove(MethodView):
    @requires(Permission.REVIEWS_MANAGE)
    @blp.response(200, CampaignSchema)
    def post(self, campaign_id):
        """Confirm a held mass revocation: what is still unreviewed is revoked now."""
        return with_progress(service.approve_held(db.session, current_actor(), campaign_id))


@blp.route("/campaigns/<int:campaign_id>/extend")
class CampaignExtend(MethodView):
    @requires(Permission.REVIEWS_MANAGE)
    @blp.arguments(ReviewExtendSchema)
    @blp.response(200, CampaignSchema)
    def post(self, data, campaign_id):
        """A new deadline (a held campaign opens again)."""
        return with_progress(service.extend_deadline(db.session, current_actor(), campaign_id, data["deadline"]))
