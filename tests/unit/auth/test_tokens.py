"""API tokens: a token linked to a leaver authenticates nobody; leavers and console-only roles get no token."""

from __future__ import annotations

import pytest

from govern.auth.roles import Role
from govern.auth.service import authenticate_token, create_api_client
from govern.errors import InvalidOperation
from govern.people.models import PersonStatus
from tests import factories


def test_a_token_of_a_person_who_left_authenticates_as_nobody(client, session, actor):
    person = factories.person(session, actor)
    _, token = create_api_client(session, actor, "bot-of-a-leaver", Role.IT, person.id)
    session.commit()
    headers = {"Authorization": f"Bearer {token.reveal()}"}
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200

    person.status = PersonStatus.LEAVER  # however they became a leaver: no departure has revoked the token here
    session.commit()
    response = client.get("/api/v1/accounts", headers=headers)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert authenticate_token(session, token.reveal()) is None


def test_no_token_is_minted_for_a_leaver(session, actor):
    person = factories.person(session, actor)
    person.status = PersonStatus.LEAVER
    with pytest.raises(InvalidOperation, match="has left"):
        create_api_client(session, actor, "for-a-leaver", Role.GOVERNANCE, person.id)


def test_no_token_is_minted_with_the_console_only_reviewer_role(session, actor):
    with pytest.raises(InvalidOperation, match="console-only"):
        create_api_client(session, actor, "reviewer-bot", Role.REVIEWER)


def test_a_reviewer_token_minted_before_the_refusal_authenticates_as_nobody(client, session, actor):
    from govern.auth.models import ApiClient
    from govern.auth.service import TOKEN_PREFIX, _digest

    token = TOKEN_PREFIX + "legacy-reviewer-token-" + "x" * 20
    session.add(ApiClient(name="legacy-reviewer", role=Role.REVIEWER, token_prefix=token[:10], token_hash=_digest(token),
                          created_by="test"))
    session.commit()
    assert client.get("/api/v1/reviews/items/mine", headers={"Authorization": f"Bearer {token}"}).status_code == 401
