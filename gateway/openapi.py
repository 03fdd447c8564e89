"""Builds the OpenAPI 3.1 document from the route registry, so it cannot drift."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from gateway import bodies
from gateway.api import ERROR_STATUSES, Operation
from gateway.schema import Obj
from services.common.version import VERSION

_S: dict[str, Any] = {"type": "string"}
_NS: dict[str, Any] = {"type": ["string", "null"]}
_TS: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
_STRS: dict[str, Any] = {"type": "array", "items": _S}

# ------------------------------------------------------------------ protobuf JSON

_F = FieldDescriptor
_PROTO_SCALARS: dict[int, dict[str, Any]] = {
    _F.TYPE_STRING: _S,
    _F.TYPE_BOOL: {"type": "boolean"},
    _F.TYPE_DOUBLE: {"type": "number"},
    _F.TYPE_FLOAT: {"type": "number"},
    _F.TYPE_ENUM: _S,
    _F.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    **{t: {"type": "integer"} for t in (_F.TYPE_INT32, _F.TYPE_SINT32, _F.TYPE_SFIXED32)},
    **{t: {"type": "integer"} for t in (_F.TYPE_UINT32, _F.TYPE_FIXED32)},
    # The protobuf JSON mapping writes 64-bit integers as strings.
    **{
        t: {"type": "string", "pattern": "^-?[0-9]+$"}
        for t in (_F.TYPE_INT64, _F.TYPE_SINT64, _F.TYPE_SFIXED64, _F.TYPE_UINT64, _F.TYPE_FIXED64)
    },
}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def message_schema(
    message: type[Message],
    fields: Mapping[str, dict[str, Any]] | None = None,
    *,
    required: Iterable[str] = (),
) -> dict[str, Any]:
    """The JSON schema of what `json_format.MessageToDict(msg,
    preserving_proto_field_name=True, always_print_fields_with_no_presence=True)` gives
    for a `message`, so a response made that way is documented from the same message it
    is made from: every field under its proto name, the ones without presence (scalars,
    lists) always there, a message or Timestamp field only when set. `fields` replaces
    or adds what the handler changes after the conversion; `required` names more fields
    it always sets."""
    return _message_schema(cast(Descriptor, message.DESCRIPTOR), fields, required)


def _message_schema(
    descriptor: Descriptor,
    fields: Mapping[str, dict[str, Any]] | None = None,
    required: Iterable[str] = (),
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    always = []
    for field in descriptor.fields:
        value = _proto_value(field)
        if field.is_repeated:
            message = field.message_type
            if message is not None and message.GetOptions().map_entry:
                value = {"type": "object", "additionalProperties": _proto_value(message.fields[1])}
            else:
                value = {"type": "array", "items": value}
        properties[field.name] = value
        if not field.has_presence:
            always.append(field.name)
    properties.update(fields or {})
    return {
        "type": "object",
        "properties": properties,
        "required": list(dict.fromkeys([*always, *required])),
    }


def _proto_value(field: FieldDescriptor) -> dict[str, Any]:
    if field.type != _F.TYPE_MESSAGE:
        return _PROTO_SCALARS[field.type]
    message = field.message_type
    assert message is not None
    if message.full_name == "google.protobuf.Timestamp":
        return {"type": "string", "format": "date-time"}
    return _message_schema(message)


# ------------------------------------------------------------------ components

RECORD = {
    "id": _S,
    "origin": {"type": "string", "description": "network code of the owning node"},
    "version": {"type": "integer"},
    "created_at": _TS,
    "updated_at": _TS,
    "last_verified_at": _TS,
    "visibility": {"type": "string", "enum": ["public", "network", "federation", "private"]},
    "provenance": {"$ref": "#/components/schemas/Provenance"},
}

COMPONENTS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "properties": {
            "type": _S,
            "title": _S,
            "status": {"type": "integer"},
            "detail": _S,
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": _S, "message": _S},
                    "required": ["field", "message"],
                },
            },
            "owner": {
                **_S,
                "description": "the network that owns the record, when only it may change it",
            },
        },
        "required": ["type", "title", "status", "detail"],
    },
    "Provenance": {
        "type": "object",
        "description": "present on replicated records only",
        "properties": {"origin": _S, "verified": {"type": "boolean"}, "synced_at": _TS},
        "required": ["origin", "verified", "synced_at"],
    },
    "Authority": {
        "type": "object",
        "properties": {
            **RECORD,
            "jurisdiction": _S,
            "name": _S,
            "kind": _S,
            "competences": _STRS,
            "accepted_languages": _STRS,
            "email": _S,
            "phone": _S,
            "address": _S,
            "website": _S,
            "available_24_7": {"type": "boolean"},
        },
    },
    "ContactPoint": {
        "type": "object",
        "properties": {
            **RECORD,
            "authority_id": _S,
            "jurisdiction": _S,
            "name": _S,
            "title": _S,
            "languages": _STRS,
            "competences": _STRS,
            "email": _S,
            "phone": _S,
            "available_24_7": {"type": "boolean"},
            "term_end": _NS,
            "successor_id": _NS,
            "met_at": {**_STRS, "description": "events the person attended"},
        },
    },
    "RoutingProfile": {
        "type": "object",
        "properties": {
            **RECORD,
            "jurisdiction": _S,
            "central_authority_id": _NS,
            "accepted_languages": _STRS,
            "channels": {"type": "array", "items": {"$ref": "#/components/schemas/Channel"}},
            "legal_bases": _STRS,
            "measures": {"type": "array", "items": {"$ref": "#/components/schemas/MeasureProfile"}},
            "acknowledgement_days": {"type": "integer"},
            "urgent_procedure": _S,
            "standing": {
                "type": ["string", "null"],
                "enum": ["own_network", "reference_network", "other_network", None],
                "description": "why this profile is served for the state: this node's own, "
                "from a network the reference data lists the state in, or another peer's",
            },
            "alternatives": {
                "type": "array",
                "description": "other networks' profiles for the state, each with its "
                "provenance, in order of preference (never chosen by last_verified_at)",
                "items": {"$ref": "#/components/schemas/RoutingProfile"},
            },
        },
    },
    "Network": {
        "type": "object",
        "properties": {
            "code": _S,
            "name": _S,
            "region": _S,
            "secretariat": _S,
            "website": _S,
            "working_languages": _STRS,
            "founding_instrument": _S,
            "partner_networks": _STRS,
            "is_local": {"type": "boolean"},
            "members": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"jurisdiction": _S, "since": _NS, "until": _NS},
                    "required": ["jurisdiction", "since", "until"],
                },
            },
        },
    },
    "Jurisdiction": {
        "type": "object",
        "properties": {
            "code": _S,
            "name": _S,
            "official_languages": _STRS,
            "legal_tradition": _NS,
            "networks": _STRS,
            "routing_profile": {"$ref": "#/components/schemas/RoutingProfile"},
        },
    },
}

COMPONENTS["LookupItem"] = {
    "description": "an authority or a contact point (record_type), with its rank: the "
    "fields of the one it is",
    "type": "object",
    "properties": {
        **COMPONENTS["Authority"]["properties"],
        **COMPONENTS["ContactPoint"]["properties"],
        "record_type": {"type": "string", "enum": ["authority", "contact_point"]},
        "score": {"type": "number"},
        "matched": _STRS,
    },
    "required": [
        *(p for p in RECORD if p != "provenance"),
        "jurisdiction",
        "name",
        "record_type",
        "score",
        "matched",
    ],
}
COMPONENTS["Event"] = {
    "type": "object",
    "properties": {
        **RECORD,
        "title": _S,
        "kind": {"type": "string", "enum": list(bodies.EVENT_KINDS)},
        "description": _S,
        "starts_at": {"type": "string", "description": "RFC 3339 in the event's own offset"},
        "ends_at": _S,
        "starts_at_utc": {"type": "string", "format": "date-time"},
        "ends_at_utc": {"type": "string", "format": "date-time"},
        "timezone": {"type": "string", "description": "IANA"},
        "venue": {"oneOf": [{"$ref": "#/components/schemas/Venue"}, {"type": "null"}]},
        "online_url": _NS,
        "languages": _STRS,
        "interpretation": _STRS,
        "agenda": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"title": _S, "starts_at": _NS, "description": _S},
                "required": ["title", "starts_at", "description"],
            },
        },
        "documents": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"title": _S, "url": _S, "language": _NS},
                "required": ["title", "url", "language"],
            },
        },
        "capacity": {"type": "integer", "description": "0: no limit"},
        "registration_deadline": _NS,
        "confirmed": {"type": ["integer", "null"]},
        "waitlisted": {"type": ["integer", "null"]},
    },
}
COMPONENTS["Registration"] = {
    "type": "object",
    "properties": {
        "id": _S,
        "event_id": _S,
        "event_origin": _S,
        "event_title": _S,
        "network": _S,
        "name": _S,
        "email": _NS,
        "contact_point_id": _NS,
        "state": {
            "type": "string",
            "enum": ["confirmed", "waitlisted", "cancelled", "pending", "refused", "failed"],
        },
        "waitlist_position": {"type": ["integer", "null"]},
        "attended": {"type": "boolean"},
        "details_confirmed": {"type": "boolean"},
        "recorded_on_contact_point": {"type": "boolean"},
        "attended_at": _TS,
        "reason": _NS,
        "created_at": _TS,
        "updated_at": _TS,
    },
}

# What gateway.render always writes: each record's members but these are required.
_OPTIONAL = {
    "Authority": ("provenance",),
    "ContactPoint": ("provenance",),
    "RoutingProfile": ("provenance",),
    "Network": (),
    "Jurisdiction": ("routing_profile",),
    "Event": ("provenance",),
    "Registration": (),
}
for _name, _optional in _OPTIONAL.items():
    _component = COMPONENTS[_name]
    _component["required"] = [p for p in _component["properties"] if p not in _optional]

# Input schemas the response components refer to (Venue, Channel, MeasureProfile); every
# operation's own body is a component too (build), so no operation refers to a missing one.
INPUTS: list[Obj] = [bodies.EVENT, bodies.ROUTING_PROFILE]


def _operation(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": [p.openapi() for p in op.query],
        "responses": {},
    }
    # The role the registry enforces before the handler runs (gateway.api.guarded).
    out["x-justnet-role"] = op.role
    if op.role != "anonymous":
        out["security"] = [{"bearer": []}]
        out["description"] = f"Needs a token with the `{op.role}` role (or higher)."
    else:
        out["security"] = [{}, {"bearer": []}]
    for name in re.findall(r"\{(\w+)\}", op.path):
        out["parameters"].append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "maxLength": 100},
            }
        )
    if op.method in ("PUT", "DELETE"):
        out["parameters"].append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": "the ETag of the version being replaced",
                "schema": _S,
            }
        )
    if op.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.body.openapi()}},
        }
    success: dict[str, Any] = {"description": "OK"}
    if op.success != 204:
        success["content"] = {op.content_type: {"schema": op.response}}
        for media, schema in op.alternatives.items():
            success["content"][media] = {"schema": schema}
    if op.etag and op.success != 204:
        success["headers"] = {"ETag": {"schema": _S, "description": "the record's version"}}
    out["responses"][str(op.success)] = success
    for status in op.errors:
        out["responses"][str(status)] = {
            "description": ERROR_STATUSES[status],
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
    return out


def build(operations: list[Operation], network: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    schemas = dict(COMPONENTS)
    for obj in [*INPUTS, *(op.body for op in operations if op.body is not None)]:
        for inner in [obj, *obj.nested()]:
            schemas[inner.name] = inner.component()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"JustNet node {network}",
            "version": VERSION,
            "description": "Directory, MLA routing and requests, events and federation of a "
            "judicial-cooperation network. Every response carries X-Trace-Id.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
