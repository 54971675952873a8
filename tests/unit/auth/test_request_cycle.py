"""Headers and answers the request cycle gives every route: console pages are never cached, OPTIONS is answered."""

from __future__ import annotations

import pytest

from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from tests.support.console import signed_in_client


@pytest.fixture
def admin_client(app, session, actor):
    user = ensure_console_user(session, actor, "cache@example.com", "Cache", Role.ADMIN)
    session.commit()
    return signed_in_client(app, user.id)


def test_every_console_html_response_is_not_stored(client, admin_client):
    answers = {
        "sign-in page": client.get("/login"),
        "redirect to sign-in": client.get("/accounts"),
        "signed-in page": admin_client.get("/accounts"),
        "error page": admin_client.get("/accounts/999999"),
        "method not allowed": admin_client.delete("/accounts"),
    }
    for name, response in answers.items():
        assert "no-store" in response.headers.get("Cache-Control", ""), f"{name}: {response.headers.get('Cache-Control')}"
    assert answers["signed-in page"].status_code == 200 and answers["error page"].status_code == 404


def test_static_files_stay_cacheable(client, app):
    stylesheet = next(rule.rule for rule in app.url_map.iter_rules() if rule.endpoint == "console.static")
    response = client.get(stylesheet.replace("<path:filename>", "console.css"))
    assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize("path, allowed", [
    ("/api/v1/accounts", {"GET", "POST"}),
    ("/api/v1/handoffs/unwrap", {"POST"}),
    ("/accounts", {"GET"}),
    ("/login", {"GET", "POST"}),
])
def test_options_is_answered_with_allow_and_raises_no_alert(client, caplog, path, allowed):
    response = client.options(path)
    assert response.status_code in (200, 204)
    assert allowed <= {method.strip() for method in response.headers["Allow"].split(",")}
    assert response.get_data() == b""
    assert not any("route_without_authorization_rule" in record.getMessage() for record in caplog.records)


def test_options_on_every_route_answers_without_authentication(app, client, caplog):
    refused = []
    for rule in app.url_map.iter_rules():
        if "OPTIONS" not in rule.methods:
            continue
        path = rule.rule.replace("<int:", "<").replace("<path:", "<")
        path = "/".join("1" if part.startswith("<") else part for part in path.split("/"))
        response = client.options(path)
        if response.status_code not in (200, 204) or "Allow" not in response.headers:
            refused.append(f"{rule.rule}: {response.status_code}")
    assert refused == []
    assert not any("route_without_authorization_rule" in record.getMessage() for record in caplog.records)
