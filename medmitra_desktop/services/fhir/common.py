"""What export and import share: code systems, stable identifiers, JSON that keeps decimal
precision, and validation against the FHIR models.

**R4, validated with the R4B models.** fhir.resources 8.x puts FHIR R5 at the top level
(`fhir.resources.bundle` is R5) and ships R4B (4.3.0) and STU3 as subpackages; it has no
R4 (4.0.1) package. The issue asks for R4 because that is what EMRs take in. R4B is R4's
ballot revision: it changed the medicinal-product, evidence and subscription resources,
while Bundle, Patient, Observation, DiagnosticReport, DocumentReference and Condition, the
only resources used here, are the same in both. So bundles are built to R4 and checked with
`fhir.resources.R4B` (never the top-level R5 models, which would accept R5-only elements
an R4 server rejects).
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ...domain.errors import MedMitraError

if TYPE_CHECKING:
    from fhir.resources.R4B.bundle import Bundle

    from ...analysis.labs import LabKnowledge

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json; fhirVersion=4.0"

# A case's identity, carried by Bundle.identifier and by every resource's identifier:
# RFC 3986 with a urn:uuid value is FHIR's own way to say "this UUID, no other system".
URI_SYSTEM = "urn:ietf:rfc:3986"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"  # the insight rules' codes are ICD-10-CM
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
# Local extensions for what FHIR has no element for. The project has no canonical web
# address yet; these live under the same placeholder domain as the API default.
EXTENSION_BASE = "https://medmitra.example/fhir/StructureDefinition/"
EXT_RANGE_SOURCE = EXTENSION_BASE + "reference-range-source"  # report | knowledge_base
EXT_SECTION = EXTENSION_BASE + "radiology-section"
EXT_HISTORICAL = EXTENSION_BASE + "finding-historical"

LOINC_AGE = "30525-0"  # Age
LOINC_NOTES = "10164-2"  # History of present illness narrative: the doctor's notes
LOINC_LAB_REPORT = "11502-2"  # Laboratory report
LOINC_IMAGING_REPORT = "18748-4"  # Diagnostic imaging study

# SNOMED CT qualifier values: how a radiology finding was stated (negation kept).
FINDING_PRESENT = ("52101004", "Present")
FINDING_ABSENT = ("2667000", "Absent")
FINDING_POSSIBLE = ("60022001", "Possible diagnosis")

# The app's lab flags are exactly these v3 ObservationInterpretation codes.
INTERPRETATIONS = {
    "H": "High", "L": "Low", "HH": "Critical high", "LL": "Critical low", "N": "Normal",
    "A": "Abnormal",
}

# Import reads the whole bundle into memory (pydantic validates it as one document).
# Three 50 MB reports, base64-encoded, fit; anything bigger is not one case's bundle.
MAX_BUNDLE_BYTES = 256 * 1024 * 1024

# The namespace of every stable id; changing it would make every earlier export look new.
_NAMESPACE = uuid.UUID("6f1b8a3e-2c1d-5b0e-9a57-4d7e0c2f9b61")


class BundleError(MedMitraError):
    """A file that is not a FHIR bundle this app can take in, or a case that cannot be
    exported as one; the message says which and what to do."""


def urn_uuid(value: uuid.UUID | str) -> str:
    return f"urn:uuid:{value}"


def stable_uuid(origin: str, *parts: object) -> uuid.UUID:
    """The same id for the same thing of the same case on every export from every
    workstation, so an EMR (ifNoneExist) and this app can tell a re-sent resource."""
    return uuid.uuid5(_NAMESPACE, "/".join([origin, *(str(p) for p in parts)]))


def identifier(value: uuid.UUID | str) -> dict[str, str]:
    return {"system": URI_SYSTEM, "value": urn_uuid(value)}


def uuid_of(urn: str | None) -> str | None:
    """The UUID in "urn:uuid:...", lower case; None for anything else."""
    if not urn or not urn.lower().startswith("urn:uuid:"):
        return None
    try:
        return str(uuid.UUID(urn[9:]))
    except ValueError:
        return None


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def dumps(resource: dict[str, Any]) -> str:
    """JSON with Decimal values written digit for digit: in FHIR "9.10" and "9.1" differ
    (significant figures), and json would write a float's shortest form instead."""

    # A marker no text in the case can hold by chance: random, and json escapes its NUL.
    marker = f"\u0000{secrets.token_hex(8)}:"

    def mark(value: object) -> str:
        if isinstance(value, Decimal):
            return marker + format(value, "f")
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    text = json.dumps(resource, ensure_ascii=False, indent=1, default=mark)
    token = re.compile('"' + re.escape(json.dumps(marker)[1:-1]) + r'([-+0-9.]+)"')
    return token.sub(lambda m: m.group(1), text)


def loads(text: str) -> Any:
    """JSON with decimals kept as written (see dumps)."""
    return json.loads(text, parse_float=Decimal)


def validate_bundle(data: Any, what: str = "The file") -> Bundle:
    """The bundle as fhir.resources' R4B model; BundleError saying what is wrong."""
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError as ModelError

    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise BundleError(f"{what} holds JSON, but not a FHIR resource (it has no "
                          f"resourceType). Choose a FHIR Bundle exported as JSON.")
    if data["resourceType"] != "Bundle":
        raise BundleError(f"{what} is a FHIR {data['resourceType']} resource, not a Bundle. "
                          f"Export the whole case as a Bundle and import that.")
    entries = data.get("entry")
    for number, entry in enumerate(entries if isinstance(entries, list) else [], start=1):
        kind = (entry.get("resource") or {}).get("resourceType") if isinstance(entry, dict) \
            else None
        if isinstance(kind, str):
            try:
                get_fhir_model_class(kind)
            except ValueError:
                raise BundleError(f"{what}: entry {number} is a {kind!r}, which FHIR R4 does "
                                  f"not define. The bundle is damaged or not FHIR R4.") from None
    try:
        return Bundle.model_validate(data)
    except ModelError as error:
        raise BundleError(f"{what} does not follow FHIR R4: {_first_problems(error)}") from error
    except (ValueError, TypeError, KeyError) as error:
        raise BundleError(f"{what} does not follow FHIR R4 ({error}).") from error


def _first_problems(error: Any, shown: int = 3) -> str:
    problems = error.errors()
    parts = []
    for problem in problems[:shown]:
        where = ".".join(str(p) for p in problem.get("loc", ()))
        parts.append(f"{where or 'bundle'}: {problem.get('msg', 'invalid')}")
    more = len(problems) - shown
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "") + "."


@lru_cache(maxsize=1)
def lab_knowledge() -> LabKnowledge:
    """Units -> UCUM codes come from resources/knowledge/lab_units.json, the analysis's own
    unit registry (one source of lab facts), loaded once per process."""
    from ...analysis.labs import load_lab_knowledge
    from ...config import resources_dir

    return load_lab_knowledge(resources_dir())
