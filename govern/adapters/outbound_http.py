"""The HTTP session govern uses to call networks and Vault: keep-alive, environment settings read once per origin."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests


class OutboundSession(requests.Session):
    """A requests session that resolves proxy and CA-bundle environment settings once per origin.

    A stock session re-reads HTTP(S)_PROXY / NO_PROXY / REQUESTS_CA_BUNDLE from the environment on
    every request, which walks the whole environment (about 0.4 ms a call). A server process's
    environment does not change while it runs, so the answer for an origin is kept.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment_settings: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # noqa: ANN001 - requests' signature
        scheme, netloc = urlsplit(url)[:2]
        key = (scheme, netloc, tuple(sorted((proxies or {}).items())), stream, verify, cert)
        settings = self._environment_settings.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment_settings[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}
