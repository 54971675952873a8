"""Console test clients signed in as a console user, without going through a sign-in page."""

from __future__ import annotations


def sign_in_as(app, client, user_id: int):
    """Sign `client` in as the console user `user_id`, as a sign-in would."""
    with client.session_transaction() as cookie:
        cookie["user_id"] = user_id
    return client


def signed_in_client(app, user_id: int):
    return sign_in_as(app, app.test_client(), user_id)
