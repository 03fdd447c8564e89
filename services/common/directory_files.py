"""Directory import and export files (CSV and JSON) <-> ImportRows.

CSV: one row per record, `record_type` says which (authority or contact_point); list
columns are separated by ';'. JSON: {"authorities": [...], "contact_points": [...]} or
a list of objects with "record_type". Shape errors are reported here by row and
column; the service checks meaning, and nothing is written unless every row passes.

CSV cells are safe to open in a spreadsheet (OWASP's CSV injection rule): a cell the export
writes that starts with `=`, `+`, `-`, `@`, a tab or a carriage return (an E.164 phone number
starts with `+`) gets a leading apostrophe, and so does one that starts with an apostrophe
already. The CSV import removes one leading apostrophe from every cell, so export -> import
gives back exactly what was exported; a hand-written cell that should start with an
apostrophe needs two. JSON is not escaped: it is not opened as a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from justnet.directory.v1 import directory_pb2

AUTHORITY_FIELDS = (
    "jurisdiction",
    "name",
    "kind",
    "competences",
    "accepted_languages",
    "email",
    "phone",
    "address",
    "website",
    "available_24_7",
    "visibility",
)
CONTACT_FIELDS = (
    "authority_id",
    "jurisdiction",
    "name",
    "title",
    "languages",
    "competences",
    "email",
    "phone",
    "available_24_7",
    "visibility",
    "term_end",
    "successor_id",
)
LIST_FIELDS = {"competences", "accepted_languages", "languages"}
CSV_COLUMNS = ("record_type", "id", *dict.fromkeys(AUTHORITY_FIELDS + CONTACT_FIELDS))
MAX_ROWS = 100_000
# A spreadsheet reads a cell starting with one of these as a formula; "'" is the escape itself.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def escape_cell(value: str) -> str:
    """The CSV cell for `value`: prefixed with an apostrophe if it could start a formula."""
    if value.startswith(FORMULA_STARTS) or value.startswith(ESCAPE):
        return ESCAPE + value
    return value


def unescape_cell(value: str) -> str:
    """The value of a CSV cell: `escape_cell` undone (one leading apostrophe removed)."""
    return value[1:] if value.startswith(ESCAPE) else value


@dataclass(frozen=True)
class ParseError:
    row: int
    column: str
    message: str


@dataclass(frozen=True)
class Parsed:
    rows: list[directory_pb2.ImportRow]
    errors: list[ParseError]
    labels: dict[int, str]  # row number -> where it is in the file


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("", "false", "no", "0"):
        return False
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1"):
        return True
    return None


def _row(
    number: int, record: dict[str, Any], errors: list[ParseError]
) -> directory_pb2.ImportRow | None:
    kind = str(record.get("record_type", "")).strip()
    if kind not in ("authority", "contact_point"):
        errors.append(ParseError(number, "record_type", "must be authority or contact_point"))
        return None
    fields = AUTHORITY_FIELDS if kind == "authority" else CONTACT_FIELDS
    values: dict[str, Any] = {}
    for name, raw in record.items():
        if name in ("record_type", "id") or raw is None or raw == "":
            continue
        if name not in fields:
            if name in CSV_COLUMNS:  # a column of the other record type, filled in
                errors.append(ParseError(number, name, f"not a field of a {kind}"))
            else:
                errors.append(ParseError(number, name, "unknown column"))
            continue
        if name == "available_24_7":
            flag = _bool(raw)
            if flag is None:
                errors.append(ParseError(number, name, "must be true or false"))
                continue
            values[name] = flag
        elif name in LIST_FIELDS:
            if isinstance(raw, str):
                values[name] = [p.strip() for p in raw.split(";") if p.strip()]
            elif isinstance(raw, list) and all(isinstance(p, str) for p in raw):
                values[name] = raw
            else:
                errors.append(ParseError(number, name, "must be a list of codes"))
        elif isinstance(raw, str):
            values[name] = raw
        else:
            errors.append(ParseError(number, name, "must be text"))
    record_id = record.get("id") or ""
    if not isinstance(record_id, str):
        errors.append(ParseError(number, "id", "must be text"))
        record_id = ""
    msg: Any = (
        directory_pb2.Authority(**values)
        if kind == "authority"
        else directory_pb2.ContactPoint(**values)
    )
    msg.meta.id = record_id.strip()
    return directory_pb2.ImportRow(row=number, **{kind: msg})


def parse(path: Path) -> Parsed:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        return parse_json(text)
    if path.suffix.lower() == ".csv":
        return parse_csv(text)
    raise ValueError(f"{path.name}: use a .csv or .json file")


def parse_csv(text: str) -> Parsed:
    reader = csv.DictReader(io.StringIO(text))
    errors: list[ParseError] = []
    rows: list[directory_pb2.ImportRow] = []
    labels: dict[int, str] = {}
    header = reader.fieldnames or []
    if "record_type" not in header:
        return Parsed(
            [], [ParseError(1, "record_type", "the header has no record_type column")], {}
        )
    for line, record in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            errors.append(ParseError(line, "", f"more than {MAX_ROWS} rows"))
            break
        if None in record:
            errors.append(ParseError(line, "", "more cells than header columns"))
            continue
        labels[line] = f"line {line}"
        cells = {k: unescape_cell((v or "").strip()) for k, v in record.items()}
        row = _row(line, cells, errors)
        if row is not None:
            rows.append(row)
    return Parsed(rows, errors, labels)


def parse_json(text: str) -> Parsed:
    try:
        data = json.loads(text)
    except ValueError as exc:
        return Parsed([], [ParseError(0, "", f"not valid JSON: {exc}")], {})
    items: list[tuple[str, dict[str, Any]]] = []
    errors: list[ParseError] = []
    if isinstance(data, dict):
        unknown = set(data) - {"authorities", "contact_points"}
        for key in sorted(unknown):
            errors.append(ParseError(0, key, "unknown top-level key"))
        for key, kind in (("authorities", "authority"), ("contact_points", "contact_point")):
            seq = data.get(key, [])
            if not isinstance(seq, list):
                errors.append(ParseError(0, key, "must be a list"))
                continue
            for i, item in enumerate(seq):
                label = f"{key}[{i}]"
                if isinstance(item, dict):
                    items.append((label, {"record_type": kind, **item}))
                else:
                    items.append((label, {"record_type": "?"}))
    elif isinstance(data, list):
        items = [
            (f"[{i}]", item if isinstance(item, dict) else {"record_type": "?"})
            for i, item in enumerate(data)
        ]
    else:
        errors.append(ParseError(0, "", "expected an object or a list"))
    if len(items) > MAX_ROWS:
        # Refused whole, as a CSV file is: importing the first rows would silently drop
        # the rest.
        return Parsed([], [*errors, ParseError(0, "", f"more than {MAX_ROWS} rows")], {})
    rows: list[directory_pb2.ImportRow] = []
    labels: dict[int, str] = {}
    for number, (label, item) in enumerate(items, start=1):
        labels[number] = label
        row = _row(number, item, errors)
        if row is not None:
            rows.append(row)
    return Parsed(rows, errors, labels)


def _export_record(kind: str, msg: Any) -> dict[str, Any]:
    fields = AUTHORITY_FIELDS if kind == "authority" else CONTACT_FIELDS
    out: dict[str, Any] = {"record_type": kind, "id": msg.meta.id}
    for name in fields:
        value = getattr(msg, name)
        out[name] = list(value) if name in LIST_FIELDS else value
    return out


def export_json(
    authorities: Iterable[directory_pb2.Authority], contacts: Iterable[directory_pb2.ContactPoint]
) -> str:
    data = {
        "authorities": [
            {k: v for k, v in _export_record("authority", a).items() if k != "record_type"}
            for a in authorities
        ],
        "contact_points": [
            {k: v for k, v in _export_record("contact_point", c).items() if k != "record_type"}
            for c in contacts
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def export_csv(
    authorities: Iterable[directory_pb2.Authority], contacts: Iterable[directory_pb2.ContactPoint]
) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for kind, records in (("authority", authorities), ("contact_point", contacts)):
        for msg in records:
            record = _export_record(kind, msg)
            for name in LIST_FIELDS & record.keys():
                record[name] = ";".join(record[name])
            record["available_24_7"] = "true" if record["available_24_7"] else "false"
            writer.writerow({k: escape_cell(str(v)) for k, v in record.items()})
    return out.getvalue()
