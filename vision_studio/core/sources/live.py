"""The live analysis loop and the recorder: plain generator jobs, no Qt.

The GUI runs each as ONE JobRunner job (gui/live_controller.py); both read frames from
the Capture's slot, never from a queue, so neither can fall behind the present:

- `filter_loop(capture, box, slot)`: while the request has filters on (and no anonymizing),
  filters every newest frame into `slot`, so the filtered picture moves at the source rate
  whatever the models cost (as long as the filters themselves keep up);
- `analysis_loop(capture, box, stages, slot)` analyses the newest frame it can get with the
  newest request (pipeline + analyzer settings) in `box`, and yields a LiveResult per
  analysed frame. With filters on it takes the newest filtered frame from `slot` (filters
  run once per frame, not twice). Its StageCache belongs to the thread running it. Objects
  are tracked and faces named per track (sources/analysis.for_video).
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

    from vision_studio.core.sources.capture import Capture, Frame


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


def filters_apart(request: LiveRequest | None) -> bool:
    """Filters on and no anonymizing: the filtered picture is made per frame, apart from the
    models. Anonymizing keeps the picture with the analysis: a face must never be on screen
    before its blur is (the analysed images are shown, at the analysis rate)."""
    if request is None or not any(s.enabled for s in request.pipeline.steps):
        return False
    faces = request.settings.faces if request.settings is not None else None
    return not (faces is not None and faces.anonymize)


@dataclass(frozen=True, eq=False)
class FilteredFrame:
    frame: Frame  # the capture frame it was made from (seq, index, arrival time, original pixels)
    output: Any  # core.pipeline.PipelineOutput (its image and the filters' own detections)
    image: np.ndarray  # RGB: what the picture shows (core.analysis.overlay_canvas)
    generation: int  # the request it was filtered with


class FrameSlot:
    """The newest FilteredFrame (latest wins, like the Capture's own slot)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._value: FilteredFrame | None = None

    def put(self, value: FilteredFrame | None) -> None:
        with self._cond:
            self._value = value
            self._cond.notify_all()

    def latest(self) -> FilteredFrame | None:
        return self._value

    def wait(self, after: int, timeout: float) -> FilteredFrame | None:
        """The newest one made from a frame with seq > `after`, or None after `timeout`."""
        with self._cond:
            self._cond.wait_for(lambda: self._value is not None and self._value.frame.seq > after, timeout)
            value = self._value
            return value if value is not None and value.frame.seq > after else None


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


def filter_loop(capture: Capture, box: RequestBox, slot: FrameSlot, should_stop: Callable[[], bool] | None = None):
    """Generator job: filters each newest frame into `slot` while `filters_apart(request)`;
    yields LiveStatus when the filters fail (then waits for new settings), None as a heartbeat."""
    from vision_studio.core.analysis import overlay_canvas
    from vision_studio.core.pipeline import run_pipeline

    seq, failed_generation = -1, None
    while not (box.stop.is_set() or (should_stop and should_stop())):
        req = box.get()
        if not filters_apart(req) or req.generation == failed_generation:
            if slot.latest() is not None:
                slot.put(None)  # the picture goes back to the raw frames
            box.stop.wait(0.05)
            yield None
            continue
        frame = capture.wait_frame(seq, timeout=0.1)  # this is the display's consumer: it takes
        if frame is None:
            yield None
            continue
        seq = frame.seq
        try:
            out = run_pipeline(req.pipeline, frame.pixels)
            image = overlay_canvas(req.settings.detect_on if req.settings else "filtered", frame.pixels, out)
        except Exception as exc:  # noqa: BLE001 - one line for the user; the raw picture meanwhile
            failed_generation = req.generation
            slot.put(None)
            yield LiveStatus(f"Live filters failed: {exc}", error=True)
            continue
        slot.put(FilteredFrame(frame, out, image, req.generation))
        yield None


def analysis_loop(capture: Capture, box: RequestBox, stages, slot: FrameSlot | None = None,
                  should_stop: Callable[[], bool] | None = None):
    """Generator job: LiveResult per analysed frame, LiveStatus for loads and errors, None as a
    heartbeat (so a cancelled job stops within ~0.1 s while the source is quiet). With a `slot`
    and filters apart (see `filter_loop`), the analysed frames are the filtered ones in it."""
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
            loads = stages.pending_loads(req.settings)
            for text in loads:
                yield LiveStatus(text)
            try:
                plan = video.for_video(stages.plan(req.pipeline, req.settings, cancel=stopped))
                generation = req.generation
            except Exception as exc:  # noqa: BLE001 - shown to the user; analysis waits for new settings
                plan, failed_generation = None, req.generation
                yield LiveStatus(f"Live analysis: {exc}", error=True)
                continue
            if loads:  # replaces "Loading …" in the status bar
                yield LiveStatus("Loaded " + ", ".join(t.removeprefix("Loading ").rstrip("…") for t in loads))
        apart = slot is not None and filters_apart(req)
        nothing_to_do = apart or not any(s.enabled for s in plan.pipeline.steps) if plan is not None else False
        if plan is not None and not plan.has_analyzers and nothing_to_do:
            if idle != generation:  # nothing to compute: say so once (clears old overlays), then idle
                idle = generation
                yield LiveResult(-1, -1, None, (), None, 0.0, 0.0, generation)
            box.stop.wait(0.1)
            yield None
            continue
        filtered = None
        if apart:
            filtered = slot.wait(seq, timeout=0.1)
            if filtered is not None and filtered.generation != generation:
                filtered = None  # filtered with other settings than the plan's: wait for a current one
            frame = filtered.frame if filtered is not None else None
        else:
            frame = capture.wait_frame(seq, timeout=0.1, take=False)
        if frame is None or plan is None:
            yield None
            continue
        if frame.index < last_index or frame.index > last_index + 30 and not capture.spec.live:
            video.reset(plan)  # a seek: old tracks would be matched to unrelated boxes
        seq, last_index = frame.seq, frame.index
        t = time.monotonic()
        try:
            result = analyze(plan, frame.pixels, filtered=filtered.output if filtered is not None else None)
        except Exception as exc:  # noqa: BLE001 - one line for the user; wait for new settings
            plan, generation, failed_generation = None, None, req.generation if req else None
            yield LiveStatus(f"Live analysis failed: {exc}", error=True)
            continue
        now = time.monotonic()
        image = to_rgb(result.image) if shows_result_image(plan) and not apart else None
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

    def __init__(self, path: str | Path, capture: Capture, latest: Callable[[], LiveResult | None],
                 filtered: FrameSlot | None = None):
        self.path = Path(path)
        self.capture = capture
        self.latest = latest
        self.filtered = filtered  # the filter thread's pictures, when filters are on
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
                else:  # the filtered picture (the newest: repeated when the filters lag), or the frame
                    ff = self.filtered.latest() if self.filtered is not None else None
                    image = ff.image if ff is not None else frame.pixels
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
