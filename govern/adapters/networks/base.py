"""One OAuth 2.0 client (authlib) that every network preset configures: PKCE, exchange, refresh, revoke, whoami."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from govern.adapters.outbound_http import OutboundSession
from govern.db import utcnow
from govern.secret_value import SecretValue


OFFLINE_ACCESS = "offline_access"
# Parameters govern sets itself on every authorization request; a registration's extra parameters may not replace them.
RESERVED_AUTHORIZE_PARAMS = frozenset({
    "client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "code_challenge",
    "code_challenge_method", "request", "request_uri",
})


EXTRA_PARAM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")
MAX_EXTRA_PARAMS = 20


def check_extra_authorize_params(params: dict[str, Any] | None) -> dict[str, str]:
    """A registration's extra authorization parameters, checked: plain names and string values, none that govern sets
    itself (state, PKCE, redirect_uri, client_id, response_type, scope...). ValueError says what is wrong."""
    if not params:
        return {}
    if not isinstance(params, dict) or len(params) > MAX_EXTRA_PARAMS:
        raise ValueError(f"give at most {MAX_EXTRA_PARAMS} parameters as an object of names to strings")
    checked = {}
    for name, value in params.items():
        if not isinstance(name, str) or not EXTRA_PARAM_NAME.fullmatch(name):
            raise ValueError(f"{str(name)[:64]!r} is not a parameter name (letters, digits, _ . -; at most 64)")
        if name.lower() in RESERVED_AUTHORIZE_PARAMS:
            raise ValueError(f"{name} is set by govern on every authorization request and cannot be overridden")
        if not isinstance(value, str) or len(value) > 1024:
            raise ValueError(f"{name}: the value must be a string of at most 1024 characters")
        checked[name] = value
    return checked


class NetworkError(RuntimeError):
    """A network call failed; messages never carry tokens."""


class NetworkUnavailable(NetworkError):
    """The network did not answer (timeout, connection refused, 5xx)."""


class InvalidGrant(NetworkError):
    """The network refused the refresh token or code: the account must be reconnected."""


class NetworkRejected(NetworkError):
    """The network answered with an error for this call (4xx other than an invalid grant)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Endpoints:
    authorize_url: str
    token_url: str
    whoami_url: str
    api_url: str
    revocation_url: str | None = None


@dataclass(frozen=True)
class NetworkPreset:
    """What differs between networks: endpoints, scopes, auth method, refresh behaviour, whoami fields."""

    key: str
    display_name: str
    endpoints: Endpoints
    scopes: tuple[str, ...]
    token_auth_method: str = "client_secret_post"
    rotating_refresh: bool = False
    whoami_id_field: str = "id"
    whoami_name_field: str = "name"
    extra_authorize_params: dict[str, str] = field(default_factory=dict)
    page_tokens: bool = False  # Facebook: keep each Page's own token, got through a long-lived user token
    notes: str = ""

    def with_endpoints(self, **overrides: str | None) -> NetworkPreset:
        given = {k: v for k, v in overrides.items() if v}
        return replace(self, endpoints=replace(self.endpoints, **given)) if given else self


@dataclass(frozen=True)
class TokenSet:
    access_token: SecretValue
    refresh_token: SecretValue | None
    token_type: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
    refresh_expires_at: datetime | None

    def __repr__(self) -> str:
        return f"TokenSet(token_type={self.token_type!r}, expires_at={self.expires_at}, has_refresh={self.refresh_token is not None})"


@dataclass(frozen=True)
class Identity:
    external_id: str
    name: str | None


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    code_verifier: SecretValue


def _lifetime(seconds: Any, issued: datetime) -> datetime | None:
    try:
        return issued + timedelta(seconds=int(seconds)) if seconds not in (None, "", 0, "0") else None
    except (TypeError, ValueError):
        return None


def _dig(document: Any, dotted: str) -> Any:
    """Follow a dotted path such as "data.user.open_id" or "items.0.id" into a JSON document."""
    for part in dotted.split("."):
        if isinstance(document, dict):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


class OAuthNetworkClient:
    """Talks OAuth 2.0 to one network for one registered app (client id/secret)."""

    def __init__(self, preset: NetworkPreset, client_id: str, client_secret: SecretValue, redirect_uri: str, timeout: float = 10.0) -> None:
        self.preset = preset
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self._timeout = timeout
        self._http = OutboundSession()

    def _session(self, **kwargs: Any) -> OAuth2Session:
        return OAuth2Session(
            client_id=self._client_id,
            client_secret=self._client_secret.reveal(),
            token_endpoint_auth_method=self.preset.token_auth_method,
            revocation_endpoint_auth_method=self.preset.token_auth_method,
            redirect_uri=self._redirect_uri,
            scope=" ".join(self.preset.scopes),
            code_challenge_method="S256",
            default_timeout=self._timeout,
            **kwargs,
        )

    def _token_set(self, raw: dict[str, Any], previous_refresh: SecretValue | None = None) -> TokenSet:
        issued = utcnow()
        if "access_token" not in raw:
            raise NetworkRejected("the token response has no access_token")
        refresh = raw.get("refresh_token")
        scope = raw.get("scope") or " ".join(self.preset.scopes)
        return TokenSet(
            access_token=SecretValue(raw["access_token"]),
            refresh_token=SecretValue(refresh) if refresh else previous_refresh,
            token_type=str(raw.get("token_type", "Bearer")),
            scopes=tuple(scope.replace(",", " ").split()) if isinstance(scope, str) else tuple(scope),
            expires_at=_lifetime(raw.get("expires_in"), issued),
            refresh_expires_at=_lifetime(raw.get("refresh_expires_in", raw.get("refresh_token_expires_in")), issued),
        )

    def _guarded(self, call, *args: Any, **kwargs: Any):
        try:
            return call(*args, **kwargs)
        except OAuthError as exc:
            if exc.error == "invalid_grant":
                raise InvalidGrant(f"{self.preset.display_name} refused the grant (invalid_grant)") from None
            raise NetworkRejected(f"{self.preset.display_name} answered {exc.error}") from None
        except requests.exceptions.RequestException as exc:
            raise NetworkUnavailable(f"{self.preset.display_name} did not answer ({type(exc).__name__})") from None

    def authorize_params(self) -> dict[str, str]:
        """The preset's (and the registration's) extra parameters; `prompt=consent` whenever `offline_access` is asked
        for, since an OpenID Connect provider ignores offline_access without it (OpenID Connect Core 1.0, section 11)."""
        params = dict(self.preset.extra_authorize_params)
        if OFFLINE_ACCESS in self.preset.scopes:
            prompts = params.get("prompt", "").split()
            if "consent" not in prompts and "none" not in prompts:
                params["prompt"] = " ".join([*prompts, "consent"])
        return params

    def authorization_request(self) -> AuthorizationRequest:
        verifier = secrets.token_urlsafe(64)
        state = secrets.token_urlsafe(24)
        url, _ = self._session().create_authorization_url(
            self.preset.endpoints.authorize_url, state=state, code_verifier=verifier, **self.authorize_params()
        )
        return AuthorizationRequest(url, state, SecretValue(verifier))

    def exchange_code(self, code: str, code_verifier: SecretValue) -> TokenSet:
        raw = self._guarded(
            self._session().fetch_token, self.preset.endpoints.token_url, grant_type="authorization_code",
            code=code, code_verifier=code_verifier.reveal(),
        )
        return self._token_set(raw)

    def refresh(self, refresh_token: SecretValue) -> TokenSet:
        raw = self._guarded(self._session().refresh_token, self.preset.endpoints.token_url, refresh_token=refresh_token.reveal())
        return self._token_set(raw, previous_refresh=None if self.preset.rotating_refresh else refresh_token)

    def revoke(self, token: SecretValue, hint: str = "refresh_token") -> bool:
        """Revoke at the network (RFC 7009); False when the network has no revocation endpoint."""
        if not self.preset.endpoints.revocation_url:
            return False
        response = self._guarded(self._session().revoke_token, self.preset.endpoints.revocation_url, token=token.reveal(), token_type_hint=hint)
        if response.status_code >= 400:
            raise NetworkRejected(f"{self.preset.display_name} refused the revocation", response.status_code)
        return True

    def request(self, access_token: SecretValue, method: str, url: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {access_token.reveal()}", "Accept": "application/json"}
        try:
            response = self._http.request(method, url, headers=headers, timeout=self._timeout, **kwargs)
        except requests.exceptions.RequestException as exc:
            raise NetworkUnavailable(f"{self.preset.display_name} did not answer ({type(exc).__name__})") from None
        if response.status_code >= 500:
            raise NetworkUnavailable(f"{self.preset.display_name} answered {response.status_code}")
        return response

    def whoami(self, access_token: SecretValue) -> Identity:
        response = self.request(access_token, "GET", self.preset.endpoints.whoami_url)
        if response.status_code >= 400:
            raise NetworkRejected(f"{self.preset.display_name} refused whoami ({response.status_code})", response.status_code)
        document = response.json()
        external_id = _dig(document, self.preset.whoami_id_field)
        if external_id in (None, ""):
            raise NetworkRejected(f"{self.preset.display_name} whoami had no {self.preset.whoami_id_field}")
        name = _dig(document, self.preset.whoami_name_field)
        return Identity(str(external_id), str(name) if name is not None else None)

    def long_lived_user_token(self, user_token: SecretValue) -> TokenSet:
        """Facebook: trade a short-lived user token for a long-lived one (about 60 days)."""
        params = {
            "grant_type": "fb_exchange_token", "client_id": self._client_id,
            "client_secret": self._client_secret.reveal(), "fb_exchange_token": user_token.reveal(),
        }
        try:
            response = self._http.get(self.preset.endpoints.token_url, params=params, timeout=self._timeout)
        except requests.exceptions.RequestException as exc:
            raise NetworkUnavailable(f"{self.preset.display_name} did not answer ({type(exc).__name__})") from None
        if response.status_code >= 400:
            error = (response.json() if response.content else {}).get("error", response.status_code)
            if error == "invalid_grant":
                raise InvalidGrant(f"{self.preset.display_name} refused the user token (invalid_grant)")
            raise NetworkRejected(f"{self.preset.display_name} refused the long-lived token exchange ({error})", response.status_code)
        return self._token_set(response.json())

    def managed_pages(self, user_token: SecretValue) -> list[tuple[Identity, TokenSet]]:
        """Facebook: the Pages the user manages, each with its Page token (which does not expire)."""
        response = self.request(user_token, "GET", self.preset.endpoints.api_url.rstrip("/") + "/me/accounts")
        if response.status_code >= 400:
            raise NetworkRejected(f"{self.preset.display_name} refused to list Pages ({response.status_code})", response.status_code)
        pages = []
        for page in response.json().get("data", []):
            if not page.get("id") or not page.get("access_token"):
                continue
            tokens = TokenSet(SecretValue(page["access_token"]), None, "Bearer", self.preset.scopes, None, None)
            pages.append((Identity(str(page["id"]), page.get("name")), tokens))
        return pages
