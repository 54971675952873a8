"""What the policy engine says about a text or a medium: detections, findings and the decision."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Action(str, enum.Enum):
    """What a rule asks for when it fires; the strongest action of all findings is the decision."""

    ALLOW = "allow"
    WARN = "warn"
    REQUIRE_APPROVAL = "require_approval"
    BLOCK = "block"

    @property
    def strength(self) -> int:
        return _STRENGTH[self]


_STRENGTH = {Action.ALLOW: 0, Action.WARN: 1, Action.REQUIRE_APPROVAL: 2, Action.BLOCK: 3}


class Severity(str, enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Detection:
    """A built-in detector or a lexicon/pattern matched here: code-point offsets into the ORIGINAL text."""

    entity: str  # EMAIL_ADDRESS, PHONE_NUMBER, PAYMENT_CARD, IBAN, NATIONAL_ID, PASSPORT, SECRET, ...
    start: int
    end: int
    kind: str | None = None  # e.g. NATIONAL_ID kind "sa_national_id", SECRET kind "github_token"
    media_index: int | None = None  # set when the detection is on an attached medium, not the text
    detail: str | None = None  # a human explanation safe to show (never the matched secret)


@dataclass(frozen=True, init=False)
class Finding:
    """A detection that a rule of a pack turned into a finding with an action."""

    entity: str
    start: int
    end: int
    rule: str
    category: str  # privacy | confidentiality | copyright | brand
    action: Action
    severity: Severity
    explanation: str  # why, in words, for the console and the audit trail
    preview: str  # the matched text masked (e.g. "4111 **** **** 1111"); never the raw secret
    kind: str | None = None
    media_index: int | None = None
    certainty: str = "certain"  # "certain" | "likely" (see detectors.base.REASONS)
    reason: str | None = None  # why only "likely": a code from detectors.base.REASONS

    def __init__(self, entity: str, start: int, end: int, rule: str, category: str, action: Action, severity: Severity,
                 explanation: str, preview: str, kind: str | None = None, media_index: int | None = None,
                 certainty: str = "certain", reason: str | None = None) -> None:
        # What the generated __init__ of a frozen dataclass does with one object.__setattr__ per field (13 calls, the
        # larger part of building a finding), in one step; equality, hashing, repr and immutability are unchanged.
        self.__dict__.update(entity=entity, start=start, end=end, rule=rule, category=category, action=action,
                             severity=severity, explanation=explanation, preview=preview, kind=kind,
                             media_index=media_index, certainty=certainty, reason=reason)

    def as_contract(self) -> dict[str, object]:
        """The stable JSON shape of `govern policy check` and the API."""
        shape: dict[str, object] = {"entity": self.entity}
        if self.kind:
            shape["kind"] = self.kind
        shape.update(rule=self.rule, category=self.category, start=self.start, end=self.end,
                     action=self.action.value, severity=self.severity.value)
        if self.media_index is not None:
            shape["media_index"] = self.media_index
        if self.certainty != "certain":
            shape["certainty"] = self.certainty
            if self.reason:
                shape["reason"] = self.reason
        return shape

    def document(self) -> dict[str, object]:
        """The contract shape plus the explanation and the masked preview: what the API, the queue and the audit hold."""
        return {**self.as_contract(), "explanation": self.explanation, "preview": self.preview}


def _order(finding: Finding) -> tuple:
    return finding.media_index is not None, finding.start, finding.end, finding.rule


@dataclass(frozen=True)
class Decision:
    decision: Action
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    pack_version: str = ""  # the content hash of the packs the decision was made under

    @classmethod
    def of(cls, findings: list[Finding] | tuple[Finding, ...], pack_version: str) -> Decision:
        if not findings:
            return cls(Action.ALLOW, (), pack_version)
        strongest = Action.ALLOW
        for finding in findings:
            if _STRENGTH[finding.action] > _STRENGTH[strongest]:
                strongest = finding.action
        ordered = tuple(sorted(findings, key=_order)) if len(findings) > 1 else tuple(findings)
        return cls(strongest, ordered, pack_version)

    def document(self) -> dict[str, object]:
        """The decision as the API, the approvals and the audit trail keep it."""
        return {"decision": self.decision.value, "pack_version": self.pack_version,
                "findings": [finding.document() for finding in self.findings]}

    def masked(self, text: str) -> str:
        """`text` with every finding's span replaced by its masked preview (the findings' offsets are into `text`)."""
        pieces, cursor = [], 0
        for finding in sorted((f for f in self.findings if f.media_index is None), key=lambda f: f.start):
            if finding.start < cursor:
                continue
            pieces += [text[cursor:finding.start], finding.preview]
            cursor = finding.end
        pieces.append(text[cursor:])
        return "".join(pieces)
