"""The live analysis loop and the recorder: plain generator jobs, no Qt.

The GUI runs each as ONE JobRunner job (gui/live_controller.py); both read frames from
the Capture's slot, never from a queue, so neither can fall behind the present:

- `analysis_loop(capture, box, stages)` analyses the newest frame it can get with the
  newest request (pipeline + analyzer settings) in `box`, and yields a LiveResult per
  analysed frame. Its StageCache belongs to the thread running it. Objects are tracked
  and faces named per track (sources/analysis.for_video).
- `Recorder.run()` writes the newest frame of every capture step, with the latest
  overlays burned in, to an MP4 at the source's rate; it yields progress twice a second.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from vision_studio.core.sources.capture import Capture


@dataclass(frozen=True)
class LiveRequest:
    pipeline: Any  # core.pipeline.Pipeline
    settings: Any  # core.analyzers.AnalyzerSettings
    generation: int


class RequestBox:
    """The newest request; set from the GUI thread, read by the analysis thread (latest wins)."""

    def __init__(self, request: LiveRequest | None = None):
        self._value = request
        self.stop = threading.Event()  # tells the loop to end even while it waits for frames

    def set(self, request: LiveRequest) -> None:
        self._value = request

    def get(self) -> LiveRequest | None:
        return self._value


@dataclass(frozen=True, eq=False)
class LiveResult:
    seq: int  # the analysed frame's capture sequence number
    index: int
    image: np.ndarray | None  # what to show instead of the raw frames (filters, anonymized), else None
    detections: tuple
    style: Any  # core.annotate.Style
    latency: float  # frame arrival -> result, seconds
    seconds: float  # analysis time of this frame
    generation: int


@dataclass(frozen=True)
class LiveStatus:
    text: str
    error: bool = False


def shows_result_image(plan) -> bool:
    """The picture must be the analysed one (filters change it; anonymizing hides faces)."""
    return any(s.enabled for s in plan.pipeline.steps) or bool(plan.faces and plan.faces.anonymize)


def analysis_loop(capture: Capture, box: RequestBox, stages, should_stop: Callable[[], bool] | None = None):
    """Generator job: LiveResult per analysed frame, LiveStatus for loads and errors, None as a
    heartbeat (so a cancelled job stops within ~0.1 s while the source is quiet)."""
    from vision_studio.core.analysis import analyze
    from vision_studio.core.ops.spec import to_rgb
    from vision_studio.core.sources import analysis as video

    stop = should_stop or (lambda: False)

    def stopped() -> bool:
        return box.stop.is_set() or stop()

    plan, generation, seq, last_index, failed_generation, idle = None, None, -1, -1, None, None
    while not stopped():
        req = box.get()
        if req is not None and req.generation != generation and req.generation != failed_generation:
            for text in stages.pending_loads(req.settings):
                yield LiveStatus(text)
            try:
                plan = video.for_video(stages.plan(req.pipeline, req.settings, cancel=stopped))
                generation = req.generation
            except Exception as exc:  # noqa: BLE001 - shown to the user; analysis waits for new settings
                plan, failed_generation = None, req.generation
                yield LiveStatus(f"Live analysis: {exc}", error=True)
                continue
        if plan is not None and not plan.has_analyzers and not any(s.enabled for s in plan.pipeline.steps):
            if idle != generation:  # nothing to compute: say so once (clears old overlays), then idle
                idle = generation
                yield LiveResult(-1, -1, None, (), None, 0.0, 0.0, generation)
            box.stop.wait(0.1)
            yield None
            continue
        frame = capture.wait_frame(seq, timeout=0.1, take=False)
        if frame is None or plan is None:
            yield None
            continue
        if frame.index < last_index or frame.index > last_index + 30 and not capture.spec.live:
            video.reset(plan)  # a seek: old tracks would be matched to unrelated boxes
        seq, last_index = frame.seq, frame.index
        t = time.monotonic()
        try:
            result = analyze(plan, frame.pixels)
        except Exception as exc:  # noqa: BLE001 - one line for the user; wait for new settings
            plan, generation, failed_generation = None, None, req.generation if req else None
            yield LiveStatus(f"Live analysis failed: {exc}", error=True)
            continue
        now = time.monotonic()
        image = to_rgb(result.image) if shows_result_image(plan) else None
        yield LiveResult(frame.seq, frame.index, image, result.detections, result.style, now - frame.received,
                         now - t, generation)


@dataclass(frozen=True)
class RecordProgress:
    path: Path
    frames: int
    size_bytes: int
    elapsed: float


class Recorder:
    """Annotated video of a live source. `latest()` gives the newest LiveResult (or None);
    `stop()` ends the recording, which is then moved into place (run() returns the path)."""

    def __init__(self, path: str | Path, capture: Capture, latest: Callable[[], LiveResult | None]):
        self.path = Path(path)
        self.capture = capture
        self.latest = latest
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self, should_stop: Callable[[], bool] | None = None):
        from vision_studio.core.annotate import Style, render
        from vision_studio.core.sources.writer import VideoWriter

        info = self.capture.info
        writer = VideoWriter(self.path, fps=info.fps if info else 30.0)
        seq, last_report, last_image_seq = -1, 0.0, -1
        try:
            while not self._stop.is_set() and not (should_stop and should_stop()):
                frame = self.capture.wait_frame(seq, timeout=0.1, take=False)
                if frame is None:
                    if self.capture.stats().state in ("failed", "stopped"):
                        break
                    continue
                seq = frame.seq
                res = self.latest()
                if res is not None and res.image is not None:
                    if res.seq == last_image_seq:
                        continue  # filtered view: each analysed image once
                    last_image_seq = res.seq
                    image = res.image
                else:
                    image = frame.pixels
                dets = list(res.detections) if res is not None else []
                writer.write(render(image, dets, res.style if res else Style()) if dets else image)
                now = time.monotonic()
                if now - last_report >= 0.5:
                    last_report = now
                    yield RecordProgress(self.path, writer.frames, writer.size_bytes, writer.elapsed)
        except BaseException:
            writer.abort() if writer.frames == 0 else writer.close()
            raise
        if writer.frames == 0:
            writer.abort()
            return None
        writer.close()
        return RecordProgress(self.path, writer.frames, writer.size_bytes, writer.elapsed)
