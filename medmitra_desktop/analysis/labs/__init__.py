"""Lab reports: result rows from page text, with a knowledge base of tests, units and ranges."""

from .knowledge import KnowledgeError, LabKnowledge, LabTest, load_lab_knowledge
from .model import LabRow
from .parser import lab_likelihood, parse_lab_report

__all__ = [
    "KnowledgeError",
    "LabKnowledge",
    "LabRow",
    "LabTest",
    "lab_likelihood",
    "load_lab_knowledge",
    "parse_lab_report",
]
