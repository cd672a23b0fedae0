"""Take a FHIR R4 Bundle in as a case, never twice.

**One case, once.** A bundle names its case: Bundle.identifier (this app's exports carry
the case's origin id there, the same on every export). Import looks for a case with that
id (the bundle came back to the workstation that made it) and for an earlier import of it
(the audit trail's import row names its source), and when either exists it creates
nothing and says which case it is. A bundle without an identifier is known by the SHA-256
of its bytes, so the same file is still imported once.

**Through the case service.** The case and its files are created by CaseService, like a
case the doctor types in: fields checked, files sniffed and copied into the file store,
sync told, the analysis job queued. The original files in the bundle (inline data,
checked against their size and SHA-1) are then read by this workstation's own pipeline,
so their results are exactly what this app derives from them; the bundle's Observations
for those files are not written as well (analysis would replace them). Observations no
included file backs (the doctor exported without files, or another system sent them) are
imported as they are, as results without a document, which re-analysis keeps.

Diagnoses (Condition) are counted, not imported: a diagnosis here is the analysis's
suggestion until the doctor on this workstation signs it.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ...domain.enums import AuditAction, DocumentCategory
from ...domain.errors import ValidationError
from ...domain.records import NewAttachment
from ...domain.validation import check_user_id
from ...storage.orm import AuditEntry, Case, LabResult, RadiologyObservation
from .. import audit
from .common import (
    EXT_HISTORICAL,
    EXT_RANGE_SOURCE,
    EXT_SECTION,
    FINDING_ABSENT,
    FINDING_POSSIBLE,
    IDENTIFIER_TYPE,
    INTERPRETATIONS,
    LOINC,
    LOINC_AGE,
    LOINC_IMAGING_REPORT,
    LOINC_NOTES,
    MAX_BUNDLE_BYTES,
    OBSERVATION_CATEGORY,
    BundleError,
    lab_knowledge,
    loads,
    uuid_of,
    validate_bundle,
)
from .export import CASE_ENTITY, SOURCE_PREFIX

if TYPE_CHECKING:
    from ...app import AppContext

log = logging.getLogger(__name__)

_AGE_UNITS = {"a": 1.0, "yr": 1.0, "year": 1.0, "years": 1.0, "mo": 1 / 12, "wk": 1 / 52.18,
              "d": 1 / 365.25}


@dataclass(frozen=True)
class ImportResult:
    case_id: str
    created: bool  # False: the case was already on this workstation; nothing was changed
    in_trash: bool = False
    documents: int = 0  # original files, queued for analysis here
    lab_results: int = 0  # imported as results (no included file to read them from)
    findings: int = 0
    left_out: tuple[str, ...] = ()  # what the bundle held that was not imported, in words


@dataclass
class _Parsed:
    key: str
    name: str
    gender: str
    age: int
    record_number: str | None
    notes: str
    files: list[tuple[bytes, DocumentCategory, str]]
    labs: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    left_out: list[str]


def import_fhir_bundle(context: AppContext, path: Path, *, user_id: str,
                       max_bytes: int = MAX_BUNDLE_BYTES) -> ImportResult:
    """Import the bundle at `path` as a new case, or name the case it already is.

    Raises BundleError for a file that is not a usable bundle (not JSON, not FHIR R4, too
    large, no patient, a damaged file inside), ValidationError for a bad user id."""
    clean_user, user_error = check_user_id(user_id)
    if user_error is not None or clean_user is None:
        raise ValidationError([user_error] if user_error else [])
    raw = _read(path, max_bytes)
    bundle = validate_bundle(_json(raw, path), f"The file {path.name}")
    parsed = _parse(bundle, raw)

    existing = _existing_case(context, parsed.key)
    if existing is not None:
        case_id, in_trash = existing
        log.info("Bundle already imported as case %s; nothing changed", case_id)
        return ImportResult(case_id=case_id, created=False, in_trash=in_trash)

    with tempfile.TemporaryDirectory(dir=context.paths.data_dir, prefix=".import-") as folder:
        labs: list[NewAttachment] = []
        radiology: list[NewAttachment] = []
        for number, (data, category, file_name) in enumerate(parsed.files, start=1):
            # A folder per file: two reports may well have the same name.
            target = Path(folder) / str(number) / "file"
            target.parent.mkdir()
            target.write_bytes(data)
            attachment = NewAttachment(target, category, file_name)
            (labs if category is DocumentCategory.LAB else radiology).append(attachment)
        try:
            record = context.cases.create_case(
                user_id=clean_user, patient_name=parsed.name, patient_age=parsed.age,
                patient_gender=parsed.gender, case_summary=parsed.notes,
                lab_files=labs, radiology_files=radiology,
                patient_record_number=parsed.record_number)
        except ValidationError as error:
            raise BundleError(f"The bundle's case does not fit the rules here: {error}. "
                              f"Nothing was imported.") from error

    # A crash between create_case's transaction and this one leaves a case without its
    # import row, which a second import of the same bundle would not recognise; the
    # case service owns case creation, so the two cannot share one transaction.
    with context.database.session() as session:
        case_pk = session.execute(select(Case.id).where(Case.uid == record.case_id)
                                  ).scalar_one()
        for row in parsed.labs:
            session.add(LabResult(case_id=case_pk, document_id=None, page=None, **row))
        for row in parsed.findings:
            session.add(RadiologyObservation(case_id=case_pk, document_id=None, page=None,
                                             **row))
        audit.record(session, user_id=clean_user, action=AuditAction.IMPORT,
                     entity=CASE_ENTITY, entity_id=record.case_id,
                     detail=f"{SOURCE_PREFIX}{parsed.key} documents={len(parsed.files)} "
                            f"lab_results={len(parsed.labs)} "
                            f"findings={len(parsed.findings)}")
    log.info("Bundle imported as case %s with %d file(s)", record.case_id, len(parsed.files))
    return ImportResult(case_id=record.case_id, created=True, documents=len(parsed.files),
                        lab_results=len(parsed.labs), findings=len(parsed.findings),
                        left_out=tuple(parsed.left_out))


# ---- reading the file ---------------------------------------------------------------------


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BundleError(
                f"The file {path.name} is {_megabytes(size)}; a case's FHIR bundle is at most "
                f"{_megabytes(max_bytes)}. Is this the right file?")
        if size == 0:
            raise BundleError(f"The file {path.name} is empty.")
        return path.read_bytes()
    except FileNotFoundError as error:
        raise BundleError(f"The file {path} does not exist.") from error
    except IsADirectoryError as error:
        raise BundleError(f"{path} is a folder; choose a FHIR bundle file.") from error
    except PermissionError as error:
        raise BundleError(f"The file {path} cannot be read: permission denied.") from error


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MB" if size >= 1024 * 1024 else f"{size:,} bytes"


def _json(raw: bytes, path: Path) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BundleError(f"The file {path.name} is not a FHIR bundle: it is not text "
                          f"(FHIR JSON is UTF-8).") from None
    try:
        return loads(text)
    except ValueError as error:
        raise BundleError(f"The file {path.name} is not a FHIR bundle: it is not valid "
                          f"JSON ({error}).") from None
    except RecursionError:
        raise BundleError(f"The file {path.name} is not a FHIR bundle: its JSON is nested "
                          f"too deeply.") from None


# ---- mapping the bundle -------------------------------------------------------------------


def _parse(bundle: Any, raw: bytes) -> _Parsed:
    by_url: dict[str, Any] = {}
    resources: list[Any] = []
    for entry in bundle.entry or ():
        resource = entry.resource
        if resource is None:
            continue
        resources.append(resource)
        kind = resource.get_resource_type()
        if entry.fullUrl:
            by_url[entry.fullUrl] = resource
        if getattr(resource, "id", None):
            by_url[f"{kind}/{resource.id}"] = resource

    def of_type(kind: str) -> list[Any]:
        return [r for r in resources if r.get_resource_type() == kind]

    patients = of_type("Patient")
    if len(patients) != 1:
        raise BundleError(
            "The bundle has no Patient; a case needs one." if not patients else
            f"The bundle holds {len(patients)} patients; import takes one case, with one "
            f"patient, per bundle.")
    patient = patients[0]
    left_out: list[str] = []

    observations = of_type("Observation")
    age_observation = next((o for o in observations if _loinc(o) == LOINC_AGE), None)
    notes_observation = next((o for o in observations if _loinc(o) == LOINC_NOTES), None)

    files, included = _files(of_type("DocumentReference"), by_url, left_out)
    labs: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    for observation in observations:
        if observation in (age_observation, notes_observation):
            continue
        if any(id(by_url.get(ref.reference or "")) in included
               for ref in observation.derivedFrom or ()):
            continue  # read again from its file by this workstation's analysis
        if _is_finding(observation):
            findings.append(_finding(observation))
        else:
            row = _lab(observation)
            if row is not None:
                labs.append(row)
    conditions = of_type("Condition")
    if conditions:
        left_out.append(
            f"{_count(len(conditions), 'diagnosis', 'diagnoses')} (Condition) not imported: "
            f"here a diagnosis is suggested by this workstation's analysis and signed by "
            f"its doctor.")
    return _Parsed(
        key=_bundle_key(bundle, raw),
        name=_name(patient),
        gender=_gender(patient, left_out),
        age=_age(patient, age_observation),
        record_number=_record_number(patient),
        notes=(notes_observation.valueString or "") if notes_observation else "",
        files=files, labs=labs, findings=findings, left_out=left_out,
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _bundle_key(bundle: Any, raw: bytes) -> str:
    ident = bundle.identifier
    value = ident.value if ident is not None else None
    uid = uuid_of(value)
    if uid is not None:
        return f"urn:uuid:{uid}"
    if value:
        # Another system's identifier: hashed, because the audit trail holds no values
        # that might be a patient's number.
        digest = hashlib.sha256(f"{ident.system or ''}|{value}".encode()).hexdigest()
        return f"id:{digest[:40]}"
    return f"sha256:{hashlib.sha256(raw).hexdigest()[:40]}"


def _existing_case(context: AppContext, key: str) -> tuple[str, bool] | None:
    """(case id, in the trash) of a case that is this bundle's case, if one is here."""
    with context.database.read_session() as session:
        uid = uuid_of(key)
        candidates: list[str] = [uid] if uid else []
        prefix = f"{SOURCE_PREFIX}{key} "
        candidates += session.execute(
            select(AuditEntry.entity_id).where(
                AuditEntry.action == AuditAction.IMPORT.value,
                AuditEntry.detail.startswith(prefix, autoescape=True))
            .order_by(AuditEntry.id)).scalars()
        for candidate in candidates:
            row = session.execute(select(Case.uid, Case.deleted_at)
                                  .where(Case.uid == candidate)).first()
            if row is not None:  # a purged case is gone: importing brings it back
                return row.uid, row.deleted_at is not None
    return None


def _name(patient: Any) -> str:
    for name in patient.name or ():
        text = (name.text or " ".join([*(name.given or ()), name.family or ""])).strip()
        if text:
            return text
    raise BundleError("The bundle's Patient has no name; a case needs the patient's name.")


def _gender(patient: Any, left_out: list[str]) -> str:
    gender = patient.gender or "unknown"
    if gender in ("male", "female", "other"):
        return gender
    left_out.append("The bundle does not give the patient's gender; recorded as other. "
                    "Correct it in the case if you know it.")
    return "other"


def _age(patient: Any, observation: Any) -> int:
    quantity = observation.valueQuantity if observation is not None else None
    if quantity is not None and quantity.value is not None:
        per_year = _AGE_UNITS.get(quantity.code or quantity.unit or "a")
        if per_year is not None:
            return int(float(quantity.value) * per_year)
    born = patient.birthDate
    if isinstance(born, date):
        today = datetime.now(UTC).date()
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    raise BundleError("The bundle gives neither the patient's age nor a birth date; a case "
                      "needs the age.")


def _record_number(patient: Any) -> str | None:
    for ident in patient.identifier or ():
        codes = [c.code for c in (ident.type.coding or ())
                 if c.system in (IDENTIFIER_TYPE, None)] if ident.type else []
        if "MR" in codes and ident.value:
            return str(ident.value)
    return None


def _files(documents: list[Any], by_url: dict[str, Any], left_out: list[str]
           ) -> tuple[list[tuple[bytes, DocumentCategory, str]], set[int]]:
    """Original files with their bytes in the bundle, checked against the size and SHA-1
    the bundle states; and the DocumentReferences they came from."""
    files: list[tuple[bytes, DocumentCategory, str]] = []
    included: list[Any] = []
    without_data = 0
    for number, document in enumerate(documents, start=1):
        attachments = [c.attachment for c in document.content or () if c.attachment]
        attachment = next((a for a in attachments if a.data), None)
        if attachment is None:
            without_data += 1
            continue
        data: bytes = attachment.data
        title = attachment.title or f"document-{number}{_extension(attachment.contentType)}"
        if attachment.size is not None and int(attachment.size) != len(data):
            raise BundleError(f"The file {title} in the bundle is damaged: it should be "
                              f"{int(attachment.size):,} bytes but is {len(data):,}.")
        if attachment.hash and attachment.hash != hashlib.sha1(data).digest():
            raise BundleError(f"The file {title} in the bundle is damaged: its content does "
                              f"not match the hash stored with it.")
        codes = {c.code for c in (document.type.coding or ())} if document.type else set()
        category = (DocumentCategory.RADIOLOGY if LOINC_IMAGING_REPORT in codes
                    else DocumentCategory.LAB)
        files.append((data, category, title))
        included.append(document)
    if without_data:
        left_out.append(f"{_count(without_data, 'document', 'documents')} without the "
                        f"file itself (only a reference) not imported.")
    # By identity: pydantic models compare by value, and two DocumentReferences with the
    # same fields are still two documents.
    return files, {id(document) for document in included}


def _extension(content_type: str | None) -> str:
    return (mimetypes.guess_extension(content_type or "") or "") if content_type else ""


def _loinc(observation: Any) -> str | None:
    for code in (observation.code.coding or ()) if observation.code else ():
        if code.system == LOINC and code.code:
            return str(code.code)
    return None


def _categories(observation: Any) -> set[str]:
    return {c.code for concept in observation.category or () for c in concept.coding or ()
            if c.system == OBSERVATION_CATEGORY and c.code}


def _is_finding(observation: Any) -> bool:
    return "imaging" in _categories(observation)


def _text_of(concept: Any) -> str:
    if concept is None:
        return ""
    if concept.text:
        return str(concept.text)
    for code in concept.coding or ():
        if code.display or code.code:
            return str(code.display or code.code)
    return ""


def _extension_value(element: Any, url: str) -> Any:
    for extension in element.extension or ():
        if extension.url == url:
            for name in ("valueCode", "valueString", "valueBoolean"):
                value = getattr(extension, name, None)
                if value is not None:
                    return value
    return None


def _number(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _lab(observation: Any) -> dict[str, Any] | None:
    test = _text_of(observation.code)[:200]
    if not test:
        return None
    quantity = observation.valueQuantity
    unit: str | None = None
    value: float | None = None
    if quantity is not None and quantity.value is not None:
        value = float(quantity.value)
        value_text = (quantity.comparator or "") + format(quantity.value, "f")
        unit = quantity.unit or (lab_knowledge().unit_display(quantity.code) or quantity.code)
    elif observation.valueString:
        value_text = str(observation.valueString)
    elif observation.valueCodeableConcept is not None:
        value_text = _text_of(observation.valueCodeableConcept)
    else:
        return None  # nothing was measured (e.g. dataAbsentReason)
    flag = next((c.code for concept in observation.interpretation or ()
                 for c in concept.coding or () if c.code in INTERPRETATIONS), None)
    reference = (observation.referenceRange or [None])[0]
    ref_low = _number(reference.low.value) if reference and reference.low else None
    ref_high = _number(reference.high.value) if reference and reference.high else None
    ref_text = reference.text if reference else None
    ref_source = _extension_value(reference, EXT_RANGE_SOURCE) if reference else None
    if reference is not None and ref_source is None:
        ref_source = "report"  # another system's range: the reporting laboratory's
    note = next((n.text for n in observation.note or () if n.text), None)
    return {
        "test": test, "test_printed": None, "loinc": _loinc(observation),
        "value": value, "value_text": value_text[:100], "unit": (unit or None) and unit[:50],
        "ref_low": ref_low, "ref_high": ref_high,
        "ref_text": ref_text[:200] if ref_text else None, "ref_source": ref_source,
        "flag": flag, "flag_printed": None, "flag_note": None,
        "critical": flag in ("LL", "HH"), "repaired": None, "row_text": note,
    }


def _finding(observation: Any) -> dict[str, Any]:
    stated = {c.code for c in (observation.valueCodeableConcept.coding or ())} \
        if observation.valueCodeableConcept else set()
    stated_text = _text_of(observation.valueCodeableConcept).lower()
    finding = _text_of(observation.code)[:100] or "finding"
    note = next((n.text for n in observation.note or () if n.text), None)
    section = _extension_value(observation, EXT_SECTION)
    return {
        "finding": finding,
        "negated": FINDING_ABSENT[0] in stated or stated_text == "absent",
        "uncertain": FINDING_POSSIBLE[0] in stated or stated_text == "possible",
        "historical": bool(_extension_value(observation, EXT_HISTORICAL)),
        "section": str(section)[:30] if section else None,
        "sentence": note or finding,
    }

