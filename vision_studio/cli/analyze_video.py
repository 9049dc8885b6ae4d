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

import sys
from pathlib import Path

from vision_studio.core.sources.spec import SourceError, is_live_input, parse_source

__all__ = ["add_arguments", "cmd_analyze_video", "is_video_job"]


def add_arguments(p) -> None:
    g = p.add_argument_group("video, streams and cameras")
    g.add_argument("--max-frames", type=int, metavar="N", help="stop after N analysed frames")
    g.add_argument("--tracker", choices=("bytetrack", "botsort"), default="bytetrack",
                   help="how objects keep their track ids across frames (ultralytics' ByteTrack or BoT-SORT)")
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
    created = not outdir.exists()
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(f"{outdir}: cannot create folder ({exc.strerror or exc})")
    failed = 0
    for spec in specs:
        failed += run_one(spec, plan, outdir, args)
    if created and not any(outdir.iterdir()):
        outdir.rmdir()  # no source could be opened: leave no empty folder behind
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
    from vision_studio.core.export import ExportError
    from vision_studio.core.sources.video_job import analyze_video

    job = analyze_video(spec, plan, outdir, overwrite=args.overwrite, max_frames=args.max_frames)
    shown = False
    try:
        while True:
            p = next(job)
            if sys.stderr.isatty():
                total = f"/{p.total}" if p.total else ""
                print(f"\r{spec.label}: frame {p.frames}{total}, {p.fps:.1f} fps analysed", end="", file=sys.stderr)
                shown = True
    except StopIteration as stop:
        outcome = stop.value
    except (SourceError, ExportError) as exc:
        print(("\n" if shown else "") + str(exc), file=sys.stderr)
        return 1
    if shown:
        print(file=sys.stderr)
    if outcome.skipped:
        print(f"{spec.label}: skipped: {outcome.mp4.name} exists (use --overwrite)", file=sys.stderr)
        return 0
    if outcome.error:
        print(outcome.error, file=sys.stderr)
    n, elapsed = outcome.frames, outcome.elapsed
    print(f"{spec.label}: {n} frames in {elapsed:.1f} s ({n / max(elapsed, 1e-9):.1f} fps) -> {outcome.mp4} "
          f"({outcome.size_bytes / 1e6:.1f} MB), {outcome.jsonl.name}", file=sys.stderr)
    return 1 if outcome.error else 0
