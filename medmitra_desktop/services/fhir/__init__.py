"""A case as a FHIR R4 Bundle, and back: data portability to an EMR or another workstation.

`export_case_fhir` writes a transaction Bundle (Patient, DiagnosticReport per document,
Observation per lab result and radiology finding, DocumentReference for the original
files when the doctor includes them, Condition for the diagnoses of a signed SOAP note);
`import_fhir_bundle` takes such a bundle in without ever making a second copy of a case.
Both validate with the models of fhir.resources (its R4B package; see common.py).
"""

from .common import BundleError
from .export import ExportResult, export_case_fhir
from .importer import ImportResult, import_fhir_bundle

__all__ = [
    "BundleError",
    "ExportResult",
    "ImportResult",
    "export_case_fhir",
    "import_fhir_bundle",
]
