"""Tesseract through pytesseract: page text with per-word confidences, and page orientation.

Each call runs its own tesseract process, so threads give real parallelism. Every process is
limited to one thread (OMP_THREAD_LIMIT=1): one process per core is faster than OpenMP.
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytesseract
from PIL import Image

from .cancel import CancelToken
from .model import OcrWord
from .problems import OcrUnavailable, PageProblem

log = logging.getLogger(__name__)

DEFAULT_TESSERACT_CMD = "tesseract"
PAGE_SEGMENTATION = "--psm 6"  # one uniform block of text: keeps table rows as lines
MIN_ORIENTATION_CONFIDENCE = 3.0
"""Tesseract OSD confidence needed before a page is turned (a few lines of text score about
5-6). The turned page is kept only when it reads better than the page as it came."""
UPRIGHT_CONFIDENCE = 70.0
"""Mean word confidence above which a page is taken to be the right way up."""
ENHANCE_BELOW_CONFIDENCE = 85.0
"""A page read with less mean word confidence is read again enlarged and binarised. Clean
300-dpi prints read at 88-93; blurred, noisy or low-resolution scans at 50-85, and the
second reading raises those by 3-11 points (measured on synthetic lab scans)."""
ENHANCE_SCALE = 1.5
ENHANCE_MAX_PIXELS = 25_000_000  # tesseract needs ~10 bytes a pixel; two run at once
COLUMN_GAP = "   "  # same as the text layer: the lab-table parser splits on 2+ spaces
COLUMN_GAP_CHARS = 2.0  # a gap wider than this many average character widths is a column break
_PROBE_TIMEOUT_SECONDS = 15
_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console flash on Windows


@dataclass(frozen=True)
class OcrResult:
    text: str
    words: tuple[OcrWord, ...]
    mean_confidence: float | None


def ocr_engine_status(tesseract_cmd: str | None = None) -> tuple[bool, str]:
    """(True, version) when Tesseract answers, else (False, a reason a doctor can act on)."""
    cmd = tesseract_cmd or DEFAULT_TESSERACT_CMD
    where = f"at {cmd}" if tesseract_cmd else "on this computer"
    try:
        completed = subprocess.run(
            [cmd, "--version"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=_PROBE_TIMEOUT_SECONDS,
            creationflags=_NO_WINDOW,
            check=False,
        )
    except FileNotFoundError:
        return False, f"Tesseract was not found {where}"
    except PermissionError:
        return False, f"Tesseract {where} cannot be started (permission denied)"
    except subprocess.TimeoutExpired:
        return False, f"Tesseract {where} did not answer"
    except OSError as exc:
        return False, f"Tesseract {where} cannot be started ({exc.strerror or exc})"
    output = (completed.stdout or completed.stderr).decode("utf-8", errors="replace")
    first = output.strip().splitlines()[0] if output.strip() else ""
    parts = first.split()
    if completed.returncode != 0 or len(parts) < 2 or parts[0].lower() != "tesseract":
        return False, f"the program {where} is not a working Tesseract"
    return True, parts[1].lstrip("v")


def installed_languages(tesseract_cmd: str | None = None) -> set[str]:
    cmd = tesseract_cmd or DEFAULT_TESSERACT_CMD
    try:
        completed = subprocess.run(
            [cmd, "--list-langs"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=_PROBE_TIMEOUT_SECONDS,
            creationflags=_NO_WINDOW,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return set()
    output = (completed.stdout + completed.stderr).decode("utf-8", errors="replace")
    # The first line is a header ("List of available languages in ...:").
    return {line.strip() for line in output.splitlines()[1:] if line.strip()}


class _CommandGate:
    """pytesseract reads the command from a module global. Calls with the same command run
    together; a call with another command waits until those have finished."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active = 0
        self._cmd: str | None = None

    @contextmanager
    def use(self, cmd: str) -> Iterator[None]:
        with self._condition:
            while self._active and self._cmd != cmd:
                self._condition.wait()
            if not self._active:
                pytesseract.pytesseract.tesseract_cmd = cmd
                self._cmd = cmd
            self._active += 1
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()


_GATE = _CommandGate()


class TesseractOcr:
    """One document's OCR settings. check() once (in the caller's thread), then use from
    worker threads."""

    def __init__(
        self,
        tesseract_cmd: str | None,
        language: str,
        timeout_seconds: float,
        max_processes: int = 1,
        cancel: CancelToken | None = None,
    ) -> None:
        self.cmd = tesseract_cmd or DEFAULT_TESSERACT_CMD
        self._explicit_cmd = tesseract_cmd
        self.language = language
        self.timeout_seconds = timeout_seconds
        # At most this many tesseract processes of this document at once, whatever the
        # number of threads preparing pages.
        self._slots = threading.BoundedSemaphore(max_processes)
        self._cancel = cancel

    def check(self) -> str:
        """Raise OcrUnavailable unless the engine and the language data are there. Returns
        the engine version. A positive answer is remembered for the same program file."""
        languages = self.language.split("+")
        key = _engine_key(self.cmd)
        with _VERIFIED_LOCK:
            known = _VERIFIED.get(key) if key is not None else None
        if known is not None and all(lang in known[1] for lang in languages):
            version = known[0]
        else:
            available, version = ocr_engine_status(self._explicit_cmd)
            if not available:
                raise OcrUnavailable(version)
            installed = frozenset(installed_languages(self._explicit_cmd))
            missing = [lang for lang in languages if lang not in installed]
            if missing:
                raise OcrUnavailable(
                    f"the Tesseract language data for {', '.join(missing)} is not installed"
                )
            if key is not None:
                with _VERIFIED_LOCK:
                    _VERIFIED[key] = (version, installed)
        # pytesseract passes os.environ to the tesseract process.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        return version

    def read_page(self, image: Image.Image, dpi: int, number: int) -> OcrResult:
        """OCR one page image. Raises PageProblem (timeout, engine error) or OcrUnavailable."""
        config = f"{PAGE_SEGMENTATION} --dpi {dpi}"
        with _image_file(image, dpi) as path:
            tsv = self._run(
                pytesseract.image_to_data, path, number, lang=self.language, config=config
            )
        return parse_tsv(tsv)

    def read_page_any_orientation(self, image: Image.Image, dpi: int, number: int) -> OcrResult:
        """OCR a scan or photo that may be sideways or upside down.

        Orientation detection costs nearly as much as reading the page, and most pages are
        upright: read first, and only when the words come out doubtful (a turned page reads
        as confident-looking garbage at ~45%, an upright one at 80-95%) ask Tesseract which
        way is up, turn the page and read it again."""
        result = self.read_page(image, dpi, number)
        if result.mean_confidence is not None and result.mean_confidence >= UPRIGHT_CONFIDENCE:
            return result
        turn = self.orientation(image, dpi, number)
        if turn:
            log.debug("turning page %d by %d degrees clockwise", number, turn)
            turned_image = _turn_clockwise(image, turn)
            turned = self.read_page(turned_image, dpi, number)
            if _confidence(turned) > _confidence(result):
                image, result = turned_image, turned
        return self.read_page_enhanced_if_doubtful(image, dpi, number, result)

    def read_page_enhanced_if_doubtful(self, image: Image.Image, dpi: int, number: int,
                                       result: OcrResult) -> OcrResult:
        """Blur, noise and low resolution cost Tesseract words; a larger, black-and-white
        copy of the page often reads better. Keep whichever reading is more confident."""
        if _confidence(result) >= ENHANCE_BELOW_CONFIDENCE or not result.words:
            return result
        scale = min(ENHANCE_SCALE, (ENHANCE_MAX_PIXELS / (image.width * image.height)) ** 0.5)
        if scale < 1.1:
            return result
        size = (round(image.width * scale), round(image.height * scale))
        enhanced = binarize(image.resize(size, Image.Resampling.LANCZOS))
        second = self.read_page(enhanced, round(dpi * scale), number)
        if _confidence(second) <= _confidence(result):
            return result
        log.debug("page %d read better enlarged and binarised", number)
        return _rescale_words(second, 1 / scale)

    def orientation(self, image: Image.Image, dpi: int, number: int) -> int:
        """Degrees to turn the page clockwise to make it upright; 0 when unsure."""
        try:
            with _image_file(image, dpi) as path:
                osd = self._run(
                    pytesseract.image_to_osd,
                    path,
                    number,
                    config=f"--dpi {dpi}",
                    output_type=pytesseract.Output.DICT,
                )
        except PageProblem as problem:
            # Sparse pages ("Too few characters") and timeouts: keep the page as it is.
            log.debug("orientation unknown for page %d: %s", number, problem.message)
            return 0
        rotate = int(osd.get("rotate", 0)) % 360
        confidence = float(osd.get("orientation_conf", 0.0))
        log.debug("page %d orientation: rotate %d, confidence %.2f", number, rotate, confidence)
        if rotate in (90, 180, 270) and confidence >= MIN_ORIENTATION_CONFIDENCE:
            return rotate
        return 0

    def _run(self, function: Callable[..., Any], path: str, number: int, **kwargs: Any) -> Any:
        try:
            with self._slots, _GATE.use(self.cmd):
                if self._cancel is not None:
                    self._cancel.raise_if_cancelled()  # it may have waited for its turn
                return function(path, timeout=self.timeout_seconds, **kwargs)
        except pytesseract.TesseractNotFoundError as exc:
            raise OcrUnavailable(f"Tesseract was not found at {self.cmd}") from exc
        except pytesseract.TesseractError as exc:
            log.debug("tesseract failed on page %d: %s", number, exc.message)
            raise PageProblem(f"page {number} could not be read by the OCR engine") from exc
        except RuntimeError as exc:
            if "timeout" not in str(exc).lower():
                raise
            raise PageProblem(
                f"page {number} took longer than {self.timeout_seconds:g} seconds to read "
                "and was skipped"
            ) from exc
        except SystemExit as exc:  # pytesseract exits on a version string it cannot parse
            raise OcrUnavailable(f"the program at {self.cmd} is not a working Tesseract") from exc


def _confidence(result: OcrResult) -> float:
    return result.mean_confidence or 0.0


def binarize(image: Image.Image) -> Image.Image:
    """Black text on white paper, split at Otsu's threshold (the grey level that best
    separates the page's two populations of pixels)."""
    histogram = image.convert("L").histogram()
    total = sum(histogram)
    weighted_total = sum(level * count for level, count in enumerate(histogram))
    below = below_weighted = 0
    best_variance, threshold = -1.0, 127
    for level, count in enumerate(histogram):
        below += count
        below_weighted += level * count
        above = total - below
        if below == 0 or above == 0:
            continue
        mean_below = below_weighted / below
        mean_above = (weighted_total - below_weighted) / above
        variance = below * above * (mean_below - mean_above) ** 2
        if variance > best_variance:
            best_variance, threshold = variance, level
    return image.convert("L").point(lambda value: 255 if value > threshold else 0)


def _rescale_words(result: OcrResult, factor: float) -> OcrResult:
    """Word boxes in the coordinates of the page image the caller gave."""
    words = tuple(
        OcrWord(w.text, w.confidence, round(w.left * factor), round(w.top * factor),
                round(w.width * factor), round(w.height * factor))
        for w in result.words
    )
    return OcrResult(result.text, words, result.mean_confidence)


_CLOCKWISE = {
    90: Image.Transpose.ROTATE_270,  # PIL's ROTATE_n turn counter-clockwise
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


def _turn_clockwise(image: Image.Image, degrees: int) -> Image.Image:
    transpose = _CLOCKWISE.get(degrees % 360)
    return image.transpose(transpose) if transpose is not None else image


@contextmanager
def _image_file(image: Image.Image, dpi: int) -> Iterator[str]:
    """Write the image where tesseract can read it: an uncompressed TIFF is written in a few
    milliseconds (PNG: ~60 ms for a 300-dpi page) and is the quickest format for tesseract to
    load (PGM is ~5% slower), and it carries the resolution."""
    if image.mode != "L":
        image = image.convert("L")
    handle, name = tempfile.mkstemp(prefix="medmitra_ocr_", suffix=".tif")
    try:
        with os.fdopen(handle, "wb") as stream:
            image.save(stream, format="TIFF", dpi=(dpi, dpi))
        yield name
    finally:
        try:
            Path(name).unlink()
        except OSError:  # pragma: no cover - already gone or locked (Windows)
            log.debug("could not remove an OCR temp file", exc_info=sys.exc_info())


def _engine_key(cmd: str) -> tuple[str, int, int] | None:
    """Identifies the tesseract program file, so a remembered check expires when it changes."""
    resolved = shutil.which(cmd)
    if resolved is None:
        return None
    try:
        stat = os.stat(resolved)
    except OSError:
        return None
    return os.path.realpath(resolved), stat.st_mtime_ns, stat.st_size


_VERIFIED_LOCK = threading.Lock()
_VERIFIED: dict[tuple[str, int, int], tuple[str, frozenset[str]]] = {}
"""Tesseract programs known to work: version and installed languages."""


def parse_tsv(tsv: str) -> OcrResult:
    """Words with confidences, and text with one line per OCR line and columns kept apart."""
    rows = tsv.splitlines()
    if not rows:
        return OcrResult("", (), None)
    header = rows[0].split("\t")
    try:
        col = {
            name: header.index(name)
            for name in (
                "level",
                "block_num",
                "par_num",
                "line_num",
                "left",
                "top",
                "width",
                "height",
                "conf",
                "text",
            )
        }
    except ValueError:
        log.debug("unexpected tesseract TSV header: %r", rows[0])
        return OcrResult("", (), None)
    words: list[OcrWord] = []
    lines: dict[tuple[int, int, int], list[OcrWord]] = {}
    for row in rows[1:]:
        cells = row.split("\t")
        if len(cells) <= col["text"] or cells[col["level"]] != "5":
            continue
        text = cells[col["text"]].strip()
        if not text:
            continue
        try:
            word = OcrWord(
                text=text,
                confidence=max(0.0, float(cells[col["conf"]])),
                left=int(cells[col["left"]]),
                top=int(cells[col["top"]]),
                width=int(cells[col["width"]]),
                height=int(cells[col["height"]]),
            )
            key = (
                int(cells[col["block_num"]]),
                int(cells[col["par_num"]]),
                int(cells[col["line_num"]]),
            )
        except ValueError:
            continue
        words.append(word)
        lines.setdefault(key, []).append(word)
    text_lines: list[str] = []
    previous_block: int | None = None
    for (block, _par, _line), line_words in lines.items():
        if previous_block is not None and block != previous_block:
            text_lines.append("")  # a blank line between separate blocks of text
        previous_block = block
        text_lines.append(_join_line(line_words))
    mean = statistics.fmean(w.confidence for w in words) if words else None
    return OcrResult("\n".join(text_lines), tuple(words), mean)


def _join_line(words: list[OcrWord]) -> str:
    ordered = sorted(words, key=lambda w: w.left)
    chars = sum(len(w.text) for w in ordered)
    char_width = sum(w.width for w in ordered) / chars if chars else 0.0
    parts = [ordered[0].text]
    for before, word in pairwise(ordered):
        gap = word.left - (before.left + before.width)
        parts.append(COLUMN_GAP if char_width and gap > COLUMN_GAP_CHARS * char_width else " ")
        parts.append(word.text)
    return "".join(parts)
