"""Readable names for the audit actions the console's own label table leaves out (grants, reviews, policy, directory,
sign-in, the trail itself...), so the audit log and the histories say what happened instead of showing a code."""

from __future__ import annotations

from flask_babel import gettext

from govern.console.labels import N_, audit_action_label

ACTIONS = {
    "accounts:account:owner_transfer": N_("Account owner changed (the owner left)"),
    "alerts:alert:raise": N_("Alert raised (volume spike or crisis keyword)"),
    "alerts:alert:acknowledge": N_("Alert acknowledged"),
    "audit:evidence:export": N_("Evidence bundle written"),
    "audit:evidence_export:request": N_("Evidence bundle requested"),
    "audit:evidence_export:download": N_("Evidence bundle downloaded"),
    "audit:evidence_export:expire": N_("Evidence bundle file expired"),
    "audit:signing_key:rotate": N_("Audit signing key rotated"),
    "audit:signing_key:replace": N_("ALERT: audit signing key replaced"),
    "audit:trail:verify": N_("Audit trail verified"),
    "auth:api_client:create": N_("API token created"),
    "auth:api_client:revoke": N_("API token revoked"),
    "auth:console_user:create": N_("Console user added"),
    "auth:console_user:update": N_("Console user changed"),
    "auth:console_user:disable": N_("Console user disabled"),
    "auth:console_user:enable": N_("Console user switched back on"),
    "auth:login_link:issue": N_("Sign-in link issued"),
    "auth:session:sign_in": N_("Signed in"),
    "auth:session:sign_in_refused": N_("Sign-in refused"),
    "auth:session:sign_out": N_("Signed out"),
    "auth:session:end_all": N_("Every session of a user ended"),
    "broker:connect:start": N_("Connection started"),
    "broker:connection:connector_left": N_("The person who connected the account left"),
    "broker:network_app:register": N_("Network app registered"),
    "demo:network:add": N_("Demo network added"),
    "directory:departure:complete": N_("Leaver's access removed"),
    "directory:offboarding_task:complete": N_("Offboarding task done"),
    "directory:person:depart": N_("Person left the company"),
    "directory:person:return": N_("Person came back"),
    "directory:sync:succeeded": N_("Directory sync finished"),
    "directory:sync:failed": N_("Directory sync failed"),
    "directory:sync:held": N_("Directory sync held for approval"),
    "directory:sync:dry_run": N_("Directory sync tried (dry run)"),
    "directory:sync:approve": N_("Held directory sync approved"),
    "directory:sync:dismiss": N_("Held directory sync dismissed"),
    "grants:grant:create": N_("Access granted"),
    "grants:grant:revoke": N_("Access revoked"),
    "notifications:notification:create": N_("Notification sent"),
    "notifications:notification:read": N_("Notification read"),
    "people:person:create": N_("Person added"),
    "people:person:update": N_("Person changed"),
    "policy:approval:request": N_("Post sent for approval"),
    "policy:approval:approved": N_("Post approved"),
    "policy:approval:rejected": N_("Post rejected"),
    "policy:exception:create": N_("Policy exception made"),
    "policy:exception:remove": N_("Policy exception removed"),
    "policy:image:register": N_("Image registered"),
    "policy:packs:reload": N_("Policy packs reloaded"),
    "policy:violation:open": N_("Policy violation found"),
    "policy:violation:assigned": N_("Policy violation assigned"),
    "policy:violation:resolved": N_("Policy violation resolved"),
    "policy:violation:false_positive": N_("Policy violation marked a false positive"),
    "retention:data:purge": N_("Old data deleted (retention)"),
    "retention:legal_hold:place": N_("Legal hold placed"),
    "retention:legal_hold:release": N_("Legal hold released"),
    "reviews:campaign:request": N_("Access review requested"),
    "reviews:campaign:open": N_("Access review opened"),
    "reviews:campaign:remind": N_("Reviewers reminded"),
    "reviews:campaign:escalate": N_("Access review escalated"),
    "reviews:campaign:hold": N_("Access review held before revoking"),
    "reviews:campaign:approve": N_("Held access review approved"),
    "reviews:campaign:extend": N_("Access review deadline extended"),
    "reviews:campaign:close": N_("Access review closed"),
    "reviews:item:certify": N_("Review decision: keep the access"),
    "reviews:item:revoke": N_("Review decision: remove the access"),
    "reviews:item:reassign": N_("Review item passed to another reviewer"),
    "reviews:item:removed_elsewhere": N_("Access under review removed elsewhere"),
    "scim:user:delete": N_("Person removed by the identity provider"),
    "scim:group:link": N_("Group linked by the identity provider"),
    "scim:group:unlink": N_("Group unlinked by the identity provider"),
}


def event_action_label(action: str) -> str:
    """The action in the reader's words; the console's table first, then this one, else the action itself."""
    if action in ACTIONS:
        return gettext(ACTIONS[action])
    return audit_action_label(action)
