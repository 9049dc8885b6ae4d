"""One result value object for everything the analyzers find.

A `Detection` is one thing found in one image: an object box, a face, a pose,
a classification, a measured region. All coordinates are in ORIGINAL image
pixels (x1, y1, x2, y2), whatever size the model saw; adapters for YOLO and
face_recognition convert into this shape and nothing else knows theirs.

JSON: `ImageResults.to_dict()` is one entry of `results.json`
(`{"source", "width", "height", "results": [...]}`); fields that are None are
left out, masks are stored as COCO-style uncompressed run-length encoding.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

import numpy as np

KINDS = ("object", "face", "pose", "classification", "region", "keypoint")
SCHEMA_VERSION = 1


@dataclass(frozen=True, eq=False)
class Detection:
    kind: str
    label: str
    confidence: float | None = None
    box: tuple[float, float, float, float] | None = None
    class_id: int | None = None
    mask: np.ndarray | None = field(default=None, repr=False)  # bool H x W, original size
    keypoints: np.ndarray | None = field(default=None, repr=False)  # N x 3: x, y, conf
    track_id: int | None = None
    identity: str | None = None  # a recognized person's name (faces)
    distance: float | None = None  # face-match distance
    landmarks: dict[str, list[tuple[float, float]]] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown result kind {self.kind!r} (expected one of {KINDS})")
        if self.box is not None:
            x1, y1, x2, y2 = (float(v) for v in self.box)
            object.__setattr__(self, "box", (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)))
        if self.mask is not None:
            object.__setattr__(self, "mask", np.asarray(self.mask, dtype=bool))
        if self.keypoints is not None:
            kp = np.asarray(self.keypoints, dtype=np.float32)
            if kp.ndim != 2 or kp.shape[1] not in (2, 3):
                raise ValueError(f"keypoints must be N x 2 or N x 3, got {kp.shape}")
            object.__setattr__(self, "keypoints", kp)

    @property
    def display_label(self) -> str:
        return self.identity or self.label

    @property
    def area(self) -> float:
        if self.box is None:
            return 0.0
        x1, y1, x2, y2 = self.box
        return (x2 - x1) * (y2 - y1)

    def scaled(self, sx: float, sy: float | None = None, dx: float = 0.0, dy: float = 0.0) -> Detection:
        """Map coordinates from a resized/cropped view back to original pixels."""
        sy = sx if sy is None else sy
        box = None
        if self.box is not None:
            x1, y1, x2, y2 = self.box
            box = (x1 * sx + dx, y1 * sy + dy, x2 * sx + dx, y2 * sy + dy)
        kp = None
        if self.keypoints is not None:
            kp = self.keypoints.copy()
            kp[:, 0] = kp[:, 0] * sx + dx
            kp[:, 1] = kp[:, 1] * sy + dy
        lm = None
        if self.landmarks is not None:
            lm = {k: [(x * sx + dx, y * sy + dy) for x, y in pts] for k, pts in self.landmarks.items()}
        return replace(self, box=box, keypoints=kp, landmarks=lm)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "label": self.display_label}
        if self.identity is not None and self.identity != self.label:
            d["class_label"] = self.label
        if self.class_id is not None:
            d["class_id"] = int(self.class_id)
        if self.confidence is not None:
            d["confidence"] = round(float(self.confidence), 6)
        if self.box is not None:
            d["box"] = [round(v, 2) for v in self.box]
        if self.distance is not None:
            d["distance"] = round(float(self.distance), 6)
        if self.track_id is not None:
            d["track_id"] = int(self.track_id)
        if self.landmarks is not None:
            d["landmarks"] = {k: [[round(x, 2), round(y, 2)] for x, y in v] for k, v in self.landmarks.items()}
        if self.keypoints is not None:
            d["keypoints"] = [[round(float(v), 3) for v in row] for row in self.keypoints]
        if self.mask is not None:
            d["mask"] = mask_to_rle(self.mask)
        if self.attributes:
            d["attributes"] = self.attributes
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Detection:
        label = d.get("class_label", d["label"])
        identity = d["label"] if "class_label" in d else d.get("identity")
        lm = d.get("landmarks")
        return cls(
            kind=d["kind"], label=label, confidence=d.get("confidence"),
            box=tuple(d["box"]) if d.get("box") is not None else None,
            class_id=d.get("class_id"),
            mask=rle_to_mask(d["mask"]) if d.get("mask") else None,
            keypoints=np.asarray(d["keypoints"], np.float32) if d.get("keypoints") else None,
            track_id=d.get("track_id"), identity=identity, distance=d.get("distance"),
            landmarks={k: [tuple(p) for p in v] for k, v in lm.items()} if lm else None,
            attributes=dict(d.get("attributes", {})),
        )


@dataclass(frozen=True, eq=False)
class ImageResults:
    """All results for one image (or one video frame)."""

    source: str
    width: int
    height: int
    results: tuple[Detection, ...] = ()
    frame_index: int | None = None
    timestamp: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "results", tuple(self.results))

    def with_results(self, extra: Iterable[Detection]) -> ImageResults:
        return replace(self, results=self.results + tuple(extra))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"source": self.source, "width": self.width, "height": self.height}
        if self.frame_index is not None:
            d["frame"] = self.frame_index
        if self.timestamp is not None:
            d["timestamp"] = round(self.timestamp, 6)
        d["results"] = [r.to_dict() for r in self.results]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImageResults:
        return cls(source=d["source"], width=int(d["width"]), height=int(d["height"]),
                   results=tuple(Detection.from_dict(r) for r in d.get("results", [])),
                   frame_index=d.get("frame"), timestamp=d.get("timestamp"))


def dumps(items: Iterable[ImageResults], indent: int | None = 2) -> str:
    return json.dumps([i.to_dict() for i in items], indent=indent, ensure_ascii=False)


def loads(text: str) -> list[ImageResults]:
    data = json.loads(text)
    if isinstance(data, dict):  # tolerate a single entry
        data = [data]
    return [ImageResults.from_dict(d) for d in data]


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO uncompressed RLE: column-major run lengths, starting with zeros."""
    m = np.asarray(mask, dtype=bool)
    flat = m.ravel(order="F")
    bounds = np.concatenate([[0], np.flatnonzero(flat[1:] != flat[:-1]) + 1, [flat.size]])
    counts = np.diff(bounds)
    if flat.size and flat[0]:
        counts = np.concatenate([[0], counts])
    return {"size": [int(m.shape[0]), int(m.shape[1])], "counts": [int(c) for c in counts]}


def rle_to_mask(rle: dict[str, Any]) -> np.ndarray:
    h, w = rle["size"]
    counts = rle["counts"]
    flat = np.zeros(h * w, dtype=bool)
    pos, value = 0, False
    for c in counts:
        if value:
            flat[pos:pos + c] = True
        pos += c
        value = not value
    return flat.reshape((h, w), order="F")
