"""Directory entries as people: the person filter, the entitlement group, leaver signals, managers, reads by key."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from uuid import UUID

import ldap3
import structlog
from ldap3.utils.conv import escape_bytes, escape_filter_chars

from govern.adapters.directory import DirectoryEntry, DirectoryIncomplete
from govern.adapters.ldap.config import LdapConfig
from govern.adapters.ldap.connection import LdapConnections, _Connection, _Raw
from govern.adapters.ldap.values import _under, filetime, normal_dn, parse_end_date, parse_generalized_time

log = structlog.get_logger("govern.directory.ldap")

ACCOUNTDISABLE = 0x2
MAX_PAGE_SIZE = 1000
KEYS_PER_QUERY = 50


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


def _int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        return 0


class LdapEntries(LdapConnections):
    """Reads people: every attribute the mapping names, under the configured person filter."""

    def __init__(self, config: LdapConfig, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(config)
        self._clock = clock or (lambda: datetime.now(UTC))
        attrs = config.attributes
        self._person_filter = f"(&{config.user_filter}({attrs['username'][0]}=*))"
        wanted = {name for names in attrs.values() for name in names}
        wanted |= {a for a in (config.employment_status_attribute, config.end_date_attribute) if a}
        self._attributes = sorted(wanted)

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
