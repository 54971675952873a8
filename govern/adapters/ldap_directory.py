"""The company directory over LDAP (OpenLDAP or Active Directory) with ldap3: people, leaver signals, changes, sign-in."""

from __future__ import annotations

import ipaddress
import json
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse
from uuid import UUID

import ldap3
import structlog
from ldap3.core.exceptions import LDAPExceptionError
from ldap3.utils.conv import escape_bytes, escape_filter_chars

from govern.adapters.directory import (
    ChangeBatch,
    DirectoryChange,
    DirectoryEntry,
    DirectoryIncomplete,
    DirectoryUnavailable,
)
from govern.adapters.ldap_values import (  # noqa: F401  (re-exported for callers of the adapter)
    _under,
    filetime,
    format_generalized_time,
    normal_dn,
    parse_end_date,
    parse_generalized_time,
)
from govern.config import LDAP_ATTRIBUTE_ROLES, ConfigurationError, Settings
from govern.secret_value import SecretValue

log = structlog.get_logger("govern.directory.ldap")

Flavor = Literal["openldap", "ad"]

# Each role maps to attribute names tried in order; an empty value switches the role off.
DEFAULT_ATTRIBUTES: dict[str, dict[str, str]] = {
    "openldap": {
        "key": "entryUUID", "username": "uid", "display_name": "displayName,cn", "email": "mail",
        "department": "departmentNumber,ou", "manager": "manager", "changed_at": "modifyTimestamp",
        "locked": "pwdAccountLockedTime", "account_control": "", "account_expires": "",
    },
    "ad": {
        "key": "objectGUID", "username": "sAMAccountName", "display_name": "displayName,cn", "email": "mail",
        "department": "department", "manager": "manager", "changed_at": "whenChanged,modifyTimestamp",
        "locked": "", "account_control": "userAccountControl", "account_expires": "accountExpires",
    },
}
DEFAULT_USER_FILTER: dict[str, str] = {
    "openldap": "(objectClass=inetOrgPerson)",
    "ad": "(&(objectClass=user)(!(objectClass=computer)))",  # computers are users too in AD
}

ACCOUNTDISABLE = 0x2
MAX_PAGE_SIZE = 1000
KEYS_PER_QUERY = 50
# Writes that started before the cursor may reach the log after it (ops run concurrently); look back this far.
OVERLAP = timedelta(seconds=10)
LIMIT_RESULTS = {3: "time limit exceeded", 4: "size limit exceeded", 11: "administrative limit exceeded"}
GONE_RESULTS = {51: "busy", 52: "unavailable", 80: "other"}
AD_SHOW_DELETED = ("1.2.840.113556.1.4.417", False, None)
AD_PARTITION_REFERRALS = ("dc=domaindnszones,", "dc=forestdnszones,", "cn=configuration,", "cn=schema,")
EPOCH_MARK = "19700101000000.000000Z"


@dataclass(frozen=True)
class LdapConfig:
    """Validated directory settings; `attributes` overrides the flavour's mapping (role -> "attr,fallback")."""

    urls: tuple[str, ...]
    bind_dn: str
    bind_password: SecretValue
    base_dn: str
    flavor: Flavor = "openldap"
    group_dn: str | None = None
    ca_file: str | None = None
    start_tls: bool = False
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    user_filter: str = ""
    employment_status_attribute: str | None = "employeeType"
    terminated_values: frozenset[str] = frozenset({"terminated"})
    end_date_attribute: str | None = None
    connect_timeout: float = 5.0
    receive_timeout: float = 30.0

    def __post_init__(self) -> None:
        merged = {**DEFAULT_ATTRIBUTES[self.flavor], **{k: ",".join(v) if not isinstance(v, str) else v for k, v in self.attributes.items()}}
        unknown = sorted(set(merged) - set(LDAP_ATTRIBUTE_ROLES))
        if unknown:
            raise ConfigurationError(f"GOVERN_LDAP_ATTRIBUTES: unknown keys {', '.join(unknown)}")
        resolved = {role: tuple(name.strip() for name in names.split(",") if name.strip()) for role, names in merged.items()}
        for role in ("key", "username"):
            if len(resolved[role]) != 1:
                raise ConfigurationError(f"GOVERN_LDAP_ATTRIBUTES: {role} needs exactly one attribute")
        object.__setattr__(self, "attributes", resolved)
        object.__setattr__(self, "user_filter", self.user_filter.strip() or DEFAULT_USER_FILTER[self.flavor])
        object.__setattr__(self, "terminated_values", frozenset(v.strip().lower() for v in self.terminated_values if v.strip()))
        if not self.urls:
            raise ConfigurationError("GOVERN_LDAP_URL is required for directory sync")
        if not (self.user_filter.startswith("(") and self.user_filter.endswith(")")):
            raise ConfigurationError("GOVERN_LDAP_USER_FILTER must be a parenthesised LDAP filter")
        if not self.base_dn or not self.bind_dn or not self.bind_password.reveal():
            raise ConfigurationError(
                "GOVERN_LDAP_BASE_DN, GOVERN_LDAP_BIND_DN and GOVERN_LDAP_BIND_PASSWORD (or _FILE) are required for directory sync"
            )
        for url in self.urls:
            parsed = urlparse(url)
            if parsed.scheme not in ("ldap", "ldaps") or not parsed.hostname:
                raise ConfigurationError(f"GOVERN_LDAP_URL: {url} is not an ldap:// or ldaps:// URL")
            if parsed.scheme == "ldap" and not self.start_tls and not _is_loopback(parsed.hostname):
                raise ConfigurationError(
                    f"GOVERN_LDAP_URL: {url} would send passwords in clear; use ldaps:// or GOVERN_LDAP_START_TLS=true"
                )
        if self.ca_file and not Path(self.ca_file).is_file():
            raise ConfigurationError(f"GOVERN_LDAP_CA_FILE: {self.ca_file} is not a readable file")

    @classmethod
    def from_settings(cls, settings: Settings) -> LdapConfig:
        password = settings.ldap_bind_password
        if not password and settings.ldap_bind_password_file:
            try:
                password = Path(settings.ldap_bind_password_file).read_text().rstrip("\r\n")
            except OSError as exc:
                raise ConfigurationError(f"GOVERN_LDAP_BIND_PASSWORD_FILE: cannot read it: {exc.strerror}") from None
        return cls(
            urls=tuple(url for url in settings.ldap_url.split(",") if url),
            bind_dn=settings.ldap_bind_dn,
            bind_password=SecretValue(password),
            base_dn=settings.ldap_base_dn,
            flavor=settings.ldap_flavor,
            group_dn=settings.ldap_group_dn or None,
            ca_file=settings.ldap_ca_file or None,
            start_tls=settings.ldap_start_tls,
            attributes=dict(settings.ldap_attributes),
            user_filter=settings.ldap_user_filter,
            employment_status_attribute=settings.ldap_employment_status_attribute or None,
            terminated_values=frozenset(settings.ldap_terminated_values),
            end_date_attribute=settings.ldap_end_date_attribute or None,
            connect_timeout=settings.ldap_connect_timeout_seconds,
            receive_timeout=settings.ldap_receive_timeout_seconds,
        )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


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


def _key_of(raw: _Raw, attribute: str) -> str | None:
    found = raw.values([attribute])
    if not found:
        return None
    if attribute.lower() == "objectguid":
        return str(UUID(bytes_le=found[0])) if len(found[0]) == 16 else found[0].hex()
    return found[0].decode("utf-8", "replace").lower()


def _key_filter(attribute: str, key: str) -> str:
    if attribute.lower() == "objectguid":
        return f"({attribute}={escape_bytes(UUID(key).bytes_le)})"
    return f"({attribute}={escape_filter_chars(key)})"


class LdapDirectory:
    """The Directory Protocol over ldap3: one bound service connection (SAFE_SYNC), reconnecting on failure."""

    def __init__(self, config: LdapConfig, clock: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.source = config.flavor
        self._clock = clock or (lambda: datetime.now(UTC))
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
        attrs = config.attributes
        self._person_filter = f"(&{config.user_filter}({attrs['username'][0]}=*))"
        wanted = {name for names in attrs.values() for name in names}
        wanted |= {a for a in (config.employment_status_attribute, config.end_date_attribute) if a}
        self._attributes = sorted(wanted)

    def __repr__(self) -> str:
        return f"LdapDirectory({self.config.flavor}, {', '.join(self.config.urls)}, base={self.config.base_dn!r})"

    @property
    def service_account(self) -> str:
        """The bind DN in the spelling changes report in `changed_by`, to recognise govern's own writes."""
        return normal_dn(self.config.bind_dn)

    # -- connections ---------------------------------------------------------------------------------------------

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

    def _people(self, connection: _Connection, page_size: int, extra_filter: str = "") -> list[_Raw]:
        search_filter = f"(&{self._person_filter}{extra_filter})" if extra_filter else self._person_filter
        return self._search(connection, self.config.base_dn, search_filter, self._attributes, page_size=page_size)

    def _group_members(self, connection: _Connection) -> set[str] | None:
        if not self.config.group_dn:
            return None
        found = self._search(connection, self.config.group_dn, "(objectClass=*)", ["member", "uniqueMember"],
                             scope=ldap3.BASE, missing_ok=True)
        if not found:
            # Without the group everyone would look like a leaver: refuse rather than revoke the company.
            raise DirectoryIncomplete(f"the entitlement group {self.config.group_dn!r} cannot be read")
        return {normal_dn(dn.split("#", 1)[0]) for dn in found[0].texts(["member", "uniqueMember"])}

    # -- entries -------------------------------------------------------------------------------------------------

    def _entries(self, raws: Iterable[_Raw], members: set[str] | None, manager_key: Callable[[str], str | None]) -> list[DirectoryEntry]:
        """`members`: normalised DNs directly in the entitlement group, or None when no group is configured."""
        return [self._entry(raw, members, manager_key) for raw in raws]

    def _entry(self, raw: _Raw, members: set[str] | None, manager_key: Callable[[str], str | None]) -> DirectoryEntry:
        attrs = self.config.attributes
        key = _key_of(raw, attrs["key"][0])
        if key is None:
            raise DirectoryIncomplete(f"{raw.dn} has no {attrs['key'][0]}; check GOVERN_LDAP_ATTRIBUTES")
        username = raw.text(attrs["username"]) or ""
        manager_dn = raw.text(attrs["manager"])
        changed = raw.text(attrs["changed_at"])
        signals = self._leaver_signals(raw, members)
        return DirectoryEntry(
            key=key, dn=raw.dn, username=username,
            display_name=raw.text(attrs["display_name"]) or username,
            email=raw.text(attrs["email"]), department=raw.text(attrs["department"]),
            manager_key=manager_key(manager_dn) if manager_dn else None,
            active=not signals, leaver_signals=signals,
            changed_at=parse_generalized_time(changed) if changed else None,
        )

    def _leaver_signals(self, raw: _Raw, members: set[str] | None) -> tuple[str, ...]:
        config, attrs, now = self.config, self.config.attributes, self._clock()
        signals = []
        if attrs["locked"] and raw.values(attrs["locked"]):
            signals.append("account_locked")
        if config.employment_status_attribute:
            statuses = {value.strip().lower() for value in raw.texts([config.employment_status_attribute])}
            if statuses & config.terminated_values:
                signals.append("employment_terminated")
        if config.end_date_attribute and (value := raw.text([config.end_date_attribute])):
            ends = parse_end_date(value)
            if ends is None and value.strip() not in ("0", "-1"):
                log.warning("unreadable end date", dn=raw.dn, attribute=config.end_date_attribute)
            if ends is not None and ends <= now:
                signals.append("end_date_passed")
        if members is not None and normal_dn(raw.dn) not in members:
            signals.append("left_entitlement_group")
        if attrs["account_control"] and (value := raw.text(attrs["account_control"])):
            if _int(value) & ACCOUNTDISABLE:
                signals.append("account_disabled")
        if attrs["account_expires"] and (value := raw.text(attrs["account_expires"])):
            expires = filetime(_int(value))
            if expires is not None and expires <= now:
                signals.append("account_expired")
        return tuple(signals)

    def _manager_lookup(self, connection: _Connection, known: Mapping[str, str]) -> Callable[[str], str | None]:
        """Manager DN -> key: from the same read first; otherwise one base read per distinct DN (cached)."""
        cache = dict(known)

        def lookup(dn: str) -> str | None:
            normal = normal_dn(dn)
            if normal not in cache:
                found = self._search(connection, dn, self._person_filter, [self.config.attributes["key"][0]],
                                     scope=ldap3.BASE, missing_ok=True) if _under(dn, self.config.base_dn) else []
                cache[normal] = _key_of(found[0], self.config.attributes["key"][0]) if found else None
            return cache[normal]

        return lookup

    # -- the Protocol --------------------------------------------------------------------------------------------

    def check(self) -> None:
        def probe(connection: _Connection) -> None:
            if not self._search(connection, self.config.base_dn, "(objectClass=*)", [], scope=ldap3.BASE, missing_ok=True):
                raise DirectoryUnavailable(f"the base DN {self.config.base_dn!r} does not exist or is not readable")
            try:
                self._group_members(connection)
            except DirectoryIncomplete as exc:
                raise DirectoryUnavailable(str(exc)) from None

        self._run(probe)

    def all_entries(self, page_size: int = MAX_PAGE_SIZE) -> Iterator[DirectoryEntry]:
        """Reads every page before yielding anything, so a failure never looks like a short, complete list."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")

        def read(connection: _Connection) -> list[DirectoryEntry]:
            members = self._group_members(connection)
            raws = self._people(connection, page_size)
            keys = {normal_dn(raw.dn): _key_of(raw, self.config.attributes["key"][0]) for raw in raws}
            # managers outside the read (another OU, not a person) have no key here, and get none
            return self._entries(raws, members, lambda dn: keys.get(normal_dn(dn)))

        return iter(self._run_alone(read))

    def authenticate(self, username: str, password: str) -> DirectoryEntry | None:
        """The person's entry if the directory accepts their password and they are not a leaver; else None."""
        if not username or not password or len(username) > 256 or "\x00" in username:
            return None  # an empty password would be an "unauthenticated bind", which succeeds

        def find(connection: _Connection) -> DirectoryEntry | None:
            search_filter = f"(&{self._person_filter}({self.config.attributes['username'][0]}={escape_filter_chars(username)}))"
            found = self._search(connection, self.config.base_dn, search_filter, self._attributes, size_limit=2)
            if len(found) != 1:
                if found:
                    log.warning("sign-in name matches several people", count=len(found))
                return None
            return self._entry(found[0], self._group_members(connection), self._manager_lookup(connection, {}))

        entry = self._run(find)
        if entry is None:
            return None
        try:
            self._close(self._open(entry.dn, password))
        except _BindRefused as exc:
            log.info("directory refused a sign-in", dn=entry.dn, code=exc.code)
            return None
        if not entry.active:
            log.info("sign-in by a leaver refused", dn=entry.dn, signals=list(entry.leaver_signals))
            return None
        return entry

    def groups_of(self, dn: str, group_dns: Iterable[str]) -> set[str]:
        """Which of these groups list the entry as a member: directly (OpenLDAP), or also through nested groups (AD)."""
        member = escape_filter_chars(dn)
        if self.config.flavor == "ad":  # LDAP_MATCHING_RULE_IN_CHAIN: AD expands nested groups itself
            search_filter = f"(member:1.2.840.113556.1.4.1941:={member})"
        else:  # the server compares DNs by distinguishedNameMatch, so spelling differences do not matter
            search_filter = f"(|(member={member})(uniqueMember={member}))"

        def read(connection: _Connection) -> set[str]:
            return {group for group in group_dns
                    if self._search(connection, group, search_filter, [], scope=ldap3.BASE, missing_ok=True)}

        return self._run(read)

    def changes_since(self, cursor: str | None) -> ChangeBatch:
        if self.config.flavor == "ad":
            return self._run(lambda connection: self._usn_changes(connection, cursor))
        return self._run(lambda connection: self._openldap_changes(connection, cursor))

    # -- OpenLDAP: accesslog, or modifyTimestamp when the log cannot be read -------------------------------------------

    def _openldap_changes(self, connection: _Connection, cursor: str | None) -> ChangeBatch:
        state = _decode_cursor(cursor)
        if state is not None and state.get("kind") not in ("accesslog", "modified"):
            raise DirectoryIncomplete(f"the stored directory cursor is for {state.get('kind')!r}, not OpenLDAP; run a full sync and reset it")
        log_base = self._accesslog_base(connection)
        if log_base is None:
            return self._modified_changes(connection, state)
        return self._accesslog_changes(connection, log_base, state)

    def _accesslog_base(self, connection: _Connection) -> _Raw | None:
        found = self._search(connection, "cn=accesslog", "(objectClass=*)", ["contextCSN"], scope=ldap3.BASE, missing_ok=True)
        return found[0] if found else None

    def _accesslog_changes(self, connection: _Connection, log_base: _Raw, state: dict | None) -> ChangeBatch:
        if state is None:
            # The mark: the second of the log's last write (contextCSN starts with its time; reqStart's fraction is a
            # per-second counter, not microseconds, so only whole seconds compare), and what the overlap already holds.
            csn = log_base.text(["contextCSN"])
            last = f"{csn[:14]}.000000Z" if csn and csn[:14].isdigit() else EPOCH_MARK
            records = self._log_records(connection, last)
            starts = [r.text(["reqStart"]) or "" for r in records] + [last]
            return ChangeBatch([], _accesslog_cursor(max(starts), starts))
        last, seen = state.get("last") or EPOCH_MARK, set(state.get("seen") or ())
        if state["kind"] == "modified":
            last = format_generalized_time(parse_generalized_time(last) or datetime(1970, 1, 1, tzinfo=UTC))
        records = self._log_records(connection, last)
        fresh = sorted((r for r in records if (r.text(["reqStart"]) or "") not in seen), key=lambda r: r.text(["reqStart"]) or "")
        starts = [r.text(["reqStart"]) or "" for r in records] + [last]
        new_last = max(starts)
        changes = self._log_to_changes(connection, fresh)
        return ChangeBatch(changes, _accesslog_cursor(new_last, starts))

    def _log_records(self, connection: _Connection, last: str) -> list[_Raw]:
        since = (parse_generalized_time(last) or datetime(1970, 1, 1, tzinfo=UTC)) - OVERLAP
        base = escape_filter_chars(self.config.base_dn)
        scope = f"(reqDN:dnSubtreeMatch:={base})(reqNewDN:dnSubtreeMatch:={base})"
        if self.config.group_dn:
            scope += f"(reqDN={escape_filter_chars(self.config.group_dn)})"
        search_filter = (f"(&(objectClass=auditWriteObject)(reqResult=0)"
                         f"(reqStart>={format_generalized_time(since)})(|{scope}))")
        attributes = ["reqStart", "reqType", "reqDN", "reqNewDN", "reqAuthzID", "reqEntryUUID", "reqMod", "objectClass"]
        return self._search(connection, "cn=accesslog", search_filter, attributes, scope=ldap3.LEVEL, page_size=MAX_PAGE_SIZE)

    def _log_to_changes(self, connection: _Connection, records: list[_Raw]) -> list[DirectoryChange]:
        """Each logged write becomes the entry as it is now (or None if it is gone or out of scope), one per key."""
        key_attribute = self.config.attributes["key"][0]
        by_key = key_attribute.lower() == "entryuuid"  # the log names entries by entryUUID; other keys go by DN
        touched: list[tuple[str | None, str | None, datetime | None, str | None]] = []  # (key, dn, when, who)
        everyone: tuple[datetime | None, str | None] | None = None
        group = normal_dn(self.config.group_dn) if self.config.group_dn else None
        for record in records:
            when = parse_generalized_time(record.text(["reqStart"]) or "")
            when = when.replace(microsecond=0) if when else None  # the fraction is a counter, not a time
            who = _author(record.text(["reqAuthzID"]))
            if group and normal_dn(record.text(["reqDN"]) or "") == group:
                member_dns = _membership_edits(record)
                if member_dns is None:
                    everyone = (when, who)
                touched.extend((None, dn, when, who) for dn in member_dns or ())
            elif by_key and (key := record.text(["reqEntryUUID"])):
                touched.append((key.lower(), None, when, who))
            else:
                touched.append((None, record.text(["reqNewDN"]) or record.text(["reqDN"]), when, who))
        keys = {key for key, _, _, _ in touched if key}
        current = self._reread(connection, keys, {dn for _, dn, _, _ in touched if dn})
        not_people = set(self._by_keys(connection, keys - current.keys(), people_only=False))
        by_dn = {normal_dn(raw.dn): key for key, raw in current.items()}
        members = self._group_members(connection)
        lookup = self._manager_lookup(connection, {})
        entries = {entry.key: entry for entry in self._entries(current.values(), members, lookup)}
        merged: dict[str, DirectoryChange] = {}
        for key, dn, when, who in touched:
            key = key or by_dn.get(normal_dn(dn or ""))
            # no key: a DN we can no longer see (a full sync settles it); not_people: an OU or a service account
            if key is not None and key not in not_people:
                _merge(merged, DirectoryChange(key, entries.get(key), when, who), self.service_account)
        if everyone is not None:
            for entry in self._entries(self._people(connection, MAX_PAGE_SIZE), members, lookup):
                _merge(merged, DirectoryChange(entry.key, entry, *everyone), self.service_account)
        return list(merged.values())

    def _by_keys(self, connection: _Connection, keys: set[str], people_only: bool) -> dict[str, _Raw]:
        """Entries in scope with these keys, in batched OR filters: people (all attributes) or anything (key only)."""
        key_attribute = self.config.attributes["key"][0]
        ordered, found = sorted(keys), {}
        for start in range(0, len(ordered), KEYS_PER_QUERY):
            either = "(|" + "".join(_key_filter(key_attribute, key) for key in ordered[start:start + KEYS_PER_QUERY]) + ")"
            raws = (self._people(connection, MAX_PAGE_SIZE, either) if people_only else
                    self._search(connection, self.config.base_dn, either, [key_attribute], page_size=MAX_PAGE_SIZE))
            found.update((_key_of(raw, key_attribute), raw) for raw in raws)
        return found

    def _reread(self, connection: _Connection, keys: set[str], dns: set[str]) -> dict[str, _Raw]:
        """People as they are now, by key and by DN; absent when deleted, moved out of scope or no person."""
        key_attribute = self.config.attributes["key"][0]
        found = self._by_keys(connection, keys, people_only=True)
        for dn in sorted(dns):
            if _under(dn, self.config.base_dn):
                for raw in self._search(connection, dn, self._person_filter, self._attributes, scope=ldap3.BASE, missing_ok=True):
                    found[_key_of(raw, key_attribute)] = raw
        return found

    def _modified_changes(self, connection: _Connection, state: dict | None) -> ChangeBatch:
        """Without a readable accesslog: people by modifyTimestamp. Deletes and moves out of scope are not seen
        this way; only a full reconciliation finds them."""
        log.debug("accesslog not readable; reading changes by modifyTimestamp")
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        last = parse_generalized_time(state["last"]) if state else None
        last = last or epoch
        seen = set(state.get("seen") or ()) if state and state["kind"] == "modified" else set()
        stamp = f"(modifyTimestamp>={(last - OVERLAP).strftime('%Y%m%d%H%M%SZ')})"
        attributes = sorted({*self._attributes, "modifyTimestamp", "modifiersName", "entryUUID", "entryCSN"})
        raws = self._search(connection, self.config.base_dn, f"(&{self._person_filter}{stamp})",
                            attributes if state else ["modifyTimestamp", "entryUUID", "entryCSN"], page_size=MAX_PAGE_SIZE)
        group = self._search(connection, self.config.group_dn, f"(&(objectClass=*){stamp})", attributes,
                             scope=ldap3.BASE, missing_ok=True) if self.config.group_dn else []
        stamped = [(raw, parse_generalized_time(raw.text(["modifyTimestamp"]) or "") or epoch) for raw in raws + group]
        new_last = max([last, *(moment for _, moment in stamped)])
        # modifyTimestamp has whole seconds; entryCSN tells two writes within one second apart
        marks = {f"{raw.text(['entryUUID']) or normal_dn(raw.dn)}@{raw.text(['entryCSN']) or format_generalized_time(moment)}": (raw, moment)
                 for raw, moment in stamped}
        cursor = json.dumps({"kind": "modified", "last": format_generalized_time(new_last),
                             "seen": sorted(mark for mark, (_, moment) in marks.items() if moment >= new_last - OVERLAP)})
        if state is None:
            return ChangeBatch([], cursor)
        members = self._group_members(connection)
        lookup = self._manager_lookup(connection, {})
        merged: dict[str, DirectoryChange] = {}
        for mark, (raw, moment) in sorted(marks.items(), key=lambda item: item[1][1]):
            if mark in seen:
                continue
            who = _author(raw.text(["modifiersName"]))
            if group and raw is group[0]:
                for entry in self._entries(self._people(connection, MAX_PAGE_SIZE), members, lookup):
                    _merge(merged, DirectoryChange(entry.key, entry, moment, who), self.service_account)
            else:
                entry = self._entry(raw, members, lookup)
                _merge(merged, DirectoryChange(entry.key, entry, moment, who), self.service_account)
        return ChangeBatch(list(merged.values()), cursor)

    # -- Active Directory: uSNChanged on one pinned domain controller ------------------------------------------------

    def _usn_changes(self, connection: _Connection, cursor: str | None) -> ChangeBatch:
        state = _decode_cursor(cursor)
        if state is None:
            usn, server = self._highest_usn(connection), connection.server.name
            return ChangeBatch([], json.dumps({"kind": "usn", "server": server, "usn": usn}))
        if state.get("kind") != "usn":
            raise DirectoryIncomplete("the stored directory cursor is not an AD uSNChanged cursor; run a full sync and reset it")
        pinned = next((s for s in self._servers if s.name == state.get("server")), None)
        if pinned is None:
            raise DirectoryIncomplete(f"the cursor's domain controller {state.get('server')!r} is no longer configured; "
                                      "run a full sync and reset the cursor")
        # USNs are per domain controller: only the one that issued the cursor can continue it.
        if connection.server.name != pinned.name:
            try:
                connection = self._open(self.config.bind_dn, self.config.bind_password.reveal(), server=pinned)
            except _BindRefused as exc:
                raise DirectoryUnavailable(f"{pinned.name} refused govern's service account: {exc}") from None
            except DirectoryUnavailable as exc:
                raise DirectoryUnavailable(f"the cursor's domain controller is down ({exc}); a full sync can reset the cursor") from None
            try:
                return self._usn_read(connection, pinned.name, int(state["usn"]))
            except _ConnectionLost as exc:
                raise DirectoryUnavailable(f"{pinned.name} broke off: {exc}") from None
            finally:
                self._close(connection)
        return self._usn_read(connection, pinned.name, int(state["usn"]))

    def _highest_usn(self, connection: _Connection) -> int:
        root = self._search(connection, "", "(objectClass=*)", ["highestCommittedUSN"], scope=ldap3.BASE)
        value = root[0].text(["highestCommittedUSN"]) if root else None
        if value is None:
            raise DirectoryUnavailable("the directory's root DSE has no highestCommittedUSN (is this Active Directory?)")
        return _int(value)

    def _usn_read(self, connection: _Connection, server: str, usn: int) -> ChangeBatch:
        highest = self._highest_usn(connection)  # before the search: what changes during it comes again next time
        root = self._search(connection, "", "(objectClass=*)", ["defaultNamingContext"], scope=ldap3.BASE)
        domain = (root[0].text(["defaultNamingContext"]) if root else None) or self.config.base_dn
        key_attribute = self.config.attributes["key"][0]
        # The whole domain, deleted objects included: a person moved out of scope or deleted must come back as None.
        changed = self._search(
            connection, domain, f"(&(objectClass=user)(!(objectClass=computer))(uSNChanged>={usn + 1}))",
            [key_attribute, "uSNChanged", "isDeleted", *self.config.attributes["changed_at"]],
            page_size=MAX_PAGE_SIZE, controls=[AD_SHOW_DELETED],
        )
        keys = {_key_of(raw, key_attribute) for raw in changed} - {None}
        current = self._reread(connection, keys, set())
        members = self._group_members(connection)
        lookup = self._manager_lookup(connection, {})
        entries = {entry.key: entry for entry in self._entries(current.values(), members, lookup)}
        merged: dict[str, DirectoryChange] = {}
        for raw in sorted(changed, key=lambda r: _int(r.text(["uSNChanged"]) or "0")):
            key = _key_of(raw, key_attribute)
            stamp = raw.text(self.config.attributes["changed_at"])
            _merge(merged, DirectoryChange(key, entries.get(key), parse_generalized_time(stamp) if stamp else None, None),
                   self.service_account)
        if self.config.group_dn:
            group = self._search(connection, self.config.group_dn, f"(uSNChanged>={usn + 1})", ["uSNChanged"],
                                 scope=ldap3.BASE, missing_ok=True)
            if group:  # someone joined or left the group; which of them, AD does not say here
                for entry in self._entries(self._people(connection, MAX_PAGE_SIZE), members, lookup):
                    _merge(merged, DirectoryChange(entry.key, entry, None, None), self.service_account)
        return ChangeBatch(list(merged.values()), json.dumps({"kind": "usn", "server": server, "usn": highest}))


def _int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        return 0


def _author(authz: str | None) -> str | None:
    if not authz:
        return None
    return normal_dn(authz[3:] if authz.lower().startswith("dn:") else authz)


def _membership_edits(record: _Raw) -> list[str] | None:
    """DNs added to or removed from the group by one logged write; None when the write does not say (replace, delete)."""
    if (record.text(["reqType"]) or "").lower() != "modify":
        return None
    dns = []
    for line in record.texts(["reqMod"]):
        attribute, _, rest = line.partition(":")
        if attribute.lower() not in ("member", "uniquemember"):
            continue
        op, value = rest[:1], rest[2:].strip()
        if op not in "+-" or not value:
            return None
        dns.append(value.split("#", 1)[0])
    return dns


def _merge(merged: dict[str, DirectoryChange], change: DirectoryChange, own_account: str) -> None:
    """One change per key, the entry as it is now; the author kept is the latest who is not govern itself."""
    before = merged.pop(change.key, None)
    if before is not None and change.changed_by == own_account and before.changed_by != own_account:
        change = DirectoryChange(change.key, change.entry, change.changed_at, before.changed_by)
    merged[change.key] = change


def _accesslog_cursor(last: str, starts: Iterable[str]) -> str:
    floor = format_generalized_time((parse_generalized_time(last) or datetime(1970, 1, 1, tzinfo=UTC)) - OVERLAP)
    return json.dumps({"kind": "accesslog", "last": last, "seen": sorted({s for s in starts if s and s >= floor and s != last} | {last})})


def _decode_cursor(cursor: str | None) -> dict | None:
    if cursor is None:
        return None
    try:
        state = json.loads(cursor)
    except json.JSONDecodeError:
        state = None
    if not isinstance(state, dict) or "kind" not in state:
        raise DirectoryIncomplete("the stored directory cursor is not one this adapter wrote; run a full sync and reset it")
    return state

