"""Loading the radiology knowledge files, once, by whoever composes the application."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .context import ContextRules, build_context_rules
from .lexicon import KnowledgeError, Lexicon, build_lexicon
from .modality import ExamVocabulary, build_exam_vocabulary
from .sections import SectionRules, build_section_rules

FINDINGS_FILE = "findings.json"
CONTEXT_FILE = "context_rules.json"
SECTIONS_FILE = "sections.json"
MODALITIES_FILE = "modalities.json"
FILES = (FINDINGS_FILE, CONTEXT_FILE, SECTIONS_FILE, MODALITIES_FILE)


@dataclass(frozen=True)
class RadiologyKnowledge:
    lexicon: Lexicon
    context: ContextRules
    sections: SectionRules
    vocabulary: ExamVocabulary
    folder: Path


def radiology_folder(resources_dir: Path) -> Path:
    """The folder holding the files: resources/radiology, or the given folder itself."""
    nested = resources_dir / "radiology"
    return nested if (nested / FINDINGS_FILE).is_file() else resources_dir


def _read(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KnowledgeError(f"radiology knowledge file missing: {path}") from exc
    except json.JSONDecodeError as exc:
        raise KnowledgeError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise KnowledgeError(f"{path}: expected a JSON object")
    return data


def load_radiology_knowledge(resources_dir: Path) -> RadiologyKnowledge:
    """Read and validate every radiology knowledge file; raises KnowledgeError naming the
    file and entry at fault."""
    folder = radiology_folder(Path(resources_dir))
    return RadiologyKnowledge(
        lexicon=build_lexicon(_read(folder, FINDINGS_FILE), FINDINGS_FILE),
        context=build_context_rules(_read(folder, CONTEXT_FILE), CONTEXT_FILE),
        sections=build_section_rules(_read(folder, SECTIONS_FILE), SECTIONS_FILE),
        vocabulary=build_exam_vocabulary(_read(folder, MODALITIES_FILE), MODALITIES_FILE),
        folder=folder,
    )
