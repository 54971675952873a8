"""The violations queue pages both ways, shows its total, and downloads as CSV with the text masked as shown."""

from __future__ import annotations

import csv
import html
import io
from datetime import timedelta

from govern.auth.roles import Role
from govern.db import utcnow
from govern.policy.engine.findings import Action
from govern.policy.workflow_models import ContentKind, PolicyViolation, ViolationStatus
from tests import factories
from tests.support.console import signed_in_with_role


def test_the_queue_pages_counts_and_exports(app, session, actor):
    account = factories.account(session, actor, handle="acme", network="facebook")
    start = utcnow()
    for n in range(55):
        session.add(PolicyViolation(account_id=account.id, content_kind=ContentKind.POST, external_id=f"post-{n}",
                                    decision=Action.BLOCK, findings=[{"rule": "privacy.card"}], pack_version="v1",
                                    masked_text=f"post {n} card ****", detected_at=start - timedelta(minutes=n),
                                    status=ViolationStatus.OPEN if n % 5 else ViolationStatus.RESOLVED))
    session.commit()
    client = signed_in_with_role(app, session, Role.GOVERNANCE)
    first = html.unescape(client.get("/policy/violations").get_data(as_text=True))
    assert "55 violations" in first and "post 0 card" in first and "post 50 card" not in first and 'rel="next"' in first
    next_url = first.split('rel="next" class="button" href="')[1].split('"')[0].replace("&amp;", "&")
    second = html.unescape(client.get(next_url).get_data(as_text=True))
    assert "post 54 card" in second and "post 49 card" not in second and 'rel="prev"' in second
    assert "44 violations" in html.unescape(client.get("/policy/violations?status=open").get_data(as_text=True))
    exported = client.get("/policy/violations/export.csv?status=resolved")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert exported.mimetype == "text/csv" and len(rows) == 1 + 11
    assert rows[1][1] == "acme" and rows[1][5] == "privacy.card" and rows[1][6] == "post 0 card ****"
    assert client.get("/policy/violations?cursor=forged").status_code == 400
