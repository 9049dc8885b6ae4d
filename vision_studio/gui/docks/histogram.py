"""Histogram panel: per-channel counts of the current result, drawn as filled curves."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QCheckBox, QDockWidget, QVBoxLayout, QWidget

_COLORS = {"R": QColor(230, 60, 60), "G": QColor(60, 190, 60), "B": QColor(60, 110, 240),
           "L": QColor(160, 160, 160)}


class HistogramView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(110)
        self._hist: dict = {}
        self.log_scale = False

    def set_histogram(self, hist: dict) -> None:
        self._hist = hist
        self.update()

    def channels(self) -> list[str]:
        return list(self._hist)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(4, 4, -4, -4)
        p.fillRect(self.rect(), self.palette().base())
        if not self._hist:
            p.setPen(self.palette().placeholderText().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No image")
            return
        import numpy as np

        data = {k: (np.log1p(v) if self.log_scale else v.astype(float)) for k, v in self._hist.items()}
        peak = max(float(v.max()) for v in data.values()) or 1.0
        w, h = rect.width(), rect.height()
        for name, values in data.items():
            path = QPainterPath(QPointF(rect.left(), rect.bottom()))
            for i, v in enumerate(values):
                path.lineTo(rect.left() + i * w / 255.0, rect.bottom() - v / peak * h)
            path.lineTo(rect.right(), rect.bottom())
            color = QColor(_COLORS.get(name, QColor(128, 128, 128)))
            p.setPen(QPen(color, 1))
            color.setAlpha(70)
            p.setBrush(color)
            p.drawPath(path)


class HistogramDock(QDockWidget):
    def __init__(self, parent=None):
        super().__init__("Histogram", parent)
        self.setObjectName("HistogramDock")
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.view = HistogramView(body)
        self.log_box = QCheckBox("Logarithmic", body)
        self.log_box.toggled.connect(self._on_log)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.log_box)
        self.setWidget(body)

    def _on_log(self, on: bool) -> None:
        self.view.log_scale = on
        self.view.update()
