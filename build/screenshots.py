"""Screenshots of the real window on a real (virtual) screen, for review.

    xvfb-run -a -s "-screen 0 1366x800x24" .venv/bin/python build/screenshots.py \
        --demo --data-dir DIR --out build/screenshots

With --demo, first fills DIR with synthetic demo cases (build/demo_cases.py); without it,
DIR is an existing data folder. Opens MedMitra Desktop on DIR, lets queued analysis
finish, and writes one PNG per view: the case list, then the detail of the first case (or
--case NAME) tab by tab, its dialogs, and the same tabs in the dark palette; then a PDF in
the document viewer and the SOAP note signed (the demo folder gets a doctor name and a
signed revision for that), light and dark; then the Patient tab of the patient with the
most visits (lab trend chart, medication changes), light and dark, and the first pages of
a case report PDF (made by the report job's renderer, drawn to PNG with pypdfium2; the
demo folder gets a clinic name and logo for its letterhead). The pixels come from the X
server (QScreen.grabWindow), so they are what a doctor sees.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QDate, QItemSelectionModel, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from medmitra_desktop.app import AppContext, open_app
from medmitra_desktop.domain.enums import CaseStatus
from medmitra_desktop.domain.records import CaseQuery, DocumentRecord
from medmitra_desktop.ui.gui import make_jobs
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.theme import ThemeController
from medmitra_desktop.ui.views import evidence
from medmitra_desktop.ui.views.case_detail import (
    DOCUMENTS_TAB,
    HISTORY_TAB,
    LABS_TAB,
    MEDICATIONS_TAB,
    PATIENT_TAB,
    RADIOLOGY_TAB,
    SUMMARY_TAB,
    CaseDetailView,
)
from medmitra_desktop.ui.views.case_edit_dialog import CaseEditDialog
from medmitra_desktop.ui.views.medication_review_dialog import MedicationReviewDialog
from medmitra_desktop.ui.workers import AnalysisRunner

STEP_MS = 400
DETAIL_TABS = ((SUMMARY_TAB, "summary"), (LABS_TAB, "labs"), (RADIOLOGY_TAB, "radiology"),
               (MEDICATIONS_TAB, "medications"), (DOCUMENTS_TAB, "documents"),
               (HISTORY_TAB, "history"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--demo", action="store_true",
                        help="first fill DIR (which must not exist yet) with demo cases")
    parser.add_argument("--out", type=Path, default=Path("build/screenshots"))
    parser.add_argument("--wait-ms", type=int, default=60_000,
                        help="longest wait for queued analysis")
    parser.add_argument("--case", default="",
                        help="open the case of this patient (default: the first in the list)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.demo:
        if Path(args.data_dir).exists():
            parser.error(f"--demo needs a new folder; {args.data_dir} exists")
        sys.path.insert(0, str(Path(__file__).parent))
        from demo_cases import make_demo

        make_demo(Path(args.data_dir).resolve())
        args.case = args.case or "Ramesh Iyer"  # the demo case with every kind of document

    app = QApplication(sys.argv)
    app.setApplicationName("MedMitra Desktop")
    themes = ThemeController(app)
    themes.apply("light")
    context = open_app(args.data_dir)
    runner = AnalysisRunner(lambda: make_jobs(context))
    settings = QSettings(str(args.out / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(context, "dr-demo", settings, runner)
    window.resize(1280, 720)
    window.show()

    def shoot(name: str) -> None:
        screen = app.primaryScreen()
        screen.grabWindow(0).save(str(args.out / f"{name}.png"))
        print(args.out / f"{name}.png")

    steps: list[Callable[[], object]] = []

    def run_steps() -> None:
        if steps:
            steps.pop(0)()
            QTimer.singleShot(STEP_MS, run_steps)
        else:
            app.quit()

    def open_detail() -> None:
        row = 0
        for number in range(window.model.rowCount()):
            if args.case.casefold() in str(window.model.index(number, 0).data()).casefold():
                row = number
                break
        window.open_case_at(row)

    def shoot_tabs(suffix: str = "") -> None:
        detail = window.detail
        for index, name in DETAIL_TABS:
            steps.append(lambda index=index: detail.tabs.setCurrentIndex(index))
            steps.append(lambda name=name: shoot(f"case_detail_{name}{suffix}"))

    def show_dialog(dialog: QDialog, name: str, prepare: Callable[[QDialog], object]) -> None:
        dialog.show()
        prepare(dialog)
        QTimer.singleShot(STEP_MS // 2, lambda: (shoot(name), dialog.reject()))

    def edit_dialog() -> None:
        detail = window.detail
        if detail.case is None:
            return
        dialog = CaseEditDialog(context.cases, "dr-demo", detail.case, window)

        def bad_age(d: QDialog) -> None:
            assert isinstance(d, CaseEditDialog)
            d.age.setText("abc")
            d.save()  # shows the inline message; nothing is saved

        show_dialog(dialog, "case_detail_edit_dialog", bad_age)

    def review_dialog() -> None:
        detail = window.detail
        medications = detail.medications.model.rows
        if detail.case_id is None or not medications:
            return
        dialog = MedicationReviewDialog(context.results, "dr-demo", detail.case_id,
                                        medications[0], window)

        def stop_without_reason(d: QDialog) -> None:
            assert isinstance(d, MedicationReviewDialog)
            d.select_state("stopped")
            d.reason.clear()
            d.save()  # "say why the medication was stopped", nothing is saved

        show_dialog(dialog, "case_detail_review_dialog", stop_without_reason)

    def scanned_document() -> None:
        detail = window.detail
        for document in detail.documents.model.rows:
            if document.text_source == "ocr":
                detail.open_link(f"document:{document.document_id}:1")
                return

    started: list[bool] = []

    def finish() -> None:
        if started:
            return  # the idle signal and the time limit both call this
        started.append(True)
        shoot("case_list")
        window.search.setText("asha")
        steps.extend([
            lambda: shoot("case_list_search"),
            lambda: window.search.clear(),
            lambda: None,
            open_detail,
        ])
        shoot_tabs()
        steps.extend([
            scanned_document,
            lambda: shoot("case_detail_documents_ocr"),
            lambda: window.detail.tabs.setCurrentIndex(MEDICATIONS_TAB),
            lambda: window.detail.medications.table.selectRow(0),
            review_dialog,
            lambda: None,
            edit_dialog,
            lambda: None,
            lambda: themes.apply("dark"),
        ])
        shoot_tabs("_dark")
        add_case_list_shots(steps, shoot, window, themes)
        add_viewer_and_soap_shots(steps, shoot, context, runner, themes, args.case)
        add_patient_and_report_shots(steps, shoot, window, context, themes, args.out)
        QTimer.singleShot(STEP_MS, run_steps)

    runner.idle.connect(lambda: QTimer.singleShot(500, finish))
    QTimer.singleShot(args.wait_ms, finish)
    try:
        return app.exec()
    finally:
        runner.stop()
        context.close()


def _case_with_a_pdf(context: AppContext, name: str) -> str | None:
    """The case of `name` (or any case) with the longest PDF the viewer can show."""
    best: tuple[int, str] | None = None
    for item in context.cases.iter_all(CaseQuery()):
        if name.casefold() not in item.patient_name.casefold():
            continue
        case = context.cases.get_case(item.case_id)
        pages = max((d.pages or 0 for d in case.documents
                     if d.mime_type == "application/pdf" and d.status.value == "ok"),
                    default=0)
        if pages and (best is None or pages > best[0]):
            best = (pages, item.case_id)
    return best[1] if best else None


def _sign_soap_note(context: AppContext, case_id: str) -> None:
    """Save the draft as the editor would (files named, not "doc 0") and sign it, unless
    the latest revision is signed already. Sets a demo doctor name in the demo data
    folder's settings when it has none."""
    settings = context.settings.load()
    if not settings.doctor_name:
        settings = context.settings.save(replace(settings, doctor_name="Asha Rao"))
    revisions = context.soap_notes.revisions(case_id)
    if revisions and revisions[-1].signed:
        return
    if not revisions:
        draft = context.soap_notes.current(case_id)
        documents = context.cases.get_case(case_id).documents
        context.soap_notes.save(case_id, user_id="dr-demo", based_on=0, sections={
            name: evidence.plain(getattr(draft, name), documents)
            for name in ("subjective", "objective", "assessment", "plan")})
    context.soap_notes.sign(case_id, user_id="dr-demo", doctor_name=settings.doctor_name)


def add_viewer_and_soap_shots(steps: list[Callable[[], object]],
                              shoot: Callable[[str], None], context: AppContext,
                              runner: AnalysisRunner, themes: ThemeController,
                              case_name: str) -> None:
    """The Documents tab with a PDF in the viewer beside its text, and the Summary tab
    with the SOAP note signed, light and dark. Shown in a detail view given every
    service (the document viewer needs the file store, the SOAP editor its services)."""
    holder: list[CaseDetailView] = []

    def open_view() -> None:
        case_id = _case_with_a_pdf(context, case_name) or _case_with_a_pdf(context, "")
        if case_id is None:
            print("no analysed case with a PDF: viewer shots skipped", file=sys.stderr)
            steps.clear()
            return
        _sign_soap_note(context, case_id)
        view = CaseDetailView(context.cases, context.results, "dr-demo",
                              files=context.files, soap_notes=context.soap_notes,
                              settings=context.settings, runner=runner)
        view.setWindowTitle("MedMitra Desktop")
        view.resize(1280, 720)
        view.move(0, 0)
        view.show()
        view.raise_()
        view.open_case(case_id)
        holder.append(view)

    def documents_tab() -> None:
        view = holder[0]
        view.tabs.setCurrentIndex(DOCUMENTS_TAB)
        for document in view.documents.model.rows:
            if document.mime_type == "application/pdf" and document.status.value == "ok":
                view.documents.show_document(document.document_id, 2)
                return

    def zoom_in() -> None:
        holder[0].documents.viewer.zoom_in()

    def document_of_kind(wanted: Callable[[DocumentRecord], bool]) -> Callable[[], None]:
        def show() -> None:
            documents = holder[0].documents
            for document in documents.model.rows:
                if wanted(document):
                    documents.show_document(document.document_id)
                    return
        return show

    def close_view() -> None:
        holder[0].close()

    for suffix, theme in (("", "light"), ("_dark", "dark")):
        steps.extend([
            lambda theme=theme: themes.apply(theme),
            *([open_view] if not suffix else []),
            lambda: holder[0].tabs.setCurrentIndex(SUMMARY_TAB),
            lambda suffix=suffix: shoot(f"case_detail_soap_signed{suffix}"),
            documents_tab,
            lambda: None,  # the file loads off the GUI thread
            lambda suffix=suffix: shoot(f"case_detail_viewer_pdf{suffix}"),
        ])
    steps.extend([
        zoom_in, lambda: shoot("case_detail_viewer_pdf_zoomed_dark"),
        lambda: themes.apply("light"),
        document_of_kind(lambda d: d.status.value == "needs_password"),
        lambda: None,
        lambda: shoot("case_detail_viewer_password"),
        document_of_kind(lambda d: d.mime_type.startswith("image/")),
        lambda: None,
        lambda: shoot("case_detail_viewer_image"),
        close_view,
    ])


def _patient_with_most_visits(context: AppContext) -> str | None:
    """The latest case of the patient seen most often (the demo's Vikram Shah)."""
    best: tuple[int, str] | None = None
    for item in context.cases.iter_all(CaseQuery()):
        visits = context.patients.patient(item.case_id).visits
        if best is None or len(visits) > best[0]:
            best = (len(visits), visits[-1].case_id)
    return best[1] if best else None


def _demo_letterhead(context: AppContext, out: Path) -> None:
    """A clinic name and a drawn logo in the demo folder's settings, unless it has them."""
    from PIL import Image, ImageDraw

    from medmitra_desktop.services.clinic_logo import ClinicLogoStore

    settings = context.settings.load()
    if settings.clinic_logo:
        return
    logo = out / "demo-logo.png"
    image = Image.new("RGBA", (240, 240), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 232, 232), fill=(31, 58, 95, 255))
    draw.rectangle((100, 50, 140, 190), fill=(255, 255, 255, 255))
    draw.rectangle((50, 100, 190, 140), fill=(255, 255, 255, 255))
    image.save(logo, format="PNG")
    name = ClinicLogoStore(context.paths.branding).store(logo)
    context.settings.save(replace(settings, clinic_name=settings.clinic_name
                                  or "Shanti Family Clinic", clinic_logo=name))


def add_patient_and_report_shots(steps: list[Callable[[], object]],
                                 shoot: Callable[[str], None], window: MainWindow,
                                 context: AppContext, themes: ThemeController,
                                 out: Path) -> None:
    """The Patient tab (visits, lab trend, medication changes), light and dark, then
    the first pages of the case report as PDF pages."""

    def open_patient() -> None:
        case_id = _patient_with_most_visits(context)
        if case_id is None:
            return
        window.open_case(case_id)
        window.detail.tabs.setCurrentIndex(PATIENT_TAB)

    def choose_creatinine() -> None:
        patient = window.detail.patient
        if patient is not None:
            patient.wait()
            patient.select_test("creatinine")

    def report_pages() -> None:
        import pypdfium2

        from medmitra_desktop.ui.report_pdf import render_pdf

        _demo_letterhead(context, out)
        case_id = _case_with_a_pdf(context, "Ramesh") or window.detail.case_id
        if case_id is None:
            return
        target = out / "case_report.pdf"
        render_pdf(context.documents.report(case_id), target)
        document = pypdfium2.PdfDocument(str(target))
        for number in range(min(2, len(document))):
            name = out / f"case_report_page{number + 1}.png"
            document[number].render(scale=1.4).to_pil().save(name)
            print(name)
        document.close()

    steps.extend([
        lambda: themes.apply("light"),
        open_patient,
        lambda: None,  # read on a worker thread
        choose_creatinine,
        lambda: shoot("case_detail_patient"),
        lambda: themes.apply("dark"),
        lambda: None,
        lambda: shoot("case_detail_patient_dark"),
        lambda: themes.apply("light"),
        report_pages,
    ])


def add_case_list_shots(steps: list[Callable[[], object]], shoot: Callable[[str], None],
                        window: MainWindow, themes: ThemeController) -> None:
    """The case list in the dark palette, then (light) with filters on, with the context
    menu open on two selected cases, and the trash. Leaves the list as it found it."""
    menus: list[object] = []

    def select_rows(count: int) -> None:
        selection = window.table.selectionModel()
        selection.clearSelection()
        for row in range(min(count, window.model.rowCount())):
            selection.select(window.model.index(row, 0),
                             QItemSelectionModel.SelectionFlag.Select
                             | QItemSelectionModel.SelectionFlag.Rows)

    def filters_on() -> None:
        bar = window.filters
        bar.status_buttons[CaseStatus.COMPLETED].setChecked(True)
        bar.age_from.setValue(30)
        bar.created_from.setDate(QDate.currentDate().addDays(-30))
        window.apply_search()

    def open_menu() -> None:
        select_rows(2)
        menu = window.build_context_menu()
        menu.popup(window.table.viewport().mapToGlobal(
            window.table.visualRect(window.model.index(1, 0)).center()))
        menus.append(menu)

    def close_menu() -> None:
        for menu in menus:
            menu.close()  # type: ignore[attr-defined]

    def trash(on: bool) -> None:
        window.trash_action.setChecked(on)
        if on:
            select_rows(1)

    steps.extend([
        window.show_list,
        lambda: select_rows(1),
        lambda: shoot("case_list_dark"),
        lambda: themes.apply("light"),
        filters_on,
        lambda: shoot("case_list_filters"),
        window.filters.clear,
        window.apply_search,
        open_menu,
        lambda: shoot("case_list_context_menu"),
        close_menu,
        lambda: trash(True),
        lambda: shoot("case_list_trash"),
        lambda: trash(False),
    ])


if __name__ == "__main__":
    sys.exit(main())
