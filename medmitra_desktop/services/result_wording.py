"""How results are put into words for a doctor, shared by the window and the printed case
document so both say the same thing. No Qt, no HTML."""

from __future__ import annotations

from collections.abc import Sequence

from .case_results import AllergyView, LabResultView, MedicationView

STATE_WORDS = {
    "verified": "Verified",
    "changed": "Changed",
    "stopped": "Stopped",
    "unverified": "Unverified",
    "flagged": "Flagged",
}
FIELD_LABELS = {"dosage": "dose", "dose": "dose", "route": "route", "frequency": "frequency",
                "duration": "duration"}


def review_text(medication: MedicationView, *, approved_mark: str = " ✓") -> str:
    """"Changed (was: dose 500 mg): dose increased, 2026-11-01 ✓"."""
    details = medication.review_details
    state = medication.review_state
    text = STATE_WORDS.get(state, state.capitalize())
    if state == "changed":
        previous = details.get("previous_fields") or {}
        was = "; ".join(f"{FIELD_LABELS.get(k, k)} {v or '(none)'}" for k, v in previous.items())
        if was:
            text += f" (was: {was})"
    reason = details.get("reason")
    if reason and state in ("stopped", "flagged", "changed"):
        text += f": {reason}"
    if details.get("change_date") and state in ("stopped", "changed"):
        text += f", {details['change_date']}"
    if details.get("is_approved") == "yes":
        text += approved_mark
    return text


def medication_source(medication: MedicationView) -> str:
    if medication.document_name:
        if medication.page:
            return f"{medication.document_name}, page {medication.page}"
        return medication.document_name
    if medication.review_state == "unverified" and medication.review_details.get(
            "previous_case_id"):
        return "Earlier case"
    return "Doctor's notes"


def reference_text(row: LabResultView, *, knowledge_base_note: str = " (knowledge base)"
                   ) -> str:
    """The interval as printed, else from its bounds; marked when it is the app's default."""
    if row.ref_text:
        text = row.ref_text
    elif row.ref_low is not None and row.ref_high is not None:
        text = f"{row.ref_low:g} – {row.ref_high:g}"
    elif row.ref_low is not None:
        text = f"≥ {row.ref_low:g}"
    elif row.ref_high is not None:
        text = f"≤ {row.ref_high:g}"
    else:
        return ""
    if row.ref_source == "knowledge_base":
        text += knowledge_base_note
    return text


def lab_source(row: LabResultView) -> str:
    if row.document_name is None:
        return "Doctor's notes"
    return f"{row.document_name}, page {row.page}" if row.page else row.document_name


def allergy_parts(mentions: Sequence[AllergyView]) -> tuple[str, list[str]]:
    """One substance's reactions and severities, each once, in the order first written."""
    details: list[str] = []
    for allergy in mentions:
        for detail in (allergy.reaction, allergy.severity):
            if detail and detail not in details:
                details.append(detail)
    return mentions[0].substance, details
