"""OpenLDAP's change feed: the accesslog overlay (cn=accesslog), or modifyTimestamp where the log cannot be read."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import ldap3
import structlog
from ldap3.utils.conv import escape_filter_chars

from govern.adapters.directory import ChangeBatch, DirectoryChange, DirectoryIncomplete
from govern.adapters.ldap.changes import _decode_cursor, _merge
from govern.adapters.ldap.connection import _Connection, _Raw
from govern.adapters.ldap.entries import MAX_PAGE_SIZE, LdapEntries
from govern.adapters.ldap.values import format_generalized_time, normal_dn, parse_generalized_time

log = structlog.get_logger("govern.directory.ldap")

# Writes that started before the cursor may reach the log after it (ops run concurrently); look back this far.
OVERLAP = timedelta(seconds=10)
EPOCH_MARK = "19700101000000.000000Z"


class OpenLdapChangeFeed(LdapEntries):
    """Changes since a cursor on OpenLDAP: each logged write read back as the entry is now."""

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


def _accesslog_cursor(last: str, starts: Iterable[str]) -> str:
    floor = format_generalized_time((parse_generalized_time(last) or datetime(1970, 1, 1, tzinfo=UTC)) - OVERLAP)
    return json.dumps({"kind": "accesslog", "last": last, "seen": sorted({s for s in starts if s and s >= floor and s != last} | {last})})
