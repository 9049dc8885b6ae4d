"""The image AnalysisPlan, turned into one for a stream of frames.

`for_video(plan)` keeps the filters and settings and swaps the analyzers for their
stateful video versions, so `core.analysis.analyze_image(video_plan, frame)` works
frame after frame exactly as it does for photos:

- objects: `ObjectDetector.track` (ByteTrack by default) instead of `predict`, so
  every box carries a track id that stays while the object is followed;
- faces: `core.faces.video.FaceVideoRecognizer`, which searches every few frames,
  follows faces in between, and names a face once per track (re-checked now and
  then) instead of encoding every face on every frame.

The video stages hold per-stream state: use one video plan per stream and per thread,
and call `reset(plan)` when the stream jumps (a seek, another source).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from vision_studio.core.analysis import AnalysisPlan, FaceStage, ObjectStage


@dataclass
class TrackedObjectStage(ObjectStage):
    def run(self, pixels):
        return self.detector.track(pixels)


@dataclass
class VideoFaceStage(FaceStage):
    tracking: Any = None  # core.faces.video.TrackOptions (None: its defaults)
    recognizer: Any = field(default=None, repr=False)

    def run(self, pixels):
        if self.recognizer is None:
            from vision_studio.core.faces.video import FaceVideoRecognizer

            self.recognizer = FaceVideoRecognizer(self.options, self.matcher if self.recognize else None,
                                                  self.tracking)
        faces = self.recognizer.process(pixels)
        if self.matcher is None and self.recognize:  # empty gallery: every face is unknown
            faces = [replace(f, identity="Unknown") for f in faces]
        return faces


def for_video(plan: AnalysisPlan, tracking: Any = None) -> AnalysisPlan:
    """A plan whose analyzers track across frames (the input plan is left as it was)."""
    objects = faces = None
    if plan.objects is not None:
        det = plan.objects.detector
        objects = TrackedObjectStage(det) if getattr(det, "task", "detect") != "classify" else plan.objects
    if plan.faces is not None:
        f = plan.faces
        faces = VideoFaceStage(options=f.options, matcher=f.matcher, anonymize=f.anonymize,
                               unknown_only=f.unknown_only, recognize=f.recognize, tracking=tracking)
    return AnalysisPlan(pipeline=plan.pipeline, faces=faces, objects=objects, detect_on=plan.detect_on)


def reset(plan: AnalysisPlan) -> None:
    """Forget every track (the stream jumped): new ids, faces named again."""
    if isinstance(plan.objects, TrackedObjectStage):
        plan.objects.detector.reset_tracker()
    if isinstance(plan.faces, VideoFaceStage) and plan.faces.recognizer is not None:
        plan.faces.recognizer.reset()
