"""File > Export annotated image: overlay style, image format and quality, with a live preview.

The dialog only describes the export (an `ExportRequest`); the window runs it in the
model thread with `core.batch.export_image`, the function the batch and the CLI use,
so the file equals `vision-studio analyze --style` with the same style. The preview is
drawn by `core.annotate.render` too, in a JobRunner job (latest request wins), on the
current result at its displayed resolution, then scaled to fit.
The style is kept in the settings (`export/style`, JSON: the CLI's --style file).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vision_studio.core.annotate import Style
from vision_studio.gui.workers import JobRunner

IMAGE_FORMATS = (("PNG", ".png"), ("JPEG", ".jpg"), ("WebP", ".webp"), ("TIFF", ".tif"))
PREVIEW_SIZE = 560


@dataclass(frozen=True)
class ExportRequest:
    path: Path
    style: Style
    quality: int


def load_style(settings: QSettings) -> Style:
    try:
        return Style.from_dict(json.loads(str(settings.value("export/style", "{}"))))
    except (ValueError, TypeError):
        return Style()


def save_style(settings: QSettings, style: Style) -> None:
    settings.setValue("export/style", json.dumps(style.to_dict()))


def preview_job(image, detections, style: Style, scale: float, size: int = PREVIEW_SIZE):
    """Worker job (no Qt): the overlay in `style` on the displayed image, fitted to `size`."""
    from vision_studio.core.annotate import render
    from vision_studio.core.ops.spec import cv2, to_rgb

    rgb = to_rgb(image)
    if style.line_width and scale < 1:  # a fixed width is in original pixels
        style = replace(style, line_width=max(1, round(style.line_width * scale)))
    out = render(rgb, [d.scaled(scale) for d in detections], style) if detections else rgb
    h, w = out.shape[:2]
    f = min(1.0, size / max(h, w))
    if f < 1:
        out = cv2.resize(out, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return out


class ExportDialog(QDialog):
    """`image`, `detections`, `scale`: what the canvas shows (detections in original pixels)."""

    def __init__(self, jobs: JobRunner, settings: QSettings, image, detections, scale: float,
                 suggested: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export Annotated Image")
        self.jobs, self.settings = jobs, settings
        self._image, self._detections, self._scale = image, list(detections), scale
        style = load_style(settings)
        self._colors = dict(style.class_colors)

        self.width_spin = QSpinBox(self)
        self.width_spin.setRange(0, 50)
        self.width_spin.setSpecialValueText("Auto")
        self.width_spin.setValue(style.line_width or 0)
        self.font_spin = QDoubleSpinBox(self)
        self.font_spin.setRange(0.3, 5.0)
        self.font_spin.setSingleStep(0.1)
        self.font_spin.setValue(style.font_scale)
        self.mask_spin = QSpinBox(self)
        self.mask_spin.setRange(0, 100)
        self.mask_spin.setSuffix(" %")
        self.mask_spin.setValue(round(style.mask_opacity * 100))
        self.show_class = QCheckBox("Class", self)
        self.show_conf = QCheckBox("Confidence", self)
        self.show_name = QCheckBox("Name", self)
        self.show_track = QCheckBox("Track id", self)
        for box, on in ((self.show_class, style.show_label), (self.show_conf, style.show_confidence),
                        (self.show_name, style.show_name), (self.show_track, style.show_track_id)):
            box.setChecked(on)
        parts = QHBoxLayout()
        for box in (self.show_class, self.show_conf, self.show_name, self.show_track):
            parts.addWidget(box)
        parts.addStretch(1)

        self.classes = QListWidget(self)
        self.classes.setMaximumHeight(110)
        self.classes.itemDoubleClicked.connect(self._pick_color)
        color_buttons = QHBoxLayout()
        self.color_button = QPushButton("Colour…", self)
        self.color_button.clicked.connect(lambda: self._pick_color(self.classes.currentItem()))
        self.reset_colors = QPushButton("Default Colours", self)
        self.reset_colors.clicked.connect(self._reset_colors)
        color_buttons.addWidget(self.color_button)
        color_buttons.addWidget(self.reset_colors)
        color_buttons.addStretch(1)

        self.format_combo = QComboBox(self)
        for name, ext in IMAGE_FORMATS:
            self.format_combo.addItem(name, ext)
        self.quality_spin = QSpinBox(self)
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(int(settings.value("export/quality", 95)))
        self.path_edit = QLineEdit(str(suggested), self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        fmt = str(settings.value("export/format", suggested.suffix.lower() or ".png"))
        index = max(0, self.format_combo.findData(fmt if fmt != ".jpeg" else ".jpg"))
        self.format_combo.setCurrentIndex(index)

        form = QFormLayout()
        form.addRow("Box thickness", self.width_spin)
        form.addRow("Font scale", self.font_spin)
        form.addRow("Mask opacity", self.mask_spin)
        form.addRow("Label shows", parts)
        form.addRow("Class colours", self.classes)
        form.addRow("", color_buttons)
        form.addRow("Format", self.format_combo)
        form.addRow("Quality", self.quality_spin)
        form.addRow("File", path_row)

        self.preview = QLabel("Rendering preview…", self)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(PREVIEW_SIZE, PREVIEW_SIZE)  # the whole preview, never clipped
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.error = QLabel("", self)
        self.error.setStyleSheet("color: #c0392b")
        left = QVBoxLayout()
        left.addLayout(form)
        left.addStretch(1)
        left.addWidget(self.error)
        top = QHBoxLayout()
        top.addLayout(left)
        top.addWidget(self.preview, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addWidget(self.buttons)

        self._timer = QTimer(self, singleShot=True, interval=120)  # typing in a spin box: one render
        self._timer.timeout.connect(self._render_preview)
        for w in (self.width_spin, self.font_spin, self.mask_spin):
            w.valueChanged.connect(self._changed)
        for box in (self.show_class, self.show_conf, self.show_name, self.show_track):
            box.toggled.connect(self._changed)
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        self._fill_classes()
        self._format_changed()
        self._render_preview()

    # ------------------------------------------------------------------ values
    def style(self) -> Style:
        return Style(line_width=self.width_spin.value() or None, font_scale=round(self.font_spin.value(), 2),
                     mask_opacity=self.mask_spin.value() / 100, show_label=self.show_class.isChecked(),
                     show_confidence=self.show_conf.isChecked(), show_name=self.show_name.isChecked(),
                     show_track_id=self.show_track.isChecked(),
                     class_colors=tuple(sorted(self._colors.items())))

    def request(self) -> ExportRequest:
        return ExportRequest(self.target_path(), self.style(), self.quality_spin.value())

    def target_path(self) -> Path:
        path = Path(self.path_edit.text().strip())
        ext = self.format_combo.currentData()
        if path.suffix.lower() not in (ext, ".jpeg" if ext == ".jpg" else ext, ".tiff" if ext == ".tif" else ext):
            path = path.with_suffix(ext)
        return path

    def accept(self) -> None:
        path = self.target_path()
        if not path.name or not path.parent.is_dir():
            self.error.setText(f"{path.parent}: folder does not exist")
            return
        if path.exists() and not getattr(self, "_confirmed_overwrite", False):
            from PySide6.QtWidgets import QMessageBox

            answer = QMessageBox.question(self, "Replace file?", f"{path} exists. Replace it?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        save_style(self.settings, self.style())
        self.settings.setValue("export/format", self.format_combo.currentData())
        self.settings.setValue("export/quality", self.quality_spin.value())
        self.jobs.cancel("export-preview")
        super().accept()

    def reject(self) -> None:
        self.jobs.cancel("export-preview")
        super().reject()

    # ------------------------------------------------------------------ behaviour
    def _changed(self, *_):
        self._timer.start()

    def _format_changed(self, *_):
        ext = self.format_combo.currentData()
        self.quality_spin.setEnabled(ext in (".jpg", ".webp"))
        self.path_edit.setText(str(self.target_path()))

    def _browse(self) -> None:
        ext = self.format_combo.currentData()
        path, _ = QFileDialog.getSaveFileName(self, "Export annotated image", str(self.target_path()),
                                              f"{self.format_combo.currentText()} (*{ext})")
        if path:
            self.path_edit.setText(path)
            self._confirmed_overwrite = True  # the file dialog asked already

    def _fill_classes(self) -> None:
        from vision_studio.core.annotate import color_for

        self.classes.clear()
        style = self.style()
        seen = {}
        for det in self._detections:
            seen.setdefault(det.display_label, det)
        for label, det in sorted(seen.items()):
            item = QListWidgetItem(label, self.classes)
            pix = QPixmap(14, 14)
            pix.fill(QColor(*color_for(det, style)))
            item.setIcon(QIcon(pix))
        self.color_button.setEnabled(bool(seen))

    def _pick_color(self, item) -> None:
        if item is None:
            return
        label = item.text()
        det = next(d for d in self._detections if d.display_label == label)
        from vision_studio.core.annotate import color_for

        color = QColorDialog.getColor(QColor(*color_for(det, self.style())), self, f"Colour for {label}")
        if color.isValid():
            self.set_class_color(label, (color.red(), color.green(), color.blue()))

    def set_class_color(self, label: str, rgb: tuple[int, int, int]) -> None:
        self._colors[label] = tuple(int(c) for c in rgb)
        self._fill_classes()
        self._changed()

    def _reset_colors(self) -> None:
        self._colors.clear()
        self._fill_classes()
        self._changed()

    def _render_preview(self) -> None:
        if self._image is None:
            self.preview.setText("Nothing to preview")
            return
        self.jobs.start(preview_job, self._image, self._detections, self.style(), self._scale,
                        name="Export preview", key="export-preview", on_result=self._show_preview,
                        on_error=lambda exc: self.preview.setText(f"Preview failed: {exc}"))

    def _show_preview(self, rgb) -> None:
        from vision_studio.gui.qimage import rgb_to_pixmap

        self.preview_rgb = rgb  # kept for tests and for the pixmap's buffer
        self.preview.setPixmap(rgb_to_pixmap(rgb))


# ---------------------------------------------------------------------- what the window's actions call
def export_image_job(path: Path, pipeline, pixels, stages, analyzers, style: Style, quality: int) -> Path:
    """Worker job (no Qt; the model thread when analyzers are on): as the CLI writes it."""
    from vision_studio.core.analysis import AnalysisPlan
    from vision_studio.core.batch import export_image

    plan = stages.plan(pipeline, analyzers) if stages is not None else AnalysisPlan(pipeline)
    return export_image(plan, pixels, path, style, quality)


def shown_result(window):
    """(image, detections, scale) of what the canvas shows, for the preview."""
    image = window.browser.current
    last = window.pipeline.last
    if last is not None and window.pipeline.active():
        return last.output.image, list(last.output.detections), last.output.scale
    return image.pixels, [], 1.0


def run_export_dialog(window) -> None:
    """File > Export Annotated Image…"""
    image = window.browser.current
    if image is None:
        window.statusBar().showMessage("Nothing to export: open an image first", 6000)
        return
    ext = str(window.settings.value("export/format", ".png"))
    suggested = image.path.with_name(f"{image.path.stem}.annotated{ext}")
    dialog = ExportDialog(window.jobs, window.settings, *shown_result(window), suggested, window)
    if dialog.exec():
        req = dialog.request()
        window.export_to(req.path, req.style, req.quality)
