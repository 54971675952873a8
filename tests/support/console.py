"""Console test clients signed in as a console user, without going through a sign-in page."""

from __future__ import annotations

import re
from urllib.parse import urlencode


def sign_in_as(app, client, user_id: int):
    """Sign `client` in as the console user `user_id`, as a sign-in would."""
    with client.session_transaction() as cookie:
        cookie["user_id"] = user_id
    return client


def signed_in_client(app, user_id: int):
    return sign_in_as(app, app.test_client(), user_id)


def csrf_token_of(page) -> str:
    """The CSRF token in a console page's form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def redeem_link(client, code: str, next_url: str | None = None, headers: dict[str, str] | None = None, **kwargs):
    """Open a one-time sign-in link and press its "Sign in" button, as a person would (opening alone spends nothing)."""
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    page = client.get(f"/login/{code}{query}", headers=headers, **kwargs)
    form = {"csrf_token": csrf_token_of(page)} if page.status_code == 200 else {}
    return client.post(f"/login/{code}{query}", data=form, headers=headers, **kwargs)
