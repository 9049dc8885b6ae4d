"""Small reusable widgets: a slider with a spin box, a combo box you can type to search, and
text that changes often without re-laying out the window.

(superqt has both, but importing any of superqt costs 140 ms at start-up; see workers.py.)
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (QComboBox, QCompleter, QDoubleSpinBox, QHBoxLayout, QSizePolicy, QSlider, QSpinBox,
                               QWidget)


class LabeledSlider(QWidget):
    """A slider and a spin box showing the same number; int or float (`decimals` > 0)."""

    valueChanged = Signal(object)
    editingFinished = Signal()  # the slider was released or the spin box left: one gesture ended

    def __init__(self, minimum: float, maximum: float, step: float = 1, decimals: int = 0, parent=None):
        super().__init__(parent)
        self._decimals = decimals
        self._factor = 10 ** decimals  # the QSlider itself only knows ints
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(round(minimum * self._factor), round(maximum * self._factor))
        self.slider.setSingleStep(max(1, round(step * self._factor)))
        self.slider.setPageStep(max(1, round((maximum - minimum) * self._factor / 10)))
        if decimals:
            self.spin = QDoubleSpinBox(self)
            self.spin.setDecimals(decimals)
        else:
            self.spin = QSpinBox(self)
        self.spin.setRange(minimum, maximum)
        self.spin.setSingleStep(step)
        self.spin.setKeyboardTracking(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)
        self.slider.sliderReleased.connect(self.editingFinished)
        self.spin.editingFinished.connect(self.editingFinished)

    def value(self):
        return self.spin.value()

    def setValue(self, value) -> None:
        self.spin.setValue(value)

    def _from_slider(self, raw: int) -> None:
        value = raw / self._factor if self._decimals else raw
        if value != self.spin.value():
            self.spin.setValue(value)  # emits through _from_spin

    def _from_spin(self, value) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * self._factor))
        self.slider.blockSignals(False)
        self.valueChanged.emit(value)


class SearchableComboBox(QComboBox):
    """Type any part of an entry to filter the list. `populate(combo)` fills it on first
    use (focus or opening the list), so building the window does not pay for it."""

    def __init__(self, parent=None, populate=None):
        super().__init__(parent)
        self._populate = populate
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        completer = QCompleter(self.model(), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.activated[str].connect(lambda text: self.setCurrentIndex(self.findText(text)))
        self.setCompleter(completer)
        self.lineEdit().setPlaceholderText("Search operations…")
        self.lineEdit().installEventFilter(self)

    def ensure_populated(self) -> None:
        if self._populate is not None:
            populate, self._populate = self._populate, None
            populate(self)
            self.setCurrentIndex(-1)  # keep showing the placeholder

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.FocusIn:
            self.ensure_populated()
        return super().eventFilter(obj, event)

    def showPopup(self) -> None:
        self.ensure_populated()
        super().showPopup()


class StatusText(QWidget):
    """Word-wrapped text that changes often (the live numbers, twice a second) without
    re-laying out the window: QLabel.setText always asks its parent layout for a new size,
    which at the dock level re-lays out and repaints every dock (measured: 13 ms a call).
    Here a new text only repaints, unless it needs another number of lines."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._text = ""
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(0)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        self._text = text
        self._fit_height()
        self.update()

    def _fit_height(self) -> None:
        flags = int(Qt.TextFlag.TextWordWrap)
        h = self.fontMetrics().boundingRect(0, 0, max(1, self.width()), 10_000, flags, self._text).height() \
            if self._text else 0
        if h != self.height():
            self.setFixedHeight(h)  # the one case that re-lays out: the line count changed

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_height()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().windowText().color())
        painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop |
                                          Qt.TextFlag.TextWordWrap), self._text)
