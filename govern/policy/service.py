"""Policy decisions inside govern: the packs in force, evaluating a post for an account (the gate: a Decision, nothing
else), the violations queue and the scoped exceptions learned from its false positives. Imports neither the broker nor
publishing."""

from __future__ import annotations

import base64
import binascii
import threading
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from govern.accounts.models import Network, SocialAccount
from govern.actor import Actor
from govern.audit.service import record
from govern.db import remembered, utcnow
from govern.errors import N_, DomainError, InvalidOperation, NotFound
from govern.pagination import Page, paginate
from govern.policy.engine import evaluation, packs
from govern.policy.engine.findings import Action, Decision, Finding
from govern.policy.exceptions import ExceptionScope, ExceptionSet, value_digest
from govern.policy.images.checks import scan_media, text_repost_detections
from govern.policy.images.limits import DEFAULT_LIMITS, ImageLimits, ImageRejected
from govern.policy.images.registry import registry_snapshot
from govern.policy.impostors.matching import DEFAULT_MIN_SCORE, Handle, ImpostorMatch, find_impostors
from govern.policy.workflow_models import ContentKind, PolicyException, PolicyViolation, ViolationStatus

log = structlog.get_logger(__name__)

MAX_MEDIA = 10


class UnreadableMedia(InvalidOperation):
    title = "Unreadable attachment"

    @classmethod
    def of(cls, rejected: ImageRejected) -> UnreadableMedia:
        """The refusal of an image the decoder rejected, worded from the rejection's reason."""
        template = _UNREADABLE.get(rejected.reason, N_("attachment %(number)s cannot be read: %(detail)s"))
        return cls(template, number=_attachment_number(rejected), detail=rejected.message)


_UNREADABLE = {
    "not_an_image": N_("attachment %(number)s is not an image in a supported format (%(detail)s)"),
    "corrupt": N_("attachment %(number)s is damaged or incomplete (%(detail)s)"),
}


def _attachment_number(rejected: ImageRejected) -> int:
    return (rejected.media_index or 0) + 1  # people count from 1


# The settings behind each media limit, named in the refusal so an administrator knows what to raise.
MEDIA_LIMIT_SETTINGS = {
    "max_pixels": "media_max_pixels_per_image", "max_pixels_per_request": "media_max_pixels_per_request",
    "max_decode_seconds": "media_max_decode_seconds",
}


class MediaTooLarge(DomainError):
    """The attachments would cost more to decode than a post may: refused from the headers, or when time ran out."""

    status = 413
    title = "Attachments too large"
    message_argument = 0  # worded by the class

    def __init__(self, rejected: ImageRejected) -> None:
        self.limit = MEDIA_LIMIT_SETTINGS.get(rejected.limit or "", f"media_{rejected.limit}")
        super().__init__(N_("attachment %(number)s costs too much to check: %(detail)s (limit: %(limit)s)"),
                         number=_attachment_number(rejected), detail=rejected.message, limit=self.limit)
        self.limit_value, self.media_index = rejected.limit_value, rejected.media_index

    def problem_members(self) -> dict[str, Any]:
        return {"limit": self.limit, "limit_value": self.limit_value, "media_index": self.media_index}


class PacksRefused(InvalidOperation):
    title = "Policy pack refused"


class NoValueToExcept(InvalidOperation):
    title = "No value to except"


class ViolationWasReal(InvalidOperation):
    title = "Resolved as a real violation"


class PolicyUnavailable(DomainError):
    status = 503
    title = "Policy unavailable"


# --- the packs in force -----------------------------------------------------------------------
class PolicyRuntime:
    """The compiled packs in force in this process; a reload that fails leaves them in force."""

    def __init__(self, packs_dir: Path, company_names: tuple[str, ...] = (), image_limits: ImageLimits = DEFAULT_LIMITS,
                 exception_key: bytes = b"") -> None:
        self.packs_dir = packs_dir
        self.company_names = company_names
        self.image_limits = image_limits
        self.exception_key = exception_key  # keys the value digests of exceptions (derived from the app's secret key)
        self._compiled: evaluation.CompiledPolicy | None = None
        self._lock = threading.Lock()

    @property
    def compiled(self) -> evaluation.CompiledPolicy:
        if self._compiled is None:
            with self._lock:
                if self._compiled is None:
                    try:
                        self._compiled = evaluation.compile_packs(packs.load_packs(self.packs_dir))
                    except packs.PackError as exc:
                        log.error("policy_packs_refused", error=str(exc))
                        raise PolicyUnavailable("no policy is in force, so nothing can be checked or published: %(exc)s", exc=exc) from None
        return self._compiled

    @property
    def version(self) -> str:
        return self.compiled.version

    def reload(self) -> str:
        """Load and compile the packs again; raises PackError (file, line, reason) and keeps the old ones."""
        try:
            fresh = evaluation.compile_packs(packs.load_packs(self.packs_dir))
        except packs.PackError as exc:
            raise PacksRefused("%(exc)s; the packs in force stay", exc=exc) from None
        with self._lock:
            self._compiled = fresh
        return fresh.version


def packs_summary(runtime: PolicyRuntime) -> dict[str, Any]:
    compiled = runtime.compiled
    return {"version": compiled.version, "rules": len(compiled.rules), "packs": [pack.name for pack in compiled.packs.packs]}


# --- evaluating -------------------------------------------------------------------------------
def context_for(account: SocialAccount | None, network: str | None = None) -> evaluation.PolicyContext | None:
    if account is None:
        return evaluation.PolicyContext(network=network) if network else None
    country = next((tag.split(":", 1)[1].upper() for tag in account.tags or [] if tag.lower().startswith("country:")), None)
    return evaluation.PolicyContext(
        network=account.network.key, account_id=str(account.id), business_unit=account.business_unit, country=country,
    )


def decode_media(items: list[str]) -> list[bytes]:
    """Attachments arrive base64-encoded (optionally as data: URLs)."""
    if len(items) > MAX_MEDIA:
        raise InvalidOperation("at most %(MAX_MEDIA)s attachments per post", MAX_MEDIA=MAX_MEDIA)
    decoded = []
    for index, item in enumerate(items):
        payload = item.split(",", 1)[1] if item.startswith("data:") and "," in item else item
        try:
            decoded.append(base64.b64decode(payload, validate=True))
        except (binascii.Error, ValueError):
            raise UnreadableMedia("attachment %(number)s is not valid base64", number=index + 1) from None
    return decoded


def evaluate(
    session: Session, runtime: PolicyRuntime, text: str, *, account_id: int | None = None, network: str | None = None,
    media: list[bytes] | None = None,
) -> Decision:
    account = None
    if account_id is not None:
        account = session.get(SocialAccount, account_id)
        if account is None:
            raise NotFound("account %(account_id)s does not exist", account_id=account_id)
    if media:
        try:
            media_detections = scan_media(media, registry_snapshot(session), company_names=runtime.company_names, text=text,
                                          limits=runtime.image_limits)
        except ImageRejected as exc:
            if exc.limit in MEDIA_LIMIT_SETTINGS:
                raise MediaTooLarge(exc) from None
            raise UnreadableMedia.of(exc) from None
    else:
        media_detections = text_repost_detections(text)
    return evaluation.evaluate(runtime.compiled, text, account=context_for(account, network), media_detections=media_detections,
                           exceptions=active_exceptions(session, runtime, account_id))


def finding_document(finding: Finding) -> dict[str, Any]:
    return finding.document()


def decision_document(decision: Decision) -> dict[str, Any]:
    return decision.document()


def masked_text(text: str, decision: Decision) -> str:
    return decision.masked(text)


# --- the violations queue ---------------------------------------------------------------------
def record_scanned_item(
    session: Session, actor: Actor, account_id: int, kind: ContentKind, external_id: str, text: str, decision: Decision,
    *, value_key: bytes | None = None,
) -> PolicyViolation | None:
    """A violation for an item that breaks a rule; an item already in the queue is not queued twice.

    With `value_key` each text finding keeps the digest of its value, so a false positive can become an exception for
    that value (the text itself is kept only masked).
    """
    if decision.decision is Action.ALLOW:
        return None
    existing = session.scalar(select(PolicyViolation).where(
        PolicyViolation.account_id == account_id, PolicyViolation.content_kind == kind, PolicyViolation.external_id == external_id,
    ))
    if existing is not None:
        return None
    violation = PolicyViolation(
        account_id=account_id, content_kind=kind, external_id=external_id, decision=decision.decision,
        findings=violation_findings(decision, text, value_key), masked_text=masked_text(text, decision),
        pack_version=decision.pack_version,
    )
    session.add(violation)
    session.flush()
    record(session, actor, "policy:violation:open", "policy_violation", violation.id, account_id=account_id,
           content_kind=kind.value, external_id=external_id, **decision_document(decision))
    return violation


def list_violations(session: Session, status: ViolationStatus | None = None, account_id: int | None = None) -> list[PolicyViolation]:
    query = _violations(select(PolicyViolation), status, account_id)
    return list(session.scalars(query.order_by(PolicyViolation.detected_at.desc(), PolicyViolation.id.desc()).limit(500)))


def page_violations(session: Session, status: ViolationStatus | None = None, account_id: int | None = None,
                    limit: int = 50, cursor: str | None = None) -> Page[PolicyViolation]:
    """Newest first, a page at a time, both ways."""
    return paginate(session, _violations(select(PolicyViolation), status, account_id), "detected_at",
                    PolicyViolation.detected_at, PolicyViolation.id, limit, cursor, descending=True)


def count_violations(session: Session, status: ViolationStatus | None = None, account_id: int | None = None) -> int:
    return int(session.scalar(_violations(select(func.count(PolicyViolation.id)), status, account_id)) or 0)


def _violations(query: Select, status: ViolationStatus | None, account_id: int | None) -> Select:
    if status is not None:
        query = query.where(PolicyViolation.status == status)
    if account_id is not None:
        query = query.where(PolicyViolation.account_id == account_id)
    return query


def update_violation(
    session: Session, actor: Actor, violation_id: int, status: ViolationStatus, *, assignee: str | None = None,
    note: str | None = None,
) -> PolicyViolation:
    """Assign, resolve or mark a false positive (a false positive is what a rule's exceptions grow from)."""
    violation = session.get(PolicyViolation, violation_id)
    if violation is None:
        raise NotFound("violation %(violation_id)s does not exist", violation_id=violation_id)
    if violation.status in (ViolationStatus.RESOLVED, ViolationStatus.FALSE_POSITIVE):
        raise InvalidOperation("violation %(violation_id)s is already closed (%(value)s)", violation_id=violation_id, value=violation.status.value)
    if status is ViolationStatus.ASSIGNED and not (assignee or "").strip():
        raise InvalidOperation("say who the violation is assigned to")
    if status in (ViolationStatus.RESOLVED, ViolationStatus.FALSE_POSITIVE) and not (note or "").strip():
        raise InvalidOperation("closing a violation needs a note saying what was done or why it is not one")
    before = {"status": violation.status.value, "assignee": violation.assignee}
    violation.status = status
    if status is ViolationStatus.ASSIGNED:
        violation.assignee = assignee.strip()
    if status in (ViolationStatus.RESOLVED, ViolationStatus.FALSE_POSITIVE):
        violation.resolution_note, violation.closed_by, violation.closed_at = note.strip(), actor.id, utcnow()
    session.flush()
    record(session, actor, f"policy:violation:{status.value}", "policy_violation", violation.id, before=before,
           account_id=violation.account_id, after={"status": status.value, "assignee": violation.assignee}, note=note,
           rules=sorted({f["rule"] for f in violation.findings}))
    return violation


# --- exceptions learned from false positives --------------------------------------------------------
def violation_findings(decision: Decision, text: str, value_key: bytes | None) -> list[dict[str, Any]]:
    """The findings as a violation keeps them: with the digest of each text finding's value when a key is given."""
    documents = []
    for finding in decision.findings:
        document = finding_document(finding)
        if value_key is not None and finding.media_index is None and not finding.rule.startswith("engine."):
            document["value_digest"] = value_digest(value_key, finding.entity, text[finding.start:finding.end])
        documents.append(document)
    return documents


def active_exceptions(session: Session, runtime: PolicyRuntime, account_id: int | None) -> ExceptionSet:
    """The exceptions in force that can apply to a post on `account_id` (or on no known account). Read once per
    account in a transaction_memo block (a batch of scheduled publishes)."""
    return remembered(session, ("policy:exceptions", account_id), lambda: _read_exceptions(session, runtime, account_id))


def _read_exceptions(session: Session, runtime: PolicyRuntime, account_id: int | None) -> ExceptionSet:
    query = select(PolicyException.scope, PolicyException.rule, PolicyException.account_id, PolicyException.value_digest
                   ).where(PolicyException.removed_at.is_(None))
    if account_id is None:
        query = query.where(PolicyException.account_id.is_(None))
    else:
        query = query.where(or_(PolicyException.account_id.is_(None), PolicyException.account_id == account_id))
    rows = [(scope, rule, None if account is None else str(account), digest)
            for scope, rule, account, digest in session.execute(query)]
    return ExceptionSet.of(runtime.exception_key, rows)


def list_exceptions(session: Session, *, include_removed: bool = False, account_id: int | None = None,
                    rule: str | None = None) -> list[PolicyException]:
    query = select(PolicyException).order_by(PolicyException.created_at.desc(), PolicyException.id.desc())
    if not include_removed:
        query = query.where(PolicyException.removed_at.is_(None))
    if account_id is not None:
        query = query.where(PolicyException.account_id == account_id)
    if rule:
        query = query.where(PolicyException.rule == rule)
    return list(session.scalars(query.limit(500)))


def _exception_targets(violation: PolicyViolation, scope: ExceptionScope) -> list[dict[str, Any]]:
    """One finding per thing the scope excepts: each (rule, value) for a value scope, each rule for a rule scope."""
    targets: dict[tuple[str, str | None], dict[str, Any]] = {}
    for finding in violation.findings or []:
        rule, digest = str(finding.get("rule", "")), finding.get("value_digest")
        if not rule or rule.startswith("engine.") or (scope.needs_value and not digest):
            continue
        targets.setdefault((rule, digest if scope.needs_value else None), finding)
    return list(targets.values())


def add_exceptions(
    session: Session, actor: Actor, pack_version: str, violation_id: int, scope: ExceptionScope, reason: str,
) -> list[PolicyException]:
    """Mark a violation a false positive (if it is still open) and except what it found, in the scope chosen.

    The violation's findings hold digests, not values; a violation recorded before digests were kept, or an image
    finding, can only lift the rule for the account.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidOperation("say why this is not a violation: the exception keeps the reason")
    violation = session.get(PolicyViolation, violation_id)
    if violation is None:
        raise NotFound("violation %(violation_id)s does not exist", violation_id=violation_id)
    if violation.status is ViolationStatus.RESOLVED:
        raise ViolationWasReal("violation %(violation_id)s was resolved as a real violation; it cannot become an exception", violation_id=violation_id)
    targets = _exception_targets(violation, scope)
    if not targets:
        raise NoValueToExcept("violation %(violation_id)s holds no value govern can recognise again; except the rule for this account instead", violation_id=violation_id)
    if violation.status is not ViolationStatus.FALSE_POSITIVE:
        update_violation(session, actor, violation_id, ViolationStatus.FALSE_POSITIVE, note=reason)
    account_id = violation.account_id if scope.needs_account else None
    made = []
    for finding in targets:
        digest = finding.get("value_digest") if scope.needs_value else None
        exception = _active_exception(session, scope, finding["rule"], account_id, digest)
        if exception is None:
            exception = PolicyException(
                scope=scope, rule=finding["rule"], entity=str(finding.get("entity", "")), account_id=account_id,
                value_digest=digest, preview=str(finding.get("preview", ""))[:255] if scope.needs_value else "",
                reason=reason, violation_id=violation.id, pack_version=pack_version, created_by=actor.id,
            )
            session.add(exception)
            session.flush()
            record(session, actor, "policy:exception:create", "policy_exception", exception.id, scope=scope.value,
                   rule=exception.rule, entity=exception.entity, account_id=account_id, preview=exception.preview,
                   violation_id=violation.id, reason=reason, pack_version=pack_version)
        made.append(exception)
    return made


def _active_exception(session: Session, scope: ExceptionScope, rule: str, account_id: int | None,
                      digest: str | None) -> PolicyException | None:
    return session.scalar(select(PolicyException).where(
        PolicyException.removed_at.is_(None), PolicyException.scope == scope, PolicyException.rule == rule,
        PolicyException.account_id.is_(None) if account_id is None else PolicyException.account_id == account_id,
        PolicyException.value_digest.is_(None) if digest is None else PolicyException.value_digest == digest,
    ).limit(1))


def remove_exception(session: Session, actor: Actor, exception_id: int, reason: str | None = None) -> PolicyException:
    """The next evaluation no longer honours it; the row stays, with who removed it, when and why."""
    exception = session.scalar(select(PolicyException).where(PolicyException.id == exception_id).with_for_update(
        of=PolicyException))
    if exception is None:
        raise NotFound("exception %(exception_id)s does not exist", exception_id=exception_id)
    if exception.removed_at is not None:
        raise InvalidOperation("exception %(exception_id)s was already removed", exception_id=exception_id)
    exception.removed_by, exception.removed_at = actor.id, utcnow()
    exception.removal_reason = (reason or "").strip() or None
    session.flush()
    record(session, actor, "policy:exception:remove", "policy_exception", exception.id, scope=exception.scope.value,
           rule=exception.rule, account_id=exception.account_id, reason=exception.removal_reason)
    return exception


# --- impostor watch -----------------------------------------------------------------------------
def inventory_handles(session: Session) -> list[Handle]:
    """Every inventory handle with its network key; retired and unmanaged ones are still the company's."""
    rows = session.execute(select(Network.key, SocialAccount.handle).join(SocialAccount.network))
    return [Handle(network, handle) for network, handle in rows]


def lookalikes_of_inventory(session: Session, candidates: list[Handle], min_score: float = DEFAULT_MIN_SCORE) -> list[ImpostorMatch]:
    return find_impostors(inventory_handles(session), candidates, min_score=min_score)
