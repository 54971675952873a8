"""The credentials report: break-glass checkouts, wrapped token hand-offs, password rotations due and done."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.broker.models import WrappedHandoff
from govern.credentials.models import Checkout, LegacyCredential
from govern.reports.document import Chart, Period, ReportParts, Section, Text


def handoff_state(handoff: WrappedHandoff, moment: datetime) -> str:
    if handoff.revoked_at is not None:
        return "revoked"
    if handoff.unwrapped_at is not None:
        return "unwrapped"
    if handoff.unwrap_refused_at is not None:
        return "unwrap refused"
    return "expired unused" if handoff.expires_at <= moment else "waiting"


def build(session: Session, period: Period, settings) -> ReportParts:
    moment = period.end
    checkouts = list(session.scalars(select(Checkout).where(
        Checkout.requested_at >= period.start, Checkout.requested_at < period.end).order_by(Checkout.requested_at, Checkout.id)).unique())
    handoffs = list(session.scalars(select(WrappedHandoff).where(
        WrappedHandoff.issued_at >= period.start, WrappedHandoff.issued_at < period.end).order_by(WrappedHandoff.issued_at, WrappedHandoff.id)))
    credentials = list(session.scalars(select(LegacyCredential).order_by(LegacyCredential.account_id)).unique())
    states = Counter(checkout.state_at(moment) for checkout in checkouts)
    handoff_states = Counter(handoff_state(h, moment) for h in handoffs)
    account_of = {c.id: c.account for c in credentials}
    summary = {
        "checkouts_requested": len(checkouts),
        "checkouts_approved": sum(1 for c in checkouts if c.approved_at is not None),
        "checkouts_denied": states["denied"],
        "passwords_revealed": sum(1 for c in checkouts if c.revealed_at is not None),
        "handoffs_issued": len(handoffs),
        "handoffs_unwrapped": handoff_states["unwrapped"],
        "handoff_unwraps_refused": sum(1 for h in handoffs if h.unwrap_refused_at is not None),
        "rotations_due": sum(1 for c in credentials if c.rotate_now),
        "rotations_done": sum(1 for c in credentials if period.contains(c.last_rotated_at)),
    }
    alerts = [Text("%(count)s passwords are due for rotation.", count=summary["rotations_due"])] if summary["rotations_due"] else []

    def account(checkout: Checkout):
        acc = account_of.get(checkout.credential_id) or checkout.credential.account
        return acc.network.key, acc.handle

    sections = [
        Section.of("checkouts", "Break-glass checkouts", [
            ("checkout_id", "Checkout"), ("network", "Network"), ("account", "Account"), ("requested_by", "Requested by"),
            ("reason", "Reason"), ("requested_at", "Requested"), ("approved_by", "Approved by"), ("approved_at", "Approved"),
            ("window_minutes", "Window (min)"), ("revealed_at", "Password revealed"), ("ended_at", "Ended"),
            ("state", "State"),
        ], [(c.id, *account(c), c.requested_by, c.reason, c.requested_at, c.approved_by, c.approved_at,
             c.window_minutes, c.revealed_at, c.ended_at, c.state_at(moment)) for c in checkouts], rtl=("account", "reason")),
        Section.of("handoffs", "Wrapped token hand-offs", [
            ("handoff_id", "Hand-off"), ("account_id", "Account"), ("issued_by", "Issued by"), ("purpose", "Purpose"),
            ("issued_at", "Issued"), ("expires_at", "Expires"), ("unwrapped_at", "Unwrapped"),
            ("unwrap_refused_at", "Unwrap refused"), ("revoked_at", "Revoked"), ("state", "State"),
        ], [(h.id, h.account_id, h.issued_by, h.purpose, h.issued_at, h.expires_at, h.unwrapped_at,
             h.unwrap_refused_at, h.revoked_at, handoff_state(h, moment)) for h in handoffs], rtl=("purpose",)),
        Section.of("rotations", "Password rotations", [
            ("network", "Network"), ("account", "Account"), ("rotation_due", "Rotation due"), ("why", "Why"),
            ("last_rotated_at", "Last rotated"), ("rotated_in_period", "Rotated in the period"),
        ], [(c.account.network.key, c.account.handle, "yes" if c.rotate_now else "no", c.rotate_reason,
             c.last_rotated_at, "yes" if period.contains(c.last_rotated_at) else "no") for c in credentials],
            rtl=("account",)),
    ]
    basis = [
        Text("credential_checkouts requested in the period (state as of the end of the period)"),
        Text("wrapped_handoffs issued in the period"),
        Text("legacy_credentials: rotation due now (rotate_now), rotations done = last_rotated_at in the period"),
        Text("no password, seed or token value: the tables hold none"),
    ]
    return ReportParts(
        title="Credentials report", basis=basis, summary=summary, sections=sections, alerts=alerts,
        charts=[Chart("Checkouts by state", tuple(sorted(states.items())), unit="checkouts", codes="state")],
        frameworks=["SOC 2 CC6.1, CC6.2", "ISO 27001 A.5.17, A.5.18", "NIST 800-53 AC-2"],
    )
