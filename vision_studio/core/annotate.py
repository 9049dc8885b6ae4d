"""The one render function: image + results + style -> annotated image.

Exports and the CLI draw with `render`; the canvas draws Qt items from the same
`Detection`s with the same `Style` and `color_for`, so on-screen and exported
overlays agree. Arrays are RGB uint8 (the analysis format), never BGR.

Shapes are drawn with OpenCV (fast, anti-aliased); label text with Pillow and
a TrueType font, because OpenCV's Hershey fonts cannot draw names like "José"
or "Zoë". The font is matplotlib's DejaVu Sans when present (it ships with
ultralytics' dependencies), else Pillow's built-in scalable font: nothing is
downloaded.
"""
from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vision_studio.core.results import Detection

# Ultralytics' palette (hex), so class colours look familiar to YOLO users.
PALETTE_HEX = (
    "042AFF 0BDBEB F3F3F3 00DFB7 111F68 FF6FDD FF444F CCED00 00F344 BD00FF "
    "00B4FF DD00BA 00FFFF 26C000 01FFB3 7D24FF 7B0068 FF1B6C FC6D2F A2FF0B"
).split()
PALETTE = tuple(tuple(int(h[i:i + 2], 16) for i in (0, 2, 4)) for h in PALETTE_HEX)
FACE_KNOWN = (38, 192, 0)
FACE_UNKNOWN = (255, 68, 79)

# COCO-style 17-keypoint skeleton (1-based pairs, as ultralytics draws it).
SKELETON = ((16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7),
            (6, 8), (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7))


@dataclass(frozen=True)
class Style:
    line_width: int | None = None  # None: scaled to the image size
    font_scale: float = 1.0
    show_label: bool = True
    show_confidence: bool = True
    show_track_id: bool = True
    show_landmarks: bool = True
    mask_opacity: float = 0.4
    keypoint_radius: int | None = None
    class_colors: tuple[tuple[str, tuple[int, int, int]], ...] = ()  # overrides per label
    show_name: bool = True  # a recognized person's name (faces); show_label is the class

    def to_dict(self) -> dict:
        """JSON-ready (the export dialog keeps the user's style in the settings)."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["class_colors"] = [[label, list(rgb)] for label, rgb in self.class_colors]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Style:
        """Unknown keys are ignored and bad values fall back to the default, so an old or
        hand-edited settings entry can never stop an export."""
        default = cls()
        kwargs = {}
        for name in cls.__dataclass_fields__:
            if name not in d:
                continue
            value, ref = d[name], getattr(default, name)
            try:
                if name == "class_colors":
                    value = tuple((str(label), tuple(max(0, min(255, int(c))) for c in rgb[:3]))
                                  for label, rgb in value if len(rgb) >= 3)
                elif name in ("line_width", "keypoint_radius"):
                    value = None if value in (None, 0, "") else max(1, int(value))
                elif isinstance(ref, bool):
                    value = bool(value)
                elif isinstance(ref, float):
                    value = float(value)
            except (TypeError, ValueError):
                continue
            kwargs[name] = value
        if "mask_opacity" in kwargs:
            kwargs["mask_opacity"] = max(0.0, min(1.0, kwargs["mask_opacity"]))
        if "font_scale" in kwargs:
            kwargs["font_scale"] = max(0.1, min(10.0, kwargs["font_scale"]))
        return cls(**kwargs)

    def width_for(self, height: int, width: int) -> int:
        if self.line_width:
            return max(1, int(self.line_width))
        return max(1, round((height + width) / 2 * 0.003))


def color_for(det: Detection, style: Style = Style()) -> tuple[int, int, int]:
    for label, rgb in style.class_colors:  # a person's name or a class name
        if label == det.display_label or label == det.label:
            return rgb
    if det.kind == "face":
        return FACE_UNKNOWN if det.display_label.lower().startswith("unknown") else FACE_KNOWN
    key = det.class_id if det.class_id is not None else _stable_hash(det.label)
    return PALETTE[key % len(PALETTE)]


def label_text(det: Detection, style: Style = Style()) -> str:
    if det.kind == "region" and "id" in det.attributes:
        return f"#{det.attributes['id']}" if style.show_label else ""  # measured objects: just the id
    if det.kind == "keypoint" and det.keypoints is not None:
        return f"{det.label}: {len(det.keypoints)} keypoints" if style.show_label else ""
    parts = []
    if style.show_track_id and det.track_id is not None:
        parts.append(f"#{det.track_id}")
    if det.identity and style.show_name:
        parts.append(det.identity)
    elif style.show_label:
        parts.append(det.label if det.identity else det.display_label)
    unknown_face = det.kind == "face" and det.display_label.lower().startswith("unknown")
    if style.show_confidence and det.confidence is not None and not unknown_face:
        parts.append(f"{det.confidence:.2f}")  # an "Unknown" has no confidence worth showing
    if det.kind == "face" and det.distance is not None and style.show_confidence:
        parts.append(f"d={det.distance:.2f}")
    return " ".join(parts)


def render(image: np.ndarray, results: Iterable[Detection], style: Style = Style()) -> np.ndarray:
    """Return a new RGB uint8 image with `results` drawn on it; `image` is not modified."""
    import cv2

    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"render expects RGB uint8 H x W x 3, got {image.dtype} {image.shape}")
    out = np.ascontiguousarray(image.copy())
    dets = list(results)
    h, w = out.shape[:2]
    lw = style.width_for(h, w)

    for det in dets:  # masks first, so boxes and text stay crisp on top
        if det.mask is not None and det.mask.shape == (h, w) and style.mask_opacity > 0:
            color = np.array(color_for(det, style), np.float32)
            m = det.mask
            out[m] = (out[m] * (1 - style.mask_opacity) + color * style.mask_opacity).astype(np.uint8)

    labels: list[tuple[str, tuple[int, int], tuple[int, int, int]]] = []
    for det in dets:
        color = color_for(det, style)
        if det.box is not None:
            x1, y1, x2, y2 = (int(round(v)) for v in det.box)
            cv2.rectangle(out, (x1, y1), (x2, y2), color, lw, cv2.LINE_AA)
        if det.keypoints is not None and len(det.keypoints):
            radius = style.keypoint_radius or max(2, lw + 1)
            _draw_keypoints(out, det.keypoints, color, radius, lw, pose=det.kind in ("pose", "object"))
        if det.landmarks and style.show_landmarks:
            r = max(1, lw)
            for pts in det.landmarks.values():
                for x, y in pts:
                    cv2.circle(out, (int(round(x)), int(round(y))), r, color, -1, cv2.LINE_AA)
        text = label_text(det, style)
        if text:
            anchor = (int(det.box[0]), int(det.box[1])) if det.box is not None else (lw, lw)
            labels.append((text, anchor, color))
    if labels:
        out = _draw_labels(out, labels, lw, style.font_scale)
    return out


def _draw_keypoints(out: np.ndarray, kp: np.ndarray, color, radius: int, lw: int, pose: bool) -> None:
    """Pose keypoints: the third column is a visibility confidence (drawn at >= 0.5) and 17
    points get the COCO skeleton. Feature keypoints (ORB/SIFT): the third column is a
    detector response, so every point is drawn, as an outline."""
    import cv2

    if not pose:
        for p in kp:
            cv2.circle(out, (int(p[0]), int(p[1])), radius, color, max(1, lw // 2), cv2.LINE_AA)
        return
    visible = [(len(kp[0]) < 3 or p[2] >= 0.5) for p in kp]
    if len(kp) == 17:
        for a, b in SKELETON:
            if visible[a - 1] and visible[b - 1]:
                pa, pb = kp[a - 1], kp[b - 1]
                cv2.line(out, (int(pa[0]), int(pa[1])), (int(pb[0]), int(pb[1])), color, lw, cv2.LINE_AA)
    for p, vis in zip(kp, visible):
        if vis:
            cv2.circle(out, (int(p[0]), int(p[1])), radius, color, -1, cv2.LINE_AA)


def _draw_labels(out: np.ndarray, labels: Sequence, lw: int, font_scale: float) -> np.ndarray:
    h, w = out.shape[:2]
    size = max(10, int(round(max(lw * 5, (h + w) / 2 * 0.018) * font_scale)))
    font = _font(size)
    pil = Image.fromarray(out)
    draw = ImageDraw.Draw(pil)
    for text, (x, y), color in labels:
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tw, th = right - left, bottom - top
        pad = max(1, size // 6)
        box_h = th + 2 * pad
        # Above the box when there is room, else just inside it.
        y0 = y - box_h if y - box_h >= 0 else y
        x0 = min(max(0, x), max(0, w - tw - 2 * pad))
        draw.rectangle((x0, y0, x0 + tw + 2 * pad, y0 + box_h), fill=color)
        draw.text((x0 + pad - left, y0 + pad - top), text, font=font, fill=_text_color(color))
    return np.asarray(pil).copy()


def _text_color(rgb) -> tuple[int, int, int]:
    r, g, b = rgb
    return (0, 0, 0) if (0.299 * r + 0.587 * g + 0.114 * b) > 150 else (255, 255, 255)


@functools.lru_cache(maxsize=16)
def _font(size: int):
    path = font_path()
    if path is not None:
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


@functools.lru_cache(maxsize=1)
def font_path() -> Path | None:
    spec = importlib.util.find_spec("matplotlib")
    for base in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(base) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if candidate.is_file():
            return candidate
    for candidate in (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),):
        if candidate.is_file():
            return candidate
    return None


def _stable_hash(text: str) -> int:
    # Python's hash() is salted per process; colours must be stable across runs.
    return sum((i + 1) * ord(c) for i, c in enumerate(text))
