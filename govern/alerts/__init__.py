"""Spike and keyword alerts: inbound volume per account and hour, crisis keywords, alerts to the account owner."""
