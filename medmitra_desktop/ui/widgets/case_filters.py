"""The case list's filter bar: status, gender, age range and created-date range.

The bar only describes filters (CaseFilters); the window combines them with the search text
into one CaseQuery, and the database does the filtering. The ends of a range push each
other: moving "from" past "to" moves "to" along (and the other way), so a range is never
reversed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from PySide6.QtCore import QDate, QEvent, QObject, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from ...domain.enums import CaseStatus, Gender
from ...domain.records import CaseQuery

AGE_LIMIT = 130  # domain.validation.AGE_MAX
NO_AGE = -1  # the spin boxes' "any" value
NO_DATE = QDate(2000, 1, 1)  # the date edits' "any date" value (cases are newer than this)
DATE_FORMAT = "d MMM yyyy"
TICK = "✓ "
STATUS_LABELS = ((CaseStatus.PROCESSING, "Processing"), (CaseStatus.COMPLETED, "Completed"),
                 (CaseStatus.FAILED, "Failed"))
GENDER_LABELS = ((None, "Any"), (Gender.FEMALE, "Female"), (Gender.MALE, "Male"),
                 (Gender.OTHER, "Other"))


@dataclass(frozen=True)
class CaseFilters:
    """The filters chosen in the bar; created dates are local calendar days, inclusive."""

    statuses: tuple[CaseStatus, ...] = ()
    genders: tuple[Gender, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    created_from: date | None = None
    created_to: date | None = None

    @property
    def age_reversed(self) -> bool:
        return (self.age_min is not None and self.age_max is not None
                and self.age_min > self.age_max)

    @property
    def dates_reversed(self) -> bool:
        return (self.created_from is not None and self.created_to is not None
                and self.created_from > self.created_to)

    @property
    def active_count(self) -> int:
        """How many filters narrow the list (a reversed range, never made by the bar, is not
        applied)."""
        count = int(bool(self.statuses)) + int(bool(self.genders))
        if not self.age_reversed:
            count += int(self.age_min is not None or self.age_max is not None)
        if not self.dates_reversed:
            count += int(self.created_from is not None or self.created_to is not None)
        return count

    def apply_to(self, query: CaseQuery) -> CaseQuery:
        """The query narrowed by these filters (its other fields kept)."""
        age_min, age_max = (None, None) if self.age_reversed else (self.age_min, self.age_max)
        start, end = ((None, None) if self.dates_reversed
                      else (self.created_from, self.created_to))
        return dataclasses.replace(
            query, statuses=self.statuses, genders=self.genders,
            age_min=age_min, age_max=age_max,
            created_from=None if start is None else local_day_start(start),
            created_to=None if end is None else local_day_start(end + timedelta(days=1))
            - timedelta(microseconds=1),
        )


def local_day_start(day: date) -> datetime:
    """Midnight at the start of a calendar day in the computer's time zone, time-zone aware
    (the database compares it in UTC)."""
    return datetime.combine(day, time()).astimezone()


def _types_text(event: QKeyEvent) -> bool:
    return bool(event.text().strip()) and not event.modifiers() & (
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)


class AnyDateEdit(QDateEdit):
    """A date edit whose lowest value reads "Any date". Stepping, typing or opening the
    calendar from "Any date" starts at today rather than at the sentinel; Delete goes back
    to "Any date"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCalendarPopup(True)
        self.setDisplayFormat(DATE_FORMAT)
        self.setMinimumDate(NO_DATE)
        self.setMaximumDate(QDate(2100, 12, 31))
        self.setSpecialValueText("Any date")
        self.setDate(NO_DATE)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.calendarWidget().installEventFilter(self)

    def day(self) -> date | None:
        return None if self.date() == NO_DATE else self.date().toPython()

    def clear_day(self) -> None:
        self.setDate(NO_DATE)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Delete and not event.modifiers():
            event.accept()
            self.clear_day()
            return
        if self.date() == NO_DATE and _types_text(event):
            self.setDate(QDate.currentDate())  # typing "5" gives the 5th of this month
            self.setSelectedSection(QDateTimeEdit.Section.DaySection)
        # Tab leaves the edit (QDateTimeEdit would walk its day/month/year sections, and
        # keeps the focus while "Any date" shows); Left and Right still move by section.
        if event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab) and not (
                event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            event.accept()
            forward = event.key() == Qt.Key.Key_Tab and not (
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            QWidget.focusNextPrevChild(self, forward)
            return
        super().keyPressEvent(event)

    def stepBy(self, steps: int) -> None:
        if self.date() == NO_DATE:
            self.setDate(QDate.currentDate())
        else:
            super().stepBy(steps)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self.calendarWidget() and event.type() == QEvent.Type.Show
                and self.date() == NO_DATE):
            today = QDate.currentDate()
            self.calendarWidget().setCurrentPage(today.year(), today.month())
        return super().eventFilter(watched, event)


class AnyAgeBox(QSpinBox):
    """An age whose lowest value reads "Any"; typing over "Any" replaces it, and Delete
    goes back to it."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Delete and not event.modifiers():
            event.accept()
            self.setValue(self.minimum())
            return
        if self.lineEdit().text() == self.specialValueText() and _types_text(event):
            self.lineEdit().selectAll()  # (the value changes only when editing ends)
        super().keyPressEvent(event)


def _age_box(accessible_name: str) -> QSpinBox:
    box = AnyAgeBox()
    box.setRange(NO_AGE, AGE_LIMIT)
    box.setSpecialValueText("Any")
    box.setValue(NO_AGE)
    box.setAccessibleName(accessible_name)
    box.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
    box.setKeyboardTracking(False)  # typing "45" is one change, not "4" then "45"
    return box


class CaseFilterBar(QWidget):
    """Status toggles, a gender choice, an age range and a created-date range, with a
    "Clear filters" button and how many filters are on. `changed` fires on every change."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Case filters")
        self.status_buttons: dict[CaseStatus, QToolButton] = {}
        for status, label in STATUS_LABELS:
            button = QToolButton()
            button.setCheckable(True)
            button.setAccessibleName(f"Show {label.lower()} cases")
            button.setToolTip(f"Show {label.lower()} cases (none chosen: every status)")
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            # A chosen status shows a tick, not only a shade; its width is kept for it.
            button.setText(f"{TICK}{label}")
            button.setMinimumWidth(button.sizeHint().width())
            button.setText(label)
            button.toggled.connect(
                lambda checked, button=button, label=label:
                button.setText(f"{TICK}{label}" if checked else label))
            button.toggled.connect(self._on_change)
            self.status_buttons[status] = button

        self.gender = QComboBox()
        for gender, label in GENDER_LABELS:  # data: the stored value ("" for any)
            self.gender.addItem(label, gender.value if gender else "")
        self.gender.setAccessibleName("Gender filter")
        self.gender.currentIndexChanged.connect(self._on_change)

        self.age_from = _age_box("Youngest age")
        self.age_to = _age_box("Oldest age")
        self.age_from.setToolTip("Youngest age shown, in years (Any: no lower limit; "
                                 "Delete sets Any)")
        self.age_to.setToolTip("Oldest age shown, in years (Any: no upper limit; "
                               "Delete sets Any)")
        self.age_from.valueChanged.connect(self._age_from_changed)
        self.age_to.valueChanged.connect(self._age_to_changed)

        self.created_from = AnyDateEdit()
        self.created_from.setAccessibleName("Created on or after")
        self.created_from.setToolTip("Cases created on or after this day (Delete: any date)")
        self.created_to = AnyDateEdit()
        self.created_to.setAccessibleName("Created on or before")
        self.created_to.setToolTip("Cases created on or before this day (Delete: any date)")
        self.created_from.dateChanged.connect(self._created_from_changed)
        self.created_to.dateChanged.connect(self._created_to_changed)

        self.clear_button = QPushButton("C&lear filters")
        self.clear_button.setAccessibleName("Clear filters")
        self.clear_button.setEnabled(False)
        self.clear_button.clicked.connect(self.clear)
        self.active_label = QLabel()
        self.active_label.setAccessibleName("Filters on")
        # Room for the longest text, so the bar does not grow when filters come on.
        self.active_label.setMinimumWidth(
            self.active_label.fontMetrics().horizontalAdvance("4 filters on") + 4)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(6)
        layout.addWidget(self._label("Stat&us", next(iter(self.status_buttons.values()))))
        statuses = QHBoxLayout()
        statuses.setSpacing(0)
        for button in self.status_buttons.values():
            statuses.addWidget(button)
        layout.addLayout(statuses)
        layout.addSpacing(6)
        layout.addWidget(self._label("Gen&der", self.gender))
        layout.addWidget(self.gender)
        layout.addSpacing(6)
        layout.addWidget(self._label("A&ge", self.age_from))
        layout.addWidget(self.age_from)
        layout.addWidget(QLabel("–"))
        layout.addWidget(self.age_to)
        layout.addSpacing(6)
        layout.addWidget(self._label("Crea&ted", self.created_from))
        layout.addWidget(self.created_from)
        layout.addWidget(QLabel("–"))
        layout.addWidget(self.created_to)
        layout.addSpacing(6)
        layout.addWidget(self.clear_button)
        layout.addWidget(self.active_label)
        self._update_summary()

    @staticmethod
    def _label(text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(buddy)
        return label

    def focus_chain(self) -> list[QWidget]:
        """The bar's controls in Tab order."""
        return [*self.status_buttons.values(), self.gender, self.age_from, self.age_to,
                self.created_from, self.created_to, self.clear_button]

    # ---- state --------------------------------------------------------------------------

    def filters(self) -> CaseFilters:
        gender = self.gender.currentData()
        return CaseFilters(
            statuses=tuple(status for status, button in self.status_buttons.items()
                           if button.isChecked()),
            genders=(Gender(gender),) if gender else (),
            age_min=None if self.age_from.value() == NO_AGE else self.age_from.value(),
            age_max=None if self.age_to.value() == NO_AGE else self.age_to.value(),
            created_from=self.created_from.day(),
            created_to=self.created_to.day(),
        )

    def set_filters(self, filters: CaseFilters) -> None:
        """Show these filters (one `changed`)."""
        with QSignalBlocker(self):  # the controls' changes make one `changed`, below
            for status, button in self.status_buttons.items():
                button.setChecked(status in filters.statuses)
            gender = filters.genders[0].value if len(filters.genders) == 1 else ""
            self.gender.setCurrentIndex(max(0, self.gender.findData(gender)))
            self.age_from.setValue(NO_AGE if filters.age_min is None else filters.age_min)
            self.age_to.setValue(NO_AGE if filters.age_max is None else filters.age_max)
            for edit, day in ((self.created_from, filters.created_from),
                              (self.created_to, filters.created_to)):
                edit.setDate(NO_DATE if day is None else QDate(day.year, day.month, day.day))
        self._on_change()

    def clear(self) -> None:
        self.set_filters(CaseFilters())

    @property
    def active_count(self) -> int:
        return self.filters().active_count

    def _on_change(self) -> None:
        self._update_summary()
        self.changed.emit()

    def _age_from_changed(self, value: int) -> None:
        if value != NO_AGE and self.age_to.value() != NO_AGE and self.age_to.value() < value:
            with QSignalBlocker(self.age_to):
                self.age_to.setValue(value)
        self._on_change()

    def _age_to_changed(self, value: int) -> None:
        if value != NO_AGE and self.age_from.value() > value:
            with QSignalBlocker(self.age_from):
                self.age_from.setValue(value)
        self._on_change()

    def _created_from_changed(self, day: QDate) -> None:
        if day != NO_DATE and self.created_to.date() != NO_DATE and self.created_to.date() < day:
            with QSignalBlocker(self.created_to):
                self.created_to.setDate(day)
        self._on_change()

    def _created_to_changed(self, day: QDate) -> None:
        if day != NO_DATE and self.created_from.date() > day:
            with QSignalBlocker(self.created_from):
                self.created_from.setDate(day)
        self._on_change()

    def _update_summary(self) -> None:
        count = self.filters().active_count
        self.active_label.setText(f"{count} filter{'s' if count != 1 else ''} on" if count
                                  else "")
        self.clear_button.setEnabled(count > 0)
        self.clear_button.setAccessibleDescription(
            f"{count} filter{'s are' if count != 1 else ' is'} on" if count else "No filters")
