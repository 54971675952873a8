"""`govern serve` starting: no whole-trail work, and workers that are replaced after a bounded number of requests."""

from __future__ import annotations

import pytest
from gunicorn.app.base import BaseApplication

from govern import create_app
from govern.audit import trail
from govern.audit.verification import verify_trail


@pytest.fixture
def verifications(monkeypatch) -> list[str]:
    called: list[str] = []
    monkeypatch.setattr(trail, "verify_stored_trail", lambda *a, **k: called.append("verify_stored_trail"))
    monkeypatch.setattr(trail, "verify_chain", lambda *a, **k: called.append("verify_chain"))
    monkeypatch.setattr("govern.audit.verification.verify_trail", lambda *a, **k: called.append("verify_trail") or verify_trail(*a, **k))
    return called


def _gunicorn_settings(app, monkeypatch) -> dict:
    from govern import serve

    seen: dict = {}

    def started(self):  # instead of serving: what gunicorn was configured with
        seen.update({name: setting.get() for name, setting in self.cfg.settings.items()})

    monkeypatch.setattr(BaseApplication, "run", started)
    serve.run(app, "127.0.0.1", 0, workers=2, threads=2)
    return seen


def test_starting_the_server_does_not_verify_the_trail(database_url, tmp_path, verifications, monkeypatch):
    app = create_app({"database_url": database_url, "secret_key": "k" * 40, "instance_path": tmp_path})
    _gunicorn_settings(app, monkeypatch)
    assert verifications == []


def test_workers_are_replaced_after_a_bounded_number_of_requests(database_url, tmp_path, monkeypatch):
    default = _gunicorn_settings(create_app({"database_url": database_url, "secret_key": "k" * 40, "instance_path": tmp_path}),
                                 monkeypatch)
    assert default["max_requests"] == 1000 and default["max_requests_jitter"] == 100
    monkeypatch.setenv("GOVERN_SERVE_MAX_REQUESTS", "250")
    monkeypatch.setenv("GOVERN_SERVE_MAX_REQUESTS_JITTER", "25")
    configured = _gunicorn_settings(create_app({"database_url": database_url, "secret_key": "k" * 40,
                                                "instance_path": tmp_path / "env"}), monkeypatch)
    assert configured["max_requests"] == 250 and configured["max_requests_jitter"] == 25
