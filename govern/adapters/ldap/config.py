"""The directory's settings, validated: servers, bind, base DN, the flavour and its attribute mapping."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from govern.config import LDAP_ATTRIBUTE_ROLES, ConfigurationError, Settings
from govern.secret_value import SecretValue

Flavor = Literal["openldap", "ad"]

# Each role maps to attribute names tried in order; an empty value switches the role off.
DEFAULT_ATTRIBUTES: dict[str, dict[str, str]] = {
    "openldap": {
        "key": "entryUUID", "username": "uid", "display_name": "displayName,cn", "email": "mail",
        "department": "departmentNumber,ou", "manager": "manager", "changed_at": "modifyTimestamp",
        "locked": "pwdAccountLockedTime", "account_control": "", "account_expires": "",
    },
    "ad": {
        "key": "objectGUID", "username": "sAMAccountName", "display_name": "displayName,cn", "email": "mail",
        "department": "department", "manager": "manager", "changed_at": "whenChanged,modifyTimestamp",
        "locked": "", "account_control": "userAccountControl", "account_expires": "accountExpires",
    },
}
DEFAULT_USER_FILTER: dict[str, str] = {
    "openldap": "(objectClass=inetOrgPerson)",
    "ad": "(&(objectClass=user)(!(objectClass=computer)))",  # computers are users too in AD
}


@dataclass(frozen=True)
class LdapConfig:
    """Validated directory settings; `attributes` overrides the flavour's mapping (role -> "attr,fallback")."""

    urls: tuple[str, ...]
    bind_dn: str
    bind_password: SecretValue
    base_dn: str
    flavor: Flavor = "openldap"
    group_dn: str | None = None
    ca_file: str | None = None
    start_tls: bool = False
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    user_filter: str = ""
    employment_status_attribute: str | None = "employeeType"
    terminated_values: frozenset[str] = frozenset({"terminated"})
    end_date_attribute: str | None = None
    connect_timeout: float = 5.0
    receive_timeout: float = 30.0

    def __post_init__(self) -> None:
        merged = {**DEFAULT_ATTRIBUTES[self.flavor], **{k: ",".join(v) if not isinstance(v, str) else v for k, v in self.attributes.items()}}
        unknown = sorted(set(merged) - set(LDAP_ATTRIBUTE_ROLES))
        if unknown:
            raise ConfigurationError(f"GOVERN_LDAP_ATTRIBUTES: unknown keys {', '.join(unknown)}")
        resolved = {role: tuple(name.strip() for name in names.split(",") if name.strip()) for role, names in merged.items()}
        for role in ("key", "username"):
            if len(resolved[role]) != 1:
                raise ConfigurationError(f"GOVERN_LDAP_ATTRIBUTES: {role} needs exactly one attribute")
        object.__setattr__(self, "attributes", resolved)
        object.__setattr__(self, "user_filter", self.user_filter.strip() or DEFAULT_USER_FILTER[self.flavor])
        object.__setattr__(self, "terminated_values", frozenset(v.strip().lower() for v in self.terminated_values if v.strip()))
        if not self.urls:
            raise ConfigurationError("GOVERN_LDAP_URL is required for directory sync")
        if not (self.user_filter.startswith("(") and self.user_filter.endswith(")")):
            raise ConfigurationError("GOVERN_LDAP_USER_FILTER must be a parenthesised LDAP filter")
        if not self.base_dn or not self.bind_dn or not self.bind_password.reveal():
            raise ConfigurationError(
                "GOVERN_LDAP_BASE_DN, GOVERN_LDAP_BIND_DN and GOVERN_LDAP_BIND_PASSWORD (or _FILE) are required for directory sync"
            )
        for url in self.urls:
            parsed = urlparse(url)
            if parsed.scheme not in ("ldap", "ldaps") or not parsed.hostname:
                raise ConfigurationError(f"GOVERN_LDAP_URL: {url} is not an ldap:// or ldaps:// URL")
            if parsed.scheme == "ldap" and not self.start_tls and not _is_loopback(parsed.hostname):
                raise ConfigurationError(
                    f"GOVERN_LDAP_URL: {url} would send passwords in clear; use ldaps:// or GOVERN_LDAP_START_TLS=true"
                )
        if self.ca_file and not Path(self.ca_file).is_file():
            raise ConfigurationError(f"GOVERN_LDAP_CA_FILE: {self.ca_file} is not a readable file")

    @classmethod
    def from_settings(cls, settings: Settings) -> LdapConfig:
        password = settings.ldap_bind_password
        if not password and settings.ldap_bind_password_file:
            try:
                password = Path(settings.ldap_bind_password_file).read_text().rstrip("\r\n")
            except OSError as exc:
                raise ConfigurationError(f"GOVERN_LDAP_BIND_PASSWORD_FILE: cannot read it: {exc.strerror}") from None
        return cls(
            urls=tuple(url for url in settings.ldap_url.split(",") if url),
            bind_dn=settings.ldap_bind_dn,
            bind_password=SecretValue(password),
            base_dn=settings.ldap_base_dn,
            flavor=settings.ldap_flavor,
            group_dn=settings.ldap_group_dn or None,
            ca_file=settings.ldap_ca_file or None,
            start_tls=settings.ldap_start_tls,
            attributes=dict(settings.ldap_attributes),
            user_filter=settings.ldap_user_filter,
            employment_status_attribute=settings.ldap_employment_status_attribute or None,
            terminated_values=frozenset(settings.ldap_terminated_values),
            end_date_attribute=settings.ldap_end_date_attribute or None,
            connect_timeout=settings.ldap_connect_timeout_seconds,
            receive_timeout=settings.ldap_receive_timeout_seconds,
        )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
