"""Medications and allergies read from notes, prescriptions and discharge summaries, and their
review against the patient's earlier case. Pure: no Qt, no database, no network.

    knowledge = load_meds_knowledge(resources_dir())   # once, by the caller
    result = extract_medications(text, knowledge, page=1)
    reviews = review_medications(result.medications, previous, knowledge=knowledge)
"""

from .extract import dedupe_mentions, extract_medications, merge_results
from .knowledge import MedsKnowledge, MedsKnowledgeError, load_meds_knowledge
from .model import (
    AllergyMention,
    MedicationMention,
    MedicationReview,
    MedsResult,
    PreviousMedication,
    ReviewState,
    StatusHint,
)
from .review import iso_date, review_medications

__all__ = [
    "AllergyMention",
    "MedicationMention",
    "MedicationReview",
    "MedsKnowledge",
    "MedsKnowledgeError",
    "MedsResult",
    "PreviousMedication",
    "ReviewState",
    "StatusHint",
    "dedupe_mentions",
    "extract_medications",
    "iso_date",
    "load_meds_knowledge",
    "merge_results",
    "review_medications",
]
