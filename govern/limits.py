"""The bounds of what govern accepts as input, in one place: database integers, JSON shape, dates."""

from __future__ import annotations

from datetime import datetime, timezone

DB_INT_MAX = 2**31 - 1  # PostgreSQL `integer`: every id and count column
DB_BIGINT_MAX = 2**63 - 1  # PostgreSQL `bigint`: audit sequence numbers
JSON_MAX_DEPTH = 64  # nesting of arrays and objects in a request body

# Any date-time govern reads from a person or a client lies in this range: outside it a date is a typo
# (0001-01-01, 9999-12-31), and arithmetic on it (time zones, "the whole last day") would overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)
