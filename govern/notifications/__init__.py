"""Notifications: what govern has to tell a person (an account they own needs reconnecting, an alert)."""
