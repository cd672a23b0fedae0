"""Case-level insights: summary, alerts, SOAP draft and differential, every statement citing
the document line it came from. Rules and their sources are data in resources/insights/."""

from medmitra_desktop.analysis.insights.build import build_insights
from medmitra_desktop.analysis.insights.knowledge import (
    InsightKnowledge,
    InsightKnowledgeError,
    load_insight_knowledge,
)
from medmitra_desktop.analysis.insights.model import (
    Alert,
    CaseInsights,
    DerivedValue,
    DifferentialItem,
    PreviousLab,
    Soap,
)

__all__ = [
    "Alert",
    "CaseInsights",
    "DerivedValue",
    "DifferentialItem",
    "InsightKnowledge",
    "InsightKnowledgeError",
    "PreviousLab",
    "Soap",
    "build_insights",
    "load_insight_knowledge",
]
