"""Roles of govern's own users and what each may do; the one table every route is checked against."""

from __future__ import annotations

import enum


class Role(str, enum.Enum):
    ADMIN = "admin"
    GOVERNANCE = "governance"
    IT = "it"
    AUDITOR = "auditor"
    SCIM = "scim"  # an identity provider pushing people over SCIM; a machine, never a console user
    REVIEWER = "reviewer"  # an account owner who only certifies who may act on their accounts (access reviews)


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
    DIRECTORY_SYNC = "directory:sync"
    DIRECTORY_DECIDE = "directory:decide"
    SCIM_PROVISION = "scim:provision"
    POLICY_EVALUATE = "policy:evaluate"
    POLICY_REVIEW = "policy:review"
    POLICY_DECIDE = "policy:decide"
    POLICY_MANAGE = "policy:manage"
    AUDIT_MANAGE = "audit:manage"  # sign a checkpoint now, rotate the signing key, place and release legal holds
    REPORTS_READ = "reports:read"  # compliance reports and the evidence bundle
    REVIEWS_READ = "reviews:read"  # access review campaigns and their progress
    REVIEWS_MANAGE = "reviews:manage"  # open, close and escalate access review campaigns
    REVIEWS_RESPOND = "reviews:respond"  # certify or revoke the grants one is asked to review
    SESSIONS_MANAGE = "sessions:manage"  # end every console session of a user ("sign out everywhere")
    ALERTS_READ = "alerts:read"  # spike and crisis keyword alerts on the accounts
    ALERTS_ACKNOWLEDGE = "alerts:acknowledge"  # say an alert is seen and handled
    POSTS_READ = "posts:read"  # the posts queue and each post's targets and approvals
    POSTS_WRITE = "posts:write"  # compose, edit, submit and cancel posts; issue outside approvers' links
    POSTS_APPROVE = "posts:approve"  # approve or reject a post: the rule's step must also name the person or their role
    APPROVAL_RULES_MANAGE = "approval_rules:manage"  # who must approve posts, per scope
    ADMIN_MANAGE = "admin:manage"  # govern's own users: console users, their roles and person links, API and SCIM tokens
    PAUSES_READ = "pauses:read"  # the pauses, active and past (the banner on every console page needs no permission)
    PUBLISHING_PAUSE = "publishing:pause"  # pause publishing for a scope, and resume a pause someone else made
    RUNBOOKS_READ = "runbooks:read"  # crisis runbooks, their incidents and post-incident reports
    RUNBOOKS_MANAGE = "runbooks:manage"  # write runbooks, approve another person's holding statement
    INCIDENTS_LEAD = "incidents:lead"  # activate a runbook, tick steps, close, release or confirm a statement


_READ_ALL = {
    Permission.CONSOLE_USE,
    Permission.ACCOUNTS_READ,
    Permission.PEOPLE_READ,
    Permission.GRANTS_READ,
    Permission.POLICY_EVALUATE,
    Permission.POLICY_REVIEW,
    Permission.PAUSES_READ,
    Permission.POSTS_READ,
    Permission.POSTS_APPROVE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Admin gets every permission but SCIM's: creating and departing people is the identity provider's
    # job alone, so a leaked or misused admin token cannot invent or remove people.
    Role.ADMIN: frozenset(Permission) - {Permission.SCIM_PROVISION},
    Role.GOVERNANCE: frozenset(_READ_ALL | {
        Permission.GRANTS_WRITE, Permission.AUDIT_READ, Permission.BROKER_USE, Permission.DIRECTORY_DECIDE,
        Permission.POLICY_DECIDE, Permission.POLICY_MANAGE, Permission.AUDIT_MANAGE, Permission.REPORTS_READ,
        Permission.REVIEWS_READ, Permission.REVIEWS_MANAGE, Permission.REVIEWS_RESPOND, Permission.PUBLISHING_PAUSE,
        Permission.ALERTS_READ, Permission.ALERTS_ACKNOWLEDGE, Permission.POSTS_WRITE, Permission.APPROVAL_RULES_MANAGE,
        Permission.RUNBOOKS_READ, Permission.RUNBOOKS_MANAGE, Permission.INCIDENTS_LEAD,
    }),
    Role.IT: frozenset(_READ_ALL | {
        Permission.ACCOUNTS_WRITE, Permission.GRANTS_WRITE, Permission.ACCOUNTS_CONNECT, Permission.BROKER_USE,
        Permission.DIRECTORY_SYNC, Permission.REVIEWS_RESPOND, Permission.ALERTS_READ, Permission.POSTS_WRITE,
        Permission.PUBLISHING_PAUSE,  # IT is often first to see a compromised account; resuming still needs a second person
        Permission.RUNBOOKS_READ, Permission.INCIDENTS_LEAD,
    }),
    Role.AUDITOR: frozenset(_READ_ALL | {Permission.AUDIT_READ, Permission.REPORTS_READ, Permission.REVIEWS_READ,
                                         Permission.ALERTS_READ, Permission.RUNBOOKS_READ}),
    Role.REVIEWER: frozenset({Permission.CONSOLE_USE, Permission.REVIEWS_RESPOND}),
    Role.SCIM: frozenset({Permission.SCIM_PROVISION}),
}


def role_allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
