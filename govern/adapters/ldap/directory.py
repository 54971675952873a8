"""The Directory Protocol over LDAP: check, read everyone, sign in, group membership, changes since a cursor."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

import ldap3
import structlog
from ldap3.utils.conv import escape_filter_chars

from govern.adapters.directory import ChangeBatch, DirectoryEntry, DirectoryIncomplete, DirectoryUnavailable
from govern.adapters.ldap.active_directory import AdChangeFeed
from govern.adapters.ldap.config import LdapConfig
from govern.adapters.ldap.connection import _BindRefused, _Connection
from govern.adapters.ldap.entries import MAX_PAGE_SIZE, _key_of
from govern.adapters.ldap.openldap import OpenLdapChangeFeed
from govern.adapters.ldap.values import normal_dn

log = structlog.get_logger("govern.directory.ldap")


class LdapDirectory(OpenLdapChangeFeed, AdChangeFeed):
    """The Directory Protocol over ldap3: one bound service connection (SAFE_SYNC), reconnecting on failure."""

    def __init__(self, config: LdapConfig, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(config, clock)
        self.source = config.flavor

    def __repr__(self) -> str:
        return f"LdapDirectory({self.config.flavor}, {', '.join(self.config.urls)}, base={self.config.base_dn!r})"

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

    def change_mark(self) -> str | None:
        """OpenLDAP: the accesslog's contextCSN (syncprov on cn=accesslog keeps it at the log's last write); None
        without a readable accesslog or contextCSN, and for Active Directory, which is not watched (docs/directory.md)."""
        if self.config.flavor == "ad":
            return None

        def read(connection: _Connection) -> str | None:
            log_base = self._accesslog_base(connection)
            if log_base is None:
                return None
            return ";".join(sorted(log_base.texts(["contextCSN"]))) or None

        return self._run(read)

    def changes_since(self, cursor: str | None) -> ChangeBatch:
        if self.config.flavor == "ad":
            return self._run(lambda connection: self._usn_changes(connection, cursor))
        return self._run(lambda connection: self._openldap_changes(connection, cursor))
