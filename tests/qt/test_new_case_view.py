from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QPalette
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from medmitra_desktop.domain.enums import DocumentCategory, Gender
from medmitra_desktop.domain.errors import StorageError, StorageProblem
from medmitra_desktop.domain.records import CaseQuery
from medmitra_desktop.services.cases import CaseService
from medmitra_desktop.ui.theme import ThemeController
from medmitra_desktop.ui.views.new_case_view import NewCaseView
from medmitra_desktop.ui.widgets.attachment_list import (
    AttachmentArea,
    AttachmentListModel,
    AttachmentRole,
)
from medmitra_desktop.ui.widgets.clinical_colors import ClinicalColors
from medmitra_desktop.ui.widgets.file_preview import PASSWORD_NOTE, PreviewLoader
from tests.factories import LAB_LINES, png_image, scanned_png, text_file, text_pdf

# Showing a window on the offscreen platform says this; it is harmless.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def view(qtbot, service: CaseService) -> Iterator[NewCaseView]:
    new_case = NewCaseView(service, "dr-qt")
    qtbot.addWidget(new_case)
    new_case.resize(1100, 700)
    yield new_case
    new_case.loader.wait()


def show_active(qtbot, view: NewCaseView) -> None:
    """Shown and active, so keyboard shortcuts and focus work as for the doctor."""
    view.show()
    qtbot.waitExposed(view)
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow)


def fill_patient(qtbot, view: NewCaseView, *, name: str = "Imran Sheikh", age: str = "52",
                 gender: str = "male") -> None:
    qtbot.keyClicks(view.name, name)
    qtbot.keyClicks(view.age, age)
    view.gender.setCurrentIndex(view.gender.findData(gender))


def wait_for_previews(qtbot, view: NewCaseView) -> None:
    qtbot.waitUntil(lambda: not view.lab.model.previews_pending()
                    and not view.radiology.model.previews_pending(), timeout=5000)


def case_count(service: CaseService) -> int:
    return service.list_cases(CaseQuery()).total


def file_drop(area: QWidget, paths: list[Path]) -> bool:
    """Drag files from a file manager onto `area` and drop them; whether it was taken."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(area, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(area, drop)
    return drop.isAccepted()


def zip_named_pdf(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("report.txt", "Hemoglobin 10.2 g/dL")
    return path


# ---- saving -----------------------------------------------------------------------------


def test_typing_a_case_and_saving_creates_it(qtbot, view: NewCaseView, service: CaseService,
                                             tmp_path: Path) -> None:
    show_active(qtbot, view)
    fill_patient(qtbot, view)
    qtbot.keyClicks(view.record_number, "MRN-0042")
    qtbot.keyClicks(view.notes, "Chest pain on exertion.")
    view.lab.add_paths([text_file(tmp_path / "glucose.txt", "Glucose 180 mg/dL\n")])
    view.radiology.add_paths([png_image(tmp_path / "xray.png")])

    view.notes.setFocus()
    with qtbot.waitSignal(view.case_created, timeout=2000) as created:
        qtbot.keyClick(view.notes, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    case = service.get_case(created.args[0])
    assert (case.patient_name, case.patient_age, case.patient_gender) == (
        "Imran Sheikh", 52, Gender.MALE)
    assert case.patient_record_number == "MRN-0042"
    assert case.case_summary == "Chest pain on exertion."
    assert {(d.file_name, d.category) for d in case.documents} == {
        ("glucose.txt", DocumentCategory.LAB), ("xray.png", DocumentCategory.RADIOLOGY)}
    # Ready for the next patient.
    assert not view.has_input()
    assert view.lab.model.rowCount() == 0 and view.radiology.model.rowCount() == 0


def test_save_button_creates_a_case_without_files(qtbot, view: NewCaseView,
                                                  service: CaseService) -> None:
    fill_patient(qtbot, view, gender="other")
    with qtbot.waitSignal(view.case_created, timeout=2000) as created:
        qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert service.get_case(created.args[0]).patient_gender is Gender.OTHER


def test_service_messages_are_shown_inline(qtbot, view: NewCaseView,
                                           service: CaseService) -> None:
    qtbot.keyClicks(view.age, "abc")
    with qtbot.assertNotEmitted(view.case_created):
        assert view.save() is None
    messages = view.form.messages
    assert messages["patient_name"].text() == "is required"
    assert "whole number" in messages["patient_age"].text()
    assert "male, female, other" in messages["patient_gender"].text()
    assert messages["case_summary"].isHidden()
    assert messages["patient_record_number"].isHidden()
    assert "3 fields" in view.status.text()
    assert view.focusWidget() is view.name or not view.isVisible()
    assert case_count(service) == 0
    assert view.age.text() == "abc"  # nothing typed is lost

    # A message goes as soon as its field is right.
    qtbot.keyClicks(view.name, "Ravi")
    assert messages["patient_name"].isHidden()
    assert not messages["patient_age"].isHidden()


def test_bad_age_and_no_gender_when_only_they_are_wrong(qtbot, view: NewCaseView) -> None:
    fill_patient(qtbot, view, age="200")
    view.gender.setCurrentIndex(0)
    view.save()
    assert view.messages().keys() == {"patient_age", "patient_gender"}
    assert "0 to 130" in view.form.messages["patient_age"].text()
    assert "(got nothing)" in view.form.messages["patient_gender"].text()


def test_a_field_is_checked_when_it_loses_focus(qtbot, view: NewCaseView) -> None:
    show_active(qtbot, view)
    view.name.setFocus()
    qtbot.keyClick(view.name, Qt.Key.Key_Tab)  # passing through an empty field says nothing
    assert view.form.messages["patient_name"].isHidden()
    qtbot.keyClicks(view.age, "7x")
    qtbot.keyClick(view.age, Qt.Key.Key_Tab)
    assert "whole number" in view.form.messages["patient_age"].text()
    assert view.form.messages["patient_name"].isHidden()
    assert view.form.messages["patient_gender"].isHidden()  # not touched yet

    # After a reset, passing through the cleared fields says nothing either.
    qtbot.keyClicks(view.name, "Asha")
    view.reset()
    assert QApplication.focusWidget() is view.name
    qtbot.keyClick(view.name, Qt.Key.Key_Tab)
    qtbot.keyClick(view.age, Qt.Key.Key_Tab)
    assert view.messages() == {}


def test_a_storage_problem_keeps_the_form(qtbot, view: NewCaseView, service: CaseService,
                                          tmp_path: Path, monkeypatch) -> None:
    def disk_full(**_fields: object) -> None:
        raise StorageError(StorageProblem.DISK_FULL, "The disk is full: free some space")

    monkeypatch.setattr(service, "create_case", disk_full)
    fill_patient(qtbot, view)
    view.lab.add_paths([text_file(tmp_path / "report.txt")])
    with qtbot.assertNotEmitted(view.case_created):
        assert view.save() is None
    assert "The disk is full" in view.status.text()
    assert view.name.text() == "Imran Sheikh" and view.lab.model.rowCount() == 1


def test_missing_user_id_is_reported(qtbot, view: NewCaseView) -> None:
    fill_patient(qtbot, view)
    view.set_user_id("")
    assert view.save() is None
    assert "user id" in view.status.text() and "Settings" in view.status.text()
    view.set_user_id("dr-qt")
    assert view.save() is not None


# ---- files ------------------------------------------------------------------------------


def test_dropped_files_are_listed_with_previews(qtbot, view: NewCaseView,
                                               tmp_path: Path) -> None:
    report = text_pdf(tmp_path / "cbc.pdf", LAB_LINES)
    scan = scanned_png(tmp_path / "scan.png", LAB_LINES)
    small = png_image(tmp_path / "small.png")
    assert file_drop(view.lab, [report, scan])
    assert file_drop(view.radiology, [small])
    wait_for_previews(qtbot, view)

    model = view.lab.model
    assert [model.index(r).data() for r in range(model.rowCount())] == ["cbc.pdf", "scan.png"]
    pdf_details = model.index(0).data(AttachmentRole.DETAILS)
    assert "PDF document" in pdf_details and "1 page" in pdf_details
    assert "PNG image" in model.index(1).data(AttachmentRole.DETAILS)
    for area, count in ((view.lab, 2), (view.radiology, 1)):
        assert len(area.rows) == count
        for row in area.rows:
            assert not row.thumbnail.pixmap().isNull()
            assert not row.has_problem
    pixmap = view.lab.rows[0].thumbnail.pixmap()
    page = pixmap.toImage()
    # The page is painted on white (QtPdf leaves it transparent).
    assert page.pixelColor(2, 2).name() == "#ffffff"
    assert page.hasAlphaChannel() is False


def test_a_drop_without_local_files_is_refused(qtbot, view: NewCaseView) -> None:
    mime = QMimeData()
    mime.setText("just some text")
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.lab, enter)
    assert not enter.isAccepted()
    assert view.lab.handle_drop(mime) is None


def test_text_files_show_their_first_lines(qtbot, view: NewCaseView, tmp_path: Path) -> None:
    table = text_file(tmp_path / "lipids.csv", "Test,Result\nLDL,162\nHDL,38\nTG,210\n")
    view.lab.add_paths([table])
    wait_for_previews(qtbot, view)
    row = view.lab.rows[0]
    assert row.message_label.text() == "Test,Result\nLDL,162\nHDL,38"
    assert row.thumbnail.badge() == "CSV"
    assert "CSV table" in row.details_label.full_text()


def test_a_pdf_that_is_a_zip_is_refused_and_not_sent(qtbot, view: NewCaseView,
                                                    service: CaseService,
                                                    tmp_path: Path) -> None:
    fake = zip_named_pdf(tmp_path / "kidney_panel.pdf")
    good = text_file(tmp_path / "urea.txt")
    view.lab.add_paths([fake, good])
    row = view.lab.rows[0]
    assert row.has_problem
    assert "ZIP" in row.message_label.text()
    assert "ZIP" in view.lab.model.index(0).data(AttachmentRole.PROBLEM)
    assert view.lab.model.index(0).data(AttachmentRole.PREVIEW_PENDING) is False
    assert "1 not accepted" in view.lab.count_label.text()

    fill_patient(qtbot, view)
    with qtbot.assertNotEmitted(view.case_created):
        assert view.save() is None
    assert case_count(service) == 0
    lab_message = view.files_form.messages["lab_files"]
    assert not lab_message.isHidden() and "not accepted" in lab_message.text()
    assert view.lab.model.rowCount() == 2 and view.name.text() == "Imran Sheikh"

    qtbot.mouseClick(row.remove_button, Qt.MouseButton.LeftButton)
    assert lab_message.isHidden()  # no file in the list has a problem any more
    case_id = view.save()
    assert case_id is not None
    assert [d.file_name for d in service.get_case(case_id).documents] == ["urea.txt"]


def test_an_empty_file_says_so(qtbot, view: NewCaseView, tmp_path: Path) -> None:
    empty = tmp_path / "blank.pdf"
    empty.write_bytes(b"")
    view.radiology.add_paths([empty])
    row = view.radiology.rows[0]
    assert row.has_problem and "empty" in row.message_label.text()
    assert row.thumbnail.badge() == "!"


def test_the_same_file_twice_is_listed_once(qtbot, view: NewCaseView, tmp_path: Path) -> None:
    report = text_file(tmp_path / "report.txt")
    view.lab.add_paths([report])
    assert file_drop(view.lab, [report, tmp_path / "." / "report.txt"])
    assert view.lab.model.rowCount() == 1
    assert "listed already" in view.lab.note.text()
    view.radiology.add_paths([report])
    assert view.radiology.model.rowCount() == 0
    assert "already under lab reports" in view.radiology.note.text()


def test_a_folder_is_not_added(qtbot, view: NewCaseView, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    view.lab.add_paths([folder])
    assert view.lab.model.rowCount() == 0
    assert "is a folder" in view.lab.note.text()


def test_remove_takes_the_file_away_and_keeps_focus_nearby(qtbot, view: NewCaseView,
                                                           tmp_path: Path) -> None:
    show_active(qtbot, view)
    paths = [text_file(tmp_path / f"report{n}.txt") for n in range(3)]
    view.lab.add_paths(paths)
    view.lab.rows[1].remove_button.setFocus()
    qtbot.keyClick(view.lab.rows[1].remove_button, Qt.Key.Key_Space)
    model = view.lab.model
    assert [model.index(r).data() for r in range(model.rowCount())] == [
        "report0.txt", "report2.txt"]
    assert QApplication.focusWidget() is view.lab.rows[1].remove_button
    assert view.lab.rows[1].remove_button.accessibleName() == (
        "Remove report2.txt from lab reports")
    view.lab.remove_row(1)
    view.lab.remove_row(0)
    assert model.rowCount() == 0 and QApplication.focusWidget() is view.lab.add_button
    assert view.lab.list_view.isHidden() and not view.lab.empty_label.isHidden()


def test_password_protected_pdf_is_explained(qtbot, view: NewCaseView, tmp_path: Path) -> None:
    plain = text_pdf(tmp_path / "plain.pdf", LAB_LINES)
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as stream:
        writer.write(stream)
    view.lab.add_paths([locked])
    wait_for_previews(qtbot, view)
    row = view.lab.rows[0]
    assert not row.has_problem  # it can be attached; its password is asked for later
    assert row.message_label.text() == PASSWORD_NOTE
    assert row.thumbnail.pixmap().isNull() and row.thumbnail.badge() == "PDF"


def test_a_huge_image_is_not_decoded(qtbot, view: NewCaseView, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (10_000, 5_000), 1).save(bomb, format="PNG")  # 50 MP, a few KB on disk
    assert bomb.stat().st_size < 100_000
    view.radiology.add_paths([bomb])
    wait_for_previews(qtbot, view)
    row = view.radiology.rows[0]
    assert "too large to preview" in row.message_label.text()
    assert "10000 × 5000 pixels" in row.details_label.full_text()
    assert not row.has_problem


def test_a_file_changed_after_adding_is_caught_on_save(qtbot, view: NewCaseView,
                                                      service: CaseService,
                                                      tmp_path: Path) -> None:
    report = text_file(tmp_path / "report.txt")
    view.lab.add_paths([report])
    fill_patient(qtbot, view)
    report.unlink()
    assert view.save() is None
    assert case_count(service) == 0
    assert "no such file" in view.lab.rows[0].message_label.text()


# ---- leaving, clearing ------------------------------------------------------------------


def test_reset_clears_everything(qtbot, view: NewCaseView, tmp_path: Path) -> None:
    fill_patient(qtbot, view, age="abc")
    qtbot.keyClicks(view.record_number, "MRN-1")
    qtbot.keyClicks(view.notes, "Fever")
    view.lab.add_paths([text_pdf(tmp_path / "a.pdf", LAB_LINES), tmp_path / "a"])
    view.radiology.add_paths([png_image(tmp_path / "b.png")])
    view.save()
    assert view.messages()
    view.reset()
    assert not view.has_input()
    assert view.messages() == {} and view.status.isHidden()
    assert all(label.isHidden() for label in view.form.messages.values())
    assert all(label.isHidden() for label in view.files_form.messages.values())
    assert view.lab.rows == [] and view.radiology.rows == [] and view.lab.note.isHidden()
    assert view.gender.currentIndex() == 0
    assert not view.loader.busy  # a preview still being made is dropped when it comes


def test_cancel_without_input_just_leaves(qtbot, view: NewCaseView, monkeypatch) -> None:
    monkeypatch.setattr(view, "_confirm_discard", lambda: pytest.fail("must not ask"))
    with qtbot.waitSignal(view.cancelled, timeout=1000):
        view.cancel()


def test_cancel_asks_before_discarding(qtbot, view: NewCaseView, tmp_path: Path,
                                       monkeypatch) -> None:
    qtbot.keyClicks(view.name, "Asha")
    answers = iter([False, True])
    monkeypatch.setattr(view, "_confirm_discard", lambda: next(answers))
    with qtbot.assertNotEmitted(view.cancelled):
        view.cancel()
    assert view.name.text() == "Asha"
    with qtbot.waitSignal(view.cancelled, timeout=1000):
        view.cancel()
    assert not view.has_input()


def test_escape_asks_with_a_real_message_box(qtbot, view: NewCaseView, tmp_path: Path) -> None:
    show_active(qtbot, view)
    view.lab.add_paths([text_file(tmp_path / "report.txt")])
    view.name.setFocus()

    def choose_discard() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        assert "1 attached file" in box.text()
        next(b for b in box.buttons() if b.text() == "&Discard").click()

    QTimer.singleShot(0, choose_discard)
    with qtbot.waitSignal(view.cancelled, timeout=2000):
        qtbot.keyClick(view.name, Qt.Key.Key_Escape)
    assert view.lab.model.rowCount() == 0


# ---- keyboard, accessibility, colours ---------------------------------------------------


def test_tab_order_and_accessible_names(qtbot, view: NewCaseView, tmp_path: Path) -> None:
    view.lab.add_paths([text_file(tmp_path / "report.txt")])
    show_active(qtbot, view)
    view.name.setFocus()
    visited = [QApplication.focusWidget()]
    for _ in range(9):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        visited.append(QApplication.focusWidget())
    assert visited == [view.name, view.age, view.gender, view.record_number, view.notes,
                       view.lab.add_button, view.lab.rows[0].remove_button,
                       view.radiology.add_button, view.save_button, view.cancel_button]

    focusable = [w for w in view.findChildren(QWidget)
                 if w.focusPolicy() & Qt.FocusPolicy.TabFocus and w.isVisibleTo(view)]
    assert focusable
    assert [w for w in focusable if not w.accessibleName()] == []
    for area in (view.lab, view.radiology):
        assert area.list_view.accessibleName().endswith("list")
        assert area.accessibleName()
    assert view.lab.list_view.accessibleDescription() == "1 file"


def test_mnemonics_move_focus(qtbot, view: NewCaseView) -> None:
    show_active(qtbot, view)
    view.name.setFocus()
    for key, widget in ((Qt.Key.Key_E, view.age), (Qt.Key.Key_R, view.record_number),
                        (Qt.Key.Key_L, view.lab.add_button),
                        (Qt.Key.Key_D, view.radiology.add_button),
                        (Qt.Key.Key_O, view.notes)):
        qtbot.keyClick(QApplication.focusWidget(), key, Qt.KeyboardModifier.AltModifier)
        assert QApplication.focusWidget() is widget


def test_messages_follow_the_palette(qtbot, view: NewCaseView) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    themes = ThemeController(app)
    view.save()
    try:
        for theme in ("dark", "light"):
            themes.apply(theme)
            red = ClinicalColors.from_palette(app.palette()).critical_fg.name()
            # Palette changes reach widgets as posted events.
            qtbot.waitUntil(lambda red=red: red in view.form.messages["patient_name"]
                            .styleSheet(), timeout=2000)
            assert view.status.palette().color(QPalette.ColorRole.WindowText).name() == red
    finally:
        themes.apply("system")


# ---- the model --------------------------------------------------------------------------


def test_attachment_model(qtbot, qtmodeltester, tmp_path: Path) -> None:
    loader = PreviewLoader()
    model = AttachmentListModel(DocumentCategory.LAB, loader)
    area = AttachmentArea("Lab reports", model)
    qtbot.addWidget(area)
    outcome = model.add_paths([text_pdf(tmp_path / "a.pdf", LAB_LINES),
                               zip_named_pdf(tmp_path / "b.pdf"),
                               text_file(tmp_path / "c.txt"), tmp_path / "a.pdf"])
    assert [p.name for p in outcome.added] == ["a.pdf", "b.pdf", "c.txt"]
    assert [p.name for p in outcome.duplicates] == ["a.pdf"]
    # The tester stays connected: previews arriving, removal and clearing are checked too.
    qtmodeltester.check(model, force_py=True)
    qtbot.waitUntil(lambda: not model.previews_pending(), timeout=5000)
    assert model.problem_count() == 1
    assert [a.path.name for a in model.attachments()] == ["a.pdf", "b.pdf", "c.txt"]
    assert model.index(2).data(AttachmentRole.PREVIEW_LINES) == [
        "Hemoglobin 10.2 g/dL 13.0-17.0"]
    assert model.index(0).data(Qt.ItemDataRole.DecorationRole) is not None
    model.remove_row(1)
    model.clear()
    assert model.rowCount() == 0
    loader.wait()


def test_a_large_file_is_checked_at_once_and_previewed_off_the_gui_thread(
        qtbot, view: NewCaseView, tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    with big.open("wb") as handle:  # sparse: 49 MB on paper, nothing on the disk
        handle.write(b"%PDF-1.7\n")
        handle.truncate(49 * 1024 * 1024)
    view.lab.add_paths([big])
    model = view.lab.model
    assert model.index(0).data(AttachmentRole.PREVIEW_PENDING) is True  # not made here
    assert view.lab.rows[0].message_label.text() == "Making a preview…"
    wait_for_previews(qtbot, view)
    assert not view.lab.rows[0].has_problem
    assert "could not be opened" in view.lab.rows[0].message_label.text()


def test_a_file_over_the_size_limit_is_refused(qtbot, view: NewCaseView,
                                              tmp_path: Path) -> None:
    huge = tmp_path / "scan.pdf"
    with huge.open("wb") as handle:
        handle.write(b"%PDF-1.7\n")
        handle.truncate(51 * 1024 * 1024)
    view.radiology.add_paths([huge])
    row = view.radiology.rows[0]
    assert row.has_problem and "at most 50 MB" in row.message_label.text()
    assert "51.0 MB" in row.details_label.full_text()
