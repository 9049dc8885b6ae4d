"""What the user asked the analyzers to do, as values, and the thread that owns the models.

The GUI panels (Faces, Objects) describe their state as frozen settings values;
nothing heavy is loaded there. A `StageCache`, owned by exactly ONE thread (the
window's model thread, the live analysis worker, a batch run), turns settings
into a `core.analysis.AnalysisPlan`, loading a model or a gallery only when the
settings that decide it changed. Thresholds that ultralytics reads per call
(confidence, IoU, classes) are applied to the loaded model instead of reloading it.

Why a value + a cache and not models held by the panels: a model must never be
used from two threads (ultralytics' thread-safety guide; dlib is not re-entrant
either), and a panel lives on the GUI thread, which must never run a model.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from vision_studio.core.analysis import AnalysisPlan, FaceStage, ObjectStage

if TYPE_CHECKING:
    from vision_studio.core.faces import FaceOptions
    from vision_studio.core.pipeline import Pipeline

DETECT_ON = ("filtered", "original")


def _default_face_options():
    from vision_studio.core.faces.detection import FaceOptions

    return FaceOptions()


@dataclass(frozen=True)
class FaceSettings:
    """The Faces panel's state. `gallery_version` is bumped after every gallery edit so a
    new value (and so a fresh matcher) reaches the model thread."""

    options: FaceOptions = field(default_factory=_default_face_options)
    recognize: bool = True  # False: detection only (no encodings, no gallery)
    gallery_path: str | None = None  # None: the default gallery in the data directory
    gallery_version: int = 0
    anonymize: str | None = None  # "blur" | "pixelate"
    unknown_only: bool = False

    def matcher_key(self) -> tuple:
        """What needs a new gallery matcher when it changes."""
        return (self.gallery_path, self.gallery_version, self.options.tolerance, self.options.margin)

    def __post_init__(self):
        if self.anonymize not in (None, "blur", "pixelate"):
            raise ValueError(f"anonymize must be blur or pixelate, got {self.anonymize!r}")


@dataclass(frozen=True)
class ObjectSettings:
    """The Objects panel's state. `model`: a local path or an official name (None: the default)."""

    model: str | None = None
    conf: float = 0.25
    iou: float = 0.7
    max_det: int = 300
    classes: tuple[str, ...] | None = None
    imgsz: int = 640
    device: str = "auto"
    half: bool = False
    tracker: str = "bytetrack"  # on video: "bytetrack" or "botsort" (ultralytics' trackers)

    def __post_init__(self):
        if self.tracker not in ("bytetrack", "botsort"):
            raise ValueError(f"tracker must be bytetrack or botsort, got {self.tracker!r}")

    def load_key(self) -> tuple:
        """What needs a new model instance when it changes (the rest is set per call)."""
        return (self.model, self.imgsz, self.device, self.half)


@dataclass(frozen=True)
class AnalyzerSettings:
    faces: FaceSettings | None = None
    objects: ObjectSettings | None = None
    detect_on: str = "filtered"

    def __post_init__(self):
        if self.detect_on not in DETECT_ON:
            raise ValueError(f"detect_on must be one of {', '.join(DETECT_ON)}, got {self.detect_on!r}")

    @property
    def active(self) -> bool:
        return self.faces is not None or self.objects is not None


class StageCache:
    """Loaded analyzers for ONE thread. Build it, use it and drop it in that thread.

    `threads` is passed to ObjectDetector ("interactive" leaves a core for the GUI).
    `cancel()` -> True stops a model download; `pending_loads` says what a plan will load.
    """

    def __init__(self, threads: str | int = "interactive"):
        self.threads = threads
        self._object_key: tuple | None = None
        self._detector: Any = None
        self._matcher_key: tuple | None = None
        self._matcher: Any = None

    def plan(self, pipeline: Pipeline, settings: AnalyzerSettings,
             cancel: Callable[[], bool] | None = None) -> AnalysisPlan:
        faces = self._face_stage(settings.faces) if settings.faces else None
        objects = self._object_stage(settings.objects, cancel) if settings.objects else None
        return AnalysisPlan(pipeline=pipeline, faces=faces, objects=objects, detect_on=settings.detect_on)

    def pending_loads(self, settings: AnalyzerSettings) -> list[str]:
        """What `plan(settings)` would have to load first (for a status line)."""
        todo = []
        if settings.objects and (self._detector is None or self._object_key != settings.objects.load_key()):
            todo.append(f"Loading model {settings.objects.model or 'default'}…")
        f = settings.faces
        if f and f.recognize and self._matcher_key != f.matcher_key():
            todo.append("Loading the face gallery…")
        return todo

    @property
    def detector(self) -> Any:
        """The loaded ObjectDetector (or None): its names/task for the panels."""
        return self._detector

    def _object_stage(self, s: ObjectSettings, cancel) -> ObjectStage:
        from vision_studio.core.detection import ObjectDetector

        if self._object_key != s.load_key() or self._detector is None:
            self._detector, self._object_key = None, None  # a failed load must not leave the old model
            self._detector = ObjectDetector(s.model, conf=s.conf, iou=s.iou, max_det=s.max_det,
                                            classes=list(s.classes) if s.classes else None, imgsz=s.imgsz,
                                            device=s.device, half=s.half, threads=self.threads,
                                            cancel=cancel, remember=True)
            self._object_key = s.load_key()
        det = self._detector
        det.conf, det.iou, det.max_det = float(s.conf), float(s.iou), int(s.max_det)
        det.set_classes(list(s.classes) if s.classes else None)
        det.set_tracker(s.tracker)
        return ObjectStage(det)

    def _face_stage(self, s: FaceSettings) -> FaceStage:
        matcher = None
        if s.recognize:
            key = s.matcher_key()
            if key != self._matcher_key:
                from vision_studio.core.faces import Gallery, matcher_for

                with Gallery(s.gallery_path, create=True) as gallery:
                    self._matcher = matcher_for(gallery, s.options) if gallery.people() else None
                self._matcher_key = key
            matcher = self._matcher
        return FaceStage(options=s.options, matcher=matcher, anonymize=s.anonymize, unknown_only=s.unknown_only,
                         recognize=s.recognize)
