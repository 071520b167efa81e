"""The OpenAPI 3 description of /api/v1, written by hand (the field lists come from
rules.api, so a field added there is described here)."""

from __future__ import annotations

from rules import api as R
from rules.constants import (
    Channel,
    CustomerClass,
    Kind,
    Severity,
    Status,
    TargetKind,
    UpstreamSource,
)

_TYPES = {R.TEXT: {"type": "string"}, R.TIME: {"type": "string", "format": "date-time"},
          R.INT: {"type": "integer", "minimum": 0}}
_ENUMS = {"kind": Kind.ALL, "channel": Channel.ALL, "severity": Severity.ALL,
          "customer_class": CustomerClass.ALL, "target_kind": TargetKind.ALL,
          "upstream_source": UpstreamSource.ALL}


def _schema(fields, required=()):
    props = {}
    for name, kind in fields.items():
        prop = dict(_TYPES[kind])
        if name in _ENUMS:
            prop["enum"] = list(_ENUMS[name])
        props[name] = {**prop, "nullable": True}
    return {"type": "object", "additionalProperties": False, "properties": props,
            "required": list(required)}


def _error(text):
    return {"description": text, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}


_COMPLAINT = {"description": "The complaint", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Complaint"}}}}
_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
        "schema": {"type": "string", "maxLength": R.MAX_KEY_LENGTH},
        "description": "A replay with the same key and body gets the stored answer; "
                       "the same key with another body: 409."}
_NUMBER = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"},
           "example": "TS-20261130-0001"}
_WRITE_ERRORS = {"400": _error("Malformed JSON, an unknown field (named) or a refused value"),
                 "401": _error("Missing, unknown or revoked token, or account deactivated"),
                 "409": _error("Idempotency-Key reused with another body, or a stale version"),
                 "413": _error("Body too large"), "415": _error("Not application/json")}


def description() -> dict:
    complaint = {"type": "object", "properties": {
        "number": {"type": "string"}, "status": {"type": "string", "enum": list(Status.ALL)},
        "kind": {"type": "string"}, "channel": {"type": "string"},
        "received_at": {"type": "string", "format": "date-time"},
        "registered_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "due_at": {"type": "string", "format": "date-time", "nullable": True},
        "due_kind": {"type": "string", "nullable": True},
        "answer_due": {"type": "string", "format": "date-time", "nullable": True},
        "upstream_source": {"type": "string", "nullable": True},
        "upstream_ref": {"type": "string", "nullable": True},
        "upstream_due": {"type": "string", "format": "date-time", "nullable": True},
        "version": {"type": "integer"},
        "resolution": {"type": "string", "nullable": True,
                       "description": "Only once resolved (resolved, callback, closed)"},
        "resolved_at": {"type": "string", "format": "date-time", "nullable": True},
        "closed_at": {"type": "string", "format": "date-time", "nullable": True},
    }}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Complaint desk API", "version": "1",
                 "description": "Register complaints, read their status, list the ones "
                                "changed since a time, record an upstream reference. "
                                "Times are ISO 8601; without an offset, company time."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A token made on the API tokens "
                                                          "screen (cd_…)"}},
            "schemas": {
                "Complaint": complaint,
                "Registration": _schema(R.REGISTER_FIELDS,
                                        ("customer_name", "title", "description")),
                "Upstream": _schema(R.UPSTREAM_FIELDS, [n for n, _ in R.UPSTREAM_REQUIRED]),
                "Error": {"type": "object", "properties": {"error": {
                    "type": "object", "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"},
                        "fields": {"type": "object",
                                   "additionalProperties": {"type": "string"}}}}}},
            },
        },
        "paths": {
            "/complaints": {
                "post": {
                    "summary": "Register a complaint (the registration rules of the screens)",
                    "operationId": "registerComplaint", "parameters": [_KEY],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Registration"}}}},
                    "responses": {"201": _COMPLAINT, **_WRITE_ERRORS},
                },
                "get": {
                    "summary": "Complaints changed since a time (the token's scope)",
                    "operationId": "listChangedComplaints",
                    "parameters": [
                        {"name": "changed_since", "in": "query",
                         "schema": {"type": "string", "format": "date-time"}},
                        {"name": "limit", "in": "query", "schema": {
                            "type": "integer", "minimum": 1, "maximum": R.MAX_LIMIT,
                            "default": R.DEFAULT_LIMIT}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"},
                         "description": "next_cursor of the previous page"}],
                    "responses": {"200": {"description": "A page", "content": {
                        "application/json": {"schema": {"type": "object", "properties": {
                            "items": {"type": "array", "items": {
                                "$ref": "#/components/schemas/Complaint"}},
                            "next_cursor": {"type": "string", "nullable": True}}}}}},
                        "400": _error("An unknown parameter or a refused value"),
                        "401": _WRITE_ERRORS["401"]},
                },
            },
            "/complaints/{number}": {
                "get": {
                    "summary": "A complaint's status, deadline and result",
                    "operationId": "readComplaint", "parameters": [_NUMBER],
                    "responses": {"200": _COMPLAINT, "401": _WRITE_ERRORS["401"],
                                  "404": _error("No such complaint in the token's scope")},
                },
            },
            "/complaints/{number}/upstream": {
                "post": {
                    "summary": "Record the upstream source and reference (audited as an edit)",
                    "operationId": "recordUpstream", "parameters": [_NUMBER, _KEY],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Upstream"}}}},
                    "responses": {"200": _COMPLAINT, **_WRITE_ERRORS,
                                  "403": _error("The token's account may not edit"),
                                  "404": _error("No such complaint in the token's scope")},
                },
            },
            "/openapi.json": {
                "get": {"summary": "This description", "operationId": "openapi",
                        "security": [],
                        "responses": {"200": {"description": "OpenAPI 3 document"}}},
            },
        },
    }
