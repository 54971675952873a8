"""The bounds of what govern accepts as input, in one place: database integers, JSON shape, dates."""

from __future__ import annotations

DB_INT_MAX = 2**31 - 1  # PostgreSQL `integer`: every id and count column
DB_BIGINT_MAX = 2**63 - 1  # PostgreSQL `bigint`: audit sequence numbers
JSON_MAX_DEPTH = 64  # nesting of arrays and objects in a request body

# Any date or date-time govern reads from a person or a client is written in these years: outside them
# it is a typo (0001-01-01, 9999-12-31), and arithmetic on it (a time-zone shift, "the whole last day")
# would overflow Python's datetime. The OpenAPI document states the same bound as a pattern.
EARLIEST_YEAR = 1970
LATEST_YEAR = 2199
YEAR_PATTERN = r"^(19[7-9][0-9]|2[01][0-9][0-9])-"
YEARS_TEXT = f"in the years {EARLIEST_YEAR} to {LATEST_YEAR}"
