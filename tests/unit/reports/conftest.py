"""Seeding helpers for the report tests: exact data through the domain services, plus rows the services only make
after calls to the networks or the secret store (violations, checkouts, hand-offs), written as those services would."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from govern import app_services
from govern.db import utcnow
from govern.reports.document import Period

ARABIC_NAME = "ليلى حداد"
HEBREW_NAME = "דנה לוי"


@pytest.fixture
def now() -> datetime:
    return utcnow().replace(microsecond=0)


@pytest.fixture
def period(now) -> Period:
    """The last 30 days and the next hour: covers everything a test seeds 'now'."""
    return Period(now - timedelta(days=30), now + timedelta(hours=1))


@pytest.fixture
def settings(app):
    return app_services.settings(app)
