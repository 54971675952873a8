"""Every signal's receivers, pinned: create_app connects them from one list, once, whatever was imported before."""

from __future__ import annotations

from blinker import Signal

from govern import create_app, signals

# qualified names; the broker's three receivers are closures over the app's broker context (govern/broker/wiring.py)
EXPECTED = {
    "account_retired": {
        "govern.broker.wiring.connect_receivers.<locals>._disconnect_retired",
        "govern.credentials.service.receivers._on_account_retired",
        "govern.grants.service._revoke_on_account_retired",
    },
    "publishing_pause_ended": {
        "govern.publishing.wiring._release_held",
    },
    "connection_needs_reconnect": {
        "govern.notifications.service._tell_owner_to_reconnect",
    },
    "policy_violation_found": {
        "govern.notifications.service._tell_owner_of_violation",
    },
    "account_compromised": {
        "govern.broker.wiring.connect_receivers.<locals>._revoke_compromised_handoffs",
        "govern.credentials.service.receivers._on_account_compromised",
    },
    # Deliberately none: the refusal is logged at error level and audited where it happens; the signal is a hook for an
    # alerting integration (docs/decisions/0047-signals-wired-in-one-list.md).
    "handoff_unwrap_refused": set(),
    "person_departed": {
        "govern.accounts.service._hand_owned_accounts_to_manager",
        "govern.auth.service._close_access_on_departure",
        "govern.auth.sessions._end_sessions_on_departure",
        "govern.broker.wiring.connect_receivers.<locals>._offboard",
        "govern.credentials.service.receivers._on_person_departed",
        "govern.directory.network_roles._list_manual_removals",
        "govern.grants.service._revoke_on_departure",
    },
    "inbound_items_read": {
        "govern.alerts.wiring.connect_receivers.<locals>._count_inbound",
    },
    # None yet: crisis runbooks will notify their contacts and may activate from it (docs/decisions/0074).
    "crisis_alert_raised": {"govern.runbooks.wiring.connect_receivers.<locals>._activate"},
    "review_removed_grant": {
        "govern.grants.service._revoke_on_review_removal",
    },
}


def _build(database_url: str, tmp_path, name: str):
    return create_app({"database_url": database_url, "instance_path": tmp_path / name, "secret_key": "s" * 40})


def _receivers(signal: Signal) -> list[str]:
    return sorted(f"{receiver.__module__}.{receiver.__qualname__}" for receiver in signal.receivers_for(None))


def test_every_signal_has_exactly_its_listed_receivers_once_even_after_many_apps(database_url, tmp_path):
    declared = {name for name, value in vars(signals).items() if isinstance(value, Signal)}
    assert declared == set(EXPECTED), "a signal was added or removed: list its receivers here"
    for n in range(3):  # tests build many apps: connecting again adds nothing
        _build(database_url, tmp_path, f"app{n}")
        for name, expected in EXPECTED.items():
            assert _receivers(getattr(signals, name)) == sorted(expected), name
