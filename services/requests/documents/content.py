"""What a document is, judged by its bytes (magic numbers), never by its name alone.

Accepted: PDF, PNG, JPEG, TIFF, OpenDocument and Office Open XML (zip containers), and
plain UTF-8 text. A name or declared media type that says something else is refused too,
so a court order named `.pdf` that is really a zip never passes as a PDF.
"""

from __future__ import annotations

import io
import zipfile

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
TEXT = "text/plain"
ODF_PREFIX = "application/vnd.oasis.opendocument."
OOXML = {
    "word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/presentation.xml": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    ),
}
# File name extensions and the types they may name.
EXTENSIONS = {
    "pdf": (PDF,),
    "png": (PNG,),
    "jpg": (JPEG,),
    "jpeg": (JPEG,),
    "tif": (TIFF,),
    "tiff": (TIFF,),
    "txt": (TEXT,),
    "odt": (ODF_PREFIX + "text",),
    "ods": (ODF_PREFIX + "spreadsheet",),
    "odp": (ODF_PREFIX + "presentation",),
    "docx": (OOXML["word/document.xml"],),
    "xlsx": (OOXML["xl/workbook.xml"],),
    "pptx": (OOXML["ppt/presentation.xml"],),
}
ACCEPTED = "PDF, PNG, JPEG, TIFF, OpenDocument, Office Open XML or UTF-8 text"
# Declared types that say nothing (browsers send these for unknown files).
VAGUE = ("", "application/octet-stream", "binary/octet-stream")
_TEXT_CONTROLS = frozenset(b"\t\n\r\f")
MAX_ZIP_ENTRIES = 10_000


class NotAccepted(ValueError):
    """The bytes are not an accepted type, or not the type their name or label says."""


def detect(data: bytes) -> str:
    """The media type of `data`; NotAccepted for anything outside the accepted list."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if data.startswith(b"PK\x03\x04"):
        return _zip_type(data)
    if data and _plain_text(data):
        return TEXT
    raise NotAccepted(f"not an accepted document type ({ACCEPTED})")


def _zip_type(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if len(names) > MAX_ZIP_ENTRIES:
                raise NotAccepted("a zip container with too many entries")
            if "mimetype" in names:
                mimetype = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
                if mimetype.startswith(ODF_PREFIX):
                    return mimetype
            if "[Content_Types].xml" in names:
                for part, media_type in OOXML.items():
                    if part in names:
                        return media_type
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        if isinstance(exc, NotAccepted):
            raise
        raise NotAccepted("a damaged zip container") from None
    raise NotAccepted(f"a zip file that is no office document ({ACCEPTED})")


def _plain_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(ord(c) < 32 and ord(c) not in _TEXT_CONTROLS for c in text)


def check(data: bytes, filename: str, declared_type: str) -> str:
    """The detected type, refused when the file's name or declared type says otherwise."""
    detected = detect(data)
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    allowed = EXTENSIONS.get(extension)
    if extension and allowed is None:
        raise NotAccepted(f"a .{extension[:10]} file is not accepted ({ACCEPTED})")
    if allowed is not None and detected not in allowed:
        raise NotAccepted(f"the content is {detected}, but the name says .{extension}")
    declared = declared_type.split(";", 1)[0].strip().lower()
    if declared not in VAGUE and declared != detected:
        raise NotAccepted(f"the content is {detected}, but it was sent as {declared[:80]}")
    return detected
