"""Controls generated from an operation's parameter spec (one widget per Param)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from vision_studio.gui.widgets import LabeledSlider

if TYPE_CHECKING:
    from vision_studio.core.ops import OpSpec, Param


class ParamEditor(QWidget):
    """Edits one step's params; emits (name, value) for every user change."""

    sig_param_changed = Signal(str, object)
    sig_rect_requested = Signal(str)  # the user wants to draw this rect parameter on the image
    sig_edit_finished = Signal()  # a slider drag / typed value ended: the next change is a new undo step

    def __init__(self, parent=None):
        super().__init__(parent)
        self._form = QFormLayout(self)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._widgets: dict[str, tuple[Param, QWidget]] = {}
        self._loading = False
        self.set_step(None, {})

    def set_step(self, spec: OpSpec | None, params: dict[str, Any]) -> None:
        """Rebuild the controls for `spec` (None: an explanatory placeholder)."""
        while self._form.rowCount():
            self._form.removeRow(0)
        self._widgets.clear()
        if spec is None:
            hint = QLabel("Select a step to edit its parameters.")
            hint.setWordWrap(True)
            self._form.addRow(hint)
            return
        if spec.help:
            title = QLabel(f"<b>{spec.title}</b> — {spec.help}")
            title.setWordWrap(True)
            self._form.addRow(title)
        self._loading = True
        for p in spec.params:
            widget = self._make(p, params.get(p.name, p.default))
            widget.setToolTip(p.help)
            label = QLabel(p.label)
            label.setToolTip(p.help)
            self._form.addRow(label, widget)
            self._widgets[p.name] = (p, widget)
        if not spec.params:
            self._form.addRow(QLabel("This operation has no parameters."))
        self._loading = False

    def update_values(self, params: dict[str, Any]) -> None:
        """Show new values (after undo/redo) without emitting changes."""
        self._loading = True
        for name, (p, w) in self._widgets.items():
            if name in params:
                _set_value(p, w, params[name])
        self._loading = False

    def widget(self, name: str) -> QWidget:
        return self._widgets[name][1]

    def _emit(self, name: str, value: Any) -> None:
        if not self._loading:
            self.sig_param_changed.emit(name, value)

    def _make(self, p: Param, value: Any) -> QWidget:
        name = p.name
        if p.type == "bool":
            w = QCheckBox()
            w.setChecked(bool(value))
            w.toggled.connect(lambda v: self._emit(name, bool(v)))
            return w
        if p.type == "choice":
            w = QComboBox()
            w.addItems(list(p.choices))
            w.setCurrentText(str(value))
            w.currentTextChanged.connect(lambda v: self._emit(name, v))
            return w
        if p.type in ("rect", "color"):
            return self._make_tuple(p, value)
        lo = p.min if p.min is not None else 0
        hi = p.max if p.max is not None else 1000
        if p.type == "int":
            w = LabeledSlider(int(lo), int(hi), int(p.step or 1))
            w.setValue(int(value))
            w.valueChanged.connect(lambda v: self._emit(name, _fix_odd(p, int(v))))
            w.editingFinished.connect(self.sig_edit_finished)
            return w
        w = LabeledSlider(float(lo), float(hi), float(p.step or 0.1), decimals=2)
        w.setValue(float(value))
        w.valueChanged.connect(lambda v: self._emit(name, round(float(v), 4)))
        w.editingFinished.connect(self.sig_edit_finished)
        return w

    def _make_tuple(self, p: Param, value: Any) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        names = ("x", "y", "w", "h") if p.type == "rect" else ("R", "G", "B")
        spins = []
        for i, n in enumerate(names):
            s = QSpinBox()
            s.setRange(0, 255 if p.type == "color" else 1_000_000)
            s.setPrefix(f"{n} ")
            s.setValue(int(value[i]))
            spins.append(s)
            row.addWidget(s)
        for s in spins:
            s.valueChanged.connect(lambda _=0: self._emit(p.name, tuple(x.value() for x in spins)))
        box.spins = spins  # type: ignore[attr-defined]
        if p.type == "rect":
            draw = QPushButton("Draw")
            draw.setToolTip("Drag a rectangle on the image")
            draw.clicked.connect(lambda: self.sig_rect_requested.emit(p.name))
            row.addWidget(draw)
        return box

    def set_param_value(self, name: str, value: Any) -> None:
        """Set a value as if the user had typed it (emits a change)."""
        p, w = self._widgets[name]
        _set_value(p, w, value)
        self._emit(name, value)


def _fix_odd(p: Param, v: int) -> int:
    """Sliders step by 1; an odd-only kernel size snaps up to the next odd value."""
    if p.odd and v % 2 == 0:
        v = v + 1 if p.max is None or v + 1 <= p.max else v - 1
    return v


def _set_value(p: Param, w: QWidget, value: Any) -> None:
    w.blockSignals(True)
    try:
        if p.type == "bool":
            w.setChecked(bool(value))
        elif p.type == "choice":
            w.setCurrentText(str(value))
        elif p.type in ("rect", "color"):
            for s, v in zip(w.spins, value):
                s.blockSignals(True)
                s.setValue(int(v))
                s.blockSignals(False)
        else:
            w.setValue(value)
    finally:
        w.blockSignals(False)
