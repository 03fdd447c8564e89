"""A response body against the schema the node's OpenAPI document gives it, closed:
a field served but not documented is an error too (the fuzz and the integration tests)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator


def closed(schema: Any) -> Any:
    """`schema` with every object that does not say otherwise closed to undocumented
    members (`additionalProperties: false`). The node's document leaves its objects
    open (API.md: fields may be added); a test checks against this copy, so a field
    served but not documented is a break, and so is an object documented without members.
    """
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: closed(value) for key, value in schema.items()}
    types = out.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    if (is_object or "properties" in out) and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def body_errors(doc: dict[str, Any], method: str, path: str, status: int, body: Any) -> list[str]:
    """What in `body`, answered `status` to `method path`, breaks the closed schema the
    document gives it (its `$ref`s resolve against the document's components)."""
    response = doc["paths"][path][method.lower()]["responses"][str(status)]
    schema = closed(response["content"]["application/json"]["schema"])
    validator = Draft202012Validator(
        {**schema, "components": closed(doc["components"])},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    return [
        f"{method} {path} {status} at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
        for e in validator.iter_errors(body)
    ]
