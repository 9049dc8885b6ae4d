"""`vision-studio analyze`: filters, faces and objects over images and folders, headless.

Exit status: 0 when every input succeeded, 1 when some failed (each named on
stderr as `PATH: error: REASON`), 2 on usage errors (including an invalid
pipeline file, reported before anything is written).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from vision_studio.core import results as results_io
from vision_studio.core.export import FORMATS, ExportError, atomic_write, save_image
from vision_studio.core.image_io import ImageReadError, list_images, read_image
from vision_studio.core.analysis import AnalysisPlan, FaceStage, ObjectStage, analyze_image
from vision_studio.core.pipeline import Pipeline, PipelineError, load
from vision_studio.core.results import ImageResults


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
    p.set_defaults(func=cmd_analyze)
    return p


@dataclass(frozen=True)
class Job:
    source: Path
    relative: Path  # where under OUTDIR (mirrors input folders)


def usage_error(message: str) -> int:
    print(f"vision-studio analyze: error: {message}", file=sys.stderr)
    return 2


def collect_jobs(inputs: list[str], recursive: bool) -> tuple[list[Job], int]:
    jobs: list[Job] = []
    failed = 0
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found = list_images(path, recursive=recursive)
            if not found:
                print(f"{path}: error: no images in this folder", file=sys.stderr)
                failed += 1
            jobs.extend(Job(p, p.relative_to(path)) for p in found)
        else:
            jobs.append(Job(path, Path(path.name)))
    return jobs, failed


def output_suffix(source: Path, requested: str | None) -> str:
    if requested:
        return "." + requested.lower().lstrip(".")
    suffix = source.suffix.lower()
    return suffix if suffix in FORMATS else ".png"


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
                              device=args.device, threads="batch", progress=_download_progress)
    return ObjectStage(detector)


def _download_progress(done: int, total: int | None) -> None:
    if total:
        print(f"\rdownloading model: {done / 1e6:.1f} / {total / 1e6:.1f} MB", end="", file=sys.stderr)
        if done >= total:
            print(file=sys.stderr)


def cmd_analyze(args) -> int:
    if not (args.pipeline or args.faces or args.objects):
        return usage_error("nothing to do: give --pipeline FILE, --faces and/or --objects")
    if args.unknown_only and not args.anonymize:
        return usage_error("--unknown-only needs --anonymize blur|pixelate")
    if args.format and "." + args.format.lower().lstrip(".") not in FORMATS:
        return usage_error(f"--format {args.format}: use one of "
                           f"{', '.join(sorted({s.lstrip('.') for s in FORMATS}))}")
    try:
        pipeline = load(args.pipeline) if args.pipeline else Pipeline()  # validated before writing
    except PipelineError as exc:
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
    jobs, failed = collect_jobs(args.inputs, args.recursive)
    if not jobs:
        return 1 if failed else usage_error("no input images")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return usage_error(f"{outdir}: cannot create folder ({exc.strerror or exc})")

    entries: list[ImageResults] = []
    claimed: dict[Path, Path] = {}
    written = skipped = 0
    for job in jobs:
        target = outdir / job.relative.with_suffix(output_suffix(job.source, args.format))
        if target in claimed:
            print(f"{job.source}: error: output {target} would overwrite the result of "
                  f"{claimed[target]}", file=sys.stderr)
            failed += 1
            continue
        claimed[target] = job.source
        if target.exists() and not args.overwrite:
            print(f"{target}: exists, skipped (use --overwrite to replace)", file=sys.stderr)
            skipped += 1
            continue
        try:
            image = read_image(job.source)
            annotated, detections = analyze_image(plan, image.pixels)
            target.parent.mkdir(parents=True, exist_ok=True)
            save_image(target, annotated, quality=args.quality)
        except (ImageReadError, ExportError) as exc:
            print(f"{exc.path}: error: {exc.reason}", file=sys.stderr)
            failed += 1
            continue
        except PipelineError as exc:
            print(f"{job.source}: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        except OSError as exc:
            print(f"{target}: error: {exc.strerror or exc}", file=sys.stderr)
            failed += 1
            continue
        except Exception as exc:  # an analyzer failed on this image: name it, go on with the rest
            if getattr(args, "debug", False):
                raise
            print(f"{job.source}: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        entries.append(ImageResults(str(job.source), image.width, image.height, detections))
        written += 1

    # Merge with an earlier results.json in OUTDIR: inputs skipped or failed this time keep
    # their previous entries (a resumed run must not lose them).
    merged = {}
    previous = outdir / "results.json"
    if previous.is_file():
        try:
            merged = {e.source: e for e in results_io.loads(previous.read_text(encoding="utf-8"))}
        except (ValueError, KeyError, TypeError, OSError):
            print(f"{previous}: warning: unreadable, replaced", file=sys.stderr)
    merged.update({e.source: e for e in entries})
    try:
        with atomic_write(outdir / "results.json") as fh:
            fh.write(results_io.dumps(list(merged.values())).encode("utf-8"))
    except ExportError as exc:
        print(f"{exc.path}: error: {exc.reason}", file=sys.stderr)
        failed += 1
    print(f"{written} written, {skipped} skipped, {failed} failed -> {outdir}", file=sys.stderr)
    return 1 if failed else 0
