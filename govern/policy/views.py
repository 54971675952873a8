"""Console pages of the social media policy: the test bench, the violations queue and its exceptions, post approvals and
the impostor watch."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import format_decimal, ngettext
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from govern import app_services
from govern.accounts.models import SocialAccount
from govern.accounts.service import AccountFilter, list_accounts
from govern.auth.roles import Permission
from govern.auth.service import actor_name
from govern.console import confirm, forms
from govern.console.blueprint import ConsolePages
from govern.console.confirm import already_done, confirmed
from govern.console.labels import N_, label
from govern.console.tables import EXPORT_BATCH, csv_download, every_row, refused_filters
from govern.console.responses import refusal, refuse
from govern.console.templating import isolate
from govern.errors import DomainError, NotFound
from govern.extensions import db
from govern.pagination import InvalidCursor
from govern.policy import service
from govern.policy.engine.detectors.base import REASONS
from govern.policy.engine.findings import Action, Decision
from govern.policy.engine.packs import Rule
from govern.policy.exceptions import ExceptionScope
from govern.policy.impostors.matching import ImpostorMatch, parse_candidates
from govern.policy.schemas import MAX_TEXT, ViolationQuerySchema
from govern.policy.workflow_models import PolicyException, ViolationStatus
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

routes = ConsolePages()

ACCOUNT_CHOICES = 200
MAX_CANDIDATES = 500
MAX_NOTE = 4000
MAX_ASSIGNEE = 255

POLICY_LABELS: dict[str, dict[str, str]] = {
    "action": {"allow": N_("Allow"), "warn": N_("Warn"), "require_approval": N_("Needs approval"), "block": N_("Block")},
    "severity": {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High"), "critical": N_("Critical")},
    "category": {"privacy": N_("Privacy"), "confidentiality": N_("Confidentiality"), "copyright": N_("Copyright"),
                 "brand": N_("Brand")},
    "violation_status": {"open": N_("Open"), "assigned": N_("Assigned"), "resolved": N_("Resolved"),
                         "false_positive": N_("False positive")},
    "content_kind": {"post": N_("Post"), "comment": N_("Comment")},
    "exception_scope": {"value": N_("This value, on every account"), "value_account": N_("This value, on this account"),
                        "rule_account": N_("This rule, on this account")},
    "decision_summary": {
        "allow": N_("Nothing in this text breaks a rule: it may be published."),
        "warn": N_("It may be published, but read the warnings below first."),
        "require_approval": N_("A governance approver must approve this before it is published."),
        "block": N_("This cannot be published: the policy blocks it."),
    },
}

VIOLATION_DONE = {
    ViolationStatus.ASSIGNED: N_("Violation %(id)s assigned to %(assignee)s."),
    ViolationStatus.RESOLVED: N_("Violation %(id)s resolved."),
    ViolationStatus.FALSE_POSITIVE: N_("Violation %(id)s marked as a false positive."),
}


# Why a finding is only likely (detectors.base.REASONS); the English strings are the engine's own.
REASON_LABELS = {
    "no_checksum": N_("the shape fits but there is no checksum to confirm it"),
    "no_context": N_("no context word near it says what it is"),
    "inside_word": N_("it is part of a longer word, hashtag, file name or path"),
    "low_entropy": N_("it looks like a placeholder or an example rather than a real value"),
    "unverified_structure": N_("its structure could not be fully verified"),
}
_SAY = re.compile(r' \(write "(?P<say>.*?)"\)')
_EMBARGO = re.compile(r" \(embargoed until (?P<moment>[^)\s]+)\)")


def policy_label(group: str, value: Any) -> str:
    """The translated name of a policy value (an action, a severity, a status...); the raw value if none is defined."""
    raw = str(getattr(value, "value", value) or "")
    message = POLICY_LABELS.get(group, {}).get(raw)
    return _(message) if message else raw


# --- findings as the pages show them ------------------------------------------------------------
@dataclass(frozen=True)
class ShownFinding:
    """A finding (fresh from the engine, or as stored on a violation or approval) numbered for the page's legend."""

    number: int
    entity: str
    rule: str
    category: str
    action: str
    severity: str
    explanation: str
    preview: str  # masked: the findings table never shows the matched value itself
    start: int = 0
    end: int = 0
    kind: str | None = None
    media_index: int | None = None
    certainty: str = "certain"
    reason: str | None = None

    @classmethod
    def numbered(cls, documents: Sequence[Mapping[str, Any]]) -> list[ShownFinding]:
        return [cls(number=n, entity=str(d.get("entity", "")), rule=str(d.get("rule", "")), category=str(d.get("category", "")),
                    action=str(d.get("action", "")), severity=str(d.get("severity", "")),
                    explanation=reader_explanation(d), preview=str(d.get("preview", "")),
                    start=int(d.get("start") or 0), end=int(d.get("end") or 0), kind=d.get("kind"),
                    media_index=d.get("media_index"), certainty=str(d.get("certainty") or "certain"),
                    reason=d.get("reason"))
                for n, d in enumerate(documents, start=1)]

    @property
    def reason_text(self) -> str:
        """Why the finding is only likely, in the reader's language ("" when it is certain)."""
        if self.certainty == "certain" or not self.reason:
            return ""
        message = REASON_LABELS.get(self.reason)
        return _(message) if message else REASONS.get(self.reason, self.reason)

    @property
    def anchor(self) -> str:
        return f"finding-{self.number}"

    @property
    def title(self) -> str:
        what = f"{self.entity} ({self.kind})" if self.kind else self.entity
        explanation = f"{self.explanation} ({self.reason_text})" if self.reason_text else self.explanation
        return _("Rule %(rule)s · %(entity)s · %(action)s · severity %(severity)s: %(explanation)s", rule=self.rule,
                 entity=what, action=policy_label("action", self.action), severity=policy_label("severity", self.severity),
                 explanation=explanation)


def _rules_in_force() -> dict[str, Rule]:
    """The rules of the packs in force by id, once per request (empty if no policy is in force)."""
    if "policy_rules" not in g:
        try:
            g.policy_rules = {rule.id: rule for rule in _runtime().compiled.rules}
        except DomainError:
            g.policy_rules = {}
    return g.policy_rules


def reader_explanation(document: Mapping[str, Any]) -> str:
    """A finding's explanation in the reader's language, looked up by rule id at render time.

    Stored findings (violations, approvals) keep the text of the language the engine used; when their rule is still
    in force, its description in the console's locale replaces the description the text starts with, and the pieces
    the engine appended ("(write ...)", "(embargoed until ...)") are translated. The likely-reason is shown apart
    (ShownFinding.reason_text), so its English text is taken out. A rule no longer in force: the stored text stands.
    """
    stored = str(document.get("explanation", ""))
    reason = document.get("reason")
    if reason in REASONS:
        stored = stored.replace(f" ({REASONS[reason]})", "")
    rule = _rules_in_force().get(str(document.get("rule", "")))
    if rule is None:
        return stored
    described = next((text for text in sorted(rule.description.values(), key=len, reverse=True)
                      if stored.startswith(text)), None)
    if described is None:
        return stored
    language = str(get_locale() or "en").split("_")[0]
    rest = stored[len(described):]
    rest = _SAY.sub(lambda m: _(' (write "%(say)s")', say=m["say"]), rest, count=1)
    rest = _EMBARGO.sub(lambda m: _(" (embargoed until %(moment)s)", moment=m["moment"]), rest, count=1)
    return (rule.description.get(language) or rule.description["en"]) + rest


@dataclass(frozen=True)
class TextPiece:
    """A run of the text and the findings that cover all of it (none: plain text)."""

    text: str
    findings: tuple[ShownFinding, ...] = ()

    @property
    def strongest(self) -> str:
        actions = [Action(f.action) for f in self.findings if f.action in Action._value2member_map_]
        return max(actions, key=lambda action: action.strength).value if actions else "warn"

    @property
    def title(self) -> str:
        return "\n".join(finding.title for finding in self.findings)

    @property
    def described_by(self) -> str:
        return " ".join(finding.anchor for finding in self.findings)


def text_pieces(text: str, findings: Sequence[ShownFinding]) -> list[TextPiece]:
    """The text cut at every finding's edges (code-point offsets, as Python slices them), each piece with its findings."""
    spans = [f for f in findings if f.media_index is None and 0 <= f.start < f.end <= len(text)]
    cuts = sorted({0, len(text), *(f.start for f in spans), *(f.end for f in spans)})
    return [TextPiece(text[start:end], tuple(f for f in spans if f.start <= start and end <= f.end))
            for start, end in zip(cuts, cuts[1:])]


def shown_findings(documents: Sequence[Mapping[str, Any]] | None) -> list[ShownFinding]:
    return ShownFinding.numbered(documents or [])


routes.template_globals(policy_label, text_pieces, shown_findings)


def _runtime() -> service.PolicyRuntime:
    return app_services.policy()


def _account_choices(session: Session) -> list[SocialAccount]:
    return list(list_accounts(session, AccountFilter(), limit=ACCOUNT_CHOICES).items)


# --- test bench -----------------------------------------------------------------------------------
@dataclass
class BenchSubmission:
    text: str = ""
    account_id: int | None = None
    images: list[bytes] = field(default_factory=list)
    problem: str | None = None


def _bench_submission(form: Mapping[str, str], uploads: list[FileStorage]) -> BenchSubmission:
    """The test bench form read and checked; `problem` says in words what to fix."""
    text, account = form.get("text", ""), form.get("account_id", "").strip()
    submission = BenchSubmission(text, int(account) if account.isdigit() else None)
    uploads = [upload for upload in uploads if upload.filename]
    if not text.strip() and not uploads:
        submission.problem = _("Write the text of a post, or attach an image, to check it.")
    elif len(text) > MAX_TEXT:
        submission.problem = _("The text is too long to check: at most %(count)s characters.", count=MAX_TEXT)
    elif account and not account.isdigit():
        submission.problem = forms.problem_with("account_id")
    elif len(uploads) > service.MAX_MEDIA:
        submission.problem = _("Attach at most %(count)s images to one check.", count=service.MAX_MEDIA)
    else:
        submission.images = [upload.read() for upload in uploads]
    return submission


def _evaluation_refusal(error: DomainError) -> str:
    if isinstance(error, service.MediaTooLarge):
        return _("The attached images are too large to check (the limit %(limit)s is %(value)s). Attach fewer or smaller "
                 "images.", limit=isolate(error.limit), value=format_decimal(error.limit_value))
    if isinstance(error, service.UnreadableMedia):
        return _("An attachment is not an image govern can read (JPEG, PNG, GIF, WebP, BMP or TIFF), or it is too large "
                 "or damaged. Remove it and check again.")
    if isinstance(error, NotFound):
        return forms.problem_with("account_id")
    return refusal(error)


def _bench_page(status: int = 200, submission: BenchSubmission | None = None, decision: Decision | None = None):
    submission = submission or BenchSubmission()
    findings = ShownFinding.numbered([service.finding_document(f) for f in decision.findings]) if decision else []
    page = render_template("policy/test.html", accounts=_account_choices(db.session), pack_version=_runtime().version,
                           submission=submission, decision=decision, findings=findings)
    return page, status


@routes.get("/policy/test")
@requires(Permission.POLICY_EVALUATE)
def policy_test():
    return _bench_page()


@routes.post("/policy/test")
@requires(Permission.POLICY_EVALUATE)
def policy_test_check():
    """Nothing is published or stored: the decision is only shown."""
    submission = _bench_submission(request.form, request.files.getlist("images"))
    if submission.problem:
        flash(submission.problem, "error")
        return _bench_page(422, submission)
    try:
        decision = service.evaluate(db.session, _runtime(), submission.text, account_id=submission.account_id,
                                    media=submission.images)
    except DomainError as error:
        flash(_evaluation_refusal(error), "error")
        return _bench_page(error.status, submission)
    return _bench_page(200, submission, decision)


# --- violations queue -----------------------------------------------------------------------------
def _violation_filters() -> tuple[dict, dict]:
    return forms.load(ViolationQuerySchema(), {key: value for key, value in request.args.items() if key != "cursor"})


def _violations_page(status: int = 200, **form_state):
    filters, filter_errors = _violation_filters()
    results = total = None
    if not filter_errors:
        chosen = (filters.get("status"), filters.get("account_id"))
        try:
            results = service.page_violations(db.session, *chosen, cursor=request.args.get("cursor") or None)
        except InvalidCursor:
            filter_errors = {"cursor": forms.problem_with("cursor")}
        else:
            total = service.count_violations(db.session, *chosen)
    page = render_template("policy/violations.html", violations=results.items if results else [], results=results,
                           total=total, filter_errors=filter_errors, accounts=_account_choices(db.session),
                           statuses=list(ViolationStatus), **form_state)
    return page, 400 if filter_errors and status < 400 else status


@routes.get("/policy/violations/export.csv")
@requires(Permission.POLICY_REVIEW)
def policy_violations_csv():
    """Every violation the queue's filters select, newest first, with its text masked as the queue shows it."""
    filters, filter_errors = _violation_filters()
    if filter_errors:
        return refused_filters(filter_errors)
    chosen = (filters.get("status"), filters.get("account_id"))
    rows = every_row(lambda cursor: service.page_violations(db.session, *chosen, limit=EXPORT_BATCH, cursor=cursor))
    header = [_("Detected"), _("Account"), _("Network"), _("Kind"), _("Decision"), _("Rules"), _("Text (masked)"),
              _("Status"), _("Assignee")]
    return csv_download("violations", header, (
        (violation.detected_at.isoformat(timespec="seconds"), violation.account.handle,
         violation.account.network.display_name, policy_label("content_kind", violation.content_kind),
         policy_label("action", violation.decision.value),
         ", ".join(sorted({finding.get("rule", "") for finding in violation.findings})), violation.masked_text,
         label(violation.status), violation.assignee or "")
        for violation in rows))


def _violation_form_problem(status: ViolationStatus, assignee: str, note: str) -> str | None:
    if status is ViolationStatus.ASSIGNED and not assignee:
        return _("Say who the violation is assigned to.")
    if status in (ViolationStatus.RESOLVED, ViolationStatus.FALSE_POSITIVE) and not note:
        return _("Write a note: what was done about it, or why it is not a violation.")
    if len(assignee) > MAX_ASSIGNEE or len(note) > MAX_NOTE:
        return _("Keep the assignee under %(assignee)s characters and the note under %(note)s.", assignee=MAX_ASSIGNEE, note=MAX_NOTE)
    return None


def _update_violation(violation_id: int, status: ViolationStatus):
    assignee, note = request.form.get("assignee", "").strip(), request.form.get("note", "").strip()
    form_id = f"violation-{violation_id}"
    if problem := _violation_form_problem(status, assignee, note):
        return _violations_page(422, failed_form=form_id, errors={"form": problem})
    try:
        service.update_violation(db.session, current_actor(), violation_id, status, assignee=assignee or None, note=note or None)
    except DomainError as error:
        return refuse(error, _violations_page, failed_form=form_id)
    flash(_(VIOLATION_DONE[status], id=violation_id, assignee=isolate(assignee)), "success")
    return redirect(url_for(".policy_violations", **request.args))


@routes.get("/policy/violations")
@requires(Permission.POLICY_REVIEW)
def policy_violations():
    return _violations_page()


@routes.post("/policy/violations/<int:violation_id>/assign")
@requires(Permission.POLICY_DECIDE)
def policy_violation_assign(violation_id: int):
    return _update_violation(violation_id, ViolationStatus.ASSIGNED)


@routes.post("/policy/violations/<int:violation_id>/resolve")
@requires(Permission.POLICY_DECIDE)
def policy_violation_resolve(violation_id: int):
    return _update_violation(violation_id, ViolationStatus.RESOLVED)


@routes.post("/policy/violations/<int:violation_id>/false-positive")
@requires(Permission.POLICY_DECIDE)
def policy_violation_false_positive(violation_id: int):
    """A false positive, and if a scope is chosen, an exception the next evaluation honours (same transaction)."""
    chosen = request.form.get("exception_scope", "").strip()
    if not chosen or chosen not in ExceptionScope._value2member_map_:
        return _update_violation(violation_id, ViolationStatus.FALSE_POSITIVE)
    note = request.form.get("note", "").strip()
    if problem := _violation_form_problem(ViolationStatus.FALSE_POSITIVE, "", note):
        return _violations_page(422, failed_form=f"violation-{violation_id}", errors={"form": problem})
    try:
        made = service.add_exceptions(db.session, current_actor(), _runtime().version, violation_id,
                                      ExceptionScope(chosen), note)
    except DomainError as error:
        return refuse(error, _violations_page, failed_form=f"violation-{violation_id}", reason=_exception_refusal)
    flash(ngettext("Violation %(id)s marked as a false positive; %(num)s exception added: %(scope)s.",
                   "Violation %(id)s marked as a false positive; %(num)s exceptions added: %(scope)s.", len(made),
                   id=violation_id, scope=policy_label("exception_scope", chosen)), "success")
    return redirect(url_for(".policy_violations", **request.args))


def _exception_refusal(error: DomainError) -> str:
    if isinstance(error, service.NoValueToExcept):
        return _("govern kept no fingerprint of the values this violation found (it is older, or it is an image), so "
                 "only the rule can be excepted for this account.")
    if isinstance(error, service.ViolationWasReal):
        return _("This violation was resolved as a real one; it cannot become an exception.")
    return refusal(error)


# --- exceptions learned from false positives ------------------------------------------------------
def _exceptions_page(status: int = 200):
    include_removed = request.args.get("include_removed") == "1"
    exceptions = service.list_exceptions(db.session, include_removed=include_removed)
    return render_template("policy/exceptions.html", exceptions=exceptions, include_removed=include_removed,
                           pack_version=_runtime().version), status


@routes.get("/policy/exceptions")
@requires(Permission.POLICY_REVIEW)
def policy_exceptions():
    return _exceptions_page()


@routes.post("/policy/exceptions/<int:exception_id>/remove")
@requires(Permission.POLICY_DECIDE)
def policy_exception_remove(exception_id: int):
    """The next evaluation flags what it lifted again; the exception stays listed as removed."""
    exception = db.session.get(PolicyException, exception_id)
    if exception is None:
        raise NotFound("exception %(exception_id)s does not exist", exception_id=exception_id)
    if exception.removed_at is not None:
        return already_done(_already_removed(exception), url_for(".policy_exceptions", **request.args))
    if not confirmed():
        return _ask_to_remove(exception)
    reason = request.form.get("reason", "").strip()[:MAX_NOTE] or None
    try:
        service.remove_exception(db.session, current_actor(), exception_id, reason)
    except DomainError as error:
        flash(_("The exception was not removed: %(reason)s", reason=isolate(refusal(error))), "error")
        return _exceptions_page(error.status)
    flash(_("Exception %(id)s removed: the policy flags what it allowed again.", id=exception_id), "success")
    return redirect(url_for(".policy_exceptions", **request.args))


def _ask_to_remove(exception: PolicyException):
    where = isolate(f"@{exception.account.handle}") if exception.account else _("every account")
    return confirm.ask(
        title=_("Remove the exception"),
        consequence=_("You are about to remove the exception to %(rule)s (%(scope)s, %(where)s): from the next check on, "
                      "the policy flags what it allowed again.", rule=isolate(exception.rule),
                      scope=policy_label("exception_scope", exception.scope), where=where),
        button=_("Remove the exception"), cancel=url_for(".policy_exceptions", **request.args, _anchor=f"exception-{exception.id}"),
        reason=confirm.Reason(_("Why it is removed (optional)"), required=False, max_length=MAX_NOTE), irreversible=False)


def _already_removed(exception: PolicyException) -> str:
    return _("This exception was already removed on %(when)s by %(who)s.", when=confirm.moment(exception.removed_at),
             who=isolate(actor_name(db.session, exception.removed_by)))


# --- impostor watch -------------------------------------------------------------------------------
def _impostors_page(status: int = 200, candidates: str = "", matches: list[ImpostorMatch] | None = None, checked: int = 0):
    page = render_template("policy/impostors.html", candidates=candidates, matches=matches, checked=checked)
    return page, status


def _candidates_problem(count: int) -> str | None:
    if count == 0:
        return _("Write at least one handle to check, one per line (for example instagram:acme_support).")
    if count > MAX_CANDIDATES:
        return ngettext("Check at most %(num)s handle at a time.", "Check at most %(num)s handles at a time.", MAX_CANDIDATES)
    return None


@routes.get("/policy/impostors")
@requires(Permission.ACCOUNTS_READ)
def policy_impostors():
    return _impostors_page()


@routes.post("/policy/impostors")
@requires(Permission.ACCOUNTS_READ)
def policy_impostors_check():
    written = request.form.get("candidates", "")
    candidates = parse_candidates(written.splitlines())
    if problem := _candidates_problem(len(candidates)):
        flash(problem, "error")
        return _impostors_page(422, written)
    matches = service.lookalikes_of_inventory(db.session, candidates)
    return _impostors_page(200, written, matches, len(candidates))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
