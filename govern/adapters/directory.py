"""The company directory behind a Protocol: what a sync reads is plain dataclasses, never ldap3 objects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class DirectoryError(RuntimeError):
    """Base of directory failures; a sync that meets one revokes nobody."""


class DirectoryUnavailable(DirectoryError):
    """The directory did not answer, refused the bind, or broke off mid-search."""


class DirectoryIncomplete(DirectoryError):
    """The directory answered with a truncated result (size or time limit, a missing page)."""


@dataclass(frozen=True)
class DirectoryEntry:
    """One person as the directory describes them, keyed by an immutable id (entryUUID / objectGUID), never by DN."""

    key: str
    dn: str
    username: str
    display_name: str
    email: str | None = None
    department: str | None = None
    manager_key: str | None = None
    active: bool = True
    leaver_signals: tuple[str, ...] = ()  # why the directory says they left, e.g. ("account_disabled",)
    changed_at: datetime | None = None  # when the directory last changed the entry, where it says


@dataclass(frozen=True)
class DirectoryChange:
    """An incremental change: an entry as it is now, or the key of an entry that was deleted."""

    key: str
    entry: DirectoryEntry | None  # None: deleted or moved out of scope
    changed_at: datetime | None = None
    changed_by: str | None = None  # the directory account that made the change (to ignore govern's own)


@dataclass
class ChangeBatch:
    changes: list[DirectoryChange] = field(default_factory=list)
    cursor: str | None = None  # opaque high-water mark to store with the changes it produced


class Directory(Protocol):
    source: str  # "openldap" or "ad"
    service_account: str | None  # govern's own bind identity: its writes are not changes to sync

    def check(self) -> None:
        """Bind and read the base; raise DirectoryUnavailable with a readable reason."""
        ...

    def all_entries(self, page_size: int = 500) -> Iterator[DirectoryEntry]:
        """Every person in scope, by paged search; raise DirectoryIncomplete if the result is truncated."""
        ...

    def changes_since(self, cursor: str | None) -> ChangeBatch:
        """Changes after the cursor (accesslog / DirSync / uSNChanged); cursor None returns the current mark."""
        ...

    def change_mark(self) -> str | None:
        """A cheap token that differs whenever the directory has logged a write since it was last read (one small
        read, meant to be polled every second); None when this directory offers none (the schedule alone syncs it)."""
        ...

    def authenticate(self, username: str, password: str) -> DirectoryEntry | None:
        """Bind as the person (escaped filter, TLS as configured); their entry, or None if refused."""
        ...
