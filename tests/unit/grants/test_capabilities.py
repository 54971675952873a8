"""Pins who may do what on an account: the role -> capability table, and the roles each brokered action allows."""

from __future__ import annotations

from govern.broker.actions import ACTION_CAPABILITIES
from govern.grants.capabilities import ROLE_CAPABILITIES, Capability, grant_needed, roles_allowing
from govern.grants.models import GrantRole

ADMIN, PUBLISHER, MODERATOR, ANALYST = GrantRole.ADMIN, GrantRole.PUBLISHER, GrantRole.MODERATOR, GrantRole.ANALYST


def test_the_role_capability_table_is_pinned():
    assert {role: {c.value for c in allowed} for role, allowed in ROLE_CAPABILITIES.items()} == {
        ADMIN: {"publish", "reply", "moderate", "read", "use_totp", "checkout_password"},
        PUBLISHER: {"publish", "reply", "read", "use_totp", "checkout_password"},
        MODERATOR: {"reply", "moderate", "read", "use_totp"},
        ANALYST: {"read", "use_totp"},
    }


def test_every_brokered_action_allows_the_roles_it_always_allowed():
    assert {action: roles_allowing(capability) for action, capability in ACTION_CAPABILITIES.items()} == {
        "publish": {ADMIN, PUBLISHER},
        "delete_post": {ADMIN, PUBLISHER},
        "reply": {ADMIN, PUBLISHER, MODERATOR},
        "hide_comment": {ADMIN, MODERATOR},
        "whoami": {ADMIN, PUBLISHER, MODERATOR, ANALYST},
        "list_recent_posts": {ADMIN, PUBLISHER, MODERATOR, ANALYST},
        "list_comments": {ADMIN, PUBLISHER, MODERATOR, ANALYST},
    }


def test_a_legacy_login_code_needs_any_grant_and_its_password_a_grant_that_may_publish():
    assert roles_allowing(Capability.USE_TOTP) == frozenset(GrantRole)
    assert roles_allowing(Capability.CHECKOUT_PASSWORD) == roles_allowing(Capability.PUBLISH) == {ADMIN, PUBLISHER}
    assert grant_needed(Capability.USE_TOTP) == "any grant"
    assert grant_needed(Capability.CHECKOUT_PASSWORD) == "an admin or publisher grant"
