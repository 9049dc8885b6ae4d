"""Colour conversions and colour masks. Each op wraps one OpenCV call.

HSV is OpenCV's 8-bit HSV: hue 0..179 (degrees / 2), saturation and value 0..255.
"""
from __future__ import annotations

import numpy as np

from vision_studio.core.ops.spec import Param, cv2, op, to_gray, to_rgb

_SPACES = {"rgb": None, "hsv": "COLOR_RGB2HSV", "lab": "COLOR_RGB2Lab"}


@op("grayscale", "Grayscale", "Color")
def grayscale(image: np.ndarray) -> np.ndarray:
    """Luma: 0.299 R + 0.587 G + 0.114 B (gray input: unchanged)."""
    return to_gray(image)


@op("channel_extract", "Extract channel", "Color",
    Param("space", "choice", "rgb", choices=tuple(_SPACES),
          help="colour space: rgb (R, G, B), hsv (H 0..179, S, V) or lab (L, a, b; 8-bit)"),
    Param("channel", "int", 0, min=0, max=2, help="channel index in that space: 0, 1 or 2"))
def channel_extract(image: np.ndarray, space: str, channel: int) -> np.ndarray:
    """One channel of RGB, HSV or Lab as a gray image."""
    rgb = to_rgb(image)
    converted = rgb if _SPACES[space] is None else cv2.cvtColor(rgb, getattr(cv2, _SPACES[space]))
    return cv2.extractChannel(converted, channel)


@op("invert", "Invert", "Color")
def invert(image: np.ndarray) -> np.ndarray:
    """255 - value (cv2.bitwise_not)."""
    return cv2.bitwise_not(image)


def _hsv_param(name: str, default: int, top: int, what: str) -> Param:
    return Param(name, "int", default, min=0, max=top, help=what)


@op("hsv_range_mask", "HSV range mask", "Color",
    _hsv_param("h_low", 0, 179, "lowest hue (0..179); above h_high wraps around red"),
    _hsv_param("h_high", 179, 179, "highest hue (0..179)"),
    _hsv_param("s_low", 50, 255, "lowest saturation"),
    _hsv_param("s_high", 255, 255, "highest saturation"),
    _hsv_param("v_low", 50, 255, "lowest value (brightness)"),
    _hsv_param("v_high", 255, 255, "highest value (brightness)"),
    Param("output", "choice", "mask", choices=("mask", "masked"),
          help="mask: white where in range; masked: the image, black outside the range"))
def hsv_range_mask(image: np.ndarray, h_low: int, h_high: int, s_low: int, s_high: int,
                   v_low: int, v_high: int, output: str) -> np.ndarray:
    """Pixels whose hue, saturation and value all fall in range (cv2.inRange on HSV)."""
    hsv = cv2.cvtColor(to_rgb(image), cv2.COLOR_RGB2HSV)
    if h_low <= h_high:
        mask = cv2.inRange(hsv, (h_low, s_low, v_low), (h_high, s_high, v_high))
    else:  # a hue range across 0, e.g. reds from 170 to 10
        mask = cv2.bitwise_or(cv2.inRange(hsv, (h_low, s_low, v_low), (179, s_high, v_high)),
                              cv2.inRange(hsv, (0, s_low, v_low), (h_high, s_high, v_high)))
    if output == "mask":
        return mask
    return cv2.bitwise_and(image, image, mask=mask)
