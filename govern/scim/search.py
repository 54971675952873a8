"""The root /.search's filter (RFC 7644 3.4.3): one filter over Users and Groups at once.

Each comparison must be one that Users or Groups can read, else the filter is the client's error (400
invalidFilter); on the type that lacks the attribute it reads as unassigned (govern.scim.query_terms.tolerant), so
`userName eq "a" or members pr` finds that user and every group with members.
"""

from __future__ import annotations

from govern.scim import filters, group_query, user_query
from govern.scim.errors import InvalidFilter
from govern.scim.query_terms import comparisons


def parse_search_filter(text: str | None) -> filters.Node | None:
    if text is None or not text.strip():
        return None
    node = filters.parse(text)
    for comparison in comparisons(node):
        try:
            user_query.user_condition(comparison, "postgresql")
        except InvalidFilter as for_users:
            try:
                group_query.group_condition(comparison)
            except InvalidFilter:
                raise InvalidFilter(f"neither Users nor Groups can be filtered so: {for_users}") from None
    return node
