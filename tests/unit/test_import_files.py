"""Import files are parsed row by row; shape errors name the row and column."""

from __future__ import annotations

import csv
import io
import json

import pytest
from justnet.directory.v1 import directory_pb2

from services.common import directory_files
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


def test_csv_export_neutralises_formulas_and_the_import_gives_them_back() -> None:
    """OWASP's CSV injection rule: a cell a spreadsheet would read as a formula starts with
    an apostrophe in the export; the import takes it off again, so the round trip is exact."""
    authority = directory_pb2.Authority(
        jurisdiction="TH",
        name='=HYPERLINK("http://evil.example","click")',
        kind="court",
        competences=["mla"],
        phone="+66 2 141 1111",
        address="@home",
        website="'quoted",
        email="-1+1@th.justnet.example",
    )
    authority.meta.id = "a-1"
    contact = directory_pb2.ContactPoint(
        authority_id="a-1", jurisdiction="TH", name="\tTab", title="-", phone="+66812345678"
    )
    contact.meta.id = "c-1"
    text = files.export_csv([authority], [contact])

    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == [], dangerous
    assert "'+66 2 141 1111" in cells and "'=HYPERLINK(" in text and "''quoted" in cells

    parsed = files.parse_csv(text)
    assert parsed.errors == []
    back_a, back_c = parsed.rows[0].authority, parsed.rows[1].contact_point
    assert back_a.name == authority.name and back_a.phone == "+66 2 141 1111"
    assert (back_a.address, back_a.website, back_a.email) == ("@home", "'quoted", authority.email)
    assert (back_c.name, back_c.title, back_c.phone) == ("\tTab", "-", "+66812345678")
    assert back_a.meta.id == "a-1" and list(back_a.competences) == ["mla"]


def test_a_file_over_the_row_limit_is_refused_whole_in_either_format(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A JSON file over the limit used to import its first rows and drop the rest silently.
    monkeypatch.setattr(directory_files, "MAX_ROWS", 3)
    point = {"jurisdiction": "TH", "name": "A"}
    over = files.parse_json(json.dumps({"contact_points": [point] * 4}))
    assert over.rows == [] and [e.message for e in over.errors] == ["more than 3 rows"]
    assert len(files.parse_json(json.dumps({"contact_points": [point] * 3})).rows) == 3
    header = "record_type,jurisdiction,name\n"
    csv_over = files.parse_csv(header + "contact_point,TH,A\n" * 4)
    assert "more than 3 rows" in [e.message for e in csv_over.errors]
