"""`vision-studio analyze`: run the pipeline over images and folders, headless.

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
from vision_studio.core.pipeline import PipelineError, annotated_result, load
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


def cmd_analyze(args) -> int:
    if not args.pipeline:
        return usage_error("nothing to do: give --pipeline FILE")
    if args.format and "." + args.format.lower().lstrip(".") not in FORMATS:
        return usage_error(f"--format {args.format}: use one of "
                           f"{', '.join(sorted({s.lstrip('.') for s in FORMATS}))}")
    try:
        pipeline = load(args.pipeline)  # validated before anything is written
    except PipelineError as exc:
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
            annotated, out = annotated_result(pipeline, image.pixels)
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
        entries.append(ImageResults(str(job.source), image.width, image.height, out.detections))
        written += 1

    try:
        with atomic_write(outdir / "results.json") as fh:
            fh.write(results_io.dumps(entries).encode("utf-8"))
    except ExportError as exc:
        print(f"{exc.path}: error: {exc.reason}", file=sys.stderr)
        failed += 1
    print(f"{written} written, {skipped} skipped, {failed} failed -> {outdir}", file=sys.stderr)
    return 1 if failed else 0
