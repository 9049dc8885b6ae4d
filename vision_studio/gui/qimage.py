"""The only place numpy arrays become QImage/QPixmap (after pyqtgraph's ndarray_to_qimage)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QImage, QPixmap

if TYPE_CHECKING:
    import numpy as np


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """RGB uint8 H x W x 3 -> QImage that owns a copy (safe after `rgb` is freed).

    QImage(buffer, ...) does not copy: it points at numpy's memory. We pass the
    strides explicitly (rows need not be 4-byte aligned) and then `.copy()` so
    the QImage owns its pixels and can outlive the array or cross threads.
    """
    import numpy as np

    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected RGB uint8 H x W x 3, got {rgb.dtype} {rgb.shape}")
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888)
    return image.copy()


def rgb_to_pixmap(rgb: np.ndarray) -> QPixmap:
    """GUI thread only (QPixmap lives in the windowing system)."""
    return QPixmap.fromImage(rgb_to_qimage(rgb))


def qimage_to_rgb(image: QImage) -> np.ndarray:
    import numpy as np

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = image.height(), image.width(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()
