"""Console pages of access reviews: a reviewer's "who may act on my accounts" page, and governance's campaigns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_percent, gettext as _, ngettext
from marshmallow import ValidationError

from govern import app_services
from govern.accounts.models import SocialAccount
from govern.accounts.service import list_networks
from govern.auth.roles import Permission
from govern.auth.service import actor_name
from govern.console import confirm, forms, pages
from govern.console.pages import people_to_pick
from govern.console.blueprint import ConsolePages
from govern.console.confirm import already_done, confirmed
from govern.console.labels import N_, label
from govern.console.responses import refusal
from govern.console.tables import EXPORT_BATCH, csv_download, every_row, moment_cell, refused_filters
from govern.console.templating import can, isolate
from govern.db import utcnow
from govern.errors import DomainError, NotFound
from govern.extensions import db
from govern.outbox import service as outbox
from govern.outbox.models import OutboxJob
from govern.pagination import InvalidCursor, Page
from govern.reviews import service, tasks
from govern.reviews.models import CampaignStatus, DeadlineAction, ReviewCampaign, ReviewItem
from govern.reviews.schemas import CampaignItemArgs, CampaignOpenSchema, CampaignPageArgs, ReviewExtendSchema, ReviewItemPageArgs
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

routes = ConsolePages()

DEFAULT_REVIEW_DAYS = 14
REVIEWERS_LISTED = 10  # a campaign page lists its 10 busiest reviewers (100 on asking): the page stays short

REVIEW_LABELS: dict[str, dict[str, str]] = {
    "status": {"opening": N_("Opening"), "open": N_("Open"), "held": N_("Waiting for confirmation"), "closed": N_("Closed")},
    "state": {"pending": N_("To review"), "certified": N_("Kept"), "revoked": N_("Removed"),
              "revoked_at_deadline": N_("Removed at the deadline"), "escalated": N_("Passed to governance"),
              "already_removed": N_("Already removed")},
    "on_deadline": {"revoke": N_("Remove access nobody reviewed"), "escalate": N_("Pass access nobody reviewed to governance")},
    "filter": {"waiting": N_("Waiting for a decision"), "kept": N_("Kept"), "removed": N_("Removed")},
    "activity": {"publish": N_("Published"), "reply": N_("Replied"), "delete_post": N_("Deleted a post"),
                 "hide_comment": N_("Hid a comment"), "whoami": N_("Checked the connection"),
                 "list_recent_posts": N_("Read the recent posts"), "list_comments": N_("Read the comments")},
    "job": {"pending": N_("Waiting for the job queue"), "delivered": N_("Reading the access in scope"),
            "done": N_("Done"), "failed": N_("Failed")},
}

FORM_PROBLEMS = {
    "name": N_("Give the campaign a name (at most 200 characters)."),
    "scope": N_("Choose which accounts the campaign covers."),
    "deadline": N_("Pick the last day of the review, from today up to a year ahead."),
    "on_deadline": N_("Choose what happens to access nobody reviewed."),
    "reminder_every_hours": N_("Send reminders every 1 to 720 hours."),
}


def review_label(group: str, value: Any) -> str:
    raw = str(getattr(value, "value", value) or "")
    message = REVIEW_LABELS.get(group, {}).get(raw)
    return _(message) if message else raw


def scope_label(campaign: ReviewCampaign, wrap=isolate) -> str:
    """The campaign's scope in words; `wrap` isolates the name in a sentence (a CSV cell passes str: no marks)."""
    if campaign.scope_kind.value == "business_unit":
        return _("Business unit: %(unit)s", unit=wrap(campaign.scope_value or ""))
    if campaign.scope_kind.value == "network":
        return _("Network: %(network)s", network=wrap(campaign.scope_value or ""))
    return _("All accounts")


routes.template_globals(review_label, scope_label, service.item_state)


def _decider() -> service.Decider:
    return service.Decider(current_principal().person_id, can(Permission.REVIEWS_MANAGE))


def _settings() -> service.ReviewSettings:
    return service.ReviewSettings.from_settings(app_services.settings())


def _words_for(error: DomainError) -> str:
    """The refusal in the reader's language, for the refusals a reviewer can meet."""
    known = {
        service.AlreadyDecided: _("Someone already decided about this access; the page now shows their decision."),
        service.AlreadyRemoved: _("This access was already removed outside the review; there is nothing more to decide."),
        service.CampaignNotOpen: _("This review is closed; nothing in it can be changed any more."),
        service.NotYourReview: _("This access is not yours to review."),
        service.OwnAccess: _("You cannot keep your own access: your manager or governance reviews it."),
        service.AllUnderReview: _("All the access in this scope is already waiting for a decision in a running campaign, so there is nothing new to review."),
        service.NothingToReview: _("Nobody has access to an account in this scope, so there is nothing to review."),
        NotFound: _("This review no longer exists."),
    }
    reason = refusal(error)  # keeps the audit event when the error says so
    return next((words for kind, words in known.items() if isinstance(error, kind)), reason)


# --- the reviewer's page ----------------------------------------------------------------------
@dataclass
class AccountReview:
    account: SocialAccount
    items: list[ReviewItem] = field(default_factory=list)


@dataclass
class CampaignReview:
    campaign: ReviewCampaign
    accounts: list[AccountReview] = field(default_factory=list)


def _grouped(items: list[ReviewItem]) -> list[CampaignReview]:
    """Items (already in campaign, account, person order) grouped by campaign, then by account."""
    campaigns: list[CampaignReview] = []
    for item in items:
        if not campaigns or campaigns[-1].campaign.id != item.campaign_id:
            campaigns.append(CampaignReview(item.campaign))
        accounts = campaigns[-1].accounts
        if not accounts or accounts[-1].account.id != item.account_id:
            accounts.append(AccountReview(item.account))
        accounts[-1].items.append(item)
    return campaigns


def _page_of(lister, *args: Any, **kwargs: Any) -> tuple[Page | None, dict[str, str]]:
    """One page from the query string's limit and cursor, or the readable problem with them."""
    paging, errors = forms.load(ReviewItemPageArgs(), request.args if request.method == "GET" else {})
    if errors:
        return None, errors
    try:
        return lister(db.session, *args, limit=paging["limit"], cursor=paging.get("cursor"), **kwargs), {}
    except InvalidCursor:
        return None, {"cursor": forms.problem_with("cursor")}


def _my_reviews_page(status: int = 200, **form_state: Any):
    principal = current_principal()
    results, errors = _page_of(service.items_for_page, _decider(), pending_only=False)
    items = list(results.items) if results else []
    page = render_template("reviews/mine.html", reviews=_grouped(items), results=results, errors=errors,
                           waiting=service.waiting_counts(db.session, _decider()), contexts=service.contexts(db.session, items),
                           waiting_here=[item.id for item in items if service.item_state(item) in ("pending", "escalated")],
                           linked=principal.person_id is not None, **form_state)
    return page, 400 if errors and status == 200 else status


def _decide(item_id: int, verdict: service.Verdict, comment: str | None, done: str):
    try:
        item = service.decide_item(db.session, current_actor(), _decider(), item_id, verdict, comment)
    except DomainError as error:
        return _refused_decision(item_id, error)
    flash(_(done, person=isolate(item.person.display_name), account=isolate(item.account.handle)), "success")
    return redirect(url_for(".reviews", _anchor=f"account-{item.account_id}"))


def _refused_decision(item_id: int, error: DomainError):
    """The reviewer's page with the refusal in words; a decision someone already made is told: what, when, by whom."""
    item = db.session.get(ReviewItem, item_id) if isinstance(error, service.AlreadyDecided) else None
    if item is not None and item.decided_at is not None:
        flash(_("This access was already decided on %(when)s by %(who)s: %(decision)s.", when=confirm.moment(item.decided_at),
                who=isolate(actor_name(db.session, item.decided_by)), decision=review_label("state", service.item_state(item))),
              "error")
    else:
        flash(_words_for(error), "error")
    return _my_reviews_page(error.status, failed_item=item_id)


@routes.get("/reviews")
@requires(Permission.REVIEWS_RESPOND)
def reviews():
    return _my_reviews_page()


@routes.post("/reviews/items/<int:item_id>/keep")
@requires(Permission.REVIEWS_RESPOND)
def reviews_keep(item_id: int):
    return _decide(item_id, "certify", None, N_("%(person)s keeps access to %(account)s."))


@routes.post("/reviews/items/<int:item_id>/remove")
@requires(Permission.REVIEWS_RESPOND)
def reviews_remove(item_id: int):
    try:
        item = service.item_to_decide(db.session, _decider(), item_id)
    except DomainError as error:
        return _refused_decision(item_id, error)
    reason = request.form.get("reason", "").strip()
    errors = {} if 0 < len(reason) <= service.MAX_COMMENT else {
        "reason": _("Write a short reason for removing this access (at most %(count)s characters).", count=service.MAX_COMMENT)}
    if not confirmed() or errors:
        return _ask_to_remove(item, errors if confirmed() else None)
    return _decide(item_id, "revoke", reason, N_("%(person)s no longer has access to %(account)s."))


def _ask_to_remove(item: ReviewItem, errors: dict[str, str] | None):
    return confirm.ask(
        title=_("Remove access"),
        consequence=_("You are about to remove %(person)s's %(role)s access to %(account)s (%(network)s). It is revoked "
                      "at once; to give it back, someone has to grant it again.", person=isolate(item.person.display_name),
                      role=label(item.grant.role), account=isolate(f"@{item.account.handle}"),
                      network=item.account.network.display_name),
        button=_("Remove access"), cancel=url_for(".reviews", _anchor=f"item-{item.id}"),
        reason=confirm.Reason(_("Why remove it?"), min_length=1, max_length=service.MAX_COMMENT), errors=errors)


# --- several at once, and handing an item over -------------------------------------------------
def _chosen(*names: str) -> list[int] | None:
    """The item ids a form sent (checkboxes, hidden "shown" fields, or the ids a confirmation page carried over);
    None when one is not a number."""
    raw = [value for name in names for value in request.form.getlist(name)]
    raw += [part for part in request.form.get("items", "").split(",") if part.strip()]
    try:
        return sorted({int(value) for value in raw if 0 < int(value) < 2**31})
    except ValueError:
        return None


def _about(item: ReviewItem | None) -> dict[str, str]:
    return {"person": isolate(item.person.display_name), "account": isolate(f"@{item.account.handle}")} if item else {}


def _stale_words(stale: service.Stale) -> str:
    """Why one item of a bulk action was left as it was; names only items the reader may see."""
    error, about = stale.error, _about(stale.item)
    if isinstance(error, service.AlreadyDecided):
        return _("%(person)s's access to %(account)s was not changed: %(who)s already decided it (%(decision)s).",
                 who=isolate(actor_name(db.session, stale.item.decided_by)),
                 decision=review_label("state", service.item_state(stale.item)), **about)
    if isinstance(error, service.AlreadyRemoved):
        return _("%(person)s's access to %(account)s was not changed: it was already removed outside the review.", **about)
    if isinstance(error, service.OwnAccess):
        return _("%(person)s's access to %(account)s was not kept: nobody keeps their own access.", **about)
    if isinstance(error, service.CampaignNotOpen):
        return _("%(person)s's access to %(account)s was not changed: its review is closed.", **about)
    if isinstance(error, service.NotYourReview):
        return _("One item was not changed: it is no longer yours to review (it may have been handed to someone else).")
    return _("One item was not changed: it no longer exists.")


def _decide_many(item_ids: list[int], verdict: service.Verdict, comment: str | None):
    try:
        outcome = service.decide_items(db.session, current_actor(), _decider(), item_ids, verdict, comment)
    except DomainError as error:
        flash(_words_for(error), "error")
        return _my_reviews_page(error.status)
    if outcome.decided:
        done = (ngettext("Kept %(num)s person's access.", "Kept %(num)s people's access.", len(outcome.decided))
                if verdict == "certify" else
                ngettext("Removed %(num)s person's access.", "Removed %(num)s people's access.", len(outcome.decided)))
        flash(done, "success")
    for stale in outcome.stale:
        flash(_stale_words(stale), "error" if not outcome.decided else "info")
    return redirect(url_for(".reviews"))


@routes.post("/reviews/bulk/keep")
@requires(Permission.REVIEWS_RESPOND)
def reviews_keep_all():
    item_ids = _chosen("shown")
    if not item_ids:
        flash(_("Nothing on this page was waiting for a decision."), "error")
        return _my_reviews_page(422)
    return _decide_many(item_ids, "certify", None)


@routes.post("/reviews/bulk/remove")
@requires(Permission.REVIEWS_RESPOND)
def reviews_remove_selected():
    item_ids = _chosen("item")
    if not item_ids:
        flash(_("Select the access to remove first: tick the box of each person."), "error")
        return _my_reviews_page(422)
    reason = request.form.get("reason", "").strip()
    errors = {} if 0 < len(reason) <= service.MAX_COMMENT else {
        "reason": _("Write a short reason for removing this access (at most %(count)s characters).", count=service.MAX_COMMENT)}
    if not confirmed() or errors:
        return _ask_to_remove_many(item_ids, errors if confirmed() else None)
    return _decide_many(item_ids, "revoke", reason)


def _ask_to_remove_many(item_ids: list[int], errors: dict[str, str] | None):
    chosen = service.items_to_decide(db.session, _decider(), item_ids)
    if not chosen.decided:
        for stale in chosen.stale:
            flash(_stale_words(stale), "error")
        return _my_reviews_page(409)
    names = ", ".join(_("%(person)s on %(account)s", **_about(item)) for item in chosen.decided)
    consequence = ngettext("You are about to remove %(num)s person's access: %(names)s. It is revoked at once; to give "
                           "it back, someone has to grant it again.",
                           "You are about to remove %(num)s people's access: %(names)s. Each is revoked at once; to give "
                           "it back, someone has to grant it again.", len(chosen.decided), names=names)
    if chosen.stale:
        consequence += " " + ngettext("%(num)s other selected item can no longer be decided and stays as it is.",
                                      "%(num)s other selected items can no longer be decided and stay as they are.",
                                      len(chosen.stale))
    return confirm.ask(title=_("Remove the selected access"), consequence=consequence, button=_("Remove access"),
                       cancel=url_for(".reviews"), carry={"items": ",".join(str(item.id) for item in chosen.decided)},
                       reason=confirm.Reason(_("Why remove it?"), min_length=1, max_length=service.MAX_COMMENT),
                       errors=errors)


def _reassign_page(item: ReviewItem, status: int = 200, errors: dict[str, str] | None = None):
    person_q = (request.values.get("person_q") or "").strip()[:200]
    page = render_template("reviews/reassign.html", item=item, person_q=person_q, errors=errors or {},
                           candidates=[p for p in people_to_pick(db.session, person_q) if p.id not in (item.person_id, item.reviewer_person_id)],
                           chosen=request.form.get("person_id", ""), reason=request.form.get("reason", ""),
                           back=_back_from(item))
    return page, status


def _back_from(item: ReviewItem) -> str:
    if request.values.get("from") == "campaign" and can(Permission.REVIEWS_READ):
        return url_for(".reviews_campaign", campaign_id=item.campaign_id, _anchor=f"item-{item.id}")
    return url_for(".reviews", _anchor=f"item-{item.id}")


def _reassign_words(error: DomainError) -> str:
    words = {
        "reassign_escalated": _("This access was passed to governance at the deadline: governance decides it."),
        "reassign_left": _("This person has left: choose a current employee."),
        "reassign_own": _("Nobody reviews their own access: choose someone else."),
        "reassign_same": _("This person already reviews this access."),
    }
    return words.get(getattr(error, "code", ""), _("There is no such person: search again and choose from the list."))


@routes.get("/reviews/items/<int:item_id>/reassign")
@requires(Permission.REVIEWS_RESPOND)
def reviews_reassign_form(item_id: int):
    try:
        item = service.item_to_decide(db.session, _decider(), item_id)
    except DomainError as error:
        return _refused_decision(item_id, error)
    return _reassign_page(item)


@routes.post("/reviews/items/<int:item_id>/reassign")
@requires(Permission.REVIEWS_RESPOND)
def reviews_reassign(item_id: int):
    try:
        item = service.item_to_decide(db.session, _decider(), item_id)
    except DomainError as error:
        return _refused_decision(item_id, error)
    raw = request.form.get("person_id", "").strip()
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        return _reassign_page(item, 422, {"person_id": _("Choose who reviews this access instead.")})
    back = _back_from(item)
    try:
        item = service.reassign_item(db.session, current_actor(), _decider(), item_id, int(raw), request.form.get("reason"))
    except (service.NotReassignable, NotFound) as error:
        return _reassign_page(item, error.status, {"person_id": _reassign_words(error)})
    except DomainError as error:
        return _refused_decision(item_id, error)
    flash(_("%(person)s's access to %(account)s is now reviewed by %(reviewer)s.", reviewer=isolate(item.reviewer.display_name),
            **_about(item)), "success")
    return redirect(back)


# --- governance: campaigns --------------------------------------------------------------------
def _list_campaigns(session, chosen: service.CampaignFilter, **paging: Any) -> Page[ReviewCampaign]:
    return service.campaigns_page(session, chosen, **paging)


@routes.get("/reviews/campaigns")
@requires(Permission.REVIEWS_READ)
def reviews_campaigns():
    results, total, errors = pages.counted_listing(db.session, request.args, CampaignPageArgs(), _list_campaigns,
                                                   service.CampaignFilter, service.count_campaigns)
    campaigns = list(results.items) if results else []
    progress = service.progress_of(db.session, [c.id for c in campaigns])
    page = render_template("reviews/campaigns.html", campaigns=campaigns, progress=progress, results=results, total=total,
                           filter_errors=errors, statuses=list(CampaignStatus))
    return page, 400 if errors else 200


@routes.get("/reviews/campaigns/export.csv")
@requires(Permission.REVIEWS_READ)
def reviews_campaigns_csv():
    """Every campaign the list's filters select, newest opened first, with its progress."""
    args, errors = forms.load(CampaignPageArgs(), request.args)
    if errors:
        return refused_filters(errors)
    chosen = service.CampaignFilter(**forms.split_paging(args)[0])
    progress: dict[int, service.Progress] = {}

    def fetch(cursor: str | None) -> Page[ReviewCampaign]:
        page = service.campaigns_page(db.session, chosen, limit=EXPORT_BATCH, cursor=cursor)
        progress.update(service.progress_of(db.session, [campaign.id for campaign in page.items]))
        return page

    header = [_("Campaign"), _("Name"), _("Scope"), _("Status"), _("Opened"), _("Deadline"), _("Closed"), _("Items"),
              _("Decided"), _("To review"), _("Kept"), _("Removed"), _("Progress")]
    return csv_download("review-campaigns", header, (
        (campaign.id, campaign.name, scope_label(campaign, wrap=str), review_label("status", campaign.status),
         moment_cell(campaign.opened_at), moment_cell(campaign.deadline), moment_cell(campaign.closed_at),
         done.total, done.decided, done.pending, done.certified, done.revoked + done.revoked_at_deadline,
         format_percent(done.percent / 100))
        for campaign in every_row(fetch) for done in [progress[campaign.id]]))


def _open_form_page(status: int = 200, values: Mapping[str, str] | None = None, errors: dict[str, str] | None = None,
                    refusal: str | None = None, preview: service.LaunchPreview | None = None):
    defaults = {"deadline": (utcnow().date() + timedelta(days=DEFAULT_REVIEW_DAYS)).isoformat(), "scope": "all",
                "on_deadline": _settings().on_deadline.value, "reminder_every_hours": str(_settings().reminder_every_hours)}
    page = render_template("reviews/open.html", values={**defaults, **(values or {})}, errors=errors or {},
                           refusal=refusal, business_units=service.business_units(db.session), preview=preview,
                           networks=list_networks(db.session), deadline_actions=list(DeadlineAction))
    return page, status


def _last_day_ends(text: str) -> str | None:
    """A review runs through its last day (UTC): the deadline is the end of that day."""
    try:
        return datetime.combine(date.fromisoformat(text) + timedelta(days=1), time(), timezone.utc).isoformat()
    except (ValueError, OverflowError):  # 9999-12-31 has no next day
        return None


def _open_request(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    kind, _sep, value = form.get("scope", "").partition(":")
    submitted = {"name": form.get("name", "").strip(), "scope_kind": kind, "scope_value": value or None,
                 "deadline": _last_day_ends(form.get("deadline", "").strip()) or "",
                 "on_deadline": form.get("on_deadline") or None,
                 "reminder_every_hours": form.get("reminder_every_hours", "").strip() or None}
    try:
        loaded = CampaignOpenSchema().load(submitted)
    except ValidationError as error:
        fields = {"scope" if name in ("scope_kind", "scope_value") else name for name in error.messages}
        return {}, {name: _(FORM_PROBLEMS.get(name, N_("This value is not valid."))) for name in sorted(fields)}
    if loaded["deadline"] <= utcnow():  # refused before the preview, not only when opening
        return {}, {"deadline": _(FORM_PROBLEMS["deadline"])}
    return loaded, {}


@routes.get("/reviews/campaigns/new")
@requires(Permission.REVIEWS_MANAGE)
def reviews_campaign_new():
    return _open_form_page()


@routes.post("/reviews/campaigns")
@requires(Permission.REVIEWS_MANAGE)
def reviews_campaign_open():
    """Without confirmed=1 the launch preview: what the campaign would ask and which running campaign already asks
    about some of it; the preview's button opens it."""
    data, errors = _open_request(request.form)
    if errors:
        return _open_form_page(422, request.form, errors)
    try:
        if not confirmed():
            preview = service.preview_campaign(db.session, data["scope_kind"], data.get("scope_value"))
            if not preview.items:
                nothing = service.AllUnderReview("") if preview.overlaps else service.NothingToReview("")
                return _open_form_page(nothing.status, request.form, refusal=_words_for(nothing), preview=preview)
            return _open_form_page(200, request.form, preview=preview)
        campaign = service.request_campaign(db.session, current_actor(), _settings(), **data)
    except DomainError as error:
        return _open_form_page(error.status, request.form, refusal=_words_for(error))
    tasks.enqueue_open(db.session, campaign, current_actor())
    flash(_("Campaign %(name)s is opening: the access in scope is being read into the review. This page shows when it is ready.",
            name=isolate(campaign.name)), "success")
    return redirect(url_for(".reviews_campaign", campaign_id=campaign.id))


def _opening_job(campaign: ReviewCampaign) -> OutboxJob | None:
    if campaign.opening_job_id is None:
        return None
    try:
        return outbox.get_job(db.session, campaign.opening_job_id, [tasks.open_campaign.name])
    except NotFound:
        return None


FILTER_PROBLEMS = {
    "reviewer": N_("Choose a reviewer from the list."),
    "state": N_("Choose a state from the list."),
    "limit": N_("Rows per page: a number from 1 to 200."),
    "cursor": N_("This page link is out of date; start again from the first page."),
}


def _item_filter(args: Mapping[str, Any]) -> service.ItemFilter:
    reviewer = args.get("reviewer")
    return service.ItemFilter(reviewer=int(reviewer) if reviewer and reviewer.isdigit() else reviewer,
                              state=args.get("state"))


def _campaign_items(campaign_id: int) -> tuple[Page | None, service.ItemFilter, dict[str, str]]:
    """The page of items the query string asks for (reviewer, state, limit, cursor), or the readable problems."""
    args, errors = forms.load(CampaignItemArgs(), request.args if request.method == "GET" else {})
    if errors:
        return None, service.ItemFilter(), {name: _(FILTER_PROBLEMS.get(name, N_("This value is not valid."))) for name in errors}
    item_filter = _item_filter(args)
    try:
        return service.campaign_items_page(db.session, campaign_id, limit=args["limit"], cursor=args.get("cursor"),
                                           item_filter=item_filter), item_filter, {}
    except InvalidCursor:
        return None, item_filter, {"cursor": _(FILTER_PROBLEMS["cursor"])}


def _campaign_page(campaign_id: int, status: int = 200, errors: dict[str, str] | None = None):
    campaign = service.get_campaign(db.session, campaign_id)
    items, item_filter, paging_errors = _campaign_items(campaign.id)
    overview = service.campaign_overview(db.session, campaign.id)
    shown = list(items.items) if items else []
    page = render_template("reviews/campaign.html", campaign=campaign, errors=errors or {},
                           paging_errors=paging_errors, overview=overview, item_filter=item_filter,
                           reviewer_rows=service.REVIEWER_ROWS if request.args.get("reviewers") == "all" else REVIEWERS_LISTED,
                           matching=service.filtered_total(db.session, campaign.id, item_filter) if not paging_errors else 0,
                           contexts=service.contexts(db.session, shown), state_filters=list(service.STATE_FILTERS),
                           opening_job=_opening_job(campaign), results=items, now=utcnow())
    return page, 400 if paging_errors and status == 200 else status


@routes.get("/reviews/campaigns/<int:campaign_id>")
@requires(Permission.REVIEWS_READ)
def reviews_campaign(campaign_id: int):
    return _campaign_page(campaign_id)


@routes.get("/reviews/campaigns/<int:campaign_id>/export.csv")
@requires(Permission.REVIEWS_READ)
def reviews_campaign_csv(campaign_id: int):
    """Every item of the campaign the page's filters (reviewer, state) select, in the page's order."""
    campaign = service.get_campaign(db.session, campaign_id)
    args, errors = forms.load(CampaignItemArgs(), request.args)
    if errors:
        return refused_filters({name: _(FILTER_PROBLEMS.get(name, N_("This value is not valid."))) for name in errors})
    item_filter = _item_filter(args)
    rows = every_row(lambda cursor: service.campaign_items_page(db.session, campaign.id, limit=EXPORT_BATCH,
                                                                cursor=cursor, item_filter=item_filter))
    header = [_("Item"), _("Account"), _("Network"), _("Person"), _("Email"), _("Role"), _("Reviewer"), _("Decision"),
              _("Decided by"), _("Decided"), _("Reason")]
    return csv_download(f"review-{campaign.id}", header, (
        (item.id, item.account.handle, item.account.network.display_name, item.person.display_name,
         item.person.email or "", label(item.grant.role), item.reviewer.display_name if item.reviewer else _("Governance"),
         review_label("state", service.item_state(item)), actor_name(db.session, item.decided_by) if item.decided_by else "",
         moment_cell(item.decided_at), item.comment or "")
        for item in rows))


def _campaign_action(campaign_id: int, act, done: str):
    try:
        act()
    except NotFound:
        raise
    except DomainError as error:
        flash(_words_for(error), "error")
        return _campaign_page(campaign_id, error.status)
    flash(_(done), "success")
    return redirect(url_for(".reviews_campaign", campaign_id=campaign_id))


@routes.post("/reviews/campaigns/<int:campaign_id>/close")
@requires(Permission.REVIEWS_MANAGE)
def reviews_campaign_close(campaign_id: int):
    campaign = service.get_campaign(db.session, campaign_id)
    if campaign.status is CampaignStatus.CLOSED:
        return already_done(_already_closed(campaign), url_for(".reviews_campaign", campaign_id=campaign_id))
    reason = request.form.get("reason", "").strip()
    errors = {} if 3 <= len(reason) <= service.MAX_COMMENT else {
        "reason": _("Write why you close it early (3 to %(count)s characters).", count=service.MAX_COMMENT)}
    if not confirmed() or errors:
        return _ask_to_close(campaign, errors if confirmed() else None)
    return _campaign_action(campaign_id, lambda: service.close_campaign(db.session, current_actor(), campaign_id, reason),
                            N_("The campaign is closed. Nothing was removed by closing it."))


def _ask_to_close(campaign: ReviewCampaign, errors: dict[str, str] | None):
    progress = service.progress_of(db.session, [campaign.id])[campaign.id]
    return confirm.ask(
        title=_("Close the campaign early"),
        consequence=_("You are about to close the access review %(name)s before its deadline. %(undecided)s of "
                      "%(total)s items are not decided: they stay as they are (closing removes nothing), and reviewers "
                      "can no longer answer.", name=isolate(campaign.name), undecided=progress.undecided,
                      total=progress.total),
        button=_("Close early"), cancel=url_for(".reviews_campaign", campaign_id=campaign.id),
        reason=confirm.Reason(_("Why close it early?"), max_length=service.MAX_COMMENT), errors=errors)


def _undecided(campaign: ReviewCampaign) -> int:
    return service.progress_of(db.session, [campaign.id])[campaign.id].undecided


def _ask_about_unreviewed(campaign: ReviewCampaign, consequence: str, button: str):
    return confirm.ask(title=_("Remove the access nobody reviewed"), consequence=consequence, button=button,
                       cancel=url_for(".reviews_campaign", campaign_id=campaign.id))


def _already_closed(campaign: ReviewCampaign) -> str:
    return _("This campaign was already closed on %(when)s by %(who)s.", when=confirm.moment(campaign.closed_at),
             who=confirm.who_did(db.session, "reviews:campaign:close", "review_campaign", campaign.id))


@routes.post("/reviews/campaigns/<int:campaign_id>/process-deadline")
@requires(Permission.REVIEWS_MANAGE)
def reviews_campaign_process(campaign_id: int):
    campaign = service.get_campaign(db.session, campaign_id)
    if campaign.status is CampaignStatus.OPEN and campaign.on_deadline is DeadlineAction.REVOKE and not confirmed():
        return _ask_about_unreviewed(campaign, _(
            "You are about to apply the deadline of %(name)s: the access nobody reviewed (%(undecided)s items) is removed "
            "now. If that is more than govern removes without a second look, the campaign waits for your confirmation "
            "instead.", name=isolate(campaign.name), undecided=_undecided(campaign)), _("Apply the deadline now"))
    return _campaign_action(campaign_id, lambda: service.process_deadline(db.session, current_actor(), _settings(), campaign_id),
                            N_("The deadline was applied to the access nobody reviewed."))


@routes.post("/reviews/campaigns/<int:campaign_id>/approve-held")
@requires(Permission.REVIEWS_MANAGE)
def reviews_campaign_approve(campaign_id: int):
    campaign = service.get_campaign(db.session, campaign_id)
    if campaign.status is CampaignStatus.HELD and not confirmed():
        return _ask_about_unreviewed(campaign, _(
            "You are about to remove the access nobody reviewed in %(name)s: %(undecided)s items, revoked at once.",
            name=isolate(campaign.name), undecided=_undecided(campaign)), _("Confirm: remove the access nobody reviewed"))
    return _campaign_action(campaign_id, lambda: service.approve_held(db.session, current_actor(), campaign_id),
                            N_("Confirmed: the access nobody reviewed was removed."))


@routes.post("/reviews/campaigns/<int:campaign_id>/extend")
@requires(Permission.REVIEWS_MANAGE)
def reviews_campaign_extend(campaign_id: int):
    try:
        ends = ReviewExtendSchema().load({"deadline": _last_day_ends(request.form.get("deadline", "").strip()) or ""})["deadline"]
    except ValidationError:
        return _campaign_page(campaign_id, 422, errors={"deadline": _(FORM_PROBLEMS["deadline"])})
    return _campaign_action(campaign_id, lambda: service.extend_deadline(db.session, current_actor(), campaign_id, ends),
                            N_("The deadline was moved; reviewers can decide until then."))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
