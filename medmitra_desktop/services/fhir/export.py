"""A case as a FHIR R4 transaction Bundle an EMR can take in.

What goes in:
- Patient: the name as entered (one text, never split into a guessed given/family), the
  administrative gender, the clinic's record number as an MR identifier. The app knows an
  age, not a birth date, so the age is an Observation (LOINC 30525-0, UCUM "a") rather
  than an invented birthDate; the doctor's notes are an Observation too (LOINC 10164-2).
- DiagnosticReport per document (LAB or RAD), its results the Observations read from it;
  a radiology report's impression is its conclusion.
- Observation per lab result: LOINC code and the test name, the value with the printed
  unit and its UCUM code (resources/knowledge/lab_units.json), the reference range with
  its text, and the flag as a v3 ObservationInterpretation code (H, L, HH, LL, N, A).
- Observation per radiology finding: present, absent or possible (SNOMED CT qualifier
  values), so a negated finding stays negated, with the sentence it came from.
- DocumentReference per original file, only when the doctor includes the files: the bytes
  inline (base64), so the bundle is self-contained and another workstation can restore
  and re-read the reports; with its size and SHA-1 hash (the hash FHIR defines), so the
  receiver can check it. Without the files, neither the bytes nor the file names leave.
- Condition per item of the differential the doctor signed: the diagnoses of the newest
  signed SOAP note, as "differential" (the app never confirms a diagnosis), with ICD-10-CM
  code, the signing doctor and time. An unsigned case has no Conditions.

Every resource has a stable identifier derived from the case's origin (its own id, or
the id of the case it was imported from) and is POSTed with ifNoneExist, so sending the
same case twice creates nothing twice, in an EMR or here.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ...domain.enums import AuditAction, DocumentCategory
from ...domain.records import CaseRecord, DocumentRecord
from ...storage.orm import AuditEntry
from .. import audit
from ..case_results import FindingView, InsightView, LabResultView
from ..soap_notes import SoapRevision
from .common import (
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    DIAGNOSTIC_SERVICE,
    EXT_HISTORICAL,
    EXT_RANGE_SOURCE,
    EXT_SECTION,
    FINDING_ABSENT,
    FINDING_POSSIBLE,
    FINDING_PRESENT,
    ICD10_CM,
    IDENTIFIER_TYPE,
    INTERPRETATION,
    INTERPRETATIONS,
    LOINC,
    LOINC_AGE,
    LOINC_IMAGING_REPORT,
    LOINC_LAB_REPORT,
    LOINC_NOTES,
    MAX_BUNDLE_BYTES,
    OBSERVATION_CATEGORY,
    SNOMED,
    UCUM,
    BundleError,
    coding,
    dumps,
    identifier,
    lab_knowledge,
    loads,
    stable_uuid,
    urn_uuid,
    uuid_of,
    validate_bundle,
)

if TYPE_CHECKING:
    from ...app import AppContext

log = logging.getLogger(__name__)

CASE_ENTITY = "case"
SOURCE_PREFIX = "source="
_NUMBER = re.compile(r"^\s*(?P<cmp><=|>=|<|>)?\s*(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*$")


@dataclass(frozen=True)
class ExportResult:
    path: Path
    case_id: str
    bundle_id: str  # the case's origin: the same for every export of this case
    documents: int  # files included (0 when the doctor left them out)
    lab_results: int
    findings: int
    conditions: int
    size_bytes: int


def export_case_fhir(context: AppContext, case_id: str, path: Path, *, user_id: str,
                     include_files: bool = True) -> ExportResult:
    """Write the case to `path` as a validated FHIR R4 Bundle (JSON) and audit it.

    include_files=False leaves the original report files (and their names) out."""
    case = context.cases.get_case(case_id)
    results = context.results.results(case_id)
    revisions = context.soap_notes.revisions(case_id)
    origin = case_origin(context, case_id)
    documents = [(d, _read_file(context, d)) if include_files else (d, None)
                 for d in case.documents]
    builder = _BundleBuilder(case, origin)
    bundle = builder.build(documents, results.labs, results.findings,
                           _signed(revisions), results.insights)
    text = dumps(bundle)
    size = len(text.encode("utf-8"))
    if size > MAX_BUNDLE_BYTES:
        raise BundleError(
            f"With its files this case is {size // 1024 // 1024} MB as FHIR, more than the "
            f"{MAX_BUNDLE_BYTES // 1024 // 1024} MB a bundle may be. Export it without the "
            f"original files.")
    # Check exactly what is written, with the same reader the import uses.
    validate_bundle(loads(text), "The exported bundle")
    try:
        _write_private(path, text)
    except OSError as error:
        reason = error.strerror or str(error)
        raise BundleError(f"The bundle could not be written to {path} ({reason}). Choose a "
                          f"folder that exists and that you may write to.") from error
    counts = builder.counts
    with context.database.session() as session:
        audit.record(session, user_id=user_id, action=AuditAction.EXPORT, entity=CASE_ENTITY,
                     entity_id=case.case_id,
                     detail=f"fhir files={'yes' if include_files else 'no'} "
                            f"observations={counts['lab'] + counts['finding']}")
    log.info("Case %s exported as FHIR (%d bytes)", case.case_id, size)
    return ExportResult(path=path, case_id=case.case_id, bundle_id=origin,
                        documents=counts["document"], lab_results=counts["lab"],
                        findings=counts["finding"], conditions=counts["condition"],
                        size_bytes=size)


def case_origin(context: AppContext, case_id: str) -> str:
    """The id a case travels under: the case it was imported from (whatever workstation
    made it), else its own. Exporting an imported case back to where it came from then
    names a case that is already there."""
    with context.database.read_session() as session:
        details = session.execute(
            select(AuditEntry.detail).where(AuditEntry.entity_id == case_id,
                                            AuditEntry.action == AuditAction.IMPORT.value)
            .order_by(AuditEntry.id).limit(1)).scalar_one_or_none()
    # Another system's bundle (no case id in it) makes this case the origin.
    return uuid_of(import_source(details or "")) or case_id


def import_source(detail: str) -> str | None:
    """The bundle key an import audit row names ("source=urn:uuid:... documents=2")."""
    for part in detail.split():
        if part.startswith(SOURCE_PREFIX):
            return part[len(SOURCE_PREFIX):]
    return None


def _read_file(context: AppContext, document: DocumentRecord) -> bytes:
    # reading() re-hashes the stored copy: a damaged file is refused, never exported.
    with context.files.reading(document.sha256) as stream:
        return stream.read()


def _signed(revisions: list[SoapRevision]) -> SoapRevision | None:
    return next((r for r in reversed(revisions) if r.signed), None)


def _write_private(path: Path, text: str) -> None:
    """Atomically, readable by this user only: the bundle is the patient's record."""
    folder = path.parent if str(path.parent) else Path(".")
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=".fhir-", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        temp.chmod(0o600)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))


class _BundleBuilder:
    def __init__(self, case: CaseRecord, origin: str) -> None:
        self.case = case
        self.origin = origin
        self.entries: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.effective = _instant(case.created_at)
        self.patient_url = self._url("patient")

    # ---- entries ------------------------------------------------------------------------

    def _url(self, *key: object) -> str:
        return urn_uuid(stable_uuid(self.origin, *key))

    def _add(self, url: str, resource: dict[str, Any]) -> None:
        # Every identifier is a urn:uuid under URI_SYSTEM (see common.identifier).
        value = resource["identifier"][0]["value"]
        self.entries.append({
            "fullUrl": url,
            "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"],
                        "ifNoneExist": f"identifier=urn:ietf:rfc:3986|{value}"},
        })

    def _ident(self, url: str) -> list[dict[str, str]]:
        return [identifier(url.removeprefix("urn:uuid:"))]

    def build(self, documents: list[tuple[DocumentRecord, bytes | None]],
              labs: tuple[LabResultView, ...], findings: tuple[FindingView, ...],
              signed: SoapRevision | None, insights: tuple[InsightView, ...]
              ) -> dict[str, Any]:
        self._patient()
        self._patient_observations()
        seen: Counter[str] = Counter()
        reports = _radiology_reports(insights)
        for document, data in documents:
            seen[document.sha256] += 1
            key = f"{document.sha256}/{seen[document.sha256]}"
            report_url = self._url("report", key)
            file_url = self._document(document, data, key, report_url) if data is not None \
                else None
            results = self._lab_observations(
                [r for r in labs if r.document_id == document.document_id], key, file_url)
            results += self._finding_observations(
                [f for f in findings if f.document_id == document.document_id], key, file_url)
            self._report(report_url, document.category, results,
                         reports.get(document.document_id))
        # Results no document of this case backs (imported from a bundle without files).
        loose_labs = self._lab_observations([r for r in labs if r.document_id is None],
                                            "none", None)
        if loose_labs:
            self._report(self._url("report", "labs"), DocumentCategory.LAB, loose_labs, None)
        loose_findings = self._finding_observations(
            [f for f in findings if f.document_id is None], "none", None)
        if loose_findings:
            self._report(self._url("report", "radiology"), DocumentCategory.RADIOLOGY,
                         loose_findings, None)
        if signed is not None:
            self._conditions(signed, insights)
        return {
            "resourceType": "Bundle",
            "identifier": identifier(self.origin),
            "type": "transaction",
            "timestamp": _instant(datetime.now(UTC)),
            "entry": self.entries,
        }

    def _patient(self) -> None:
        case = self.case
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "identifier": self._ident(self.patient_url),
            "name": [{"text": case.patient_name}],
            "gender": case.patient_gender.value,
        }
        if case.patient_record_number:
            patient["identifier"].append({
                "type": {"coding": [coding(IDENTIFIER_TYPE, "MR", "Medical record number")],
                         "text": "Clinic record number"},
                "value": case.patient_record_number,
            })
        self._add(self.patient_url, patient)

    def _observation(self, url: str, category: str | None, code: dict[str, Any],
                     **fields: Any) -> dict[str, Any]:
        categories = {"category": [{"coding": [coding(OBSERVATION_CATEGORY, category)]}]} \
            if category else {}
        return {
            "resourceType": "Observation",
            "identifier": self._ident(url),
            "status": "final",
            **categories,
            "code": code,
            "subject": {"reference": self.patient_url},
            "effectiveDateTime": self.effective,
            **fields,
        }

    def _patient_observations(self) -> None:
        url = self._url("age")
        self._add(url, self._observation(
            # No category: none of FHIR's observation categories is "demographics".
            url, None, {"coding": [coding(LOINC, LOINC_AGE)], "text": "Age"},
            valueQuantity={"value": self.case.patient_age, "unit": "years", "system": UCUM,
                           "code": "a"}))
        if self.case.case_summary:
            url = self._url("notes")
            self._add(url, self._observation(
                url, None, {"coding": [coding(LOINC, LOINC_NOTES)],
                              "text": "Doctor's notes"},
                valueString=self.case.case_summary))

    def _document(self, document: DocumentRecord, data: bytes, key: str,
                  report_url: str) -> str:
        url = self._url("document", key)
        lab = document.category is DocumentCategory.LAB
        self._add(url, {
            "resourceType": "DocumentReference",
            "identifier": self._ident(url),
            "status": "current",
            "type": {"coding": [coding(LOINC, LOINC_LAB_REPORT if lab
                                       else LOINC_IMAGING_REPORT)],
                     "text": "Laboratory report" if lab else "Radiology report"},
            "subject": {"reference": self.patient_url},
            "date": _instant(document.created_at),
            "content": [{"attachment": {
                "contentType": document.mime_type,
                "data": base64.b64encode(data).decode("ascii"),
                "size": len(data),
                "hash": base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"),
                "title": document.file_name,
                "creation": _instant(document.created_at),
            }}],
            "context": {"related": [{"reference": report_url}]},
        })
        self.counts["document"] += 1
        return url

    def _lab_observations(self, rows: list[LabResultView], key: str,
                          file_url: str | None) -> list[str]:
        urls = []
        for ordinal, row in enumerate(rows, start=1):
            url = self._url("lab", key, ordinal)
            codes = [coding(LOINC, row.loinc)] if row.loinc else []
            fields: dict[str, Any] = {}
            fields.update(_lab_value(row))
            if row.flag in INTERPRETATIONS:
                fields["interpretation"] = [{"coding": [
                    coding(INTERPRETATION, row.flag, INTERPRETATIONS[row.flag])]}]
            if row.row_text:
                fields["note"] = [{"text": row.row_text}]
            reference = _reference_range(row)
            if reference:
                fields["referenceRange"] = [reference]
            if file_url:
                fields["derivedFrom"] = [{"reference": file_url}]
            self._add(url, self._observation(
                url, "laboratory", {"coding": codes, "text": row.test} if codes
                else {"text": row.test}, **fields))
            urls.append(url)
        self.counts["lab"] += len(urls)
        return urls

    def _finding_observations(self, findings: list[FindingView], key: str,
                              file_url: str | None) -> list[str]:
        urls = []
        for ordinal, finding in enumerate(findings, start=1):
            url = self._url("finding", key, ordinal)
            stated = (FINDING_ABSENT if finding.negated else FINDING_POSSIBLE
                      if finding.uncertain else FINDING_PRESENT)
            extensions: list[dict[str, Any]] = []
            if finding.section:
                extensions.append({"url": EXT_SECTION, "valueString": finding.section})
            if finding.historical:
                extensions.append({"url": EXT_HISTORICAL, "valueBoolean": True})
            fields: dict[str, Any] = {
                "valueCodeableConcept": {"coding": [coding(SNOMED, *stated)],
                                         "text": stated[1].split()[0].lower()},
                "note": [{"text": finding.sentence}],
            }
            if extensions:
                fields["extension"] = extensions
            if file_url:
                fields["derivedFrom"] = [{"reference": file_url}]
            self._add(url, self._observation(url, "imaging", {"text": finding.finding},
                                             **fields))
            urls.append(url)
        self.counts["finding"] += len(urls)
        return urls

    def _report(self, url: str, category: DocumentCategory, results: list[str],
                radiology: dict[str, Any] | None) -> None:
        lab = category is DocumentCategory.LAB
        report: dict[str, Any] = {
            "resourceType": "DiagnosticReport",
            "identifier": self._ident(url),
            "status": "final",
            "category": [{"coding": [coding(DIAGNOSTIC_SERVICE, "LAB" if lab else "RAD")]}],
            "code": {"coding": [coding(LOINC, LOINC_LAB_REPORT if lab
                                       else LOINC_IMAGING_REPORT)],
                     "text": "Laboratory report" if lab else "Radiology report"},
            "subject": {"reference": self.patient_url},
            "effectiveDateTime": self.effective,
        }
        if results:
            report["result"] = [{"reference": result} for result in results]
        sections = (radiology or {}).get("sections") or {}
        conclusion = sections.get("impression") if isinstance(sections, dict) else None
        if isinstance(conclusion, str) and conclusion.strip():
            report["conclusion"] = conclusion.strip()
        self._add(url, report)

    def _conditions(self, signed: SoapRevision, insights: tuple[InsightView, ...]) -> None:
        """The differential as it stood when the doctor signed: the newest local analysis
        made at or before the signature (a later re-analysis was not signed)."""
        assert signed.signed_at is not None
        before = [i for i in insights if i.source == "local" and i.created_at <= signed.signed_at]
        if not before:
            return
        payload = max(before, key=lambda i: i.revision).payload
        items = [d for d in payload.get("differential") or () if isinstance(d, dict)]
        seen: Counter[str] = Counter()
        for number, item in enumerate(items, start=1):
            name = str(item.get("condition") or "").strip()
            if not name:
                continue
            code = str(item.get("icd10") or "").strip()
            seen[code or name] += 1
            url = self._url("condition", code or name, seen[code or name])
            self._add(url, {
                "resourceType": "Condition",
                "identifier": self._ident(url),
                "clinicalStatus": {"coding": [coding(CONDITION_CLINICAL, "active")]},
                "verificationStatus": {"coding": [
                    coding(CONDITION_VERIFICATION, "differential", "Differential")]},
                "category": [{"coding": [coding(CONDITION_CATEGORY, "encounter-diagnosis",
                                                "Encounter Diagnosis")]}],
                "code": {"coding": [coding(ICD10_CM, code)], "text": name} if code
                else {"text": name},
                "subject": {"reference": self.patient_url},
                "recordedDate": _instant(signed.signed_at),
                "asserter": {"display": signed.signed_by or "the signing doctor"},
                "note": [{"text": f"Differential item {number} of the SOAP note revision "
                                  f"{signed.revision}, signed by {signed.signed_by} on "
                                  f"{_instant(signed.signed_at)}."}],
            })
            self.counts["condition"] += 1


def _lab_value(row: LabResultView) -> dict[str, Any]:
    match = _NUMBER.match(row.value_text or "")
    if row.value is None or match is None:
        # Qualitative ("Positive", "Nil") and per-field spans ("2-4"): as printed.
        return {"valueString": row.value_text} if row.value_text else {}
    # The printed digits, not the float: "9.10" keeps its significant figures.
    try:
        number = Decimal(match.group("num"))
    except InvalidOperation:
        number = _decimal(row.value)
    quantity: dict[str, Any] = {"value": number}
    if match.group("cmp"):
        quantity["comparator"] = match.group("cmp")
    quantity.update(_unit(row.unit))
    return {"valueQuantity": quantity}


def _unit(printed: str | None) -> dict[str, Any]:
    if not printed:
        return {}
    ucum = lab_knowledge().unit_code(printed)
    # A unit the registry does not know keeps its text only: a guessed UCUM code would
    # let an EMR convert the value wrongly.
    return {"unit": printed, "system": UCUM, "code": ucum} if ucum else {"unit": printed}


def _reference_range(row: LabResultView) -> dict[str, Any]:
    reference: dict[str, Any] = {}
    unit = _unit(row.unit)
    if row.ref_low is not None:
        reference["low"] = {"value": _decimal(row.ref_low), **unit}
    if row.ref_high is not None:
        reference["high"] = {"value": _decimal(row.ref_high), **unit}
    if row.ref_text:
        reference["text"] = row.ref_text
    if reference and row.ref_source:
        reference["extension"] = [{"url": EXT_RANGE_SOURCE, "valueCode": row.ref_source}]
    return reference


def _radiology_reports(insights: tuple[InsightView, ...]) -> dict[str, dict[str, Any]]:
    latest = next((i for i in insights if i.source == "local"), None)
    reports = (latest.payload.get("radiology_reports") if latest else None) or []
    return {str(r.get("document_id")): r for r in reports if isinstance(r, dict)}
