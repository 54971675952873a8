"""Scoped exceptions learned from false positives, as data the engine honours: digests of values, never the values.

An exception says one of three things about one rule: this value is fine everywhere, this value is fine on this
account, or this rule does not apply to this account. A value is kept as a keyed digest (HMAC-SHA256) of its
canonical form, so a secret or a phone number marked "not a problem" is not written down in clear anywhere.
Pure: no database, no Flask; the service loads the active exceptions and hands them to engine.evaluate().
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

from govern.policy.engine.findings import Finding

EXACT_ENTITIES = frozenset({"SECRET"})  # a token is its exact characters; case or punctuation make another token


class ExceptionScope(str, enum.Enum):
    VALUE = "value"  # this value, for this rule, on every account
    VALUE_ON_ACCOUNT = "value_account"  # this value, for this rule, on this account
    RULE_ON_ACCOUNT = "rule_account"  # this rule, for anything, on this account

    @property
    def needs_value(self) -> bool:
        return self is not ExceptionScope.RULE_ON_ACCOUNT

    @property
    def needs_account(self) -> bool:
        return self is not ExceptionScope.VALUE


def canonical_value(entity: str, matched: str) -> str:
    """The form two writings of one value share: case, spacing, punctuation and digit system do not count
    ("+972 50-154-0846" and "٩٧٢٥٠١٥٤٠٨٤٦" are one value); a secret is its exact characters."""
    if entity in EXACT_ENTITIES:
        return matched.strip()
    kept = []
    for char in unicodedata.normalize("NFKC", matched).casefold():
        if char.isdigit():
            kept.append(str(unicodedata.digit(char, 0)))
        elif char.isalnum():
            kept.append(char)
    return "".join(kept)


def value_digest(key: bytes, entity: str, matched: str) -> str:
    """HMAC-SHA256 of the entity and the canonical value, hex: what an exception and a violation's finding keep."""
    message = f"{entity}\x1f{canonical_value(entity, matched)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ExceptionSet:
    """The active exceptions that can apply to one evaluation, and the key their value digests were made with."""

    key: bytes = b""
    values: frozenset[tuple[str, str]] = frozenset()  # (rule, digest): everywhere
    account_values: frozenset[tuple[str, str, str]] = frozenset()  # (rule, account id, digest)
    account_rules: frozenset[tuple[str, str]] = frozenset()  # (rule, account id)

    def __bool__(self) -> bool:
        return bool(self.values or self.account_values or self.account_rules)

    @classmethod
    def of(cls, key: bytes, rows: list[tuple[ExceptionScope, str, str | None, str | None]]) -> ExceptionSet:
        """From (scope, rule, account id, digest) rows; a row missing what its scope needs is ignored."""
        values, account_values, account_rules = set(), set(), set()
        for scope, rule, account, digest in rows:
            if scope is ExceptionScope.VALUE and digest:
                values.add((rule, digest))
            elif scope is ExceptionScope.VALUE_ON_ACCOUNT and digest and account:
                account_values.add((rule, account, digest))
            elif scope is ExceptionScope.RULE_ON_ACCOUNT and account:
                account_rules.add((rule, account))
        return cls(key, frozenset(values), frozenset(account_values), frozenset(account_rules))

    def excuses(self, finding: Finding, text: str, account_id: str | None) -> bool:
        """Whether an exception lifts `finding` (offsets into `text`) for the account posting it."""
        if account_id and (finding.rule, account_id) in self.account_rules:
            return True
        if finding.media_index is not None or not (self.values or self.account_values):
            return False
        digest = value_digest(self.key, finding.entity, text[finding.start:finding.end])
        return (finding.rule, digest) in self.values or (
            bool(account_id) and (finding.rule, account_id, digest) in self.account_values)
