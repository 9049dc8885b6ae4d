"""Morphology: one op per operation (so each is its own entry in the Add-step list),
sharing one structuring-element spec. Works on gray and, per channel, on colour.
Each op wraps one OpenCV call (cv2.erode, cv2.dilate, cv2.morphologyEx)."""
from __future__ import annotations

import numpy as np

from vision_studio.core.ops.spec import Param, cv2, op

_SHAPES = {"rect": "MORPH_RECT", "ellipse": "MORPH_ELLIPSE", "cross": "MORPH_CROSS"}
_PARAMS = (
    Param("shape", "choice", "rect", choices=tuple(_SHAPES), help="structuring element shape"),
    Param("ksize", "int", 3, min=1, max=99, step=2, odd=True, pixels=True,
          help="structuring element size (odd)"),
    Param("iterations", "int", 1, min=1, max=50, help="times the operation is applied"),
)


def kernel(shape: str, ksize: int) -> np.ndarray:
    return cv2.getStructuringElement(getattr(cv2, _SHAPES[shape]), (ksize, ksize))


def _morph(image: np.ndarray, operation: str, shape: str, ksize: int, iterations: int) -> np.ndarray:
    return cv2.morphologyEx(image, getattr(cv2, operation), kernel(shape, ksize), iterations=iterations)


@op("erode", "Erode", "Morphology", *_PARAMS)
def erode(image: np.ndarray, shape: str, ksize: int, iterations: int) -> np.ndarray:
    """Minimum over the element: shrinks bright regions."""
    return cv2.erode(image, kernel(shape, ksize), iterations=iterations)


@op("dilate", "Dilate", "Morphology", *_PARAMS)
def dilate(image: np.ndarray, shape: str, ksize: int, iterations: int) -> np.ndarray:
    """Maximum over the element: grows bright regions."""
    return cv2.dilate(image, kernel(shape, ksize), iterations=iterations)


@op("open", "Open", "Morphology", *_PARAMS)
def open_(image: np.ndarray, shape: str, ksize: int, iterations: int) -> np.ndarray:
    """Erode then dilate: removes bright specks smaller than the element."""
    return _morph(image, "MORPH_OPEN", shape, ksize, iterations)


@op("close", "Close", "Morphology", *_PARAMS)
def close(image: np.ndarray, shape: str, ksize: int, iterations: int) -> np.ndarray:
    """Dilate then erode: fills dark holes and gaps smaller than the element."""
    return _morph(image, "MORPH_CLOSE", shape, ksize, iterations)


@op("morph_gradient", "Morphological gradient", "Morphology", *_PARAMS)
def morph_gradient(image: np.ndarray, shape: str, ksize: int, iterations: int) -> np.ndarray:
    """Dilation minus erosion: object outlines."""
    return _morph(image, "MORPH_GRADIENT", shape, ksize, iterations)


@op("top_hat", "Top hat", "Morphology", *_PARAMS)
def top_hat(image: np.ndarray, shape: str, ksize: int, iterations: int) -> np.ndarray:
    """Image minus its opening: bright details smaller than the element (flattens background)."""
    return _morph(image, "MORPH_TOPHAT", shape, ksize, iterations)


@op("black_hat", "Black hat", "Morphology", *_PARAMS)
def black_hat(image: np.ndarray, shape: str, ksize: int, iterations: int) -> np.ndarray:
    """Closing minus image: dark details smaller than the element."""
    return _morph(image, "MORPH_BLACKHAT", shape, ksize, iterations)
