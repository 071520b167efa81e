"""The routes of /api/v1: authenticate the token, read the JSON, call services.api."""

from __future__ import annotations

import json
from functools import wraps

from flask import g, request
from werkzeug.exceptions import RequestEntityTooLarge

from admin_views.i18n import rule_message
from rules import RuleError
from rules import api as R
from rules.errors import PermissionDenied, StaleVersion, TransitionNotAllowed, each_error
from services import api as service
from services import api_tokens
from services.complaints import NotFound

from . import MAX_BODY, bp, error, json_response
from .openapi import description


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_required(view):
    """401 (one body for a missing, unknown or revoked token and a deactivated account)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        token = api_tokens.authenticate(_bearer())
        if token is None:
            wait = api_tokens.count_refusal(request.remote_addr)
            if wait:
                return error(429, message="Too many refused tokens from this address: "
                                          "wait before trying again.",
                             headers={"Retry-After": str(wait)})
            return error(401, headers={"WWW-Authenticate": "Bearer"})
        g.api_token, g.api_staff = token, token.staff
        return view(*args, **kwargs)

    return wrapper


def refusal(err: RuleError):
    """A rules' refusal as a 4xx: each refused field with its sentence."""
    if isinstance(err, NotFound):
        return error(404)
    fields = {e.field: rule_message(e) for e in each_error(err) if e.field}
    if isinstance(err, PermissionDenied):
        return error(403, "forbidden", rule_message(err))
    if isinstance(err, StaleVersion):
        return error(409, "stale_version", rule_message(err))
    if isinstance(err, TransitionNotAllowed):
        return error(409, "not_allowed_now", rule_message(err))
    unknown = [name for name, e in ((e.field, e) for e in each_error(err))
               if e.msgid == "Unknown field: %(name)s."]
    code = "unknown_field" if unknown else "invalid_input"
    return error(400, code, rule_message(err), fields)


class BadBody(Exception):
    def __init__(self, response):
        self.response = response


def _json_body():
    """The request body as JSON: 415 if not declared JSON, 413 too large, 400 malformed."""
    if request.mimetype != "application/json":
        raise BadBody(error(415))
    if (request.content_length or 0) > MAX_BODY:
        raise BadBody(error(413))
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise BadBody(error(413)) from None
    if len(raw) > MAX_BODY:
        raise BadBody(error(413))
    try:
        return raw, json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadBody(error(400, "malformed_json", "The request body is not valid JSON.")) \
            from None


def _write(fields, required, work):
    """A POST: body checked, then ``work(clean)`` once per Idempotency-Key."""
    try:
        raw, payload = _json_body()
    except BadBody as bad:
        return bad.response
    try:
        key = R.check_idempotency_key(request.headers.get("Idempotency-Key"))
        clean = R.check_payload(payload, fields, required)
        answer = service.once(g.api_token, key, request.method, request.path, raw,
                              lambda: work(clean))
    except RuleError as err:
        return refusal(err)
    except service.KeyReused:
        return error(409, "idempotency_key_reused",
                     "This Idempotency-Key was already used with another request.")
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    if answer.status == 201 and "number" in answer.body:
        headers["Location"] = f"{bp.url_prefix}/complaints/{answer.body['number']}"
    return json_response(answer.body, answer.status, headers)


@bp.route("/complaints", methods=["POST"])
@token_required
def register():
    staff = g.api_staff

    def work(clean):
        complaint = service.register(clean, staff)
        return service.Answer(201, service.summary(complaint))

    return _write(R.REGISTER_FIELDS, (), work)


@bp.route("/complaints/<number>", methods=["GET"])
@token_required
def read(number):
    complaint = service.find(number, g.api_staff)
    if complaint is None:
        return error(404)
    return json_response(service.summary(complaint))


@bp.route("/complaints", methods=["GET"])
@token_required
def changed():
    try:
        since, limit, cursor = R.check_list_params(request.args)
        rows, next_cursor = service.changed(g.api_staff, since, limit, cursor)
    except RuleError as err:
        return refusal(err)
    return json_response({"items": [service.summary(c) for c in rows],
                          "next_cursor": next_cursor})


@bp.route("/complaints/<number>/upstream", methods=["POST"])
@token_required
def upstream(number):
    staff = g.api_staff

    def work(clean):
        complaint = service.record_upstream(number, clean, staff)
        return service.Answer(200, service.summary(complaint))

    return _write(R.UPSTREAM_FIELDS, R.UPSTREAM_REQUIRED, work)


@bp.route("/openapi.json", methods=["GET"])
def openapi():
    """The description is public (it holds no data); every other route needs a token."""
    return json_response(description())

