"""The clinic logo in Settings: a preview, Choose… and Remove.

A chosen image is checked and copied into the data folder at once (services/clinic_logo.py),
so what the preview shows is exactly what reports will carry; the setting itself changes
only when Settings are saved, and copies no setting names any more are removed then.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from ...domain.errors import ValidationError
from ...services.clinic_logo import LOGO_FIELD, ClinicLogoStore

PREVIEW_HEIGHT = 40
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg);;All files (*)"


class LogoPicker(QWidget):
    problem = Signal(str)  # why a chosen file is not a logo ("" when the choice is fine)

    def __init__(self, store: ClinicLogoStore, name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.name = name
        self.preview = QLabel()
        self.preview.setAccessibleName("Clinic logo preview")
        self.preview.setMinimumHeight(PREVIEW_HEIGHT)
        self.choose_button = QPushButton("Choose…")
        self.choose_button.setAccessibleName("Choose the clinic logo")
        self.choose_button.setToolTip("A PNG or JPEG image for the letterhead of printed and "
                                      "saved case reports")
        self.choose_button.clicked.connect(self.choose)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAccessibleName("Remove the clinic logo")
        self.remove_button.clicked.connect(self.remove)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.choose_button)
        layout.addWidget(self.remove_button)
        self._show()

    def choose(self) -> None:
        chosen, _filter = QFileDialog.getOpenFileName(self, "Choose the clinic logo", "",
                                                      IMAGE_FILTER)
        if chosen:
            self.use_file(chosen)

    def use_file(self, path: str) -> bool:
        """Check and keep a copy of the image at `path`; False (and `problem`) when it is
        not a logo."""
        try:
            self.name = self.store.store(Path(path))
        except ValidationError as error:
            self.problem.emit(error.by_field().get(LOGO_FIELD, str(error)))
            return False
        self.problem.emit("")
        self._show()
        return True

    def remove(self) -> None:
        self.name = ""
        self.problem.emit("")
        self._show()

    def _show(self) -> None:
        logo = self.store.load(self.name)
        pixmap = QPixmap()
        if logo is not None and pixmap.loadFromData(logo.data):
            self.preview.setPixmap(pixmap.scaledToHeight(
                PREVIEW_HEIGHT, Qt.TransformationMode.SmoothTransformation))
        else:
            self.preview.setText("No logo: reports show the clinic name only")
        self.remove_button.setEnabled(logo is not None)
