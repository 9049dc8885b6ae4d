"""Making faces unrecognizable: a pure function over pixels and face Detections."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from vision_studio.core.faces.matching import UNKNOWN
from vision_studio.core.results import Detection

MODES = ("blur", "pixelate")
PIXELATE_BLOCKS = 10  # blocks across the face: nobody (and no encoder) recognizes 10 x 12 blocks


def is_unknown(face: Detection) -> bool:
    """No name from the gallery: identity None, "Unknown" or a cluster label "Unknown N"."""
    identity = face.identity
    return identity is None or identity == UNKNOWN or identity.startswith(UNKNOWN + " ")


def anonymize(pixels: np.ndarray, detections: Sequence[Detection], mode: str = "blur",
              unknown_only: bool = False, expand: float = 0.1) -> np.ndarray:
    """A new array with every face box (grown by `expand` of its size on each side) hidden.

    mode "blur": a Gaussian blur whose kernel is about half the box size (sigma a
    quarter), applied twice, so only the face's average colours remain; "pixelate":
    about PIXELATE_BLOCKS blocks across the box. unknown_only keeps faces that have a
    name from the gallery (see is_unknown). Pixels outside the boxes are untouched;
    shape and dtype are those of `pixels` (H x W or H x W x C, uint8/uint16/float32).
    Detections that are not faces are ignored.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if expand < 0:
        raise ValueError("expand must be >= 0")
    src = np.asarray(pixels)
    if src.ndim not in (2, 3) or src.size == 0:
        raise ValueError(f"expected a non-empty H x W or H x W x C image, got shape {src.shape}")
    out = np.array(src, copy=True, order="C")
    h, w = out.shape[:2]
    for face in detections:
        if face.kind != "face" or face.box is None or (unknown_only and not is_unknown(face)):
            continue
        x1, y1, x2, y2 = face.box
        gx, gy = (x2 - x1) * expand, (y2 - y1) * expand
        left, top = max(0, math.floor(x1 - gx)), max(0, math.floor(y1 - gy))
        right, bottom = min(w, math.ceil(x2 + gx)), min(h, math.ceil(y2 + gy))
        if right <= left or bottom <= top:
            continue
        roi = out[top:bottom, left:right]
        out[top:bottom, left:right] = _hide(roi, mode)
    return out


def _hide(roi: np.ndarray, mode: str) -> np.ndarray:
    import cv2

    h, w = roi.shape[:2]
    work = roi if roi.dtype in (np.uint8, np.uint16, np.float32) else roi.astype(np.float32)
    if mode == "pixelate":
        bw = max(1, min(w, PIXELATE_BLOCKS))
        bh = max(1, min(h, round(PIXELATE_BLOCKS * h / max(w, 1))))
        small = cv2.resize(work, (bw, bh), interpolation=cv2.INTER_AREA)
        hidden = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    else:
        k = max(3, (max(h, w) // 2) | 1)  # odd, about half the face
        sigma = max(1.0, max(h, w) / 4.0)
        hidden = cv2.GaussianBlur(work, (k, k), sigma, borderType=cv2.BORDER_REPLICATE)
        hidden = cv2.GaussianBlur(hidden, (k, k), sigma, borderType=cv2.BORDER_REPLICATE)
    hidden = hidden.reshape(roi.shape)
    return hidden.astype(roi.dtype, copy=False)
