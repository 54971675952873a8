"""The broker tests' shared parts: a fake network, an admin token, a publisher's token, and connecting an account.

The fixtures reach the integration tests through tests/integration/conftest.py.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests

from govern.auth.roles import Role
from govern.auth.service import create_api_client
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from tests import factories
from tests.support.fake_network import FakeNetwork


@pytest.fixture
def network():
    pages = [{"id": "page-1001", "name": "Acme Page"}]  # what the signed-in user manages, for the Facebook preset
    with FakeNetwork(client_id="govern-test", client_secret="s3cret", access_ttl=7200, refresh_ttl=86400 * 365, pages=pages) as fake:
        yield fake


@pytest.fixture
def admin(auth_headers):
    return auth_headers(Role.ADMIN)


def register(client, headers, network, key="x", **overrides):
    body = {
        "client_id": "govern-test", "client_secret": "s3cret",
        "authorize_url": network.authorize_url, "token_url": network.token_url,
        "revocation_url": network.revocation_url, "whoami_url": network.whoami_url, "api_url": network.api_url,
        "scopes": ["publish", "read", "offline.access"], **overrides,
    }
    response = client.put(f"/api/v1/networks/{key}/app", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response


def connect(client, headers, key="x", **body):
    started = client.post("/api/v1/connections", json={"network": key, **body}, headers=headers)
    assert started.status_code == 201, started.get_json()
    authorize_url = started.get_json()["authorize_url"]
    assert "code_challenge_method=S256" in authorize_url and "state=" in authorize_url
    consent = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text
    query = parse_qs(urlparse(consent.headers["Location"]).query)
    finished = client.get("/oauth/callback", query_string={"state": query["state"][0], "code": query["code"][0]})
    assert finished.status_code == 302, finished.get_data(as_text=True)
    return int(finished.headers["Location"].split("/accounts/")[1].split("?")[0])


@pytest.fixture
def publisher_headers(session, actor):
    """A bearer token that acts for a person holding a grant on whichever account the test names."""

    def make(account_id: int, role: GrantRole = GrantRole.PUBLISHER):
        person = factories.person(session, actor, display_name="ريم سليمان")
        create_grant(session, actor, person.id, account_id, role, "social team")
        _, token = create_api_client(session, actor, f"person-{person.id}", Role.IT, person.id)
        session.commit()
        return {"Authorization": f"Bearer {token.reveal()}"}

    return make
