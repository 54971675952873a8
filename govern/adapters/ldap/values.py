"""LDAP values turned into Python ones: DNs in one spelling, generalizedTime, Windows FILETIME, HR end dates."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from ldap3.core.exceptions import LDAPException
from ldap3.utils.dn import parse_dn

FILETIME_NEVER = (0, 0x7FFFFFFFFFFFFFFF)
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def normal_dn(dn: str) -> str:
    """A DN in one spelling (lower case, no spaces around separators), to compare DNs the server wrote differently."""
    rdns = dn.split(",")
    if not any(special in dn for special in '\\"+;<>#') and all("=" in rdn for rdn in rdns):
        # the common case, without escapes or multi-valued RDNs: no need for ldap3's full DN parser
        return ",".join(f"{attr.strip().lower()}={value.strip().lower()}" for attr, value in (rdn.split("=", 1) for rdn in rdns))
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except LDAPException:
        return dn.strip().lower()
    return "".join(f"{attr.strip().lower()}={value.strip().lower()}{sep}" for attr, value, sep in parts)


def _under(dn: str, base: str) -> bool:
    dn, base = normal_dn(dn), normal_dn(base)
    return dn == base or dn.endswith("," + base)


def parse_generalized_time(value: str) -> datetime | None:
    """RFC 4517 generalizedTime (20250131120000Z, with .fraction or +hhmm) as an aware UTC datetime."""
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{2}(?:\d{2})?)", value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute or 0), int(second or 0), micro, tzinfo=UTC)
    except ValueError:
        return None
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5] or 0))
    return moment


def format_generalized_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S.%fZ")


def filetime(value: int) -> datetime | None:
    """A Windows FILETIME (100 ns since 1601); None for AD's two spellings of "never"."""
    if value in FILETIME_NEVER or value < 0:
        return None
    try:
        return FILETIME_EPOCH + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


def parse_end_date(value: str) -> datetime | None:
    """When an end date takes effect; None for never or unreadable. See docs/configuration.md for the formats."""
    value = value.strip()
    if re.fullmatch(r"-?\d+", value):
        number = int(value)
        if len(value.lstrip("-")) <= 6:  # shadowExpire style: days since 1970-01-01; 0 and negatives mean never
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=number) if number > 0 else None
        if len(value) == 8:  # YYYYMMDD: the whole day is still theirs
            try:
                return datetime.combine(date(int(value[:4]), int(value[4:6]), int(value[6:])), time(), UTC) + timedelta(days=1)
            except ValueError:
                return None
        return filetime(number)
    if moment := parse_generalized_time(value):
        return moment
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return datetime.combine(date.fromisoformat(value), time(), UTC) + timedelta(days=1)
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
