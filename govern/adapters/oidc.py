"""The company's OpenID Connect provider (authlib): discovery, code flow with PKCE, ID tokens checked against its JWKS."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests
import structlog
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from govern.config import ConfigurationError, Settings
from govern.secret_value import SecretValue

log = structlog.get_logger("govern.oidc")

CALLBACK_PATH = "/login/oidc/callback"
METADATA_TTL = 3600.0
LEEWAY_SECONDS = 60
# Signatures with the provider's published keys only: never "none", never HMAC with the client secret.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class OidcError(RuntimeError):
    """Sign-in through the provider failed; messages never carry codes or tokens."""


class OidcUnavailable(OidcError):
    """The provider did not answer (discovery, JWKS or token endpoint), or answered with a server error."""


class OidcRejected(OidcError):
    """The provider refused the code, or its answer failed a check (signature, issuer, audience, nonce, expiry)."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: SecretValue
    scopes: tuple[str, ...]
    redirect_uri: str
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig:
        secret = settings.oidc_client_secret
        if not secret and settings.oidc_client_secret_file:
            try:
                secret = Path(settings.oidc_client_secret_file).read_text().rstrip("\r\n")
            except OSError as exc:
                raise ConfigurationError(f"GOVERN_OIDC_CLIENT_SECRET_FILE: cannot read it: {exc.strerror}") from None
        if not secret:
            raise ConfigurationError("GOVERN_OIDC_CLIENT_SECRET (or _FILE) is empty")
        return cls(settings.oidc_issuer, settings.oidc_client_id, SecretValue(secret), tuple(settings.oidc_scopes.split()),
                   settings.base_url + CALLBACK_PATH)


@dataclass(frozen=True)
class OidcAuthorization:
    """Where to send the browser, and what the callback must be checked against (kept in the signed session)."""

    url: str
    state: str
    nonce: str
    code_verifier: SecretValue


def _secure_endpoint(url: Any, issuer: str) -> bool:
    """https://, or http:// on the same loopback host as an http:// issuer (a test provider)."""
    if not isinstance(url, str):
        return False
    parsed, home = urlparse(url), urlparse(issuer)
    return parsed.scheme == "https" or (home.scheme == "http" and parsed.scheme == "http" and parsed.hostname == home.hostname)


def _dig(document: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        document = document.get(part) if isinstance(document, dict) else None
    return document


class OidcClient:
    """One relying party at one provider; discovery and keys are cached and shared by every request of the app."""

    def __init__(self, config: OidcConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._http = requests.Session()
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0

    def __repr__(self) -> str:
        return f"OidcClient({self.config.issuer}, client_id={self.config.client_id!r})"

    # -- discovery and keys ----------------------------------------------------------------------------------------

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = self._http.get(url, timeout=self.config.timeout, headers={"Accept": "application/json"})
        except requests.exceptions.RequestException as exc:
            raise OidcUnavailable(f"the identity provider's {what} did not answer ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise OidcUnavailable(f"the identity provider's {what} answered {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise OidcUnavailable(f"the identity provider's {what} is not a JSON object")
        return document

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is not None and self._clock() - self._metadata_at < METADATA_TTL:
                return self._metadata
        issuer = self.config.issuer
        # Discovery 4.1: a terminating / of the issuer is removed before the well-known path is appended
        document = self._get_json(f"{issuer.rstrip('/')}/.well-known/openid-configuration", "discovery document")
        if document.get("issuer") != issuer:  # OpenID Connect Discovery 4.3: exactly the configured issuer
            raise OidcUnavailable(f"the discovery document names issuer {document.get('issuer')!r}, not {issuer!r}")
        for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not _secure_endpoint(document.get(endpoint), issuer):
                raise OidcUnavailable(f"the discovery document's {endpoint} is missing or not https://")
        with self._lock:
            self._metadata, self._metadata_at = document, self._clock()
        return document

    def _key_set(self, refresh: bool = False) -> KeySet:
        # No floor on refreshes: ID tokens come straight from the token endpoint, never from the browser, so an
        # unknown key id cannot be sent at will to make govern hammer the provider.
        with self._lock:
            if self._keys is not None and not refresh and self._clock() - self._keys_at < METADATA_TTL:
                return self._keys
        document = self._get_json(self.metadata()["jwks_uri"], "key set (JWKS)")
        try:
            keys = KeySet.import_key_set(document)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise OidcUnavailable(f"the identity provider's key set cannot be read ({type(exc).__name__})") from None
        with self._lock:
            self._keys, self._keys_at = keys, self._clock()
        return keys

    # -- the code flow ---------------------------------------------------------------------------------------------

    def _session(self) -> OAuth2Session:
        methods = self.metadata().get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
        return OAuth2Session(
            client_id=self.config.client_id, client_secret=self.config.client_secret.reveal(),
            token_endpoint_auth_method=method, redirect_uri=self.config.redirect_uri, scope=" ".join(self.config.scopes),
            code_challenge_method="S256", default_timeout=self.config.timeout,
        )

    def authorization(self) -> OidcAuthorization:
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(64)
        url, _ = self._session().create_authorization_url(
            self.metadata()["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier,
        )
        return OidcAuthorization(url, state, nonce, SecretValue(verifier))

    def claims(self, code: str, code_verifier: SecretValue, nonce: str, wanted: Iterable[str] = ()) -> dict[str, Any]:
        """Redeem the code and return the ID token's claims once they pass every check. Claims named in `wanted`
        that the ID token lacks are taken from the userinfo endpoint, when the provider has one."""
        try:
            with self._session() as session:
                token = session.fetch_token(self.metadata()["token_endpoint"], grant_type="authorization_code",
                                            code=code, code_verifier=code_verifier.reveal())
        except OAuthError as exc:
            raise OidcRejected(f"the identity provider refused the code ({exc.error})") from None
        except requests.exceptions.RequestException as exc:
            raise OidcUnavailable(f"the identity provider's token endpoint did not answer ({type(exc).__name__})") from None
        if not isinstance(token.get("id_token"), str):
            raise OidcRejected("the token response has no id_token (is the openid scope allowed for this client?)")
        claims = self._validated(token["id_token"], nonce, token.get("access_token"))
        missing = [name for name in wanted if _dig(claims, name) is None]
        if missing and token.get("access_token") and self.metadata().get("userinfo_endpoint"):
            claims = {**self._userinfo(token["access_token"], claims["sub"]), **claims}
        return claims

    def _validated(self, id_token: str, nonce: str, access_token: str | None) -> dict[str, Any]:
        advertised = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [alg for alg in advertised if alg in ASYMMETRIC_ALGORITHMS]
        if not algorithms:
            raise OidcUnavailable(f"the provider signs ID tokens only with {advertised}; govern accepts asymmetric ones")
        try:
            try:
                decoded = jwt.decode(id_token, self._key_set(), algorithms=algorithms)
            except InvalidKeyIdError:  # the provider rotated its keys since we last read them
                decoded = jwt.decode(id_token, self._key_set(refresh=True), algorithms=algorithms)
            options = {
                "iss": {"essential": True, "value": self.config.issuer},
                "aud": {"essential": True, "value": self.config.client_id},
                "nonce": {"essential": True, "value": nonce},
            }
            params = {"nonce": nonce, "client_id": self.config.client_id, "access_token": access_token}
            checked = CodeIDToken(decoded.claims, decoded.header, options, params)
            checked.validate(now=int(self._clock()), leeway=LEEWAY_SECONDS)
        except JoseError as exc:
            log.warning("id token refused", error=exc.error, description=exc.description)
            raise OidcRejected(f"the ID token failed a check ({exc.error}: {exc.description})") from None
        return dict(checked)

    def _userinfo(self, access_token: str, subject: str) -> dict[str, Any]:
        url = self.metadata()["userinfo_endpoint"]
        if not _secure_endpoint(url, self.config.issuer):
            raise OidcUnavailable("the discovery document's userinfo_endpoint is not https://")
        try:
            response = self._http.get(url, timeout=self.config.timeout,
                                      headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"})
        except requests.exceptions.RequestException as exc:
            raise OidcUnavailable(f"the identity provider's userinfo endpoint did not answer ({type(exc).__name__})") from None
        try:
            document = response.json() if response.status_code == 200 else None
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise OidcUnavailable(f"the identity provider's userinfo endpoint answered {response.status_code}")
        if document.get("sub") != subject:  # OpenID Connect Core 5.3.2: else the answer may be about someone else
            raise OidcRejected("the userinfo answer is about another subject")
        return document


def build_oidc_client(settings: Settings) -> OidcClient | None:
    if not settings.oidc_issuer:
        return None
    return OidcClient(OidcConfig.from_settings(settings))
