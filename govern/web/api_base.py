"""flask-smorest's Api with govern's problem+json errors."""

from __future__ import annotations

from flask_smorest import Api
from werkzeug.exceptions import HTTPException


class GovernApi(Api):
    def handle_http_exception(self, error: HTTPException):  # type: ignore[override]
        from govern.web.problems import handle_http_exception

        return handle_http_exception(error)
