"""Thresholding: gray in (colour is converted first), binary or clipped gray out.
Each op wraps one OpenCV call, adding nothing but validation."""
from __future__ import annotations

import numpy as np

from vision_studio.core.ops.spec import Param, cv2, op, to_gray

# Choice value -> OpenCV constant name (looked up at call time: cv2 is imported lazily).
_MODES = {"binary": "THRESH_BINARY", "binary_inv": "THRESH_BINARY_INV", "truncate": "THRESH_TRUNC",
          "to_zero": "THRESH_TOZERO", "to_zero_inv": "THRESH_TOZERO_INV"}
_INVERT = Param("invert", "bool", False, help="objects dark on a light background: white where below")


def _binary_type(invert: bool) -> int:
    return cv2.THRESH_BINARY_INV if invert else cv2.THRESH_BINARY


@op("threshold", "Threshold", "Threshold",
    Param("value", "int", 127, min=0, max=255, help="pixels above this value pass"),
    Param("mode", "choice", "binary", choices=tuple(_MODES),
          help="binary: max value above, 0 else; binary_inv: the reverse; truncate: clip to value; "
               "to_zero: keep above, 0 else; to_zero_inv: keep at or below, 0 else"),
    Param("max_value", "int", 255, min=0, max=255, help="value written by the binary modes"))
def threshold(image: np.ndarray, value: int, mode: str, max_value: int) -> np.ndarray:
    """Fixed threshold (cv2.threshold)."""
    return cv2.threshold(to_gray(image), value, max_value, getattr(cv2, _MODES[mode]))[1]


@op("otsu_threshold", "Threshold (Otsu)", "Threshold", _INVERT)
def otsu_threshold(image: np.ndarray, invert: bool) -> np.ndarray:
    """Automatic threshold that best separates two classes of pixel values (Otsu)."""
    return cv2.threshold(to_gray(image), 0, 255, _binary_type(invert) | cv2.THRESH_OTSU)[1]


@op("triangle_threshold", "Threshold (triangle)", "Threshold", _INVERT)
def triangle_threshold(image: np.ndarray, invert: bool) -> np.ndarray:
    """Automatic threshold for one dominant peak (triangle method): small bright objects."""
    return cv2.threshold(to_gray(image), 0, 255, _binary_type(invert) | cv2.THRESH_TRIANGLE)[1]


@op("adaptive_threshold", "Adaptive threshold", "Threshold",
    Param("method", "choice", "gaussian", choices=("mean", "gaussian"),
          help="local threshold: mean or Gaussian-weighted mean of the block, minus c"),
    Param("block_size", "int", 11, min=3, max=255, step=2, odd=True, pixels=True,
          help="side of the neighbourhood (odd)"),
    Param("c", "float", 2.0, min=-100, max=100, step=0.5, label="C",
          help="subtracted from the local mean: higher keeps fewer pixels"),
    _INVERT)
def adaptive_threshold(image: np.ndarray, method: str, block_size: int, c: float,
                       invert: bool) -> np.ndarray:
    """Threshold against the local mean: for uneven lighting (cv2.adaptiveThreshold)."""
    flag = cv2.ADAPTIVE_THRESH_MEAN_C if method == "mean" else cv2.ADAPTIVE_THRESH_GAUSSIAN_C
    return cv2.adaptiveThreshold(to_gray(image), 255, flag, _binary_type(invert), block_size, c)
