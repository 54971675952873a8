"""A loopback OAuth 2.0 authorization server and tiny social-network API that plays the networks in tests."""

from __future__ import annotations

import functools
import itertools
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, grants
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, abort, jsonify, request
from werkzeug.exceptions import HTTPException

from tests.support.loopback import LoopbackServer

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
CODE_TTL = 600
STAT_NAMES = ("token_requests", "refresh_requests", "refresh_reuse_detected", "revocations", "api_calls")
DEFAULT_USER = {"id": "page-1001", "name": "Acme Page", "personal": False}


LONG_LIVED_TTL = 60 * 24 * 3600  # Facebook's long-lived user tokens last about 60 days


@dataclass
class RegisteredClient(ClientMixin):
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...] | None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return " ".join(self.scopes)
        return " ".join(s for s in scope_to_list(scope) if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if self.redirect_uris is not None:
            return redirect_uri in self.redirect_uris
        parts = urlsplit(redirect_uri)
        return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in CLIENT_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    user: dict[str, Any]
    code_challenge: str
    code_challenge_method: str
    family: str
    expires_at: float

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class IssuedToken:
    """An access or refresh token; `family` names the original authorization it descends from."""

    value: str
    kind: str  # "access_token" or "refresh_token"
    client_id: str
    scope: str
    user: dict[str, Any]
    family: str
    expires_at: float | None
    revoked: bool = False
    used: bool = False  # a rotated-away refresh token: presenting it again is reuse

    def check_client(self, client: RegisteredClient) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return 0 if self.expires_at is None else max(0, int(self.expires_at - time.time()))

    def is_expired(self) -> bool:
        return self.expires_at is not None and time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> dict[str, Any]:
        return self.user


@dataclass
class TokenStore:
    """Every code and token the fake has issued; callers hold `lock` while they read or change it."""

    client: RegisteredClient
    access_ttl: int
    refresh_ttl: int | None
    rotating_refresh: bool
    lock: threading.RLock = field(default_factory=threading.RLock)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    spent_codes: dict[str, str] = field(default_factory=dict)  # code -> family
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAT_NAMES, 0))

    def query_client(self, client_id: str) -> RegisteredClient | None:
        return self.client if client_id == self.client.client_id else None

    def find(self, value: str, kind: str | None = None) -> IssuedToken | None:
        token = self.tokens.get(value)
        return token if token and (kind is None or token.kind == kind) else None

    def revoke_family(self, family: str) -> None:
        for token in self.tokens.values():
            if token.family == family:
                token.revoked = True

    def save_token(self, response: dict[str, Any], oauth_request) -> None:
        """Record what the grant issued; the response dict is what the client receives."""
        parent = oauth_request.authorization_code or oauth_request.refresh_token
        now = time.time()
        if refresh_value := response.get("refresh_token"):
            expires_at = now + self.refresh_ttl if self.refresh_ttl else None
            self.tokens[refresh_value] = IssuedToken(
                refresh_value, "refresh_token", self.client.client_id, response.get("scope", ""),
                parent.user, parent.family, expires_at,
            )
            if self.refresh_ttl:
                response["refresh_token_expires_in"] = self.refresh_ttl
        access_value = response["access_token"]
        self.tokens[access_value] = IssuedToken(
            access_value, "access_token", self.client.client_id, response.get("scope", ""),
            parent.user, parent.family, now + response["expires_in"] if response.get("expires_in") else None,
        )


class PkceS256Required(CodeChallenge):
    """PKCE on every authorization request, S256 only: `plain` and a missing method are refused."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        payload = grant.request.payload.data
        if not payload.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'")
        if payload.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def save_authorization_code(self, code: str, oauth_request) -> None:
        store: TokenStore = self.server.store
        payload = oauth_request.payload
        store.codes[code] = AuthorizationCode(
            code=code, client_id=oauth_request.client.client_id, redirect_uri=payload.redirect_uri,
            scope=oauth_request.client.get_allowed_scope(payload.scope), user=dict(oauth_request.user),
            code_challenge=payload.data["code_challenge"], code_challenge_method=payload.data["code_challenge_method"],
            family=uuid.uuid4().hex, expires_at=time.time() + CODE_TTL,
        )

    def query_authorization_code(self, code: str, client: RegisteredClient) -> AuthorizationCode | None:
        store: TokenStore = self.server.store
        if code in store.spent_codes:  # RFC 6749 4.1.2: a replayed code revokes what it issued
            store.revoke_family(store.spent_codes[code])
            return None
        found = store.codes.get(code)
        if found and found.client_id == client.client_id and found.expires_at > time.time():
            return found
        return None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        store: TokenStore = self.server.store
        store.codes.pop(authorization_code.code, None)
        store.spent_codes[authorization_code.code] = authorization_code.family

    def authenticate_user(self, authorization_code: AuthorizationCode) -> dict[str, Any]:
        return authorization_code.user


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        store: TokenStore = self.server.store
        found = store.find(refresh_token, "refresh_token")
        if found and found.used:
            # Reuse of a rotated-away token means it leaked: end the whole family (OAuth 2.0 Security BCP 4.14).
            store.stats["refresh_reuse_detected"] += 1
            store.revoke_family(found.family)
            return None
        if found and not found.revoked and not found.is_expired():
            return found
        return None

    def issue_token(self, user, refresh_token: IssuedToken) -> dict[str, Any]:
        scope = self.request.payload.scope or refresh_token.get_scope()
        return self.generate_token(user=user, scope=scope, include_refresh_token=self.server.store.rotating_refresh)

    def authenticate_user(self, refresh_token: IssuedToken) -> dict[str, Any]:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        if self.server.store.rotating_refresh:
            refresh_token.used = True


class TokenRevocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        return self.server.store.find(token_string)  # the hint is only a hint (RFC 7009 2.1)

    def revoke_token(self, token: IssuedToken, oauth_request) -> None:
        store: TokenStore = self.server.store
        if token.kind == "refresh_token":  # RFC 7009 2.1: also the access tokens of the same grant
            store.revoke_family(token.family)
        else:
            token.revoked = True


class StoreBearerTokenValidator(BearerTokenValidator):
    def __init__(self, store: TokenStore) -> None:
        super().__init__()
        self.store = store

    def authenticate_token(self, token_string: str) -> IssuedToken | None:
        return self.store.find(token_string, "access_token")


class NetworkAuthorizationServer(AuthorizationServer):
    def __init__(self, app: Flask, store: TokenStore) -> None:
        self.store = store
        super().__init__(app, store.query_client, store.save_token)
        self.register_grant(AuthorizationCodeGrant, [PkceS256Required(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(TokenRevocation)


def whoami_document(user: dict[str, Any]) -> dict[str, Any]:
    """`id` and `name`, also under the field names each preset's whoami reads, so one fake plays every network."""
    user_id, name = user["id"], user["name"]
    return {
        "id": user_id, "name": name, "personal": user["personal"],
        "sub": user_id, "username": name, "acct": name,
        "data": {"id": user_id, "username": name, "user": {"open_id": user_id, "display_name": name}},
        "items": [{"id": user_id, "snippet": {"title": name}}],
    }


def json_error(error: HTTPException):
    return jsonify(error=error.name.lower().replace(" ", "_"), error_description=error.description), error.code


class FakeNetwork(LoopbackServer):
    """One registered client, the current user, their posts and comments, served on a loopback port."""

    def __init__(
        self,
        client_id: str = "govern-test",
        client_secret: str = "s3cret",
        redirect_uris: list[str] | None = None,
        access_ttl: int = 7200,
        refresh_ttl: int | None = None,
        rotating_refresh: bool = True,
        scopes: str = "publish read offline.access",
        pages: list[dict[str, str]] | None = None,
    ) -> None:
        client = RegisteredClient(client_id, client_secret, tuple(scopes.split()), tuple(redirect_uris) if redirect_uris is not None else None)
        self._store = TokenStore(client, access_ttl, refresh_ttl, rotating_refresh)
        self._lock = self._store.lock
        self._user = dict(DEFAULT_USER)
        self._ids = itertools.count(1)
        self._pending_refresh_error: str | None = None
        self.token_delay = 0.0
        self.posts: list[dict[str, Any]] = []
        self.fail_publishes = 0  # the next this many publishes answer 503
        self.publish_delay = 0.0  # seconds each publish takes before it is on the network
        self.published_calls = 0
        self.comments: list[dict[str, Any]] = []
        self.seen_refresh_tokens: list[str] = []
        self.pages = [dict(page) for page in pages or []]  # Facebook-style Pages the user manages
        self.app = self._build_app()
        super().__init__(self.app, "fake network")

    # -- observations and test controls --

    @property
    def stats(self) -> dict[str, int]:
        return self._store.stats

    @property
    def user(self) -> dict[str, Any]:
        return dict(self._user)

    def set_user(self, *, id: str | None = None, name: str | None = None, personal: bool | None = None) -> None:  # noqa: A002
        """Who the next authorization is for; tokens already issued keep the user they were issued to."""
        changes = {"id": id, "name": name, "personal": personal}
        with self._lock:
            self._user.update({key: value for key, value in changes.items() if value is not None})

    def fail_next_refresh(self, error: str = "invalid_grant") -> None:
        with self._lock:
            self._pending_refresh_error = error

    def expire_access_tokens(self) -> None:
        with self._lock:
            for token in self._store.tokens.values():
                if token.kind == "access_token":
                    token.expires_at = time.time() - 1

    def revoke_all(self) -> None:
        with self._lock:
            for token in self._store.tokens.values():
                token.revoked = True

    def _issue_access_token(self, user: dict[str, Any], family: str, ttl: int | None) -> str:
        """Mint an access token outside the OAuth grants (long-lived and Page tokens); caller holds the lock."""
        value = secrets.token_urlsafe(32)
        expires_at = time.time() + ttl if ttl else None
        self._store.tokens[value] = IssuedToken(value, "access_token", self._store.client.client_id, "", user, family, expires_at)
        return value

    def add_comment(self, post_id: str, text: str, author: str = "A Follower") -> dict[str, Any]:
        with self._lock:
            if not any(post["id"] == post_id for post in self.posts):
                raise KeyError(f"no post {post_id!r}")
            return self._new_comment(post_id, text, author)

    def _new_comment(self, post_id: str, text: str, author: str, parent_id: str | None = None) -> dict[str, Any]:
        comment = {"id": f"comment-{next(self._ids)}", "post_id": post_id, "parent_id": parent_id, "text": text, "author": author, "hidden": False}
        self.comments.append(comment)
        return comment

    # -- URLs (start, stop and the context manager are the loopback stand-in's) --

    @property
    def base_url(self) -> str:
        return self.url

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/oauth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    @property
    def revocation_url(self) -> str:
        return f"{self.base_url}/oauth/revoke"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    @property
    def whoami_url(self) -> str:
        return f"{self.api_url}/me"

    # -- the HTTP side --

    def _build_app(self) -> Flask:
        app = Flask(__name__)
        app.config.update(
            OAUTH2_REFRESH_TOKEN_GENERATOR=True,
            OAUTH2_SCOPES_SUPPORTED=list(self._store.client.scopes),
            OAUTH2_TOKEN_EXPIRES_IN={"authorization_code": self._store.access_ttl, "refresh_token": self._store.access_ttl},
        )
        server = NetworkAuthorizationServer(app, self._store)
        protector = ResourceProtector()
        protector.register_token_validator(StoreBearerTokenValidator(self._store))
        self._add_oauth_routes(app, server)
        self._add_api_routes(app, protector)
        for status in (400, 404, 405):
            app.register_error_handler(status, json_error)
        return app

    def _add_oauth_routes(self, app: Flask, server: NetworkAuthorizationServer) -> None:
        @app.get("/oauth/authorize")
        def authorize():
            with self._lock:
                user = dict(self._user)  # auto-approved: the current user always consents
                try:
                    grant = server.get_consent_grant(end_user=user)
                except OAuth2Error as error:
                    return server.handle_error_response(None, error)
                return server.create_authorization_response(grant=grant, grant_user=user)

        @app.post("/oauth/token")
        def token():
            if self.token_delay:
                time.sleep(self.token_delay)  # outside the lock, so concurrent requests really overlap
            with self._lock:
                self.stats["token_requests"] += 1
                if request.form.get("grant_type") == "refresh_token":
                    self.stats["refresh_requests"] += 1
                    self.seen_refresh_tokens.append(request.form.get("refresh_token", ""))
                    if self._pending_refresh_error:
                        error, self._pending_refresh_error = self._pending_refresh_error, None
                        return jsonify(error=error, error_description="failure injected by the test"), 400
                return server.create_token_response()

        @app.get("/oauth/token")
        def long_lived_token():
            """Facebook's exchange of a short-lived user token for a long-lived one (grant_type=fb_exchange_token)."""
            with self._lock:
                self.stats["token_requests"] += 1
                client = self._store.client
                if request.args.get("grant_type") != "fb_exchange_token":
                    return jsonify(error="unsupported_grant_type"), 400
                if request.args.get("client_id") != client.client_id or not client.check_client_secret(request.args.get("client_secret", "")):
                    return jsonify(error="invalid_client"), 401
                short_lived = self._store.find(request.args.get("fb_exchange_token", ""), "access_token")
                if short_lived is None or short_lived.is_revoked() or short_lived.is_expired():
                    return jsonify(error="invalid_grant"), 400
                long_lived = self._issue_access_token(short_lived.user, short_lived.family, LONG_LIVED_TTL)
                return jsonify(access_token=long_lived, token_type="bearer", expires_in=LONG_LIVED_TTL)

        @app.post("/oauth/revoke")
        def revoke():
            with self._lock:
                self.stats["revocations"] += 1
                return server.create_endpoint_response(TokenRevocation.ENDPOINT_NAME)

    def _add_api_routes(self, app: Flask, protector: ResourceProtector) -> None:
        def api(rule: str, methods: list[str]):
            """Register a view that runs under the lock with the caller's validated access token."""

            def register(view):
                @functools.wraps(view)
                def guarded(**kwargs):
                    with self._lock:
                        self.stats["api_calls"] += 1
                        with protector.acquire() as token:
                            return view(token, **kwargs)

                app.add_url_rule(rule, view_func=guarded, methods=methods)
                return view

            return register

        def text_from_body() -> str:
            text = (request.get_json(silent=True) or {}).get("text")
            if not isinstance(text, str) or not text:
                abort(400, "a JSON body with a non-empty 'text' is required")
            return text

        def comment_or_404(comment_id: str) -> dict[str, Any]:
            return next((c for c in self.comments if c["id"] == comment_id), None) or abort(404)

        @api("/api/me", ["GET"])
        def me(token: IssuedToken):
            return whoami_document(token.user)

        @api("/api/me/accounts", ["GET"])
        def managed_pages(token: IssuedToken):
            """The Pages the user manages, each with a Page token that does not expire (Graph API style)."""
            pages = []
            for page in self.pages:
                page_user = {"id": page["id"], "name": page["name"], "personal": False}
                pages.append({**page, "access_token": self._issue_access_token(page_user, token.family, None), "tasks": ["CREATE_CONTENT", "MODERATE"]})
            return {"data": pages}

        @api("/api/posts", ["POST"])
        def create_post(token: IssuedToken):
            post = {"id": f"post-{next(self._ids)}", "text": text_from_body(), "author_id": token.user["id"]}
            key = (request.get_json(silent=True) or {}).get("idempotency_key")
            if isinstance(key, str) and key:
                post["idempotency_key"] = key  # kept and shown in the recent posts, as a client reference
            media = (request.get_json(silent=True) or {}).get("media")
            if media is not None:
                if not isinstance(media, list) or not all(isinstance(m, str) for m in media):
                    abort(400, "media must be a list of URLs")
                post["media"] = media
            if self.fail_publishes > 0:
                self.fail_publishes -= 1
                abort(503, "the network is down for a moment")
            if self.publish_delay:
                time.sleep(self.publish_delay)
            self.posts.append(post)
            self.published_calls += 1
            return {"id": post["id"], "text": post["text"]}, 201

        @api("/api/posts", ["GET"])
        def list_posts(token: IssuedToken):
            return {"data": [dict(post) for post in reversed(self.posts)]}

        @api("/api/posts/<post_id>", ["DELETE"])
        def delete_post(token: IssuedToken, post_id: str):
            if not any(post["id"] == post_id for post in self.posts):
                abort(404)
            self.posts[:] = [post for post in self.posts if post["id"] != post_id]
            return {"deleted": True}

        @api("/api/posts/<post_id>/comments", ["GET"])
        def list_comments(token: IssuedToken, post_id: str):
            if not any(post["id"] == post_id for post in self.posts):
                abort(404)
            return {"data": [dict(c) for c in self.comments if c["post_id"] == post_id]}

        @api("/api/comments/<comment_id>/hide", ["POST"])
        def hide_comment(token: IssuedToken, comment_id: str):
            comment_or_404(comment_id)["hidden"] = True
            return {"hidden": True}

        @api("/api/comments/<comment_id>/replies", ["POST"])
        def reply(token: IssuedToken, comment_id: str):
            parent = comment_or_404(comment_id)
            created = self._new_comment(parent["post_id"], text_from_body(), token.user["name"], parent_id=comment_id)
            return {"id": created["id"]}, 201
