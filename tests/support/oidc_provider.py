"""panva's oidc-provider (npm, pinned in tests/support/package.json) run by node on a free loopback port: the
independent OpenID Connect server the broker is proven against (oidc_provider_server.mjs configures it)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import requests

from tests.support.standin import ProcessStandIn

SUPPORT = Path(__file__).resolve().parent
SCRIPT = SUPPORT / "oidc_provider_server.mjs"
MODULE = SUPPORT / "node_modules" / "oidc-provider" / "package.json"


class OidcProviderUnavailable(RuntimeError):
    """node, or the npm package (`make test` runs `npm ci` in tests/support), is missing."""


@dataclass
class OidcProvider(ProcessStandIn):
    node: str
    config: dict[str, Any]  # what oidc_provider_server.mjs is given: the client, its redirect URIs, token lifetimes
    issuer: str = ""  # known once it listens: it prints {"issuer": ...} on its first line
    metadata: dict[str, Any] = field(default_factory=dict)

    name = "oidc-provider"
    stop_within = 10.0

    @property
    def client_id(self) -> str:
        return self.config["client_id"]

    @property
    def client_secret(self) -> str:
        return self.config["client_secret"]

    @property
    def url(self) -> str:
        return self.issuer

    @property
    def log(self) -> list[str]:
        """What node printed (the issuer line, then its server_error lines)."""
        return list(getattr(self, "output_lines", []))

    def endpoint(self, name: str) -> str:
        return self.metadata[name]

    def authorize(self, authorize_url: str, redirect_uri: str) -> dict[str, list[str]]:
        """Follow the provider's redirects (its interactions complete themselves) up to govern's redirect URI; the
        query of that last redirect (code and state, or an error)."""
        from urllib.parse import parse_qs

        browser = requests.Session()
        url = authorize_url
        for _ in range(12):
            response = browser.get(url, allow_redirects=False, timeout=10)
            if response.status_code not in (302, 303):
                raise AssertionError(f"the provider answered {response.status_code}: {response.text[:500]}")
            url = urljoin(url, response.headers["Location"])
            if url.startswith(redirect_uri):
                return parse_qs(urlparse(url).query)
        raise AssertionError("the provider never redirected back to govern")

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 at the provider, authenticated as govern's client: whether the token is still active."""
        response = requests.post(self.endpoint("introspection_endpoint"), timeout=10, data={
            "token": token, "client_id": self.client_id, "client_secret": self.client_secret,
        })
        response.raise_for_status()
        return response.json()

    # -- the stand-in's lifecycle --

    def _launch(self) -> None:
        self.issuer, self.metadata = "", {}
        self._spawn([self.node, str(SCRIPT), json.dumps(self.config)], cwd=SUPPORT)

    def _ready(self) -> bool:
        """It printed its issuer and serves its discovery document."""
        if not self.issuer:
            printed = [line for line in self.log if line.startswith('{"issuer"')]
            if not printed:
                return False
            self.issuer = json.loads(printed[0])["issuer"]
        try:
            self.metadata = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10).json()
        except (requests.RequestException, ValueError):
            return False
        return True


def start_oidc_provider(redirect_uri: str, **settings: Any) -> OidcProvider:
    node = shutil.which("node")
    if node is None:
        raise OidcProviderUnavailable("node is not installed (node 20 runs oidc-provider)")
    if not MODULE.exists():
        raise OidcProviderUnavailable(f"oidc-provider is not installed: run `npm ci --prefix {SUPPORT}` (make test does)")
    config = {"client_id": "govern-oidc-test", "client_secret": "oidc-client-secret", "redirect_uris": [redirect_uri], **settings}
    return OidcProvider(node, config).start()
