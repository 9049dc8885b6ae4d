"""A searchable multi-select list of class names (the Objects panel's class filter).

Ticking nothing means "every class", the way ultralytics reads `classes=None`: a user who
wants only buses ticks one box instead of unticking 79. The wanted names survive a model
change: names the new model lacks are simply not shown, and come back with a model that
has them.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class ClassPicker(QWidget):
    sig_changed = Signal(object)  # set[str]: the ticked names (empty: all classes)

    def __init__(self, wanted=(), parent=None):
        super().__init__(parent)
        self.wanted: set[str] = set(wanted)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Search classes…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.list = QListWidget(self)
        self.list.setMinimumHeight(140)
        self.list.itemChanged.connect(self._on_toggled)
        row = QHBoxLayout()
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.all_button = QPushButton("All classes", self)
        self.all_button.setToolTip("Untick every class: detect all of them")
        self.all_button.clicked.connect(lambda: self.set_checked(()))
        row.addWidget(self.summary, 1)
        row.addWidget(self.all_button)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        self._update_summary()

    def set_names(self, names) -> None:
        """Show this model's classes, ticking the wanted ones (no signal: the wish is unchanged)."""
        self.list.blockSignals(True)
        self.list.clear()
        for name in names:
            item = QListWidgetItem(name, self.list)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in self.wanted else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self._apply_filter(self.filter.text())
        self._update_summary()

    def names(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def checked(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def set_checked(self, names) -> None:
        """Tick exactly `names` (empty: all classes)."""
        wanted = set(names)
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in wanted else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self._on_toggled(None)

    def _on_toggled(self, _item) -> None:
        self.wanted = set(self.checked())
        self._update_summary()
        self.sig_changed.emit(set(self.wanted))

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().lower())

    def _update_summary(self) -> None:
        total = self.list.count()
        picked = self.checked() if total else sorted(self.wanted)
        if not picked:
            text = f"All {total} classes" if total else "All classes"
        else:
            shown = ", ".join(picked[:4]) + (f" and {len(picked) - 4} more" if len(picked) > 4 else "")
            text = f"Only {shown}" + (f" ({len(picked)} of {total})" if total else "")
        self.summary.setText(text)
        self.all_button.setEnabled(bool(picked))
