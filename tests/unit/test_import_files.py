"""Import files are parsed row by row; shape errors name the row and column."""

from __future__ import annotations

import json

from services.directory import files


def test_csv_rows_and_errors() -> None:
    text = (
        "record_type,id,jurisdiction,name,kind,competences,available_24_7,authority_id\n"
        "authority,,TH,OAG,central_authority,mla;extradition,false,\n"
        "contact_point,,TH,Somchai,police,mla,maybe,x\n"
        "person,,TH,Who,,,,\n"
    )
    parsed = files.parse_csv(text)
    assert [r.row for r in parsed.rows] == [2, 3]
    assert list(parsed.rows[0].authority.competences) == ["mla", "extradition"]
    errors = {(e.row, e.column) for e in parsed.errors}
    assert errors == {(3, "kind"), (3, "available_24_7"), (4, "record_type")}


def test_json_shapes() -> None:
    doc = {
        "authorities": [{"jurisdiction": "TH", "name": "OAG", "kind": "court"}],
        "contact_points": [{"name": 5, "languages": "en;th"}, "nonsense"],
        "extra": [],
    }
    parsed = files.parse_json(json.dumps(doc))
    assert parsed.labels == {1: "authorities[0]", 2: "contact_points[0]", 3: "contact_points[1]"}
    assert {(e.row, e.column) for e in parsed.errors} == {
        (0, "extra"),
        (2, "name"),
        (3, "record_type"),
    }
    assert list(parsed.rows[1].contact_point.languages) == ["en", "th"]
    assert files.parse_json("{").errors[0].message.startswith("not valid JSON")
