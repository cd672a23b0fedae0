"""A case as one clean clinical document (HTML), for printing and saving as PDF.

The document is self-contained: inline CSS, no scripts, nothing to fetch (the clinic's
logo is embedded as a data: URI), every piece of text HTML-escaped. Qt's rich-text engine
lays it out for paper (see ui/report_pdf.py), so the markup keeps to what that engine
understands (tables with cell padding, bgcolor, class selectors); a browser shows it the
same way.

Printing or saving is recorded in the audit trail as an export, without patient data.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from .. import APP_NAME, __version__
from ..domain.enums import AuditAction, CaseStatus, DocumentStatus
from ..domain.errors import NotFoundError
from ..domain.records import CaseRecord, DocumentRecord
from ..storage.database import Database
from ..storage.orm import Case
from . import audit
from .case_results import (
    AllergyView,
    CaseResults,
    CaseResultsService,
    FindingView,
    LabResultView,
)
from .cases import CaseService
from .clinic_logo import ClinicLogoStore, Logo
from .result_wording import (
    allergy_parts,
    lab_source,
    medication_source,
    reference_text,
    review_text,
)
from .settings import SettingsService
from .soap_notes import SECTIONS, SoapNoteService, SoapRevision

CASE_ENTITY = "case"
EXPORT_MEDIA = ("print", "pdf")
DRAFT_MARK = "DRAFT — UNSIGNED"
CRITICAL_MARK = "CRITICAL"
LOGO_HEIGHT = 48  # CSS pixels: about 13 mm on paper

_FLAG_WORDS = {"L": "Low", "H": "High", "LL": "Low", "HH": "High", "A": "Abnormal",
               "N": "Normal"}
_SEVERITY_WORDS = {"critical": "CRITICAL", "warning": "Warning", "info": "Note"}
# On paper a tick means little and "knowledge base" means less.
APP_DEFAULT = " (app default)"
REVIEWED_BY_DOCTOR = " (reviewed by the doctor)"
_MODALITY_WORDS = {"XR": "X-ray", "CR": "X-ray", "DX": "X-ray", "CT": "CT", "MR": "MRI",
                   "MRI": "MRI", "US": "ultrasound", "NM": "nuclear medicine scan",
                   "PET": "PET scan", "MG": "mammogram"}
_DOCUMENT_STATUS_WORDS = {
    DocumentStatus.QUEUED: "waiting for analysis",
    DocumentStatus.PROCESSING: "being analysed",
    DocumentStatus.OK: "analysed",
    DocumentStatus.FAILED: "could not be analysed",
    DocumentStatus.NEEDS_PASSWORD: "needs a password: not analysed",
    DocumentStatus.OCR_UNAVAILABLE: "scanned pages; OCR not available",
}
_UNREAD = {DocumentStatus.FAILED, DocumentStatus.NEEDS_PASSWORD,
           DocumentStatus.OCR_UNAVAILABLE}
# "doc 0, page 1" in evidence entries: the document's index in the case's list.
_REFERENCE = re.compile(r"\bdoc (\d+)(?:, page (\d+))?")

# Print-friendly: black text, thin grey rules, light tints that survive greyscale, and
# every state also written in words (a tint alone is lost on a black-and-white printer).
_CSS = """
body { font-family: 'DejaVu Sans', 'Segoe UI', Arial, sans-serif; font-size: 9.5pt;
       color: #000000; }
h1 { font-size: 16pt; margin-top: 0px; margin-bottom: 0px; color: #1f3a5f; }
h2 { font-size: 12pt; margin-top: 16px; margin-bottom: 4px; color: #1f3a5f; }
h3 { font-size: 10pt; margin-top: 8px; margin-bottom: 2px; }
p { margin-top: 2px; margin-bottom: 2px; }
ul { margin-top: 0px; margin-bottom: 2px; }
table.grid { border-collapse: collapse; border: 1px solid #9a9a9a; margin-top: 2px; }
table.grid th { background-color: #e6e9ee; text-align: left; font-weight: bold;
                border: 1px solid #9a9a9a; white-space: nowrap; }
table.grid td { border: 1px solid #9a9a9a; vertical-align: top; }
table.patient { border-collapse: collapse; border: 1px solid #9a9a9a;
                background-color: #f2f4f7; margin-top: 8px; }
tr.abnormal td { background-color: #fbf0d9; }
tr.critical td { background-color: #f6d5d5; font-weight: bold; }
.name { font-size: 13pt; font-weight: bold; }
.label { color: #555555; font-size: 8pt; }
.muted { color: #555555; }
.small { font-size: 8pt; }
.draft { color: #a00000; font-weight: bold; }
.signed { color: #1d5e20; font-weight: bold; }
td.draft { background-color: #f6d5d5; border: 1px solid #a00000; }
td.signed { background-color: #e3f1e3; border: 1px solid #1d5e20; }
td.alert-critical { background-color: #f6d5d5; }
td.alert-warning { background-color: #fbf0d9; }
.footer { font-size: 8pt; color: #555555; }
.clinic-line { color: #555555; font-size: 8.5pt; }
td.running { font-size: 7.5pt; color: #555555; padding-bottom: 6px; }
"""


@dataclass(frozen=True)
class CaseReport:
    """The case document and what every printed page repeats in its margins."""

    case_id: str
    html: str
    clinic: str
    generated: datetime
    signed: bool  # the SOAP note printed is a signed revision
    sign_line: str  # "SOAP note signed by … on …", or DRAFT_MARK
    generated_line: str  # "Generated 22 Nov 2026 14:05 IST by MedMitra Desktop 0.1.0"


def case_report(case_id: str, *, cases: CaseService, results: CaseResultsService,
                soap_notes: SoapNoteService, settings: SettingsService,
                logos: ClinicLogoStore | None = None,
                now: datetime | None = None) -> CaseReport:
    """The whole case as one printable document. Raises NotFoundError when the case is
    gone. `now` (aware) is the generation time, for tests; default: the local time."""
    case = cases.get_case(case_id)
    case_results = results.results(case_id)
    soap = soap_notes.current(case_id)
    signed_before = _last_signed(soap_notes, case_id, soap)
    workstation = settings.load()
    clinic = workstation.clinic_name.strip() or APP_NAME
    generated = (now or datetime.now().astimezone()).astimezone()
    logo = logos.load(workstation.clinic_logo) if logos is not None else None
    writer = _ReportWriter(case, case_results, soap, signed_before, clinic,
                           workstation.doctor_name.strip(), generated, logo)
    signed = bool(soap.signed and soap.signed_at is not None)
    sign_line = (f"SOAP note signed by {soap.signed_by or ''} on "
                 f"{_date_time(soap.signed_at)}" if signed and soap.signed_at else DRAFT_MARK)
    return CaseReport(case_id=case.case_id, html=writer.html(), clinic=clinic,
                      generated=generated, signed=signed, sign_line=sign_line,
                      generated_line=_generated_line(generated))


def case_report_html(case_id: str, *, cases: CaseService, results: CaseResultsService,
                     soap_notes: SoapNoteService, settings: SettingsService,
                     now: datetime | None = None) -> str:
    """The whole case as one printable HTML document (see case_report)."""
    return case_report(case_id, cases=cases, results=results, soap_notes=soap_notes,
                       settings=settings, now=now).html


def _generated_line(generated: datetime) -> str:
    zone = generated.strftime("%Z")
    return (f"Generated {_date_time(generated)}{' ' + zone if zone else ''} by "
            f"{APP_NAME} {__version__}")


class CaseDocumentService:
    """The case document for the GUI, and the audit row each print or saved PDF leaves."""

    def __init__(self, database: Database, cases: CaseService, results: CaseResultsService,
                 soap_notes: SoapNoteService, settings: SettingsService,
                 logos: ClinicLogoStore | None = None) -> None:
        self._db = database
        self._cases = cases
        self._results = results
        self._soap_notes = soap_notes
        self._settings = settings
        self._logos = logos

    def report(self, case_id: str, *, now: datetime | None = None) -> CaseReport:
        return case_report(case_id, cases=self._cases, results=self._results,
                           soap_notes=self._soap_notes, settings=self._settings,
                           logos=self._logos, now=now)

    def html(self, case_id: str, *, now: datetime | None = None) -> str:
        return self.report(case_id, now=now).html

    def record_printed(self, case_id: str, user_id: str, *, medium: str = "print") -> None:
        """An export audit row: who printed (or saved as PDF) which case. The detail is
        the medium only; no patient data and no file path go into the audit trail."""
        if medium not in EXPORT_MEDIA:
            raise ValueError(f"medium must be one of {', '.join(EXPORT_MEDIA)} "
                             f"(got {medium!r})")
        with self._db.session() as session:
            uid = session.execute(select(Case.uid).where(
                Case.uid == case_id, Case.deleted_at.is_(None))).scalar_one_or_none()
            if uid is None:
                raise NotFoundError(f"No case with id {case_id} (it may have been deleted).")
            audit.record(session, user_id=user_id, action=AuditAction.EXPORT,
                         entity=CASE_ENTITY, entity_id=uid, detail=medium)


def _last_signed(soap_notes: SoapNoteService, case_id: str,
                 current: SoapRevision) -> SoapRevision | None:
    """The newest signed revision when the current one is a later, unsigned edit."""
    if current.signed or current.revision <= 1:
        return None
    return next((r for r in reversed(soap_notes.revisions(case_id)) if r.signed), None)


# ---- writing --------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _lines(text: str) -> str:
    return "<br>".join(_e(line) for line in text.strip().splitlines())


def _date(moment: datetime) -> str:
    return moment.astimezone().strftime("%d %b %Y")


def _date_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%d %b %Y %H:%M")


def _table(headers: Sequence[str], rows: Iterable[tuple[str, Sequence[str]]],
           widths: Sequence[int] = ()) -> str:
    """A ruled table; each row is (css class, already-escaped cells)."""
    head = "".join(
        f"<th width=\"{widths[i]}%\">{_e(h)}</th>" if i < len(widths) else f"<th>{_e(h)}</th>"
        for i, h in enumerate(headers))
    body = "".join(
        f"<tr class=\"{css}\">" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
        if css else "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
        for css, cells in rows)
    return (f"<table class=\"grid\" width=\"100%\" cellspacing=\"0\" cellpadding=\"3\">"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _banner(kind: str, title: str, detail: str) -> str:
    """A boxed line that cannot be missed: the note is signed, or it is a draft."""
    return (f"<table width=\"100%\" cellspacing=\"0\" cellpadding=\"5\"><tr>"
            f"<td class=\"{kind}\"><span class=\"{kind}\">{_e(title)}</span> "
            f"<span class=\"muted\">({_e(detail)})</span></td></tr></table>")


def _none(text: str) -> str:
    return f"<p class=\"muted\"><i>{_e(text)}</i></p>"


class _ReportWriter:
    def __init__(self, case: CaseRecord, results: CaseResults, soap: SoapRevision,
                 signed_before: SoapRevision | None, clinic: str, doctor: str,
                 generated: datetime, logo: Logo | None = None) -> None:
        self.logo = logo
        self.case = case
        self.results = results
        self.soap = soap
        self.signed_before = signed_before
        self.clinic = clinic
        self.doctor = doctor
        self.generated = generated
        insight = results.latest_insight("local")
        self.payload: dict[str, Any] = dict(insight.payload) if insight else {}
        self.documents: tuple[DocumentRecord, ...] = case.documents

    def html(self) -> str:
        parts = [
            self.letterhead(),
            self.patient(),
            self.soap_note(),
            self.alerts(),
            self.labs(),
            self.radiology(),
            self.medications(),
            self.allergies(),
            self.differential(),
            self.source_documents(),
            self.footer(),
        ]
        title = f"Case report – {self.case.patient_name}"
        # One outer table whose header row repeats on every printed page (Qt and browsers
        # both repeat <thead>): each page names the patient.
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
                "<table width=\"100%\" cellspacing=\"0\" cellpadding=\"0\">"
                f"<thead><tr><td class=\"running\">{self.running_header()}</td></tr></thead>"
                f"<tbody><tr><td>{''.join(parts)}</td></tr></tbody></table>"
                "</body></html>\n")

    def running_header(self) -> str:
        case = self.case
        record = (f" · Record no. {case.patient_record_number}"
                  if case.patient_record_number else "")
        return _e(f"{case.patient_name} · {case.patient_age} y · "
                  f"{case.patient_gender.value.capitalize()}{record} · Case report, "
                  f"{self.clinic}, {_date(self.generated)}")

    # ---- header -------------------------------------------------------------------------

    def letterhead(self) -> str:
        doctor = (f"<br><span class=\"clinic-line\">{_e(self.doctor)}</span>" if self.doctor
                  else "")
        logo = ""
        if self.logo is not None:
            # A fixed height; the width follows the logo's own proportions.
            height = LOGO_HEIGHT
            width = max(1, round(height * self.logo.width / max(1, self.logo.height)))
            logo = (f"<td width=\"{width + 12}\" valign=\"middle\"><img src=\""
                    f"{self.logo.data_uri()}\" width=\"{width}\" height=\"{height}\" "
                    "alt=\"\"></td>")
        return ("<table width=\"100%\" cellspacing=\"0\" cellpadding=\"0\"><tr>"
                f"{logo}<td valign=\"bottom\"><h1>{_e(self.clinic)}</h1>{doctor}</td>"
                "<td align=\"right\" valign=\"bottom\" class=\"muted\">Clinical case report"
                f"<br><span class=\"small\">{_e(_date(self.generated))}</span></td>"
                "</tr></table><hr>")

    def patient(self) -> str:
        case = self.case
        facts = [("Age", f"{case.patient_age} years"),
                 ("Gender", case.patient_gender.value.capitalize()),
                 ("Record no.", case.patient_record_number or "—"),
                 ("Case created", _date(case.created_at))]
        cells = "".join(f"<td><span class=\"label\">{_e(label)}</span><br>{_e(value)}</td>"
                        for label, value in facts)
        status = ""
        if case.status is CaseStatus.PROCESSING:
            status = ("<p class=\"draft\">The analysis of this case was still running when "
                      "this was printed: results may be incomplete.</p>")
        elif case.status is CaseStatus.FAILED:
            status = ("<p class=\"draft\">The analysis of this case failed"
                      + (f": {_e(case.last_error)}" if case.last_error else "")
                      + ". Results may be incomplete.</p>")
        return ("<table class=\"patient\" width=\"100%\" cellspacing=\"0\" "
                "cellpadding=\"5\">"
                f"<tr><td colspan=\"2\"><span class=\"label\">Patient</span><br>"
                f"<span class=\"name\">{_e(case.patient_name)}</span></td>"
                f"<td colspan=\"2\" align=\"right\" valign=\"bottom\"><span class=\"label\">"
                f"Case ID</span><br><span class=\"small\">{_e(case.case_id)}</span></td></tr>"
                f"<tr>{cells}</tr></table>{status}")

    # ---- SOAP ---------------------------------------------------------------------------

    def soap_note(self) -> str:
        soap = self.soap
        parts = ["<h2>SOAP note</h2>"]
        if soap.signed and soap.signed_at is not None:
            parts.append(_banner("signed", f"Signed by {soap.signed_by or ''} on "
                                           f"{_date_time(soap.signed_at)}",
                                 f"revision {soap.revision}"))
        else:
            where = (f"revision {soap.revision}, saved {_date_time(soap.saved_at)}"
                     if soap.revision and soap.saved_at else
                     "the analysis draft, not reviewed by a doctor")
            parts.append(_banner("draft", DRAFT_MARK, where))
            before = self.signed_before
            if before is not None and before.signed_at is not None:
                parts.append(
                    f"<p class=\"muted\">Revision {before.revision} was signed by "
                    f"{_e(before.signed_by or '')} on {_e(_date_time(before.signed_at))}; "
                    "the text below has changed since and is not signed.</p>")
        if not any(getattr(soap, name).strip() for name in SECTIONS):
            parts.append(_none("No SOAP note yet."))
            return "".join(parts)
        for name in SECTIONS:
            text = getattr(soap, name).strip()
            if soap.revision == 0:
                # As the SOAP editor shows the draft: "doc 0, page 1" names the file.
                text = self._plain(text)
            parts.append(f"<h3>{_e(name.capitalize())}</h3>")
            parts.append(f"<p>{_lines(text)}</p>" if text else _none("(empty)"))
        return "".join(parts)

    # ---- analysis -----------------------------------------------------------------------

    def alerts(self) -> str:
        alerts = [*self._unread_alert(),
                  *(a for a in self.payload.get("alerts") or () if isinstance(a, dict))]
        parts = ["<h2>Alerts</h2>"]
        if not alerts:
            return "".join(parts) + _none("No alerts.")
        rows = []
        for alert in alerts:
            severity = str(alert.get("severity") or "info")
            word = _SEVERITY_WORDS.get(severity, severity.capitalize())
            text = f"<b>{_e(word)}:</b> {_e(alert.get('message') or '')}"
            sources = [self._plain(str(e)) for e in alert.get("evidence") or ()]
            if sources:
                text += f"<br><span class=\"small\">{_e('; '.join(sources))}</span>"
            css = {"critical": "alert-critical", "warning": "alert-warning"}.get(severity, "")
            rows.append(f"<tr><td class=\"{css}\">{text}</td></tr>" if css
                        else f"<tr><td>{text}</td></tr>")
        return "".join(parts) + ("<table class=\"grid\" width=\"100%\" cellspacing=\"0\" "
                                 f"cellpadding=\"4\">{''.join(rows)}</table>")

    def _unread_alert(self) -> list[dict[str, Any]]:
        unread = [d for d in self.documents if d.status in _UNREAD]
        if not unread:
            return []
        count = len(unread)
        return [{"severity": "warning",
                 "message": (f"{count} document{'s' if count != 1 else ''} could not be "
                             f"read, so {'they are' if count != 1 else 'it is'} not part "
                             "of these results."),
                 "evidence": [f"{d.file_name}: {_DOCUMENT_STATUS_WORDS[d.status]}"
                              for d in unread]}]

    def labs(self) -> str:
        labs = self.results.labs
        parts = ["<h2>Laboratory results</h2>"]
        if not labs:
            return "".join(parts) + _none("No lab results were found in this case's "
                                          "documents.")
        abnormal = sum(1 for row in labs if _is_abnormal(row))
        critical = sum(1 for row in labs if _is_critical(row))
        parts.append(f"<p class=\"muted\">{len(labs)} result{'s' if len(labs) != 1 else ''}"
                     f" · {abnormal} abnormal · {critical} critical. Abnormal results are "
                     "shaded; critical ones are bold and marked CRITICAL.</p>")
        rows = []
        for row in labs:
            css = "critical" if _is_critical(row) else "abnormal" if _is_abnormal(row) else ""
            value = _e(row.value_text)
            if _is_critical(row):
                value = f"<b>{value}</b>"
            rows.append((css, (_e(row.test), value, _e(row.unit or ""),
                               _e(reference_text(row, knowledge_base_note=APP_DEFAULT)),
                               _lab_flag(row), _e(lab_source(row)))))
        parts.append(_table(("Test", "Result", "Unit", "Reference", "Flag", "Source"), rows,
                            (27, 9, 11, 16, 16, 21)))
        return "".join(parts)

    def radiology(self) -> str:
        reports = [r for r in self.payload.get("radiology_reports") or ()
                   if isinstance(r, dict)]
        parts = ["<h2>Radiology</h2>"]
        if reports:
            names = {d.document_id: d.file_name for d in self.documents}
            for report in reports:
                parts.append(self._report(report, names))
        elif self.results.findings:  # insights from before reports were kept
            parts.append(self._findings_from_rows(self.results.findings))
        else:
            parts.append(_none("No radiology reports in this case."))
        return "".join(parts)

    def _report(self, report: dict[str, Any], names: dict[str, str]) -> str:
        modality = str(report.get("modality") or "")
        body_part = str(report.get("body_part") or "")
        title = " ".join(p for p in (body_part.capitalize(),
                                     _MODALITY_WORDS.get(modality.upper(), modality)) if p)
        source = names.get(str(report.get("document_id") or ""))
        parts = [f"<h3>{_e(title or 'Radiology report')}"
                 + (f" <span class=\"muted small\">({_e(source)})</span>" if source else "")
                 + "</h3>"]
        sections = dict(report.get("sections") or {})
        impression = str(sections.get("impression") or "").strip()
        if impression:
            parts.append(f"<p><b>Impression:</b> {_lines(impression)}</p>")
        elif str(sections.get("findings") or "").strip():
            parts.append("<p><b>Findings (the report has no impression):</b> "
                         f"{_lines(str(sections['findings']))}</p>")
        if report.get("normal"):
            parts.append("<p><b>Reported as normal.</b></p>")
        observations = [o for o in report.get("observations") or () if isinstance(o, dict)]
        parts.append(self._positive_findings(observations))
        return "".join(parts)

    def _findings_from_rows(self, findings: Sequence[FindingView]) -> str:
        by_document: dict[str, list[dict[str, Any]]] = {}
        for f in findings:
            by_document.setdefault(f.document_name or "Radiology report", []).append(
                {"finding": f.finding, "negated": f.negated, "uncertain": f.uncertain,
                 "historical": f.historical, "sentence": f.sentence})
        return "".join(f"<h3>{_e(name)}</h3>" + self._positive_findings(observations)
                       for name, observations in by_document.items())

    @staticmethod
    def _positive_findings(observations: Sequence[dict[str, Any]]) -> str:
        """Findings present in the patient: negated ones ("no pneumothorax") are left out,
        and so are hypothetical and family-history mentions."""
        positive = [o for o in observations
                    if not (o.get("negated") or o.get("hypothetical") or o.get("family"))]
        if not positive:
            return ("<p><b>Positive findings:</b> <i>none recognised by the app's lexicon"
                    "</i></p>")
        items = []
        for o in sorted(positive, key=lambda o: bool(o.get("uncertain"))):
            labels = [word for key, word in (("uncertain", "uncertain"),
                                             ("historical", "history")) if o.get(key)]
            text = f"<b>{_e(o.get('finding') or '')}</b>"
            if labels:
                text += f" [{_e(', '.join(labels))}]"
            sentence = str(o.get("sentence") or "").strip()
            if sentence:
                text += f" — <i>“{_e(sentence)}”</i>"
            items.append(f"<li>{text}</li>")
        return f"<p><b>Positive findings:</b></p><ul class=\"findings\">{''.join(items)}</ul>"

    def medications(self) -> str:
        medications = self.results.medications
        parts = ["<h2>Medications</h2>"]
        if not medications:
            return "".join(parts) + _none("No medications were found in the documents or "
                                          "notes.")
        rows = [("", (f"<b>{_e(m.name)}</b>", _e(m.dose or ""), _e(m.route or ""),
                      _e(m.frequency or ""), _e(m.duration or ""),
                      _e(review_text(m, approved_mark=REVIEWED_BY_DOCTOR)),
                      _e(medication_source(m))))
                for m in medications]
        parts.append(_table(("Medication", "Dose", "Route", "Frequency", "Duration",
                             "Review", "Source"), rows, (17, 10, 8, 13, 11, 23, 18)))
        return "".join(parts)

    def allergies(self) -> str:
        allergies = self.results.allergies
        parts = ["<h2>Allergies</h2>"]
        if allergies:
            by_substance: dict[str, list[AllergyView]] = {}
            for allergy in allergies:
                by_substance.setdefault(allergy.substance.casefold(), []).append(allergy)
            parts.append("<ul>" + "".join(f"<li>{_allergy_html(group)}</li>"
                                          for group in by_substance.values()) + "</ul>")
        elif self.payload.get("no_known_allergies"):
            parts.append("<p><b>No known drug allergies</b> (NKDA recorded in the documents "
                         "or notes).</p>")
        else:
            parts.append(_none("None recorded in the documents or notes (this does not "
                               "confirm NKDA: ask the patient)."))
        return "".join(parts)

    def differential(self) -> str:
        items = [d for d in self.payload.get("differential") or () if isinstance(d, dict)]
        parts = ["<h2>Differential diagnosis</h2>"]
        if not items:
            return "".join(parts) + _none("No differential considerations.")
        parts.append("<p class=\"muted\">Rule-based considerations from this case's "
                     "documents, for clinician review.</p>")
        rows = []
        for item in items:
            evidence = [self._plain(str(e)) for e in item.get("evidence") or ()]
            rows.append(("", (
                f"<b>{_e(item.get('condition') or '')}</b>",
                _e(item.get("icd10") or ""),
                _e(_confidence(item.get("confidence"))),
                "<br>".join(_e(e) for e in evidence) or "<i>none cited</i>")))
        parts.append(_table(("Condition", "ICD-10", "Confidence", "Evidence"), rows,
                            (27, 9, 13, 51)))
        return "".join(parts)

    def source_documents(self) -> str:
        parts = ["<h2>Source documents</h2>"]
        if not self.documents:
            return "".join(parts) + _none("No documents are attached to this case.")
        rows = []
        for index, document in enumerate(self.documents):
            status = _DOCUMENT_STATUS_WORDS.get(document.status, document.status.value)
            if document.error and document.status is not DocumentStatus.OK:
                status += f": {document.error}"
            pages = str(document.pages) if document.pages else ""
            rows.append(("", (_e(f"doc {index}"), _e(document.file_name),
                              _e(document.category.value.capitalize()), _e(pages),
                              _e(status))))
        parts.append(_table(("Ref.", "File", "Type", "Pages", "Status"), rows,
                            (8, 42, 12, 8, 30)))
        parts.append("<p class=\"muted small\">Results above were extracted automatically "
                     "from these documents; check them against the originals. “doc N” in "
                     "the SOAP note refers to this list.</p>")
        return "".join(parts)

    def footer(self) -> str:
        return (f"<p>&nbsp;</p><hr><p class=\"footer\">{_e(_generated_line(self.generated))}"
                "</p>")

    def _plain(self, text: str) -> str:
        """An evidence entry with "doc N, page P" replaced by the document's file name."""
        documents = self.documents

        def name(match: re.Match[str]) -> str:
            index = int(match[1])
            if not 0 <= index < len(documents):
                return match[0]
            file_name = documents[index].file_name
            return f"{file_name}, page {match[2]}" if match[2] else file_name

        return _REFERENCE.sub(name, text)


# ---- small pieces ---------------------------------------------------------------------


def _is_critical(row: LabResultView) -> bool:
    return row.critical or row.flag in ("LL", "HH")


def _is_abnormal(row: LabResultView) -> bool:
    return _is_critical(row) or row.flag in ("L", "H", "A")


def _lab_flag(row: LabResultView) -> str:
    word = _FLAG_WORDS.get(row.flag or "", "")
    if _is_critical(row):
        return f"<b>{CRITICAL_MARK}{' ' + word.upper() if word else ''}</b>"
    if _is_abnormal(row):
        return f"<b>{_e(word)}</b>"
    return _e(word or "—")


def _allergy_html(mentions: Sequence[AllergyView]) -> str:
    substance, details = allergy_parts(mentions)
    text = f"<b>{_e(substance)}</b>"
    if details:
        text += f": {_e(', '.join(details))}"
    sources = sorted({allergy.document_name or "doctor's notes" for allergy in mentions})
    return text + f" <span class=\"muted small\">({_e('; '.join(sources))})</span>"


def _confidence(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.0%}"
    return ""
