"""The REST API for other systems (issue 14), under ``/api/v1``: JSON in and out, a token
in ``Authorization: Bearer …`` (no session, no cookie, no CSRF form), errors as
``{"error": {"code", "message", "fields"}}``. A thin layer over ``services.api``: the same
rules, scopes and audit as the screens. Described by ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import json

from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException, default_exceptions

from models import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PREFIX = "/api/v1"
MAX_BODY = 256 * 1024  # a registration is a few kilobytes; attachments are not taken here

# The error codes of the HTTP statuses answered without a more precise one.
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large",
              415: "unsupported_media_type", 429: "too_many_requests", 500: "server_error"}
HTTP_MESSAGES = {
    400: "The request is not valid.", 401: "A valid API token is required.",
    403: "This token's account may not do that.", 404: "Not found.",
    405: "This method is not allowed here.", 413: "The request body is too large.",
    415: "The request body must be JSON (Content-Type: application/json).",
    500: "Something went wrong on the server; nothing was changed.",
}


def error(status: int, code: str | None = None, message: str | None = None,
          fields: dict | None = None, headers: dict | None = None) -> Response:
    body = {"error": {"code": code or HTTP_CODES.get(status, "error"),
                      "message": message or HTTP_MESSAGES.get(status, ""),
                      "fields": fields or {}}}
    return json_response(body, status, headers)


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    # ASCII JSON (\u escapes): always encodable, even echoing a field name that holds a
    # lone surrogate; every JSON reader decodes it to the same text.
    response = Response(json.dumps(body, ensure_ascii=True), status=status,
                        mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def _http_error(err: HTTPException) -> Response:
    status = err.code or 500
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 405 and getattr(err, "valid_methods", None):
        headers = {"Allow": ", ".join(err.valid_methods)}
    return error(status, headers=headers)


def _answer_errors_in_json(app: Flask) -> None:
    """Under /api/v1 every error is JSON (routing errors too: unknown path, wrong method);
    elsewhere the handlers registered before (the screens' error pages) answer as before."""
    for status in (400, 401, 403, 404, 405, 409, 413, 415, 429, 500):
        exc_class = default_exceptions[status]
        previous = app.error_handler_spec.get(None, {}).get(status, {}).get(exc_class)

        def handler(err, previous=previous):
            if is_api_request():
                if not isinstance(err, HTTPException) or (err.code or 500) >= 500:
                    db.session.rollback()
                    return error(500)
                return _http_error(err)
            return previous(err) if previous is not None else err

        app.register_error_handler(status, handler)


def init_app(app: Flask) -> None:
    """Register the blueprint; call after the screens (their error pages are wrapped)."""
    from . import views  # noqa: F401 (routes)

    app.register_blueprint(bp)
    _answer_errors_in_json(app)
    # Before every other hook: the screens' parameter check would read a form body first.
    app.before_request_funcs.setdefault(None, []).insert(0, _json_bodies_only)


def _json_bodies_only():
    """A body sent to an API route that is not declared JSON: 415, before anything parses
    it (as a form, say)."""
    if ((request.endpoint or "").startswith("api.") and request.method in ("POST", "PUT",
                                                                             "PATCH")
            and request.mimetype != "application/json"):
        return error(415)
    return None


@bp.before_request
def _limits():
    request.max_content_length = MAX_BODY
