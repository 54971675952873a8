"""Every route x every role: each route declares a permission, and the gate enforces exactly that."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from govern.auth.roles import Role, role_allows
from govern.auth.service import CONSOLE_ONLY_ROLES, ensure_console_user
from govern.web.authz import PUBLIC, declared_permission
from govern.web.problems import MACHINE_PREFIXES
from tests import factories
from tests.support.console import sign_in_as

SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def all_routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - SKIPPED_METHODS):
            yield rule, method


def test_every_route_declares_its_permission(app):
    undeclared = [f"{method} {rule.rule} ({rule.endpoint})" for rule, method in all_routes(app)
                  if declared_permission(app, rule.endpoint, method) is None]
    assert undeclared == [], "routes without @requires(...) or @public: " + ", ".join(undeclared)


def test_a_route_without_a_declaration_is_closed(database_url, tmp_path, auth_headers):
    from govern import create_app

    fresh = create_app({"database_url": database_url, "secret_key": "k" * 40, "instance_path": tmp_path})
    fresh.add_url_rule("/api/v1/_undeclared", "undeclared", lambda: "open")
    response = fresh.test_client().get("/api/v1/_undeclared", headers=auth_headers(Role.ADMIN))
    assert response.status_code == 403 and "no authorization rule" in response.get_json()["detail"]


@pytest.fixture
def sample_ids(session, actor):
    from govern.grants.models import GrantRole
    from govern.grants.service import create_grant

    person = factories.person(session, actor)
    account = factories.account(session, actor)
    grant = create_grant(session, actor, person.id, account.id, GrantRole.ANALYST, "matrix")
    session.commit()
    return {"account_id": account.id, "person_id": person.id, "grant_id": grant.id}


def _url(rule, ids):
    values = {}
    for argument in rule.arguments:
        numeric = isinstance(rule._converters[argument], IntegerConverter)  # govern's bounded <int:> too
        values[argument] = ids.get(argument, 1) if numeric else "placeholder"
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value)).replace(f"<path:{name}>", str(value))
    return path


def _console_client(app, user_id: int | None):
    """A fresh client per route, so a route that signs out cannot affect the routes after it."""
    client = app.test_client()
    return sign_in_as(app, client, user_id) if user_id is not None else client


def factories_actor():
    from govern.actor import Actor

    return Actor.system("matrix")


def _legacy_token(session, role) -> str:
    """A token of a console-only role, as one minted before such tokens were refused (the service refuses now)."""
    from govern.auth.models import ApiClient
    from govern.auth.service import TOKEN_PREFIX, _digest

    token = f"{TOKEN_PREFIX}legacy-{role.value}-{'x' * 24}"
    session.add(ApiClient(name=f"legacy-{role.value}", role=role, token_prefix=token[:10], token_hash=_digest(token), created_by="matrix"))
    session.commit()
    return token


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: r.value if r else "anonymous")
def test_route_matrix(app, session, sample_ids, make_token, role, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    console_only = role in CONSOLE_ONLY_ROLES
    token = (_legacy_token(session, role) if console_only else make_token(role)) if role else None
    user_id = None
    if role:
        user_id = ensure_console_user(session, factories_actor(), f"{role.value}@matrix.test", role.value, role).id
        session.commit()
    api_client = app.test_client()
    failures = []
    for rule, method in all_routes(app):
        needed = declared_permission(app, rule.endpoint, method)
        machine = rule.rule.startswith(MACHINE_PREFIXES)
        client = api_client if machine else _console_client(app, user_id)
        headers = {"Authorization": f"Bearer {token}"} if (machine and token) else {}
        kwargs = {"json": {}} if method in {"POST", "PUT", "PATCH"} and machine else {}
        response = client.open(_url(rule, sample_ids), method=method, headers=headers, **kwargs)
        status = response.status_code
        if needed == PUBLIC:
            ok = status not in (401, 403)
        elif role is None or (console_only and machine):  # a console-only role's token authenticates nobody
            ok = status == 401 if machine else (status == 302 and "/login" in response.headers.get("Location", ""))
        elif role_allows(role, needed):
            ok = status not in (401, 403) and status < 500
        else:
            ok = status == 403
        if not ok:
            failures.append(f"{method} {rule.rule} as {role.value if role else 'anonymous'}: {status} (needs {needed})")
    assert failures == []


# Routes whose permission is a product decision, not only "declared": the matrix above then proves the gate enforces it.
EXPECTED_PERMISSIONS = [
    ("/api/v1/policy/exceptions", "GET", "policy:review"),
    ("/api/v1/policy/exceptions", "POST", "policy:decide"),
    ("/api/v1/policy/exceptions/<int:exception_id>", "DELETE", "policy:decide"),
    ("/policy/exceptions", "GET", "policy:review"),
    ("/policy/exceptions/<int:exception_id>/remove", "POST", "policy:decide"),
    ("/policy/violations/<int:violation_id>/false-positive", "POST", "policy:decide"),
]


@pytest.mark.parametrize("path, method, permission", EXPECTED_PERMISSIONS)
def test_policy_exceptions_are_made_and_removed_by_governance_only(app, path, method, permission):
    from govern.auth.roles import ROLE_PERMISSIONS, Permission

    [rule] = [rule for rule in app.url_map.iter_rules() if rule.rule == path and method in rule.methods]
    assert declared_permission(app, rule.endpoint, method) == Permission(permission)
    if permission == "policy:decide":
        assert {role for role, allowed in ROLE_PERMISSIONS.items() if Permission.POLICY_DECIDE in allowed} == {
            Role.ADMIN, Role.GOVERNANCE}


def test_the_admin_pages_are_for_administrators_only(app):
    """Console users, API and SCIM tokens: every /admin/ route needs admin:manage, which only the admin role holds (the
    matrix above then proves each role gets exactly 403 or not)."""
    from govern.auth.roles import ROLE_PERMISSIONS, Permission

    admin_routes = [(rule, method) for rule, method in all_routes(app) if rule.rule.startswith("/admin/")]
    assert {rule.rule for rule, _ in admin_routes} >= {"/admin/users", "/admin/tokens", "/admin/scim",
                                                       "/admin/tokens/<int:client_id>/revoke"}
    assert {declared_permission(app, rule.endpoint, method) for rule, method in admin_routes} == {Permission.ADMIN_MANAGE}
    assert {role for role, allowed in ROLE_PERMISSIONS.items() if Permission.ADMIN_MANAGE in allowed} == {Role.ADMIN}


# Running the inventory from the console: IT and admins add and edit accounts; only admins register network apps.
INVENTORY_PERMISSIONS = [
    ("/accounts/new", "GET", "accounts:write"),
    ("/accounts/new", "POST", "accounts:write"),
    ("/accounts/<int:account_id>/edit", "GET", "accounts:write"),
    ("/accounts/<int:account_id>/edit", "POST", "accounts:write"),
    ("/networks", "GET", "broker:configure"),
    ("/networks/<key>", "GET", "broker:configure"),
    ("/networks/<key>", "POST", "broker:configure"),
]


@pytest.mark.parametrize("path, method, permission", INVENTORY_PERMISSIONS)
def test_the_inventory_pages_need_the_apis_permissions(app, path, method, permission):
    from govern.auth.roles import Permission

    [rule] = [rule for rule in app.url_map.iter_rules() if rule.rule == path and method in rule.methods]
    assert declared_permission(app, rule.endpoint, method) == Permission(permission)


# Pause All: every role that reads accounts reads the pauses; admin, governance and IT pause and resume (a second person).
PAUSE_PERMISSIONS = [
    ("/api/v1/pauses", "GET", "pauses:read"),
    ("/api/v1/pauses", "POST", "publishing:pause"),
    ("/api/v1/pauses/<int:pause_id>", "GET", "pauses:read"),
    ("/api/v1/pauses/<int:pause_id>/resume", "POST", "publishing:pause"),
    ("/pauses", "GET", "pauses:read"),
    ("/pauses", "POST", "publishing:pause"),
    ("/pauses/<int:pause_id>/resume", "POST", "publishing:pause"),
]


@pytest.mark.parametrize("path, method, permission", PAUSE_PERMISSIONS)
def test_the_pause_routes_need_the_pause_permissions(app, path, method, permission):
    from govern.auth.roles import ROLE_PERMISSIONS, Permission

    [rule] = [rule for rule in app.url_map.iter_rules() if rule.rule == path and method in rule.methods]
    assert declared_permission(app, rule.endpoint, method) == Permission(permission)
    holders = {role for role, allowed in ROLE_PERMISSIONS.items() if Permission(permission) in allowed}
    readers = {role for role, allowed in ROLE_PERMISSIONS.items() if Permission.ACCOUNTS_READ in allowed}
    assert holders == ({Role.ADMIN, Role.GOVERNANCE, Role.IT} if permission == "publishing:pause" else readers)


# Crisis runbooks: governance, IT, admin and auditors read; governance and admins write runbooks and approve
# statements (a second person); governance, admins and IT lead incidents.
RUNBOOK_PERMISSIONS = [
    ("/api/v1/runbooks", "GET", "runbooks:read"),
    ("/api/v1/runbooks", "POST", "runbooks:manage"),
    ("/api/v1/runbooks/<int:runbook_id>", "GET", "runbooks:read"),
    ("/api/v1/runbooks/<int:runbook_id>", "PUT", "runbooks:manage"),
    ("/api/v1/runbooks/<int:runbook_id>", "PATCH", "runbooks:manage"),
    ("/api/v1/runbooks/<int:runbook_id>/statements/<int:statement_id>/approve", "POST", "runbooks:manage"),
    ("/api/v1/runbooks/<int:runbook_id>/activate", "POST", "incidents:lead"),
    ("/api/v1/incidents", "GET", "runbooks:read"),
    ("/api/v1/incidents/<int:incident_id>", "GET", "runbooks:read"),
    ("/api/v1/incidents/<int:incident_id>/steps/<step>/done", "POST", "incidents:lead"),
    ("/api/v1/incidents/<int:incident_id>/close", "POST", "incidents:lead"),
    ("/api/v1/incidents/<int:incident_id>/escalate", "POST", "incidents:lead"),
    ("/api/v1/incidents/<int:incident_id>/statements", "GET", "runbooks:read"),
    ("/api/v1/incidents/<int:incident_id>/statements", "POST", "incidents:lead"),
    ("/api/v1/incidents/<int:incident_id>/statements/<int:release_id>/confirm", "POST", "incidents:lead"),
    ("/api/v1/incidents/<int:incident_id>/report.pdf", "GET", "runbooks:read"),
    ("/runbooks", "GET", "runbooks:read"),
    ("/runbooks/<int:runbook_id>", "GET", "runbooks:read"),
    ("/runbooks/new", "GET", "runbooks:manage"),
    ("/runbooks/new", "POST", "runbooks:manage"),
    ("/runbooks/<int:runbook_id>/edit", "GET", "runbooks:manage"),
    ("/runbooks/<int:runbook_id>/edit", "POST", "runbooks:manage"),
    ("/runbooks/<int:runbook_id>/statements/<int:statement_id>/approve", "POST", "runbooks:manage"),
    ("/runbooks/<int:runbook_id>/activate", "POST", "incidents:lead"),
    ("/incidents", "GET", "runbooks:read"),
    ("/incidents/<int:incident_id>", "GET", "runbooks:read"),
    ("/incidents/<int:incident_id>/steps/<step>/done", "POST", "incidents:lead"),
    ("/incidents/<int:incident_id>/close", "POST", "incidents:lead"),
    ("/incidents/<int:incident_id>/escalate", "POST", "incidents:lead"),
    ("/incidents/<int:incident_id>/statements", "POST", "incidents:lead"),
    ("/incidents/<int:incident_id>/statements/<int:release_id>/confirm", "POST", "incidents:lead"),
    ("/incidents/<int:incident_id>/report.pdf", "GET", "runbooks:read"),
]
RUNBOOK_HOLDERS = {
    "runbooks:read": {Role.ADMIN, Role.GOVERNANCE, Role.IT, Role.AUDITOR},
    "runbooks:manage": {Role.ADMIN, Role.GOVERNANCE},
    "incidents:lead": {Role.ADMIN, Role.GOVERNANCE, Role.IT},
}


@pytest.mark.parametrize("path, method, permission", RUNBOOK_PERMISSIONS)
def test_the_runbook_routes_need_their_permissions(app, path, method, permission):
    from govern.auth.roles import ROLE_PERMISSIONS, Permission

    [rule] = [rule for rule in app.url_map.iter_rules() if rule.rule == path and method in rule.methods]
    assert declared_permission(app, rule.endpoint, method) == Permission(permission)
    holders = {role for role, allowed in ROLE_PERMISSIONS.items() if Permission(permission) in allowed}
    assert holders == RUNBOOK_HOLDERS[permission]


def test_every_runbook_route_is_in_the_matrix(app):
    listed = {(path, method) for path, method, _permission in RUNBOOK_PERMISSIONS}
    routes = {(rule.rule, method) for rule, method in all_routes(app)
              if rule.rule.startswith(("/api/v1/runbooks", "/api/v1/incidents", "/runbooks", "/incidents"))}
    assert routes == listed


# Notification delivery: the caller's own notifications need only the console; endpoints and deliveries are admins'.
NOTIFICATION_PERMISSIONS = [
    ("/api/v1/notifications", "GET", "console:use"),
    ("/api/v1/notifications/<int:notification_id>/read", "POST", "console:use"),
    ("/api/v1/notifications/webhooks", "GET", "admin:manage"),
    ("/api/v1/notifications/webhooks", "POST", "admin:manage"),
    ("/api/v1/notifications/webhooks/<int:endpoint_id>", "DELETE", "admin:manage"),
    ("/api/v1/notifications/deliveries", "GET", "admin:manage"),
    ("/api/v1/notifications/deliveries/<int:delivery_id>/retry", "POST", "admin:manage"),
    ("/admin/notifications", "GET", "admin:manage"),
    ("/admin/notifications/webhooks", "POST", "admin:manage"),
    ("/admin/notifications/webhooks/<int:endpoint_id>/remove", "POST", "admin:manage"),
    ("/admin/notifications/deliveries/<int:delivery_id>/retry", "POST", "admin:manage"),
]


@pytest.mark.parametrize("path, method, permission", NOTIFICATION_PERMISSIONS)
def test_notification_delivery_is_managed_by_administrators(app, path, method, permission):
    from govern.auth.roles import Permission

    [rule] = [rule for rule in app.url_map.iter_rules() if rule.rule == path and method in rule.methods]
    assert declared_permission(app, rule.endpoint, method) == Permission(permission)


# Spike and keyword alerts: governance, IT, auditors and admins read them; governance and admins acknowledge them.
ALERT_PERMISSIONS = [
    ("/api/v1/alerts", "GET", "alerts:read"),
    ("/api/v1/alerts/<int:alert_id>", "GET", "alerts:read"),
    ("/api/v1/alerts/<int:alert_id>/acknowledge", "POST", "alerts:acknowledge"),
    ("/alerts", "GET", "alerts:read"),
    ("/alerts/<int:alert_id>/acknowledge", "POST", "alerts:acknowledge"),
]


@pytest.mark.parametrize("path, method, permission", ALERT_PERMISSIONS)
def test_alerts_are_read_by_four_roles_and_acknowledged_by_governance(app, path, method, permission):
    from govern.auth.roles import ROLE_PERMISSIONS, Permission

    [rule] = [rule for rule in app.url_map.iter_rules() if rule.rule == path and method in rule.methods]
    assert declared_permission(app, rule.endpoint, method) == Permission(permission)
    holders = {role for role, allowed in ROLE_PERMISSIONS.items() if Permission(permission) in allowed}
    assert holders == ({Role.ADMIN, Role.GOVERNANCE, Role.IT, Role.AUDITOR} if permission == "alerts:read"
                       else {Role.ADMIN, Role.GOVERNANCE})


# Posts and approval rules (issue 16): who composes, who may approve (being named in a step decides the rest), who
# manages the rules; the outside approver's page is public and gated by its single-use token alone.
POSTS_PERMISSIONS = [
    ("/api/v1/posts", "GET", "posts:read"),
    ("/api/v1/posts", "POST", "posts:write"),
    ("/api/v1/posts/<int:post_id>", "GET", "posts:read"),
    ("/api/v1/posts/<int:post_id>", "PATCH", "posts:write"),
    ("/api/v1/posts/<int:post_id>/submit", "POST", "posts:write"),
    ("/api/v1/posts/<int:post_id>/approve", "POST", "posts:approve"),
    ("/api/v1/posts/<int:post_id>/reject", "POST", "posts:approve"),
    ("/api/v1/posts/<int:post_id>/cancel", "POST", "posts:write"),
    ("/api/v1/posts/<int:post_id>/external-approvals", "POST", "posts:write"),
    ("/api/v1/approval-rules", "GET", "posts:read"),
    ("/api/v1/approval-rules", "POST", "approval_rules:manage"),
    ("/api/v1/approval-rules/<int:rule_id>", "GET", "posts:read"),
    ("/api/v1/approval-rules/<int:rule_id>", "PATCH", "approval_rules:manage"),
    ("/api/v1/approval-rules/<int:rule_id>", "DELETE", "approval_rules:manage"),
    ("/posts", "GET", "posts:read"),
    ("/posts/calendar", "GET", "posts:read"),
    ("/posts/new", "GET", "posts:write"),
    ("/posts/new", "POST", "posts:write"),
    ("/posts/<int:post_id>", "GET", "posts:read"),
    ("/posts/<int:post_id>/submit", "POST", "posts:write"),
    ("/posts/<int:post_id>/approve", "POST", "posts:approve"),
    ("/posts/<int:post_id>/reject", "POST", "posts:approve"),
    ("/posts/<int:post_id>/cancel", "POST", "posts:write"),
    ("/posts/rules", "GET", "posts:read"),
    ("/posts/rules", "POST", "approval_rules:manage"),
    ("/posts/rules/<int:rule_id>/edit", "GET", "approval_rules:manage"),
    ("/posts/rules/<int:rule_id>/edit", "POST", "approval_rules:manage"),
    ("/posts/rules/<int:rule_id>/delete", "POST", "approval_rules:manage"),
    ("/external-approvals/<token>", "GET", PUBLIC),
    ("/external-approvals/<token>", "POST", PUBLIC),
]


@pytest.mark.parametrize("path, method, permission", POSTS_PERMISSIONS)
def test_posts_routes_need_their_permission(app, path, method, permission):
    from govern.auth.roles import ROLE_PERMISSIONS, Permission

    [rule] = [rule for rule in app.url_map.iter_rules() if rule.rule == path and method in rule.methods]
    declared = declared_permission(app, rule.endpoint, method)
    assert declared == (permission if permission == PUBLIC else Permission(permission))
    holders = {role for role, allowed in ROLE_PERMISSIONS.items() if declared in allowed}
    expected = {
        "posts:read": {Role.ADMIN, Role.GOVERNANCE, Role.IT, Role.AUDITOR},
        "posts:approve": {Role.ADMIN, Role.GOVERNANCE, Role.IT, Role.AUDITOR},
        "posts:write": {Role.ADMIN, Role.GOVERNANCE, Role.IT},
        "approval_rules:manage": {Role.ADMIN, Role.GOVERNANCE},
        PUBLIC: set(),
    }[permission]
    assert holders == expected


# SCIM groups in the console (read-only): whoever sees the directory pages (people:read) sees them; a reviewer does not.
SCIM_GROUP_PAGES = [
    ("/directory/scim-groups", "GET", "people:read"),
    ("/directory/scim-groups/<group_id>", "GET", "people:read"),
]


@pytest.mark.parametrize("path, method, permission", SCIM_GROUP_PAGES)
def test_the_scim_group_pages_are_seen_by_whoever_sees_the_directory(app, path, method, permission):
    from govern.auth.roles import ROLE_PERMISSIONS, Permission

    [rule] = [rule for rule in app.url_map.iter_rules() if rule.rule == path and method in rule.methods]
    assert rule.methods - {"HEAD", "OPTIONS"} == {"GET"}, "read-only: nothing is changed from these pages"
    declared = declared_permission(app, rule.endpoint, method)
    assert declared == Permission(permission)
    [leavers] = [rule for rule in app.url_map.iter_rules() if rule.rule == "/directory/departures"]
    assert declared == declared_permission(app, leavers.endpoint, "GET")
    holders = {role for role, allowed in ROLE_PERMISSIONS.items() if declared in allowed}
    assert holders == {Role.ADMIN, Role.GOVERNANCE, Role.IT, Role.AUDITOR}


def test_every_scim_group_page_is_listed(app):
    routes = {(rule.rule, method) for rule, method in all_routes(app) if rule.rule.startswith("/directory/scim-groups")}
    assert routes == {(path, method) for path, method, _permission in SCIM_GROUP_PAGES}
