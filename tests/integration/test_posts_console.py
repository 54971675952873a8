"""The posts console in en/ar/he: compose for several accounts, the queue filtered by state and account, a post's
page with its steps, a rejection that asks for a reason, and the outside approver's page in the reader's language."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govern import app_services
from govern.auth.roles import Role
from govern.publishing.models import Post, PostState
from tests import factories
from tests.support.console import csrf_token_of, signed_in_with_role


@pytest.fixture
def accounts(session, actor):
    ids = [factories.account(session, actor, handle=f"brand_{n}").id for n in range(3)]
    session.commit()
    return ids


def _rule(session, actor):
    from govern.publishing.approvals import create_rule
    from govern.publishing.models import RuleScope

    create_rule(session, actor, "governance first", RuleScope.ALL, None, [{"mode": "any", "roles": ["admin"]}])
    session.commit()


def test_compose_queue_post_page_and_reject_with_a_reason(app, session, actor, accounts, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)  # two signed-in clients; the forms' tokens are not the point
    _rule(session, actor)
    author = signed_in_with_role(app, session, Role.IT)
    form = author.get("/posts/new")
    assert form.status_code == 200 and "brand_1" in form.get_data(as_text=True)
    token = csrf_token_of(form)
    empty = author.post("/posts/new", data={"csrf_token": token, "text": ""})
    assert empty.status_code == 422
    made = author.post("/posts/new", data={"csrf_token": token, "account_ids": [str(a) for a in accounts], "text": "Hello all",
                                           "variant_network": "x", "variant_text": "Hello X", "submit_now": "1"})
    assert made.status_code == 302, made.get_data(as_text=True)[:300]
    post = session.scalar(sa.select(Post).order_by(Post.id.desc()))
    session.refresh(post)
    assert post.state is PostState.AWAITING_APPROVAL and len(post.targets) == 3 and post.variants["x"]["text"] == "Hello X"
    queue = author.get(f"/posts?state=awaiting_approval&account_id={accounts[2]}").get_data(as_text=True)
    assert f"/posts/{post.id}" in queue
    assert f"/posts/{post.id}" not in author.get("/posts?state=published").get_data(as_text=True)
    admin = signed_in_with_role(app, session, Role.ADMIN)
    page = admin.get(f"/posts/{post.id}")
    assert page.status_code == 200 and "Hello X" in page.get_data(as_text=True)
    no_reason = admin.post(f"/posts/{post.id}/reject", data={"csrf_token": csrf_token_of(page), "reason": ""}, follow_redirects=True)
    assert "the person who wrote it reads this" in no_reason.get_data(as_text=True)
    own = author.post(f"/posts/{post.id}/approve", data={"csrf_token": token}, follow_redirects=True)
    assert "their own post" in own.get_data(as_text=True)
    rejected = admin.post(f"/posts/{post.id}/reject", data={"csrf_token": csrf_token_of(page), "reason": "Not today"})
    assert rejected.status_code == 302
    session.refresh(post)
    assert post.state is PostState.DRAFT and post.rejection_reason == "Not today"


@pytest.mark.parametrize("locale, expected", [("ar", "طُلب منك الموافقة"), ("he", "התבקשת לאשר")])
def test_the_outside_approver_page_speaks_the_readers_language(app, session, actor, accounts, locale, expected):
    from govern.publishing import external_approvals, posts
    from govern.publishing.approvals import create_rule
    from govern.publishing.models import RuleScope

    create_rule(session, actor, "legal", RuleScope.ALL, None, [{"mode": "any", "externals": ["legal@firm.example"]}])
    post = posts.create_post(session, actor, None, accounts[:1], "Needs legal")
    posts.submit_post(session, app_services.publisher(app), actor, post.id)
    _link, token = external_approvals.create_link(session, actor, app.secret_key, post.id, "Noa", "legal@firm.example")
    session.commit()
    client = app.test_client()
    page = client.get(f"/external-approvals/{token.reveal()}", headers={"Accept-Language": locale})
    assert page.status_code == 200 and expected in page.get_data(as_text=True) and "Needs legal" in page.get_data(as_text=True)
    assert client.get("/external-approvals/not-a-token", headers={"Accept-Language": locale}).status_code == 404

