"""The pipeline being edited: undo/redo, and debounced preview then full-resolution runs.

Every edit replaces the immutable `Pipeline` through a QUndoCommand, so undo is
exact. After an edit: a preview on a downscaled proxy, throttled rather than
debounced (the first change starts at once; changes made while a preview runs
collapse into one more run with the latest values), then, once the user
pauses, the full-resolution result. The
original image is never modified.

With analyzers on (faces, objects: `set_analyzers`), the full-resolution run
goes to the model thread instead: a serial JobRunner whose jobs never overlap,
so the models in its StageCache have one owner. Previews stay filters-only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from vision_studio.core.analyzers import AnalyzerSettings
from vision_studio.core.pipeline import Pipeline
from vision_studio.gui.workers import JobRunner

if TYPE_CHECKING:
    import numpy as np

    from vision_studio.core.analyzers import StageCache
    from vision_studio.core.pipeline import PipelineOutput

PROXY_MAX_SIDE = 1280  # preview proxies: at most this many pixels on the long side
FULL_DELAY_MS = 400


@dataclass(frozen=True)
class Rendered:
    output: PipelineOutput
    hist: dict
    full: bool  # False: a preview on a proxy
    generation: int = 0  # which edit of the pipeline/source this result belongs to
    style: object = None  # the annotate.Style the analyzers chose (None: the default)


def make_proxy(image: np.ndarray, max_side: int = PROXY_MAX_SIDE) -> tuple[np.ndarray, float]:
    from vision_studio.core.ops.spec import cv2

    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return image, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def compute(pipeline: Pipeline, image: np.ndarray, scale: float, full: bool, generation: int,
            should_stop=None) -> Rendered:
    """Worker job (no Qt): run the pipeline and the histogram of its result."""
    from vision_studio.core.histogram import histogram
    from vision_studio.core.pipeline import run_pipeline

    out = run_pipeline(pipeline, image, scale=scale, should_stop=should_stop)
    return Rendered(output=out, hist=histogram(out.image), full=full, generation=generation)


def compute_analyzed(stages: StageCache, pipeline: Pipeline, settings: AnalyzerSettings, image: np.ndarray,
                     generation: int, should_stop=None):
    """Model-thread job (no Qt): filters, then faces/objects; yields status lines while loading."""
    from dataclasses import replace

    from vision_studio.core.analysis import analyze
    from vision_studio.core.histogram import histogram

    yield from stages.pending_loads(settings)
    plan = stages.plan(pipeline, settings, cancel=should_stop)
    yield "Analyzing…"
    result = analyze(plan, image, should_stop)
    out = replace(result.output, image=result.image, detections=result.detections)
    return Rendered(output=out, hist=histogram(result.image), full=True, generation=generation, style=result.style)


class _Edit(QUndoCommand):
    def __init__(self, controller: PipelineController, old: Pipeline, new: Pipeline, text: str,
                 merge_id: int = -1):
        super().__init__(text)
        self._c, self._old, self._new, self._merge_id = controller, old, new, merge_id

    def id(self) -> int:
        return self._merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:
        # Dragging a slider makes one undo step, not one per pixel of travel.
        if not isinstance(other, _Edit) or other._merge_id != self._merge_id or self._merge_id < 0:
            return False
        self._new = other._new
        return True

    def redo(self) -> None:
        self._c._set(self._new)

    def undo(self) -> None:
        self._c._set(self._old)


class PipelineController(QObject):
    sig_pipeline_changed = Signal(object)  # Pipeline
    sig_rendered = Signal(object)  # Rendered
    sig_failed = Signal(str)
    sig_analyzers_changed = Signal(object)  # AnalyzerSettings
    sig_status = Signal(str)  # what the model thread is doing ("Loading model …")

    def __init__(self, jobs: JobRunner, parent=None):
        super().__init__(parent)
        self.jobs = jobs
        self.model_jobs = JobRunner(self, serial=True)  # the one thread that runs models
        self.analyzers = AnalyzerSettings()
        self._stages: StageCache | None = None  # created and used only inside model_jobs' jobs
        self.undo_stack = QUndoStack(self)
        self.pipeline = Pipeline()
        self.source: np.ndarray | None = None
        self._proxy: tuple[np.ndarray, float] | None = None
        self.last: Rendered | None = None
        self._preview_busy = False  # a preview job is running
        self._preview_pending = False  # an edit arrived meanwhile: run again when it ends
        self._full_timer = QTimer(self, singleShot=True, interval=FULL_DELAY_MS)
        self._full_timer.timeout.connect(self.run_full)
        self._merge_ids: dict[tuple, int] = {}
        self.generation = 0  # bumped by every edit and every new source image
        self._source_generation = 0
        self._next_merge_id = 0

    # ------------------------------------------------------------------ editing
    def edit(self, new: Pipeline, text: str, merge_key: tuple | None = None) -> None:
        if new == self.pipeline:
            return
        merge_id = -1
        if merge_key is not None:
            if merge_key not in self._merge_ids:
                # Ever-increasing: after end_merge() a new key must never reuse an old id.
                self._next_merge_id += 1
                self._merge_ids[merge_key] = self._next_merge_id
            merge_id = self._merge_ids[merge_key]
        self.undo_stack.push(_Edit(self, self.pipeline, new, text, merge_id))

    def end_merge(self) -> None:
        """The next change of the same parameter starts a new undo step."""
        self._merge_ids.clear()

    def replace_all(self, pipeline: Pipeline, text: str) -> None:
        self.end_merge()
        self.edit(pipeline, text)

    def _set(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.sig_pipeline_changed.emit(pipeline)
        self.schedule()

    # ------------------------------------------------------------------ computing
    def is_current(self) -> bool:
        """True when `last` is the full-resolution result of the current pipeline and image."""
        return self.last is not None and self.last.full and self.last.generation == self.generation

    def set_source(self, pixels: np.ndarray | None) -> None:
        self.generation += 1
        self._source_generation = self.generation  # results from before belong to another image
        self._full_timer.stop()
        self.source = pixels
        self._proxy = None
        self.last = None
        self._preview_pending = False
        self._cancel_full()
        if pixels is not None and self.active():
            self.run_full()  # a new image: compute its result straight away

    def active(self) -> bool:
        return self.analyzers.active or any(s.enabled for s in self.pipeline.steps)

    def set_analyzers(self, settings: AnalyzerSettings) -> None:
        """New faces/objects settings: recompute the full result after a short pause."""
        if settings == self.analyzers:
            return
        self.analyzers = settings
        self.generation += 1
        self._cancel_full()
        self.sig_analyzers_changed.emit(settings)
        if self.source is not None and self.active():
            self._full_timer.start()  # debounced: a tolerance slider drag is one run

    def analysis_runner(self) -> tuple[JobRunner, StageCache | None]:
        """Where a job that needs the analyzers must run: (the model thread, its loaded models),
        or (the general pool, None) when no analyzer is on."""
        if not self.analyzers.active:
            return self.jobs, None
        if self._stages is None:
            from vision_studio.core.analyzers import StageCache

            self._stages = StageCache(threads="interactive")
        return self.model_jobs, self._stages

    def _cancel_full(self) -> None:
        self._full_timer.stop()
        self.jobs.cancel("full")
        self.model_jobs.cancel("full")

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        self._full_timer.stop()
        return self.model_jobs.shutdown(timeout_ms)

    def schedule(self) -> None:
        self.generation += 1
        self._cancel_full()  # a running full result is already stale
        self._full_timer.stop()
        if self.source is None:
            return
        self._run_preview()
        self._full_timer.start()

    def _run_preview(self) -> None:
        if self.source is None:
            return
        if self._proxy is None:
            self._proxy = make_proxy(self.source)
        proxy, scale = self._proxy
        if scale >= 1.0:
            return  # small image: the full run is as fast as a preview
        if self._preview_busy:
            self._preview_pending = True
            return
        self._preview_busy = True
        self.jobs.start(compute, self.pipeline, proxy, scale, False, self.generation, name="Preview",
                        on_result=self._on_rendered, on_error=self._on_error,
                        on_finished=self._on_preview_finished)

    def _on_preview_finished(self) -> None:
        self._preview_busy = False
        if self._preview_pending:
            self._preview_pending = False
            self._run_preview()

    def run_full(self) -> None:
        self._full_timer.stop()
        if self.source is None:
            return
        self._preview_pending = False
        if self.analyzers.active:
            _, stages = self.analysis_runner()
            self.model_jobs.start(compute_analyzed, stages, self.pipeline, self.analyzers, self.source,
                                  self.generation, name="Analysis", key="full", on_result=self._on_rendered,
                                  on_progress=self.sig_status.emit, on_error=self._on_error)
            return
        self.jobs.start(compute, self.pipeline, self.source, 1.0, True, self.generation, name="Pipeline", key="full",
                        on_result=self._on_rendered, on_error=self._on_error)

    def _on_rendered(self, rendered: Rendered) -> None:
        if rendered.generation < self._source_generation:
            return  # computed for the previous image
        last = self.last
        if not rendered.full and last is not None and last.full and rendered.generation <= last.generation:
            return  # a late preview must not replace a newer full-resolution result
        self.last = rendered
        self.sig_rendered.emit(rendered)

    def _on_error(self, exc: BaseException) -> None:
        what = "Analysis" if self.analyzers.active else "Pipeline"
        self.sig_failed.emit(f"{what} failed: {exc}")
