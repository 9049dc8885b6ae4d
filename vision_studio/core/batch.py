"""Run one analysis plan over many images: decode, analyze and encode overlap.

    reader thread --(bounded queue)--> model thread (the caller) --(bounded pool)--> writers

- A reader thread decodes ahead (`prefetch` images), so the model never waits on disk.
- The analysis runs in the thread that iterates `run_batch`: the thread that owns the
  models (CLI main thread, a GUI job). Nothing else touches them.
- Drawing the overlay, encoding and writing run in a small pool of writer threads
  (`jobs`); at most 2 x jobs results wait for them, so memory stays flat on any folder.

`run_batch` is a generator: it yields a `Progress` after each image and returns the
`BatchSummary`. Failures (unreadable input, analyzer error, full disk) are collected
and the run goes on. Outputs mirror the input folders; an existing output is skipped
unless `overwrite` (so an interrupted run resumes where it stopped), and previous
`results.json` entries are kept for the inputs not redone. Dataset files (CSV, COCO,
YOLO, VOC) and the summary are rebuilt at the end from all entries.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Callable, Generator, Iterable

from vision_studio.core.annotate import Style
from vision_studio.core.export import FORMATS, ExportError, save_image
from vision_studio.core.results import ImageResults

ALL_FORMATS = ("json", "csv", "coco", "yolo", "voc", "crops", "report")


@dataclass(frozen=True)
class BatchItem:
    source: Path
    relative: PurePosixPath  # where under the output folder (mirrors the input folders)


@dataclass(frozen=True)
class BatchOptions:
    outdir: Path
    formats: tuple[str, ...] = ("json",)  # results.json is always written: it makes resuming work
    annotated: bool = True
    image_format: str | None = None  # ".png"...; None: the input's format when writable, else PNG
    quality: int = 95
    overwrite: bool = False
    jobs: int = 2  # writer threads
    prefetch: int = 4
    style: Style = field(default_factory=Style)
    class_names: dict[int, str] | None = None  # the model's names: YOLO/COCO ids follow them
    link_images: bool = True  # YOLO: copy the inputs into yolo/images/ (a trainable dataset)


@dataclass(frozen=True)
class Progress:
    done: int  # processed + skipped + failed
    total: int
    processed: int
    skipped: int
    failed: int
    elapsed: float
    item: str = ""
    error: tuple[str, str] | None = None  # (path, reason) when this item failed
    notice: str | None = None  # "PATH: exists, skipped ..."

    @property
    def rate(self) -> float:
        """Images analyzed per second (skips are free and do not count)."""
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass
class BatchSummary:
    total: int = 0
    processed: int = 0
    skipped: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    classes: Counter = field(default_factory=Counter)
    people: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    cancelled: bool = False
    outdir: Path | None = None
    report: Path | None = None
    summary_csv: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and not self.cancelled


def collect(inputs: Iterable[str | Path], recursive: bool,
            notices: list[str] | None = None) -> tuple[list[BatchItem], list[tuple[str, str]]]:
    """Files as given, folders expanded (mirrored relative paths); errors as (path, reason).
    `notices` gets one line per folder whose other files were left out (not images)."""
    from vision_studio.core.image_io import list_images

    items, errors = [], []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found = list_images(path, recursive=recursive)
            if notices is not None:
                others = _other_files(path, recursive, set(found))
                if others:
                    names = ", ".join(p.name for p in others[:3]) + (", …" if len(others) > 3 else "")
                    notices.append(f"{path}: note: {len(others)} file{'s' if len(others) != 1 else ''} "
                                   f"that {'are not images' if len(others) != 1 else 'is not an image'} left out ({names})")
            if not found:
                errors.append((str(path), "no images in this folder"))
            items.extend(BatchItem(p, PurePosixPath(p.relative_to(path).as_posix())) for p in found)
        else:
            items.append(BatchItem(path, PurePosixPath(path.name)))
    return items, errors


def _other_files(folder: Path, recursive: bool, images: set[Path]) -> list[Path]:
    """The visible files of `folder` that are not among `images` (hidden ones are nobody's news)."""
    it = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in it if p not in images and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def output_suffix(source: Path, requested: str | None) -> str:
    if requested:
        return "." + requested.lower().lstrip(".")
    suffix = source.suffix.lower()
    return suffix if suffix in FORMATS else ".png"


def annotate(result, style: Style):
    """The written image for one `core.analysis.Analysis`, drawn in `style`. With the
    default style this is exactly what `analyze_image` returns (a test holds it to that)."""
    from vision_studio.core.annotate import render
    from vision_studio.core.ops.spec import to_rgb

    if not result.detections:
        return result.image
    style = replace(style, show_landmarks=style.show_landmarks and result.style.show_landmarks)
    return render(to_rgb(result.image), list(result.detections), style)


def run_batch(plan, items: list[BatchItem], options: BatchOptions,
              should_stop: Callable[[], bool] | None = None,
              raise_errors: bool = False) -> Generator[Progress, None, BatchSummary]:
    from vision_studio.core.export import report as out

    unknown = set(options.formats) - set(ALL_FORMATS)
    if unknown:
        raise ValueError(f"unknown format(s) {', '.join(sorted(unknown))}; use {', '.join(ALL_FORMATS)}")
    stop = should_stop or (lambda: False)
    outdir = Path(options.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    summary = BatchSummary(total=len(items), outdir=outdir)
    t0 = time.perf_counter()
    try:
        previous = out.previous_entries(outdir)
    except ValueError as exc:
        previous = {}
        yield Progress(0, len(items), 0, 0, 0, 0.0, notice=f"warning: {exc}; it will be replaced")

    def progress(item: str, error: tuple[str, str] | None = None, notice: str | None = None) -> Progress:
        return Progress(summary.processed + summary.skipped + len(summary.failures), summary.total,
                        summary.processed, summary.skipped, len(summary.failures),
                        time.perf_counter() - t0, item, error, notice)

    todo: list[tuple[BatchItem, Path | None]] = []
    claimed: dict[Path, Path] = {}
    for item in items:
        target = None
        if options.annotated:
            target = outdir.joinpath(*item.relative.with_suffix(output_suffix(item.source, options.image_format)).parts)
            if target in claimed:
                summary.failures.append((str(item.source), f"output {target} would overwrite the result of "
                                                           f"{claimed[target]}"))
                yield progress(str(item.source), error=summary.failures[-1])
                continue
            claimed[target] = item.source
        done_before = target.exists() if target is not None else str(item.source) in previous
        if done_before and not options.overwrite:
            summary.skipped += 1
            yield progress(str(item.source), notice=f"{target or item.source}: exists, skipped "
                                                    "(use overwrite to replace)")
            continue
        todo.append((item, target))

    entries: dict[str, ImageResults] = {}
    thumbs: dict[str, bytes] = {}
    reader = _Reader([i for i, _ in todo], options.prefetch)
    writers = ThreadPoolExecutor(max_workers=max(1, options.jobs), thread_name_prefix="vs-batch-writer")
    slots = threading.BoundedSemaphore(2 * max(1, options.jobs))
    pending: list[tuple[BatchItem, Future]] = []

    def finished(item: BatchItem, fut: Future) -> Progress:
        try:
            entry, thumb = fut.result()
        except Exception as exc:  # noqa: BLE001 - one failed write is one failure, the run goes on
            reason = exc.reason if isinstance(exc, ExportError) else (getattr(exc, "strerror", None) or str(exc))
            where = exc.path if isinstance(exc, ExportError) else item.source
            summary.failures.append((str(where), reason))
            return progress(str(item.source), error=summary.failures[-1])
        entries[entry.source] = entry
        if thumb is not None and len(thumbs) < out.MAX_THUMBNAILS:
            thumbs[entry.source] = thumb
        summary.processed += 1
        return progress(str(item.source))

    try:
        targets = dict((id(i), t) for i, t in todo)
        for item, image, error in reader:
            if stop():
                summary.cancelled = True
                break
            if error is not None:
                summary.failures.append((str(getattr(error, "path", item.source)), _reason(error)))
                yield progress(str(item.source), error=summary.failures[-1])
                continue
            try:
                from vision_studio.core.analysis import analyze

                result = analyze(plan, image.pixels, should_stop=stop)
            except Exception as exc:  # noqa: BLE001 - an analyzer failed on this image: name it, go on
                if stop():
                    summary.cancelled = True
                    break
                if raise_errors:
                    raise
                summary.failures.append((str(item.source), _reason(exc)))
                yield progress(str(item.source), error=summary.failures[-1])
                continue
            slots.acquire()  # the model waits only when the writers are 2 x jobs images behind
            fut = writers.submit(_write_one, item, targets[id(item)], image, result, options)
            fut.add_done_callback(lambda _f: slots.release())
            pending.append((item, fut))
            while pending and pending[0][1].done():
                yield finished(*pending.pop(0))
        if stop():
            summary.cancelled = True
        for item, fut in pending:  # in-flight writes finish (each is atomic either way)
            fut.exception()
            yield finished(item, fut)
        pending.clear()
    finally:
        reader.close()
        writers.shutdown(wait=True, cancel_futures=True)

    summary.elapsed = time.perf_counter() - t0
    out.write_aggregates(outdir, items, previous, entries, thumbs, options, summary)
    return summary


def _write_one(item: BatchItem, target: Path | None, image, result, options: BatchOptions):
    """Writer thread: draw, encode, write; the face crops; the report thumbnail."""
    from vision_studio.core.export import report as out

    entry = ImageResults(str(item.source), image.width, image.height, result.detections)
    thumb_src = None
    if target is not None:
        annotated = annotate(result, options.style)
        target.parent.mkdir(parents=True, exist_ok=True)
        save_image(target, annotated, quality=options.quality, overwrite=options.overwrite)
        thumb_src = annotated
    if "crops" in options.formats:
        from vision_studio.core.export.datasets import face_crops

        face_crops(options.outdir / "crops", image.pixels, entry, item.relative.with_suffix("").as_posix()
                   .replace("/", "_"), overwrite=options.overwrite)
    if "yolo" in options.formats and options.link_images:
        from vision_studio.core.export.datasets import copy_image

        copy_image(options.outdir / "yolo", item.relative.as_posix(), item.source)
    thumb = out.thumbnail(thumb_src if thumb_src is not None else image.pixels) \
        if "report" in options.formats else None
    return entry, thumb


class _Reader:
    """Decodes ahead in its own thread; iterate for (item, LoadedImage | None, error | None)."""

    _END = object()

    def __init__(self, items: list[BatchItem], prefetch: int):
        self._items = items
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vs-batch-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from vision_studio.core.image_io import read_image

        for item in self._items:
            if self._stop.is_set():
                break
            try:
                value = (item, read_image(item.source), None)
            except Exception as exc:  # noqa: BLE001 - reported as this item's failure
                value = (item, None, exc)
            if not self._put(value):
                return
        self._put(self._END)

    def _put(self, value) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        while True:
            value = self._queue.get()
            if value is self._END:
                return
            yield value

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str):
        return reason
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__



def export_image(plan, pixels, path: Path, style: Style = Style(), quality: int = 95) -> Path:
    """One image, as a batch writes it: the window's File > Export annotated image."""
    from vision_studio.core.analysis import analyze

    return save_image(path, annotate(analyze(plan, pixels), style), quality=quality)


def export_results(plan, pixels, source: Path, path: Path, fmt: str) -> Path:
    """One image's results in one format (json, csv, coco, yolo, voc): File > Export results."""
    from vision_studio.core.analysis import analyze
    from vision_studio.core.export.datasets import write_single

    result = analyze(plan, pixels)
    h, w = pixels.shape[:2]
    names = getattr(getattr(plan.objects, "detector", None), "names", None)
    entry = ImageResults(str(source), w, h, result.detections)
    return write_single(Path(path), fmt, entry, Path(source).name, dict(names) if names else None)
