"""The only place numpy arrays become QImage/QPixmap (after pyqtgraph's ndarray_to_qimage)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QImage, QPixmap

if TYPE_CHECKING:
    import numpy as np


def _view(rgb: np.ndarray) -> QImage:
    """A QImage pointing at `rgb`'s memory (no copy): valid only while `rgb` is alive.
    The strides are passed explicitly: rows need not be 4-byte aligned."""
    import numpy as np

    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected RGB uint8 H x W x 3, got {rgb.dtype} {rgb.shape}")
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888)


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """RGB uint8 H x W x 3 -> QImage that owns a copy (safe after `rgb` is freed, can cross threads)."""
    return _view(rgb).copy()


def rgb_to_pixmap(rgb: np.ndarray) -> QPixmap:
    """GUI thread only (QPixmap lives in the windowing system). fromImage converts the
    pixels into the pixmap's own memory, so the view needs no copy of its own first
    (one 1 MB copy less per video frame)."""
    import numpy as np

    rgb = np.ascontiguousarray(rgb)  # kept alive by this frame until fromImage has returned
    return QPixmap.fromImage(_view(rgb))


def qimage_to_rgb(image: QImage) -> np.ndarray:
    import numpy as np

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = image.height(), image.width(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()
