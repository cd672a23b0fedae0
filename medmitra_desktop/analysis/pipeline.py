"""One case through the whole pipeline: extract every document, parse it as a lab or a
radiology report, find medications and allergies, then build insights over all of them.

Used by the headless `analyze` command and by the durable job runner alike, so what a
doctor sees in the window is exactly what `analyze --json` prints for the same files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from ..domain.enums import DocumentCategory, DocumentStatus
from .extract import (
    PAGE_SEPARATOR,
    CancelToken,
    ExtractedDocument,
    ExtractOptions,
    extract_document,
)
from .insights import (
    CaseInsights,
    InsightKnowledge,
    PreviousLab,
    build_insights,
    load_insight_knowledge,
)
from .labs import LabKnowledge, LabRow, lab_likelihood, load_lab_knowledge, parse_lab_report
from .meds import (
    MedsKnowledge,
    MedsResult,
    extract_medications,
    load_meds_knowledge,
    merge_results,
)
from .radiology import (
    RadiologyKnowledge,
    RadiologyReport,
    load_radiology_knowledge,
    parse_radiology_report,
    radiology_likelihood,
)

AUTO = "auto"
# (document index, pages done, pages total)
ProgressCallback = Callable[[int, int, int], None]


@dataclass(frozen=True)
class Patient:
    age: int | None = None
    gender: str | None = None
    notes: str = ""


@dataclass(frozen=True)
class DocumentInput:
    path: Path
    display_name: str
    category: str = AUTO  # "auto", "lab" or "radiology"
    password: str | None = None


@dataclass(frozen=True)
class DocumentAnalysis:
    display_name: str
    category: DocumentCategory | None  # None when nothing could be read to decide
    extracted: ExtractedDocument
    seconds: float
    lab_rows: tuple[LabRow, ...] = ()
    radiology: RadiologyReport | None = None
    meds: MedsResult | None = None


@dataclass(frozen=True)
class CaseAnalysis:
    patient: Patient
    documents: tuple[DocumentAnalysis, ...]
    notes_meds: MedsResult
    insights: CaseInsights


@dataclass(frozen=True)
class Knowledge:
    """Every knowledge base, loaded and validated once per process."""

    labs: LabKnowledge
    radiology: RadiologyKnowledge
    meds: MedsKnowledge
    insights: InsightKnowledge

    @classmethod
    def load(cls, resources_dir: Path) -> Knowledge:
        labs = load_lab_knowledge(resources_dir)
        return cls(
            labs=labs,
            radiology=load_radiology_knowledge(resources_dir),
            meds=load_meds_knowledge(resources_dir),
            insights=load_insight_knowledge(resources_dir, labs),  # rules read its tests
        )


def decide_category(text: str, requested: str) -> DocumentCategory | None:
    if requested in (DocumentCategory.LAB.value, DocumentCategory.RADIOLOGY.value):
        return DocumentCategory(requested)
    if not text.strip():
        return None
    if radiology_likelihood(text) > lab_likelihood(text):
        return DocumentCategory.RADIOLOGY
    return DocumentCategory.LAB


class Analyzer:
    def __init__(self, knowledge: Knowledge, options: ExtractOptions | None = None) -> None:
        self.knowledge = knowledge
        self.options = options or ExtractOptions()

    def document(
        self,
        item: DocumentInput,
        patient: Patient,
        *,
        options: ExtractOptions | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> DocumentAnalysis:
        started = time.perf_counter()
        options = options or self.options
        if item.password is not None:
            options = replace(options, password=item.password)
        extracted = extract_document(item.path, display_name=item.display_name,
                                     options=options, progress=progress, cancel=cancel)
        readable = extracted.status is DocumentStatus.OK or (
            # Without the OCR engine a mixed PDF still has its text-layer pages.
            extracted.status is DocumentStatus.OCR_UNAVAILABLE
            and any(page.text.strip() for page in extracted.pages)
        )
        if not readable:
            category = decide_category("", item.category)
            return DocumentAnalysis(item.display_name, category, extracted,
                                    time.perf_counter() - started)
        page_texts = [page.text for page in extracted.pages]
        text = PAGE_SEPARATOR.join(page_texts)
        category = decide_category(text, item.category)
        lab_rows: tuple[LabRow, ...] = ()
        radiology: RadiologyReport | None = None
        if category is DocumentCategory.LAB:
            lab_rows = tuple(parse_lab_report(page_texts, age=patient.age, gender=patient.gender,
                                              knowledge=self.knowledge.labs))
        elif category is DocumentCategory.RADIOLOGY:
            radiology = parse_radiology_report(
                text, self.knowledge.radiology, page_of_offset=_page_finder(page_texts))
        meds = merge_results(
            extract_medications(page.text, self.knowledge.meds, page=page.number)
            for page in extracted.pages)
        return DocumentAnalysis(
            display_name=item.display_name, category=category, extracted=extracted,
            seconds=time.perf_counter() - started, lab_rows=lab_rows, radiology=radiology,
            meds=meds,
        )

    def case(
        self,
        items: Sequence[DocumentInput],
        patient: Patient,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        previous_labs: Sequence[PreviousLab] = (),
        collected_at: datetime | None = None,
    ) -> CaseAnalysis:
        """All documents (several at once when there are spare cores), then insights."""
        cores = max(1, self.options.ocr_workers)
        parallel = max(1, min(cores, len(items)))
        # Split the cores between documents so that OCR never runs more tesseract
        # processes than there are cores.
        per_document = replace(self.options, ocr_workers=max(1, cores // parallel))

        def run(index: int) -> DocumentAnalysis:
            def report(done: int, total: int) -> None:
                if progress is not None:
                    progress(index, done, total)

            return self.document(items[index], patient, options=per_document,
                                 progress=report, cancel=cancel)

        if parallel == 1:
            documents = [run(index) for index in range(len(items))]
        else:
            with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="doc") as pool:
                documents = list(pool.map(run, range(len(items))))
        return self.finish_case(patient, documents, previous_labs=previous_labs,
                                collected_at=collected_at)

    def finish_case(self, patient: Patient, documents: Sequence[DocumentAnalysis], *,
                    previous_labs: Sequence[PreviousLab] = (),
                    collected_at: datetime | None = None) -> CaseAnalysis:
        notes_meds = extract_medications(patient.notes, self.knowledge.meds)
        insights = build_insights(
            age=patient.age,
            gender=patient.gender,
            notes=patient.notes,
            lab_documents=[(index, d.lab_rows) for index, d in enumerate(documents)
                           if d.lab_rows],
            radiology_documents=[(index, d.radiology) for index, d in enumerate(documents)
                                 if d.radiology is not None],
            knowledge=self.knowledge.insights,
            previous_labs=previous_labs,
            collected_at=collected_at,
        )
        return CaseAnalysis(patient=patient, documents=tuple(documents), notes_meds=notes_meds,
                            insights=insights)


def _page_finder(page_texts: Sequence[str]) -> Callable[[int], int]:
    """Maps a character offset in the joined text back to its 1-based page."""
    starts: list[int] = []
    offset = 0
    for text in page_texts:
        starts.append(offset)
        offset += len(text) + len(PAGE_SEPARATOR)

    def page_of(position: int) -> int:
        page = 1
        for number, start in enumerate(starts, start=1):
            if position >= start:
                page = number
        return page

    return page_of


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)
