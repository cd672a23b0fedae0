"""File > Export case as FHIR…, Import FHIR bundle…, Back up data…, Restore from backup…:
offered when they apply, run off the GUI thread, and tell the doctor the outcome."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from medmitra_desktop.app import AppContext, open_app
from medmitra_desktop.services import folder_encryption
from medmitra_desktop.services.fhir import export_case_fhir
from medmitra_desktop.ui import portability
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.views.encryption_dialogs import RecoveryCodePrompt
from tests.factories import LAB_LINES, make_case, text_pdf
from tests.memory_keyring import MemoryKeyring
from tests.qt.test_print_case import file_menu_texts, select_rows

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def window(qtbot, context: AppContext, settings: QSettings) -> Iterator[MainWindow]:
    main = MainWindow(context, "dr-qt", settings)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    yield main
    qtbot.waitUntil(lambda: not main.portability.task.busy, timeout=20_000)


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    shown: dict[str, list[str]] = {"warning": [], "information": []}
    for kind in shown:
        monkeypatch.setattr(QMessageBox, kind,
                            lambda _parent, _title, text, *_args, _kind=kind:
                            shown[_kind].append(text))
    return shown


def choose_file(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_args: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_args: (str(path), ""))


def finish(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.portability.task.busy, timeout=20_000)


def test_the_file_menu_offers_them_and_export_needs_one_case(
        window: MainWindow, context: AppContext) -> None:
    texts = file_menu_texts(window)
    start = texts.index("Save case as PDF…") + 1
    assert texts[start:start + 4] == ["Export case as FHIR…", "Import FHIR bundle…",
                                      "Back up data…", "Restore from backup…"]
    actions = window.portability
    assert not actions.export_action.isEnabled()
    assert actions.import_action.isEnabled() and actions.backup_action.isEnabled()
    make_case(context.cases)
    window.reload()
    select_rows(window, 0)
    assert actions.export_action.isEnabled()


def test_export_runs_in_the_background_and_writes_a_valid_bundle(
        qtbot, window: MainWindow, context: AppContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, messages: dict[str, list[str]]) -> None:
    case = make_case(context.cases, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    window.reload()
    select_rows(window, 0)
    asked: list[tuple[int, int]] = []

    def without_files(_parent, count: int, size: int) -> bool:
        asked.append((count, size))
        return False

    monkeypatch.setattr(portability, "ask_include_files", without_files)
    target = tmp_path / "out" / "case"
    target.parent.mkdir()
    choose_file(monkeypatch, target)

    window.portability.export_action.trigger()
    finish(qtbot, window)

    written = target.with_suffix(".json")
    assert asked == [(1, case.documents[0].size_bytes)]
    bundle = Bundle.model_validate_json(written.read_text(encoding="utf-8"))
    assert not [e for e in bundle.entry
                if e.resource.get_resource_type() == "DocumentReference"]
    assert window.statusBar().currentMessage() == f"Saved {written} (FHIR R4)."
    assert messages["warning"] == []
    assert [e.detail for e in context.cases.history(case.case_id)
            if e.action == "export"] == ["fhir files=no observations=0"]


def test_import_opens_the_new_case_and_never_adds_it_twice(
        qtbot, window: MainWindow, context: AppContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, messages: dict[str, list[str]]) -> None:
    elsewhere = open_app(str(tmp_path / "elsewhere"))
    try:
        case = make_case(elsewhere.cases, name="Kiran Das", notes="Cough",
                         lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
        bundle = tmp_path / "kiran.json"
        export_case_fhir(elsewhere, case.case_id, bundle, user_id="dr-far")
    finally:
        elsewhere.close()
    choose_file(monkeypatch, bundle)

    window.portability.import_action.trigger()
    finish(qtbot, window)

    assert window.showing_detail() and window.detail.case is not None
    assert window.detail.case.patient_name == "Kiran Das"
    assert window.statusBar().currentMessage() == (
        "Case imported. Its documents are being analysed.")
    assert context.cases.count_cases() == 1

    window.show_list()
    window.portability.import_action.trigger()
    finish(qtbot, window)
    assert context.cases.count_cases() == 1
    assert window.showing_detail()  # the case it already is, opened
    assert window.statusBar().currentMessage() == (
        "This case is already on this workstation; nothing was imported.")
    assert messages["warning"] == []


def test_a_bad_bundle_is_explained_in_words(
        qtbot, window: MainWindow, context: AppContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, messages: dict[str, list[str]]) -> None:
    garbage = tmp_path / "notes.json"
    garbage.write_text("Patient is well.", encoding="utf-8")
    choose_file(monkeypatch, garbage)

    window.portability.import_action.trigger()
    finish(qtbot, window)

    assert len(messages["warning"]) == 1
    assert messages["warning"][0].startswith("The bundle could not be imported: The file "
                                             "notes.json is not a FHIR bundle")
    assert context.cases.count_cases() == 0


def test_backup_then_restore_into_a_new_folder(
        qtbot, window: MainWindow, context: AppContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, messages: dict[str, list[str]]) -> None:
    case = make_case(context.cases, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    archive = tmp_path / "backup.zip"
    choose_file(monkeypatch, archive)

    window.portability.backup_action.trigger()
    finish(qtbot, window)
    assert archive.is_file()
    assert window.statusBar().currentMessage() == f"Backup saved to {archive} and checked."

    target = tmp_path / "restored"
    monkeypatch.setattr(portability, "ask_restore", lambda _parent: True)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_args: str(target))
    window.portability.restore_action.trigger()
    finish(qtbot, window)

    assert len(messages["information"]) == 1
    assert f'medmitra-desktop --data-dir "{target}"' in messages["information"][0]
    restored = open_app(str(target))
    try:
        assert restored.cases.get_case(case.case_id).patient_name == case.patient_name
    finally:
        restored.close()

    # Into the folder this window has open: refused, and said so.
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        lambda *_args: str(context.paths.data_dir))
    window.portability.restore_action.trigger()
    finish(qtbot, window)
    assert messages["warning"] and "MedMitra Desktop is using that folder" in \
        messages["warning"][-1]


def test_an_encrypted_backup_restores_elsewhere_with_its_recovery_code(
        qtbot, window: MainWindow, context: AppContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, messages: dict[str, list[str]],
        memory_keyring: MemoryKeyring) -> None:
    case = make_case(context.cases, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    code = folder_encryption.turn_on(context, user_id="dr-test").recovery_code()
    archive = tmp_path / "backup.zip"
    choose_file(monkeypatch, archive)
    window.portability.backup_action.trigger()
    finish(qtbot, window)
    memory_keyring.secrets.clear()  # the backup goes to another computer

    asked: list[str] = []

    def type_code(prompt: RecoveryCodePrompt) -> int:
        asked.append(prompt.why.text())
        prompt.code.setText(code)
        return QDialog.DialogCode.Accepted

    target = tmp_path / "restored"
    monkeypatch.setattr(portability, "ask_restore", lambda _parent: True)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_args: str(target))
    monkeypatch.setattr(RecoveryCodePrompt, "exec", type_code)
    window.portability.restore_action.trigger()
    finish(qtbot, window)

    assert len(asked) == 1 and "backup of an encrypted data folder" in asked[0]
    assert messages["warning"] == [] and len(messages["information"]) == 1
    restored = open_app(str(target))  # the key is in this keychain now
    try:
        assert restored.database.key is not None
        assert restored.cases.get_case(case.case_id).patient_name == case.patient_name
    finally:
        restored.close()


def test_the_window_stays_open_while_work_runs(qtbot, window: MainWindow) -> None:
    release = threading.Event()
    results: list[object] = []
    assert window.portability.task.start("Working…", lambda: release.wait(10),
                                         results.append, results.append)
    window.portability.update_actions()
    assert not window.portability.backup_action.isEnabled()

    assert not window.close()  # refused mid-task
    assert window.isVisible()
    assert window.statusBar().currentMessage() == (
        "Please wait: a backup, restore, export or import is running.")

    release.set()
    finish(qtbot, window)
    assert results == [True]
    window.portability.update_actions()
    assert window.portability.backup_action.isEnabled()
