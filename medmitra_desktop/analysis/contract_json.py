"""The `medmitra.analysis/1` JSON shape of contracts/analyze-json.md.

Field names here are fixed: outside tools evaluate the product through them. More fields
may be added; none may be renamed.
"""

from __future__ import annotations

from typing import Any

from .extract import PAGE_SEPARATOR
from .labs import LabRow
from .meds import MedsResult
from .pipeline import CaseAnalysis, DocumentAnalysis
from .radiology import RadiologyReport

SCHEMA = "medmitra.analysis/1"


def lab_row_json(row: LabRow) -> dict[str, Any]:
    return {
        "test": row.test,
        "loinc": row.loinc,
        "value": row.value,
        "value_text": row.value_text,
        "unit": row.unit,
        "ref_low": row.ref_low,
        "ref_high": row.ref_high,
        "ref_text": row.ref_text,
        "ref_source": row.ref_source,
        "flag": row.flag,
        "page": row.page,
        "flag_printed": row.flag_printed,
        "flag_note": row.flag_note,
        "critical": row.critical,
        "repaired": row.repaired,
        "test_printed": row.test_printed,
    }


def radiology_json(report: RadiologyReport) -> dict[str, Any]:
    return {
        "modality": report.modality,
        "body_part": report.body_part,
        "sections": dict(report.sections),
        "observations": [
            {
                "finding": o.finding,
                "negated": o.negated,
                "uncertain": o.uncertain,
                "sentence": o.sentence,
                "section": o.section,
                "page": o.page,
                "historical": o.historical,
                "hypothetical": o.hypothetical,
                "family": o.family,
            }
            for o in report.observations
        ],
        "normal": report.normal,
    }


def meds_json(meds: MedsResult | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if meds is None:
        return [], []
    medications = [
        {
            "name": m.name,
            "name_printed": m.name_printed,
            "dose": m.dose,
            "route": m.route,
            "frequency": m.frequency,
            "duration": m.duration,
            "status_hint": getattr(m, "status_hint", None),
            "flagged_reason": m.flagged_reason,
            "sentence": m.sentence,
        }
        for m in meds.medications
    ]
    allergies = [
        {"substance": a.substance, "reaction": a.reaction, "severity": a.severity,
         "sentence": a.sentence}
        for a in meds.allergies
    ]
    return medications, allergies


def document_json(document: DocumentAnalysis) -> dict[str, Any]:
    extracted = document.extracted
    text = PAGE_SEPARATOR.join(page.text for page in extracted.pages)
    medications, allergies = meds_json(document.meds)
    return {
        "file": document.display_name,
        "category": document.category.value if document.category else None,
        "status": extracted.status.value,
        "error": extracted.error,
        "pages": len(extracted.pages) if extracted.pages else None,
        "text_source": extracted.text_source,
        "text_chars": len(text) if extracted.pages else 0,
        "seconds": round(document.seconds, 3),
        "lab_results": [lab_row_json(row) for row in document.lab_rows],
        "radiology": radiology_json(document.radiology) if document.radiology else None,
        "medications": medications,
        "allergies": allergies,
    }


def case_json(analysis: CaseAnalysis) -> dict[str, Any]:
    notes_medications, notes_allergies = meds_json(analysis.notes_meds)
    return {
        "schema": SCHEMA,
        "patient": {"age": analysis.patient.age, "gender": analysis.patient.gender},
        "documents": [document_json(document) for document in analysis.documents],
        "notes": {"medications": notes_medications, "allergies": notes_allergies},
        "insights": analysis.insights.to_contract_dict(),
    }
