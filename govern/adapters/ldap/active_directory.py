"""Active Directory's change feed: uSNChanged on one pinned domain controller, deleted objects included."""

from __future__ import annotations

import json

import ldap3

from govern.adapters.directory import ChangeBatch, DirectoryChange, DirectoryIncomplete, DirectoryUnavailable
from govern.adapters.ldap.changes import _decode_cursor, _merge
from govern.adapters.ldap.connection import _BindRefused, _Connection, _ConnectionLost
from govern.adapters.ldap.entries import MAX_PAGE_SIZE, LdapEntries, _int, _key_of
from govern.adapters.ldap.values import parse_generalized_time

AD_SHOW_DELETED = ("1.2.840.113556.1.4.417", False, None)


class AdChangeFeed(LdapEntries):
    """Changes since a cursor on Active Directory; USNs are per domain controller, so the cursor names its own."""

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
