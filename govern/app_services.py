"""The services an app was built with, read by name and type instead of by `current_app.extensions["govern.…"]`.

`create_app` installs them once (install_*); views, API resources, tasks and CLI commands read them through the
accessors below, from the current app or the one they are given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from govern.audit.signing import CheckpointSigner
    from govern.auth.throttle import Throttle
    from govern.broker.context import BrokerContext
    from govern.policy.service import PolicyRuntime
    from govern.publishing.service import Publisher
    from govern.config import Settings

_SETTINGS = "govern.settings"
_THROTTLE = "govern.throttle"
_POLICY = "govern.policy"
_BROKER = "govern.broker"
_SIGNER = "govern.audit_signer"
_PUBLISHER = "govern.publisher"


def _app(app: Flask | None) -> Flask:
    return app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]


def settings(app: Flask | None = None) -> Settings:
    return _app(app).extensions[_SETTINGS]


def throttle(app: Flask | None = None) -> Throttle:
    return _app(app).extensions[_THROTTLE]


def policy(app: Flask | None = None) -> PolicyRuntime:
    return _app(app).extensions[_POLICY]


def broker(app: Flask | None = None) -> BrokerContext:
    return _app(app).extensions[_BROKER]


def publisher(app: Flask | None = None) -> Publisher:
    return _app(app).extensions[_PUBLISHER]


def signer(app: Flask | None = None) -> CheckpointSigner:
    return _app(app).extensions[_SIGNER]


def install_settings(app: Flask, value: Settings) -> None:
    app.extensions[_SETTINGS] = value


def install_throttle(app: Flask, value: Throttle) -> None:
    app.extensions[_THROTTLE] = value


def install_policy(app: Flask, value: PolicyRuntime) -> None:
    app.extensions[_POLICY] = value


def install_broker(app: Flask, value: BrokerContext) -> None:
    app.extensions[_BROKER] = value


def install_publisher(app: Flask, value: Publisher) -> None:
    app.extensions[_PUBLISHER] = value


def install_signer(app: Flask, value: CheckpointSigner) -> None:
    app.extensions[_SIGNER] = value
