"""The demo social network: an OAuth 2.0 authorization server and a tiny posts API, served in-process in demo mode only.

It plays a social network on `make run` so that every flow can be tried without the internet: an admin registers
govern's app with it (its client id and secret are on its own page), connects an account through its consent page,
publishes, and a policy scan reads what it holds. create_app registers it only when GOVERN_DEMO_NETWORK is on, which
the settings refuse unless govern runs on a loopback base URL (docs/decisions/0063).

Nothing it issues is stored: codes and tokens are signed with a key derived from the app's secret key, so they hold in
every worker and across restarts; what it must remember (spent codes, rotated refresh tokens, revocations, posts and
comments) lives in this process's memory only. Its client secret is derived the same way and never written anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer

from govern import app_services
from govern.auth.roles import Permission
from govern.secret_value import SecretValue
from govern.web.authz import probe, public, requires

PREFIX = "/demo-network"
NETWORK_KEY = "demo"
NETWORK_NAME = "Demo network"
CLIENT_ID = "govern-demo"
SCOPES = ("openid", "publish", "read")
CODE_TTL = 600
ACCESS_TTL = 3600
REFRESH_TTL = 30 * 24 * 3600
RECENT_POSTS = 25
EXTENSION = "govern.demo_network"


@dataclass(frozen=True)
class DemoIdentity:
    """An account on the demo network that a person may sign in as on its consent page."""

    external_id: str
    handle: str
    name: str


IDENTITIES = (
    DemoIdentity("demo-1001", "acme_demo", "Acme (demo)"),
    DemoIdentity("demo-1002", "acme_demo_ar", "أكمي (تجريبي)"),
    DemoIdentity("demo-1003", "acme_demo_he", "אקמי (הדגמה)"),
)
BY_ID = {identity.external_id: identity for identity in IDENTITIES}

# What the network holds before anyone connects: posts made on it directly, one of which a policy scan flags, and a
# follower's comment that breaks the privacy pack. Not secrets; the same in every process.
INITIAL_POSTS = (
    ("demo-1001", "Our new office in Dubai opens on Monday. Come and say hello!", ()),
    ("demo-1001", "Thanks for your patience, Dana: the refund went to card 4111 1111 1111 1111 this morning.", ()),
    ("demo-1001", "Customer care is open 24/7 over the holidays.",
     (("A Follower", "Please refund me to IBAN GB82WEST12345698765432, thanks"),)),
    ("demo-1002", "افتتاح مكتبنا الجديد في الرياض يوم الأحد", ()),
    ("demo-1003", "המשרד החדש שלנו בתל אביב נפתח ביום ראשון", ()),
)


def _derived(secret_key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"govern demo network " + purpose).derive(secret_key.encode())


def demo_client_secret(secret_key: str) -> SecretValue:
    """The demo network's client secret for govern's app: derived from the app's secret key, so the seed (a CLI
    process) and every server process agree on it without it being stored."""
    return SecretValue(base64.urlsafe_b64encode(_derived(secret_key, b"client secret")).decode().rstrip("="))


@dataclass
class DemoNetwork:
    """The network's state in this process: what it must remember, behind one lock."""

    base_url: str
    client_secret: SecretValue
    token_key: bytes = field(repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock)
    spent_codes: set[str] = field(default_factory=set)
    used_refresh: set[str] = field(default_factory=set)
    revoked_families: set[str] = field(default_factory=set)
    posts: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=lambda: {"token_requests": 0, "refresh_requests": 0, "api_calls": 0})
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self._signer = URLSafeTimedSerializer(self.token_key.hex(), salt="govern-demo-network")
        for author, text, comments in INITIAL_POSTS:
            post = self._add_post(author, text)
            for commenter, comment in comments:
                self._add_comment(post["id"], commenter, comment)

    # -- what the registration page shows --

    @property
    def callback_url(self) -> str:
        return f"{self.base_url}/oauth/callback"

    def endpoints(self) -> dict[str, str]:
        root = self.base_url + PREFIX
        return {
            "authorize_url": f"{root}/oauth/authorize", "token_url": f"{root}/oauth/token",
            "revocation_url": f"{root}/oauth/revoke", "whoami_url": f"{root}/api/me", "api_url": f"{root}/api",
        }

    # -- codes and tokens: signed, never stored --

    def _sign(self, kind: str, **claims: Any) -> str:
        return self._signer.dumps({"k": kind, "j": uuid.uuid4().hex, **claims})

    def _read(self, value: str, kind: str, max_age: int) -> dict[str, Any] | None:
        try:
            claims = self._signer.loads(value, max_age=max_age)
        except (BadSignature, TypeError, ValueError):
            return None
        return claims if isinstance(claims, dict) and claims.get("k") == kind else None

    def issue_code(self, identity: DemoIdentity, redirect_uri: str, scope: str, code_challenge: str) -> str:
        return self._sign("code", sub=identity.external_id, ru=redirect_uri, sc=scope, cc=code_challenge, f=uuid.uuid4().hex)

    def _token_response(self, sub: str, scope: str, family: str) -> dict[str, Any]:
        return {
            "access_token": self._sign("access", sub=sub, sc=scope, f=family),
            "refresh_token": self._sign("refresh", sub=sub, sc=scope, f=family),
            "token_type": "Bearer", "expires_in": ACCESS_TTL, "refresh_token_expires_in": REFRESH_TTL, "scope": scope,
        }

    def redeem_code(self, code: str, redirect_uri: str, verifier: str) -> dict[str, Any] | None:
        claims = self._read(code, "code", CODE_TTL)
        if claims is None or claims["ru"] != redirect_uri or not _pkce_matches(verifier, claims["cc"]):
            return None
        with self.lock:
            if claims["j"] in self.spent_codes:  # a replayed code ends what it issued (RFC 6749 4.1.2)
                self.revoked_families.add(claims["f"])
                return None
            self.spent_codes.add(claims["j"])
        return self._token_response(claims["sub"], claims["sc"], claims["f"])

    def refresh(self, refresh_token: str) -> dict[str, Any] | None:
        """Refresh tokens rotate; presenting a rotated-away one again ends the whole family (it leaked)."""
        claims = self._read(refresh_token, "refresh", REFRESH_TTL)
        if claims is None:
            return None
        with self.lock:
            if claims["f"] in self.revoked_families:
                return None
            if claims["j"] in self.used_refresh:
                self.revoked_families.add(claims["f"])
                return None
            self.used_refresh.add(claims["j"])
        return self._token_response(claims["sub"], claims["sc"], claims["f"])

    def revoke(self, token: str) -> None:
        claims = self._read(token, "refresh", REFRESH_TTL) or self._read(token, "access", ACCESS_TTL)
        if claims is not None:
            with self.lock:
                self.revoked_families.add(claims["f"])

    def bearer(self, header: str) -> DemoIdentity | None:
        scheme, _, value = header.partition(" ")
        claims = self._read(value.strip(), "access", ACCESS_TTL) if scheme.lower() == "bearer" else None
        if claims is None:
            return None
        with self.lock:
            if claims["f"] in self.revoked_families:
                return None
        return BY_ID.get(claims["sub"])

    # -- posts and comments --

    def _add_post(self, author_id: str, text: str) -> dict[str, Any]:
        post = {"id": f"post-{next(self._ids)}", "text": text, "author_id": author_id,
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        self.posts.append(post)
        return post

    def _add_comment(self, post_id: str, author: str, text: str, parent_id: str | None = None) -> dict[str, Any]:
        comment = {"id": f"comment-{next(self._ids)}", "post_id": post_id, "parent_id": parent_id, "author": author,
                   "text": text, "hidden": False}
        self.comments.append(comment)
        return comment

    def add_post(self, author_id: str, text: str) -> dict[str, Any]:
        with self.lock:
            return dict(self._add_post(author_id, text))

    def add_comment(self, post_id: str, author: str, text: str, parent_id: str | None = None) -> dict[str, Any] | None:
        with self.lock:
            if self.post(post_id) is None:
                return None
            return dict(self._add_comment(post_id, author, text, parent_id))

    def post(self, post_id: str, author_id: str | None = None) -> dict[str, Any] | None:
        with self.lock:
            return next((p for p in self.posts if p["id"] == post_id and author_id in (None, p["author_id"])), None)

    def recent_posts(self, author_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(p) for p in reversed(self.posts) if p["author_id"] == author_id][:RECENT_POSTS]

    def comments_on(self, post_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(c) for c in self.comments if c["post_id"] == post_id]


def _pkce_matches(verifier: str, challenge: str) -> bool:
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return bool(verifier) and hmac.compare_digest(digest, challenge)


def network() -> DemoNetwork:
    return current_app.extensions[EXTENSION]


def is_registered(app: Flask) -> bool:
    return EXTENSION in app.extensions


# --- the HTTP side -----------------------------------------------------------------------------------------------
pages = Blueprint("demo_network", __name__, url_prefix=PREFIX)
machine = Blueprint("demo_network_api", __name__, url_prefix=PREFIX)  # the OAuth endpoints and the API: no CSRF


def _oauth_error(error: str, description: str, status: int = 400):
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _client_authenticated() -> bool:
    client_id, client_secret = request.form.get("client_id", ""), request.form.get("client_secret", "")
    if request.authorization is not None and request.authorization.type == "basic":
        client_id, client_secret = request.authorization.username or "", request.authorization.password or ""
    expected = network().client_secret.reveal()
    return client_id == CLIENT_ID and hmac.compare_digest(client_secret.encode(), expected.encode())


def _authorization_problem(args) -> str | None:
    """Why an authorization request cannot even be answered with a redirect (RFC 6749 4.1.2.1), or None."""
    if args.get("client_id") != CLIENT_ID:
        return str(_l("This app is not registered with the demo network."))
    if args.get("redirect_uri") != network().callback_url:
        return str(_l("The redirect address is not the one registered for this app."))
    if args.get("response_type") != "code":
        return str(_l("Only the authorization code flow is supported."))
    if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
        return str(_l("PKCE with S256 is required."))
    return None


AUTHORIZE_FIELDS = ("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method")


@pages.get("/")
@requires(Permission.BROKER_CONFIGURE)
def home():
    demo = network()
    with demo.lock:
        posts = [(p, [dict(c) for c in demo.comments if c["post_id"] == p["id"]]) for p in reversed(demo.posts)]
    return render_template("demo/network.html", network_key=NETWORK_KEY, client_id=CLIENT_ID,
                           client_secret=demo.client_secret.reveal(),
                           endpoints=demo.endpoints(), scopes=" ".join(SCOPES), callback_url=demo.callback_url,
                           identities=IDENTITIES, by_id=BY_ID, posts=posts)


@pages.post("/posts")
@requires(Permission.BROKER_CONFIGURE)
def post_directly():
    """Post as one of the network's accounts without govern: what a scan is there to find."""
    identity, text = BY_ID.get(request.form.get("author_id", "")), request.form.get("text", "").strip()
    if identity is None or not text or len(text) > 5000:
        abort(400, description=str(_l("Choose an account and write the post (at most 5,000 characters).")))
    network().add_post(identity.external_id, text)
    return redirect(url_for("demo_network.home"), code=303)


@pages.post("/comments")
@requires(Permission.BROKER_CONFIGURE)
def comment_as_follower():
    text = request.form.get("text", "").strip()
    if not text or len(text) > 2000 or network().add_comment(request.form.get("post_id", ""), "A Follower", text) is None:
        abort(400, description=str(_l("Choose a post and write the comment (at most 2,000 characters).")))
    return redirect(url_for("demo_network.home"), code=303)


@pages.get("/oauth/authorize")
@public
def authorize():
    problem = _authorization_problem(request.args)
    if problem is not None:
        return render_template("demo/consent.html", problem=problem), 400
    fields = {name: request.args.get(name, "") for name in AUTHORIZE_FIELDS}
    return render_template("demo/consent.html", problem=None, fields=fields, identities=IDENTITIES)


@pages.post("/oauth/authorize")
@public
def decide_authorization():
    problem = _authorization_problem(request.form)
    if problem is not None:
        return render_template("demo/consent.html", problem=problem), 400
    state = request.form.get("state", "")
    identity = BY_ID.get(request.form.get("identity", ""))
    if request.form.get("decision") != "allow" or identity is None:
        return redirect(_with_query(network().callback_url, error="access_denied", state=state), code=303)
    code = consent(request.form, identity)
    return redirect(_with_query(network().callback_url, code=code, state=state), code=303)


def consent(fields, identity: DemoIdentity) -> str:
    """The person pressed Allow as `identity`: a code for the requested scopes the network offers."""
    scope = " ".join(s for s in (fields.get("scope") or "").split() if s in SCOPES) or " ".join(SCOPES)
    return network().issue_code(identity, fields["redirect_uri"], scope, fields["code_challenge"])


def _with_query(url: str, **params: str) -> str:
    return f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(params)}"


@machine.post("/oauth/token")
@probe
def token():
    demo = network()
    with demo.lock:
        demo.stats["token_requests"] += 1
    if not _client_authenticated():
        return _oauth_error("invalid_client", "unknown client or wrong secret", 401)
    grant_type = request.form.get("grant_type")
    if grant_type == "authorization_code":
        issued = demo.redeem_code(request.form.get("code", ""), request.form.get("redirect_uri", ""),
                                  request.form.get("code_verifier", ""))
    elif grant_type == "refresh_token":
        with demo.lock:
            demo.stats["refresh_requests"] += 1
        issued = demo.refresh(request.form.get("refresh_token", ""))
    else:
        return _oauth_error("unsupported_grant_type", "authorization_code or refresh_token")
    if issued is None:
        return _oauth_error("invalid_grant", "the code or refresh token is invalid, expired, spent or revoked")
    response = jsonify(issued)
    response.headers["Cache-Control"] = "no-store"
    return response


@machine.post("/oauth/revoke")
@probe
def revoke():
    if not _client_authenticated():
        return _oauth_error("invalid_client", "unknown client or wrong secret", 401)
    network().revoke(request.form.get("token", ""))
    return "", 200  # RFC 7009 2.2: also for a token the network does not know


def _caller() -> DemoIdentity:
    demo = network()
    with demo.lock:
        demo.stats["api_calls"] += 1
    identity = demo.bearer(request.headers.get("Authorization", ""))
    if identity is None:
        response = _oauth_error("invalid_token", "the access token is invalid, expired or revoked", 401)
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        abort(response)
    return identity


def _text_from_body(limit: int) -> str:
    text = (request.get_json(silent=True) or {}).get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > limit:
        abort(_oauth_error("invalid_request", f"a JSON body with a non-empty 'text' of at most {limit} characters"))
    return text


def _own_post_or_404(identity: DemoIdentity, post_id: str) -> dict[str, Any]:
    post = network().post(post_id, identity.external_id)
    if post is None:
        abort(_oauth_error("not_found", "no such post", 404))
    return post


@machine.get("/api/me")
@probe
def me():
    identity = _caller()
    return {"sub": identity.external_id, "id": identity.external_id, "name": identity.name, "username": identity.handle}


@machine.get("/api/posts")
@probe
def recent_posts():
    return {"data": network().recent_posts(_caller().external_id)}


@machine.post("/api/posts")
@probe
def create_post():
    identity = _caller()
    post = network().add_post(identity.external_id, _text_from_body(5000))
    return {"id": post["id"], "text": post["text"]}, 201


@machine.delete("/api/posts/<post_id>")
@probe
def delete_post(post_id: str):
    demo, post = network(), _own_post_or_404(_caller(), post_id)
    with demo.lock:
        demo.posts[:] = [p for p in demo.posts if p["id"] != post["id"]]
    return {"deleted": True}


@machine.get("/api/posts/<post_id>/comments")
@probe
def comments(post_id: str):
    post = _own_post_or_404(_caller(), post_id)
    return {"data": network().comments_on(post["id"])}


def _comment_on_own_post(identity: DemoIdentity, comment_id: str) -> dict[str, Any]:
    demo = network()
    with demo.lock:
        comment = next((c for c in demo.comments if c["id"] == comment_id), None)
    if comment is None or demo.post(comment["post_id"], identity.external_id) is None:
        abort(_oauth_error("not_found", "no such comment", 404))
    return comment


@machine.post("/api/comments/<comment_id>/hide")
@probe
def hide_comment(comment_id: str):
    demo = network()
    with demo.lock:
        _comment_on_own_post(_caller(), comment_id)["hidden"] = True
    return {"hidden": True}


@machine.post("/api/comments/<comment_id>/replies")
@probe
def reply(comment_id: str):
    identity = _caller()
    parent = _comment_on_own_post(identity, comment_id)
    created = network().add_comment(parent["post_id"], identity.name, _text_from_body(2000), parent_id=comment_id)
    return {"id": created["id"]}, 201


def register(app: Flask, csrf) -> None:
    """Serve the demo network on this app; only create_app calls it, and only in demo mode."""
    settings = app_services.settings(app)
    app.extensions[EXTENSION] = DemoNetwork(
        base_url=settings.base_url, client_secret=demo_client_secret(app.config["SECRET_KEY"]),
        token_key=_derived(app.config["SECRET_KEY"], b"token signing"),
    )
    app.register_blueprint(pages)
    app.register_blueprint(csrf.exempt(machine))


__all__ = ["CLIENT_ID", "IDENTITIES", "NETWORK_KEY", "DemoNetwork", "consent", "demo_client_secret", "is_registered",
           "network", "register"]
