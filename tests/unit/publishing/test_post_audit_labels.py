"""Every audit action the posts code records has a readable label (translated in ar and he by the catalog tests)."""

from __future__ import annotations

import re
from pathlib import Path

from govern.audit.labels import ACTIONS

ROOT = Path(__file__).parents[3]


def test_every_publishing_audit_action_has_a_label():
    used = set()
    for path in (ROOT / "govern" / "publishing").glob("*.py"):
        used |= set(re.findall(r'"(publishing:[a-z_]+:[a-z_]+)"', path.read_text(encoding="utf-8")))
    assert len(used) >= 19
    assert sorted(used - set(ACTIONS)) == []
