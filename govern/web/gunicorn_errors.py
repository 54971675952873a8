"""gunicorn's own refusals (an over-long URL, oversized headers, a malformed request line) as problem+json.

gunicorn answers these before any WSGI code runs, with an HTML page; at that point it has not read a
path, so it cannot know whether the caller is the API or the console. Every govern worker answers them
as RFC 9457 problem+json instead, which the API documents for every error and a browser shows readably.
"""

from __future__ import annotations

import json

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker


def write_problem(sock, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for gunicorn.util.write_error: the same status, as application/problem+json."""
    body = json.dumps({"type": "about:blank", "title": reason, "status": status_int,
                       "detail": (mesg or reason)[:300]}, ensure_ascii=True).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


class ProblemThreadWorker(ThreadWorker):
    """gunicorn's threaded worker, whose own error responses are problem+json."""

    def init_process(self) -> None:
        util.write_error = write_problem  # this worker process serves govern only
        super().init_process()
