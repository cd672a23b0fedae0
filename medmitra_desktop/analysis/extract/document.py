"""extract_document: any supported file in, its text page by page out, never an exception.

The type is judged from the content (domain.filetypes), never from the name. PDF pages with a
text layer are read by pypdf; pages without one are drawn by PDFium and read by Tesseract, as
are scans and photos. OCR runs in worker threads with at most `ocr_workers` tesseract
processes at once, plus one thread drawing the next page meanwhile. A page is drawn only when
a thread takes it, so memory stays bounded whatever the page count.

Logging: document text and file names only at DEBUG (they are patient data).
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image
from pypdf import PdfReader

from medmitra_desktop.domain.enums import DocumentStatus
from medmitra_desktop.domain.filetypes import (
    ALLOWED_DESCRIPTION,
    IMAGE_KINDS,
    TEXT_KINDS,
    FileKind,
    sniff_file,
)

from . import images
from .cancel import CancelToken, ExtractionCancelled
from .model import (
    SOURCE_MIXED,
    SOURCE_OCR,
    SOURCE_TEXT,
    ExtractedDocument,
    ExtractOptions,
    PageText,
)
from .ocr import TesseractOcr
from .pdf_text import (
    count_text_chars,
    normalise_layout_text,
    open_pdf,
    page_layout_text,
    repair_truncated,
)
from .problems import DocumentProblem, OcrUnavailable, PageProblem
from .render import PdfRenderer
from .text_files import MAX_TEXT_BYTES, decode_text

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
PageLoader = Callable[[], tuple[Image.Image, int]]

_POLL_SECONDS = 0.2  # how often a wait for OCR pages looks at the cancel token


def extract_document(
    path: Path,
    *,
    display_name: str | None = None,
    options: ExtractOptions = ExtractOptions(),  # noqa: B008 - frozen, so sharing is safe
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ExtractedDocument:
    """Read every page of `path`. Problems become a status and a message naming
    `display_name` (default: the file name); only ExtractionCancelled is raised."""
    started = time.perf_counter()
    path = Path(path)
    name = display_name or path.name
    cancel = cancel or CancelToken()
    cancel.raise_if_cancelled()
    extraction = _Extraction(path, name, options, progress, cancel)
    try:
        document = extraction.run()
    except ExtractionCancelled:
        log.debug("extraction of %s cancelled", name)
        raise
    except DocumentProblem as problem:
        document = _document(extraction.kind, problem.status, problem.message, ())
    except Exception as exc:  # a bug or a file no reader expected: still an answer
        log.warning("unexpected %s while extracting a document", type(exc).__name__)
        log.debug("unexpected error extracting %s", name, exc_info=True)
        document = _document(
            extraction.kind,
            DocumentStatus.FAILED,
            f"{name} could not be read because of an unexpected problem "
            f"({type(exc).__name__}): try saving it again as a PDF and attach that copy",
            (),
        )
    seconds = time.perf_counter() - started
    log.debug(
        "extracted %s: %s, %d pages, source %s, %.2f s",
        name,
        document.status,
        len(document.pages),
        document.text_source,
        seconds,
    )
    return _document(document.kind, document.status, document.error, document.pages, seconds)


def _document(
    kind: FileKind | None,
    status: DocumentStatus,
    error: str | None,
    pages: tuple[PageText, ...],
    seconds: float = 0.0,
) -> ExtractedDocument:
    readable = [page for page in pages if page.error is None]
    sources = {page.source for page in readable}
    if sources == {SOURCE_TEXT}:
        text_source: str | None = SOURCE_TEXT
    elif sources == {SOURCE_OCR}:
        text_source = SOURCE_OCR
    elif sources:
        text_source = SOURCE_MIXED
    else:
        text_source = None
    return ExtractedDocument(kind, status, error, pages, text_source, seconds)


class _Extraction:
    def __init__(
        self,
        path: Path,
        name: str,
        options: ExtractOptions,
        progress: ProgressCallback | None,
        cancel: CancelToken,
    ) -> None:
        self.path = path
        self.name = name
        self.options = options
        self.progress = progress
        self.cancel = cancel
        self.kind: FileKind | None = None

    def run(self) -> ExtractedDocument:
        try:
            sniffed = sniff_file(self.path)
        except OSError as exc:
            log.debug("cannot open %s", self.path, exc_info=True)
            raise DocumentProblem(
                DocumentStatus.FAILED,
                f"{self.name} could not be opened ({exc.strerror or type(exc).__name__}): "
                "check that the file still exists and that you may read it",
            ) from exc
        self.kind = sniffed.kind
        log.debug("%s sniffed as %s", self.name, sniffed.description)
        if sniffed.kind is None:
            if sniffed.description == "an empty file":
                raise DocumentProblem(
                    DocumentStatus.FAILED,
                    f"{self.name} is empty (0 bytes): the copy may have failed; "
                    "attach the file again",
                )
            raise DocumentProblem(
                DocumentStatus.FAILED,
                f"{self.name} is {sniffed.description}, which cannot be analysed: "
                f"attach the report as a {ALLOWED_DESCRIPTION} file",
            )
        if sniffed.kind in TEXT_KINDS:
            return self._text_file()
        pages = _Pages(self.name, self.options, self.progress, self.cancel)
        try:
            if sniffed.kind is FileKind.PDF:
                self._pdf(pages)
            elif sniffed.kind in IMAGE_KINDS:
                self._image(pages)
            else:  # pragma: no cover - every FileKind is handled above
                raise DocumentProblem(DocumentStatus.FAILED, f"{self.name} cannot be analysed")
            found = pages.finish()
        finally:
            pages.close()
        return self._result(found, pages.unavailable)

    # -- text and CSV --------------------------------------------------------------------------

    def _text_file(self) -> ExtractedDocument:
        size = self.path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise DocumentProblem(
                DocumentStatus.FAILED,
                f"{self.name} is a text file of {size / 1e6:.0f} MB, too large for a report "
                f"(the limit is {MAX_TEXT_BYTES / 1e6:.0f} MB): attach the report itself",
            )
        _report(self.progress, 0, 1)
        text = decode_text(self.path.read_bytes())
        _report(self.progress, 1, 1)
        return _document(self.kind, DocumentStatus.OK, None, (PageText(1, text, SOURCE_TEXT),))

    # -- PDF -----------------------------------------------------------------------------------

    def _pdf(self, pages: _Pages) -> None:
        options = self.options
        reader, password, source = self._open_pdf(pages)
        repaired = isinstance(source, bytes)
        renderer = PdfRenderer(source, password)
        pages.on_close(renderer.close)
        count = len(reader.pages) if reader is not None else 0
        if count == 0:
            reader = None
            count = self._pdfium_page_count(renderer)
        self._check_page_count(count)
        pages.start(count)
        for index in range(count):
            self.cancel.raise_if_cancelled()
            number = index + 1
            if reader is not None:
                text = page_layout_text(reader, index)
            else:
                text = self._pdfium_text(renderer, index)
            if text is not None and count_text_chars(text) >= options.min_text_chars:
                pages.add(PageText(number, text, SOURCE_TEXT))
                continue
            pages.submit(
                number,
                _pdf_page_loader(renderer, number, options),
                fallback_text=text,
                # In a repaired file a page without any text has most likely lost its content.
                empty_error=f"page {number} is damaged or incomplete" if repaired else None,
            )

    def _open_pdf(self, pages: _Pages) -> tuple[PdfReader | None, str | None, Path | bytes]:
        """pypdf on the file; else on a repaired copy of a truncated file; else (None, ...)
        and PDFium will try on its own."""
        password = self.options.password
        # An open file, not a path: pypdf then reads objects as needed instead of loading the
        # whole file (a 500-page scan can be hundreds of megabytes).
        stream = self.path.open("rb")
        pages.on_close(stream.close)
        try:
            reader, used = open_pdf(stream, self.name, password)
            len(reader.pages)  # a broken page tree fails here
            return reader, used, self.path
        except DocumentProblem:
            raise
        except Exception as exc:
            log.debug("pypdf could not read the PDF (%s)", type(exc).__name__, exc_info=True)
        repaired = repair_truncated(self.path)
        if repaired is not None:
            try:
                reader, used = open_pdf(io.BytesIO(repaired), self.name, password)
                if len(reader.pages):
                    log.debug("read a truncated PDF after repairing its trailer")
                    return reader, used, repaired
            except DocumentProblem:
                raise
            except Exception as exc:
                log.debug(
                    "pypdf could not read the repaired PDF (%s)", type(exc).__name__, exc_info=True
                )
        return None, password, self.path

    def _pdfium_page_count(self, renderer: PdfRenderer) -> int:
        try:
            count = renderer.page_count()
        except pdfium.PdfiumError as exc:
            if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
                if self.options.password is None:
                    message = f"{self.name} is password protected: enter its password to analyse it"
                else:
                    message = (
                        f"{self.name} is password protected and the password was not accepted: "
                        "check it and enter it again"
                    )
                raise DocumentProblem(DocumentStatus.NEEDS_PASSWORD, message) from exc
            raise DocumentProblem(DocumentStatus.FAILED, images.damaged_message(self.name)) from exc
        if count == 0:
            raise DocumentProblem(DocumentStatus.FAILED, images.damaged_message(self.name))
        log.debug("PDFium recovered %d pages that pypdf could not read", count)
        return count

    @staticmethod
    def _pdfium_text(renderer: PdfRenderer, index: int) -> str | None:
        try:
            return normalise_layout_text(renderer.page_text(index))
        except Exception:
            log.debug("PDFium could not read the text of page %d", index + 1, exc_info=True)
            return None

    # -- images --------------------------------------------------------------------------------

    def _image(self, pages: _Pages) -> None:
        options = self.options
        count = images.count_pages(self.path, self.name, options.max_image_pixels)
        self._check_page_count(count)
        pages.start(count)
        for number in range(1, count + 1):
            self.cancel.raise_if_cancelled()
            pages.submit(number, _image_page_loader(self.path, self.name, number, options))

    # -- shared --------------------------------------------------------------------------------

    def _check_page_count(self, count: int) -> None:
        if count > self.options.max_pages:
            raise DocumentProblem(
                DocumentStatus.FAILED,
                f"{self.name} has {count} pages, more than the limit of "
                f"{self.options.max_pages}: split it into smaller files and attach those",
            )

    def _result(self, found: list[PageText], unavailable: str | None) -> ExtractedDocument:
        pages = tuple(found)
        failed = [page for page in pages if page.error is not None]
        if unavailable is not None:
            return _document(
                self.kind,
                DocumentStatus.OCR_UNAVAILABLE,
                f"OCR engine not installed: {unavailable}. {self.name} has pages that are "
                "pictures (a scan or a photo): install Tesseract OCR, or set its location in "
                "Settings, then analyse the file again",
                pages,
            )
        if not pages:
            return _document(
                self.kind, DocumentStatus.FAILED, f"{self.name} has no pages to read", pages
            )
        if len(failed) == len(pages):
            if all("damaged or incomplete" in (page.error or "") for page in failed):
                return _document(
                    self.kind, DocumentStatus.FAILED, images.damaged_message(self.name), pages
                )
            if len(pages) == 1:
                reason = failed[0].error
            else:
                reason = f"none of its {len(pages)} pages could be read ({failed[0].error})"
            return _document(
                self.kind, DocumentStatus.FAILED, f"{self.name} could not be read: {reason}", pages
            )
        if failed:
            listed = "; ".join(page.error or "" for page in failed[:3])
            more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
            return _document(
                self.kind,
                DocumentStatus.OK,
                f"{len(failed)} of {len(pages)} pages of {self.name} could not be read: "
                f"{listed}{more}",
                pages,
            )
        return _document(self.kind, DocumentStatus.OK, None, pages)


def _pdf_page_loader(renderer: PdfRenderer, number: int, options: ExtractOptions) -> PageLoader:
    def load() -> tuple[Image.Image, int]:
        return renderer.render_gray(number, options.dpi, options.max_image_pixels), options.dpi

    return load


def _image_page_loader(path: Path, name: str, number: int, options: ExtractOptions) -> PageLoader:
    def load() -> tuple[Image.Image, int]:
        return images.load_page(path, name, number, options.dpi, options.max_image_pixels)

    return load


def _failed_page(number: int, fallback_text: str | None, error: str) -> PageText:
    """A page OCR could not read keeps whatever little text layer it had."""
    if fallback_text:
        return PageText(number, fallback_text, SOURCE_TEXT, error=error)
    return PageText(number, "", SOURCE_OCR, error=error)


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is None:
        return
    try:
        progress(done, total)
    except ExtractionCancelled:
        raise
    except Exception:
        log.warning("the progress callback failed; extraction goes on", exc_info=True)


class _Pages:
    """Collects the pages of one document: text pages as they come, OCR pages through a pool
    of worker threads. Progress is reported from the caller's thread only."""

    def __init__(
        self,
        name: str,
        options: ExtractOptions,
        progress: ProgressCallback | None,
        cancel: CancelToken,
    ) -> None:
        self._name = name
        self._options = options
        self._progress = progress
        self._cancel = cancel
        self._ocr = TesseractOcr(
            options.tesseract_cmd,
            options.ocr_language,
            options.ocr_timeout_seconds,
            max_processes=options.ocr_workers,
            cancel=cancel,
        )
        self._ocr_checked = False
        self._lock = threading.Lock()
        self._unavailable: str | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._futures: set[Future[PageText | None]] = set()
        self._pages: dict[int, PageText] = {}
        self._total = 0
        self._closers: list[Callable[[], None]] = []

    @property
    def unavailable(self) -> str | None:
        with self._lock:
            return self._unavailable

    def on_close(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    def start(self, total: int) -> None:
        self._total = total
        _report(self._progress, 0, total)

    def add(self, page: PageText) -> None:
        self._pages[page.number] = page
        _report(self._progress, len(self._pages), self._total)

    def submit(
        self,
        number: int,
        load: PageLoader,
        *,
        fallback_text: str | None = None,
        empty_error: str | None = None,
    ) -> None:
        if not self._ocr_checked:
            self._ocr_checked = True
            try:
                version = self._ocr.check()
                log.debug("OCR with Tesseract %s", version)
            except OcrUnavailable as missing:
                self._mark_unavailable(missing.reason)
        if self.unavailable is not None:
            self.add(
                _failed_page(
                    number, fallback_text, f"page {number} needs OCR, which is not available"
                )
            )
            return
        if self._executor is None:
            # One thread more than tesseract processes: it draws the next page while the
            # others wait for tesseract, so the processes never wait for a page.
            self._executor = ThreadPoolExecutor(
                max_workers=self._options.ocr_workers + 1, thread_name_prefix="medmitra-ocr"
            )
        self._futures.add(
            self._executor.submit(self._read, number, load, fallback_text, empty_error)
        )
        self._collect(timeout=0)

    def finish(self) -> list[PageText]:
        while self._futures:
            self._cancel.raise_if_cancelled()
            self._collect(timeout=_POLL_SECONDS)
        self._cancel.raise_if_cancelled()
        return [self._pages[number] for number in sorted(self._pages)]

    def close(self) -> None:
        """Stop workers (pages not started are dropped; running ones finish) and free files."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        for closer in self._closers:
            closer()

    def _collect(self, timeout: float) -> None:
        done, _ = wait(self._futures, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            self._futures.discard(future)
            page = future.result()  # _read never raises
            if page is not None:
                self.add(page)

    def _mark_unavailable(self, reason: str) -> None:
        with self._lock:
            if self._unavailable is None:
                self._unavailable = reason

    def _read(
        self,
        number: int,
        load: PageLoader,
        fallback_text: str | None,
        empty_error: str | None,
    ) -> PageText | None:
        """One page in a worker thread. Returns None when cancelled before it started."""
        if self._cancel.cancelled:
            return None
        if self.unavailable is not None:
            return _failed_page(
                number, fallback_text, f"page {number} needs OCR, which is not available"
            )
        try:
            image, dpi = load()
            # Scanned PDF pages can be sideways too, and the check costs nothing on upright ones.
            result = self._ocr.read_page_any_orientation(image, dpi, number)
        except ExtractionCancelled:
            return None
        except PageProblem as problem:
            return _failed_page(number, fallback_text, problem.message)
        except OcrUnavailable as missing:
            self._mark_unavailable(missing.reason)
            return _failed_page(
                number, fallback_text, f"page {number} needs OCR, which is not available"
            )
        except Exception as exc:
            log.warning("unexpected %s while reading a page by OCR", type(exc).__name__)
            log.debug("unexpected error on page %d", number, exc_info=True)
            return _failed_page(number, fallback_text, f"page {number} could not be read")
        if empty_error is not None and not result.words:
            return _failed_page(number, fallback_text, empty_error)
        return PageText(number, result.text, SOURCE_OCR, result.words, result.mean_confidence)
