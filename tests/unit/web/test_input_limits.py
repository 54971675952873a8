"""Bad input answers a clear 4xx, never a 5xx: integers beyond the database, NUL, dates out of range, hostile JSON.

Each case here was a 5xx (or an HTML page) before issue 11: found by schemathesis against a live server
(benches/robustness.py) or by hand, and pinned down here without schemathesis' randomness.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from govern.auth.roles import Role
from tests import factories
from tests.support.console import signed_in_client

PROBLEM = "application/problem+json"
TOO_BIG = 2**31  # one past PostgreSQL's integer


@pytest.fixture
def admin(auth_headers):
    return auth_headers(Role.ADMIN)


@pytest.fixture
def world(session, actor):
    person = factories.person(session, actor)
    account = factories.account(session, actor)
    session.commit()
    return {"person": person.id, "account": account.id}


@pytest.fixture
def no_error_logs(caplog):
    """Bad input is the client's mistake: nothing may be logged as an error (it pages whoever runs govern)."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    return response.get_json()


# --- item 7: integers beyond the database's range, NUL bytes -------------------------------------

@pytest.mark.parametrize("path", [
    f"/api/v1/accounts/{TOO_BIG}",
    "/api/v1/accounts/99999999999999999999",
    f"/api/v1/people/{TOO_BIG}",
    f"/api/v1/grants/{TOO_BIG}",
    f"/api/v1/accounts/{TOO_BIG}/checkouts",
])
def test_an_id_beyond_the_database_is_not_found(client, admin, no_error_logs, path):
    _problem(client.get(path, headers=admin), 404)


@pytest.mark.parametrize("method, path", [
    ("POST", f"/api/v1/checkouts/{TOO_BIG}/deny"),
    ("POST", f"/api/v1/notifications/{TOO_BIG}/read"),
    ("POST", f"/api/v1/reviews/campaigns/{TOO_BIG}/close"),
])
def test_a_write_to_an_id_beyond_the_database_is_not_found(client, admin, no_error_logs, method, path):
    _problem(client.open(path, method=method, json={"reason": "because"}, headers=admin), 404)


def test_the_largest_database_id_is_still_a_plain_404(client, admin):
    _problem(client.get(f"/api/v1/accounts/{TOO_BIG - 1}", headers=admin), 404)


@pytest.mark.parametrize("path, query, field", [
    ("/api/v1/grants", {"account_id": TOO_BIG}, "account_id"),
    ("/api/v1/accounts", {"owner_id": "99999999999999999999"}, "owner_id"),
    ("/api/v1/people", {"manager_id": TOO_BIG}, "manager_id"),
    ("/api/v1/audit/events", {"before_seq": 2**63}, "before_seq"),
])
def test_a_query_integer_beyond_the_database_is_a_422_naming_it(client, admin, no_error_logs, path, query, field):
    assert field in _problem(client.get(path, query_string=query, headers=admin), 422)["errors"]


def test_audit_sequence_numbers_are_bigint(client, admin):
    assert client.get("/api/v1/audit/events", query_string={"before_seq": 2**40}, headers=admin).status_code == 200


def test_a_body_integer_beyond_the_database_is_a_422_naming_it(client, admin, world, no_error_logs):
    body = {"person_id": 99999999999, "account_id": world["account"], "role": "analyst", "reason": "launch"}
    assert "person_id" in _problem(client.post("/api/v1/grants", json=body, headers=admin), 422)["errors"]


@pytest.mark.parametrize("path", ["/api/v1/accounts?q=a%00b", "/api/v1/networks/x%00y/app"])
def test_a_nul_in_the_address_is_a_400(client, admin, no_error_logs, path):
    method = "PUT" if path.endswith("/app") else "GET"
    assert "NUL" in _problem(client.open(path, method=method, json={}, headers=admin), 400)["detail"]


def test_a_nul_in_a_json_string_is_a_400(client, admin, no_error_logs):
    body = {"network": "x", "handle": "a\u0000b", "display_name": "Acme"}
    assert "NUL" in _problem(client.post("/api/v1/accounts", json=body, headers=admin), 400)["detail"]


def test_a_value_the_database_refuses_is_a_400_not_an_outage(app, session, actor, world, no_error_logs, monkeypatch):
    """The net under the schemas: a console form (not JSON) carrying a NUL reaches PostgreSQL, which refuses it."""
    from govern.auth.service import ensure_console_user

    user = ensure_console_user(session, actor, "nul@input.test", "Nul", Role.ADMIN)
    session.commit()
    client = signed_in_client(app, user.id)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    response = client.post(f"/accounts/{world['account']}/grants",
                           data={"person_id": str(world["person"]), "role": "analyst", "reason": "go\x00od"})
    assert response.status_code == 400 and "out of the range govern can store" in response.get_data(as_text=True)


# --- item 8: dates out of range, and sensible horizons -------------------------------------------

def _later(**delta) -> str:
    return (datetime.now(timezone.utc) + timedelta(**delta)).isoformat()


@pytest.mark.parametrize("moment", ["9999-12-31T00:00:00+00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                    "1900-01-01T00:00:00+00:00"])
@pytest.mark.parametrize("field", ["starts_at", "expires_at"])
def test_grant_dates_out_of_range_are_422_naming_the_field(client, admin, world, no_error_logs, moment, field):
    body = {"person_id": world["person"], "account_id": world["account"], "role": "analyst", "reason": "launch", field: moment}
    errors = _problem(client.post("/api/v1/grants", json=body, headers=admin), 422)["errors"]
    assert "in the years 1970 to 2199" in errors[field][0]


def test_a_grant_expiring_80_years_out_is_refused_clearly(client, admin, world):
    body = {"person_id": world["person"], "account_id": world["account"], "role": "analyst", "reason": "launch",
            "expires_at": _later(days=80 * 365)}
    errors = _problem(client.post("/api/v1/grants", json=body, headers=admin), 422)["errors"]
    assert errors["expires_at"] == ["Must be at most 5 years from now."]
    body["expires_at"] = _later(days=4 * 365)
    assert client.post("/api/v1/grants", json=body, headers=admin).status_code == 201


@pytest.mark.parametrize("moment, words", [
    ("9999-12-31T00:00:00+00:00", "in the years 1970 to 2199"),
    ("0001-01-01T00:00:00+14:00", "in the years 1970 to 2199"),
    (None, "at most one year from now"),
])
def test_review_deadlines_out_of_range_are_422_naming_the_field(client, admin, no_error_logs, moment, words):
    deadline = moment or _later(days=400)
    opened = client.post("/api/v1/reviews/campaigns", json={"name": "Q1", "scope_kind": "all", "deadline": deadline}, headers=admin)
    assert words in _problem(opened, 422)["errors"]["deadline"][0]
    extended = client.post(f"/api/v1/reviews/campaigns/{TOO_BIG - 1}/extend", json={"deadline": deadline}, headers=admin)
    assert words in _problem(extended, 422)["errors"]["deadline"][0]


@pytest.mark.parametrize("field", ["since", "until"])
@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_audit_filters_out_of_range_are_422_naming_the_field(client, admin, no_error_logs, field, moment):
    response = client.get("/api/v1/audit/events", query_string={field: moment}, headers=admin)
    assert field in _problem(response, 422)["errors"]


# --- item 9: hostile JSON, refused before any view runs ------------------------------------------

def _raw(client, headers, path: str, text: str, content_type: str = "application/json"):
    return client.post(path, data=text.encode("utf-8", "surrogatepass"), headers={**headers, "Content-Type": content_type})


@pytest.mark.parametrize("text", ['{"text": "\\ud800"}', '{"text": "a\\udc00b"}', '{"\\udbff": 1}', '["\\ud83d"]'])
def test_a_lone_surrogate_is_a_400(client, admin, no_error_logs, text):
    assert "surrogate" in _problem(_raw(client, admin, "/api/v1/policy/evaluate", text), 400)["detail"]


def test_a_surrogate_pair_is_a_character(client, admin):
    assert _raw(client, admin, "/api/v1/policy/evaluate", '{"text": "\\ud83d\\ude00 launch"}').status_code == 200


def test_raw_surrogate_bytes_are_not_utf8(client, admin, no_error_logs):
    response = client.post("/api/v1/policy/evaluate", data=b'{"text": "\xed\xa0\x80"}', headers={**admin, "Content-Type": "application/json"})
    assert "UTF-8" in _problem(response, 400)["detail"]


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_json_nested_deeper_than_64_is_a_400(client, admin, no_error_logs, depth):
    text = '{"text": "hi", "account_id": ' + "[" * depth + "]" * depth + "}"
    assert "nested more than 64" in _problem(_raw(client, admin, "/api/v1/policy/evaluate", text), 400)["detail"]


def test_json_64_deep_reaches_the_schema(client, admin):
    text = '{"text": "hi", "network": ' + "[" * 63 + "]" * 63 + "}"
    assert _problem(_raw(client, admin, "/api/v1/policy/evaluate", text), 422)["errors"]["network"]


def test_nan_is_not_json(client, admin):
    assert "NaN" in _problem(_raw(client, admin, "/api/v1/policy/evaluate", '{"text": "hi", "account_id": NaN}'), 400)["detail"]


def test_the_guard_hands_the_body_on_intact(client, admin):
    text = json.dumps({"text": "مرحبا שלום 😀", "network": "x"}, ensure_ascii=False)
    assert _raw(client, admin, "/api/v1/policy/evaluate", text).status_code == 200


# --- item 11: every error is declared as problem+json --------------------------------------------

def test_openapi_declares_problem_json_for_every_error(client):
    document = client.get("/api/v1/openapi.json").get_json()
    components = document["components"]["responses"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            assert "default" in responses, f"{method} {path}"
            for status, response in responses.items():
                if status.startswith(("2", "3")):
                    continue
                resolved = components[response["$ref"].rsplit("/", 1)[1]] if "$ref" in response else response
                assert list(resolved["content"]) == [PROBLEM], f"{method} {path} {status}"
    assert "status" in document["components"]["schemas"]["Problem"]["properties"]


def test_openapi_states_the_bounds(client):
    document = client.get("/api/v1/openapi.json").get_json()
    account_id = document["paths"]["/api/v1/accounts/{account_id}"]["parameters"][0]["schema"]
    assert account_id == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    grant = document["components"]["schemas"]["GrantCreate"]["properties"]
    assert grant["person_id"]["maximum"] == 2**31 - 1 and grant["expires_at"]["pattern"].startswith("^(19")


def test_public_api_routes_need_no_token_in_the_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert paths["/api/v1/audit/keys"]["get"]["security"] == []
    assert paths["/api/v1/handoffs/unwrap"]["post"]["security"] == []
    assert "security" not in paths["/api/v1/accounts"]["get"]  # the document's default: a bearer token


# --- further classes schemathesis found against a live server --------------------------------------

def test_a_wrapping_token_that_is_not_ascii_is_a_422_not_a_500(client, no_error_logs):
    """It used to reach hvac, which could not put it in a header (UnicodeEncodeError, 500)."""
    response = client.post("/api/v1/handoffs/unwrap", json={"wrapping_token": "\U000b8df1token"})
    assert "wrapping_token" in _problem(response, 422)["errors"]


@pytest.mark.parametrize("value", [0, 1, "yes", "true"])
def test_a_json_boolean_is_true_or_false_only(client, admin, value):
    """The document says `type: boolean`; marshmallow also took 0, 1 and "yes" (a purge ran on {"dry_run": 0})."""
    response = client.post("/api/v1/retention/purge", json={"dry_run": value}, headers=admin)
    assert "dry_run" in _problem(response, 422)["errors"]


def test_a_body_whose_fields_are_all_optional_is_documented_as_optional(client, admin, world):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert paths["/api/v1/accounts/{account_id}"]["patch"]["requestBody"]["required"] is False
    assert paths["/api/v1/retention/purge"]["post"]["requestBody"]["required"] is False
    assert paths["/api/v1/grants"]["post"]["requestBody"]["required"] is True
    assert client.patch(f"/api/v1/accounts/{world['account']}", headers=admin).status_code == 200


@pytest.mark.parametrize("body", [b"\n", b"   "])
def test_a_blank_json_body_is_a_400_problem_with_the_documented_shape(client, admin, body):
    """Whitespace is not JSON: webargs' answer carried `errors` as a list, which the Problem schema does not allow."""
    response = client.post("/api/v1/grants", data=body, headers={**admin, "Content-Type": "application/json"})
    assert "blank" in _problem(response, 400)["detail"]


def test_validation_errors_are_always_an_object(app, client, admin):
    from werkzeug.exceptions import UnprocessableEntity

    from govern.web.problems import handle_http_exception

    error = UnprocessableEntity()
    error.data = {"messages": {"json": ["Invalid JSON body."]}}
    with app.test_request_context("/api/v1/grants", method="POST"):
        assert handle_http_exception(error).get_json()["errors"] == {"json": ["Invalid JSON body."]}
