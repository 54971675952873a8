"""Both secret stores keep the same contract; VaultStore against a real OpenBao."""

from __future__ import annotations

import pytest

from govern.adapters.local_store import LocalStore, load_or_create_key
from govern.adapters.secret_store import CasConflict, SecretNotFound, SecretStoreUnavailable, WrappingUnsupported
from govern.adapters.vault import AppRoleAuth, TokenAuth, VaultStore
from govern.secret_value import SecretValue
from tests.support.clock import FakeClock
from tests.support.standin import free_port

S = SecretValue


@pytest.fixture(params=["local", "vault"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "store.json", load_or_create_key(tmp_path / "store.key", None))
    return request.getfixturevalue("openbao").govern_store()  # exactly the documented least-privilege policy


def _path(tmp_path) -> str:
    return f"govern/tests/{tmp_path.name}"


def test_write_read_versions(store, tmp_path):
    path = _path(tmp_path)
    assert store.write(path, {"access_token": S("a1")}, cas=0) == 1
    assert store.write(path, {"access_token": S("a2")}, cas=1) == 2
    latest = store.read(path)
    assert latest.version == 2 and latest.data["access_token"].reveal() == "a2"
    assert store.read(path, version=1).data["access_token"].reveal() == "a1"
    assert "a2" not in repr(latest)


def test_check_and_set_refuses_a_stale_writer(store, tmp_path):
    path = _path(tmp_path)
    store.write(path, {"v": S("1")}, cas=0)
    with pytest.raises(CasConflict):
        store.write(path, {"v": S("stale")}, cas=0)
    store.write(path, {"v": S("2")}, cas=1)
    with pytest.raises(CasConflict):
        store.write(path, {"v": S("stale")}, cas=1)
    assert store.read(path).data["v"].reveal() == "2"


def test_keeps_ten_versions_and_destroys_everything(store, tmp_path):
    path = _path(tmp_path)
    for version in range(12):
        store.write(path, {"v": S(str(version))}, cas=version)
    assert store.read(path).version == 12
    with pytest.raises(SecretNotFound):
        store.read(path, version=1)
    store.destroy(path)
    with pytest.raises(SecretNotFound):
        store.read(path)


def test_local_store_file_holds_no_plaintext(tmp_path):
    store = LocalStore(tmp_path / "store.json", load_or_create_key(tmp_path / "store.key", None))
    store.write("govern/accounts/1/oauth", {"access_token": S("canary-local-token")}, cas=0)
    assert b"canary-local-token" not in (tmp_path / "store.json").read_bytes()
    assert (tmp_path / "store.key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(WrappingUnsupported):
        store.wrap({"a": S("b")}, 60)


def test_vault_unavailable_is_a_clear_error():
    dead = VaultStore(f"http://127.0.0.1:{free_port()}", TokenAuth(S("nothing")), timeout=1)
    with pytest.raises(SecretStoreUnavailable, match="unavailable"):
        dead.read("govern/accounts/1/oauth")


def test_approle_login_and_token_renewal(openbao):
    root = openbao.client()
    root.auth.approle.create_or_update_approle("govern-short", token_policies=["govern"], token_ttl="6s", token_max_ttl="1h")
    role_id = root.auth.approle.read_role_id("govern-short")["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id("govern-short")["data"]["secret_id"]
    clock = FakeClock()
    store = VaultStore(openbao.addr, AppRoleAuth(role_id, S(secret_id)), clock=clock)
    store.write("govern/tests/approle", {"k": S("v")}, cas=0)
    first_token = store._client.token
    clock.advance(4.5)  # past two thirds of the 6 s TTL: the next call renews
    assert store.read("govern/tests/approle").data["k"].reveal() == "v"
    assert store._client.token == first_token and store.token_expires_in > 5
    store.destroy("govern/tests/approle")


def test_policy_refusal_is_unavailable_not_a_crash(openbao):
    root = openbao.client()
    token = root.auth.token.create(policies=["default"], ttl="1m")["auth"]["client_token"]
    with pytest.raises(SecretStoreUnavailable, match="permission denied"):
        VaultStore(openbao.addr, TokenAuth(S(token))).read("govern/tests/forbidden")


def test_transit_encrypts_refresh_tokens_at_rest(openbao):
    root = openbao.client()
    if "transit/" not in root.sys.list_mounted_secrets_engines()["data"]:
        root.sys.enable_secrets_engine("transit")
    root.secrets.transit.create_key("govern-refresh")  # the operator creates the key (docs/operations/vault.md)
    store = openbao.govern_store(transit_key="govern-refresh")
    store.write("govern/tests/transit", {"access_token": S("at"), "refresh_token": S("canary-refresh")}, cas=0)
    raw = root.secrets.kv.v2.read_secret_version("govern/tests/transit", mount_point="secret", raise_on_deleted_version=True)["data"]["data"]
    assert raw["refresh_token"].startswith("vault:v1:") and raw["access_token"] == "at"
    assert store.read("govern/tests/transit").data["refresh_token"].reveal() == "canary-refresh"


def test_wrapped_hand_off_unwraps_once(openbao):
    store = openbao.govern_store()
    handoff = store.wrap({"access_token": S("handed-off")}, ttl_seconds=120)
    assert handoff.ttl_seconds == 120 and "handed-off" not in repr(handoff)
    assert store.unwrap(handoff.token)["access_token"].reveal() == "handed-off"
    with pytest.raises(SecretStoreUnavailable):
        store.unwrap(handoff.token)
