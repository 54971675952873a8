"""The OAuth callback the networks redirect browsers to; its single-use state is its authorization."""

from __future__ import annotations

from flask import Blueprint, redirect, request

from govern.broker import service
from govern.broker.api import broker
from govern.errors import InvalidOperation
from govern.extensions import db
from govern.web.authz import public
from govern.web.request_cycle import current_actor

bp = Blueprint("oauth", __name__)


@bp.get("/oauth/callback")
@public
def oauth_callback():
    if request.args.get("error"):
        raise InvalidOperation(f"the network refused the connection ({request.args.get('error')[:100]})")
    state, code = request.args.get("state", ""), request.args.get("code", "")
    if not state or not code:
        raise InvalidOperation("the network's answer has no state or code")
    account = service.complete_connect(db.session, broker(), current_actor(), state, code)
    return redirect(f"/accounts/{account.id}?connected=1")
