"""Probes, request ids, security headers and the OpenAPI document."""

from __future__ import annotations

import json

from govern import create_app


def test_liveness_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"database": "ok", "secret_store": "ok"}


def test_readiness_reports_each_unreachable_dependency(database_url, tmp_path):
    app = create_app({
        "database_url": database_url, "secret_key": "r" * 40, "instance_path": tmp_path,
        "vault_addr": "http://127.0.0.1:9", "vault_token": "dev-token", "ldap_url": "ldap://127.0.0.1:9",
        "celery_broker_url": "redis://127.0.0.1:9/0",
    })
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"] == "ok"
    assert all(checks[name].startswith("unavailable") for name in ("secret_store", "directory", "broker"))


def test_request_id_is_echoed_or_minted(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123-def-456"}).headers["X-Request-ID"] == "abc-123-def-456"
    minted = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"]
    assert len(minted) == 32 and "<" not in minted


def test_security_headers_and_cookie_flags(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_api_route_and_method_are_problems(client):
    missing = client.get("/api/v1/nowhere")
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"
    wrong = client.delete("/api/v1/accounts")
    assert wrong.status_code == 405 and wrong.content_type == "application/problem+json"


def test_openapi_documents_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.") and document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops if method != "parameters"}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs"):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} is not in the OpenAPI document"
    json.dumps(document)


def test_json_answers_carry_arabic_and_hebrew_as_utf8(client, auth_headers, session, actor):
    from govern.auth.roles import Role
    from tests import factories

    factories.account(session, actor, handle="utf8_check", display_name="أكمي · אקמי")
    session.commit()
    body = client.get("/api/v1/accounts", query_string={"q": "utf8_check"}, headers=auth_headers(Role.AUDITOR)).get_data()
    assert "أكمي · אקמי".encode() in body
