"""One video, stream or camera through the analysis plan, into an annotated MP4 and a jsonl.

`analyze_video` is a generator (progress about once a second, then the outcome) so the
CLI (`analyze clip.mp4`) and the window's batch dialog run the very same loop. The files
are written under temporary names and renamed when the run ends, also when it ends early
(a stop request, Ctrl+C, max_frames, a stream that dropped): what was analysed is kept.
A file is analysed frame by frame; a camera or stream live, on the newest frame (the
video repeats each analysed frame until the next, so it plays in real time).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vision_studio.core.sources.spec import SourceError


@dataclass(frozen=True)
class VideoProgress:
    frames: int  # analysed so far
    total: int | None  # frames in the file (None: live, or unknown)
    elapsed: float

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class VideoOutcome:
    mp4: Path
    jsonl: Path
    frames: int = 0
    elapsed: float = 0.0
    size_bytes: int = 0
    error: str | None = None  # why it ended early (the files hold what came before)
    skipped: bool = False  # the outputs existed and overwrite was off


def analyze_video(spec, plan, outdir: Path, *, overwrite: bool = False, max_frames: int | None = None,
                  should_stop: Callable[[], bool] | None = None, report_every: float = 1.0):
    """Yields VideoProgress, returns VideoOutcome; SourceError/ExportError when nothing was written."""
    from vision_studio.core.analysis import analyze_image
    from vision_studio.core.export import atomic_write
    from vision_studio.core.results import ImageResults
    from vision_studio.core.sources import analysis as video
    from vision_studio.core.sources.writer import VideoWriter

    outdir = Path(outdir)
    mp4, jsonl = outdir / f"{spec.stem}.annotated.mp4", outdir / f"{spec.stem}.frames.jsonl"
    if not overwrite and (mp4.exists() or jsonl.exists()):
        return VideoOutcome(mp4, jsonl, skipped=True)
    vplan = video.for_video(plan)
    frames = _frames(spec)
    try:
        try:
            first = next(frames)  # opens the source: a SourceError comes before anything is written
        except StopIteration:
            raise SourceError(f"{spec.label}: no frames") from None
        info, error, n, t0, last_report = first[0], None, 0, time.monotonic(), time.monotonic()
        total = int(info.frame_count) if info.frame_count and not spec.live else None
        writer = VideoWriter(mp4, fps=info.fps)
        try:
            with atomic_write(jsonl) as out:
                try:
                    for _info, frame in _chain(first, frames):
                        annotated, dets = analyze_image(vplan, frame.pixels)
                        for _ in range(_repeats(spec, writer, frame.timestamp - first[1].timestamp)):
                            writer.write(annotated)
                        h, w = frame.pixels.shape[:2]
                        entry = ImageResults(spec.label, w, h, tuple(dets), frame.index, frame.timestamp)
                        out.write((json.dumps(entry.to_dict(), ensure_ascii=False) + "\n").encode("utf-8"))
                        n += 1
                        now = time.monotonic()
                        if now - last_report >= report_every:
                            last_report = now
                            yield VideoProgress(n, total, now - t0)
                        if max_frames and n >= max_frames:
                            break
                        if should_stop is not None and should_stop():
                            error = f"{spec.label}: stopped after {n} frames"
                            break
                except SourceError as exc:  # what was analysed before is kept
                    error = str(exc)
                except KeyboardInterrupt:
                    error = f"{spec.label}: interrupted after {n} frames"
                if n == 0:
                    raise SourceError(error or f"{spec.label}: no frames")
            writer.close()
        except BaseException:  # a failure or a model that broke mid-run: no half-written video
            writer.abort()
            raise
    finally:
        frames.close()
    return VideoOutcome(mp4, jsonl, n, time.monotonic() - t0, writer.size_bytes, error)


def _repeats(spec, writer, t: float) -> int:
    """How often to write this frame: once for files; for live sources as often as keeps the
    video in real time (analysis is slower than the source, so frames were skipped)."""
    if not spec.live:
        return 1
    due = int(t * writer.fps) + 1
    return max(1, min(due - writer.frames, int(writer.fps * 10)))


def _chain(first, rest):
    yield first
    yield from rest


def _frames(spec):
    """(SourceInfo, Frame) for every frame of a file, or the newest frames of a live source."""
    from vision_studio.core.sources.capture import Capture, Frame
    from vision_studio.core.sources.readers import open_reader

    if not spec.live:
        reader = open_reader(spec)
        try:
            seq = 0
            while (got := reader.read()) is not None:
                seq += 1
                yield reader.info, Frame(got[0], reader.position, got[1], seq, time.monotonic())
            count = reader.info.frame_count
            if count and reader.position + 1 < int(count * 0.98):
                raise SourceError(f"{spec.label}: stopped at frame {reader.position + 1} of {count} "
                                  "(the file is truncated or damaged)")
        finally:
            reader.close()
        return
    cap = Capture(spec).start()
    try:
        seq = -1
        while True:
            frame = cap.wait_frame(seq, timeout=1.0)
            st = cap.stats()
            if frame is None:
                if st.state in ("failed", "ended", "stopped"):
                    raise SourceError(st.message)
                continue
            seq = frame.seq
            yield st.info, frame
    finally:
        cap.stop()
