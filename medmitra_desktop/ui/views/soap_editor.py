"""The SOAP note on the Summary tab: the doctor edits the analysis draft, saves it as
revisions and signs one.

Every save is a new revision based on the one that was loaded, so a save made elsewhere
meanwhile is never overwritten (the service refuses it and the doctor reloads). A signed
revision is final and shown read-only until the doctor starts a new revision; any revision
can be looked at, read-only, from the Versions list.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ... import APP_NAME
from ...domain.errors import ConflictError, MedMitraError, ValidationError
from ...domain.records import DocumentRecord
from ...services.settings import SettingsService
from ...services.soap_notes import SECTIONS, SoapNoteService, SoapRevision
from ..widgets.clinical_colors import ClinicalColors
from ..widgets.confirm import ask_yes_no
from ..widgets.tables import heading
from . import evidence

SECTION_TITLES = {"subjective": "Subjective", "objective": "Objective",
                  "assessment": "Assessment", "plan": "Plan"}
DRAFT_ITEM = -1  # the Versions entry of the latest analysis draft (saved revisions: >= 1)


def doctor_title(name: str) -> str:
    """ "Dr. Asha Rao" for "Asha Rao"; a name already starting with Dr stays as it is."""
    name = name.strip()
    if name.casefold().startswith(("dr ", "dr.")):
        return name
    return f"Dr. {name}"


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%d %b %Y %H:%M") if moment else ""


class SoapEditor(QWidget):
    link_activated = Signal(str)  # "document:<id>:<page>"
    changed = Signal()  # a revision was saved or signed: the case's history changed

    def __init__(self, service: SoapNoteService | None, settings: SettingsService | None,
                 user_id: str, colors: ClinicalColors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._settings = settings
        self._user_id = user_id
        self._colors = colors
        self._case_id = ""
        self._documents: tuple[DocumentRecord, ...] = ()
        self._draft = SoapRevision(0, "", "", "", "", None, None, None)
        self._revisions: list[SoapRevision] = []
        self._shown: SoapRevision | None = None
        self._editing = False
        self._based_on: int | None = None  # the revision the editors started from
        self._baseline: dict[str, str] = {}

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("SOAP note status")
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.versions = QComboBox()
        self.versions.setAccessibleName("SOAP note versions")
        self.versions.view().setAccessibleName("SOAP note versions")
        self.versions.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.versions.setToolTip("Look at any saved revision (read-only) or the latest "
                                 "analysis draft")
        self.versions.activated.connect(self._version_chosen)
        versions_label = QLabel("Vers&ions:")
        versions_label.setBuddy(self.versions)

        self.editors: dict[str, QPlainTextEdit] = {}
        sections = QVBoxLayout()
        sections.setSpacing(2)
        for name in SECTIONS:
            editor = QPlainTextEdit()
            editor.setAccessibleName(f"SOAP {SECTION_TITLES[name]}")
            editor.setTabChangesFocus(True)
            editor.textChanged.connect(self._text_changed)
            label = QLabel(f"<b>{SECTION_TITLES[name]}</b>")
            label.setBuddy(editor)
            sections.addWidget(label)
            sections.addWidget(editor, 1)
            self.editors[name] = editor

        self.sources = QLabel()
        self.sources.setWordWrap(True)
        self.sources.setTextFormat(Qt.TextFormat.RichText)
        self.sources.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.sources.setAccessibleName("Documents cited in the SOAP note")
        self.sources.linkActivated.connect(self.link_activated)

        self.save_button = QPushButton("Save")
        self.save_button.setAccessibleName("Save the SOAP note as a new revision")
        self.save_button.setToolTip("Save as a new revision (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        self.sign_button = QPushButton("Si&gn…")
        self.sign_button.setAccessibleName("Sign the SOAP note")
        self.sign_button.setToolTip("Sign the latest revision with your name from Settings")
        self.sign_button.clicked.connect(self.sign)
        self.new_revision_button = QPushButton("&New revision")
        self.new_revision_button.setAccessibleName("Start a new revision of the signed note")
        self.new_revision_button.setToolTip("A signed note stays as it is; edits go into a "
                                            "new revision")
        self.new_revision_button.clicked.connect(self.start_new_revision)

        top = QHBoxLayout()
        top.addWidget(heading("SOAP note"), 1)
        top.addWidget(versions_label)
        top.addWidget(self.versions)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.sign_button)
        buttons.addWidget(self.new_revision_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addLayout(sections, 1)
        layout.addWidget(self.sources)
        layout.addLayout(buttons)

        # Ctrl+S saves only while the focus is in this panel: nothing else loses the key.
        self.save_shortcut = QShortcut(QKeySequence.StandardKey.Save, self)
        self.save_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.save_shortcut.activated.connect(self._save_by_key)
        self._update_controls()

    # ---- what is shown ------------------------------------------------------------------

    @property
    def editable(self) -> bool:
        return self._editing

    @property
    def shown_revision(self) -> SoapRevision | None:
        return self._shown

    @property
    def revisions(self) -> tuple[SoapRevision, ...]:
        return tuple(self._revisions)

    def texts(self) -> dict[str, str]:
        return {name: editor.toPlainText() for name, editor in self.editors.items()}

    def has_unsaved_changes(self) -> bool:
        return self._editing and self.texts() != self._baseline

    def show_case(self, case_id: str, documents: Sequence[DocumentRecord],
                  draft: dict[str, Any] | None) -> None:
        """Show a case's note: its latest revision, else the analysis draft. The same case
        read again keeps the doctor's unsaved edits."""
        same_case = case_id == self._case_id
        self._documents = tuple(documents)
        self._draft = self._draft_from(draft or {})
        self._case_id = case_id
        if same_case and self.has_unsaved_changes():
            self._fill_versions(keep=True)
            self._show_sources()
            return
        self.reload()

    def clear(self) -> None:
        self._case_id = ""
        self._revisions = []
        self._shown = None
        self._editing = False
        self._baseline = {}
        for editor in self.editors.values():
            editor.clear()
        self.versions.clear()
        self._update_controls()

    def reload(self) -> None:
        """Read the note again and show its latest revision (edits are dropped)."""
        if not self._case_id:
            return
        if self._service is not None:
            try:
                self._revisions = self._service.revisions(self._case_id)
                if not self._revisions:
                    self._draft = self._service.current(self._case_id)
            except MedMitraError as error:
                QMessageBox.warning(self, APP_NAME, str(error))
                self._revisions = []
        self._show_latest()

    def set_colors(self, colors: ClinicalColors) -> None:
        self._colors = colors
        self._show_status()
        self._show_sources()

    # ---- actions ------------------------------------------------------------------------

    def save(self) -> bool:
        """Save the editors as a new revision; False when nothing was saved."""
        if self._service is None or not self._editing or not self._can_save():
            return False
        try:
            saved = self._service.save(self._case_id, user_id=self._user_id,
                                       sections=self.texts(), based_on=self._based_on)
        except ConflictError as error:
            self.ask_reload(str(error))
            return False
        except ValidationError as error:
            QMessageBox.warning(self, APP_NAME, "The SOAP note was not saved:\n\n" + "\n".join(
                f"• {SECTION_TITLES.get(e.field, e.field)}: {e.message}"
                for e in error.errors))
            return False
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return False
        self.reload()
        self._show_status(f"Saved as revision {saved.revision}.")
        self.changed.emit()
        return True

    def sign(self) -> bool:
        """Sign the latest revision (saving the editors first) after the doctor confirms."""
        if self._service is None or self._settings is None or not self._can_sign():
            return False
        name = self._settings.load().doctor_name.strip()
        if not name:
            QMessageBox.information(
                self, APP_NAME, "Set your name in Settings (File → Settings…) before signing: "
                                "a signature records who signed the note.")
            return False
        assert self._shown is not None
        must_save = self._editing and (self.has_unsaved_changes() or self._shown.revision == 0)
        number = self._shown.revision + 1 if must_save else self._shown.revision
        question = (f"Sign revision {number} of the SOAP note as {doctor_title(name)}?\n\n"
                    "A signed note cannot be changed: later edits start a new revision.")
        if must_save:
            question += ("\n\nYour text is saved first." if self._shown.revision else
                         "\n\nThe draft is saved as revision 1 first.")
        if not ask_yes_no(self, question):
            return False
        if must_save and not self.save():
            return False
        assert self._shown is not None
        try:
            signed = self._service.sign(self._case_id, user_id=self._user_id,
                                        doctor_name=name, revision=self._shown.revision)
        except ConflictError as error:
            self.ask_reload(str(error))
            return False
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, f"The SOAP note was not signed: {error}")
            return False
        self.reload()
        self._show_status(f"Revision {signed.revision} signed.")
        self.changed.emit()
        return True

    def start_new_revision(self) -> None:
        """Edit a copy of the signed latest revision; saving makes the next revision."""
        latest = self._latest()
        if latest is None or not latest.signed:
            return
        self._show_revision(latest, editing=True)
        self.editors["subjective"].setFocus(Qt.FocusReason.OtherFocusReason)

    def ask_reload(self, message: str) -> None:
        """The note changed elsewhere: offer to reload (the doctor may first copy text)."""
        box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME,
                          f"{message}\n\nReload shows the latest revision; your unsaved "
                          "text is dropped (copy it first if you need it).", parent=self)
        reload_button = box.addButton("&Reload", QMessageBox.ButtonRole.AcceptRole)
        reload_button.setObjectName("reloadButton")
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(reload_button)
        box.exec()
        if box.clickedButton() is reload_button:
            self.reload()

    def resolve_unsaved(self) -> bool:
        """Before the note leaves the screen: save, discard or stay. False: stay."""
        if not self.has_unsaved_changes():
            return True
        answer = QMessageBox.question(
            self, APP_NAME, "The SOAP note has changes that are not saved.\n\n"
                            "Save them as a new revision?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            self.discard()
            return True
        return False

    def discard(self) -> None:
        """Drop the unsaved edits: the latest revision (or the draft) again."""
        self._show_latest()

    # ---- parts --------------------------------------------------------------------------

    def _draft_from(self, soap: dict[str, Any]) -> SoapRevision:
        return SoapRevision(0, *(str(soap.get(name) or "") for name in SECTIONS),
                            saved_at=None, signed_by=None, signed_at=None)

    def _latest(self) -> SoapRevision | None:
        return self._revisions[-1] if self._revisions else None

    def _show_latest(self) -> None:
        latest = self._latest()
        shown = latest or self._draft
        self._show_revision(shown, editing=self._service is not None and not shown.signed)
        self._fill_versions()
        self._update_controls()

    def _show_revision(self, revision: SoapRevision, *, editing: bool) -> None:
        self._shown = revision
        self._editing = editing
        self._based_on = revision.revision if editing else None
        for name, editor in self.editors.items():
            text = getattr(revision, name)
            if revision.revision == 0:
                # The draft cites "doc 2, page 1"; the doctor's note names the file.
                text = evidence.plain(text, self._documents)
            editor.blockSignals(True)
            editor.setPlainText(text)
            editor.blockSignals(False)
            editor.setReadOnly(not editing)
        self._baseline = self.texts()
        self._show_status()
        self._show_sources()
        self._update_controls()

    def _fill_versions(self, keep: bool = False) -> None:
        chosen = self.versions.currentData() if keep else None
        self.versions.blockSignals(True)
        self.versions.clear()
        for revision in reversed(self._revisions):
            state = (f"signed by {doctor_title(revision.signed_by or '')}" if revision.signed
                     else "not signed")
            self.versions.addItem(f"Revision {revision.revision} · "
                                  f"{_when(revision.saved_at)} · {state}", revision.revision)
        if any(getattr(self._draft, name) for name in SECTIONS) or not self._revisions:
            self.versions.addItem("Analysis draft (not saved)" if not self._revisions else
                                  "Latest analysis draft", DRAFT_ITEM)
        shown = self._shown
        wanted = chosen if chosen is not None else (
            DRAFT_ITEM if shown is None or shown.revision == 0 else shown.revision)
        index = self.versions.findData(wanted)
        self.versions.setCurrentIndex(max(0, index))
        self.versions.blockSignals(False)

    def _version_chosen(self, index: int) -> None:
        number = self.versions.itemData(index)
        shown = self._shown
        showing = DRAFT_ITEM if shown is None or shown.revision == 0 else shown.revision
        if number == showing and not (self._editing and shown and shown.signed):
            return
        if not self.resolve_unsaved():
            self.versions.setCurrentIndex(max(0, self.versions.findData(showing)))
            return
        latest = self._latest()
        if number == DRAFT_ITEM:
            self._show_revision(self._draft, editing=latest is None
                                and self._service is not None)
        else:
            revision = next(r for r in self._revisions if r.revision == number)
            self._show_revision(revision, editing=revision is latest and not revision.signed
                                and self._service is not None)

    def _has_text(self) -> bool:
        return any(text.strip() for text in self.texts().values())

    def _can_save(self) -> bool:
        """Something new to keep: edits, or the draft accepted as it is."""
        shown = self._shown
        return (self._editing and shown is not None and self._has_text()
                and (self.has_unsaved_changes() or shown.revision == 0))

    def _can_sign(self) -> bool:
        shown = self._shown
        if shown is None or self._service is None or self._settings is None:
            return False
        latest = self._latest()
        if latest is None:
            return shown.revision == 0 and self._has_text()
        if self._editing and shown.signed:
            return self.has_unsaved_changes()  # a new revision: saved, then signed
        return shown is latest and not latest.signed

    def _save_by_key(self) -> None:
        if self._can_save():
            self.save()

    def _text_changed(self) -> None:
        self._show_status()
        self._update_controls()

    def _update_controls(self) -> None:
        latest = self._latest()
        shown = self._shown
        self.save_button.setEnabled(self._service is not None and self._can_save())
        self.sign_button.setEnabled(self._can_sign())
        showing_signed_latest = (shown is not None and shown is latest and latest.signed
                                 and not self._editing)
        self.new_revision_button.setVisible(self._service is not None
                                            and latest is not None and latest.signed)
        self.new_revision_button.setEnabled(showing_signed_latest)
        self.versions.setEnabled(self.versions.count() > 1)

    def _show_status(self, done: str = "") -> None:
        """Two lines at most: the signature (or what is done), then what is shown."""
        shown = self._shown
        colors = self._colors
        if shown is None:
            self.status.setText("")
            return
        latest = self._latest()
        first: list[str] = []
        second: list[str] = []
        if shown.signed:
            signer = html.escape(doctor_title(shown.signed_by or ""))
            first.append(f"<b>✔ Signed by {signer} on {_when(shown.signed_at)}</b>")
        if done:
            first.append(f"<b>{html.escape(done)}</b>")
        if self._service is None:
            second.append("Drafted from the documents and notes; read-only here.")
        elif self._editing and shown.signed:
            second.append(f"New revision, based on signed revision {shown.revision}; not "
                          "saved yet.")
        elif shown.revision == 0:
            second.append("Analysis draft, not saved yet. Edit it, then Save (Ctrl+S) to keep "
                          "it as revision 1." if latest is None else
                          f"The latest analysis draft, read-only. Your note is revision "
                          f"{latest.revision}.")
        else:
            saved = f"Revision {shown.revision}, saved {_when(shown.saved_at)}"
            if shown is not latest:
                saved += (f" (an older revision; the latest is "
                          f"{latest.revision if latest else 0})")
            second.append(saved + ".")
            if shown.signed and not self._editing and shown is latest:
                second.append("Read-only: choose New revision to change it.")
            elif not self._editing:
                second.append("Read-only.")
            elif not shown.signed:
                second.append("Not signed.")
        if self.has_unsaved_changes():
            second.append(f"<span style='color:{colors.abnormal_fg.name()}'><b>Unsaved "
                          "changes</b></span>")
        lines = [" ".join(first)] if first else []
        lines.append(f"<span style='color:{colors.muted_fg.name()}'>" + " ".join(second)
                     + "</span>")
        self.status.setText("<br>".join(lines))

    def _show_sources(self) -> None:
        links = evidence.cited_links(" ".join(self.texts().values()), self._documents)
        if not links:
            self.sources.setText("")
            self.sources.hide()
            return
        style = f' style="color: {self._colors.link.name()}"'
        anchors = [f'<a href="{html.escape(evidence.document_href(link.document_id, link.page))}"'
                   f"{style}>{html.escape(label)}</a>" for label, link in links]
        self.sources.setText("<small>Cited: " + " · ".join(anchors) + "</small>")
        self.sources.show()

    def source_links(self) -> list[tuple[str, str]]:
        """(label, href) of the cited-document links, in order (for tests)."""
        return [(label, evidence.document_href(link.document_id, link.page))
                for label, link in evidence.cited_links(" ".join(self.texts().values()),
                                                        self._documents)]
