"""FHIR R4 export and import: the bundle validates with fhir.resources, carries the codes
an EMR needs, round-trips into a second data folder with equal structured results, and
never makes a second copy of a case."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from medmitra_desktop.analysis.pipeline import Analyzer
from medmitra_desktop.app import AppContext, open_app
from medmitra_desktop.domain.enums import DocumentCategory
from medmitra_desktop.domain.records import CaseRecord, NewAttachment
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.services.fhir import (
    BundleError,
    export_case_fhir,
    import_fhir_bundle,
)
from medmitra_desktop.services.fhir.common import dumps, loads
from medmitra_desktop.storage.orm import Case, LabResult
from tests.factories import LAB_LINES, text_pdf

CXR_LINES = [
    "CHEST X-RAY PA VIEW",
    "FINDINGS:",
    "No pleural effusion. There is consolidation in the right lower lobe.",
    "IMPRESSION:",
    "Right lower lobe pneumonia.",
]


@pytest.fixture
def other(tmp_path: Path) -> Iterator[AppContext]:
    """A second workstation: its own data folder."""
    opened = open_app(str(tmp_path / "other-data"))
    yield opened
    opened.close()


def analysed_case(context: AppContext, jobs: AnalysisJobs, tmp_path: Path, *,
                  sign: bool = True) -> CaseRecord:
    case = context.cases.create_case(
        user_id="dr-a", patient_name="Asha Verma", patient_age=45, patient_gender="female",
        case_summary="Fever for 3 days", patient_record_number="MRN-77",
        lab_files=[NewAttachment(text_pdf(tmp_path / "cbc.pdf", LAB_LINES),
                                 DocumentCategory.LAB)],
        radiology_files=[NewAttachment(text_pdf(tmp_path / "cxr.pdf", CXR_LINES),
                                       DocumentCategory.RADIOLOGY)])
    assert jobs.run_next() is not None
    if sign:
        context.soap_notes.sign(case.case_id, user_id="dr-a", doctor_name="Dr. Rao")
    return case


def resources(path: Path, kind: str) -> list[dict[str, Any]]:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def lab_tuples(context: AppContext, case_id: str) -> list[tuple[Any, ...]]:
    return sorted((r.test, r.loinc, r.value, r.value_text, r.unit, r.ref_low, r.ref_high,
                   r.ref_text, r.flag, r.critical)
                  for r in context.results.results(case_id).labs)


def finding_tuples(context: AppContext, case_id: str) -> list[tuple[Any, ...]]:
    return sorted((f.finding, f.negated, f.uncertain, f.historical, f.section, f.sentence)
                  for f in context.results.results(case_id).findings)


def case_count(context: AppContext) -> int:
    with context.database.read_session() as session:
        return session.execute(select(func.count()).select_from(Case)).scalar_one()


def run_all(context: AppContext, analyzer: Analyzer) -> None:
    jobs = AnalysisJobs(context.database, context.files, analyzer)
    while jobs.run_next() is not None:
        pass


# ---- export ---------------------------------------------------------------------------------


def test_export_validates_as_fhir_r4_with_the_codes_an_emr_needs(
        context: AppContext, jobs: AnalysisJobs, tmp_path: Path) -> None:
    case = analysed_case(context, jobs, tmp_path)
    target = tmp_path / "out" / "case.json"
    target.parent.mkdir()

    result = export_case_fhir(context, case.case_id, target, user_id="dr-a")

    text = target.read_text(encoding="utf-8")
    bundle = Bundle.model_validate_json(text)  # the R4B models, independently of the app
    assert bundle.type == "transaction"
    assert bundle.identifier.value == f"urn:uuid:{case.case_id}"
    kinds = [e.resource.get_resource_type() for e in bundle.entry]
    assert kinds.count("Patient") == 1 and kinds.count("DiagnosticReport") == 2
    assert kinds.count("DocumentReference") == 2
    assert (result.documents, result.lab_results, result.findings) == (2, 4, 3)
    assert result.conditions == kinds.count("Condition") >= 1
    # Every entry is a conditional create on its own stable identifier.
    for entry in bundle.entry:
        value = entry.resource.identifier[0].value
        assert entry.request.method == "POST"
        assert entry.request.ifNoneExist == f"identifier=urn:ietf:rfc:3986|{value}"
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o600

    patient = resources(target, "Patient")[0]
    assert patient["name"] == [{"text": "Asha Verma"}] and patient["gender"] == "female"
    assert patient["identifier"][1]["value"] == "MRN-77"
    observations = resources(target, "Observation")
    age = next(o for o in observations if o["code"].get("text") == "Age")
    assert age["valueQuantity"] == {"value": 45, "unit": "years",
                                    "system": "http://unitsofmeasure.org", "code": "a"}

    hemoglobin = next(o for o in observations if o["code"].get("text") == "Hemoglobin")
    assert hemoglobin["code"]["coding"] == [{"system": "http://loinc.org", "code": "718-7"}]
    assert hemoglobin["valueQuantity"] == {"value": 9.1, "unit": "g/dL",
                                           "system": "http://unitsofmeasure.org",
                                           "code": "g/dL"}
    reference = hemoglobin["referenceRange"][0]
    assert (reference["low"]["value"], reference["high"]["value"]) == (13.0, 17.0)
    assert reference["text"] == "13.0 - 17.0" and reference["low"]["code"] == "g/dL"
    assert hemoglobin["interpretation"][0]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
        "code": "L", "display": "Low"}
    wbc = next(o for o in observations if o["code"].get("text") == "White Blood Cell Count")
    assert wbc["valueQuantity"]["unit"] == "10^3/uL"  # as printed, for people
    assert wbc["valueQuantity"]["code"] == "10*3/uL"  # UCUM, for machines

    effusion = next(o for o in observations if o["code"].get("text") == "pleural effusion")
    assert effusion["valueCodeableConcept"]["coding"][0]["code"] == "2667000"  # absent
    assert effusion["category"][0]["coding"][0]["code"] == "imaging"
    consolidation = next(o for o in observations
                         if o["code"].get("text") == "consolidation")
    assert consolidation["valueCodeableConcept"]["coding"][0]["code"] == "52101004"
    radiology = next(r for r in resources(target, "DiagnosticReport")
                     if r["category"][0]["coding"][0]["code"] == "RAD")
    assert radiology["conclusion"] == "Right lower lobe pneumonia."

    original = (tmp_path / "cbc.pdf").read_bytes()
    cbc = next(d for d in resources(target, "DocumentReference")
               if d["content"][0]["attachment"]["title"] == "cbc.pdf")
    attachment = cbc["content"][0]["attachment"]
    assert base64.b64decode(attachment["data"]) == original
    assert attachment["size"] == len(original)
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(original).digest()).decode()
    assert attachment["contentType"] == "application/pdf"
    assert {"reference": next(e["fullUrl"] for e in json.loads(text)["entry"]
                              if e["resource"] is not None and e["resource"] == cbc)} \
        in hemoglobin["derivedFrom"]

    condition = resources(target, "Condition")[0]
    assert condition["verificationStatus"]["coding"][0]["code"] == "differential"
    assert condition["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10-cm"
    assert condition["asserter"] == {"display": "Dr. Rao"}
    assert [(e.action, e.detail) for e in context.cases.history(case.case_id)][-1] == (
        "export", "fhir files=yes observations=7")


def test_an_unsigned_case_exports_no_diagnoses(context: AppContext, jobs: AnalysisJobs,
                                               tmp_path: Path) -> None:
    case = analysed_case(context, jobs, tmp_path, sign=False)
    target = tmp_path / "case.json"
    assert export_case_fhir(context, case.case_id, target, user_id="dr-a").conditions == 0
    assert resources(target, "Condition") == []


def test_without_files_the_bundle_carries_no_file_and_no_file_name(
        context: AppContext, jobs: AnalysisJobs, tmp_path: Path) -> None:
    case = analysed_case(context, jobs, tmp_path)
    target = tmp_path / "case.json"
    result = export_case_fhir(context, case.case_id, target, user_id="dr-a",
                              include_files=False)
    text = target.read_text(encoding="utf-8")
    assert result.documents == 0 and resources(target, "DocumentReference") == []
    assert "cbc.pdf" not in text and "cxr.pdf" not in text
    assert "derivedFrom" not in text
    assert len(resources(target, "DiagnosticReport")) == 2  # the reports' results stay


def test_decimals_keep_their_significant_figures() -> None:
    text = dumps({"value": Decimal("9.10"), "list": [Decimal("250"), Decimal("-0.001")],
                  "text": "9.10"})
    assert '"value": 9.10' in text and "250," in text and "-0.001" in text
    assert loads(text)["value"] == Decimal("9.10") and str(loads(text)["value"]) == "9.10"


# ---- import ---------------------------------------------------------------------------------


def test_round_trip_with_files_gives_equal_structured_results(
        context: AppContext, other: AppContext, jobs: AnalysisJobs, analyzer: Analyzer,
        tmp_path: Path) -> None:
    case = analysed_case(context, jobs, tmp_path)
    bundle = tmp_path / "case.json"
    export_case_fhir(context, case.case_id, bundle, user_id="dr-a")

    imported = import_fhir_bundle(other, bundle, user_id="dr-b")
    assert imported.created and imported.case_id != case.case_id
    assert imported.documents == 2 and imported.lab_results == 0  # read from the files
    assert any("diagnos" in note for note in imported.left_out)
    run_all(other, analyzer)

    copy = other.cases.get_case(imported.case_id)
    assert (copy.patient_name, copy.patient_age, copy.patient_gender, copy.case_summary,
            copy.patient_record_number) == ("Asha Verma", 45, case.patient_gender,
                                            "Fever for 3 days", "MRN-77")
    assert sorted((d.file_name, d.category, d.sha256) for d in copy.documents) == sorted(
        (d.file_name, d.category, d.sha256) for d in case.documents)
    assert lab_tuples(other, imported.case_id) == lab_tuples(context, case.case_id)
    assert len(lab_tuples(other, imported.case_id)) == 4
    assert finding_tuples(other, imported.case_id) == finding_tuples(context, case.case_id)
    history = [(e.action, e.detail) for e in other.cases.history(imported.case_id)]
    assert history[:2] == [("create", "documents=2"),
                           ("import", f"source=urn:uuid:{case.case_id} documents=2 "
                                      f"lab_results=0 findings=0")]


def test_round_trip_without_files_imports_the_results_and_reanalysis_keeps_them(
        context: AppContext, other: AppContext, jobs: AnalysisJobs, analyzer: Analyzer,
        tmp_path: Path) -> None:
    case = analysed_case(context, jobs, tmp_path)
    bundle = tmp_path / "case.json"
    export_case_fhir(context, case.case_id, bundle, user_id="dr-a", include_files=False)

    imported = import_fhir_bundle(other, bundle, user_id="dr-b")
    assert (imported.documents, imported.lab_results, imported.findings) == (0, 4, 3)
    assert lab_tuples(other, imported.case_id) == lab_tuples(context, case.case_id)
    assert finding_tuples(other, imported.case_id) == finding_tuples(context, case.case_id)

    # The notes queue an analysis, and re-analysis runs again: neither may drop results
    # that no document here could give back.
    run_all(other, analyzer)
    other.cases.reanalyze(imported.case_id, user_id="dr-b")
    run_all(other, analyzer)
    assert lab_tuples(other, imported.case_id) == lab_tuples(context, case.case_id)
    assert len(finding_tuples(other, imported.case_id)) == 3


def test_importing_twice_or_at_home_makes_no_second_case(
        context: AppContext, other: AppContext, jobs: AnalysisJobs, analyzer: Analyzer,
        tmp_path: Path) -> None:
    case = analysed_case(context, jobs, tmp_path)
    bundle = tmp_path / "case.json"
    export_case_fhir(context, case.case_id, bundle, user_id="dr-a")

    home = import_fhir_bundle(context, bundle, user_id="dr-a")
    assert (home.created, home.case_id) == (False, case.case_id)
    assert case_count(context) == 1

    first = import_fhir_bundle(other, bundle, user_id="dr-b")
    again = import_fhir_bundle(other, bundle, user_id="dr-b")
    assert first.created and not again.created and again.case_id == first.case_id
    assert case_count(other) == 1

    # Re-exported from the second workstation, the case still travels under its origin:
    # back home it is recognised, and the second workstation knows it too.
    run_all(other, analyzer)
    back = tmp_path / "back.json"
    assert export_case_fhir(other, first.case_id, back, user_id="dr-b").bundle_id \
        == case.case_id
    assert import_fhir_bundle(context, back, user_id="dr-a").case_id == case.case_id
    assert import_fhir_bundle(other, back, user_id="dr-b").case_id == first.case_id
    assert (case_count(context), case_count(other)) == (1, 1)

    # In the trash it is still this case; purged, it may come back.
    other.cases.delete_case(first.case_id, user_id="dr-b")
    trashed = import_fhir_bundle(other, bundle, user_id="dr-b")
    assert (trashed.created, trashed.in_trash, trashed.case_id) == (False, True,
                                                                    first.case_id)
    other.cases.purge_case(first.case_id, user_id="dr-b")
    revived = import_fhir_bundle(other, bundle, user_id="dr-b")
    assert revived.created and case_count(other) == 1


def emr_bundle(**patient: Any) -> dict[str, Any]:
    """A bundle another system might send: no identifiers, relative references."""
    return {
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"fullUrl": "http://emr.example/fhir/Patient/p1",
             "resource": {"resourceType": "Patient", "id": "p1", "gender": "unknown",
                          "name": [{"given": ["Meera"], "family": "Iyer"}],
                          "birthDate": "1980-02-29", **patient}},
            {"fullUrl": "http://emr.example/fhir/Observation/o1",
             "resource": {"resourceType": "Observation", "id": "o1", "status": "final",
                          "code": {"coding": [{"system": "http://loinc.org",
                                               "code": "2345-7"}], "text": "Glucose"},
                          "subject": {"reference": "Patient/p1"},
                          "valueQuantity": {"value": 212, "unit": "mg/dL",
                                            "system": "http://unitsofmeasure.org",
                                            "code": "mg/dL"},
                          "interpretation": [{"coding": [{
                              "system": "http://terminology.hl7.org/CodeSystem/"
                                        "v3-ObservationInterpretation", "code": "H"}]}],
                          "referenceRange": [{"low": {"value": 70}, "high": {"value": 99}}]}},
        ],
    }


def test_another_systems_bundle_imports_once(context: AppContext, tmp_path: Path) -> None:
    path = tmp_path / "emr.json"
    path.write_text(json.dumps(emr_bundle()), encoding="utf-8")

    result = import_fhir_bundle(context, path, user_id="dr-a")
    again = import_fhir_bundle(context, path, user_id="dr-a")

    assert result.created and not again.created and case_count(context) == 1
    case = context.cases.get_case(result.case_id)
    assert case.patient_name == "Meera Iyer" and case.patient_gender.value == "other"
    assert 40 <= case.patient_age <= 50
    assert any("gender" in note for note in result.left_out)
    assert lab_tuples(context, result.case_id) == [
        ("Glucose", "2345-7", 212.0, "212", "mg/dL", 70.0, 99.0, None, "H", False)]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "is empty"),
    (b"\xff\xfe\x00garbage\x00", "not text"),
    (b"%PDF-1.4 not json", "not valid JSON"),
    (b'{"hello": "world"}', "not a FHIR resource"),
    (b'{"resourceType": "Patient", "name": [{"text": "A"}]}', "Patient resource, not a Bundle"),
    (b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
     b'{"resourceType": "Spaceship"}}]}', "'Spaceship', which FHIR R4 does not define"),
    (b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
     b'{"resourceType": "Observation", "status": "final"}}]}', "does not follow FHIR R4"),
    (b'{"resourceType": "Bundle", "type": "collection"}', "has no Patient"),
    (b"[" * 100_000 + b"]" * 100_000, "JSON"),
])
def test_files_that_are_not_usable_bundles_are_refused_in_words(
        context: AppContext, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    with pytest.raises(BundleError, match=message):
        import_fhir_bundle(context, path, user_id="dr-a")
    assert case_count(context) == 0


def test_a_huge_file_is_refused_before_it_is_read(context: AppContext,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(3 * 1024 * 1024)  # sparse: no need to write megabytes
    with pytest.raises(BundleError, match="is 3 MB; a case's FHIR bundle is at most 1 MB"):
        import_fhir_bundle(context, path, user_id="dr-a", max_bytes=1024 * 1024)
    with pytest.raises(BundleError, match="does not exist"):
        import_fhir_bundle(context, tmp_path / "missing.json", user_id="dr-a")


def test_a_damaged_file_inside_the_bundle_is_refused(
        context: AppContext, other: AppContext, jobs: AnalysisJobs, tmp_path: Path) -> None:
    case = analysed_case(context, jobs, tmp_path)
    path = tmp_path / "case.json"
    export_case_fhir(context, case.case_id, path, user_id="dr-a")
    bundle = json.loads(path.read_text(encoding="utf-8"))
    document = next(e["resource"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "DocumentReference")
    data = bytearray(base64.b64decode(document["content"][0]["attachment"]["data"]))
    data[200] ^= 0xFF
    document["content"][0]["attachment"]["data"] = base64.b64encode(bytes(data)).decode()
    path.write_text(json.dumps(bundle), encoding="utf-8")

    with pytest.raises(BundleError, match="in the bundle is damaged"):
        import_fhir_bundle(other, path, user_id="dr-b")
    assert case_count(other) == 0
    with other.database.read_session() as session:
        assert session.execute(select(func.count()).select_from(LabResult)).scalar_one() == 0
    assert not [p for p in other.paths.files.rglob("*") if p.is_file()]


def test_export_into_a_missing_folder_is_refused_in_words(
        context: AppContext, tmp_path: Path) -> None:
    case = context.cases.create_case(user_id="dr-a", patient_name="Asha Verma",
                                     patient_age=45, patient_gender="female")
    target = tmp_path / "no such folder" / "case.json"
    with pytest.raises(BundleError, match=r"could not be written to .*Choose a folder"):
        export_case_fhir(context, case.case_id, target, user_id="dr-a")
    assert [e.action for e in context.cases.history(case.case_id)] == ["create"]
