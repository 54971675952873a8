"""A WSGI app served on a free loopback port from a background thread: the fake network's and fake OIDC's stand-in."""

from __future__ import annotations

import functools
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tests.support.standin import StandIn


class QuietRequestHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        pass


class LoopbackServer(StandIn):
    """Ready as soon as it is launched: the socket listens before the thread serves it."""

    def __init__(self, app, name: str) -> None:
        self._app, self.name = app, name
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"the {self.name} is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def _launch(self) -> None:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=QuietRequestHandler)
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)  # so stop() returns promptly
        self._thread = threading.Thread(target=serve, name=self.name, daemon=True)
        self._thread.start()

    def _halt(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None
