"""The demo network served by govern itself on a live loopback port: the broker connects an account through its consent
page and the public callback, refreshes, publishes (a post held, one blocked), a scan finds what was posted around
govern, and neither its client secret nor any token reaches the database, the audit trail or the logs."""

from __future__ import annotations

import functools
import logging
import re
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select, text
from werkzeug.serving import make_server

from govern import app_services
from govern.accounts.models import SocialAccount
from govern.actor import Actor
from govern.broker.models import AccountConnection, ConnectionHealth
from govern.broker.service import refresh_connection, register_network_app, start_connect
from govern.demo import flows
from govern.demo import network as demo_network
import govern.models  # noqa: F401 - every table in the metadata
from govern.db import Base
from govern.extensions import db
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from govern.people.models import PersonSource
from govern.people.service import upsert_person
from govern.policy.workflow_models import PolicyViolation
from govern.publishing.models import ApprovalStatus, PublishApproval
from govern.publishing.scans import ScanReport, scan_account
from govern.publishing.service import PolicyBlocked, Publisher, PublishStatus, act
from tests.support.loopback import QuietRequestHandler
from tests.support.standin import free_port

ADMIN = Actor("console_user:1", "admin@example.com", "demo-net-0001", "127.0.0.1")


@pytest.fixture
def served(make_committed_app):
    """The app in demo mode, listening on the port its base URL names (so the broker's calls reach its own network)."""
    port = free_port()
    app = make_committed_app(demo_network=True, base_url=f"http://127.0.0.1:{port}", secure_cookies=False)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=functools.partial(server.serve_forever, poll_interval=0.05), daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def set_up(app) -> tuple[int, int]:
    """The demo network registered (as an admin would, with the values on its page), an account and its publisher."""
    with app.app_context():
        session = db.session
        flows.ensure_demo_network(session, ADMIN, app_services.settings().base_url)
        network = app.extensions[demo_network.EXTENSION]
        register_network_app(session, app_services.broker(), ADMIN, demo_network.NETWORK_KEY, demo_network.CLIENT_ID,
                             network.client_secret, network.endpoints(), list(demo_network.SCOPES))
        person = upsert_person(session, ADMIN, PersonSource.DEMO, "p-1", username="dana", email="dana@acme.example",
                               display_name="Dana Levi", department="Social Media")
        from govern.accounts.service import create_account

        account = create_account(session, ADMIN, demo_network.NETWORK_KEY, handle="acme_demo", display_name="Acme (demo)",
                                 business_unit="Social Media", owner_id=person.id)
        create_grant(session, ADMIN, person.id, account.id, GrantRole.PUBLISHER, "Publishes on the demo network")
        session.commit()
        return account.id, person.id


def connect_through_the_consent_page(app, root: str, account_id: int) -> requests.Response:
    with app.app_context():
        url = start_connect(db.session, app_services.broker(), ADMIN, demo_network.NETWORK_KEY, account_id=account_id)
        db.session.commit()
    browser = requests.Session()
    consent = browser.get(url, timeout=10)
    assert consent.status_code == 200 and "acme_demo" in consent.text
    form = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    form["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', consent.text).group(1)
    allowed = browser.post(f"{root}/demo-network/oauth/authorize", data={**form, "identity": "demo-1001", "decision": "allow"},
                           allow_redirects=False, timeout=10)
    assert allowed.status_code == 303 and allowed.headers["Location"].startswith(f"{root}/oauth/callback?")
    return browser.get(allowed.headers["Location"], allow_redirects=False, timeout=10)


def every_row_as_text(session) -> str:
    rows = []
    for table in Base.metadata.sorted_tables:
        rows.extend(str(tuple(row)) for row in session.execute(text(f'SELECT * FROM "{table.name}"')))
    return "\n".join(rows)


def test_connect_refresh_publish_and_scan_through_the_broker(served, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    app, root = served
    account_id, person_id = set_up(app)

    callback = connect_through_the_consent_page(app, root, account_id)
    assert callback.status_code == 302 and callback.headers["Location"] == f"/accounts/{account_id}?connected=1"

    network = app.extensions[demo_network.EXTENSION]
    with app.app_context():
        session, context = db.session, app_services.broker()
        connection = session.scalar(select(AccountConnection).where(AccountConnection.account_id == account_id))
        assert connection.health == ConnectionHealth.HEALTHY and connection.external_identity == "demo-1001"
        assert session.get(SocialAccount, account_id).external_id == "demo-1001"
        first = context.store.read(connection.store_path).data

        refresh_connection(session, context, ADMIN, account_id, force=True)
        session.commit()
        assert network.stats["refresh_requests"] == 1
        tokens = context.store.read(connection.store_path).data
        assert tokens["access_token"].reveal() != first["access_token"].reveal()
        assert tokens["refresh_token"].reveal() != first["refresh_token"].reveal()  # it rotates

        publisher = Publisher(context, app_services.policy())
        done = act(session, publisher, ADMIN, person_id, account_id, "publish", {"text": "Our Riyadh office opens on Sunday"})
        assert done.status is PublishStatus.DONE and done.result["id"].startswith("post-")
        held = act(session, publisher, ADMIN, person_id, account_id, "publish", {"text": "Guaranteed returns on every plan"})
        assert held.status is PublishStatus.AWAITING_APPROVAL
        with pytest.raises(PolicyBlocked):
            act(session, publisher, ADMIN, person_id, account_id, "publish", {"text": "card 4111 1111 1111 1111 refunded"})
        session.commit()
        texts = [post["text"] for post in network.recent_posts("demo-1001")]
        assert "Our Riyadh office opens on Sunday" in texts
        assert not any("Guaranteed" in t or "refunded" in t for t in texts)
        assert session.scalar(select(PublishApproval.status)) == ApprovalStatus.PENDING

        network.add_post("demo-1001", "Call me on my card 5555 5555 5555 4444 for the refund")  # posted around govern
        report = ScanReport()
        scan_account(session, publisher, Actor.system("policy-scan"), account_id, report)
        session.commit()
        assert report.violations >= 2  # the post above and the seeded card post; the IBAN comment is hidden
        assert report.hidden == 1
        assert len(session.scalars(select(PolicyViolation)).all()) == report.violations

        secrets = [network.client_secret.reveal(), *(v.reveal() for v in first.values()), *(v.reveal() for v in tokens.values())]
        stored = every_row_as_text(session)
    logged = "\n".join(record.getMessage() for record in caplog.records) + "\n".join(capfd.readouterr())
    for secret in secrets:
        assert secret not in stored, "a secret reached the database"
        assert secret not in logged, "a secret reached the logs"
        assert secret not in callback.text
