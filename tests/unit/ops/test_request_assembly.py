"""govern serve's request assembly: when a request has arrived whole, fed byte by byte or all at once."""

from __future__ import annotations

import pytest

from govern.serve import RequestAssembly

HEAD = b"POST /api/v1/policy/evaluate HTTP/1.1\r\nHost: govern.test\r\n"


def _feed(payload: bytes, step: int, max_body: int = 1000) -> tuple[bool, RequestAssembly, int]:
    """Feed `step` bytes at a time; (ready, assembly, bytes fed when it became ready)."""
    assembly = RequestAssembly(max_head=8192, max_body=max_body)
    for position in range(0, len(payload), step):
        if assembly.feed(payload[position:position + step]):
            return True, assembly, min(position + step, len(payload))
    return False, assembly, len(payload)


@pytest.mark.parametrize("step", [1, 2, 3, 7, 10_000])
@pytest.mark.parametrize("payload", [
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    HEAD + b"Content-Length: 11\r\n\r\nhello world",
    HEAD + b"Transfer-Encoding: chunked\r\n\r\n5;name=v\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n",
], ids=["no body", "content-length", "chunked", "chunked with trailers"])
def test_a_request_is_ready_exactly_when_its_last_byte_arrives(payload, step):
    ready, assembly, fed = _feed(payload, step)
    assert ready and assembly.whole and fed == len(payload)
    assert assembly.take() == payload  # every byte kept, in order, for gunicorn's parser
    assert not _feed(payload[:-1], step)[0]


def test_pipelined_bytes_after_the_request_are_kept_for_the_next_one():
    first = HEAD + b"Content-Length: 2\r\n\r\nhi"
    second = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    ready, assembly, _ = _feed(first + second, 10_000)
    assert ready and assembly.take() == first + second


@pytest.mark.parametrize("payload", [
    HEAD + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",  # both: smuggling bait gunicorn refuses
    HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
    HEAD + b"Content-Length: -1\r\n\r\n",
    HEAD + b"Transfer-Encoding: gzip\r\n\r\n",
    HEAD + b"Content-Length: 1001\r\n\r\n",  # over the app's limit: answered 413 from the header
    HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",  # not a chunk size
    HEAD + b"Transfer-Encoding: chunked\r\n\r\n3e9\r\n" + b"a" * 1001,  # chunks past the limit
    b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * 9000,  # a head past what gunicorn accepts
], ids=["cl+te", "two lengths", "negative length", "unknown coding", "too long", "bad chunk", "chunks too long", "long head"])
def test_what_gunicorn_refuses_is_handed_over_without_waiting_for_the_rest(payload):
    ready, assembly, _ = _feed(payload, 10_000)
    assert ready and not assembly.whole


def test_a_client_expecting_100_continue_is_answered_once_and_the_expectation_removed():
    assembly = RequestAssembly(max_head=8192, max_body=1000)
    assert not assembly.feed(HEAD + b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert assembly.continue_due
    assembly.continue_sent = True
    assert not assembly.continue_due
    assert assembly.feed(b"hi") and assembly.whole
    assert assembly.take() == HEAD + b"Content-Length: 2\r\n\r\nhi"
