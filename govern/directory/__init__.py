"""Directory sync: people from OpenLDAP, Active Directory or SCIM, and the departures that end their access."""
