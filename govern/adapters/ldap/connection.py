"""Connections to the directory: the server pool, binding, one retry on a lost socket, and complete (paged) searches."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import ldap3
import structlog
from ldap3.core.exceptions import LDAPExceptionError

from govern.adapters.directory import DirectoryIncomplete, DirectoryUnavailable
from govern.adapters.ldap.config import LdapConfig
from govern.adapters.ldap.values import normal_dn

log = structlog.get_logger("govern.directory.ldap")

LIMIT_RESULTS = {3: "time limit exceeded", 4: "size limit exceeded", 11: "administrative limit exceeded"}
GONE_RESULTS = {51: "busy", 52: "unavailable", 80: "other"}
AD_PARTITION_REFERRALS = ("dc=domaindnszones,", "dc=forestdnszones,", "cn=configuration,", "cn=schema,")


def _outcome(connection: ldap3.Connection, returned: Any) -> tuple[bool, dict[str, Any]]:
    """(succeeded, result) from either strategy: SAFE_SYNC returns a tuple, SYNC a bool and keeps the result."""
    if isinstance(returned, tuple):
        return returned[0], returned[1]
    return bool(returned), connection.result


class _Connection(ldap3.Connection):
    """ldap3's own repr() prints the password; this one never does (tracebacks with locals, debug logs)."""

    def __repr__(self) -> str:
        return self.repr_with_sensitive_data_stripped()


class _ConnectionLost(Exception):
    """The socket failed: worth one retry on a fresh connection (maybe another server of the pool)."""


class _BindRefused(Exception):
    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__(f"{result.get('description')} ({result.get('result')}): {result.get('message') or ''}".strip())
        self.code = result.get("result")


@dataclass
class _Raw:
    """One search result: its DN and its attributes as raw bytes, keyed case-insensitively."""

    dn: str
    attributes: Mapping[str, list[bytes]]

    def values(self, names: Iterable[str]) -> list[bytes]:
        for name in names:
            if found := self.attributes.get(name):
                return list(found)
        return []

    def text(self, names: Iterable[str]) -> str | None:
        found = self.values(names)
        return found[0].decode("utf-8", "replace") if found else None

    def texts(self, names: Iterable[str]) -> list[str]:
        return [value.decode("utf-8", "replace") for value in self.values(names)]


class LdapConnections:
    """One bound service connection (SAFE_SYNC) shared by reads, reconnecting on failure; long reads on their own."""

    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        tls = None
        if config.ca_file or config.start_tls or any(url.startswith("ldaps://") for url in config.urls):
            tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=config.ca_file)
        self._servers = [
            ldap3.Server(url, use_ssl=url.startswith("ldaps://"), tls=tls, connect_timeout=config.connect_timeout, get_info=ldap3.NONE)
            for url in config.urls
        ]
        # Not ldap3's "active" mode: that sleeps 10 s per cycle when every server is down. _open walks the pool instead.
        self._pool = ldap3.ServerPool(self._servers, ldap3.ROUND_ROBIN, active=False, exhaust=False)
        self._lock = threading.Lock()
        self._service: _Connection | None = None

    @property
    def service_account(self) -> str:
        """The bind DN in the spelling changes report in `changed_by`, to recognise govern's own writes."""
        return normal_dn(self.config.bind_dn)

    def _open(self, user: str, password: str, server: ldap3.Server | None = None, strategy: str = ldap3.SAFE_SYNC) -> _Connection:
        """A bound connection: tries each server of the pool once (or only `server`). Raises _BindRefused or Unavailable."""
        attempts = 1 if server is not None else len(self._servers)
        problems = []
        for candidate in [server] if server is not None else self._servers:
            candidate.reset_availability()  # ldap3 would otherwise skip an address for 5 s after one failure
        for _ in range(attempts):
            connection = _Connection(
                server or self._pool, user=user, password=password, client_strategy=strategy,
                auto_bind=ldap3.AUTO_BIND_NONE, raise_exceptions=False, receive_timeout=max(1, round(self.config.receive_timeout)),
                auto_referrals=False, read_only=True, return_empty_attributes=False,
            )
            try:
                connection.open(read_server_info=False)
                if self.config.start_tls and not connection.server.ssl:
                    started = connection.start_tls(read_server_info=False)
                    if not (started[0] if isinstance(started, tuple) else started):
                        raise LDAPExceptionError(f"StartTLS refused: {connection.result}")
                bound, result = _outcome(connection, connection.bind(read_server_info=False))
            except (LDAPExceptionError, OSError) as exc:
                problems.append(f"{connection.server.name if connection.server else '?'}: {type(exc).__name__}: {exc}")
                self._close(connection)
                continue
            if not bound:
                self._close(connection)
                if result.get("result") in GONE_RESULTS:
                    problems.append(f"{connection.server.name}: {result.get('description')}")
                    continue
                raise _BindRefused(result)
            return connection
        log.warning("directory unreachable", servers=[s.name for s in self._servers], problems=problems)
        raise DirectoryUnavailable("no directory server answered: " + "; ".join(problems))

    @staticmethod
    def _close(connection: ldap3.Connection) -> None:
        try:
            connection.unbind()
        except Exception:  # noqa: BLE001 - closing a broken socket may fail in many ways; it is gone either way
            pass
        if (sock := getattr(connection, "socket", None)) is not None:
            try:
                sock.close()  # ldap3 leaves the socket of a failed connect or handshake open
            except OSError:
                pass

    def _service_connection(self) -> _Connection:
        with self._lock:
            if self._service is None or self._service.closed:
                try:
                    self._service = self._open(self.config.bind_dn, self.config.bind_password.reveal())
                except _BindRefused as exc:
                    raise DirectoryUnavailable(f"the directory refused govern's service account: {exc}") from None
            return self._service

    def _drop(self, connection: _Connection) -> None:
        with self._lock:
            if self._service is connection:
                self._service = None
        self._close(connection)

    def _run(self, operation: Callable[[_Connection], Any]) -> Any:
        """Run a read as the service account; if the socket fails, once more on a fresh connection."""
        for attempt in (1, 2):
            connection = self._service_connection()
            try:
                return operation(connection)
            except _ConnectionLost as exc:
                self._drop(connection)
                if attempt == 2:
                    raise DirectoryUnavailable(f"the directory connection failed: {exc}") from None
                log.info("directory connection lost; reconnecting", error=str(exc))
        raise AssertionError("unreachable")

    def _run_alone(self, operation: Callable[[_Connection], Any]) -> Any:
        """Run a long read on a connection of its own, used by this thread only and closed after.

        A plain SYNC connection: SAFE_SYNC deep-copies every response so a shared connection is
        safe across threads, which costs about as much as the read itself on a whole directory.
        """
        for attempt in (1, 2):
            try:
                connection = self._open(self.config.bind_dn, self.config.bind_password.reveal(), strategy=ldap3.SYNC)
            except _BindRefused as exc:
                raise DirectoryUnavailable(f"the directory refused govern's service account: {exc}") from None
            try:
                return operation(connection)
            except _ConnectionLost as exc:
                if attempt == 2:
                    raise DirectoryUnavailable(f"the directory connection failed: {exc}") from None
                log.info("directory connection lost; reconnecting", error=str(exc))
            finally:
                self._close(connection)
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            connection, self._service = self._service, None
        if connection is not None:
            self._close(connection)

    # -- searches ------------------------------------------------------------------------------------------------

    def _search(self, connection: _Connection, base: str, search_filter: str, attributes: list[str], *,
                scope: str = ldap3.SUBTREE, page_size: int | None = None, size_limit: int = 0,
                controls: list | None = None, missing_ok: bool = False) -> list[_Raw]:
        """Every entry of a (paged) search, or an exception: never a silently short list."""
        found: list[_Raw] = []
        cookie = None
        while True:
            try:
                outcome = connection.search(
                    base, search_filter, search_scope=scope, dereference_aliases=ldap3.DEREF_NEVER,
                    attributes=attributes or ["1.1"], size_limit=size_limit, controls=controls,
                    paged_size=page_size, paged_criticality=bool(page_size), paged_cookie=cookie,
                )
                _, result = _outcome(connection, outcome)
                response = connection.response if not isinstance(outcome, tuple) else outcome[2]
            except (LDAPExceptionError, OSError) as exc:
                raise _ConnectionLost(f"{type(exc).__name__}: {exc}") from None
            code = result["result"]
            if code in (32, 50) and missing_ok:  # noSuchObject, insufficientAccess: both mean "not visible to us"
                return found
            if code == 4 and size_limit and len(response or []) >= size_limit:
                code = 0  # the limit we asked for ourselves
            if code != 0:
                what = f"search of {base!r} ({result.get('description')}: {result.get('message') or 'no message'})"
                if code in LIMIT_RESULTS:
                    raise DirectoryIncomplete(f"{what}: {LIMIT_RESULTS[code]} after {len(found)} entries; "
                                              "raise the service account's limits (OpenLDAP: limits ... size=unlimited)")
                if found or cookie:
                    raise DirectoryIncomplete(f"{what} failed after {len(found)} entries")
                raise DirectoryUnavailable(f"{what} failed")
            for item in response or []:
                if item.get("type") == "searchResEntry":
                    found.append(_Raw(item["dn"], item["raw_attributes"]))
                elif item.get("type") == "searchResRef":
                    self._check_referral(item.get("uri") or [])
            if not page_size:
                return found
            cookie = result.get("controls", {}).get("1.2.840.113556.1.4.319", {}).get("value", {}).get("cookie")
            if not cookie:
                return found

    def _check_referral(self, uris: list[str]) -> None:
        """AD points at its DNS and configuration partitions from a domain root: no people there. Anything else is a gap."""
        for uri in uris:
            target = normal_dn(urlparse(uri).path.lstrip("/"))
            if not target.startswith(AD_PARTITION_REFERRALS):
                raise DirectoryIncomplete(f"the directory referred part of the search elsewhere ({uri}); referrals are not followed")
