"""The probes answer for real: without the database or a credential lookup, and over plain HTTP behind GOVERN_FORCE_HTTPS."""

from __future__ import annotations

import pytest

from govern import create_app
from tests.support.standin import free_port


def test_liveness_touches_neither_the_database_nor_authentication(tmp_path):
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"  # nothing listens there
    app = create_app({"database_url": nowhere, "secret_key": "l" * 40, "instance_path": tmp_path,
                      "database_connect_timeout_seconds": 2})
    client = app.test_client()
    # a token of the right shape would be looked up in the database; a probe must not even try
    for headers in ({}, {"Authorization": "Bearer gov_" + "t" * 43}, {"Authorization": "Basic Zm9vOmJhcg=="}):
        response = client.get("/healthz", headers=headers)
        assert response.status_code == 200, (headers, response.get_data(as_text=True))
        assert response.get_json() == {"status": "ok"}
    ready = client.get("/readyz", headers={"Authorization": "Bearer gov_" + "t" * 43})
    assert ready.status_code == 503 and ready.get_json()["checks"]["database"].startswith("unavailable")


@pytest.fixture
def talisman_restored():
    """create_app configures the one shared Talisman instance: give the next tests back the one they had."""
    from govern.extensions import talisman

    saved = dict(vars(talisman))
    yield
    vars(talisman).clear()
    vars(talisman).update(saved)


def test_probes_answer_over_plain_http_behind_force_https(database_url, tmp_path, talisman_restored):
    app = create_app({"database_url": database_url, "secret_key": "h" * 40, "instance_path": tmp_path, "force_https": True})
    client = app.test_client()
    live = client.get("/healthz", base_url="http://govern.internal")
    assert live.status_code == 200 and live.get_json() == {"status": "ok"}
    ready = client.get("/readyz", base_url="http://govern.internal")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
    assert "Strict-Transport-Security" not in live.headers
    # everything else is still sent to HTTPS
    console = client.get("/login", base_url="http://govern.internal")
    assert console.status_code in (301, 302) and console.headers["Location"].startswith("https://")
