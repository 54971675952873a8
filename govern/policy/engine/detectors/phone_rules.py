"""Phone number validity from phonenumbers' own metadata, compiled once per region: the hot path of PHONE_NUMBER.

`phonenumbers.parse` + `is_valid_number` cost about 30 µs a candidate. The same metadata, compiled into a length set
and one anchored pattern per number description, answers the plain shapes (+CC…, 00CC…, a national number with a
trunk prefix) in a few µs. Anything else (regions with prefix transform rules, an IDD or the country code written
in a national number) goes to phonenumbers itself; a test holds the two to the same answers.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

_TYPE_DESCS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
               "fixed_line", "mobile")
_NON_GEO = "001"


class NeedsFullParse(Exception):
    """The number has a shape the compiled rules do not cover: ask phonenumbers."""


@dataclass(frozen=True, slots=True)
class _Desc:
    lengths: frozenset[int]
    pattern: re.Pattern[str]

    def matches(self, nsn: str) -> bool:
        return (not self.lengths or len(nsn) in self.lengths) and self.pattern.fullmatch(nsn) is not None


@dataclass(frozen=True, slots=True)
class RegionRules:
    region: str
    country_code: str
    general: _Desc
    types: tuple[_Desc, ...]
    lengths: tuple[int, ...]  # the general description's possible lengths, sorted
    local_only_lengths: frozenset[int]
    national_prefix: re.Pattern[str] | None
    transforms_prefix: bool
    international_prefix: re.Pattern[str] | None
    leading_digits: re.Pattern[str] | None

    def type_known(self, nsn: str) -> bool:
        """phonenumbers' number type is not UNKNOWN: the general description and one type description match."""
        return self.general.matches(nsn) and any(desc.matches(nsn) for desc in self.types)

    def strip_national_prefix(self, nsn: str) -> str:
        """What phonenumbers.parse keeps of `nsn` after the trunk prefix ("0" in "050…")."""
        if self.national_prefix is None:
            return nsn
        match = self.national_prefix.match(nsn)
        if match is None:
            return nsn
        if self.transforms_prefix and match.groups() and match.groups()[-1] is not None:
            raise NeedsFullParse(nsn)
        stripped = nsn[match.end():]
        general = self.general.pattern
        if general.fullmatch(nsn) and not general.fullmatch(stripped):
            return nsn
        return stripped if self._long_enough(stripped) else nsn

    def _long_enough(self, nsn: str) -> bool:
        length = len(nsn)
        if not self.lengths or self.lengths[0] == -1 or length in self.local_only_lengths:
            return False
        return length >= self.lengths[0] and (length > self.lengths[-1] or length in self.lengths)


def _desc(desc, inherit: tuple[int, ...] = ()) -> _Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = frozenset(length for length in (desc.possible_length or inherit))
    return _Desc(lengths, re.compile(desc.national_number_pattern))


def _compile(metadata) -> RegionRules:
    general = _desc(metadata.general_desc)
    types = tuple(d for d in (_desc(getattr(metadata, name)) for name in _TYPE_DESCS) if d is not None)
    prefix = metadata.national_prefix_for_parsing
    idd = metadata.international_prefix
    return RegionRules(
        region=metadata.id, country_code=str(metadata.country_code),
        general=general or _Desc(frozenset(), re.compile("(?!)")), types=types,
        lengths=tuple(sorted(metadata.general_desc.possible_length or ())),
        local_only_lengths=frozenset(metadata.general_desc.possible_length_local_only or ()),
        national_prefix=re.compile(prefix) if prefix else None,
        transforms_prefix=bool(metadata.national_prefix_transform_rule),
        international_prefix=re.compile(idd) if idd else None,
        leading_digits=re.compile(metadata.leading_digits) if metadata.leading_digits else None,
    )


@functools.cache
def rules_for_region(region: str) -> RegionRules | None:
    metadata = PhoneMetadata.metadata_for_region(region)
    return _compile(metadata) if metadata is not None else None


@functools.cache
def _rules_for_calling_code(country_code: int) -> tuple[RegionRules, ...]:
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if regions == (_NON_GEO,):
        metadata = PhoneMetadata.metadata_for_nongeo_region(country_code)
        return (_compile(metadata),) if metadata is not None else ()
    return tuple(rules for rules in map(rules_for_region, regions) if rules is not None)


@dataclass(frozen=True, slots=True)
class ValidNumber:
    region: str | None  # ISO region, None for non-geographic numbers (+800, +882, …)
    e164: str


def _valid(country_code: int, nsn: str) -> ValidNumber | None:
    """is_valid_number for (country code, national significant number), region chosen as phonenumbers does."""
    candidates = _rules_for_calling_code(country_code)
    if not candidates or not 2 <= len(nsn) <= 17:
        return None
    chosen = candidates[0]
    if len(candidates) > 1:
        chosen = next((rules for rules in candidates
                       if (rules.leading_digits.match(nsn) if rules.leading_digits else rules.type_known(nsn))), None)
        if chosen is None:
            return None
    if not chosen.type_known(nsn):
        return None
    region = None if chosen.region == _NON_GEO else chosen.region
    return ValidNumber(region, f"+{country_code}{nsn}")


@functools.cache
def _home_rules(country_code: int) -> RegionRules | None:
    """The rules of the calling code's main region (the one phonenumbers strips a national prefix by), else None."""
    main = _rules_for_calling_code(country_code)
    if not main:
        return None
    return rules_for_region(phonenumbers.region_code_for_country_code(country_code)) or main[0]


def international(digits: str) -> ValidNumber | None:
    """A number written with + (or 00): `digits` after it, country code first."""
    if not digits or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            rest = digits[size:]
            if len(rest) <= 2:
                return None
            home = _home_rules(code)
            if home is None:
                return None
            return _valid(code, home.strip_national_prefix(rest))
    return None


def national(digits: str, region: str) -> ValidNumber | None:
    """A number written the way it is dialled inside `region`. Raises NeedsFullParse for the shapes left to phonenumbers."""
    rules = rules_for_region(region)
    if rules is None:
        raise NeedsFullParse(region)
    if digits.startswith(rules.country_code) or (rules.international_prefix and rules.international_prefix.match(digits)):
        raise NeedsFullParse(digits)
    return _valid(int(rules.country_code), rules.strip_national_prefix(digits))
