"""Request body and query schemas: one declaration checks JSON types and documents the API.

The gateway checks shape and JSON types here (and names the field on failure); the
owning service checks meaning (codes, formats, references), so each rule lives once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.common.errors import FieldError, InvalidInput

# Fields a client may send back unchanged from a GET; they are ignored on write.
READ_ONLY = frozenset(
    {"id", "origin", "version", "created_at", "updated_at", "last_verified_at", "provenance"}
)


class Type:
    def check(self, value: Any, path: str, errors: list[FieldError]) -> Any:
        raise NotImplementedError

    def openapi(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class Str(Type):
    max_len: int = 500
    enum: Sequence[str] = ()
    fmt: str = ""
    description: str = ""
    example: str = ""

    def check(self, value: Any, path: str, errors: list[FieldError]) -> Any:
        if value is None:
            return ""
        if not isinstance(value, str):
            errors.append(FieldError(path, f"must be a string, not {_json_type(value)}"))
            return ""
        if not is_unicode(value):
            errors.append(FieldError(path, "must be valid Unicode (no lone surrogates)"))
            return ""
        if len(value) > self.max_len:
            errors.append(FieldError(path, f"must be at most {self.max_len} characters"))
        return value

    def openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string", "maxLength": self.max_len}
        if self.enum:
            out["enum"] = list(self.enum)
        if self.fmt:
            out["format"] = self.fmt
        if self.description:
            out["description"] = self.description
        if self.example:
            out["examples"] = [self.example]
        return out


@dataclass(frozen=True)
class Bool(Type):
    description: str = ""

    def check(self, value: Any, path: str, errors: list[FieldError]) -> Any:
        if value is None:
            return False
        if not isinstance(value, bool):
            errors.append(FieldError(path, f"must be true or false, not {_json_type(value)}"))
            return False
        return value

    def openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "boolean"}
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Int(Type):
    minimum: int = 0
    maximum: int = 2**31 - 1
    description: str = ""

    def check(self, value: Any, path: str, errors: list[FieldError]) -> Any:
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(FieldError(path, f"must be an integer, not {_json_type(value)}"))
            return 0
        if not self.minimum <= value <= self.maximum:
            errors.append(FieldError(path, f"must be between {self.minimum} and {self.maximum}"))
            return 0
        return value

    def openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Arr(Type):
    items: Type
    max_items: int = 100

    def check(self, value: Any, path: str, errors: list[FieldError]) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            errors.append(FieldError(path, f"must be an array, not {_json_type(value)}"))
            return []
        if len(value) > self.max_items:
            errors.append(FieldError(path, f"must have at most {self.max_items} items"))
            return []
        return [self.items.check(v, f"{path}[{i}]", errors) for i, v in enumerate(value)]

    def openapi(self) -> dict[str, Any]:
        return {"type": "array", "items": self.items.openapi(), "maxItems": self.max_items}


@dataclass(frozen=True)
class Obj(Type):
    name: str
    fields: Mapping[str, Type]
    required: Sequence[str] = ()
    description: str = ""
    allow_read_only: bool = True
    optional: bool = False  # a nested object that may be left out (null or absent)

    def check(self, value: Any, path: str, errors: list[FieldError]) -> Any:
        prefix = f"{path}." if path else ""
        if value is None and self.optional and path:
            return {}
        if not isinstance(value, dict):
            errors.append(FieldError(path or "body", f"must be an object, not {_json_type(value)}"))
            return {}
        out: dict[str, Any] = {}
        for key in value:
            if key not in self.fields and not (self.allow_read_only and key in READ_ONLY):
                shown = key if is_unicode(key) else key.encode("utf-8", "replace").decode()
                errors.append(FieldError(f"{prefix}{shown[:100]}", "unknown field"))
        for key in self.required:
            if value.get(key) in (None, ""):
                errors.append(FieldError(f"{prefix}{key}", "is required"))
        for key, typ in self.fields.items():
            out[key] = typ.check(value.get(key), f"{prefix}{key}", errors)
        return out

    def openapi(self) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{self.name}"}

    def component(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "object",
            "properties": {k: t.openapi() for k, t in self.fields.items()},
            "additionalProperties": False,
        }
        if self.allow_read_only:
            # Clients may send back what they read; these are ignored on write.
            for key in READ_ONLY:
                out["properties"].setdefault(key, {"readOnly": True})
        if self.required:
            out["required"] = list(self.required)
        if self.description:
            out["description"] = self.description
        return out

    def nested(self) -> list[Obj]:
        found: list[Obj] = []
        for typ in self.fields.values():
            inner = typ.items if isinstance(typ, Arr) else typ
            if isinstance(inner, Obj):
                found.extend([inner, *inner.nested()])
        return found


def is_unicode(value: str) -> bool:
    """False for strings JSON allows but UTF-8 cannot carry (lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_body(schema: Obj, body: Any) -> dict[str, Any]:
    errors: list[FieldError] = []
    value = schema.check(body, "", errors)
    if errors:
        raise InvalidInput(errors)
    result: dict[str, Any] = value
    return result


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


@dataclass(frozen=True)
class Param:
    """A query parameter: its name, type and documentation."""

    name: str
    kind: str = "string"  # string, integer, boolean
    description: str = ""
    enum: Sequence[str] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_len: int = 200
    extra: dict[str, Any] = field(default_factory=dict)

    def openapi(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.kind}
        if self.kind == "string":
            schema["maxLength"] = self.max_len
        if self.enum:
            schema["enum"] = list(self.enum)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        out: dict[str, Any] = {
            "name": self.name,
            "in": "query",
            "required": False,
            "schema": schema,
        }
        if self.description:
            out["description"] = self.description
        return out

    def parse(self, raw: str, errors: list[FieldError]) -> Any:
        if self.kind == "integer":
            try:
                value = int(raw)
            except ValueError:
                errors.append(FieldError(self.name, f"must be an integer, not {raw[:50]!r}"))
                return None
            lo = self.minimum if self.minimum is not None else -(2**63)
            hi = self.maximum if self.maximum is not None else 2**63
            if not lo <= value <= hi:
                errors.append(FieldError(self.name, f"must be between {lo} and {hi}"))
                return None
            return value
        if self.kind == "boolean":
            if raw.lower() in ("true", "1", "yes"):
                return True
            if raw.lower() in ("false", "0", "no"):
                return False
            errors.append(FieldError(self.name, "must be true or false"))
            return None
        if len(raw) > self.max_len:
            errors.append(FieldError(self.name, f"must be at most {self.max_len} characters"))
            return None
        if not is_unicode(raw):
            errors.append(FieldError(self.name, "must be valid Unicode"))
            return None
        if self.enum and raw and raw not in self.enum:
            errors.append(
                FieldError(self.name, f"{raw[:50]!r} is not one of {', '.join(self.enum)}")
            )
            return None
        return raw


def parse_query(params: Sequence[Param], query: Mapping[str, str]) -> dict[str, Any]:
    errors: list[FieldError] = []
    known = {p.name for p in params}
    for key in query:
        if key not in known:
            errors.append(FieldError(key, "unknown query parameter"))
    out: dict[str, Any] = {}
    for p in params:
        raw = query.get(p.name)
        out[p.name] = None if raw is None else p.parse(raw, errors)
    if errors:
        raise InvalidInput(errors)
    return out
