"""How far a post's approval has come: each applicable step, who filled it, whether it is done and which one waits.

Pure reads over a post's fixed steps and its decisions (no writes), so publishing can check a post's approvals right
before it goes out without depending on the approval flow that records them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from govern.db import utcnow
from govern.publishing.models import ApprovalDecision, Post, StepMode, Verdict


def step_slots(step: dict[str, Any]) -> list[str]:
    return ([f"person:{pid}" for pid in step.get("people") or []] + [f"group:{gid}" for gid in step.get("groups") or []]
            + [f"role:{role}" for role in step.get("roles") or []]
            + [f"external:{str(email).lower()}" for email in step.get("externals") or []])


@dataclass
class StepProgress:
    rule_id: int | None
    rule_name: str
    index: int
    mode: str
    slots: list[str]
    approved_by: list[ApprovalDecision] = field(default_factory=list)
    done: bool = False
    current: bool = False
    group_names: dict[str, str] = field(default_factory=dict)  # the groups' names when the rule was saved


def valid_decisions(post: Post, moment: datetime) -> list[ApprovalDecision]:
    return [d for d in post.decisions if not d.void and d.post_version == post.version and d.verdict is Verdict.APPROVED
            and d.expires_at >= moment]


def progress(post: Post, moment: datetime | None = None) -> list[StepProgress]:
    """Every applicable step with who approved it and whether it is done; a rule's first step not done is current."""
    moment = moment or utcnow()
    decisions = valid_decisions(post, moment)
    steps = []
    for rule in post.rules or []:
        blocked = False
        for index, step in enumerate(rule["steps"]):
            shown = StepProgress(rule["rule_id"], rule["name"], index, step["mode"], step_slots(step),
                                 group_names=dict(step.get("group_names") or {}))
            shown.approved_by = [d for d in decisions if d.rule_id == rule["rule_id"] and d.step_index == index]
            filled = {d.slot for d in shown.approved_by}
            shown.done = bool(filled) if step["mode"] == StepMode.ANY.value else set(shown.slots) <= filled
            shown.current = not shown.done and not blocked
            blocked = blocked or not shown.done
            steps.append(shown)
    return steps


def fully_approved(post: Post, moment: datetime) -> bool:
    return all(step.done for step in progress(post, moment))
