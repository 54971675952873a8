"""Signals by which one domain reacts to another without importing it.

account_retired(session, actor, account_id, reason)
    Sent by accounts after an account is retired, inside the same transaction.
    grants revokes every grant on the account; the broker revokes and destroys its tokens.

connection_needs_reconnect(session, account_id, owner_id, reason)
    Sent by the broker when a network refuses an account's refresh token; the owner is told.

person_departed(session, actor, person_id, departure_id)
    Sent by the directory sync (full, incremental or SCIM) when a person leaves, inside the same
    transaction. grants revoke every grant; the broker revokes the person's wrapped hand-offs;
    credentials end their checkouts and mark passwords they saw "rotate now"; auth revokes their
    API tokens and console access; accounts move the accounts they owned to their manager and flag
    connections that hang on their personal login. Each receiver returns {step: how many} for the
    departure's checklist.

account_compromised(session, actor, account_id, reason)
    Sent by the broker after it revoked a compromised account's tokens; the broker revokes the account's
    outstanding wrapped hand-offs; legacy credentials are marked "rotate now".

policy_violation_found(session, violation_id, owner_id, message)
    Sent by publishing's scan when published content breaks a rule and was not hidden; the account's owner is told.

handoff_unwrap_refused(session, handoff_id, account_id)
    Sent when a wrapped hand-off is presented after it was used, expired or was revoked: an alert. (A token that
    matches no hand-off is anonymous noise: counted, never sent.) No receiver is connected: it is a hook for an
    alerting integration, and the refusal itself is already in the audit trail.

review_removed_grant(session, actor, grant_id, reason)
    Sent by access reviews when a reviewer, or the deadline, removes a grant, inside the same transaction; grants
    revoke it (a refusal there, such as a grant already revoked, fails the review decision).

inbound_items_read(session, account_id, items)
    Sent by publishing's scan after it read an account's comments (and, where a network offers them, messages) through
    the broker, inside the scan's transaction. `items` is a list of JSON-able dicts: kind ("comment" or "message"), id
    (the network's), text, created_at (ISO 8601 or None). alerts counts the ones it never saw into the account's hourly
    inbound volume, checks the spike rule, and checks the new ones for crisis keywords.

crisis_alert_raised(session, alert_id, account_id, kind)
    Sent by alerts after it raised an alert (kind "spike" or "keyword") and told the account's owner, inside the same
    transaction; the alert's row and its audit event exist. No receiver is connected yet: it is the hook for crisis
    runbooks, which will notify a runbook's contacts and may activate the runbook (docs/decisions/0074).

publishing_pause_ended(session, actor, pause_id, auto)
    Sent by pauses after a second person resumed a pause (auto False) or the auto-resume job wrote down one whose
    resume time passed (auto True), inside the same transaction. Publishing puts the post targets that pause held
    (and that no other active pause covers) back to `scheduled`, so the schedule's next beat publishes them, once.

Receivers are connected by each domain's connect_receivers(), all called from one list in create_app
(govern/__init__.py, docs/decisions/0047-signals-wired-in-one-list.md); never by a decorator at import time.
Receivers must not depend on one another's order: blinker calls them in no defined order.
"""

from __future__ import annotations

from blinker import Namespace

_domain = Namespace()

account_retired = _domain.signal("account-retired")
connection_needs_reconnect = _domain.signal("connection-needs-reconnect")
handoff_unwrap_refused = _domain.signal("handoff-unwrap-refused")
account_compromised = _domain.signal("account-compromised")
person_departed = _domain.signal("person-departed")
review_removed_grant = _domain.signal("review-removed-grant")
policy_violation_found = _domain.signal("policy-violation-found")
inbound_items_read = _domain.signal("inbound-items-read")
crisis_alert_raised = _domain.signal("crisis-alert-raised")
publishing_pause_ended = _domain.signal("publishing-pause-ended")
