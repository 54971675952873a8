"""Choose the directory from settings: LDAP (OpenLDAP or Active Directory) when GOVERN_LDAP_URL is set."""

from __future__ import annotations

from govern.adapters.directory import Directory
from govern.config import Settings


def build_directory(settings: Settings) -> Directory | None:
    if not settings.ldap_url:
        return None
    from govern.adapters.ldap import LdapConfig, LdapDirectory

    return LdapDirectory(LdapConfig.from_settings(settings))
