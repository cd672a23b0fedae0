"""What the radiology parser produces."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Observation:
    finding: str  # lower-case normalised term from the lexicon ("pleural effusion")
    negated: bool
    uncertain: bool
    sentence: str  # the sentence it was found in, verbatim
    section: str | None = None  # "findings", "impression", ...
    page: int | None = None
    historical: bool = False
    # Asked about or conditional ("rule out pneumonia"); reported as uncertain as well.
    hypothetical: bool = False
    # About someone else ("family history of ..."); reported as uncertain as well.
    family: bool = False
    # Every sentence of the report that mentions this finding, in order (the first one that
    # decided its status is `sentence`).
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class RadiologyReport:
    modality: str | None  # "XR", "CT", "MR", "US", ...
    body_part: str | None  # "chest", ...
    sections: dict[str, str] = field(default_factory=dict)
    observations: tuple[Observation, ...] = ()

    @property
    def normal(self) -> bool:
        """True when no observation is positive (not negated, not uncertain)."""
        return not any(not o.negated and not o.uncertain for o in self.observations)
