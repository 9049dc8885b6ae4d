"""Filters, then analyzers (faces, objects), then the annotated image: one image, one call.

`vision-studio analyze` runs `analyze_image` per input; the analyzers are built once
per run (`FaceStage`, `ObjectStage`) because loading a gallery or a model is the
expensive part. Detections are in ORIGINAL image pixels. Analyzers see the filtered
image by default, or the original (`detect_on="original"`); the annotated image is
the filtered one unless its size changed (a geometry step) and detection ran on the
original, in which case boxes are drawn on the original.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from vision_studio.core.pipeline import Cancelled, Pipeline, PipelineOutput, run_pipeline

if TYPE_CHECKING:
    import numpy as np

    from vision_studio.core.annotate import Style
    from vision_studio.core.results import Detection


@dataclass
class FaceStage:
    """Face detection, naming against a gallery, and optional anonymizing."""

    options: Any = None  # vision_studio.core.faces.FaceOptions
    matcher: Any = None  # a Matcher built once from the gallery, or None: detection only
    anonymize: str | None = None  # "blur" | "pixelate"
    unknown_only: bool = False
    recognize: bool = True  # False: detection only, faces carry no identity

    def run(self, pixels: np.ndarray) -> list[Detection]:
        from dataclasses import replace

        from vision_studio.core.faces.analyze import analyze_faces

        faces = analyze_faces(pixels, self.options, self.matcher)
        if self.matcher is None and self.recognize:  # empty gallery: every face is, by definition, unknown
            faces = [replace(f, identity="Unknown") for f in faces]
        return faces


@dataclass
class ObjectStage:
    """An object model (one instance, used from one thread) and its settings."""

    detector: Any  # vision_studio.core.detection.ObjectDetector

    def run(self, pixels: np.ndarray) -> list[Detection]:
        return self.detector.predict(pixels)


@dataclass
class AnalysisPlan:
    pipeline: Pipeline = field(default_factory=Pipeline)
    faces: FaceStage | None = None
    objects: ObjectStage | None = None
    detect_on: str = "filtered"  # or "original"

    @property
    def has_analyzers(self) -> bool:
        return self.faces is not None or self.objects is not None


@dataclass(frozen=True)
class Analysis:
    """What one image gave, before drawing: `image` is what the overlays go on (the filtered
    image, anonymized if asked, or the original after a geometry step when detection ran on
    it); `output` is the filter pipeline's own output (tables, its detections)."""

    image: np.ndarray
    detections: tuple[Detection, ...]
    output: PipelineOutput
    style: Style


def analyze(plan: AnalysisPlan, pixels: np.ndarray,
            should_stop: Callable[[], bool] | None = None, filtered: PipelineOutput | None = None) -> Analysis:
    """Filters, then the analyzers, for one RGB uint8 image (detections in original pixels).
    `filtered`: the pipeline's output for `pixels`, computed already (the live view filters
    every frame in a thread of its own and analyses some of them)."""
    from vision_studio.core.annotate import Style
    from vision_studio.core.ops.spec import to_rgb

    out = filtered if filtered is not None else run_pipeline(plan.pipeline, pixels, should_stop=should_stop)
    if not plan.has_analyzers:
        return Analysis(out.image, tuple(out.detections), out, Style())
    seen = pixels if plan.detect_on == "original" else to_rgb(out.image)
    canvas = overlay_canvas(plan.detect_on, pixels, out)
    found: list[Detection] = []
    if plan.objects is not None:
        if should_stop is not None and should_stop():
            raise Cancelled()
        found += plan.objects.run(seen)
    if plan.faces is not None:
        if should_stop is not None and should_stop():
            raise Cancelled()
        faces = plan.faces.run(seen)
        found += faces
        if plan.faces.anonymize:
            from vision_studio.core.faces import anonymize

            canvas = anonymize(canvas, faces, mode=plan.faces.anonymize, unknown_only=plan.faces.unknown_only)
    # Landmarks drawn over an anonymized face would give its shape away again.
    style = Style(show_landmarks=not (plan.faces and plan.faces.anonymize))
    return Analysis(canvas, tuple(out.detections) + tuple(found), out, style)


def overlay_canvas(detect_on: str, pixels: np.ndarray, out: PipelineOutput) -> np.ndarray:
    """The RGB image the analyzers' boxes go on: the filtered one, or the original when
    detection ran on it and a geometry step changed the size."""
    from vision_studio.core.ops.spec import to_rgb

    filtered = to_rgb(out.image)
    return filtered if detect_on != "original" or filtered.shape[:2] == pixels.shape[:2] else to_rgb(pixels)


def analyze_image(plan: AnalysisPlan, pixels: np.ndarray,
                  should_stop: Callable[[], bool] | None = None) -> tuple[np.ndarray, list[Detection]]:
    """(annotated image, all detections) for one RGB uint8 image."""
    from vision_studio.core.annotate import render
    from vision_studio.core.ops.spec import to_rgb

    result = analyze(plan, pixels, should_stop)
    if not result.detections:
        return result.image, []
    return render(to_rgb(result.image), list(result.detections), result.style), list(result.detections)
