"""What the insight engine produces (and the one extra input it takes: earlier lab results)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from medmitra_desktop.analysis.labs.model import LabRow

Severity = Literal["critical", "warning", "info"]


@dataclass(frozen=True)
class PreviousLab:
    """A result from an earlier collection, for trends, AKI and CKD chronicity."""

    row: LabRow
    collected: datetime | date | None = None
    label: str = "previous"  # how evidence names it ("previous", "case 12 doc 0", ...)


@dataclass(frozen=True)
class Alert:
    severity: Severity
    message: str
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Soap:
    subjective: str
    objective: str
    assessment: str
    plan: str


@dataclass(frozen=True)
class DifferentialItem:
    condition: str
    icd10: str
    confidence: float
    evidence: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    source: str = ""
    rule_id: str = ""


@dataclass(frozen=True)
class DerivedValue:
    name: str
    value: float
    unit: str
    formula: str
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CaseInsights:
    summary: str
    key_findings: list[str]
    alerts: list[Alert]
    soap: Soap
    differential: list[DifferentialItem]
    derived: list[DerivedValue]
    one_line: str
    bullets: list[str]

    def to_contract_dict(self) -> dict[str, Any]:
        """The `insights` object of `analyze --json` (fixed fields first, extras after)."""
        return {
            "summary": self.summary,
            "key_findings": list(self.key_findings),
            "alerts": [
                {"severity": a.severity, "message": a.message, "evidence": list(a.evidence)}
                for a in self.alerts
            ],
            "soap": {
                "subjective": self.soap.subjective,
                "objective": self.soap.objective,
                "assessment": self.soap.assessment,
                "plan": self.soap.plan,
            },
            "differential": [
                {
                    "condition": d.condition,
                    "icd10": d.icd10,
                    "confidence": d.confidence,
                    "evidence": list(d.evidence),
                    "next_steps": list(d.next_steps),
                    "source": d.source,
                    "rule": d.rule_id,
                }
                for d in self.differential
            ],
            "derived": [
                {
                    "name": v.name,
                    "value": v.value,
                    "unit": v.unit,
                    "formula": v.formula,
                    "evidence": list(v.evidence),
                }
                for v in self.derived
            ],
            "one_line": self.one_line,
            "bullets": list(self.bullets),
        }
