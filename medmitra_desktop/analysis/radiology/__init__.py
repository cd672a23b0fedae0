"""Radiology reports: sections, sentences, finding lexicon, negation and uncertainty.

Load the knowledge once (`load_radiology_knowledge(resources_dir)`) and pass it to
`parse_radiology_report`; `radiology_likelihood` helps decide whether a text is a radiology
report at all.
"""

from .knowledge import RadiologyKnowledge, load_radiology_knowledge
from .lexicon import KnowledgeError
from .likelihood import radiology_likelihood
from .model import Observation, RadiologyReport
from .report import parse_radiology_report

__all__ = [
    "KnowledgeError",
    "Observation",
    "RadiologyKnowledge",
    "RadiologyReport",
    "load_radiology_knowledge",
    "parse_radiology_report",
    "radiology_likelihood",
]
