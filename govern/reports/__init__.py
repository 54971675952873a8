"""Compliance reports: pure builders over the other domains' tables, and CSV / JSON / PDF renderers."""
