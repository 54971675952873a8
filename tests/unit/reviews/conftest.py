"""A small organisation for access reviews: owners, a leaver, managers, accounts in two business units and grants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from govern.auth.roles import Role
from govern.actor import Actor
from govern.auth.service import create_api_client, ensure_console_user
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from govern.people.models import PersonStatus
from govern.reviews import service
from govern.reviews.models import ReviewItem, ScopeKind
from tests import factories
from tests.support.console import signed_in_client

SETTINGS = service.ReviewSettings()


def later(**delta) -> datetime:
    return datetime.now(timezone.utc) + timedelta(**delta)


@dataclass
class World:
    people: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)
    grants: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def world(session, actor) -> World:
    """ceo <- manager <- owner (owns news) and <- gone (owned brand, has left); dana and noa hold access.

    grants: dana/news, noa/news, owner/news (their own), dana/brand, noa/orphan (an account nobody owns),
    plus on news one expired and one revoked grant that no campaign may pick up.
    """
    w = World()
    ceo = factories.person(session, actor, display_name="Eleanor Whitfield")
    manager = factories.person(session, actor, display_name="ليلى حداد", manager_id=ceo.id)
    owner = factories.person(session, actor, display_name="נועה כהן", manager_id=manager.id)
    gone = factories.person(session, actor, display_name="Gone Owner", manager_id=manager.id)
    dana = factories.person(session, actor, display_name="Dana Levi", manager_id=owner.id)
    noa = factories.person(session, actor, display_name="Noa Bar", manager_id=owner.id)
    old = factories.person(session, actor, display_name="Old Timer")
    w.people = {"ceo": ceo.id, "manager": manager.id, "owner": owner.id, "gone": gone.id, "dana": dana.id, "noa": noa.id,
                "old": old.id}
    news = factories.account(session, actor, handle="acme_news", network="x", business_unit="News", owner_id=owner.id)
    brand = factories.account(session, actor, handle="acme_brand", network="instagram", business_unit="Brand", owner_id=gone.id)
    orphan = factories.account(session, actor, handle="acme_orphan", network="x", business_unit="News")
    w.accounts = {"news": news.id, "brand": brand.id, "orphan": orphan.id}
    grant = lambda person, account, role: create_grant(session, actor, w.people[person], w.accounts[account], role, "work").id  # noqa: E731
    w.grants = {
        "dana_news": grant("dana", "news", GrantRole.PUBLISHER),
        "noa_news": grant("noa", "news", GrantRole.ANALYST),
        "owner_news": grant("owner", "news", GrantRole.ADMIN),
        "dana_brand": grant("dana", "brand", GrantRole.ANALYST),
        "noa_orphan": grant("noa", "orphan", GrantRole.MODERATOR),
    }
    revoked = create_grant(session, actor, old.id, news.id, GrantRole.MODERATOR, "old")
    from govern.grants.service import revoke_grant

    revoke_grant(session, actor, revoked.id, "no longer needed")
    expired = create_grant(session, actor, old.id, news.id, GrantRole.ANALYST, "old campaign", expires_at=later(days=1))
    expired.starts_at, expired.expires_at = later(days=-30), later(days=-1)
    w.grants["revoked"], w.grants["expired"] = revoked.id, expired.id
    gone.status = PersonStatus.LEAVER
    session.flush()
    session.commit()
    return w


@pytest.fixture
def open_campaign(session, actor, world):
    def make(scope_kind=ScopeKind.ALL, scope_value=None, config=SETTINGS, **fields):
        campaign = service.open_campaign(session, actor, config, name=fields.pop("name", "Q4 review"), scope_kind=scope_kind,
                                         scope_value=scope_value, deadline=fields.pop("deadline", later(days=14)), **fields)
        session.commit()
        return campaign

    return make


def item_for(session, campaign, grant_id) -> ReviewItem:
    return session.scalar(select(ReviewItem).where(ReviewItem.campaign_id == campaign.id, ReviewItem.grant_id == grant_id))


@pytest.fixture
def governance_person(session, actor):
    """A governance console user linked to a person: who is told about escalations and held campaigns."""
    person = factories.person(session, actor, display_name="Gov Ernance")
    ensure_console_user(session, actor, f"gov-{person.id}@reviews.test", "Gov", Role.GOVERNANCE, person_id=person.id)
    session.commit()
    return person


@pytest.fixture
def token_for(session):
    """A bearer token for a role, optionally linked to a person (an owner answering through the API)."""
    def mint(role: Role, person_id: int | None = None) -> dict[str, str]:
        _, token = create_api_client(session, Actor.system("tests"), f"{role.value}-{person_id}-{uuid.uuid4().hex[:8]}", role, person_id)
        session.commit()
        return {"Authorization": f"Bearer {token.reveal()}"}

    return mint


@pytest.fixture
def console(app, session):
    """A console client signed in as a new console user of a role (optionally linked to a person)."""
    def sign_in(role: Role, person_id: int | None = None):
        user = ensure_console_user(session, Actor.system("tests"), f"{role.value}-{uuid.uuid4().hex[:8]}@console.test",
                                   f"{role.value} tester", role, person_id=person_id)
        session.commit()
        return signed_in_client(app, user.id)

    return sign_in
