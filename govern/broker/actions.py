"""What a brokered action may do and how it maps onto a network's API; which capability (govern.grants) each action needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from govern.adapters.networks.base import NetworkRejected, OAuthNetworkClient
from govern.grants.capabilities import Capability
from govern.secret_value import SecretValue

ACTION_CAPABILITIES: dict[str, Capability] = {
    "publish": Capability.PUBLISH,
    "delete_post": Capability.PUBLISH,
    "reply": Capability.REPLY,
    "hide_comment": Capability.MODERATE,
    "whoami": Capability.READ,
    "list_recent_posts": Capability.READ,
    "list_comments": Capability.READ,
}
SYSTEM_ACTIONS = frozenset({"list_recent_posts", "list_comments", "hide_comment"})  # what a policy scan may do with no person
REQUIRED_PARAMS = {
    "publish": ("text",),
    "delete_post": ("post_id",),
    "reply": ("comment_id", "text"),
    "hide_comment": ("comment_id",),
    "list_comments": ("post_id",),
}


class TokenRejected(NetworkRejected):
    """The network answered 401: the access token is no longer accepted."""


@dataclass(frozen=True)
class ActionCall:
    method: str
    path: str
    body: dict[str, Any] | None = None


MAX_MEDIA = 10


def media_of(params: dict[str, Any]) -> list[str]:
    """The media references (URLs) a publish carries; ValueError when they are not a short list of short strings."""
    media = params.get("media")
    if media is None:
        return []
    if not isinstance(media, list) or len(media) > MAX_MEDIA or not all(isinstance(m, str) and 0 < len(m) <= 2000 for m in media):
        raise ValueError(f"media must be a list of at most {MAX_MEDIA} references (URLs) of at most 2,000 characters")
    return list(media)


def _call_for(action: str, params: dict[str, Any]) -> ActionCall:
    if action == "publish":  # the key lets a retry after a crash find the post in the network's recent posts
        key, media = params.get("idempotency_key"), media_of(params)
        return ActionCall("POST", "/posts", {"text": params["text"], **({"media": media} if media else {}),
                                             **({"idempotency_key": str(key)} if key else {})})
    if action == "delete_post":
        return ActionCall("DELETE", f"/posts/{params['post_id']}")
    if action == "list_recent_posts":
        return ActionCall("GET", "/posts")
    if action == "list_comments":
        return ActionCall("GET", f"/posts/{params['post_id']}/comments")
    if action == "hide_comment":
        return ActionCall("POST", f"/comments/{params['comment_id']}/hide")
    if action == "reply":
        return ActionCall("POST", f"/comments/{params['comment_id']}/replies", {"text": params["text"]})
    raise ValueError(f"unknown action {action!r}")


def run_action(client: OAuthNetworkClient, access_token: SecretValue, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run one action at the network and return its JSON answer (never containing our token)."""
    if action == "whoami":
        identity = client.whoami(access_token)
        return {"id": identity.external_id, "name": identity.name}
    call = _call_for(action, params)
    response = client.request(access_token, call.method, client.preset.endpoints.api_url.rstrip("/") + call.path, json=call.body)
    if response.status_code == 401:
        raise TokenRejected(f"{client.preset.display_name} no longer accepts the access token", 401)
    if response.status_code >= 400:
        raise NetworkRejected(f"{client.preset.display_name} refused {action} ({response.status_code})", response.status_code)
    return response.json() if response.content else {}
