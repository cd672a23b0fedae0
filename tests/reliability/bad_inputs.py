"""The bad-input catalogue: every kind of hostile or broken input a doctor's workstation
meets, generated here (nothing is read from outside the test's own folder), and the code
that runs each kind through the paths a doctor uses.

Three families:

* FILE_KINDS: files attached to a new case (CaseService.create_case: content sniffing and
  size checks), then analysed by the durable job (AnalysisJobs), and the same files given
  to `analyze --json`.
* FIELD_KINDS: patient fields typed into the new-case form (the service validates).
* SEARCH_KINDS: what a doctor may type into the case list's search box (CaseQuery).

The expectations (`expect`, `says`) are what the test holds the app to; the outcome
messages printed in the README table come from running the real app
(tests/reliability/outcomes_table.py), never from this file.

Malformed and failing server answers are in tests/sync/server_faults.py (run through a
real sync round against the reference server on 127.0.0.1) and in the same table.
"""

from __future__ import annotations

import io
import os
import random
import sqlite3
import struct
import sys
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript

from medmitra_desktop.domain.enums import DocumentCategory
from medmitra_desktop.domain.errors import MedMitraError, ValidationError
from medmitra_desktop.domain.records import CaseQuery, NewAttachment
from tests.factories import LAB_LINES, scanned_page, text_pdf

# Statuses a document ends in after analysis; "refused" means the attach was refused.
REFUSED = "refused"
MARKER_WORD = "Zebrafinch"  # a word in the good documents, for search checks

# Words that would mean a message is a crash report dressed up, not an explanation.
NOT_A_MESSAGE = ("Traceback", "unexpected problem", "Exception", "Error(", "errno",
                 "object at 0x")


# ---- PDFs written by hand ----------------------------------------------------------------


def pdf_bytes(objects: Iterable[bytes], *, root: int = 1, trailer_extra: bytes = b"",
              prev: int | None = None) -> bytes:
    """A classic PDF: the numbered objects, an xref table and a trailer. Written by hand
    so that hostile structures (loops, 20,000 pages) cost milliseconds to make."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    bodies = list(objects)
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    previous = b"" if prev is None else b"/Prev %d " % prev
    out += (b"trailer\n<< /Size %d /Root %d 0 R %s%s>>\nstartxref\n%d\n%%%%EOF\n"
            % (len(bodies) + 1, root, previous, trailer_extra, xref))
    return bytes(out)


def _text_stream(text: str) -> bytes:
    content = b"BT /F1 11 Tf 60 760 Td (%s) Tj ET" % text.encode("latin-1")
    return b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
_PAGE = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
         b"/Resources << /Font << /F1 4 0 R >> >> >>")


def many_pages_pdf(path: Path, pages: int) -> Path:
    """`pages` pages sharing one content stream: 20,000 pages is about 3 MB."""
    first_page = 5
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Count %d /Kids [%s] >>" % (pages, kids),
               _text_stream("Hemoglobin 13.5 g/dL 13.0 - 17.0"), _FONT]
    objects += [_PAGE] * pages
    path.write_bytes(pdf_bytes(objects))
    return path


def page_tree_loop_pdf(path: Path) -> Path:
    """The page tree names itself as its own child: a naive walk never ends."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Count 2 /Kids [2 0 R 5 0 R] >>",
               _text_stream("loop"), _FONT, _PAGE]
    path.write_bytes(pdf_bytes(objects))
    return path


def xref_loop_pdf(path: Path) -> Path:
    """The trailer's /Prev points back at the same cross-reference table, for ever."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Count 1 /Kids [5 0 R] >>",
               _text_stream("xref loop"), _FONT, _PAGE]
    data = pdf_bytes(objects)
    xref_at = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    path.write_bytes(pdf_bytes(objects, prev=xref_at))
    return path


def zero_pages_pdf(path: Path) -> Path:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Count 0 /Kids [] >>"]
    path.write_bytes(pdf_bytes(objects))
    return path


def flate_bomb_pdf(path: Path, megabytes: int = 100) -> Path:
    """One page whose 100 KB content stream inflates to 100 MB of blanks."""
    compressor = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    packed = b"".join(compressor.compress(chunk) for _ in range(megabytes)) + compressor.flush()
    stream = (b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed
              + b"\nendstream")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Count 1 /Kids [5 0 R] >>", stream, _FONT, _PAGE]
    path.write_bytes(pdf_bytes(objects))
    return path


def huge_page_pdf(path: Path) -> Path:
    """A page of 200 x 200 inches (the largest PDF allows) with no text: 3.6 gigapixels
    if drawn at 300 dpi for OCR."""
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] /Contents 3 0 R "
            b"/Resources << >> >>")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Count 1 /Kids [4 0 R] >>",
               b"<< /Length 0 >>\nstream\n\nendstream", page]
    path.write_bytes(pdf_bytes(objects))
    return path


def good_pdf(path: Path) -> Path:
    return text_pdf(path, [*LAB_LINES, f"Remarks: {MARKER_WORD}"])


def _rewrite(path: Path, change: Callable[[PdfWriter], None]) -> Path:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(good_pdf(path).read_bytes())))
    change(writer)
    with path.open("wb") as stream:
        writer.write(stream)
    return path


def javascript_pdf(path: Path) -> Path:
    """Opens with a JavaScript action (what a phishing PDF does)."""
    return _rewrite(path, lambda writer: writer.add_open_action(JavaScript(
        "app.launchURL('http://127.0.0.1/x', true); this.exportDataObject({cName: 'a'});")))


def embedded_file_pdf(path: Path) -> Path:
    """Carries an embedded 'program' as an attachment."""
    return _rewrite(path, lambda writer: writer.add_attachment(
        "setup.exe", b"MZ" + b"\x00" * 512))


def encrypted_pdf(path: Path, *, user_password: str) -> Path:
    return _rewrite(path, lambda writer: writer.encrypt(
        user_password=user_password, owner_password="owner-secret", algorithm="AES-256"))


def truncated_pdf(path: Path) -> Path:
    """A two-page report cut off during a download: the first page and the catalog
    arrived, the cross-reference table did not."""
    good = text_pdf(path, [*LAB_LINES, f"Remarks: {MARKER_WORD}"])
    data = good.read_bytes()
    path.write_bytes(data[: data.rindex(b"xref")])
    return path


def cut_early_pdf(path: Path) -> Path:
    path.write_bytes(good_pdf(path).read_bytes()[:300])
    return path


def garbage_pdf(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.4\n" + random.Random(9).randbytes(6000))
    return path


# ---- images ------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A 1-bit PNG header claiming 10 gigapixels; a few hundred bytes on disk."""
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(16)) + compressor.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                     + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b""))
    return path


def tiff_bomb(path: Path, width: int = 200_000, height: int = 200_000) -> Path:
    """An uncompressed TIFF header claiming 40 gigapixels, pointing at 8 bytes of data."""
    entries = [  # tag, type (3 short, 4 long), count, value
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
        (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height),
        (279, 4, 1, 8),
    ]
    header = b"II*\x00" + struct.pack("<I", 16)
    data = b"\xff" * 8
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<HI", value, 0)[:4] if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    path.write_bytes(header + data + ifd)
    return path


def scan_png(path: Path) -> Path:
    scanned_page(LAB_LINES[:3], width=1200).save(path, format="PNG", dpi=(300, 300))
    return path


def truncated_png(path: Path) -> Path:
    data = scan_png(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def bad_crc_png(path: Path) -> Path:
    data = bytearray(scan_png(path).read_bytes())
    start = data.index(b"IDAT") + 40
    data[start:start + 16] = bytes(16)
    path.write_bytes(bytes(data))
    return path


def truncated_jpeg(path: Path) -> Path:
    buffer = io.BytesIO()
    scanned_page(LAB_LINES[:3], width=1200).save(buffer, format="JPEG", quality=80)
    path.write_bytes(buffer.getvalue()[:600])
    return path


def tiny_png(path: Path) -> Path:
    Image.new("L", (1, 1), 255).save(path, format="PNG")
    return path


def gif_image(path: Path) -> Path:
    Image.new("L", (20, 20), 255).save(path, format="GIF")
    return path


def webp_image(path: Path) -> Path:
    path.write_bytes(b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32)
    return path


# ---- wrong extensions, names -------------------------------------------------------------


def zip_archive(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04" + b"\x14\x00" * 40)
    return path


def elf_program(path: Path) -> Path:
    path.write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 200)
    return path


def windows_program(path: Path) -> Path:
    path.write_bytes(b"MZ\x90\x00" + b"\x00" * 200)
    return path


def dicom_image(path: Path) -> Path:
    path.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00" + b"\x00" * 120)
    return path


def random_binary(path: Path) -> Path:
    path.write_bytes(random.Random(3).randbytes(5000))
    return path


def html_page(path: Path) -> Path:
    path.write_text("<html><body><h1>Lab</h1><script>alert(1)</script>"
                    "<p>Hemoglobin 9.1 g/dL 13.0 - 17.0</p></body></html>\n", encoding="utf-8")
    return path


def empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def sparse_gigabyte(path: Path) -> Path:
    """1 GiB that takes no disk space: a hole, as `truncate -s 1G` makes."""
    with path.open("wb") as handle:
        handle.truncate(1024 ** 3)
    return path


def non_utf8_named(directory: Path) -> Path:
    """A file whose name is not valid UTF-8 (Linux allows any bytes but '/' and NUL):
    Python sees it with surrogate escapes."""
    raw = os.fsencode(directory) + b"/lab-\xff\xfe-report.pdf"
    good = good_pdf(directory / "for-non-utf8.pdf")
    os.rename(good, raw)
    return Path(os.fsdecode(raw))


def long_named(directory: Path) -> Path:
    """Near the longest name ext4 allows (255 bytes): 83 three-byte letters and '.pdf'."""
    return good_pdf(directory / ("क" * 83 + ".pdf"))


def control_named(directory: Path) -> Path:
    """A name with a newline, a tab and a right-to-left override (a 'fdp.exe' trick)."""
    return good_pdf(directory / "lab\n\treport\u202eexe.pdf")


def backslash_named(directory: Path) -> Path:
    r"""Backslashes are ordinary characters on Linux: '..\..\Windows\lab.pdf' is one name."""
    return good_pdf(directory / "..\\..\\Windows\\lab.pdf")


# ---- text and CSV ------------------------------------------------------------------------


def csv_formulas(path: Path) -> Path:
    """Cells a spreadsheet would run as formulas (CSV injection)."""
    path.write_text(
        "test,value,unit,range\n"
        "Hemoglobin,9.1,g/dL,13.0-17.0\n"
        "=cmd|' /C calc'!A0,1,x,y\n"
        "+HYPERLINK(\"http://127.0.0.1\"),2,x,y\n"
        "@SUM(1+1)*cmd|' /C calc'!A0,3,x,y\n"
        "-2+3+cmd|' /C calc'!A0,4,x,y\n", encoding="utf-8")
    return path


def utf16_csv(path: Path) -> Path:
    path.write_bytes("test,value,unit\nCreatinine,88,µmol/L\nSodium,139,mmol/L\n"
                     .encode("utf-16"))
    return path


def latin1_text(path: Path) -> Path:
    path.write_bytes("Glucose fasting 98 mg/dL 70-100\nNotes: caf\xe9, 37\xb0C\n"
                     .encode("latin-1"))
    return path


def text_with_nul(path: Path) -> Path:
    path.write_bytes(b"Hemoglobin 9.1 g/dL\x00\x00\x00 13.0 - 17.0\n")
    return path


def one_long_line(path: Path) -> Path:
    """500 KB of report text without a single line break."""
    words = ("Hemoglobin 9.1 g/dL 13.0 - 17.0 . " * 15_000)[:500_000]
    path.write_text(words, encoding="utf-8")
    return path


# ---- the catalogue -----------------------------------------------------------------------


@dataclass(frozen=True)
class FileKind:
    """One kind of file. `make(directory)` writes it and returns its path; `expect` is the
    document's status after analysis ("ok", "failed", "needs_password") or REFUSED when
    attaching it is refused; `says` must appear in the message (the refusal or the
    document's error); `shown` is the name the doctor must see in that message."""

    key: str
    title: str
    make: Callable[[Path], Path]
    expect: str
    says: str | None = None
    shown: str | None = None  # default: the file's own name
    display_name: str | None = None  # the name the GUI or sync passed in, when not the file's
    stored_name: str | None = None  # the document's file_name once stored
    linux_only: bool = False


def _named(name: str, maker: Callable[[Path], Path]) -> Callable[[Path], Path]:
    return lambda directory: maker(directory / name)


FILE_KINDS: tuple[FileKind, ...] = (
    # PDFs
    FileKind("pdf-truncated", "PDF cut off mid-download (no xref, no trailer)",
             _named("truncated.pdf", truncated_pdf), "ok"),
    FileKind("pdf-cut-early", "PDF cut off after 300 bytes",
             _named("cut-early.pdf", cut_early_pdf), "failed", "damaged or incomplete"),
    FileKind("pdf-garbage", "PDF header followed by random bytes",
             _named("garbage.pdf", garbage_pdf), "failed", "damaged or incomplete"),
    FileKind("pdf-encrypted", "PDF encrypted with a user password (AES-256)",
             _named("locked.pdf", lambda p: encrypted_pdf(p, user_password="pw")),
             "needs_password", "password protected"),
    FileKind("pdf-owner-only", "PDF with an owner password only (printing restricted)",
             _named("restricted.pdf", lambda p: encrypted_pdf(p, user_password="")), "ok"),
    FileKind("pdf-javascript", "PDF with a JavaScript open action",
             _named("javascript.pdf", javascript_pdf), "ok"),
    FileKind("pdf-embedded-file", "PDF with an embedded .exe attachment",
             _named("embedded.pdf", embedded_file_pdf), "ok"),
    FileKind("pdf-xref-loop", "PDF whose xref /Prev chain loops",
             _named("xref-loop.pdf", xref_loop_pdf), "ok"),
    FileKind("pdf-page-tree-loop", "PDF whose page tree contains itself",
             _named("tree-loop.pdf", page_tree_loop_pdf), "ok"),
    FileKind("pdf-20000-pages", "PDF with 20,000 pages (3 MB)",
             _named("twenty-thousand.pdf", lambda p: many_pages_pdf(p, 20_000)), "failed",
             "has 20000 pages, more than the limit of 500"),
    FileKind("pdf-zero-pages", "PDF with an empty page tree",
             _named("no-pages.pdf", zero_pages_pdf), "failed", "damaged or incomplete"),
    FileKind("pdf-flate-bomb",
             "PDF whose 100 KB content stream inflates to 100 MB (read as a blank page)",
             _named("flate-bomb.pdf", flate_bomb_pdf), "ok"),
    FileKind("pdf-huge-page", "PDF page of 200 x 200 inches (3.6 gigapixels at 300 dpi)",
             _named("huge-page.pdf", huge_page_pdf), "failed", "too large to read safely"),
    # sizes
    FileKind("empty", "0-byte file", _named("empty.pdf", empty_file), REFUSED,
             "is empty (0 bytes)"),
    FileKind("sparse-1gb", "sparse 1 GB file",
             _named("sparse.pdf", sparse_gigabyte), REFUSED,
             "is 1024.0 MB; files must be at most 50 MB"),
    # images
    FileKind("png-bomb", "PNG header claiming 100,000 x 100,000 pixels",
             _named("bomb.png", png_bomb), "failed", "too large to read safely"),
    FileKind("tiff-bomb", "TIFF header claiming 200,000 x 200,000 pixels",
             _named("bomb.tif", tiff_bomb), "failed", "too large to read safely"),
    FileKind("png-truncated", "PNG cut in half", _named("half.png", truncated_png),
             "failed", "damaged or incomplete"),
    FileKind("png-bad-crc", "PNG with zeroed compressed data (bad CRC)",
             _named("bad-crc.png", bad_crc_png), "failed", "damaged or incomplete"),
    FileKind("jpeg-truncated", "JPEG cut after 600 bytes", _named("cut.jpg", truncated_jpeg),
             "failed", "damaged or incomplete"),
    FileKind("png-1x1", "1 x 1 pixel PNG", _named("dot.png", tiny_png), "ok"),
    FileKind("gif", "GIF image", _named("scan.gif", gif_image), REFUSED, "a GIF image"),
    FileKind("webp", "WEBP image", _named("photo.webp", webp_image), REFUSED,
             "a RIFF media file (WEBP image"),
    # wrong extensions
    FileKind("pdf-named-png", "PDF named .png", _named("report.png", good_pdf), "ok"),
    FileKind("png-named-pdf", "PNG scan named .pdf", _named("scan.pdf", scan_png), "ok"),
    FileKind("zip-named-pdf", "ZIP (or .docx) named .pdf", _named("report.pdf", zip_archive),
             REFUSED, "a ZIP archive (or a Word/Excel document)"),
    FileKind("elf-named-pdf", "Linux program named .pdf", _named("cbc.pdf", elf_program),
             REFUSED, "is a program"),
    FileKind("exe-named-jpg", "Windows program named .jpg",
             _named("xray.jpg", windows_program), REFUSED, "a Windows program"),
    FileKind("dicom-named-jpg", "DICOM image named .jpg", _named("ct.jpg", dicom_image),
             REFUSED, "a DICOM image"),
    FileKind("random-named-pdf", "random bytes named .pdf", _named("scan-001.pdf",
             random_binary), REFUSED, "a binary file of an unknown kind"),
    FileKind("html-named-pdf", "HTML page with a script, named .pdf",
             _named("portal.pdf", html_page), "ok"),
    # names
    FileKind("name-non-utf8", "file name that is not valid UTF-8 (bytes FF FE)",
             non_utf8_named, "ok", stored_name="lab--report.pdf", linux_only=True),
    FileKind("name-253-bytes", "file name of 253 bytes (83 Devanagari letters + .pdf)",
             long_named, "ok", stored_name="क" * 83 + ".pdf"),
    FileKind("name-control-chars", "file name with newline, tab and right-to-left override",
             control_named, "ok", stored_name="labreportexe.pdf"),
    FileKind("name-backslashes", r"file name '..\..\Windows\lab.pdf' (backslashes)",
             backslash_named, "ok", stored_name="lab.pdf"),
    FileKind("name-path-separators", "display name '../../etc/lab.pdf' (from a drop or sync)",
             _named("plain.pdf", good_pdf), "ok", display_name="../../etc/lab.pdf",
             stored_name="lab.pdf"),
    # text and CSV
    FileKind("csv-formulas", "CSV with formulas (=cmd|' /C calc'!A0, +, @, -)",
             _named("results.csv", csv_formulas), "ok"),
    FileKind("csv-utf16", "CSV in UTF-16 with a BOM", _named("labs.csv", utf16_csv), "ok"),
    FileKind("text-latin1", "text file in Latin-1 (not UTF-8)",
             _named("notes.txt", latin1_text), "ok"),
    FileKind("text-nul", "text with NUL bytes", _named("notes-nul.txt", text_with_nul),
             REFUSED, "a binary file of an unknown kind"),
    FileKind("text-one-long-line", "500 KB of text without a line break",
             _named("one-line.txt", one_long_line), "ok"),
)


@dataclass(frozen=True)
class FieldKind:
    """Patient fields typed into the new-case form. `refused` names the field that must be
    refused (None: accepted); `stored` is the name kept when accepted."""

    key: str
    title: str
    name: object = "Test Patient"
    age: object = 40
    gender: object = "female"
    summary: object = ""
    refused: str | None = None
    says: str | None = None
    stored: str | None = None
    search_by: tuple[str, ...] = ()  # each of these finds the case


NFD_NAME = "Jose\u0301 Nu\u0301n\u0303ez"  # "José Núñez" typed with combining accents
FIELD_KINDS: tuple[FieldKind, ...] = (
    FieldKind("name-rtl-arabic", "right-to-left patient name (Arabic)", name="فاطمة الزهراء",
              stored="فاطمة الزهراء", search_by=("فاطمة",)),
    FieldKind("name-rtl-hebrew-mixed", "mixed right-to-left and Latin name",
              name="דוד Cohen 2", stored="דוד Cohen 2", search_by=("דוד", "cohen")),
    FieldKind("name-combining", "name typed with combining accents (NFD)", name=NFD_NAME,
              stored="José Núñez", search_by=("José", NFD_NAME.split()[0], "nunez")),
    FieldKind("name-devanagari-zwj", "Devanagari name with zero-width joiners",
              name="क्\u200dष्\u200dमा राव", stored="क्\u200dष्\u200dमा राव", search_by=("राव",)),
    FieldKind("name-too-long", "patient name of 201 characters", name="A" * 201,
              refused="patient_name", says="at most 200 characters"),
    FieldKind("name-control", "patient name with a control character", name="Asha\x07 Verma",
              refused="patient_name", says="control characters"),
    FieldKind("name-blank", "patient name of spaces only", name="   ",
              refused="patient_name", says="is required"),
    FieldKind("age-negative", "age -1", age=-1, refused="patient_age", says="from 0 to 130"),
    FieldKind("age-131", "age 131", age=131, refused="patient_age", says="from 0 to 130"),
    FieldKind("age-zero", "age 0 (a newborn)", age=0, stored="Test Patient"),
    FieldKind("age-130", "age 130", age=130, stored="Test Patient"),
    FieldKind("age-huge", "age 10^30", age=10 ** 30, refused="patient_age",
              says="from 0 to 130"),
    FieldKind("age-exponent", "age typed as '1e3'", age="1e3", refused="patient_age",
              says="whole number"),
    FieldKind("age-arabic-digits", "age in Arabic-Indic digits '٤٥'", age="٤٥",
              refused="patient_age", says="whole number"),
    FieldKind("age-fraction", "age 45.5", age=45.5, refused="patient_age",
              says="whole number"),
    FieldKind("age-bool", "age True (a checkbox value)", age=True, refused="patient_age",
              says="whole number"),
    FieldKind("summary-nul", "notes with a NUL character", summary="fever\x00 3 days",
              refused="case_summary", says="control characters"),
    FieldKind("summary-too-long", "notes of 20,001 characters", summary="x" * 20_001,
              refused="case_summary", says="at most 20000 characters"),
)


@dataclass(frozen=True)
class SearchKind:
    key: str
    title: str
    text: str
    finds_marker: bool  # the case whose document holds MARKER_WORD is among the hits


SEARCH_KINDS: tuple[SearchKind, ...] = (
    SearchKind("fts-unbalanced-quote", 'unbalanced quote: "zebrafinch', '"zebrafinch', True),
    SearchKind("fts-near", "FTS5 NEAR(a b)", "NEAR(zebrafinch hemoglobin)", False),
    SearchKind("fts-or", "FTS5 operators: zebrafinch OR x", "zebrafinch OR x", False),
    SearchKind("fts-column", "FTS5 column filter: patient_name:x", "patient_name:zebra", False),
    SearchKind("fts-star", "a lone *", "*", False),
    SearchKind("fts-caret-minus", "^zebrafinch -x", "^zebrafinch -x", False),
    SearchKind("fts-parentheses", "zebrafinch AND (", "zebrafinch AND (", False),
    SearchKind("sql-injection", "'; DROP TABLE cases; --", "'; DROP TABLE cases; --", False),
    SearchKind("like-wildcards", "% and _ (LIKE wildcards)", "%_%", False),
    SearchKind("nul-in-search", "a NUL character in the search", "zebra\x00finch", False),
    SearchKind("very-long-search", "10,000-character search", "zebrafinch " + "a" * 10_000,
               False),
    SearchKind("prefix", "plain prefix (control): zebraf", "zebraf", True),
)


# ---- running the kinds through the app ---------------------------------------------------


@dataclass
class FileOutcome:
    kind: FileKind
    path: Path
    stage: str  # "attach" or "analysis"
    status: str  # REFUSED or the document status
    message: str | None
    case_id: str | None = None
    stored_name: str | None = None


@dataclass
class SuiteRun:
    """Everything one run of the catalogue produced, for assertions and the table."""

    directory: Path
    sentinel_case: str
    sentinel_lab_rows: int
    files: dict[str, FileOutcome] = field(default_factory=dict)
    control_cases: list[str] = field(default_factory=list)  # made after each refusal
    jobs_run: int = 0


def make_files(directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    made = {}
    for kind in active_file_kinds():
        made[kind.key] = kind.make(directory)
    return made


def active_file_kinds() -> tuple[FileKind, ...]:
    return tuple(kind for kind in FILE_KINDS
                 if not kind.linux_only or sys.platform.startswith("linux"))


def attach_kind(cases: object, kind: FileKind, path: Path) -> FileOutcome:
    """Create a case with the file as its lab report: refused with a message, or stored."""
    try:
        record = cases.create_case(  # type: ignore[attr-defined]
            user_id="dr-reliability", patient_name=f"Kind {kind.key}", patient_age=50,
            patient_gender="other",
            lab_files=[NewAttachment(path, DocumentCategory.LAB, kind.display_name)],
        )
    except ValidationError as error:
        return FileOutcome(kind, path, "attach", REFUSED, str(error))
    document = record.documents[0]
    return FileOutcome(kind, path, "analysis", "queued", None, record.case_id,
                       document.file_name)


def run_file_kinds(context: object, jobs: object, directory: Path) -> SuiteRun:
    """Attach every file kind to its own case, then analyse them all with the durable job
    service, as the window's worker does. A sentinel case analysed first must come out of
    it untouched; after each refusal an ordinary case must still save."""
    cases = context.cases  # type: ignore[attr-defined]
    directory.mkdir(parents=True, exist_ok=True)
    sentinel_pdf = good_pdf(directory / "sentinel.pdf")
    sentinel = cases.create_case(user_id="dr-reliability", patient_name="Sentinel Patient",
                                 patient_age=61, patient_gender="male",
                                 lab_files=[NewAttachment(sentinel_pdf, DocumentCategory.LAB)])
    while jobs.run_next() is not None:  # type: ignore[attr-defined]
        pass
    sentinel_rows = len(context.results.results(sentinel.case_id).labs)  # type: ignore[attr-defined]
    run = SuiteRun(directory, sentinel.case_id, sentinel_rows)
    paths = make_files(directory / "inputs")
    for kind in active_file_kinds():
        outcome = attach_kind(cases, kind, paths[kind.key])
        run.files[kind.key] = outcome
        if outcome.status == REFUSED:
            control = cases.create_case(user_id="dr-reliability",
                                        patient_name=f"After {kind.key}", patient_age=30,
                                        patient_gender="female", case_summary="")
            run.control_cases.append(control.case_id)
    while jobs.run_next() is not None:  # type: ignore[attr-defined]
        run.jobs_run += 1
    for outcome in run.files.values():
        if outcome.case_id is None:
            continue
        record = cases.get_case(outcome.case_id)
        document = record.documents[0]
        outcome.status = document.status.value
        outcome.message = document.error
    return run


def search_outcome(cases: object, kind: SearchKind) -> tuple[str, int]:
    """('ok', hits) or ('error', message) for one search."""
    try:
        page = cases.list_cases(CaseQuery(search=kind.text, size=50))  # type: ignore[attr-defined]
    except MedMitraError as error:
        return "error", str(error)  # type: ignore[return-value]
    return "ok", page.total


def integrity_check(database_path: Path) -> str:
    connection = sqlite3.connect(database_path)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


def is_clear_message(message: str | None) -> bool:
    return bool(message) and not any(word in message for word in NOT_A_MESSAGE)  # type: ignore[operator]
