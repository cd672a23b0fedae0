"""The case as a printable document: escaped, marked, honest about drafts, and audited."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from medmitra_desktop import __version__
from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.errors import NotFoundError
from medmitra_desktop.domain.records import CaseRecord
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.services.case_document import case_report_html
from tests.factories import LAB_LINES, make_case, text_file, text_pdf

ODD_NAME = 'Ravi <Kumar> & "Sons"'
CRITICAL_POTASSIUM = "Potassium            6.9       mmol/L    3.5 - 5.1"
RADIOLOGY_TEXT = ("CHEST X-RAY PA VIEW\nFINDINGS: No pneumothorax. The heart is enlarged.\n"
                  "IMPRESSION: Cardiomegaly.\n")


def analysed(context: AppContext, jobs: AnalysisJobs, **case_fields: object) -> CaseRecord:
    case = make_case(context.cases, **case_fields)  # type: ignore[arg-type]
    outcome = jobs.run_next()
    assert outcome is not None and outcome.case_id == case.case_id
    return context.cases.get_case(case.case_id)


def lab_rows(document: str) -> dict[str, str]:
    """Each lab table row's <tr ...> markup, by test name."""
    rows = re.findall(r"<tr[^>]*>.*?</tr>", document, re.S)
    found = {}
    for row in rows:
        test = re.search(r"<td>(.*?)</td>", row)
        if test:
            found[re.sub(r"<[^>]+>", "", test[1])] = row
    return found


def test_patient_name_and_clinic_are_escaped(context: AppContext, jobs: AnalysisJobs,
                                             tmp_path: Path) -> None:
    case = analysed(context, jobs, name=ODD_NAME, lab=[text_pdf(tmp_path / "cbc.pdf",
                                                                  LAB_LINES)])
    document = context.documents.html(case.case_id)
    assert "Ravi &lt;Kumar&gt; &amp; &quot;Sons&quot;" in document
    assert "<Kumar>" not in document and '"Sons"' not in document
    assert "<h1>MedMitra Desktop</h1>" in document  # no clinic name set yet

    context.settings.save(replace(context.settings.load(), clinic_name="Sunrise <Clinic> & Co",
                                  doctor_name="Dr. Meera Rao"))
    document = context.documents.html(case.case_id)
    assert "<h1>Sunrise &lt;Clinic&gt; &amp; Co</h1>" in document
    assert "Dr. Meera Rao" in document
    # Self-contained: nothing to fetch, nothing to run.
    for outside in ("http:", "https:", "<script", "src=", "<link", "@import"):
        assert outside not in document


def test_header_and_footer(context: AppContext, tmp_path: Path) -> None:
    case = context.cases.create_case(
        user_id="dr", patient_name="Asha Verma", patient_age=45, patient_gender="female",
        patient_record_number="MRN-0042")
    moment = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
    document = context.documents.html(case.case_id, now=moment)
    for expected in ("Asha Verma", "45 years", "Female", "MRN-0042",
                     case.created_at.astimezone().strftime("%d %b %Y")):
        assert expected in document
    local = moment.astimezone()
    assert (f"Generated {local.strftime('%d %b %Y %H:%M')} {local.strftime('%Z')} by "
            f"MedMitra Desktop {__version__}") in document
    assert "No lab results" in document and "No documents are attached" in document


def test_labs_mark_abnormal_and_critical_rows(context: AppContext, jobs: AnalysisJobs,
                                              tmp_path: Path) -> None:
    case = analysed(context, jobs, lab=[text_pdf(tmp_path / "cbc.pdf",
                                                 [*LAB_LINES, CRITICAL_POTASSIUM])])
    rows = lab_rows(context.documents.html(case.case_id))
    potassium, haemoglobin, platelets = (rows["Potassium"], rows["Hemoglobin"],
                                         rows["Platelet Count"])
    assert potassium.startswith('<tr class="critical">')
    assert "<b>CRITICAL HIGH</b>" in potassium and "<b>6.9</b>" in potassium
    assert haemoglobin.startswith('<tr class="abnormal">')
    assert "<b>Low</b>" in haemoglobin and "CRITICAL" not in haemoglobin
    assert platelets.startswith("<tr>") and "Normal" in platelets
    assert "cbc.pdf, page 1" in potassium


def test_draft_until_signed_through_the_soap_service(context: AppContext,
                                                     jobs: AnalysisJobs,
                                                     tmp_path: Path) -> None:
    case = analysed(context, jobs, notes="Tired for two months.",
                    lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    document = context.documents.html(case.case_id)
    assert "DRAFT — UNSIGNED" in document and "Signed by" not in document
    assert "Tired for two months." in document
    assert "[cbc.pdf, page 1]" in document  # the draft names files, as the editor shows it

    signed = context.soap_notes.sign(case.case_id, user_id="dr-1",
                                     doctor_name="Dr. Meera <Rao>")
    document = context.documents.html(case.case_id)
    assert signed.signed_at is not None
    assert (f"Signed by Dr. Meera &lt;Rao&gt; on "
            f"{signed.signed_at.astimezone().strftime('%d %b %Y %H:%M')}") in document
    assert "DRAFT" not in document

    context.soap_notes.save(case.case_id, user_id="dr-1", sections={"plan": "Recheck CBC"},
                            based_on=1)
    document = context.documents.html(case.case_id)
    assert "DRAFT — UNSIGNED" in document and "Recheck CBC" in document
    assert "Revision 1 was signed by Dr. Meera &lt;Rao&gt;" in document


def test_negated_findings_are_not_listed_as_findings(context: AppContext,
                                                     jobs: AnalysisJobs,
                                                     tmp_path: Path) -> None:
    case = analysed(context, jobs, radiology=[text_file(tmp_path / "cxr.txt",
                                                         RADIOLOGY_TEXT)])
    negated = [f.finding for f in context.results.results(case.case_id).findings
               if f.negated]
    assert negated == ["pneumothorax"]  # the analysis did see it, as absent
    document = context.documents.html(case.case_id)
    findings = re.search(r'<ul class="findings">(.*?)</ul>', document, re.S)
    assert findings is not None
    assert "cardiomegaly" in findings[1] and "pneumothorax" not in findings[1]
    assert "<b>Impression:</b> Cardiomegaly." in document
    assert "Chest X-ray" in document and "cxr.txt" in document


def test_allergies_nkda_or_none_recorded(context: AppContext, jobs: AnalysisJobs) -> None:
    nkda = analysed(context, jobs, notes="NKDA. On metformin 500 mg BD.")
    document = context.documents.html(nkda.case_id)
    assert "No known drug allergies" in document
    assert "metformin" in document and "Verified" in document  # review state shown

    silent = analysed(context, jobs, name="Bela Rao", notes="Cough for a week.")
    document = context.documents.html(silent.case_id)
    assert "No known drug allergies" not in document
    assert "None recorded in the documents or notes" in document

    allergic = analysed(context, jobs, name="Chitra Nair",
                        notes="Allergic to penicillin (rash).")
    document = context.documents.html(allergic.case_id)
    assert "<b>penicillin</b>" in document and "None recorded" not in document


def test_differential_and_source_documents(context: AppContext, jobs: AnalysisJobs,
                                           tmp_path: Path) -> None:
    case = analysed(context, jobs, lab=[text_pdf(tmp_path / "cbc.pdf",
                                                 [*LAB_LINES, CRITICAL_POTASSIUM])],
                    radiology=[text_file(tmp_path / "cxr.txt", RADIOLOGY_TEXT)])
    document = context.documents.html(case.case_id)
    differential = document[document.index("Differential diagnosis"):]
    assert "Hyperkalemia" in differential and "E87.5" in differential
    # Evidence names the file, not the internal "doc 0".
    assert "cbc.pdf, page 1: Potassium 6.9 mmol/L (HH)" in differential
    sources = document[document.index("Source documents"):]
    assert "cbc.pdf" in sources and "cxr.txt" in sources and "analysed" in sources
    assert "CRITICAL:" in document  # the critical-value alert


def test_printing_is_audited_without_patient_data(context: AppContext,
                                                  tmp_path: Path) -> None:
    case = make_case(context.cases, name=ODD_NAME)
    context.documents.record_printed(case.case_id, "dr-print")
    context.documents.record_printed(case.case_id, "dr-print", medium="pdf")
    exports = [e for e in context.cases.history(case.case_id) if e.action == "export"]
    assert [(e.user_id, e.entity_id, e.detail) for e in exports] == [
        ("dr-print", case.case_id, "print"), ("dr-print", case.case_id, "pdf")]
    for event in exports:
        assert "Ravi" not in event.detail and "Kumar" not in event.detail
    with pytest.raises(ValueError, match="medium"):
        context.documents.record_printed(case.case_id, "dr-print", medium="email")

    context.cases.delete_case(case.case_id, user_id="dr-print")
    with pytest.raises(NotFoundError):
        context.documents.record_printed(case.case_id, "dr-print")
    with pytest.raises(NotFoundError):
        context.documents.html(case.case_id)


def test_function_and_service_give_the_same_document(context: AppContext) -> None:
    case = make_case(context.cases)
    moment = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert case_report_html(case.case_id, cases=context.cases, results=context.results,
                            soap_notes=context.soap_notes, settings=context.settings,
                            now=moment) == context.documents.html(case.case_id, now=moment)
