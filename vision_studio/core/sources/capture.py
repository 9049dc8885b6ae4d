"""One capture thread per source; the newest frame wins (a slot, never a queue).

    cap = Capture(parse_source("camera:0")).start()
    frame = cap.latest()                 # newest Frame or None, never blocks (the GUI's timer)
    frame = cap.wait_frame(after=seq)    # blocks until a newer one (an analysis worker, the CLI)
    cap.stats()                          # state, message, source fps, frames, dropped, position
    cap.pause(); cap.step(); cap.seek(120); cap.set_speed(2.0); cap.play()   # files and folders
    cap.stop()                           # joins the thread

Why a slot: a consumer slower than the source must see the present, not a backlog
that grows by the second. A frame replaced before anyone took it counts as dropped.

Files and folders are paced by their timestamps (so a 30 fps clip plays at 30 fps,
times `speed`). Cameras and streams deliver at their own pace; a watchdog reports
"reconnecting" as soon as no frame came for `stall_timeout` seconds, and when the
reader fails the source is reopened with backoff until it returns or `stop()`.
A first open that takes longer than `open_timeout` (5 s) fails with a clear message
whatever the backend does (the thread is told to stop and exits when OpenCV's own
timeout returns); a source that dies is retried, a source that never opened is not.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vision_studio.core.sources.readers import SourceInfo, open_reader
from vision_studio.core.sources.spec import SourceError, SourceSpec

STATES = ("opening", "playing", "paused", "reconnecting", "ended", "failed", "stopped")
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)  # then every 8 s
TRUNCATED_BELOW = 0.98  # a file ending before 98% of its declared frames is reported as cut short


@dataclass(frozen=True, eq=False)
class Frame:
    pixels: np.ndarray  # RGB uint8 H x W x 3
    index: int  # position in the file/folder; count since the (re)open for live sources
    timestamp: float  # seconds: media time for files, since opening for live sources
    seq: int  # increases with every frame published by this Capture (seeks and reconnects included)
    received: float  # time.monotonic() when it arrived


@dataclass(frozen=True)
class CaptureStats:
    state: str
    message: str
    source_fps: float  # measured arrival rate over the last ~2 s
    frames: int  # published
    dropped: int  # replaced before any consumer took them
    position: int  # index of the newest frame
    info: SourceInfo | None
    speed: float
    reconnects: int


class Capture:
    def __init__(self, spec: SourceSpec, *, opener: Callable = open_reader, open_timeout: float = 5.0,
                 stall_timeout: float = 2.0, backoff: tuple[float, ...] = BACKOFF_S, paced: bool = True,
                 start_paused: bool = False):
        self.spec = spec
        self._opener = opener
        self.open_timeout, self.stall_timeout, self.backoff, self.paced = open_timeout, stall_timeout, backoff, paced
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state, self._message = "opening", f"Opening {spec.label}…"
        self._opened_once = False
        self._open_started = time.monotonic()
        self.info: SourceInfo | None = None
        self._latest: Frame | None = None
        self._taken = True
        self._seq = self._frames = self._dropped = self._reconnects = 0
        self._arrivals: deque[float] = deque(maxlen=240)
        self._last_arrival = 0.0
        # Player commands, read by the capture thread under the condition's lock.
        self._paused, self._steps, self._seek, self._speed = start_paused, 0, None, 1.0
        self._anchor: tuple[float, float] | None = None  # (wall time, media time) pacing reference

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> Capture:
        self._open_started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"capture {self.spec.label}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 6.0) -> bool:
        """Stop and join; False if the thread is still inside a blocking OpenCV call after `timeout`."""
        self._stop.set()
        with self._cond:
            if self._state not in ("failed", "ended"):
                self._state = "stopped"
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---- consumers -------------------------------------------------------------------------
    def latest(self, take: bool = True) -> Frame | None:
        with self._cond:
            self._watch()
            if take:
                self._taken = True
            return self._latest

    def wait_frame(self, after: int = -1, timeout: float | None = None, take: bool = True) -> Frame | None:
        """The newest frame with seq > `after`; None on timeout or when the source is done.
        `take=False`: a side consumer (analysis, recorder) that must not hide drops from the display."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                self._watch()
                if self._latest is not None and self._latest.seq > after:
                    self._taken = self._taken or take
                    return self._latest
                if self._state in ("failed", "ended", "stopped"):
                    return None
                left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
                if left <= 0:
                    return None
                self._cond.wait(left)

    def stats(self) -> CaptureStats:
        with self._cond:
            self._watch()
            return CaptureStats(self._state, self._message, self._fps(), self._frames, self._dropped,
                                self._latest.index if self._latest else -1, self.info, self._speed,
                                self._reconnects)

    # ---- player controls (files and folders; harmless on live sources) ---------------------
    def play(self) -> None:
        self._command(paused=False)

    def pause(self) -> None:
        self._command(paused=True)

    def step(self, n: int = 1) -> None:
        """Pause and show the next frame (n < 0: go back by seeking)."""
        if n < 0:
            pos = self._latest.index if self._latest else 0
            self._command(paused=True, seek=max(0, pos + n))
        else:
            with self._cond:
                self._paused = True
                self._steps += n
                self._cond.notify_all()

    def seek(self, index: int) -> None:
        self._command(seek=max(0, int(index)))

    def set_speed(self, speed: float) -> None:
        if not 0.05 <= speed <= 16:
            raise ValueError(f"speed must be within 0.05..16, got {speed}")
        self._command(speed=float(speed))

    def _command(self, **kw) -> None:
        with self._cond:
            for k, v in kw.items():
                setattr(self, f"_{k}", v)
            self._anchor = None  # re-anchor the clock at the next frame
            if self._state == "ended" and (kw.get("seek") is not None or kw.get("paused") is False):
                # leaving the end: not done any more (and no longer says "End of …")
                self._state, self._message = "paused" if self._paused else "playing", self._playing_message()
            self._cond.notify_all()

    # ---- the capture thread ----------------------------------------------------------------
    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                reader = self._opener(self.spec)
            except SourceError as exc:
                if not self._retry(str(exc), attempt):
                    return
                attempt += 1
                continue
            except Exception as exc:  # noqa: BLE001 - an unforeseen backend error: one line, not a dead thread
                self._finish("failed", f"{self.spec.label}: {type(exc).__name__}: {exc}")
                return
            if self._stop.is_set():  # stopped, or the open took longer than open_timeout
                reader.close()
                return
            with self._cond:
                self.info, self._opened_once, attempt = reader.info, True, 0
                self._set("paused" if self._paused else "playing", self._playing_message())
            try:
                self._pump(reader)
                return
            except SourceError as exc:
                if not self._retry(str(exc), attempt):
                    return
                attempt += 1
            finally:
                reader.close()

    def _retry(self, message: str, attempt: int) -> bool:
        """Wait out the backoff before reopening a live source that had worked; False: give up."""
        if not (self.spec.live and self._opened_once):
            self._finish("failed", message)
            return False
        delay = self.backoff[min(attempt, len(self.backoff) - 1)]
        with self._cond:
            self._reconnects += 1
            self._set("reconnecting", f"Reconnecting… {message}; retry in {delay:g} s")
        return not self._stop.wait(delay)

    def _pump(self, reader) -> None:
        held = None  # a frame read but not yet due when a pause came: the next step shows it
        while not self._stop.is_set():
            with self._cond:
                if self._seek is not None and reader.info.seekable:
                    reader.seek(self._seek)
                    self._seek, self._anchor, held = None, None, None
                    self._steps = max(self._steps, 1 if self._paused else 0)  # show where we landed
                if self._paused and self._steps <= 0 and not self.spec.live:
                    if self._state not in ("paused", "ended"):
                        self._set("paused", self._playing_message())
                    self._cond.wait(0.2)
                    continue
                stepping = self._steps > 0
                self._steps = max(0, self._steps - 1)
            got, held = (held, None) if held is not None else (reader.read(), None)
            if got is None:
                self._at_end(reader)
                continue
            pixels, ts, index = got[0], got[1], got[2] if len(got) > 2 else reader.position
            if self.paced and not self.spec.live and not stepping and not self._wait_until(ts):
                held = (pixels, ts, index)  # a command came first: keep it for the step or the resume
                continue
            self._publish(Frame(pixels, index, ts, 0, 0.0))

    def _wait_until(self, ts: float) -> bool:
        """Sleep until media time `ts` is due; False when a command (seek, pause, speed) came first."""
        with self._cond:
            now = time.monotonic()
            if self._anchor is None:
                self._anchor = (now, ts)
                return True
            due = self._anchor[0] + (ts - self._anchor[1]) / self._speed
            if due < now - 0.25:  # far behind (slow decode): re-anchor instead of racing to catch up
                self._anchor = (now, ts)
                return True
            while now < due:
                anchor = self._anchor
                self._cond.wait(due - now)
                if self._stop.is_set() or self._seek is not None or self._paused:
                    return False
                if self._anchor is not anchor:  # the speed changed: this frame is due now
                    self._anchor = (time.monotonic(), ts)
                    return True
                now = time.monotonic()
            return True

    def _at_end(self, reader) -> None:
        info, pos = reader.info, reader.position
        if info.frame_count and pos + 1 < int(info.frame_count * TRUNCATED_BELOW):
            raise SourceError(f"{self.spec.label}: stopped at frame {pos + 1} of {info.frame_count} "
                              "(the file is truncated or damaged)")
        with self._cond:
            self._paused, self._steps = True, 0
            self._set("ended", f"End of {self.spec.label} ({pos + 1} frames)")
            while not self._stop.is_set() and self._seek is None and self._steps == 0 and self._paused:
                self._cond.wait(0.2)
            if self._seek is None and self._steps:  # step past the end: stay at the end
                self._steps = 0
            elif self._seek is None and not self._paused:  # play at the end: from the start
                self._seek = 0

    def _publish(self, frame: Frame) -> None:
        now = time.monotonic()
        with self._cond:
            if self._stop.is_set():
                return
            if self._latest is not None and not self._taken:
                self._dropped += 1
            self._seq += 1
            self._frames += 1
            self._latest = Frame(frame.pixels, frame.index, frame.timestamp, self._seq, now)
            self._taken = False
            self._arrivals.append(now)
            self._last_arrival = now
            if self._state != "playing" and not (self._paused and not self.spec.live):
                self._set("playing", self._playing_message())
            self._cond.notify_all()

    # ---- state (callers hold the lock) -----------------------------------------------------
    def _set(self, state: str, message: str) -> None:
        if self._state in ("failed", "stopped") and state not in ("failed",):
            return
        self._state, self._message = state, message
        self._cond.notify_all()

    def _finish(self, state: str, message: str) -> None:
        with self._cond:
            if self._state != "stopped":
                self._state, self._message = state, message
            self._stop.set()
            self._cond.notify_all()

    def _playing_message(self) -> str:
        i = self.info
        return f"{self.spec.label}: {i.width}x{i.height} @ {i.fps:g} fps ({i.backend})" if i else self.spec.label

    def _watch(self) -> None:
        """The watchdog, run by every consumer call: a first open past its time, a live stall."""
        now = time.monotonic()
        if self._state == "opening" and not self._opened_once and now - self._open_started > self.open_timeout:
            self._state = "failed"
            self._message = (f"{self.spec.label}: no video within {self.open_timeout:g} s "
                             "(the source accepted the connection but sent nothing)")
            self._stop.set()
        elif (self._state == "playing" and self.spec.live and self._last_arrival
              and now - self._last_arrival > self.stall_timeout):
            self._state = "reconnecting"
            self._message = f"Reconnecting… {self.spec.label}: no frame for {now - self._last_arrival:.0f} s"

    def _fps(self) -> float:
        a = self._arrivals
        now = time.monotonic()
        recent = [t for t in a if now - t <= 2.0]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)
