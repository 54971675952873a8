"""Refuses malformed input before any view runs: JSON bodies too deep, with lone surrogates or NUL, and NUL in URLs.

A WSGI middleware reads the body of each JSON request under /api/ and /scim/ once (within
MAX_CONTENT_LENGTH), checks it and hands the same bytes on; a `before_request` hook then answers 400
(problem+json, or a SCIM error under /scim/) with the reason. Without it, a lone surrogate reached
PostgreSQL ("invalid byte sequence", 503), a NUL reached a text column, and 100,000 nested arrays
raised RecursionError inside a view.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest

from govern.limits import JSON_MAX_DEPTH

PROBLEM_KEY = "govern.input_problem"
CHECKED_PREFIXES = ("/api/", "/scim/")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUL_ESCAPED = re.compile(r"%00")


class UnacceptableJson(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise UnacceptableJson(f"{name} is not a JSON number")


def check_json(body: bytes) -> None:
    """Raise UnacceptableJson unless `body` is UTF-8 JSON, at most JSON_MAX_DEPTH deep, without lone surrogates or NUL."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UnacceptableJson("the body is not UTF-8 text") from None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise UnacceptableJson(f"the JSON is nested more than {JSON_MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as error:
        raise UnacceptableJson(f"the body is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") from None
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, (dict, list)):
            if depth > JSON_MAX_DEPTH:
                raise UnacceptableJson(f"the JSON is nested more than {JSON_MAX_DEPTH} levels deep")
            if isinstance(value, dict):
                for key, inner in value.items():
                    _check_text(key)
                    pending.append((inner, depth + 1))
            else:
                pending.extend((inner, depth + 1) for inner in value)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise UnacceptableJson("a string holds a NUL character (\\u0000), which govern does not store")
    if _SURROGATE.search(text):
        raise UnacceptableJson("a string holds a lone UTF-16 surrogate (an unpaired \\uD800-\\uDFFF escape)")


def _is_json_request(environ: dict[str, Any], path: str) -> bool:
    content_type = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    if path.startswith("/scim/"):
        return True  # SCIM reads the body as JSON whatever its type (Entra ID sends application/json, Okta scim+json)
    return content_type == "application/json" or content_type.endswith("+json")


def _url_problem(environ: dict[str, Any]) -> str | None:
    if "\x00" in environ.get("PATH_INFO", "") or _NUL_ESCAPED.search(environ.get("QUERY_STRING", "")):
        return "the address holds a NUL character (%00)"
    return None


class InputGuard:
    """WSGI middleware: finds what is wrong with a request's URL or JSON body and leaves a note for the app."""

    def __init__(self, app, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    def __call__(self, environ, start_response):
        problem = _url_problem(environ)
        path = environ.get("PATH_INFO", "")
        if problem is None and path.startswith(CHECKED_PREFIXES) and _is_json_request(environ, path):
            problem = self._body_problem(environ)
        if problem:
            environ[PROBLEM_KEY] = problem
        return self.app(environ, start_response)

    def _body_problem(self, environ: dict[str, Any]) -> str | None:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None  # werkzeug answers a bad Content-Length itself
        chunked = "chunked" in (environ.get("HTTP_TRANSFER_ENCODING") or "").lower()
        if length > self.max_body or (length <= 0 and not chunked):
            return None  # empty, or too large: Flask answers 413 without reading it
        stream = environ["wsgi.input"]
        body = stream.read(length) if length > 0 else stream.read(self.max_body + 1)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False
        if len(body) > self.max_body:
            return None
        if not body.strip():
            return "the body is blank; send a JSON document, or no body at all"
        try:
            check_json(body)
        except UnacceptableJson as error:
            return str(error)
        return None


class UnacceptableInput(BadRequest):
    scim_type = "invalidSyntax"  # RFC 7644 3.12: the body's structure is invalid


def _refuse_noted_problem() -> None:
    problem = request.environ.get(PROBLEM_KEY)
    if problem:
        raise UnacceptableInput(f"Refused before reading: {problem}.")


def register_input_guard(app: Flask) -> None:
    app.wsgi_app = InputGuard(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])
    app.before_request(_refuse_noted_problem)
