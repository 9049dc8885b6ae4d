"""`vision-studio analyze`: filters, faces and objects over images and folders, headless.

Folders are batches (core/batch.py: decoding, analysis and encoding overlap; the
models stay in this thread). Exit status: 0 when every input succeeded, 1 when some
failed (each named on stderr as `PATH: error: REASON`, one line), 2 on usage errors
(including an invalid pipeline or style file, reported before anything is written).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vision_studio.core.analysis import AnalysisPlan, FaceStage, ObjectStage
from vision_studio.core.annotate import Style
from vision_studio.core.batch import ALL_FORMATS, BatchOptions, collect, run_batch
from vision_studio.core.export import FORMATS
from vision_studio.core.pipeline import Pipeline, PipelineError, load


def register(sub):
    p = sub.add_parser("analyze", help="apply a pipeline to images or folders and write the results")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    p.add_argument("--pipeline", metavar="FILE", help="pipeline JSON file (see `vision-studio ops`)")
    p.add_argument("--format", metavar="EXT", help="output image format, e.g. png or jpg "
                   "(default: the input's format when writable, else png)")
    p.add_argument("--recursive", action="store_true", help="include sub-folders (mirrored in OUTDIR)")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    p.add_argument("--quality", type=int, default=95, metavar="Q", help="JPEG/WebP quality (default 95)")
    p.add_argument("--formats", default="json", metavar="LIST",
                   help="what to write besides the images, comma-separated: json (results.json, always "
                   "written), csv, coco (coco.json), yolo (yolo/ with data.yaml), voc (voc/Annotations), "
                   "crops (crops/PERSON/ face crops), report (summary.csv and report.html)")
    p.add_argument("--annotated", action=argparse.BooleanOptionalAction, default=True,
                   help="write the annotated images (default: yes)")
    p.add_argument("--style", metavar="FILE", help="overlay style JSON (box thickness, font scale, label parts, "
                   "colours, mask opacity), as the window's export dialog saves it")
    p.add_argument("--jobs", type=int, default=2, metavar="N",
                   help="threads drawing and encoding the images while the model runs (default 2)")
    p.add_argument("--detect-on", choices=("filtered", "original"), default="filtered",
                   help="what faces/objects see: the pipeline's result (default) or the original")
    f = p.add_argument_group("faces")
    f.add_argument("--faces", action="store_true", help="detect and name faces")
    f.add_argument("--gallery", metavar="DB", help="known-faces gallery (default: the app's own)")
    f.add_argument("--detector", choices=("auto", "hog", "cnn", "yunet"), default="auto",
                   help="face detector (auto: HOG on a CPU; CNN is ~27 s per 720p frame on a CPU)")
    f.add_argument("--yunet-model", metavar="ONNX", help="YuNet model file (for --detector yunet)")
    f.add_argument("--tolerance", type=float, default=0.6, help="face-match distance tolerance (default 0.6)")
    f.add_argument("--anonymize", choices=("blur", "pixelate"), help="hide faces in the written images")
    f.add_argument("--unknown-only", action="store_true", help="with --anonymize: only faces not in the gallery")
    o = p.add_argument_group("objects")
    o.add_argument("--objects", action="store_true", help="detect objects with a YOLO model")
    o.add_argument("--model", metavar="PATH", help="model file or folder (.pt, .onnx, *_openvino_model, ...); "
                   "default: yolo26n.pt, downloaded on first use")
    o.add_argument("--conf", type=float, default=0.25, help="confidence threshold (default 0.25)")
    o.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold (default 0.7)")
    o.add_argument("--classes", metavar="NAMES", help="comma-separated class names or ids to keep, e.g. person,car")
    o.add_argument("--imgsz", type=int, default=640, help="model input size (default 640)")
    o.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:0 or mps (default auto)")
    from vision_studio.cli import analyze_video  # videos, streams, cameras: their own options

    analyze_video.add_arguments(p)
    p.set_defaults(func=cmd_analyze)
    return p


def usage_error(message: str) -> int:
    print(f"vision-studio analyze: error: {message}", file=sys.stderr)
    return 2


def face_stage(args) -> FaceStage:
    """Build the face analyzer once; ValueError/GalleryError with a one-line reason."""
    from vision_studio.core.faces.analyze import matcher_for
    from vision_studio.core.faces.detection import FaceOptions
    from vision_studio.core.faces.gallery import Gallery, default_gallery_path

    options = FaceOptions(detector=args.detector, yunet_model=args.yunet_model,
                          tolerance=args.tolerance, landmarks="68")
    if args.detector == "yunet" and not args.yunet_model:
        raise ValueError("--detector yunet needs --yunet-model PATH (OpenCV Zoo's face_detection_yunet .onnx)")
    gallery_path = Path(args.gallery) if args.gallery else default_gallery_path()
    matcher = None
    if args.gallery or gallery_path.exists():
        with Gallery(gallery_path, create=False) as gallery:
            matcher = matcher_for(gallery, options) if gallery.people() else None
    return FaceStage(options=options, matcher=matcher, anonymize=args.anonymize,
                     unknown_only=args.unknown_only)


def object_stage(args) -> ObjectStage:
    """Load the model once for the whole run (ModelError/ValueError with a one-line reason)."""
    from vision_studio.core.detection import ObjectDetector

    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    classes = [int(c) if c.isdigit() else c for c in classes] if classes else None
    detector = ObjectDetector(args.model, conf=args.conf, iou=args.iou, classes=classes, imgsz=args.imgsz,
                              device=args.device, threads="batch", progress=_download_progress,
                              tracker=f"{getattr(args, 'tracker', None) or 'bytetrack'}.yaml")
    return ObjectStage(detector)


def _download_progress(done: int, total: int | None) -> None:
    if total:
        print(f"\rdownloading model: {done / 1e6:.1f} / {total / 1e6:.1f} MB", end="", file=sys.stderr)
        if done >= total:
            print(file=sys.stderr)


def parse_formats(text: str) -> tuple[str, ...]:
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in ALL_FORMATS]
    if unknown:
        raise ValueError(f"--formats: unknown format {', '.join(unknown)}; use a comma-separated list of "
                         f"{', '.join(ALL_FORMATS)}")
    return formats


def load_style(path: str) -> Style:
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"--style {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"--style {path}: expected a JSON object")
    return Style.from_dict(data.get("style", data))


def cmd_analyze(args) -> int:
    if not (args.pipeline or args.faces or args.objects):
        return usage_error("nothing to do: give --pipeline FILE, --faces and/or --objects")
    from vision_studio.cli.analyze_video import cmd_analyze_video, is_video_job

    if is_video_job(args.inputs):
        return cmd_analyze_video(args)
    if args.unknown_only and not args.anonymize:
        return usage_error("--unknown-only needs --anonymize blur|pixelate")
    if args.format and "." + args.format.lower().lstrip(".") not in FORMATS:
        return usage_error(f"--format {args.format}: use one of "
                           f"{', '.join(sorted({s.lstrip('.') for s in FORMATS}))}")
    if args.jobs < 1:
        return usage_error(f"--jobs {args.jobs}: must be at least 1")
    if not 1 <= args.quality <= 100:
        return usage_error(f"--quality {args.quality}: must be between 1 and 100")
    try:
        formats = parse_formats(args.formats)
        style = load_style(args.style) if args.style else Style()
        pipeline = load(args.pipeline) if args.pipeline else Pipeline()  # validated before writing
    except (ValueError, PipelineError) as exc:
        return usage_error(str(exc))
    plan = AnalysisPlan(pipeline=pipeline, detect_on=args.detect_on)
    if args.faces:
        from vision_studio.core.faces.gallery import GalleryError

        try:
            plan.faces = face_stage(args)
        except (ValueError, GalleryError) as exc:
            return usage_error(str(exc))
    if args.objects:
        from vision_studio.core.detection import ModelError

        try:
            plan.objects = object_stage(args)
        except (ValueError, ModelError) as exc:
            return usage_error(str(exc))
    outdir = Path(args.output)
    if outdir.exists() and not outdir.is_dir():
        return usage_error(f"{outdir}: exists and is not a folder")
    notices: list[str] = []
    items, errors = collect(args.inputs, args.recursive, notices)
    for line in notices:
        print(line, file=sys.stderr)
    for path, reason in errors:
        print(f"{path}: error: {reason}", file=sys.stderr)
    if not items:
        return 1 if errors else usage_error("no input images")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return usage_error(f"{outdir}: cannot create folder ({exc.strerror or exc})")

    names = getattr(getattr(plan.objects, "detector", None), "names", None)
    options = BatchOptions(outdir=outdir, formats=formats, annotated=args.annotated, image_format=args.format,
                           quality=args.quality, overwrite=args.overwrite, jobs=args.jobs, style=style,
                           class_names=dict(names) if names else None)
    run = run_batch(plan, items, options, raise_errors=getattr(args, "debug", False))
    printed = 0
    while True:
        try:
            p = next(run)
        except StopIteration as done:
            summary = done.value
            break
        if p.error:
            print(f"{p.error[0]}: error: {p.error[1]}", file=sys.stderr)
            printed += 1
        elif p.notice:
            print(p.notice, file=sys.stderr)
    for path, reason in summary.failures[printed:]:  # the files written at the end
        print(f"{path}: error: {reason}", file=sys.stderr)
    failed = len(summary.failures) + len(errors)
    print(f"{summary.processed} written, {summary.skipped} skipped, {failed} failed -> {outdir}", file=sys.stderr)
    return 1 if failed else 0
