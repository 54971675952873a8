"""SCIM 2.0 provisioning: Okta and Entra ID push people to govern, and their leavers depart here."""
