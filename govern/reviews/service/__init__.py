"""Access reviews: campaigns (opening, reminders, the deadline), decisions on their items, and their progress.

The public names of the modules below, re-exported so callers keep writing `from govern.reviews import service`.
"""

from __future__ import annotations

from govern.errors import InvalidOperation
from govern.reviews.models import ScopeKind
from govern.reviews.service.campaigns import (
    Opened,
    approve_held,
    close_campaign,
    extend_deadline,
    fill_campaign,
    first_active,
    governance_people,
    grants_in_scope,
    open_campaign,
    process_deadline,
    process_due_deadlines,
    request_campaign,
    reviewer_for,
    send_reminders,
    set_opening_job,
)
from govern.reviews.service.common import (
    MAX_COMMENT,
    MAX_NAME,
    MAX_REMINDER_HOURS,
    MIN_HELD_REVOCATIONS,
    PENDING,
    AllUnderReview,
    AlreadyDecided,
    AlreadyRemoved,
    CampaignNotOpen,
    Decider,
    NothingToReview,
    NotYourReview,
    OwnAccess,
    ReviewSettings,
    Verdict,
    campaign_snapshot,
    item_facts,
)
from govern.reviews.service.bulk import MAX_BULK, BulkOutcome, NotReassignable, Stale, decide_items, items_to_decide, reassign_item
from govern.reviews.service.context import ItemContext, contexts
from govern.reviews.service.decisions import decide_item, item_to_decide, reconcile
from govern.reviews.service.launch import LaunchPreview, Overlap, preview_campaign
from govern.reviews.service.progress import (
    GOVERNANCE,
    REVIEWER_ROWS,
    STATE_FILTERS,
    CampaignFilter,
    ItemFilter,
    campaigns_page,
    count_campaigns,
    filtered_total,
    CampaignOverview,
    Progress,
    ReviewerProgress,
    business_units,
    campaign_items,
    campaign_items_page,
    campaign_overview,
    get_campaign,
    item_state,
    items_for,
    items_for_page,
    list_campaigns,
    progress_of,
    reviewer_count,
    reviewer_progress,
    waiting_counts,
)

__all__ = [
    "GOVERNANCE", "MAX_BULK", "STATE_FILTERS", "AllUnderReview", "BulkOutcome", "CampaignFilter", "ItemContext", "ItemFilter",
    "campaigns_page", "count_campaigns",
    "LaunchPreview", "NotReassignable", "Overlap", "Stale", "contexts", "decide_items", "filtered_total", "items_to_decide",
    "preview_campaign", "reassign_item",
    "MAX_COMMENT", "MAX_NAME", "MAX_REMINDER_HOURS", "MIN_HELD_REVOCATIONS", "PENDING", "REVIEWER_ROWS",
    "AlreadyDecided", "AlreadyRemoved", "CampaignNotOpen", "CampaignOverview", "Decider", "InvalidOperation",
    "NothingToReview", "NotYourReview", "Opened", "OwnAccess", "Progress", "ReviewSettings", "ReviewerProgress",
    "ScopeKind", "Verdict",
    "approve_held", "business_units", "campaign_items", "campaign_items_page", "campaign_overview", "campaign_snapshot",
    "close_campaign", "decide_item", "extend_deadline", "fill_campaign", "first_active", "get_campaign",
    "governance_people", "grants_in_scope", "item_facts", "item_state", "item_to_decide", "items_for", "items_for_page", "list_campaigns",
    "open_campaign", "process_deadline", "process_due_deadlines", "progress_of", "reconcile", "request_campaign",
    "reviewer_count", "reviewer_for", "reviewer_progress", "send_reminders", "set_opening_job", "waiting_counts",
]
