"""Run a YOLO model on RGB pixels and get `Detection`s in original image pixels.

    det = ObjectDetector("yolo26n.pt", conf=0.3, classes=["person", "car"])
    found = det.predict(loaded.pixels)          # list[Detection]
    tracked = det.track(frame_pixels)           # the same, with track_id, state kept between calls

Threading: an ObjectDetector holds one ultralytics model and its predictor, which keep
per-call state (letterbox buffers, tracker state, the ONNX/OpenVINO session); use an instance
from ONE thread only (e.g. the GUI's detection worker). Two threads need two instances.
torch's intra-op thread count is process-wide: the instance's policy is applied before and
after each call (ultralytics resets it whenever it sets up a predictor).

What comes out (`results_to_detections`, also usable on any ultralytics Results):
  detect/segment/pose: kind="object", label, class_id, confidence, box=(x1, y1, x2, y2) in
      original pixels; mask = bool H x W at the original size (segment); keypoints = K x 3
      (x, y, visibility) in original pixels (pose); track_id when tracking.
  obb: kind="object", box = the axis-aligned box around the rotated one,
      attributes["obb"] = its 4 corners [[x, y], ...], attributes["angle"] in radians.
  classify: 5 Detections kind="classification" (no box), best first, attributes["rank"] 1..5.
"""
from __future__ import annotations

import ast
import logging
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from vision_studio.core.detection import models, settings
from vision_studio.core.results import Detection

log = logging.getLogger(__name__)

SUPPORTED_TASKS = ("detect", "segment", "pose", "classify", "obb")
DEVICES = ("auto", "cpu", "cuda", "mps")
DEFAULT_TRACKER = "bytetrack.yaml"
TRACKERS = {"bytetrack": "bytetrack.yaml", "botsort": "botsort.yaml"}  # ultralytics' own configurations
TRACK_CONF = 0.1  # trackers need low-confidence boxes (ByteTrack's second association)


class ClassFilterError(ValueError):
    """Unknown class names in `classes`; the message lists the valid ones."""


def resolve_device(device: str = "auto") -> str:
    """Our device names -> ultralytics' ('cpu', '0', '1', 'mps')."""
    d = str(device).strip().lower()
    if d in ("", "auto"):
        import torch

        if torch.cuda.is_available():
            return "0"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if d == "cpu":
        return d
    if d == "mps" or d == "cuda" or (d.startswith("cuda:") and d[5:].isdigit()) or d.isdigit():
        import torch

        if d == "mps":
            mps = getattr(torch.backends, "mps", None)
            if mps is None or not mps.is_available():
                raise ValueError("device 'mps' is not available here (Apple GPUs only); use 'auto' or 'cpu'")
            return d
        index = 0 if d == "cuda" else int(d.rpartition(":")[2])
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r}: CUDA is not available (no NVIDIA GPU, or a CPU-only torch "
                             "build); use 'auto' or 'cpu'")
        if index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s)")
        return str(index)
    raise ValueError(f"unknown device {device!r} (use one of {', '.join(DEVICES)} or cuda:N)")


def class_ids(classes: Iterable[int | str] | None, names: dict[int, str]) -> list[int] | None:
    """Class names (case-insensitive) or ids -> sorted ids; ClassFilterError names the unknown ones."""
    if classes is None:
        return None
    if isinstance(classes, (str, int)):
        classes = [classes]
    by_name = {n: i for i, n in names.items()}
    by_lower = {n.lower(): i for i, n in names.items()}
    ids, unknown = set(), []
    for c in classes:
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
            if int(c) in names:
                ids.add(int(c))
            else:
                unknown.append(str(c))
        elif isinstance(c, str):
            key = c.strip()
            if key in by_name:
                ids.add(by_name[key])
            elif key.lower() in by_lower:
                ids.add(by_lower[key.lower()])
            elif key.isdigit() and int(key) in names:
                ids.add(int(key))
            else:
                unknown.append(repr(c))
        else:
            unknown.append(repr(c))
    if unknown:
        valid = ", ".join(names[i] for i in sorted(names))
        raise ClassFilterError(f"unknown class{'es' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                               f"for this model; valid: {valid}")
    return sorted(ids)


def as_bgr(pixels: np.ndarray) -> np.ndarray:
    """RGB(A)/gray uint8 -> the BGR uint8 H x W x 3 array ultralytics expects from numpy input."""
    import cv2

    a = np.asarray(pixels)
    if a.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8 (the analysis array), got {a.dtype}")
    if a.ndim == 2:
        return cv2.cvtColor(a, cv2.COLOR_GRAY2BGR)
    if a.ndim == 3 and a.shape[2] == 3:
        return cv2.cvtColor(a, cv2.COLOR_RGB2BGR)
    if a.ndim == 3 and a.shape[2] == 4:
        return cv2.cvtColor(a, cv2.COLOR_RGBA2BGR)
    raise ValueError(f"pixels must be H x W x 3 RGB, got shape {a.shape}")


# ----------------------------------------------------------------------------- conversion

def _np(t) -> np.ndarray:
    return t.cpu().numpy() if hasattr(t, "cpu") else np.asarray(t)


def _masks_at(result, h: int, w: int) -> np.ndarray | None:
    """Result masks as bool N x h x w (original size), whatever resolution the model produced."""
    if result.masks is None:
        return None
    data = result.masks.data
    if data.shape[0] == 0:
        return np.zeros((0, h, w), bool)
    if tuple(data.shape[1:]) != (h, w):  # imgsz-sized (retina_masks=False): unpad and resize
        from ultralytics.utils.ops import scale_masks

        data = scale_masks(data[None].float(), (h, w))[0]
    return _np(data > 0.5)


def results_to_detections(result) -> list[Detection]:
    """One ultralytics `Results` -> our Detections (see the module doc for the shapes)."""
    names = result.names or {}
    h, w = (int(v) for v in result.orig_shape[:2])
    out: list[Detection] = []

    def label(cid: int) -> str:
        return str(names.get(cid, cid))

    if result.probs is not None:
        probs = result.probs
        top = [int(i) for i in probs.top5]
        conf = _np(probs.top5conf).astype(float).tolist()
        return [Detection(kind="classification", label=label(c), class_id=c, confidence=float(p),
                          attributes={"rank": rank})
                for rank, (c, p) in enumerate(zip(top, conf, strict=True), start=1)]

    if result.obb is not None:
        obb = result.obb
        if len(obb) == 0:
            return out
        corners = _np(obb.xyxyxyxy).astype(float)
        boxes = _np(obb.xyxy).astype(float)
        angle = _np(obb.xywhr)[:, 4].astype(float)
        conf = _np(obb.conf).astype(float)
        cls = _np(obb.cls).astype(int)
        ids = _np(obb.id).astype(int) if obb.is_track else None
        for i in range(len(cls)):
            out.append(Detection(
                kind="object", label=label(int(cls[i])), class_id=int(cls[i]), confidence=float(conf[i]),
                box=tuple(boxes[i]), track_id=int(ids[i]) if ids is not None else None,
                attributes={"obb": [[round(float(x), 3), round(float(y), 3)] for x, y in corners[i]],
                            "angle": round(float(angle[i]), 6)}))
        return out

    boxes = result.boxes
    if boxes is None or len(boxes) == 0:
        return out
    data = _np(boxes.data).astype(float)  # x1 y1 x2 y2 [id] conf cls
    xyxy, conf, cls = data[:, :4], data[:, -2], data[:, -1].astype(int)
    ids = data[:, -3].astype(int) if boxes.is_track else None
    masks = _masks_at(result, h, w)
    kpts = _np(result.keypoints.data).astype(np.float32) if result.keypoints is not None else None
    for i in range(len(cls)):
        out.append(Detection(
            kind="object", label=label(int(cls[i])), class_id=int(cls[i]), confidence=float(conf[i]),
            box=(xyxy[i, 0], xyxy[i, 1], xyxy[i, 2], xyxy[i, 3]),
            mask=masks[i] if masks is not None and i < len(masks) else None,
            keypoints=kpts[i] if kpts is not None and i < len(kpts) else None,
            track_id=int(ids[i]) if ids is not None else None))
    return out


# ----------------------------------------------------------------------------- the detector

class ObjectDetector:
    """One YOLO model with its thresholds; `predict`/`track` RGB pixels. One thread per instance.

    model_path: a local model (.pt, .onnx, .torchscript, *_openvino_model folder, model YAML)
        or an official name (None: models.DEFAULT_MODEL), downloaded on first use with
        `progress(done, total)` / `cancel()` (see models.download_model).
    classes: names or ids to keep (None: all); unknown names raise ClassFilterError.
    threads: "interactive" (GUI default), "batch" (CLI) or a number (settings.thread_count).
    """

    def __init__(self, model_path: str | os.PathLike | None = None, conf: float = 0.25, iou: float = 0.7,
                 max_det: int = 300, classes: Sequence[int | str] | None = None, imgsz: int = 640,
                 device: str = "auto", half: bool = False, *, threads: str | int = "interactive",
                 tracker: str = DEFAULT_TRACKER, progress=None, cancel=None, remember: bool = False):
        if not 0.0 <= float(conf) <= 1.0:
            raise ValueError(f"conf must be within 0..1, got {conf}")
        if not 0.0 <= float(iou) <= 1.0:
            raise ValueError(f"iou must be within 0..1, got {iou}")
        if int(max_det) < 1:
            raise ValueError(f"max_det must be at least 1, got {max_det}")
        settings.ensure_configured()
        self.path = models.resolve_model(model_path, progress=progress, cancel=cancel)
        self.format = models.model_format(self.path)
        self.device = resolve_device(device)
        self.conf, self.iou, self.max_det = float(conf), float(iou), int(max_det)
        self.imgsz, self.half = int(imgsz), bool(half)
        self.tracker = tracker
        self.threads = settings.thread_count(threads)
        # With an exported model torch only pre- and post-processes (letterbox, NMS): one thread
        # does that, and no idle OpenMP worker spins on the core OpenVINO/onnxruntime needs
        # (measured: OpenVINO yolo26n 18 -> 13 ms/frame on 2 cores).
        self._torch_threads = self.threads if self.format in ("pytorch", "torchscript", "yaml") else 1
        from ultralytics import YOLO

        try:
            self._model = YOLO(str(self.path))
        except Exception as exc:
            raise models.ModelUnavailable(f"{self.path}: cannot load this model ({models._short(exc)})") from exc
        self.task: str = str(self._model.task)
        if self.task not in SUPPORTED_TASKS:
            raise models.ModelUnavailable(f"{self.path}: task {self.task!r} is not supported "
                                          f"(supported: {', '.join(SUPPORTED_TASKS)})")
        try:
            self.names: dict[int, str] = self._read_names()
        except Exception as exc:
            raise models.ModelUnavailable(f"{self.path}: cannot load this model ({models._short(exc)})") from exc
        self.classes = class_ids(classes, self.names)
        if remember and self.format != "yaml":
            models.add_recent(self.path)

    def _read_names(self) -> dict[int, str]:
        """Class names without loading an export twice (ultralytics' .names would set up a 2nd backend)."""
        from ultralytics.nn.autobackend import check_class_names

        inner = self._model.model
        if hasattr(inner, "names"):
            return dict(check_class_names(inner.names))
        try:
            from ultralytics.nn.backends.base import BaseBackend

            names = BaseBackend.read_metadata(str(self.path)).get("names")
            if isinstance(names, str):
                names = ast.literal_eval(names)
            if names:
                return dict(check_class_names(names))
        except Exception:  # unreadable metadata: ask ultralytics (sets up a backend once)
            log.debug("no class names in %s metadata", self.path, exc_info=True)
        return dict(self._model.names)

    def __repr__(self) -> str:
        return (f"ObjectDetector({str(self.path)!r}, task={self.task!r}, conf={self.conf}, iou={self.iou}, "
                f"classes={self.classes}, imgsz={self.imgsz}, device={self.device!r})")

    def set_classes(self, classes: Sequence[int | str] | None) -> None:
        self.classes = class_ids(classes, self.names)

    def _kwargs(self, **extra: Any) -> dict[str, Any]:
        kw = settings.predict_kwargs()
        kw.update(conf=self.conf, iou=self.iou, max_det=self.max_det, classes=self.classes, imgsz=self.imgsz,
                  device=self.device, tracker=self.tracker)
        if self.half:  # ultralytics 8.4 renamed half=True to quantize=16 (and warns about `half`)
            kw["quantize"] = 16
        kw.update(extra)
        return kw

    def _run(self, method, pixels: np.ndarray, **kw):
        bgr = as_bgr(pixels)
        settings.apply_threads(self._torch_threads)
        first = self._model.predictor is None
        try:
            results = method(bgr, **kw)
        except FileNotFoundError as exc:
            raise models.ModelUnavailable(f"{self.path}: {models._short(exc)}") from exc
        except (ImportError, ModuleNotFoundError) as exc:
            pkg = getattr(exc, "name", None) or "a runtime package"
            raise models.ModelUnavailable(
                f"{self.path}: running a {self.format} model needs '{pkg}' (pip install {pkg})") from exc
        except Exception as exc:
            if first:  # the backend (onnxruntime session, OpenVINO compile, ...) failed to load
                raise models.ModelUnavailable(
                    f"{self.path}: cannot load this model ({models._short(exc)})") from exc
            raise
        settings.apply_threads(self._torch_threads)  # a (re)built predictor reset it
        return results[0]

    def predict_raw(self, pixels_rgb: np.ndarray):
        """The ultralytics Results for one image (for callers that need more than Detections)."""
        return self._run(self._model.predict, pixels_rgb, **self._kwargs())

    def predict(self, pixels_rgb: np.ndarray) -> list[Detection]:
        """Detections in one RGB uint8 image (the `LoadedImage.pixels` array)."""
        return results_to_detections(self.predict_raw(pixels_rgb))

    def track(self, pixels_rgb: np.ndarray, persist: bool = True, tracker: str | None = None) -> list[Detection]:
        """Detections with track_id for the next frame of a sequence; state is kept while `persist`.

        The tracker sees boxes down to confidence 0.1 (it needs the weak ones to keep tracks
        alive); what is returned is filtered by this detector's `conf` like `predict`.
        """
        if self.task == "classify":
            raise ValueError(f"{self.path.name}: a classification model cannot track")
        if tracker is not None:
            self.set_tracker(tracker)
        kw = self._kwargs(conf=min(self.conf, TRACK_CONF))
        result = self._run(lambda src, **k: self._model.track(src, persist=persist, **k), pixels_rgb, **kw)
        return [d for d in results_to_detections(result)
                if d.confidence is None or d.confidence >= self.conf]

    def set_tracker(self, tracker: str) -> None:
        """ByteTrack or BoT-SORT (a key of TRACKERS, or a tracker YAML); another kind starts new tracks."""
        config = TRACKERS.get(tracker, tracker)
        if config == self.tracker:
            return
        self.tracker = config
        predictor = self._model.predictor
        if predictor is not None and hasattr(predictor, "trackers"):
            del predictor.trackers  # ultralytics builds the new kind at the next track() (its args carry it)

    def reset_tracker(self) -> None:
        """Forget all tracks (e.g. a new video)."""
        predictor = self._model.predictor
        if predictor is not None and hasattr(predictor, "trackers"):
            for t in predictor.trackers:
                t.reset()

    def warmup(self) -> None:
        """Load the backend and run one blank frame, so the first real frame is not slow."""
        self.predict_raw(np.zeros((max(32, self.imgsz * 3 // 4), self.imgsz, 3), np.uint8))


def detector_info(det: ObjectDetector) -> dict[str, Any]:
    return {"path": str(det.path), "format": det.format, "task": det.task, "classes": len(det.names),
            "device": det.device, "imgsz": det.imgsz, "threads": det.threads}


__all__ = [
    "SUPPORTED_TASKS",
    "TRACKERS",
    "ClassFilterError",
    "ObjectDetector",
    "as_bgr",
    "class_ids",
    "detector_info",
    "resolve_device",
    "results_to_detections",
]
