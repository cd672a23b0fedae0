"""Scans and photos made ready for OCR: right way up, grayscale, near the OCR resolution."""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from medmitra_desktop.domain.enums import DocumentStatus

from .problems import DocumentProblem, PageProblem, megapixels

log = logging.getLogger(__name__)

A4_WIDTH_INCHES = 21 / 2.54
"""Images without a usable resolution are taken to be an A4-wide page (as paperless-ngx does)."""
PLAUSIBLE_DPI = (50, 2400)
PLAUSIBLE_WIDTH_INCHES = (1.5, 17.5)  # tabloid and A3 are the widest reports
MAX_UPSCALE = 4.0
MIN_DPI_BEFORE_UPSCALE = 0.67  # of the target: 200 dpi for a 300 dpi target is still fine
MAX_DPI_BEFORE_DOWNSCALE = 2.0  # of the target: above 600 dpi tesseract only gets slower
MAX_PREPARED_PIXELS = 60_000_000
"""Upscaling stops here (A3 at 400 dpi is 31 megapixels): tesseract needs ~10 bytes a pixel."""

_BOMB_SIZE = re.compile(r"\((\d+) pixels\)")
# What Pillow raises for a damaged file. TypeError too: a TIFF frame without its
# dimensions raises "Missing dimensions" from n_frames and seek (found by fuzzing).
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, TypeError)
# PIL only warns when a TIFF's tag directory is cut short, then reads on with what it
# has; for a medical report that is a damaged file, so the warning is raised and caught.
_TRUNCATED = "Truncated File Read"

# PIL's decompression-bomb warning is replaced by our own per-call limit (max_image_pixels).
# warnings.catch_warnings is process-wide, so our uses of it take turns.
_OPEN_LOCK = threading.Lock()


def too_large_message(name: str, pixels: int | None, limit: int) -> str:
    size = f"{megapixels(pixels)} megapixels; " if pixels else ""
    return (
        f"{name} is too large to read safely ({size}the limit is {megapixels(limit)} megapixels): "
        "scan or export it again at a lower resolution"
    )


def damaged_message(name: str) -> str:
    return (
        f"{name} is damaged or incomplete and could not be read: "
        "ask for the file again or scan the report again"
    )


@contextmanager
def open_image(path: Path, name: str, max_pixels: int, frame: int = 0) -> Iterator[Image.Image]:
    """Open (headers only) and seek to `frame`. Raises DocumentProblem for a file that is no
    image, or one whose first frame is over `max_pixels`."""
    with _OPEN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.filterwarnings("error", message=_TRUNCATED)
        try:
            image = Image.open(path)
        except Image.DecompressionBombError as exc:
            match = _BOMB_SIZE.search(str(exc))
            pixels = int(match.group(1)) if match else None
            raise DocumentProblem(
                DocumentStatus.FAILED, too_large_message(name, pixels, max_pixels)
            ) from exc
        except (UnidentifiedImageError, UserWarning, *_DECODE_ERRORS) as exc:
            log.debug("PIL could not open the image", exc_info=True)
            raise DocumentProblem(DocumentStatus.FAILED, damaged_message(name)) from exc
        try:
            if frame:
                image.seek(frame)
        except (*_DECODE_ERRORS, UserWarning, Image.DecompressionBombError) as exc:
            image.close()
            log.debug("PIL could not seek to frame %d", frame, exc_info=True)
            raise PageProblem(f"page {frame + 1} is damaged or incomplete") from exc
    try:
        yield image
    finally:
        image.close()


def count_pages(path: Path, name: str, max_pixels: int) -> int:
    """Frames of the image (a multi-page TIFF has several). Raises DocumentProblem."""
    with open_image(path, name, max_pixels) as image:
        pixels = image.width * image.height
        if pixels > max_pixels:
            raise DocumentProblem(
                DocumentStatus.FAILED, too_large_message(name, pixels, max_pixels)
            )
        try:
            with _OPEN_LOCK, warnings.catch_warnings():  # counting reads every frame's tags
                warnings.filterwarnings("error", message=_TRUNCATED)
                return max(1, int(getattr(image, "n_frames", 1)))
        except (*_DECODE_ERRORS, UserWarning) as exc:
            log.debug("PIL could not count frames", exc_info=True)
            raise DocumentProblem(DocumentStatus.FAILED, damaged_message(name)) from exc


def load_page(
    path: Path, name: str, number: int, target_dpi: int, max_pixels: int
) -> tuple[Image.Image, int]:
    """Frame `number` (1-based) as an upright-by-EXIF 8-bit grayscale image near `target_dpi`,
    with the resolution to tell the OCR engine. Raises PageProblem."""
    try:
        with open_image(path, name, max_pixels, frame=number - 1) as image:
            pixels = image.width * image.height
            if pixels > max_pixels:
                raise PageProblem(
                    f"page {number} is too large to read safely ({megapixels(pixels)} megapixels; "
                    f"the limit is {megapixels(max_pixels)})"
                )
            declared = _declared_dpi(image)
            try:
                image.load()
                upright = ImageOps.exif_transpose(image)
            except _DECODE_ERRORS as exc:
                log.debug("PIL could not decode page %d", number, exc_info=True)
                raise PageProblem(f"page {number} is damaged or incomplete") from exc
            gray = to_grayscale(upright)
    except DocumentProblem as problem:
        raise PageProblem(f"page {number} is damaged or incomplete") from problem
    return scale_to_dpi(gray, declared, target_dpi, max_pixels)


def to_grayscale(image: Image.Image) -> Image.Image:
    """8-bit grayscale; transparent parts become white paper, 16-bit scans are rescaled."""
    if image.mode == "L":
        return image
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        paper.alpha_composite(rgba)
        return paper.convert("L")
    if image.mode.startswith("I") or image.mode == "F":
        wide = image.convert("F")
        low, high = wide.getextrema()
        scale = 255.0 / (high - low) if high > low else 1.0
        return wide.point(lambda v: v * scale - low * scale).convert("L")
    try:
        return image.convert("L")
    except ValueError:
        return image.convert("RGB").convert("L")


def scale_to_dpi(
    image: Image.Image, declared_dpi: float | None, target_dpi: int, max_pixels: int
) -> tuple[Image.Image, int]:
    """Upscale low-resolution images (small text reads badly) and downscale needlessly large
    ones. Returns the image and its resolution after scaling."""
    dpi = declared_dpi if _plausible(image.width, declared_dpi) else image.width / A4_WIDTH_INCHES
    factor = 1.0
    if dpi < MIN_DPI_BEFORE_UPSCALE * target_dpi:
        factor = min(target_dpi / dpi, MAX_UPSCALE)
    elif dpi > MAX_DPI_BEFORE_DOWNSCALE * target_dpi:
        factor = target_dpi / dpi
    limit = min(max_pixels, MAX_PREPARED_PIXELS)
    if factor > 1 and image.width * image.height * factor * factor > limit:
        factor = max(1.0, (limit / (image.width * image.height)) ** 0.5)
    if abs(factor - 1.0) > 0.05:
        size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        log.debug("scaling page image from %s to %s (%.0f dpi)", image.size, size, dpi)
        image = image.resize(size, Image.Resampling.LANCZOS)
        dpi *= factor
    return image, max(70, round(dpi))


def _declared_dpi(image: Image.Image) -> float | None:
    dpi = image.info.get("dpi")
    try:
        value = float(dpi[0]) if isinstance(dpi, tuple) else float(dpi)
    except (TypeError, ValueError, IndexError):
        return None
    return value if value > 0 else None


def _plausible(width: int, dpi: float | None) -> bool:
    if dpi is None or not PLAUSIBLE_DPI[0] <= dpi <= PLAUSIBLE_DPI[1]:
        return False
    return PLAUSIBLE_WIDTH_INCHES[0] <= width / dpi <= PLAUSIBLE_WIDTH_INCHES[1]
