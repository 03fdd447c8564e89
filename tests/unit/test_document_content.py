"""A document's type is judged by its bytes (services/requests/documents/content.py), and
sealed documents open only with their own key and label (sealing.py)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from services.common.errors import Unavailable
from services.requests.documents import content
from services.requests.documents.sealing import Sealer


def archive(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return out.getvalue()


ODT = archive({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})
DOCX = archive({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
XLSX = archive({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"})


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"%PDF-1.4\n...", "letter.pdf", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "scan.png", "image/png"),
        (b"\xff\xd8\xff\xe0....", "photo.JPG", "image/jpeg"),
        (b"II*\x00....", "scan.tif", "image/tiff"),
        (b"MM\x00*....", "scan.tiff", "image/tiff"),
        (ODT, "order.odt", "application/vnd.oasis.opendocument.text"),
        (DOCX, "order.docx", content.OOXML["word/document.xml"]),
        (XLSX, "accounts.xlsx", content.OOXML["xl/workbook.xml"]),
        ("Compte n° 42\nTél. +33 1 23\n".encode(), "notes.txt", "text/plain"),
        (b"%PDF-1.7\n", "no-extension", "application/pdf"),
    ],
)
def test_accepted_types_by_content(data: bytes, filename: str, expected: str) -> None:
    assert content.check(data, filename, "") == expected


@pytest.mark.parametrize(
    ("data", "filename", "declared", "says"),
    [
        (b"MZ\x90\x00binary", "tool.exe", "", "not an accepted document type"),
        (b"MZ\x90\x00binary", "letter.pdf", "", "not an accepted document type"),
        (b"<html><script>x</script></html>", "page.html", "", "not accepted"),
        (archive({"a.txt": b"x"}), "bundle.zip", "", "no office document"),
        (archive({"a.txt": b"x"}), "letter.docx", "", "no office document"),
        (b"PK\x03\x04broken", "letter.docx", "", "damaged"),
        (b"\x89PNG\r\n\x1a\n....", "letter.pdf", "", "the name says .pdf"),
        (b"%PDF-1.4", "letter.pdf", "image/png", "sent as image/png"),
        (b"text with a \x00 byte", "notes.txt", "", "not an accepted"),
        ("caf\xe9".encode("latin-1"), "notes.txt", "", "not an accepted"),
        (b"", "empty.txt", "", "not an accepted"),
    ],
)
def test_refused_types_say_why(data: bytes, filename: str, declared: str, says: str) -> None:
    with pytest.raises(content.NotAccepted, match=says):
        content.check(data, filename, declared)


def test_a_vague_declared_type_is_no_objection() -> None:
    assert content.check(b"%PDF-1.4", "a.pdf", "application/octet-stream") == content.PDF
    assert content.check(b"plain", "a.txt", "text/plain; charset=utf-8") == content.TEXT


def test_sealed_bytes_open_only_with_their_key_and_label(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "documents.key"
    sealer = Sealer(key)
    sealed = sealer.seal("a" * 64, b"secret bytes")
    assert b"secret" not in sealed
    assert key.stat().st_mode & 0o777 == 0o600
    assert Sealer(key).open("a" * 64, sealed) == b"secret bytes"  # the key persists
    with pytest.raises(InvalidTag):
        sealer.open("b" * 64, sealed)  # moved under another hash
    with pytest.raises(InvalidTag):
        Sealer(tmp_path / "other.key").open("a" * 64, sealed)


def test_a_key_that_cannot_be_made_is_a_clear_unavailable(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("a file where the keys folder should be")  # unwritable, even for root
    with pytest.raises(Unavailable, match=r"documents\.key is missing and cannot be made"):
        Sealer(keys / "documents.key").seal("a" * 64, b"x")
