"""Edge detection on gray (colour is converted first). Each op wraps one OpenCV call.

Derivatives come back as uint8 through cv2.convertScaleAbs: |scale * d| clipped to 0..255
(not normalized, so one setting gives comparable output on every image). The magnitude
sqrt(dx^2 + dy^2) is computed with cv2.magnitude on float32 derivatives, then clipped alike.
"""
from __future__ import annotations

import numpy as np

from vision_studio.core.ops.spec import Param, cv2, op, to_gray

_DIRECTION = Param("direction", "choice", "magnitude", choices=("x", "y", "magnitude"),
                   help="x: vertical edges; y: horizontal edges; magnitude: both, sqrt(dx² + dy²)")
_SCALE = Param("scale", "float", 1.0, min=0.01, max=10, step=0.05,
               help="gain applied before clipping to 0..255")


def median_u8(gray: np.ndarray) -> float:
    """np.median of a uint8 image, from its histogram (no sort)."""
    cum = np.cumsum(cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel().astype(np.int64))
    n = int(cum[-1])
    lo = int(np.searchsorted(cum, (n - 1) // 2, side="right"))
    hi = int(np.searchsorted(cum, n // 2, side="right"))
    return (lo + hi) / 2.0


def auto_canny_thresholds(gray: np.ndarray, sigma: float) -> tuple[int, int]:
    """The usual 'auto Canny' thresholds: median * (1 -/+ sigma), within 0..255."""
    m = median_u8(gray)
    return int(max(0.0, (1.0 - sigma) * m)), int(min(255.0, (1.0 + sigma) * m))


@op("canny", "Canny edges", "Edges",
    Param("low", "float", 100.0, min=0, max=1000, step=1, help="weaker edges pass only next to strong ones"),
    Param("high", "float", 200.0, min=0, max=1000, step=1, help="gradient above this is an edge"),
    Param("aperture", "int", 3, min=3, max=7, step=2, odd=True, help="Sobel aperture: 3, 5 or 7"),
    Param("l2gradient", "bool", False, label="L2 gradient",
          help="exact gradient magnitude sqrt(dx² + dy²) instead of |dx| + |dy|"),
    Param("auto", "bool", False, help="ignore low/high: derive them from the median of the image"),
    Param("sigma", "float", 0.33, min=0, max=1, step=0.01,
          help="with auto: thresholds are median * (1 - sigma) and median * (1 + sigma)"))
def canny(image: np.ndarray, low: float, high: float, aperture: int, l2gradient: bool,
          auto: bool, sigma: float) -> np.ndarray:
    """Thin binary edges (cv2.Canny)."""
    gray = to_gray(image)
    if auto:
        low, high = auto_canny_thresholds(gray, sigma)
    return cv2.Canny(gray, low, high, apertureSize=aperture, L2gradient=l2gradient)


def _derivative(gray: np.ndarray, direction: str, scale: float, derive) -> np.ndarray:
    if direction == "magnitude":
        mag = cv2.magnitude(derive(gray, cv2.CV_32F, 1, 0), derive(gray, cv2.CV_32F, 0, 1))
        return cv2.convertScaleAbs(mag, alpha=scale)
    dx, dy = (1, 0) if direction == "x" else (0, 1)
    return cv2.convertScaleAbs(derive(gray, cv2.CV_16S, dx, dy), alpha=scale)


@op("sobel", "Sobel gradient", "Edges",
    _DIRECTION,
    Param("ksize", "int", 3, min=1, max=7, step=2, odd=True, help="aperture: 1, 3, 5 or 7"),
    _SCALE)
def sobel(image: np.ndarray, direction: str, ksize: int, scale: float) -> np.ndarray:
    """First derivative (cv2.Sobel); |d| as uint8."""
    return _derivative(to_gray(image), direction, scale,
                       lambda g, depth, dx, dy: cv2.Sobel(g, depth, dx, dy, ksize=ksize))


@op("scharr", "Scharr gradient", "Edges", _DIRECTION, _SCALE)
def scharr(image: np.ndarray, direction: str, scale: float) -> np.ndarray:
    """First derivative with the more rotation-exact 3 x 3 Scharr kernel (cv2.Scharr)."""
    return _derivative(to_gray(image), direction, scale, cv2.Scharr)


@op("laplacian", "Laplacian", "Edges",
    Param("ksize", "int", 3, min=1, max=31, step=2, odd=True, help="aperture (odd)"),
    _SCALE)
def laplacian(image: np.ndarray, ksize: int, scale: float) -> np.ndarray:
    """Second derivative (cv2.Laplacian); |d²| as uint8."""
    return cv2.convertScaleAbs(cv2.Laplacian(to_gray(image), cv2.CV_16S, ksize=ksize), alpha=scale)
