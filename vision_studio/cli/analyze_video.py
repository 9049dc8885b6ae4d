"""`vision-studio analyze SOURCE -o OUTDIR` for a video file, a stream URL or camera:N.

Writes OUTDIR/<stem>.annotated.mp4 (overlays burned in) and OUTDIR/<stem>.frames.jsonl:
one JSON object per analysed frame, `{"source", "width", "height", "frame", "timestamp",
"results": [...]}` with results as in results.json (objects carry `track_id`, faces
their name on the track). Both are written under temporary names and renamed when the
run ends, also when it ends early (Ctrl+C, --max-frames, a stream that dropped).

A file is analysed frame by frame, every frame, as fast as the models allow. A camera or
a stream is analysed live: the capture thread keeps the newest frame, so frames that
arrive while the model is busy are skipped (the jsonl's frame numbers show which; the
video repeats each analysed frame until the next, so it plays in real time) and a
source that stalls is reconnected; the run ends at --max-frames, Ctrl+C, or when the
source gives up.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from vision_studio.core.sources.spec import SourceError, is_live_input, parse_source

__all__ = ["add_arguments", "cmd_analyze_video", "is_video_job"]


def add_arguments(p) -> None:
    g = p.add_argument_group("video, streams and cameras")
    g.add_argument("--max-frames", type=int, metavar="N", help="stop after N analysed frames")
    g.add_argument("--camera-size", metavar="WxH", help="camera resolution to ask for, e.g. 1280x720")
    g.add_argument("--camera-fps", type=float, metavar="FPS", help="camera frame rate to ask for")


def is_video_job(inputs: list[str]) -> bool:
    """True when the inputs are videos/URLs/cameras (mixing them with images is refused later)."""
    return any(is_live_input(i) for i in inputs)


def _fail(message: str, code: int = 2) -> int:
    print(f"vision-studio analyze: error: {message}", file=sys.stderr)
    return code


def cmd_analyze_video(args) -> int:
    from vision_studio.cli import analyze as image_cli
    from vision_studio.core.analysis import AnalysisPlan
    from vision_studio.core.pipeline import Pipeline, PipelineError, load

    if not all(is_live_input(i) for i in args.inputs):
        return _fail("give videos, stream URLs and cameras in a run of their own, not mixed with images")
    if args.max_frames is not None and args.max_frames < 1:
        return _fail(f"--max-frames {args.max_frames}: must be at least 1")
    try:
        size = _parse_size(args.camera_size)
        specs = [parse_source(i, *size, args.camera_fps) for i in args.inputs]
        pipeline = load(args.pipeline) if args.pipeline else Pipeline()
    except (ValueError, PipelineError) as exc:
        return _fail(str(exc))
    except SourceError as exc:
        print(f"{exc}", file=sys.stderr)
        return 1
    plan = AnalysisPlan(pipeline=pipeline, detect_on=args.detect_on)
    try:
        if args.faces:
            plan.faces = image_cli.face_stage(args)
        if args.objects:
            plan.objects = image_cli.object_stage(args)
    except Exception as exc:  # ValueError, GalleryError, ModelError: all carry a one-line reason
        if getattr(args, "debug", False):
            raise
        return _fail(str(exc))
    outdir = Path(args.output)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(f"{outdir}: cannot create folder ({exc.strerror or exc})")
    failed = 0
    for spec in specs:
        failed += run_one(spec, plan, outdir, args)
    return 1 if failed else 0


def _parse_size(text: str | None) -> tuple[int | None, int | None]:
    if not text:
        return None, None
    w, sep, h = text.lower().partition("x")
    if not (sep and w.isdigit() and h.isdigit()):
        raise ValueError(f"--camera-size {text}: use WIDTHxHEIGHT, e.g. 1280x720")
    return int(w), int(h)


def run_one(spec, plan, outdir: Path, args) -> int:
    """Analyse one source; 0 when it went to its end (or the asked frame count), 1 on failure."""
    from vision_studio.core.analysis import analyze_image
    from vision_studio.core.export import ExportError, atomic_write
    from vision_studio.core.results import ImageResults
    from vision_studio.core.sources import analysis as video
    from vision_studio.core.sources.writer import VideoWriter

    mp4, jsonl = outdir / f"{spec.stem}.annotated.mp4", outdir / f"{spec.stem}.frames.jsonl"
    if not args.overwrite and (mp4.exists() or jsonl.exists()):
        print(f"{spec.label}: skipped: {mp4.name} exists (use --overwrite)", file=sys.stderr)
        return 0
    vplan = video.for_video(plan)
    frames = _frames(spec)
    try:
        first = next(frames)  # opens the source: a SourceError comes before anything is written
    except StopIteration:
        first = None
    except SourceError as exc:
        print(exc, file=sys.stderr)
        return 1
    if first is None:
        print(f"{spec.label}: no frames", file=sys.stderr)
        return 1
    info, error, n, t0, last_report = first[0], None, 0, time.monotonic(), 0.0
    writer = None
    try:
        writer = VideoWriter(mp4, fps=info.fps)
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
                    if now - last_report >= 1.0 and sys.stderr.isatty():
                        total = f"/{info.frame_count}" if info.frame_count else ""
                        print(f"\r{spec.label}: frame {frame.index + 1}{total}, {n / (now - t0):.1f} fps "
                              "analysed", end="", file=sys.stderr)
                        last_report = now
                    if args.max_frames and n >= args.max_frames:
                        break
            except SourceError as exc:  # what was analysed before is kept
                error = str(exc)
            except KeyboardInterrupt:
                error = f"{spec.label}: interrupted after {n} frames"
            if n == 0:
                raise SourceError(error or f"{spec.label}: no frames")
        writer.close()
    except (SourceError, ExportError) as exc:
        if writer is not None:
            writer.abort()
        print(("\n" if last_report else "") + str(exc), file=sys.stderr)
        return 1
    except BaseException:  # a model that broke mid-run: no half-written video left behind
        if writer is not None:
            writer.abort()
        raise
    finally:
        frames.close()
    if last_report:
        print(file=sys.stderr)
    if error:
        print(error, file=sys.stderr)
    elapsed = time.monotonic() - t0
    print(f"{spec.label}: {n} frames in {elapsed:.1f} s ({n / max(elapsed, 1e-9):.1f} fps) -> {mp4} "
          f"({writer.size_bytes / 1e6:.1f} MB), {jsonl.name}", file=sys.stderr)
    return 1 if error else 0


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
