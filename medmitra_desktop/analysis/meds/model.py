"""What the medication reader produces, and the review of it against the patient's earlier case.

Field names follow the MedMitra API's `extracted_data.medications[].review_details` so that the
sync layer can map them one to one (state, previous_fields, reason, change_date, approval).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class StatusHint(StrEnum):
    """What the text says about a drug besides its being taken."""

    STOPPED = "stopped"
    HELD = "held"  # "hold metformin before contrast": paused, expected to restart


class ReviewState(StrEnum):
    VERIFIED = "verified"  # seen now as on the earlier case, or newly and fully captured
    CHANGED = "changed"  # same drug, dose / frequency / route differ; old values kept
    STOPPED = "stopped"  # the text says it was stopped (or held)
    UNVERIFIED = "unverified"  # on the earlier case, not seen now
    FLAGGED = "flagged"  # seen now but only partly captured; a human must complete it


@dataclass(frozen=True)
class MedicationMention:
    name: str  # generic, lower-case ("metformin", "amoxicillin-clavulanate")
    name_printed: str  # as written ("Glycomet", "Tab. Augmentin")
    dose: str | None  # "500 mg", "10 units", "650" (a bare strength as printed)
    route: str | None  # "oral", "IV", "IM", "SC", "inhaled", "topical", "SL", ...
    frequency: str | None  # "twice daily", "1-0-1 (morning and night)", "as needed"
    duration: str | None  # "30 days", "2 weeks", "continue"
    sentence: str  # the source sentence or line, verbatim (trimmed)
    page: int | None = None
    flagged_reason: str | None = None  # why the capture is partial; None when complete
    status_hint: StatusHint | None = None  # stopped / held; None for a current medication
    status_reason: str | None = None  # "GI intolerance" in "stopped due to GI intolerance"
    status_date: str | None = None  # the date written with the stop, as printed
    food_timing: str | None = None  # "before food", "after food", "with food"
    drug_class: str | None = None  # from the vocabulary ("biguanide"), None when unknown
    start: int | None = None  # character offset of the name in the text, for highlighting

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "name_printed": self.name_printed,
            "dose": self.dose,
            "route": self.route,
            "frequency": self.frequency,
            "food_timing": self.food_timing,
            "duration": self.duration,
            "status_hint": str(self.status_hint) if self.status_hint else None,
            "status_reason": self.status_reason,
            "status_date": self.status_date,
            "flagged_reason": self.flagged_reason,
            "drug_class": self.drug_class,
            "sentence": self.sentence,
            "page": self.page,
        }


@dataclass(frozen=True)
class AllergyMention:
    substance: str  # lower-case: a generic, an allergen group ("sulfonamides") or as written
    reaction: str | None  # "rash", "urticaria, angioedema"
    severity: str | None  # "mild" | "moderate" | "severe", only when written
    sentence: str
    page: int | None = None
    substance_printed: str | None = None
    category: str | None = None  # "medication" | "food" | "environment" | "biologic"

    def to_dict(self) -> dict[str, Any]:
        # `name` is what the MedMitra API calls the substance.
        return {
            "name": self.substance,
            "substance": self.substance,
            "substance_printed": self.substance_printed,
            "category": self.category,
            "reaction": self.reaction,
            "severity": self.severity,
            "sentence": self.sentence,
            "page": self.page,
        }


@dataclass(frozen=True)
class MedsResult:
    medications: tuple[MedicationMention, ...] = ()
    allergies: tuple[AllergyMention, ...] = ()
    # True only when the text says so and no allergy was found; a contradiction goes to conflicts.
    no_known_allergies: bool = False
    no_current_medications: bool = False
    conflicts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The `medications` / `allergies` part of a document in `analyze --json`."""
        return {
            "medications": [m.to_dict() for m in self.medications],
            "allergies": [a.to_dict() for a in self.allergies],
            "no_known_allergies": self.no_known_allergies,
            "no_current_medications": self.no_current_medications,
            "medication_conflicts": list(self.conflicts),
        }


@dataclass(frozen=True)
class PreviousMedication:
    """A medication on the patient's earlier case, as stored or as pulled from the server."""

    name: str
    dose: str | None = None
    frequency: str | None = None
    route: str | None = None
    duration: str | None = None
    record_id: int | str | None = None  # lets the caller find its row again


@dataclass(frozen=True)
class MedicationReview:
    state: ReviewState
    name: str
    dose: str | None
    route: str | None
    frequency: str | None
    duration: str | None
    mention: MedicationMention | None = None
    previous: PreviousMedication | None = None
    # Only the fields whose value changed, with their earlier values (the API's sparse object).
    previous_fields: dict[str, str | None] = field(default_factory=dict, hash=False)
    reason: str | None = None
    change_date: str | None = None  # ISO 8601 date when known
    # Set later by the doctor, never by the reader.
    is_approved: bool | None = None
    approved_by: str | None = None
    approved_at: str | None = None

    @property
    def is_new(self) -> bool:
        """Seen now and not on the earlier case."""
        return self.previous is None and self.mention is not None

    def review_details(self) -> dict[str, Any]:
        """The API's `review_details` object: only the fields its state defines."""
        details: dict[str, Any] = {"state": str(self.state)}
        if self.state is ReviewState.FLAGGED:
            details["reason"] = self.reason
        elif self.state in (ReviewState.CHANGED, ReviewState.STOPPED):
            if self.state is ReviewState.CHANGED:
                details["previous_fields"] = {
                    ("dosage" if k == "dose" else k): v for k, v in self.previous_fields.items()
                }
            details["reason"] = self.reason
            details["change_date"] = self.change_date
            details["is_approved"] = (
                None if self.is_approved is None else ("yes" if self.is_approved else "no")
            )
            if self.is_approved:
                details["approved_doctor"] = self.approved_by
        return details

    def to_dict(self) -> dict[str, Any]:
        """The API's medication object ("dosage" is its name for dose)."""
        return {
            "name": self.name,
            "dosage": self.dose,
            "route": self.route,
            "frequency": self.frequency,
            "duration": self.duration,
            "review_details": self.review_details(),
        }
