"""Seeds and mutators shared by the fuzz tests (test_fuzz.py) and the longer campaign
(tests/benchmarks/fuzz_campaign.py).

A crash is any of: an exception escaping the pipeline or a parser; the pipeline's
catch-all answer ("could not be read because of an unexpected problem"), which means a
library raised something no handler expected; JSON output that is not valid UTF-8 or not
the contract's shape; a document error that does not name its file.

The sync client's reading of server answers is fuzzed in tests/sync/test_wire_fuzz.py.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from medmitra_desktop.analysis.contract_json import case_json
from medmitra_desktop.analysis.pipeline import Analyzer, DocumentInput, Patient

UNEXPECTED = "unexpected problem"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

LAB_REPORT = """CITY DIAGNOSTIC LABORATORY
Patient: Test Person    Age: 45 Y    Sex: M
Test                 Result    Units     Reference Interval
Hemoglobin           9.1  L    g/dL      13.0 - 17.0
WBC                  7.2       10^3/uL   4.0 - 11.0
Platelets            250       10^3/uL   150 - 400
Creatinine           1.9  H    mg/dL     0.7 - 1.3
Sodium ............. 128       mmol/L    135-145
Potassium            6.8       mmol/L    3.5 - 5.1
Glucose Fasting      <70       mg/dL
HbA1c                7.9 %     4.0-5.6
Urine protein        2+        Negative
Rx: Tab Metformin 500 mg 1-0-1 x 30 days; allergic to penicillin (rash)
"""

RADIOLOGY_REPORT = """EXAM: CHEST X-RAY PA VIEW
INDICATION: cough, rule out pneumonia.
FINDINGS: There is a patchy opacity in the right lower lobe. No pleural effusion.
No pneumothorax. Heart size is normal. Possible small calcified granuloma.
IMPRESSION:
1. Right lower lobe consolidation, likely pneumonia.
2. No effusion or cardiomegaly.
"""


def _text_pdf(lines: list[str]) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    y = 800
    for line in lines:
        pdf.drawString(50, y, line)
        y -= 14
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _small_scan(fmt: str) -> bytes:
    """A tiny picture of two report lines: enough for Tesseract to work, quick to read."""
    font = ImageFont.truetype(FONT, 22)
    image = Image.new("L", (520, 90), 255)
    draw = ImageDraw.Draw(image)
    draw.text((10, 10), "Hemoglobin 9.1 g/dL 13.0 - 17.0", font=font, fill=0)
    draw.text((10, 50), "No pleural effusion.", font=font, fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, dpi=(300, 300))
    return buffer.getvalue()


def seed_files() -> dict[str, bytes]:
    """Well-formed files of every kind the app reads, to be mutated."""
    return {
        "lab.pdf": _text_pdf(LAB_REPORT.splitlines()),
        "xray.pdf": _text_pdf(RADIOLOGY_REPORT.splitlines()),
        "scan.png": _small_scan("PNG"),
        "scan.jpg": _small_scan("JPEG"),
        "scan.tif": _small_scan("TIFF"),
        "labs.csv": (b"test,value,unit,range\nHemoglobin,9.1,g/dL,13-17\n"
                     b"Sodium,128,mmol/L,135-145\n"),
        "notes.txt": LAB_REPORT.encode("utf-8"),
    }


# ---- mutators: what transfers, scanners, editors and attackers do to files ----------------


def mutate(data: bytes, rng: random.Random, rounds: int = 3) -> bytes:
    """A few random structural and byte-level changes."""
    out = bytearray(data)
    for _ in range(rounds):
        choice = rng.randrange(8)
        if not out:
            out += rng.randbytes(rng.randrange(1, 64))
            continue
        at = rng.randrange(len(out))
        if choice == 0:  # flip bits
            for _ in range(rng.randrange(1, 16)):
                spot = rng.randrange(len(out))
                out[spot] ^= 1 << rng.randrange(8)
        elif choice == 1:  # truncate
            del out[at:]
        elif choice == 2:  # insert random bytes
            out[at:at] = rng.randbytes(rng.randrange(1, 256))
        elif choice == 3:  # delete a run
            del out[at:at + rng.randrange(1, 512)]
        elif choice == 4:  # duplicate a run elsewhere
            run = out[at:at + rng.randrange(1, 512)]
            spot = rng.randrange(len(out))
            out[spot:spot] = run
        elif choice == 5:  # overwrite with an interesting value
            value = rng.choice([b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff",
                                b"-1", b"99999999999", b"obj", b"endobj", b"stream",
                                b"/Length 0", b"R", b"<<", b">>", b"trailer", b"%%EOF"])
            out[at:at + len(value)] = value
        elif choice == 6:  # change a number in the text (PDF offsets and lengths)
            text = bytes(out)
            digits = [i for i in range(len(text)) if 48 <= text[i] <= 57]
            if digits:
                spot = rng.choice(digits)
                out[spot] = rng.choice(b"0123456789")
        else:  # repeat the tail
            out += out[at:at + rng.randrange(1, 2048)]
    return bytes(out)


def mutate_text(text: str, rng: random.Random, rounds: int = 6) -> str:
    """OCR-like damage to report text: swapped, dropped and doubled characters, merged
    columns, broken lines, stray symbols, unicode look-alikes."""
    chars = list(text)
    noise = "Il1|O0oSs5B8.,:;-–—_~*°µ%<>=+()[]{}/\\ \n\t\u00a0\u200b\ufffdхоеа"
    for _ in range(rounds):
        if not chars:
            chars = list(rng.choice(noise))
        at = rng.randrange(len(chars))
        choice = rng.randrange(6)
        if choice == 0:
            chars[at] = rng.choice(noise)
        elif choice == 1:
            del chars[at:at + rng.randrange(1, 40)]
        elif choice == 2:
            chars[at:at] = list(rng.choice(noise) * rng.randrange(1, 30))
        elif choice == 3:
            chars[at:at] = chars[at:at + rng.randrange(1, 200)]
        elif choice == 4:
            chars = [" " if ch == "\n" and rng.random() < 0.3 else ch for ch in chars]
        else:
            chars[at:at] = list(str(rng.choice([0, -1, 1e308, 10**30, float("nan")])))
    return "".join(chars)


# ---- running one mutated file ----------------------------------------------------------------


@dataclass(frozen=True)
class FuzzFinding:
    name: str
    problem: str


def analyse_file(analyzer: Analyzer, path: Path, display_name: str) -> FuzzFinding | None:
    """What `analyze --json` does with one file, checked; None when the answer is sound."""
    try:
        analysis = analyzer.case([DocumentInput(path=path, display_name=display_name,
                                                category="auto")],
                                 Patient(age=45, gender="male", notes=""))
        output = json.dumps(case_json(analysis), ensure_ascii=False)
        output.encode("utf-8")  # strict: the CLI writes this to stdout
        document = json.loads(output)["documents"][0]
    except Exception as error:  # an escaped exception is the crash this looks for
        return FuzzFinding(display_name, f"{type(error).__name__}: {error}")
    error_text = document.get("error") or ""
    if UNEXPECTED in error_text:
        return FuzzFinding(display_name, error_text)
    if document["status"] != "ok" and display_name not in error_text:
        return FuzzFinding(display_name, f"error does not name the file: {error_text!r}")
    return None
