"""`govern serve`: gunicorn whose threads only ever see a whole request, so a slow client costs a socket, not a thread."""

from __future__ import annotations

import selectors
import subprocess
import sys
import tempfile
import time
from functools import partial
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from govern import app_services
from govern.web.gunicorn_errors import ProblemThreadWorker

SPOOL_IN_MEMORY = 64 * 1024  # past this a request waits on disk: a thousand slow uploads do not fill the memory
RECEIVE_SIZE = 64 * 1024
CHUNK_LINE_LIMIT = 4096
HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class _ChunkedBody:
    """Follows chunked framing (RFC 9112 section 7.1) just far enough to tell where the body ends."""

    def __init__(self) -> None:
        self.state, self.line, self.left, self.size = "size", bytearray(), 0, 0

    def feed(self, data: bytes) -> bool:
        """True once the last chunk and the trailer section have arrived; ValueError when the framing is broken."""
        position = 0
        while position < len(data) and self.state != "done":
            if self.state == "data":
                taken = min(self.left, len(data) - position)
                self.left, position = self.left - taken, position + taken
                if not self.left:
                    self.state = "size"
                continue
            end = data.find(b"\n", position)
            self.line += data[position:] if end < 0 else data[position:end + 1]
            if len(self.line) > CHUNK_LINE_LIMIT:
                raise ValueError("chunk line too long")
            if end < 0:
                break
            position, line, self.line = end + 1, bytes(self.line).strip(), bytearray()
            if self.state == "trailer":
                self.state = "trailer" if line else "done"
                continue
            digits = line.split(b";", 1)[0].strip()
            if not digits or not HEX_DIGITS.issuperset(digits):
                raise ValueError("not a chunk size")
            size = int(digits, 16)
            if size == 0:
                self.state = "trailer"
            else:
                self.size, self.left, self.state = self.size + size, size + 2, "data"  # the data and its CRLF
        return self.state == "done"


def _framing(head: bytes) -> tuple[str, int, bool]:
    """How the body is delimited ("none", "length", "chunked" or "unclear"), its length, and Expect: 100-continue."""
    encodings, lengths, expects_continue = [], [], False
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip()
        if not colon:
            continue
        if name == b"transfer-encoding":
            encodings += [part.strip().lower() for part in value.split(b",")]
        elif name == b"content-length":
            lengths += [part.strip() for part in value.split(b",")]
        elif name == b"expect" and value.lower() == b"100-continue":
            expects_continue = True
    if encodings:
        return ("chunked" if encodings[-1] == b"chunked" and not lengths else "unclear"), 0, expects_continue
    if lengths:
        if len(set(lengths)) != 1 or not lengths[0].isdigit():
            return "unclear", 0, expects_continue
        return "length", int(lengths[0]), expects_continue
    return "none", 0, expects_continue


class RequestAssembly:
    """One HTTP/1.x request as its bytes arrive; feed() says when it may go to a thread.

    That is when it is whole, or when what arrived is enough for it to be refused without reading on: a head
    past gunicorn's own limits, framing gunicorn refuses, a body larger than the app accepts (Flask answers
    413 from the Content-Length). Everything received is kept, in order, for gunicorn's parser.
    """

    def __init__(self, max_head: int, max_body: int) -> None:
        self.max_head, self.max_body = max_head, max_body
        self.spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        self.received = 0
        self.head_length: int | None = None
        self.window = b""  # the last bytes seen, to find the blank line that ends the head across reads
        self.body_needed: int | None = None
        self.chunked: _ChunkedBody | None = None
        self.whole = False
        self.expects_continue = False  # the client waits for "100 Continue" before it sends the body
        self.continue_sent = False

    def feed(self, data: bytes) -> bool:
        self.spool.write(data)
        self.received += len(data)
        if self.head_length is None:
            found = (self.window + data).find(b"\r\n\r\n")
            if found < 0:
                self.window = (self.window + data)[-3:]
                return self.received > self.max_head
            self.head_length = self.received - len(data) - len(self.window) + found + 4
            return self._head_arrived()
        return self._body_arrived(data)

    def _head_arrived(self) -> bool:
        self.spool.seek(0)
        head = self.spool.read(self.head_length)
        body = self.spool.read()
        self.spool.seek(0, 2)
        framing, length, expects_continue = _framing(head)
        if framing == "unclear" or (framing == "length" and length > self.max_body):
            return True  # gunicorn refuses the framing; Flask answers 413 to the length, without reading on
        if framing == "chunked":
            self.chunked = _ChunkedBody()
        self.body_needed = length if framing == "length" else None
        self.expects_continue = expects_continue
        return self._body_arrived(body)

    def _body_arrived(self, data: bytes) -> bool:
        if self.chunked is not None:
            try:
                self.whole = self.chunked.feed(data)
            except ValueError:
                return True  # gunicorn's chunk reader refuses it from what is here
            return self.whole or self.chunked.size > self.max_body
        self.whole = self.received - self.head_length >= (self.body_needed or 0)
        return self.whole

    @property
    def continue_due(self) -> bool:
        return self.expects_continue and not self.whole and not self.continue_sent

    def take(self) -> bytes:
        self.spool.seek(0)
        data = self.spool.read()
        self.spool.close()
        if self.continue_sent:  # answered here already: gunicorn must not send a second "100 Continue"
            head, rest = data[:self.head_length], data[self.head_length:]
            data = b"\r\n".join(line for line in head.split(b"\r\n") if not line.lower().startswith(b"expect:")) + rest
        return data


class BufferingThreadWorker(ProblemThreadWorker):
    """gthread, but the main loop receives each request (head and body) before a thread is given it.

    Stock gthread hands a connection to a thread as soon as its first byte arrives; a client sending one
    byte every two seconds then holds that thread for as long as it likes, and twenty of them stall the
    server. Here a request waits in the poller, spooled, until it is whole (or refusable from what arrived);
    one that is not whole within `request_timeout` gets 408 and is closed. The thread then reads only from
    memory, and writes the answer under the same timeout, so a client that does not read cannot hold it either.
    """

    request_timeout = 30.0  # set by `govern serve` from GOVERN_SERVE_REQUEST_TIMEOUT_SECONDS
    max_body = 2 * 1024 * 1024  # set by `govern serve` from the app's MAX_CONTENT_LENGTH

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.assembling: dict[Any, float] = {}  # connection -> deadline
        cfg = self.cfg  # what gunicorn's parser refuses by itself, so a longer head need not be waited for
        self.max_head = cfg.limit_request_line + 2 + cfg.limit_request_fields * (cfg.limit_request_field_size + 2) + 4

    def enqueue_req(self, conn) -> None:
        """Every way a connection reaches a thread (new, kept alive, pipelined) passes here, on the main thread."""
        if self.cfg.is_ssl or conn.is_http2:  # TLS and HTTP/2 stay with stock gthread; govern serve uses neither
            return super().enqueue_req(conn)
        pipelined = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        conn.assembly = RequestAssembly(self.max_head, self.max_body)
        conn.sock.setblocking(False)
        if pipelined and conn.assembly.feed(pipelined):
            return super().enqueue_req(conn)
        self.assembling[conn] = time.monotonic() + self.request_timeout
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_request_bytes, conn))
        return None

    def _on_request_bytes(self, conn, sock) -> None:
        try:
            data = sock.recv(RECEIVE_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        ready = conn.assembly.feed(data)
        if conn.assembly.continue_due:
            conn.assembly.continue_sent = True
            try:
                sock.send(CONTINUE)  # a few bytes to an idle socket: they fit its buffer
            except OSError:
                pass
        if ready:
            self.poller.unregister(sock)
            del self.assembling[conn]
            super().enqueue_req(conn)

    def _drop(self, conn, answer: bytes = b"") -> None:
        self.assembling.pop(conn, None)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        if answer:
            try:
                conn.sock.send(answer)
            except OSError:
                pass
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn, deadline in list(self.assembling.items()):
            if deadline <= now or not self.alive:
                self._drop(conn, TIMED_OUT if conn.assembly.received else b"")

    def handle(self, conn):  # runs in a thread
        assembly = getattr(conn, "assembly", None)
        if assembly is not None:
            conn.assembly, conn.whole = None, assembly.whole
            conn.data_ready = True
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(assembly.take())
        return super().handle(conn)

    def handle_request(self, req, conn):
        conn.sock.settimeout(self.request_timeout)  # the rest of a refused body, and the answer, are bounded too
        return super().handle_request(req, conn)

    def _keepalive_after(self, conn, keepalive):
        if not getattr(conn, "whole", True):
            return False  # part of the body is still on the wire: close rather than wait for it in a thread
        return super()._keepalive_after(conn, keepalive)


def run(app: Flask, host: str, port: int, workers: int, threads: int = 4) -> None:
    """Serve the app with gunicorn and BufferingThreadWorker; in embedded mode, the job schedule runs beside it."""
    settings = app_services.settings(app)
    worker_class = type("GovernWorker", (BufferingThreadWorker,), {
        "request_timeout": settings.serve_request_timeout_seconds,
        "max_body": app.config["MAX_CONTENT_LENGTH"],
    })
    scheduler: list[subprocess.Popen] = []

    def when_ready(_server) -> None:
        if settings.jobs_in_process:
            scheduler.append(subprocess.Popen([sys.executable, "-c", "from govern.cli import main; main()", "jobs", "run"]))

    def on_exit(_server) -> None:
        for process in scheduler:
            process.terminate()
            process.wait(timeout=30)

    def post_fork(_server, _worker) -> None:
        from govern.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)  # connections opened before the fork stay with the parent

    class Server(BaseApplication):
        def load_config(self) -> None:
            for name, value in {
                "bind": f"{host}:{port}", "workers": workers, "worker_class": worker_class, "threads": threads,
                "accesslog": None, "when_ready": when_ready, "on_exit": on_exit, "post_fork": post_fork,
                # a backstop: a worker is replaced after a bounded number of requests, and its memory goes with it
                "max_requests": settings.serve_max_requests, "max_requests_jitter": settings.serve_max_requests_jitter,
                "control_socket_disable": True,  # one ~/.gunicorn/gunicorn.ctl would be shared by every instance
            }.items():
                self.cfg.set(name, value)

        def load(self):
            return app

    Server().run()
