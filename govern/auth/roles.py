"""Roles of govern's own users and what each may do; the one table every route is checked against."""

from __future__ import annotations

import enum


class Role(str, enum.Enum):
    ADMIN = "admin"
    GOVERNANCE = "governance"
    IT = "it"
    AUDITOR = "auditor"


class Permission(str, enum.Enum):
    CONSOLE_USE = "console:use"
    ACCOUNTS_READ = "accounts:read"
    ACCOUNTS_WRITE = "accounts:write"
    PEOPLE_READ = "people:read"
    GRANTS_READ = "grants:read"
    GRANTS_WRITE = "grants:write"
    AUDIT_READ = "audit:read"
    ACCOUNTS_CONNECT = "accounts:connect"
    BROKER_USE = "broker:use"
    BROKER_CONFIGURE = "broker:configure"
    BROKER_HANDOFF = "broker:handoff"


_READ_ALL = {
    Permission.CONSOLE_USE,
    Permission.ACCOUNTS_READ,
    Permission.PEOPLE_READ,
    Permission.GRANTS_READ,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.GOVERNANCE: frozenset(_READ_ALL | {Permission.GRANTS_WRITE, Permission.AUDIT_READ, Permission.BROKER_USE}),
    Role.IT: frozenset(_READ_ALL | {Permission.ACCOUNTS_WRITE, Permission.GRANTS_WRITE, Permission.ACCOUNTS_CONNECT, Permission.BROKER_USE}),
    Role.AUDITOR: frozenset(_READ_ALL | {Permission.AUDIT_READ}),
}


def role_allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
