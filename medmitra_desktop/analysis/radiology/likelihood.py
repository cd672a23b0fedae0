"""How much a text looks like a radiology report, for choosing a parser before parsing.

The caller has only the text at that point (no knowledge base is chosen yet), so the cues
are a small fixed list here: report headers and imaging words for radiology, against
result rows with units and reference intervals for laboratory reports.
"""

from __future__ import annotations

import re

_HEADERS = re.compile(
    r"(?im)(?:^[ \t]*|(?<=[.,;])[ \t]*|(?<=\s))"
    r"(findings|impression|indication|comparison|technique|clinical history|"
    r"reason for (?:exam|examination|study)|conclusion)[ \t]*:"
)
_IMAGING = re.compile(
    r"(?i)\b(radiolog\w*|radiograph\w*|x-?ray|xray|cxr|ct scan|computed tomography|mri|"
    r"magnetic resonance|ultrasound|sonograph\w*|mammogra\w*|fluoroscop\w*|pa and lateral|"
    r"ap and lateral|frontal and lateral|views? of the|portable|contrast|radiologist)\b"
)
_ANATOMY = re.compile(
    r"(?i)\b(lungs?|pleural?|pneumothora\w*|effusions?|cardiomediastinal|mediastin\w*|"
    r"opacit\w*|consolidation|atelecta\w*|hemidiaphragms?|osseous|silhouette|air\s?space|"
    r"cardiopulmonary|granulom\w*|nodul\w*|infiltrat\w*|parenchym\w*|fractures?|contours?|"
    r"vasculature|costophrenic|hilar|bony|spondylosis|cardiomegaly|thorax|abdomen|lesions?)\b"
)
_LAB_ROW = re.compile(
    r"(?i)\d\s*(?:mg/dl|g/dl|g/l|mmol/l|meq/l|u/l|iu/l|ng/ml|pg/ml|[uµμ]iu/ml|miu/l|fl\b|pg\b|"
    r"10\^\d+/[uµμ]l|x\s?10\^?\d+|cells/cumm|/cumm|lakhs|/hpf|mg/l|[uµμ]mol/l|ml/min)"
)
_LAB_WORDS = re.compile(
    r"(?i)\b(reference (?:range|interval)|biological reference|ref\.? range|specimen|collected|"
    r"haemoglobin|hemoglobin|glucose|creatinine|cholesterol|platelets?|wbc|rbc|hba1c|sodium|"
    r"potassium|tsh|bilirubin|albumin|urinalysis|laborator\w*|hematocrit|triglycerides|"
    r"test name|investigation|observed value|units?)\b"
)
_INTERVAL = re.compile(r"\(\s*[<>]?\s*\d+(?:\.\d+)?\s*(?:-\s*\d+(?:\.\d+)?\s*)?\)")


def _distinct(pattern: re.Pattern[str], text: str) -> int:
    return len({m.group(1).lower() for m in pattern.finditer(text)})


def radiology_likelihood(text: str) -> float:
    """0..1: near 1 for a radiology report, near 0 for a lab report or unrelated text."""
    if not text or not text.strip():
        return 0.0
    radiology = (
        min(2.0 * _distinct(_HEADERS, text), 6.0)
        + min(1.0 * _distinct(_IMAGING, text), 4.0)
        + min(0.5 * _distinct(_ANATOMY, text), 5.0)
    )
    laboratory = (
        min(0.5 * len(_LAB_ROW.findall(text)), 6.0)
        + min(0.5 * _distinct(_LAB_WORDS, text), 5.0)
        + min(0.3 * len(_INTERVAL.findall(text)), 3.0)
    )
    return round(radiology / (radiology + laboratory + 1.0), 4)
