"""The SOAP note on the Summary tab: edit, save as revisions, sign, look at versions, and
never lose unsaved text when leaving the case."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox, QPushButton, QWidget

from medmitra_desktop.app import AppContext
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.ui.views.case_detail import SUMMARY_TAB, CaseDetailView
from medmitra_desktop.ui.views.soap_editor import DRAFT_ITEM, SoapEditor, doctor_title
from tests.factories import LAB_LINES, make_case, text_pdf
from tests.qt.test_case_detail import analysed, drive_modal

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
Button = QMessageBox.StandardButton


@pytest.fixture
def detail(qtbot, context: AppContext) -> CaseDetailView:
    view = CaseDetailView(context.cases, context.results, "dr-qt", files=context.files,
                          soap_notes=context.soap_notes, settings=context.settings)
    qtbot.addWidget(view)
    view.resize(1200, 760)
    view.show()
    qtbot.waitExposed(view)
    return view


@pytest.fixture
def answers(monkeypatch) -> dict[str, list]:
    """Replaces QMessageBox.question / information / warning: each call takes the next
    answer given to "question" and records its text."""
    asked: dict[str, list] = {"question": [], "information": [], "warning": [],
                              "answers": []}

    def question(_parent: QWidget, _title: str, text: str, *_args: object) -> Button:
        asked["question"].append(text)
        return asked["answers"].pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QMessageBox, "information",
                        lambda _p, _t, text, *_a: asked["information"].append(text))
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda _p, _t, text, *_a: asked["warning"].append(text))
    return asked


def set_doctor(context: AppContext, name: str) -> None:
    context.settings.save(replace(context.settings.load(), doctor_name=name))


def open_analysed(detail: CaseDetailView, context: AppContext, jobs: AnalysisJobs,
                  tmp_path: Path) -> SoapEditor:
    case = analysed(context, jobs, notes="Tired for two months.",
                    lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    assert detail.open_case(case.case_id)
    return detail.soap_editor


def type_into(qtbot, editor: SoapEditor, section: str, text: str) -> None:
    box = editor.editors[section]
    box.setFocus()
    box.moveCursor(box.textCursor().MoveOperation.End)
    for number, line in enumerate(text.split("\n")):
        if number:
            qtbot.keyClick(box, Qt.Key.Key_Return)
        if line:
            qtbot.keyClicks(box, line)


def test_draft_is_editable_and_ctrl_s_saves_revision_1(qtbot, detail: CaseDetailView,
                                                       context: AppContext,
                                                       jobs: AnalysisJobs,
                                                       tmp_path: Path) -> None:
    editor = open_analysed(detail, context, jobs, tmp_path)
    assert detail.summary.soap_panel is editor
    assert editor.editors["subjective"].toPlainText() == "Tired for two months."
    assert "Hemoglobin 9.1 g/dL" in editor.editors["objective"].toPlainText()
    assert "[cbc.pdf, page 1]" in editor.editors["objective"].toPlainText()  # not "doc 0"
    assert ("cbc.pdf, page 1", f"document:{detail.case.documents[0].document_id}:1") in \
        editor.source_links()
    assert editor.editable and not editor.editors["plan"].isReadOnly()
    assert "Analysis draft, not saved yet" in editor.status.text()
    assert [editor.versions.itemText(i) for i in range(editor.versions.count())] == \
        ["Analysis draft (not saved)"]
    assert not detail.has_unsaved_changes()

    type_into(qtbot, editor, "plan", "\nRecheck CBC in 4 weeks.")
    assert detail.has_unsaved_changes() and "Unsaved changes" in editor.status.text()
    qtbot.keyClick(editor.editors["plan"], Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    revisions = context.soap_notes.revisions(detail.case_id)
    assert [r.revision for r in revisions] == [1]
    assert revisions[0].plan.endswith("Recheck CBC in 4 weeks.")
    assert revisions[0].subjective == "Tired for two months."
    assert not detail.has_unsaved_changes()
    assert "Saved as revision 1." in editor.status.text()
    assert "Revision 1, saved" in editor.status.text() and "Not signed" in \
        editor.status.text()
    assert editor.versions.itemText(0).startswith("Revision 1 · ")
    assert editor.versions.itemText(0).endswith(" · not signed")
    assert editor.editable  # an unsigned revision stays editable
    assert not editor.save_button.isEnabled()  # nothing new to save
    history = [detail.history.model.index(r, 3).data()
               for r in range(detail.history.model.rowCount())]
    assert "soap_revision=1" in history

    # Ctrl+S elsewhere in the view is not the editor's.
    detail.labs.table.setFocus()
    type_into(qtbot, editor, "plan", " Diet advice.")
    detail.labs.table.setFocus()
    qtbot.keyClick(detail.labs.table, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert len(context.soap_notes.revisions(detail.case_id)) == 1
    editor.save_button.click()
    assert len(context.soap_notes.revisions(detail.case_id)) == 2


def test_signing_needs_a_doctor_name_then_stamps_and_locks(
        qtbot, detail: CaseDetailView, context: AppContext, jobs: AnalysisJobs,
        tmp_path: Path, answers: dict[str, list]) -> None:
    editor = open_analysed(detail, context, jobs, tmp_path)
    type_into(qtbot, editor, "assessment", "\nIron deficiency likely.")

    # No name in Settings: told where to set it, and nothing is signed or saved.
    assert editor.sign_button.isEnabled()
    editor.sign_button.click()
    assert "Set your name in Settings" in answers["information"][0]
    assert context.soap_notes.revisions(detail.case_id) == []
    assert detail.has_unsaved_changes()

    set_doctor(context, "Asha Rao")
    answers["answers"] = [Button.No]
    editor.sign_button.click()
    assert "Sign revision 1 of the SOAP note as Dr. Asha Rao?" in answers["question"][0]
    assert "saved as revision 1 first" in answers["question"][0]
    assert context.soap_notes.revisions(detail.case_id) == []  # "No" does nothing

    answers["answers"] = [Button.Yes]
    editor.sign_button.click()
    revisions = context.soap_notes.revisions(detail.case_id)
    assert [(r.revision, r.signed_by) for r in revisions] == [(1, "Asha Rao")]
    assert revisions[0].assessment.endswith("Iron deficiency likely.")
    signed_at = revisions[0].signed_at
    assert signed_at is not None
    stamp = f"Signed by Dr. Asha Rao on {signed_at.astimezone():%d %b %Y %H:%M}"
    assert stamp in editor.status.text()
    assert not editor.editable
    assert all(box.isReadOnly() for box in editor.editors.values())
    assert not editor.save_button.isEnabled() and not editor.sign_button.isEnabled()
    assert editor.new_revision_button.isVisible() and editor.new_revision_button.isEnabled()
    assert "choose New revision" in editor.status.text()
    assert not detail.has_unsaved_changes()
    # Typing into a signed note does nothing.
    type_into(qtbot, editor, "plan", "x")
    assert not editor.editors["plan"].toPlainText().endswith("x")

    # New revision: editable again; saving makes revision 2, unsigned.
    editor.new_revision_button.click()
    assert editor.editable and not editor.editors["plan"].isReadOnly()
    assert "New revision, based on signed revision 1" in editor.status.text()
    assert not editor.save_button.isEnabled()  # nothing changed yet
    type_into(qtbot, editor, "plan", "\nFerritin.")
    editor.save_button.click()
    revisions = context.soap_notes.revisions(detail.case_id)
    assert [(r.revision, r.signed) for r in revisions] == [(1, True), (2, False)]
    assert revisions[1].plan.endswith("Ferritin.")
    assert editor.editable and editor.sign_button.isEnabled()

    # Versions: newest first, with the time saved and who signed; any one read-only.
    items = [editor.versions.itemText(i) for i in range(editor.versions.count())]
    assert items[0].startswith("Revision 2 · ") and items[0].endswith("· not signed")
    assert items[1].startswith("Revision 1 · ") and items[1].endswith(
        "· signed by Dr. Asha Rao")
    assert items[2] == "Latest analysis draft"
    editor.versions.setCurrentIndex(1)
    editor.versions.activated.emit(1)
    assert editor.shown_revision is not None and editor.shown_revision.revision == 1
    assert not editor.editable and not editor.editors["plan"].toPlainText().endswith("Ferritin.")
    assert "an older revision; the latest is 2" in editor.status.text()
    assert stamp in editor.status.text()
    assert not editor.sign_button.isEnabled() and not editor.new_revision_button.isEnabled()
    index = editor.versions.findData(DRAFT_ITEM)
    editor.versions.setCurrentIndex(index)
    editor.versions.activated.emit(index)
    assert "latest analysis draft, read-only" in editor.status.text()
    assert not editor.editable
    editor.versions.setCurrentIndex(0)
    editor.versions.activated.emit(0)
    assert editor.editable and editor.editors["plan"].toPlainText().endswith("Ferritin.")


def test_service_refusing_to_sign_explains_why(detail: CaseDetailView, context: AppContext,
                                               jobs: AnalysisJobs, tmp_path: Path,
                                               answers: dict[str, list], monkeypatch) -> None:
    editor = open_analysed(detail, context, jobs, tmp_path)
    set_doctor(context, "Asha Rao")
    original_sign = context.soap_notes.sign

    def sign_as_nobody(case_id: str, **kwargs: object) -> object:
        return original_sign(case_id, **{**kwargs, "doctor_name": " "})  # type: ignore[arg-type]

    monkeypatch.setattr(context.soap_notes, "sign", sign_as_nobody)
    answers["answers"] = [Button.Yes]
    assert not editor.sign()
    assert "not signed" in answers["warning"][0]
    assert "set it in Settings" in answers["warning"][0]
    assert not context.soap_notes.revisions(detail.case_id)[0].signed


def test_conflict_offers_reload(qtbot, detail: CaseDetailView, context: AppContext,
                               jobs: AnalysisJobs, tmp_path: Path) -> None:
    editor = open_analysed(detail, context, jobs, tmp_path)
    type_into(qtbot, editor, "plan", "\nMine.")
    # Someone saves first (another window, a colleague's workstation).
    context.soap_notes.save(detail.case_id, user_id="dr-other",
                            sections={"plan": "Theirs."}, based_on=0)
    seen: list[str] = []

    def reload(dialog: QDialog) -> None:
        assert isinstance(dialog, QMessageBox)
        seen.append(dialog.text())
        button = dialog.findChild(QPushButton, "reloadButton")
        assert button is not None and button.text() == "&Reload"
        button.click()

    errors = drive_modal(qtbot, reload)
    assert not editor.save()
    assert not errors, errors
    assert "changed elsewhere since you opened it. Reload it" in seen[0]
    assert editor.editors["plan"].toPlainText() == "Theirs."
    assert editor.shown_revision is not None and editor.shown_revision.revision == 1
    assert len(context.soap_notes.revisions(detail.case_id)) == 1
    # The reloaded revision saves normally.
    type_into(qtbot, editor, "plan", " And mine.")
    assert editor.save()
    assert context.soap_notes.revisions(detail.case_id)[-1].plan == "Theirs. And mine."


def test_leaving_with_unsaved_changes_asks(qtbot, detail: CaseDetailView,
                                          context: AppContext, jobs: AnalysisJobs,
                                          tmp_path: Path, answers: dict[str, list]) -> None:
    editor = open_analysed(detail, context, jobs, tmp_path)
    first_case = detail.case_id
    other = make_case(context.cases, name="Bela Rao")
    assert detail.confirm_leave()  # nothing to lose: no question
    assert answers["question"] == []

    type_into(qtbot, editor, "subjective", " Worse on stairs.")
    assert detail.has_unsaved_changes()
    back: list[bool] = []
    detail.back_requested.connect(lambda: back.append(True))
    detail.tabs.setCurrentIndex(1)

    answers["answers"] = [Button.Cancel]
    detail.back_button.click()
    assert back == [] and detail.has_unsaved_changes()
    assert "changes that are not saved" in answers["question"][0]
    assert detail.tabs.currentIndex() == SUMMARY_TAB  # shown where the edits are

    answers["answers"] = [Button.Cancel]
    assert not detail.open_case(other.case_id)  # opening another case asks too
    assert detail.case_id == first_case

    # A refresh (analysis finished, F5) keeps the edits.
    detail.refresh()
    assert editor.editors["subjective"].toPlainText().endswith("Worse on stairs.")

    answers["answers"] = [Button.Discard]
    qtbot.keyClick(editor.editors["subjective"], Qt.Key.Key_Escape)  # Esc is Back
    assert back == [True]
    assert not detail.has_unsaved_changes()
    assert editor.editors["subjective"].toPlainText() == "Tired for two months."
    assert context.soap_notes.revisions(first_case) == []

    type_into(qtbot, editor, "subjective", " Better.")
    answers["answers"] = [Button.Save]
    assert detail.open_case(other.case_id)
    assert context.soap_notes.revisions(first_case)[0].subjective == \
        "Tired for two months. Better."
    assert detail.case_id == other.case_id
    assert editor.editors["subjective"].toPlainText() == ""  # no analysis yet


def test_doctor_title() -> None:
    assert doctor_title("Asha Rao") == "Dr. Asha Rao"
    assert doctor_title("Dr. Asha Rao") == "Dr. Asha Rao"
    assert doctor_title("dr Asha Rao ") == "dr Asha Rao"
    assert doctor_title("Drishti Patel") == "Dr. Drishti Patel"


def test_without_the_note_service_the_draft_is_read_only(
        qtbot, context: AppContext, jobs: AnalysisJobs, tmp_path: Path) -> None:
    view = CaseDetailView(context.cases, context.results, "dr-qt")
    qtbot.addWidget(view)
    case = analysed(context, jobs, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    assert view.open_case(case.case_id)
    editor = view.soap_editor
    assert "Hemoglobin" in editor.editors["objective"].toPlainText()
    assert not editor.editable and editor.editors["plan"].isReadOnly()
    assert not editor.save_button.isEnabled() and not editor.sign_button.isEnabled()
    assert not view.has_unsaved_changes()
    assert "cannot be shown here" in view.documents.viewer.message_text()
