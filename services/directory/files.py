"""Directory import and export files: the formats live in `services.common.directory_files`
(the CLI, the directory service and the gateway's console all read and write them); this
name is kept for the CLI and the benchmarks."""

from __future__ import annotations

from services.common.directory_files import (
    AUTHORITY_FIELDS,
    CONTACT_FIELDS,
    CSV_COLUMNS,
    LIST_FIELDS,
    MAX_ROWS,
    Parsed,
    ParseError,
    export_csv,
    export_json,
    parse,
    parse_csv,
    parse_json,
)

__all__ = [
    "AUTHORITY_FIELDS",
    "CONTACT_FIELDS",
    "CSV_COLUMNS",
    "LIST_FIELDS",
    "MAX_ROWS",
    "ParseError",
    "Parsed",
    "export_csv",
    "export_json",
    "parse",
    "parse_csv",
    "parse_json",
]
