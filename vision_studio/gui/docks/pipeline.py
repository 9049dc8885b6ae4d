"""Pipeline panel: the ordered steps (add, remove, reorder by drag, enable, duplicate) and
the selected step's parameters. Every change goes through the controller's undo stack."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from vision_studio.core import pipeline as pipeline_io
from vision_studio.core.pipeline import Pipeline, PipelineError, Step, make_step
from vision_studio.gui.param_editor import ParamEditor
from vision_studio.gui.pipeline_controller import PipelineController
from vision_studio.gui.widgets import SearchableComboBox


def get_op(name: str):
    # The operations (numpy, OpenCV wrappers) load on first use, not at start-up.
    from vision_studio.core.ops import get_op as lookup

    return lookup(name)


def presets() -> list[tuple[str, Path]]:
    folder = resources.files("vision_studio").joinpath("resources", "presets")
    if not folder.is_dir():
        return []
    items = sorted(p for p in folder.iterdir() if p.name.endswith(".json"))
    return [(p.name[:-5].replace("_", " ").capitalize(), Path(str(p))) for p in items]


class PipelineDock(QDockWidget):
    sig_message = Signal(str)

    def __init__(self, controller: PipelineController, parent=None):
        super().__init__("Pipeline", parent)
        self.setObjectName("PipelineDock")
        self.controller = controller
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)

        add_row = QHBoxLayout()
        self.op_combo = SearchableComboBox(body, populate=self._populate_ops)
        self.op_combo.setObjectName("AddStepCombo")
        self.op_combo.setToolTip("Type to search the operations")
        self.add_button = QPushButton("Add", body)
        self.add_button.clicked.connect(self.add_selected_op)
        add_row.addWidget(self.op_combo, 1)
        add_row.addWidget(self.add_button)
        layout.addLayout(add_row)

        self.steps = QListWidget(body)
        self.steps.setObjectName("StepsList")
        self.steps.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.steps.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.steps.currentRowChanged.connect(self._on_selection)
        self.steps.itemChanged.connect(self._on_item_changed)
        self.steps.model().rowsMoved.connect(self._on_rows_moved)

        buttons = QHBoxLayout()
        self.remove_button = QPushButton("Remove", body)
        self.duplicate_button = QPushButton("Duplicate", body)
        self.up_button = QPushButton("Up", body)
        self.down_button = QPushButton("Down", body)
        self.remove_button.clicked.connect(self.remove_selected)
        self.duplicate_button.clicked.connect(self.duplicate_selected)
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        for b in (self.remove_button, self.duplicate_button, self.up_button, self.down_button):
            buttons.addWidget(b)

        self.editor = ParamEditor(body)
        self.editor.sig_param_changed.connect(self._on_param_changed)
        self.editor.sig_edit_finished.connect(self.controller.end_merge)
        scroll = QScrollArea(body)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.editor)

        top = QWidget(body)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.steps)
        top_layout.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Vertical, body)
        split.addWidget(top)
        split.addWidget(scroll)
        split.setStretchFactor(1, 1)
        split.setSizes([150, 320])  # the parameters need the room more than the list
        layout.addWidget(split, 1)
        self.setWidget(body)

        self._refreshing = False
        self._editing: tuple[int, str] | None = None  # (row, op) the editor shows
        controller.sig_pipeline_changed.connect(self._on_pipeline_changed)
        self._on_pipeline_changed(controller.pipeline)

    def _populate_ops(self, combo: SearchableComboBox) -> None:
        from vision_studio.core.ops import all_ops

        for spec in all_ops():
            combo.addItem(f"{spec.title}  ·  {spec.category}", spec.name)

    # ------------------------------------------------------------------ menu actions
    def build_menu(self, menu: QMenu) -> None:
        menu.addAction(self._action("&Open Pipeline…", self.open_dialog))
        menu.addAction(self._action("&Save Pipeline As…", self.save_dialog))
        preset_menu = menu.addMenu("&Presets")
        for title, path in presets():
            preset_menu.addAction(self._action(title, lambda _=False, p=path: self.load_file(p)))
        preset_menu.setEnabled(bool(preset_menu.actions()))
        menu.addSeparator()
        menu.addAction(self._action("&Clear Pipeline", self.clear))

    def _action(self, text, slot) -> QAction:
        a = QAction(text, self)
        a.triggered.connect(slot)
        return a

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open pipeline", "", "Pipeline (*.json);;All files (*)")
        if path:
            self.load_file(Path(path))

    def load_file(self, path: Path) -> str | None:
        """Load a pipeline file; returns the one-line error, or None when it loaded."""
        try:
            pipeline = pipeline_io.load(path)
        except PipelineError as exc:
            self.sig_message.emit(str(exc))
            return str(exc)
        self.controller.replace_all(pipeline, f"Load {path.name}")
        self.sig_message.emit(f"Loaded pipeline {path.name} ({len(pipeline.steps)} steps)")
        return None

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save pipeline", "pipeline.json", "Pipeline (*.json)")
        if path:
            try:
                pipeline_io.save(self.controller.pipeline, path)
                self.sig_message.emit(f"Saved pipeline {path}")
            except Exception as exc:
                self.sig_message.emit(f"{path}: cannot save ({exc})")

    # ------------------------------------------------------------------ edits
    @property
    def pipeline(self) -> Pipeline:
        return self.controller.pipeline

    def add_op(self, op: str) -> None:
        index = self.steps.currentRow() + 1 if self.steps.currentRow() >= 0 else len(self.pipeline.steps)
        self.controller.end_merge()
        self.controller.edit(self.pipeline.inserted(index, make_step(op)), f"Add {get_op(op).title}")
        self.steps.setCurrentRow(index)

    def add_selected_op(self) -> None:
        self.op_combo.ensure_populated()
        op = self.op_combo.currentData()
        if op:
            self.add_op(op)
        else:
            self.sig_message.emit("Choose an operation to add: type to search, or open the list")

    def remove_selected(self) -> None:
        row = self.steps.currentRow()
        if row >= 0:
            title = get_op(self.pipeline.steps[row].op).title
            self.controller.end_merge()
            self.controller.edit(self.pipeline.removed(row), f"Remove {title}")

    def duplicate_selected(self) -> None:
        row = self.steps.currentRow()
        if row >= 0:
            step = self.pipeline.steps[row]
            self.controller.end_merge()
            self.controller.edit(self.pipeline.inserted(row + 1, step), f"Duplicate {get_op(step.op).title}")
            self.steps.setCurrentRow(row + 1)

    def move_selected(self, delta: int) -> None:
        row = self.steps.currentRow()
        dst = row + delta
        if row < 0 or not 0 <= dst < len(self.pipeline.steps):
            return
        self.controller.end_merge()
        self.controller.edit(self.pipeline.moved(row, dst), "Move step")
        self.steps.setCurrentRow(dst)

    def set_enabled(self, row: int, enabled: bool) -> None:
        step = self.pipeline.steps[row]
        if step.enabled != enabled:
            self.controller.end_merge()
            new = Step(op=step.op, params=step.params, enabled=enabled)
            verb = "Enable" if enabled else "Disable"
            self.controller.edit(self.pipeline.replaced(row, new), f"{verb} {get_op(step.op).title}")

    def clear(self) -> None:
        if self.pipeline.steps:
            self.controller.replace_all(Pipeline(), "Clear pipeline")

    def _on_param_changed(self, name: str, value) -> None:
        row = self.steps.currentRow()
        if row < 0:
            return
        step = self.pipeline.steps[row]
        spec = get_op(step.op)
        try:
            value = spec.param(name).validate(value)
        except ValueError as exc:
            self.sig_message.emit(f"{spec.title}: {exc}")
            return
        self.controller.edit(self.pipeline.replaced(row, step.with_params(**{name: value})),
                             f"Change {spec.title} {spec.param(name).label.lower()}",
                             merge_key=(row, step.op, name))

    # ------------------------------------------------------------------ view sync
    def _on_pipeline_changed(self, pipeline: Pipeline) -> None:
        self._refreshing = True
        row = self.steps.currentRow()
        self.steps.clear()
        for i, step in enumerate(pipeline.steps, start=1):
            item = QListWidgetItem(f"{i}. {get_op(step.op).title}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsDragEnabled)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)
            item.setCheckState(Qt.CheckState.Checked if step.enabled else Qt.CheckState.Unchecked)
            item.setToolTip(", ".join(f"{k}={v}" for k, v in step.params.items()))
            self.steps.addItem(item)
        self._refreshing = False
        if pipeline.steps:
            self.steps.setCurrentRow(min(max(row, 0), len(pipeline.steps) - 1))
        self._on_selection(self.steps.currentRow())

    def _on_selection(self, row: int) -> None:
        if self._refreshing:
            return
        if 0 <= row < len(self.pipeline.steps):
            step = self.pipeline.steps[row]
            if self._editing == (row, step.op):
                # Same step (a parameter changed, or undo/redo): update the values in place.
                # Rebuilding would delete the slider the user is dragging.
                self.editor.update_values(step.params)
            else:
                self.controller.end_merge()
                self.editor.set_step(get_op(step.op), step.params)
                self._editing = (row, step.op)
        else:
            self.controller.end_merge()
            self.editor.set_step(None, {})
            self._editing = None
        has = row >= 0
        for b in (self.remove_button, self.duplicate_button, self.up_button, self.down_button):
            b.setEnabled(has)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if not self._refreshing:
            self.set_enabled(self.steps.row(item), item.checkState() == Qt.CheckState.Checked)

    def _on_rows_moved(self, _parent, start, _end, _dest, dest_row) -> None:
        if self._refreshing:
            return
        dst = dest_row - 1 if dest_row > start else dest_row
        # Later, not inside the model's signal: the view is still finishing its drop, and
        # the edit rebuilds the list.
        QTimer.singleShot(0, lambda: self._apply_move(start, dst))

    def _apply_move(self, src: int, dst: int) -> None:
        self.controller.end_merge()
        self.controller.edit(self.pipeline.moved(src, dst), "Move step")
