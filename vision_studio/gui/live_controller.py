"""Live sources in the window: capture thread -> canvas at the source rate, one analysis job.

Threads (nothing here ever waits for a model):
- the Capture's own thread keeps the newest frame (core/sources/capture.py);
- a QTimer on the GUI thread pulls that frame every half frame interval and shows it
  with the latest overlays: the picture moves at the source rate whatever the models cost;
- with filters on, ONE filter job filters every newest frame into a slot the timer shows
  instead (core/sources/live.filter_loop), so filtered video keeps the source rate too; with
  anonymizing on, the analysed images themselves are shown (never a face before its blur);
- ONE analysis job (a serial JobRunner: one owning thread, its own StageCache) analyses
  the newest frame it can get with the current pipeline + analyzer settings
  (core/sources/live.analysis_loop) and yields results, which replace the overlays;
- a recording, when on, is one more job writing annotated frames (core/sources/live.Recorder).
`stop()` (another source, an image opened, the window closing) ends all of them and joins
the capture thread. The HUD on the canvas shows source/displayed/analysis fps, latency and
dropped frames; a banner shows "Reconnecting…" or the reason a source failed.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel

from vision_studio.gui.qimage import rgb_to_pixmap
from vision_studio.gui.workers import JobRunner

if TYPE_CHECKING:
    from vision_studio.core.sources import SourceSpec
    from vision_studio.core.sources.capture import Capture
    from vision_studio.core.sources.live import LiveResult

log = logging.getLogger(__name__)
_HUD_STYLE = "QLabel { background: rgba(0, 0, 0, 150); color: white; padding: 4px 8px; border-radius: 4px; }"
_BANNER_STYLE = ("QLabel { background: rgba(20, 20, 20, 190); color: #ffd27f; padding: 14px 20px;"
                 " border-radius: 8px; font-size: 15pt; }")


class _Rate:
    """Events per second over the last 2 s."""

    def __init__(self):
        self._t: deque[float] = deque(maxlen=300)

    def tick(self) -> None:
        self._t.append(time.monotonic())

    def value(self) -> float:
        now = time.monotonic()
        recent = [t for t in self._t if now - t <= 2.0]
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6) if len(recent) >= 2 else 0.0


class LiveController(QObject):
    sig_state = Signal(str, str)  # state, message (capture states, see core/sources/capture.py)
    sig_position = Signal(int, int)  # frame index, frame count (0: live)
    sig_hud = Signal(str)
    sig_recording = Signal(str)  # "" when not recording, else "● REC 0:12 · 3.4 MB"
    sig_message = Signal(str)  # for the status bar

    def __init__(self, canvas, pipeline, parent=None):
        super().__init__(parent)
        self.canvas, self.pipeline = canvas, pipeline
        self.jobs = JobRunner(self, serial=True)  # the analysis thread: one owner for its models
        self.filter_jobs = JobRunner(self, serial=True)  # the filter thread (filters on, per frame)
        self.side_jobs = JobRunner(self)  # recording, snapshots
        self.capture: Capture | None = None
        self._stages = None  # StageCache, created and used only inside self.jobs' jobs
        self._box = None
        self._generation = 0
        self._seq = -1
        self._frame = None
        self._slot = None  # core.sources.live.FrameSlot: the filter thread's newest picture
        self._picture = None  # the RGB image on screen (a frame, filtered or analysed)
        self._drawn: tuple = ()  # (result, width, height) the canvas overlays show
        self.result: LiveResult | None = None
        self._recorder = None
        self._shown, self._analysed = _Rate(), _Rate()
        self._latency = 0.0
        self._state = ("", "")
        self._pending_position: tuple[int, int] | None = None
        self._position_sent = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._hud_timer = QTimer(self)
        self._hud_timer.setInterval(500)
        self._hud_timer.timeout.connect(self._update_hud)
        self.hud = self._overlay(_HUD_STYLE)
        self.banner = self._overlay(_BANNER_STYLE)
        self.banner.setWordWrap(True)
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pipeline.sig_pipeline_changed.connect(lambda _p: self._push_request())
        pipeline.sig_analyzers_changed.connect(lambda _s: self._push_request())

    def _overlay(self, style: str) -> QLabel:
        label = QLabel(self.canvas.viewport())
        label.setStyleSheet(style)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        label.hide()
        return label

    # ------------------------------------------------------------------ sources
    @property
    def active(self) -> bool:
        return self.capture is not None

    def open(self, spec: SourceSpec) -> None:
        from vision_studio.core.sources.capture import Capture
        from vision_studio.core.sources.live import FrameSlot, RequestBox, analysis_loop, filter_loop

        self.stop()
        self.capture = Capture(spec).start()
        self._seq, self._frame, self.result, self._state, self._drawn = -1, None, None, ("", ""), ()
        self._pending_position = None
        self._shown, self._analysed = _Rate(), _Rate()
        self.canvas.clear(f"Opening {spec.label}…")
        self._box, self._slot = RequestBox(), FrameSlot()
        self._push_request()
        self.jobs.start(analysis_loop, self.capture, self._box, self._stage_cache(), self._slot,
                        name="Live analysis", key="live", on_progress=self._on_analysis)
        self.filter_jobs.start(filter_loop, self.capture, self._box, self._slot, name="Live filters",
                               key="live", on_progress=self._on_analysis)
        self._timer.start(8)  # re-set to half the frame interval once the rate is known
        self._hud_timer.start()
        self.sig_message.emit(f"Opening {spec.label}…")

    def _stage_cache(self):
        from vision_studio.core.analyzers import StageCache

        if self._stages is None:  # created here, but only ever used by self.jobs' one thread
            self._stages = StageCache(threads="live")  # leaves a core for decoding and painting
        return self._stages

    def stop(self) -> bool:
        """Stop the source and every thread it uses; True when all ended in time."""
        self._timer.stop()
        self._hud_timer.stop()
        self.stop_recording()
        if self._box is not None:
            self._box.stop.set()
        self.jobs.cancel("live")
        self.filter_jobs.cancel("live")
        ok = True
        if self.capture is not None:
            ok = self.capture.stop()
            self.capture = None
        ok = all([self.jobs.shutdown(8000), self.filter_jobs.shutdown(8000), self.side_jobs.shutdown(8000), ok])
        self._box, self.result, self._frame, self._recorder, self._drawn = None, None, None, None, ()
        self._slot = self._picture = None
        self.hud.hide()
        self.banner.hide()
        self.sig_recording.emit("")
        return ok

    def _push_request(self) -> None:
        from vision_studio.core.sources.live import LiveRequest

        if self._box is not None:
            self._generation += 1
            self._box.set(LiveRequest(self.pipeline.pipeline, self.pipeline.analyzers, self._generation))

    # ------------------------------------------------------------------ player controls
    def play(self) -> None:
        if self.capture:
            self.capture.play()

    def pause(self) -> None:
        if self.capture:
            self.capture.pause()

    def toggle(self) -> None:
        if self.capture:
            st = self.capture.stats().state
            self.capture.play() if st in ("paused", "ended") else self.capture.pause()

    def step(self, n: int = 1) -> None:
        if self.capture:
            self.capture.step(n)

    def seek(self, index: int) -> None:
        if self.capture:
            self.capture.seek(index)

    def set_speed(self, speed: float) -> None:
        if self.capture:
            self.capture.set_speed(speed)

    # ------------------------------------------------------------------ display
    def _tick(self) -> None:
        cap = self.capture
        if cap is None:
            return
        st = cap.stats()
        if (st.state, st.message) != self._state:
            self._on_state(st)
        self._report_position()
        res = self.result
        if res is not None and res.image is not None:
            return  # anonymized view: the analysed images are shown as they come
        filtered = self._slot.latest() if self._slot is not None else None  # filters on
        frame = filtered.frame if filtered is not None else cap.latest()
        if frame is None or frame.seq == self._seq:
            return
        self._seq, self._frame = frame.seq, frame
        self._show(filtered.image if filtered is not None else frame.pixels)
        self._pending_position = (frame.index, (st.info.frame_count or 0) if st.info else 0)
        if st.state != "playing":  # a step or a seek: its frame number at once
            self._report_position(force=True)

    def _report_position(self, force: bool = False) -> None:
        """sig_position at most 10 times a second: the seek bar and the frame number move
        with the picture without repainting the Sources panel on every frame (measured:
        a third of the GUI thread's time at 30 fps). A pending position is sent next tick."""
        now = time.monotonic()
        if self._pending_position is not None and (force or now - self._position_sent >= 0.1):
            self.sig_position.emit(*self._pending_position)
            self._pending_position, self._position_sent = None, now

    def _show(self, rgb) -> None:
        pixmap = rgb_to_pixmap(rgb)
        self.canvas.set_pixmap(pixmap, keep_view=True, keep_overlays=True)
        self._picture = rgb
        self._draw_overlays(pixmap.width(), pixmap.height())
        self._shown.tick()

    def _draw_overlays(self, width: int, height: int) -> None:
        res = self.result
        drawn = (res, width, height)
        if drawn != self._drawn:  # overlays change with a result (or the frame size), not every frame
            self._drawn = drawn
            if res is not None and res.detections:
                self.canvas.set_results(list(res.detections), res.style)
            else:
                self.canvas.clear_overlays()

    def _on_analysis(self, item) -> None:
        from vision_studio.core.sources.live import LiveResult, LiveStatus

        if isinstance(item, LiveStatus):
            self.sig_message.emit(item.text)
            if item.error:
                log.error("%s", item.text)
            return
        if not isinstance(item, LiveResult) or self.capture is None:
            return
        self.result = item
        if item.seq < 0:  # analysis is off: no overlays
            return
        self._analysed.tick()
        self._latency = item.latency
        if item.image is not None:
            self._show(item.image)
            self._pending_position = (item.index, self._count())
        elif self._picture is not None and self._frame is not None and self._frame.seq == item.seq:
            h, w = self._picture.shape[:2]
            self._draw_overlays(w, h)  # overlays for the frame on screen right now

    def _count(self) -> int:
        info = self.capture.info if self.capture else None
        return (info.frame_count or 0) if info else 0

    def _on_state(self, st) -> None:
        self._state = (st.state, st.message)
        if st.info and st.info.fps:
            self._timer.setInterval(max(4, int(500 / st.info.fps)))
        # A banner over the picture; with no picture yet, the canvas itself says it (once).
        if st.state == "reconnecting" or (st.state == "failed" and self._frame is not None):
            self.banner.setText(("Reconnecting…\n" if st.state == "reconnecting" else "") +
                                st.message.replace("Reconnecting… ", ""))
            self._place_banner()
        else:
            self.banner.hide()
        if st.state == "failed" and self._frame is None:
            self.report_error(st.message)
        self.sig_state.emit(st.state, st.message)
        self.sig_message.emit(st.message)

    def report_error(self, message: str) -> None:
        """A source could not be opened: the canvas says why, unless a picture is playing."""
        if self._frame is None or self.capture is None:
            self.banner.hide()
            self.canvas.clear(f"Cannot open this source\n\n{message}")

    def _place_banner(self) -> None:
        vp = self.canvas.viewport()
        self.banner.setMaximumWidth(max(200, vp.width() - 40))
        self.banner.adjustSize()
        self.banner.move((vp.width() - self.banner.width()) // 2, (vp.height() - self.banner.height()) // 2)
        self.banner.show()
        self.banner.raise_()

    def hud_text(self) -> str:
        st = self.capture.stats() if self.capture else None
        if st is None:
            return ""
        res = self.result
        if res is not None and res.seq < 0:
            analysis = "analysis off"
        elif res is not None:
            analysis = f"analysis {self._analysed.value():.1f} fps · latency {self._latency * 1000:.0f} ms"
        else:
            analysis = "analysis …"
        return (f"source {st.source_fps:.1f} fps · shown {self._shown.value():.1f} fps · {analysis}"
                f" · dropped {st.dropped}")

    def _update_hud(self) -> None:
        if self._state[0] == "failed":  # "0.0 fps" over a source that could not open says nothing
            self.hud.hide()
            self.sig_hud.emit("")
            return
        text = self.hud_text()
        if self._recorder is not None:
            text += "   " + self._rec_text
        self.hud.setText(text)
        self.hud.adjustSize()
        self.hud.move(8, 8)
        self.hud.show()
        self.hud.raise_()
        self.sig_hud.emit(text)
        if self.banner.isVisible():
            self._place_banner()

    # ------------------------------------------------------------------ snapshot and record
    def snapshot(self, path: str | Path) -> bool:
        """Save the frame on screen with its overlays (atomically); False when there is none."""
        res = self.result
        image = res.image if res is not None and res.image is not None else self._picture
        if image is None:
            return False
        dets = list(res.detections) if res is not None else []
        style = res.style if res is not None else None
        self.side_jobs.start(_save_snapshot, Path(path), image, dets, style, name=f"Snapshot {Path(path).name}",
                             on_result=lambda p: self.sig_message.emit(f"Saved {p}"),
                             on_error=lambda exc: self.sig_message.emit(f"Snapshot failed: {exc}"))
        return True

    @property
    def recording(self) -> bool:
        return self._recorder is not None

    def start_recording(self, path: str | Path) -> bool:
        from vision_studio.core.sources.live import Recorder

        if self.capture is None or self.capture.info is None or self._recorder is not None:
            return False
        self._recorder = Recorder(path, self.capture, lambda: self.result, self._slot)
        self._rec_text = "● REC 0:00 · 0.0 MB"
        self.sig_recording.emit(self._rec_text)
        self.side_jobs.start(self._recorder.run, name=f"Recording {Path(path).name}",
                             on_progress=self._on_record_progress, on_result=self._on_record_done,
                             on_error=self._on_record_error)
        return True

    def stop_recording(self) -> None:
        if self._recorder is not None:
            self._recorder.stop()  # the job closes the file and renames it into place

    def _on_record_progress(self, p) -> None:
        self._rec_text = f"● REC {int(p.elapsed) // 60}:{int(p.elapsed) % 60:02d} · {p.size_bytes / 1e6:.1f} MB"
        self.sig_recording.emit(self._rec_text)

    def _on_record_done(self, p) -> None:
        self._recorder = None
        self.sig_recording.emit("")
        self.sig_message.emit(f"Saved {p.path} ({p.frames} frames, {p.size_bytes / 1e6:.1f} MB, "
                              f"{p.elapsed:.0f} s)" if p else "Nothing was recorded")

    def _on_record_error(self, exc) -> None:
        self._recorder = None
        self.sig_recording.emit("")
        self.sig_message.emit(f"Recording failed: {exc}")


def _save_snapshot(path: Path, image, detections, style):
    from vision_studio.core.annotate import Style, render
    from vision_studio.core.export import save_image

    out = render(image, detections, style or Style()) if detections else image
    return save_image(path, out)
