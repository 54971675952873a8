"""What both change feeds share: one change per person, and the cursor they store."""

from __future__ import annotations

import json

from govern.adapters.directory import DirectoryChange, DirectoryIncomplete


def _merge(merged: dict[str, DirectoryChange], change: DirectoryChange, own_account: str) -> None:
    """One change per key, the entry as it is now; the author kept is the latest who is not govern itself."""
    before = merged.pop(change.key, None)
    if before is not None and change.changed_by == own_account and before.changed_by != own_account:
        change = DirectoryChange(change.key, change.entry, change.changed_at, before.changed_by)
    merged[change.key] = change


def _decode_cursor(cursor: str | None) -> dict | None:
    if cursor is None:
        return None
    try:
        state = json.loads(cursor)
    except json.JSONDecodeError:
        state = None
    if not isinstance(state, dict) or "kind" not in state:
        raise DirectoryIncomplete("the stored directory cursor is not one this adapter wrote; run a full sync and reset it")
    return state
