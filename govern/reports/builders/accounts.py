"""The accounts report: the inventory with owner, connection health, token expiry forecast and a risk score."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govern.accounts.models import AccountStatus, SocialAccount
from govern.audit.models import AuditEvent
from govern.broker.models import AccountConnection, ConnectionHealth
from govern.credentials.models import LegacyCredential
from govern.people.models import Person, PersonStatus
from govern.policy.workflow_models import PolicyViolation, ViolationStatus
from govern.reports.document import Chart, Period, ReportParts, Section, Text

EXPIRY_HORIZON = timedelta(days=14)
HEALTH_POINTS = {ConnectionHealth.HEALTHY: 0, ConnectionHealth.EXPIRING: 1, ConnectionHealth.NEEDS_RECONNECT: 2,
                 ConnectionHealth.REVOKED: 3}
OPEN_VIOLATION_CAP = 3
BANDS = ("low", "medium", "high")


def band(score: int) -> str:
    return "low" if score == 0 else "medium" if score <= 3 else "high"


def token_forecast(connection: AccountConnection | None) -> datetime | None:
    """When the connection stops working unless someone reconnects: the refresh token's end, else the access token's."""
    if connection is None:
        return None
    if connection.has_refresh_token:
        return connection.refresh_expires_at
    return connection.expires_at


def connector_risk(connection: AccountConnection | None, connector: Person | None) -> tuple[str, int]:
    if connection is None:
        return "", 0
    if connector is not None and connector.status is not PersonStatus.ACTIVE:
        return "connector left the company", 3
    if connection.connector_is_personal:
        return "connected through a personal account", 1
    return "none", 0


def risk_score(account: SocialAccount, connection: AccountConnection | None, connector_points: int,
               forecast: datetime | None, open_violations: int, rotation_due: bool, moment: datetime) -> int:
    """The documented formula (docs/reports.md): a sum of points, higher is worse."""
    score = 0
    if account.owner is None or account.owner.status is not PersonStatus.ACTIVE:
        score += 3
    if account.status is AccountStatus.UNMANAGED:
        score += 2
    if connection is None:
        score += 2 if account.status is AccountStatus.ACTIVE else 0
    else:
        score += HEALTH_POINTS[connection.health]
        if forecast is not None and forecast - moment <= EXPIRY_HORIZON and connection.health in (
                ConnectionHealth.HEALTHY, ConnectionHealth.EXPIRING):
            score += 1
    score += connector_points
    score += min(open_violations, OPEN_VIOLATION_CAP)
    score += 2 if rotation_due else 0
    return score


def build(session: Session, period: Period, settings) -> ReportParts:
    moment = period.end
    accounts = list(session.scalars(select(SocialAccount).order_by(SocialAccount.id)).unique())
    connections = {c.account_id: c for c in session.scalars(select(AccountConnection)).unique()}
    connector_ids = {c.connector_person_id for c in connections.values() if c.connector_person_id}
    connectors = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(connector_ids))).unique()} if connector_ids else {}
    violations = Counter(dict(session.execute(
        select(PolicyViolation.account_id, func.count()).where(
            PolicyViolation.status.in_((ViolationStatus.OPEN, ViolationStatus.ASSIGNED))).group_by(PolicyViolation.account_id)
    ).all()))
    rotations = set(session.scalars(select(LegacyCredential.account_id).where(LegacyCredential.rotate_now.is_(True))))
    used = dict(session.execute(
        select(AuditEvent.target_id, func.max(AuditEvent.occurred_at))
        .where(AuditEvent.target_type == "account", AuditEvent.action.like("broker:action:%"), AuditEvent.occurred_at < moment)
        .group_by(AuditEvent.target_id)
    ).all())
    rows, bands = [], Counter()
    for account in accounts:
        connection = connections.get(account.id)
        connector = connectors.get(connection.connector_person_id) if connection and connection.connector_person_id else None
        risk_text, risk_points = connector_risk(connection, connector)
        forecast = token_forecast(connection)
        activity = [t for t in (connection.last_used_at if connection else None, used.get(str(account.id))) if t]
        score = risk_score(account, connection, risk_points, forecast, violations[account.id], account.id in rotations, moment)
        bands[band(score)] += 1
        owner = account.owner
        rows.append((
            account.id, account.network.key, account.handle, account.display_name, account.business_unit,
            owner.display_name if owner else None, owner.status.value if owner else None, account.status.value,
            connection.health.value if connection else "not connected", forecast,
            round((forecast - moment).total_seconds() / 86400, 1) if forecast else None,
            connector.display_name if connector else (connection.connected_by if connection else None), risk_text,
            max(activity) if activity else None, violations[account.id], "yes" if account.id in rotations else "no",
            score, band(score),
        ))
    rows.sort(key=lambda row: (-row[16], row[0]))
    summary = {
        "accounts": len(accounts),
        "active_accounts": sum(1 for a in accounts if a.status is AccountStatus.ACTIVE),
        "accounts_without_active_owner": sum(1 for a in accounts if a.owner is None or a.owner.status is not PersonStatus.ACTIVE),
        "connected_accounts": len([a for a in accounts if a.id in connections]),
        "connections_needing_attention": sum(1 for c in connections.values() if c.health is not ConnectionHealth.HEALTHY),
        "open_violations": sum(violations[a.id] for a in accounts),
        "high_risk_accounts": bands["high"],
    }
    alerts = [Text("%(count)s accounts score high risk (4 or more).", count=bands["high"])] if bands["high"] else []
    section = Section.of("accounts", "Account inventory", [
        ("account_id", "Account"), ("network", "Network"), ("handle", "Handle"), ("display_name", "Name"),
        ("business_unit", "Business unit"), ("owner", "Owner"), ("owner_status", "Owner status"), ("status", "Status"),
        ("connection_health", "Connection"), ("token_stops_working_at", "Token stops working"),
        ("days_left", "Days left"), ("connector", "Connected by"), ("connector_risk", "Connector risk"),
        ("last_activity", "Last activity"), ("open_violations", "Open violations"), ("rotation_due", "Password rotation due"),
        ("risk_score", "Risk score"), ("risk_band", "Risk"),
    ], rows, rtl=("handle", "display_name", "business_unit", "owner", "connector"))
    basis = [
        Text("social_accounts, networks and people (owners) as they are now"),
        Text("account_connections: health, token expiry, connector"),
        Text("policy_violations still open or assigned; legacy_credentials due for rotation"),
        Text("audit events broker:action:* before %(moment)s for the last activity", moment=moment.isoformat()),
    ]
    return ReportParts(
        title="Accounts report", basis=basis, summary=summary, sections=[section], alerts=alerts,
        charts=[Chart("Accounts by risk", tuple((name, bands[name]) for name in BANDS), unit="accounts", codes="risk_band")],
        frameworks=["SOC 2 CC6.1", "ISO 27001 A.5.15", "NIST 800-53 AC-2"],
    )
