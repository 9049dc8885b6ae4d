"""Resize, rotate, flip, crop. Each op wraps one OpenCV call.

Angles are degrees counter-clockwise (OpenCV's and numpy's convention).
"""
from __future__ import annotations

import math

import numpy as np

from vision_studio.core.ops.spec import Param, ParamError, cv2, op, to_gray

_INTERPOLATION = {"nearest": "INTER_NEAREST", "linear": "INTER_LINEAR", "cubic": "INTER_CUBIC",
                  "area": "INTER_AREA", "lanczos": "INTER_LANCZOS4"}
_ROTATE = {"90": "ROTATE_90_COUNTERCLOCKWISE", "180": "ROTATE_180", "270": "ROTATE_90_CLOCKWISE"}
_FLIP = {"horizontal": 1, "vertical": 0, "both": -1}


def resize_size(width: int, height: int, mode: str, scale: float, target_w: int, target_h: int,
                keep_aspect: bool) -> tuple[int, int]:
    """The output (width, height) of `resize` for an input of width x height."""
    if mode == "scale":
        sx = sy = scale
    elif keep_aspect:
        sx = sy = min(target_w / width, target_h / height)
    else:
        return target_w, target_h
    return max(1, round(width * sx)), max(1, round(height * sy))


@op("resize", "Resize", "Geometry",
    Param("mode", "choice", "scale", choices=("scale", "size"),
          help="scale: by a factor; size: to width x height"),
    Param("scale", "float", 0.5, min=0.01, max=10, step=0.05, help="factor, with mode scale"),
    Param("width", "int", 640, min=1, max=30000, pixels=True, help="target width, with mode size"),
    Param("height", "int", 480, min=1, max=30000, pixels=True, help="target height, with mode size"),
    Param("keep_aspect", "bool", True,
          help="with mode size: fit inside width x height, keeping the aspect ratio"),
    Param("interpolation", "choice", "area", choices=tuple(_INTERPOLATION),
          help="area is best for shrinking; cubic or lanczos for enlarging"))
def resize(image: np.ndarray, mode: str, scale: float, width: int, height: int, keep_aspect: bool,
           interpolation: str) -> np.ndarray:
    """Change the image size (cv2.resize)."""
    h, w = image.shape[:2]
    size = resize_size(w, h, mode, scale, width, height, keep_aspect)
    return cv2.resize(image, size, interpolation=getattr(cv2, _INTERPOLATION[interpolation]))


def rotated_canvas(width: int, height: int, angle: float) -> tuple[int, int]:
    """Size of the canvas that holds a width x height image rotated by `angle` degrees."""
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    return max(1, round(width * c + height * s)), max(1, round(width * s + height * c))


def rotation_matrix(width: int, height: int, angle: float, expand: bool) -> tuple[np.ndarray, tuple[int, int]]:
    """The 2 x 3 affine matrix of `rotate` (about the image centre) and the output size."""
    out_w, out_h = rotated_canvas(width, height, angle) if expand else (width, height)
    m = cv2.getRotationMatrix2D(((width - 1) / 2.0, (height - 1) / 2.0), angle, 1.0)
    m[0, 2] += (out_w - width) / 2.0
    m[1, 2] += (out_h - height) / 2.0
    return m, (out_w, out_h)


@op("rotate", "Rotate", "Geometry",
    Param("rotation", "choice", "90", choices=(*_ROTATE, "free"),
          help="90, 180, 270: exact, lossless quarter turns; free: any angle (interpolated)"),
    Param("angle", "float", 0.0, min=-360, max=360, step=0.5,
          help="with rotation free: degrees counter-clockwise"),
    Param("expand", "bool", True, help="with rotation free: grow the canvas so no corner is cut off"),
    Param("border", "color", (0, 0, 0), help="with rotation free: colour of the uncovered corners"))
def rotate(image: np.ndarray, rotation: str, angle: float, expand: bool, border: tuple) -> np.ndarray:
    """Rotate counter-clockwise (cv2.rotate; cv2.warpAffine for a free angle)."""
    if rotation != "free":
        return cv2.rotate(image, getattr(cv2, _ROTATE[rotation]))  # == np.rot90(image, k)
    h, w = image.shape[:2]
    m, size = rotation_matrix(w, h, angle, expand)
    fill = tuple(float(v) for v in border) if image.ndim == 3 else \
        float(to_gray(np.array([[border]], np.uint8))[0, 0])
    return cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=fill)


@op("flip", "Flip", "Geometry",
    Param("direction", "choice", "horizontal", choices=tuple(_FLIP),
          help="horizontal: mirror left-right; vertical: upside down; both: 180°"))
def flip(image: np.ndarray, direction: str) -> np.ndarray:
    """Mirror the image (cv2.flip)."""
    return cv2.flip(image, _FLIP[direction])


def clip_rect(rect: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """[x, y, w, h] clipped to a width x height image, as (x1, y1, x2, y2); ParamError('rect') if empty."""
    x, y, w, h = rect
    if w == 0 or h == 0:
        raise ParamError("rect", f"width and height must be at least 1, got {list(rect)}")
    x1, y1, x2, y2 = min(x, width), min(y, height), min(x + w, width), min(y + h, height)
    if x2 <= x1 or y2 <= y1:
        raise ParamError("rect", f"{list(rect)} lies outside the {width} x {height} image")
    return x1, y1, x2, y2


@op("crop", "Crop", "Geometry",
    Param("rect", "rect", (0, 0, 256, 256), pixels=True,
          help="[x, y, width, height] of the kept region, clipped to the image"))
def crop(image: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """Keep a rectangle of the image (a copy of the numpy slice)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = clip_rect(rect, w, h)
    return image[y1:y2, x1:x2].copy()
