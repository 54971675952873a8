"""A loopback OpenID Connect provider for sign-in tests: authlib's server (code flow, PKCE S256, nonce), discovery,
a JWKS, and ID tokens signed with an RSA key generated at start."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oidc.core import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from flask import Flask, jsonify, request
from joserfc.jwk import KeySet, RSAKey

from tests.support.fake_network import CLIENT_AUTH_METHODS, PkceS256Required, RegisteredClient
from tests.support.loopback import LoopbackServer

CODE_TTL = 600
ID_TOKEN_TTL = 300
DEFAULT_USER = {"sub": "oidc-user-1", "email": "someone@example.com", "email_verified": True, "name": "Someone", "groups": []}
USERINFO_ONLY = ("groups",)  # with `groups_in_userinfo_only`, these are left out of the ID token


def _new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex[:12], "use": "sig", "alg": "RS256"})


@dataclass
class OidcCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    user: dict[str, Any]
    code_challenge: str
    code_challenge_method: str
    nonce: str | None
    auth_time: int
    expires_at: float

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


@dataclass
class ProviderState:
    client: RegisteredClient
    issuer: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)
    codes: dict[str, OidcCode] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # access token -> the user's claims
    nonces: set[str] = field(default_factory=set)
    signing_key: RSAKey = field(default_factory=_new_key)
    forged_key: RSAKey | None = None  # signs the next ID token with a key the JWKS does not publish, under its kid
    next_claims: dict[str, Any] = field(default_factory=dict)  # overrides iss, aud, exp... of the next ID token
    stats: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("discovery", "jwks", "token", "userinfo"), 0))


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def save_authorization_code(self, code: str, oauth_request) -> None:
        state: ProviderState = self.server.state
        payload = oauth_request.payload
        state.codes[code] = OidcCode(
            code=code, client_id=oauth_request.client.client_id, redirect_uri=payload.redirect_uri,
            scope=oauth_request.client.get_allowed_scope(payload.scope), user=dict(oauth_request.user),
            code_challenge=payload.data["code_challenge"], code_challenge_method=payload.data["code_challenge_method"],
            nonce=payload.data.get("nonce"), auth_time=int(time.time()), expires_at=time.time() + CODE_TTL,
        )
        if nonce := payload.data.get("nonce"):
            state.nonces.add(nonce)

    def query_authorization_code(self, code: str, client: RegisteredClient) -> OidcCode | None:
        found = self.server.state.codes.get(code)
        return found if found and found.client_id == client.client_id and found.expires_at > time.time() else None

    def delete_authorization_code(self, authorization_code: OidcCode) -> None:
        self.server.state.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: OidcCode) -> dict[str, Any]:
        return authorization_code.user


class SignedIdTokens(OpenIDCode):
    """ID tokens signed RS256 with the provider's key (or, once, a forged one), nonce required and single-use."""

    def __init__(self, state: ProviderState) -> None:
        super().__init__(require_nonce=True)
        self.state = state

    def exists_nonce(self, nonce: str, oauth_request) -> bool:
        return nonce in self.state.nonces

    def resolve_client_private_key(self, client: RegisteredClient) -> RSAKey:
        forged, self.state.forged_key = self.state.forged_key, None
        return forged or self.state.signing_key

    def get_client_algorithm(self, client: RegisteredClient) -> str:
        return "RS256"

    def get_client_claims(self, client: RegisteredClient) -> dict[str, Any]:
        now = int(time.time())
        overrides, self.state.next_claims = self.state.next_claims, {}
        return {"iss": self.state.issuer, "aud": [client.client_id], "iat": now, "exp": now + ID_TOKEN_TTL, **overrides}

    def get_encode_header(self, client: RegisteredClient) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.state.signing_key.kid}

    def generate_user_info(self, user: dict[str, Any], scope: str) -> dict[str, Any]:
        hidden = USERINFO_ONLY if user.get("_groups_in_userinfo_only") else ()
        return {key: value for key, value in user.items() if not key.startswith("_") and key not in hidden}


class ProviderServer(AuthorizationServer):
    def __init__(self, app: Flask, state: ProviderState) -> None:
        self.state = state
        super().__init__(app, lambda client_id: state.client if client_id == state.client.client_id else None, self._save_token)
        self.register_grant(CodeGrant, [PkceS256Required(required=True), SignedIdTokens(state)])

    def _save_token(self, token: dict[str, Any], oauth_request) -> None:
        self.state.tokens[token["access_token"]] = dict(oauth_request.authorization_code.user)


class FakeOidcProvider(LoopbackServer):
    """One registered client and the person who signs in next (auto-consent), served on a loopback port."""

    def __init__(self, client_id: str = "govern-console", client_secret: str = "oidc-s3cret",
                 redirect_uris: list[str] | None = None) -> None:
        client = RegisteredClient(client_id, client_secret, ("openid", "email", "profile"),
                                  tuple(redirect_uris) if redirect_uris is not None else None)
        self._state = ProviderState(client)
        self._user: dict[str, Any] = dict(DEFAULT_USER)
        self.app = self._build_app()
        super().__init__(self.app, "fake OIDC provider")

    # -- test controls --

    @property
    def stats(self) -> dict[str, int]:
        return self._state.stats

    @property
    def client_id(self) -> str:
        return self._state.client.client_id

    @property
    def client_secret(self) -> str:
        return self._state.client.client_secret

    def set_user(self, *, groups_in_userinfo_only: bool = False, **claims: Any) -> None:
        """Who signs in next: their claims (sub, email, name, groups, ...) replace the previous person's."""
        with self._state.lock:
            self._user = {**claims, "_groups_in_userinfo_only": groups_in_userinfo_only}

    def forge_next_id_token(self) -> None:
        """Sign the next ID token with a key the JWKS does not publish, under the published key's id."""
        with self._state.lock:
            self._state.forged_key = _new_key()

    def tamper_next_id_token(self, **claims: Any) -> None:
        """Registered claims of the next ID token to get wrong, e.g. aud="someone-else" or exp=<the past>."""
        with self._state.lock:
            self._state.next_claims = dict(claims)

    def rotate_key(self) -> None:
        with self._state.lock:
            self._state.signing_key = _new_key()

    # -- lifecycle (start, stop and the context manager are the loopback stand-in's) --

    def _launch(self) -> None:
        super()._launch()
        self._state.issuer = self.url

    @property
    def issuer(self) -> str:
        if not self._state.issuer:
            raise RuntimeError("the fake OIDC provider is not started")
        return self._state.issuer

    # -- the HTTP side --

    def _build_app(self) -> Flask:
        app = Flask(__name__)
        app.config.update(OAUTH2_TOKEN_EXPIRES_IN={"authorization_code": 3600})
        server = ProviderServer(app, self._state)
        state = self._state

        @app.get("/.well-known/openid-configuration")
        def discovery():
            with state.lock:
                state.stats["discovery"] += 1
            issuer = state.issuer
            return jsonify(
                issuer=issuer, authorization_endpoint=f"{issuer}/authorize", token_endpoint=f"{issuer}/token",
                jwks_uri=f"{issuer}/jwks", userinfo_endpoint=f"{issuer}/userinfo", response_types_supported=["code"],
                subject_types_supported=["public"], id_token_signing_alg_values_supported=["RS256"],
                token_endpoint_auth_methods_supported=CLIENT_AUTH_METHODS, code_challenge_methods_supported=["S256"],
                scopes_supported=list(state.client.scopes),
            )

        @app.get("/jwks")
        def jwks():
            with state.lock:
                state.stats["jwks"] += 1
                return jsonify(KeySet([state.signing_key]).as_dict(private=False))

        @app.get("/authorize")
        def authorize():
            with state.lock:
                user = dict(self._user)  # auto-approved: the current person always consents
                try:
                    grant = server.get_consent_grant(end_user=user)
                except OAuth2Error as error:
                    return server.handle_error_response(None, error)
                return server.create_authorization_response(grant=grant, grant_user=user)

        @app.post("/token")
        def token():
            with state.lock:
                state.stats["token"] += 1
                return server.create_token_response()

        @app.get("/userinfo")
        def userinfo():
            with state.lock:
                state.stats["userinfo"] += 1
                scheme, _, value = request.headers.get("Authorization", "").partition(" ")
                user = state.tokens.get(value) if scheme.lower() == "bearer" else None
                if user is None:
                    return jsonify(error="invalid_token"), 401
                return jsonify({key: val for key, val in user.items() if not key.startswith("_")})

        return app
