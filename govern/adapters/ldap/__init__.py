"""The company directory over LDAP (OpenLDAP or Active Directory) with ldap3: people, leaver signals, changes, sign-in.

config.py validates the settings, connection.py binds and searches, entries.py turns entries into people,
openldap.py and active_directory.py read the two change feeds, directory.py is the Directory Protocol over them.
"""

from govern.adapters.ldap.config import LdapConfig
from govern.adapters.ldap.directory import LdapDirectory

__all__ = ["LdapConfig", "LdapDirectory"]
