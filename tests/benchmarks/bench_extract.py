"""Benchmark of medmitra_desktop.analysis.extract against the physical limit.

Not a test: run it by hand and read the table.

    OMP_THREAD_LIMIT=1 .venv/bin/python tests/benchmarks/bench_extract.py
    .venv/bin/python tests/benchmarks/bench_extract.py --text-pages 1 10 --scan-pages 1 \
        --rss-pages 0

1. Text PDFs (1, 10, 100 pages): pages/s of extract_document against raw pypdf layout
   extraction of the same file. Target: ratio >= 0.8.
2. Scanned pages (1, 4, 16): full A4 lab-report pages drawn once at 300 dpi and saved as PNG.
   The raw limit is `tesseract IMG - --psm 6` run on those PNGs one after the other; ours is
   extract_document on an image-only PDF holding the same pictures, with 1 and 2 OCR workers.
   Targets: >= 0.9x raw with one worker; >= 1.7x raw with two workers on two cores. The raw
   command run two at a time shows what the machine allows at that moment (other programs
   may hold a core).
   For information also a multi-page TIFF of the same pages (the image path, which adds an
   orientation check per page).
3. Peak memory while extracting a 100-page image-only PDF, measured in a child process.
   Target: < 400 MB.

The fixtures are generated into a temporary directory (or --workdir) and removed afterwards.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import contextlib

from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from medmitra_desktop.analysis.extract import (
    ExtractOptions,
    extract_document,
    ocr_engine_status,
)
from medmitra_desktop.domain.enums import DocumentStatus

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DPI = 300
A4_PIXELS = (2480, 3508)
TESTS = [
    ("Hemoglobin", "13.5", "g/dL", "13.0 - 17.0"),
    ("Total Leukocyte Count", "11200", "/cumm", "4000 - 11000"),
    ("Neutrophils", "72", "%", "40 - 80"),
    ("Lymphocytes", "20", "%", "20 - 40"),
    ("Eosinophils", "3", "%", "1 - 6"),
    ("Monocytes", "5", "%", "2 - 10"),
    ("Platelet Count", "1.5", "lakh/cumm", "1.5 - 4.5"),
    ("RBC Count", "4.8", "million/cumm", "4.5 - 5.5"),
    ("Hematocrit (PCV)", "42", "%", "40 - 50"),
    ("MCV", "88", "fL", "83 - 101"),
    ("MCH", "29", "pg", "27 - 32"),
    ("MCHC", "33", "g/dL", "31.5 - 34.5"),
    ("Glucose Fasting", "98", "mg/dL", "70 - 100"),
    ("Creatinine", "1.1", "mg/dL", "0.7 - 1.3"),
    ("Urea", "28", "mg/dL", "17 - 43"),
    ("Sodium", "139", "mmol/L", "136 - 145"),
    ("Potassium", "4.2", "mmol/L", "3.5 - 5.1"),
    ("Chloride", "101", "mmol/L", "98 - 107"),
    ("Total Bilirubin", "0.8", "mg/dL", "0.3 - 1.2"),
    ("SGPT (ALT)", "34", "U/L", "0 - 50"),
    ("SGOT (AST)", "29", "U/L", "0 - 50"),
    ("Alkaline Phosphatase", "96", "U/L", "30 - 120"),
    ("TSH", "2.1", "uIU/mL", "0.27 - 4.2"),
    ("HbA1c", "5.6", "%", "4.0 - 5.6"),
]


# -- fixtures ---------------------------------------------------------------------------------


def text_pdf(path: Path, pages: int) -> Path:
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for number in range(1, pages + 1):
        pdf.setFont("Helvetica-Bold", 14)
        pdf.drawString(170, 800, "CITY DIAGNOSTIC LABORATORY")
        pdf.setFont("Helvetica", 9)
        pdf.drawString(50, 780, f"Patient: Test Person   Age: 45 Y   Sex: M   Page {number}")
        y = 750
        for row in [("Test", "Result", "Units", "Reference Range"), *TESTS]:
            for x, cell in zip((50, 250, 330, 430), row, strict=True):
                pdf.drawString(x, y, cell)
            y -= 14
        for line in range(12):
            y -= 14
            pdf.drawString(50, y, f"Comment {line + 1}: results reviewed and verified by the lab.")
        pdf.showPage()
    pdf.save()
    return path


def scan_page(number: int) -> Image.Image:
    """A full A4 page at 300 dpi, like a flatbed scan of a printed lab report."""
    image = Image.new("L", A4_PIXELS, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 38)
    bold = ImageFont.truetype(FONT.replace("DejaVuSans", "DejaVuSans-Bold"), 50)
    draw.text((600, 180), "CITY DIAGNOSTIC LABORATORY", font=bold, fill=0)
    draw.text(
        (200, 300),
        f"Patient: Test Person    Age: 45 Y    Sex: M    Page {number}",
        font=font,
        fill=0,
    )
    y = 420
    for row in [("Test", "Result", "Units", "Reference Range"), *TESTS]:
        for x, cell in zip((200, 1000, 1350, 1800), row, strict=True):
            draw.text((x, y), cell, font=font, fill=0)
        y += 72
    for line in range(8):
        y += 72
        draw.text(
            (200, y),
            f"Comment {line + 1}: results reviewed and verified by the lab.",
            font=font,
            fill=0,
        )
    return image


def scan_pngs(directory: Path, count: int) -> list[Path]:
    paths = []
    for number in range(1, count + 1):
        path = directory / f"scan-{number:03d}.png"
        if not path.exists():
            scan_page(number).save(path, dpi=(DPI, DPI))
        paths.append(path)
    return paths


def image_pdf(path: Path, pngs: list[Path]) -> Path:
    """An image-only PDF: each picture drawn losslessly on a page of its own size."""
    pdf = canvas.Canvas(str(path))
    for png in pngs:
        with Image.open(png) as image:
            width, height = image.width * 72 / DPI, image.height * 72 / DPI
            pdf.setPageSize((width, height))
            pdf.drawImage(ImageReader(image), 0, 0, width=width, height=height)
        pdf.showPage()
    pdf.save()
    return path


def image_tiff(path: Path, pngs: list[Path]) -> Path:
    frames = [Image.open(png) for png in pngs]
    try:
        frames[0].save(
            path, save_all=True, append_images=frames[1:], dpi=(DPI, DPI), compression="tiff_lzw"
        )
    finally:
        for frame in frames:
            frame.close()
    return path


# -- measuring --------------------------------------------------------------------------------


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    return best_run(run, repeat)[0]


def best_run(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its finished children), best of N.
    CPU time hardly depends on what else the machine is doing; wall time does."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        cpu_before = cpu_seconds()
        started = time.perf_counter()
        run()
        best_wall = min(best_wall, time.perf_counter() - started)
        best_cpu = min(best_cpu, cpu_seconds() - cpu_before)
    return best_wall, best_cpu


def cpu_seconds() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def raw_pypdf(path: Path) -> None:
    reader = PdfReader(path)
    for page in reader.pages:
        page.extract_text(extraction_mode="layout")


def raw_tesseract(pngs: list[Path]) -> None:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    for png in pngs:
        subprocess.run(
            ["tesseract", str(png), "-", "--psm", "6"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def raw_tesseract_parallel(pngs: list[Path], processes: int) -> None:
    """What the machine allows right now: the raw command, `processes` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=processes) as pool:
        list(pool.map(lambda png: raw_tesseract([png]), pngs))


def ours(path: Path, pages: int, workers: int = 1) -> Callable[[], None]:
    options = ExtractOptions(ocr_workers=workers)

    def run() -> None:
        document = extract_document(path, options=options)
        if document.status is not DocumentStatus.OK or len(document.pages) != pages:
            raise SystemExit(f"extraction failed on {path.name}: {document.error}")

    return run


def rss_child(pdf: str, workers: int) -> None:
    """Runs in a child process: extract, then print peak memory as JSON. ru_maxrss is the
    peak of this process; a sampler adds the tesseract processes running at the same time
    (ru_maxrss of children would count this process's size at fork time)."""
    import threading

    import psutil

    me = psutil.Process()
    peak_total = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_total
        while not done.wait(0.05):
            total = me.memory_info().rss
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
            peak_total = max(peak_total, total)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    document = extract_document(Path(pdf), options=ExtractOptions(ocr_workers=workers))
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    ok = document.status is DocumentStatus.OK and all(p.error is None for p in document.pages)
    print(
        json.dumps(
            {
                "self_mb": self_kb / 1024,
                "total_mb": peak_total / 2**20,
                "seconds": seconds,
                "pages": len(document.pages),
                "ok": ok,
            }
        )
    )


# -- the report -------------------------------------------------------------------------------


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, *cells: str) -> None:
        self.rows.append(cells)
        print("  " + " | ".join(cells), flush=True)

    def render(self, header: tuple[str, ...]) -> str:
        rows = [header, *self.rows]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [
            " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            for row in rows
        ]
        lines.insert(1, "-+-".join("-" * width for width in widths))
        return "\n".join(lines)


def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    good = value >= target if higher_is_better else value < target
    return "ok" if good else "BELOW TARGET" if higher_is_better else "OVER TARGET"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--text-pages", type=int, nargs="*", default=[1, 10, 100])
    parser.add_argument("--scan-pages", type=int, nargs="*", default=[1, 4, 16])
    parser.add_argument("--rss-pages", type=int, default=100, help="0 skips the memory run")
    parser.add_argument("--repeat", type=int, default=5, help="text runs: best of N")
    parser.add_argument("--scan-repeat", type=int, default=1, help="scan runs: best of N")
    parser.add_argument("--no-tiff", action="store_true", help="skip the TIFF image path")
    parser.add_argument("--workdir", type=Path, help="keep fixtures here (default: temporary)")
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child, args.workers)
        return 0

    available, version = ocr_engine_status()
    if not available or shutil.which("tesseract") is None:
        print(f"tesseract is needed: {version}", file=sys.stderr)
        return 2
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_extract_"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"python {sys.version.split()[0]}, tesseract {version}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}, OMP_THREAD_LIMIT="
        f"{os.environ.get('OMP_THREAD_LIMIT')}"
    )
    results: list[str] = []
    try:
        if args.text_pages:
            results.append(bench_text(workdir, args.text_pages, args.repeat))
        if args.scan_pages:
            results.append(bench_scans(workdir, args.scan_pages, args.scan_repeat, args.no_tiff))
        if args.rss_pages:
            results.append(bench_memory(workdir, args.rss_pages))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}\n")
    print("\n\n".join(results))
    return 0


def bench_text(workdir: Path, sizes: list[int], repeat: int) -> str:
    print("\ntext PDFs: extract_document vs raw pypdf layout extraction")
    table = Table()
    for pages in sizes:
        path = text_pdf(workdir / f"text-{pages}.pdf", pages)
        runs = max(repeat, min(50, 200 // pages))  # small files: more runs against noise
        raw_pypdf(path)  # warm the page cache and imports
        ours(path, pages)()
        raw_wall, raw_cpu = best_run(lambda path=path: raw_pypdf(path), runs)
        our_wall, our_cpu = best_run(ours(path, pages), runs)
        ratio = raw_wall / our_wall
        table.add(
            f"text PDF {pages} p",
            f"{runs}",
            f"{pages / raw_wall:8.1f}",
            f"{pages / our_wall:8.1f}",
            f"{ratio:5.2f}",
            f"{raw_cpu / our_cpu:5.2f}",
            ">= 0.80",
            verdict(ratio, 0.8),
        )
    return "Text layer (pages/s, best of N runs; CPU ratio = raw CPU s / ours)\n" + table.render(
        ("input", "N", "raw pypdf", "extract", "ratio", "CPU ratio", "target", "verdict")
    )


def bench_scans(workdir: Path, sizes: list[int], repeat: int, no_tiff: bool) -> str:
    print("\nscanned pages: extract_document vs raw `tesseract IMG - --psm 6` sequentially")
    table = Table()
    pngs_all = scan_pngs(workdir, max(sizes))
    # Warm up once (imports, PDFium, the remembered engine check, the file cache), as in the
    # long-running app.
    raw_tesseract(pngs_all[:1])
    ours(image_pdf(workdir / "warm-up.pdf", pngs_all[:1]), 1)()
    for pages in sizes:
        pngs = pngs_all[:pages]
        pdf = image_pdf(workdir / f"scan-{pages}.pdf", pngs)
        raw_wall, raw_cpu = best_run(lambda pngs=pngs: raw_tesseract(pngs), repeat)
        table.add(
            f"scan {pages} p",
            "raw tesseract",
            "1 process",
            f"{pages / raw_wall:6.3f}",
            "1.00",
            f"{raw_cpu / pages:5.2f}",
            "1.00",
            "",
            "",
        )
        runs = [("image-only PDF", pdf, 1, 0.9)]
        if pages > 1:  # one page cannot be shared between two workers
            par_wall, par_cpu = best_run(lambda pngs=pngs: raw_tesseract_parallel(pngs, 2), repeat)
            table.add(
                f"scan {pages} p",
                "raw tesseract",
                "2 at a time",
                f"{pages / par_wall:6.3f}",
                f"{raw_wall / par_wall:4.2f}",
                f"{par_cpu / pages:5.2f}",
                f"{raw_cpu / par_cpu:4.2f}",
                "limit",
                "",
            )
            runs.append(("image-only PDF", pdf, 2, 1.7))
        if not no_tiff:
            tiff = image_tiff(workdir / f"scan-{pages}.tif", pngs)
            runs += [("TIFF (+ OSD)", tiff, 1, None), ("TIFF (+ OSD)", tiff, 2, None)]
        for label, path, workers, target in runs:
            wall, cpu = best_run(ours(path, pages, workers), repeat)
            ratio = raw_wall / wall
            table.add(
                f"scan {pages} p",
                label,
                f"{workers} worker{'s' if workers > 1 else ''}",
                f"{pages / wall:6.3f}",
                f"{ratio:4.2f}",
                f"{cpu / pages:5.2f}",
                f"{raw_cpu / cpu:4.2f}",
                f">= {target}" if target else "info",
                verdict(ratio, target) if target else "",
            )
    return (
        "Scanned pages: pages/s and wall ratio (ours / raw tesseract run sequentially);\n"
        "CPU s/page counts this process and its tesseract children, CPU ratio = raw / ours\n"
        + table.render(
            (
                "input",
                "path",
                "workers",
                "pages/s",
                "ratio",
                "CPU s/p",
                "CPU ratio",
                "target",
                "verdict",
            )
        )
    )


def bench_memory(workdir: Path, pages: int) -> str:
    print(f"\npeak memory: {pages}-page image-only PDF, 2 OCR workers, in a child process")
    pngs = scan_pngs(workdir, min(pages, 16))
    pdf = workdir / f"scan-rss-{pages}.pdf"
    # Distinct pages (page numbers differ) without keeping them all in memory.
    buffer = canvas.Canvas(str(pdf))
    for number in range(1, pages + 1):
        with Image.open(pngs[(number - 1) % len(pngs)]) as base:
            image = base.copy()
        ImageDraw.Draw(image).text(
            (200, 3300), f"Scan sheet {number}", fill=0, font=ImageFont.truetype(FONT, 38)
        )
        data = io.BytesIO()
        image.save(data, "PNG")
        width, height = image.width * 72 / DPI, image.height * 72 / DPI
        buffer.setPageSize((width, height))
        buffer.drawImage(ImageReader(io.BytesIO(data.getvalue())), 0, 0, width=width, height=height)
        buffer.showPage()
    buffer.save()
    child = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(pdf), "--workers", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    table = Table()
    table.add(
        f"{pages}-page scan PDF",
        f"{pdf.stat().st_size / 1e6:.0f} MB file",
        f"{measured['self_mb']:.0f} MB",
        f"{measured['total_mb']:.0f} MB",
        f"{measured['seconds']:.0f} s",
        "< 400 MB",
        verdict(measured["self_mb"], 400, higher_is_better=False)
        + ("" if measured["ok"] else " (pages failed!)"),
    )
    return "Peak RSS (ru_maxrss of the extracting process; sampled total with its tesseracts)\n" + (
        table.render(("input", "size", "peak RSS", "with tesseracts", "time", "target", "verdict"))
    )


if __name__ == "__main__":
    raise SystemExit(main())
