"""flask-smorest's Api with govern's problem+json errors, declared as such in the OpenAPI document."""

from __future__ import annotations

import http

from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from govern.limits import DB_INT_MAX

PROBLEM_JSON = "application/problem+json"
# What every API operation may answer besides its documented success, whatever its own errors.
COMMON_ERRORS = (400, 401, 403, 404, 405, 413, 414, 422, 429, 431, 500, 503)


class ProblemSchema(Schema):
    """RFC 9457 problem details, as govern writes them (web/problems.py)."""

    class Meta:
        unknown = "include"

    type = fields.String(metadata={"description": "A URI naming the kind of problem; about:blank for plain HTTP errors."})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String(metadata={"description": "The request path."})
    request_id = fields.String(allow_none=True, metadata={"description": "Also in X-Request-ID and the server log."})
    errors = fields.Dict(metadata={"description": "validation-error only: field name -> messages."})
    code = fields.String(metadata={"description": "A service refusal's stable code (e.g. `account_retired`): "
                                                  "what a client branches on; `detail` is English prose for people."})


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` path segments: 0 to the database's integer range; beyond it the route does not match (404)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002  (werkzeug's name)
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def _int_path_schema(converter: IntegerConverter) -> dict:
    return {"type": "integer", "minimum": converter.min if converter.min is not None else 0, "maximum": converter.max}


def _has_required_field(schema) -> bool:
    instance = schema() if isinstance(schema, type) else schema
    return any(field.required for field in instance.fields.values())


class GovernApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def init_app(self, app, *args, **kwargs):
        app.url_map.converters["int"] = BoundedIntConverter
        super().init_app(app, *args, **kwargs)
        self.register_converter(BoundedIntConverter, _int_path_schema)
        self.register_field(fields.Url, "string", "uri")  # apispec says "url", which JSON Schema does not know

    def handle_http_exception(self, error: HTTPException):  # type: ignore[override]
        from govern.web.problems import handle_http_exception

        return handle_http_exception(error)

    def _register_responses(self):
        """Every error response is application/problem+json; each operation lists the common ones."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                content_type = PROBLEM_JSON
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any other error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def register_blueprint(self, blp, *, parameters=None, **options):
        for doc in blp._docs.values():
            for method_doc in doc.values():
                if not isinstance(method_doc, dict):
                    continue
                for argument in method_doc.get("arguments", {}).get("parameters", []):
                    if argument.get("in") == "json" and not _has_required_field(argument["schema"]):
                        argument["required"] = False  # a missing body reads as {}, which such a schema accepts
                responses = method_doc.setdefault("response", {}).setdefault("responses", {})
                for status in COMMON_ERRORS:
                    responses.setdefault(status, [http.HTTPStatus(status).name])
        super().register_blueprint(blp, parameters=parameters, **options)
