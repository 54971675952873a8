"""Rate limits on a real Redis: every instance shares the counts; and what each path does when Redis stops answering
(sign-in keeps limiting with the process's own counters, the hand-off unwrap lets requests through; never a 500)."""

from __future__ import annotations

import logging
import secrets
import uuid

import pytest
import redis

from govern.auth.throttle import Throttle
from govern.config import ConfigurationError, load_settings
from tests.support.services import require_service
from tests.support.console import redeem_link
from tests.support.redis_server import RedisServer
from tests.support.standin import start_or_require

SHARED_REDIS = "redis://127.0.0.1:6379/12"  # a database of its own (Celery's tests use 14 and 15)
UNWRAP = "/api/v1/handoffs/unwrap"


@pytest.fixture
def key_prefix():
    client = redis.Redis.from_url(SHARED_REDIS, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        require_service("Redis", str(exc))
    prefix = f"authsec-test-{uuid.uuid4().hex[:8]}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_two_instances_count_refusals_together_in_redis(key_prefix):
    settings = load_settings({"rate_limit_storage_url": SHARED_REDIS, "rate_limit_key_prefix": key_prefix,
                              "sign_in_max_failures_per_address": 4})
    one, two = Throttle.from_settings(settings), Throttle.from_settings(settings)
    for n, instance in enumerate((one, two, one, two)):
        assert not instance.check("sign_in:ldap", "192.0.2.1", f"typed-name-{n}").limited
        instance.count("sign_in:ldap", "192.0.2.1", f"typed-name-{n}")
    verdict = two.check("sign_in:ldap", "192.0.2.1", "someone-else")
    assert verdict.limited and verdict.rule.scope == "address" and 0 < verdict.retry_after <= 900
    assert not one.check("sign_in:ldap", "192.0.2.2", "typed-name-0").limited  # another address is not held back
    assert one.first_in_window("sign_in:ldap", "report", "192.0.2.1", 900)
    assert not two.first_in_window("sign_in:ldap", "report", "192.0.2.1", 900)  # once per window, across instances

    keys = [key.decode() for key in redis.Redis.from_url(SHARED_REDIS).scan_iter(f"{key_prefix}:*")]
    assert keys and all(key.startswith(f"{key_prefix}:limits:") for key in keys)
    assert not any("typed-name" in key for key in keys), "a typed name (maybe a password) reached Redis"


def test_a_bad_store_url_stops_start_up_with_the_variable_named():
    with pytest.raises(ConfigurationError, match="GOVERN_RATE_LIMIT_STORAGE_URL"):
        load_settings({}, environ={"GOVERN_RATE_LIMIT_STORAGE_URL": "memcached://127.0.0.1:11211"})


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own on a free port, to be stopped in the middle of the test."""
    server = start_or_require("redis-server", lambda: RedisServer(tmp_path).start())
    yield server
    server.stop()


def test_when_redis_stops_answering_sign_in_stays_limited_and_unwrap_stays_open(own_redis, make_committed_app, caplog):
    url = own_redis.url
    app = make_committed_app(log_format="json", rate_limit_storage_url=url, sign_in_max_failures_per_address=3,
                             handoff_unwrap_max_refusals_per_address=2)
    logging.getLogger().addHandler(caplog.handler)  # create_app replaced the root handlers with its own
    client = app.test_client()
    garbage = {"wrapping_token": "s.not-a-handoff"}
    assert [client.post(UNWRAP, json=garbage).status_code for _ in range(3)] == [410, 410, 429]  # counted in Redis

    own_redis.stop()
    # the unwrap fails open: its token is single-use and unguessable, and a garbage one costs one indexed read
    assert [client.post(UNWRAP, json=garbage).status_code for _ in range(5)] == [410] * 5
    # sign-in fails closed to this process's own counters: still limited, per process
    statuses = [redeem_link(client, secrets.token_urlsafe(32)).status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 429, 429]
    assert "rate_limit_store_unavailable" in caplog.text
