"""The files a batch writes once at the end: results.json (merged with an earlier run's),
the dataset formats, summary.csv and report.html.

Merging: results.json entries of inputs not redone this time are kept (a resumed run
must not lose them), so the dataset files always cover everything in the output folder.
The report is one self-contained HTML file (thumbnails inline as JPEG data URIs, at
most MAX_THUMBNAILS); every text in it is escaped, every link percent-encoded.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from vision_studio.core.export import ExportError, image_bytes, write_text
from vision_studio.core.export import datasets as ds
from vision_studio.core.results import ImageResults

if TYPE_CHECKING:
    from vision_studio.core.batch import BatchItem, BatchOptions, BatchSummary

MAX_THUMBNAILS = 500
THUMB_SIZE = 160


def thumbnail(rgb) -> bytes:
    import cv2
    import numpy as np

    from vision_studio.core.ops.spec import to_rgb

    rgb = to_rgb(np.asarray(rgb))
    h, w = rgb.shape[:2]
    scale = THUMB_SIZE / max(h, w)
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return image_bytes(rgb, "JPEG", quality=75)


def previous_entries(outdir: Path) -> dict[str, tuple[ImageResults, str]]:
    """source -> (entry, dataset name) from an earlier results.json; ValueError naming the
    file when it cannot be read (it is then replaced, which the caller reports)."""
    path = outdir / "results.json"
    if not path.is_file():
        return {}
    entries = ds.read_results_json(path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    names = [d.get("name") if isinstance(d, dict) else None for d in (raw if isinstance(raw, list) else [raw])]
    return {e.source: (e, n or Path(e.source).name) for e, n in zip(entries, names)}


def results_json_named(entries: list[tuple[ImageResults, str]]) -> str:
    data = json.loads(ds.results_json([e for e, _ in entries]))
    for d, (_, name) in zip(data, entries):
        d["name"] = name  # the dataset file name (mirrored relative path), kept for the next merge
    return json.dumps(data, indent=2, ensure_ascii=False)


def write_aggregates(outdir: Path, items: list[BatchItem], previous: dict, entries: dict[str, ImageResults],
                     thumbs: dict[str, bytes], options: BatchOptions, summary: BatchSummary) -> None:
    merged: dict[str, tuple[ImageResults, str]] = dict(previous)
    for item in items:
        src = str(item.source)
        if src in entries:
            merged[src] = (entries[src], item.relative.as_posix())
    pairs = list(merged.values())
    all_entries = [e for e, _ in pairs]
    names = [n for _, n in pairs]
    formats = set(options.formats)

    def attempt(label: str, fn) -> None:
        try:
            fn()
        except ExportError as exc:
            summary.failures.append((str(exc.path), exc.reason))
        except OSError as exc:
            summary.failures.append((str(outdir / label), exc.strerror or str(exc)))

    attempt("results.json", lambda: write_text(outdir / "results.json", results_json_named(pairs)))
    if "csv" in formats:
        attempt("results.csv", lambda: write_text(outdir / "results.csv", ds.results_csv(all_entries)))
    classes = ds.class_list(all_entries, options.class_names)
    if "coco" in formats:
        attempt("coco.json", lambda: write_text(outdir / "coco.json", ds.coco_json(all_entries, classes, names)))
    if "yolo" in formats:
        sources = [Path(e.source) for e in all_entries] if options.link_images else None
        attempt("yolo", lambda: ds.write_yolo(outdir / "yolo", all_entries, classes, names, sources))
    if "voc" in formats:
        attempt("voc", lambda: ds.write_voc(outdir / "voc", all_entries, names))

    this_run = [merged[str(i.source)][0] for i in items if str(i.source) in merged]
    summary.classes, summary.people = count(this_run)
    if "report" in formats:
        _thumbnails_of_skipped(outdir, items, merged, thumbs, options)
        summary.summary_csv = outdir / "summary.csv"
        summary.report = outdir / "report.html"
        attempt("summary.csv", lambda: write_text(summary.summary_csv, summary_csv(summary)))
        rel = {str(i.source): i for i in items}
        attempt("report.html", lambda: write_text(summary.report, report_html(summary, thumbs, rel, options)))


def _thumbnails_of_skipped(outdir: Path, items, merged, thumbs: dict, options) -> None:
    """A resumed run's report shows the images exported earlier too (read back from disk)."""
    from vision_studio.core.batch import output_suffix
    from vision_studio.core.image_io import ImageReadError, read_image

    for item in items:
        src = str(item.source)
        if len(thumbs) >= MAX_THUMBNAILS:
            break
        if src in thumbs or src not in merged:
            continue
        path = item.source
        if options.annotated:
            path = outdir.joinpath(*item.relative.with_suffix(output_suffix(item.source, options.image_format)).parts)
        try:
            thumbs[src] = thumbnail(read_image(path).pixels)
        except (ImageReadError, OSError, ValueError):
            continue


def count(entries) -> tuple[Counter, Counter]:
    classes, people = Counter(), Counter()
    for e in entries:
        for det in e.results:
            if det.kind == "keypoint":
                continue
            if det.kind == "face":
                classes["face"] += 1
                people[det.display_label] += 1
            else:
                classes[det.label] += 1
    return classes, people


def summary_csv(s: BatchSummary) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "name", "value"])
    for name, value in (("images", s.total), ("processed", s.processed), ("skipped", s.skipped),
                        ("failed", len(s.failures)), ("seconds", round(s.elapsed, 3)),
                        ("cancelled", int(s.cancelled))):
        w.writerow(["total", name, value])
    for name, n in sorted(s.classes.items(), key=lambda kv: (-kv[1], kv[0])):
        w.writerow(["class", ds._csv_safe(name), n])
    for name, n in sorted(s.people.items(), key=lambda kv: (-kv[1], kv[0])):
        w.writerow(["person", ds._csv_safe(name), n])
    for path, reason in s.failures:
        w.writerow(["failure", ds._csv_safe(path), ds._csv_safe(reason)])
    return buf.getvalue()


_CSS = ("body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;"
        "margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
        ".grid{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;width:170px;font-size:12px;"
        "overflow-wrap:anywhere}img{max-width:160px;max-height:160px;display:block}")


def report_html(s: BatchSummary, thumbs: dict[str, bytes], items: dict, options: BatchOptions) -> str:
    e = html.escape
    rows = lambda pairs: "".join(f"<tr><td>{e(str(a))}</td><td>{e(str(b))}</td></tr>" for a, b in pairs)  # noqa: E731
    status = "cancelled" if s.cancelled else ("finished with failures" if s.failures else "finished")
    rate = f"{s.processed / s.elapsed:.2f} images/s" if s.elapsed > 0 and s.processed else "–"
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Vision Studio batch report</title>"
             f"<style>{_CSS}</style></head><body><h1>Batch report</h1>",
             f"<p>{e(str(s.outdir))}: {e(status)}</p><table>",
             rows([("images", s.total), ("processed", s.processed), ("skipped (already exported)", s.skipped),
                   ("failed", len(s.failures)), ("time", f"{s.elapsed:.1f} s"), ("rate", rate)]), "</table>"]
    if s.classes:
        parts += ["<h2>Classes</h2><table><tr><th>class</th><th>count</th></tr>",
                  rows(sorted(s.classes.items(), key=lambda kv: (-kv[1], kv[0]))), "</table>"]
    if s.people:
        parts += ["<h2>People</h2><table><tr><th>person</th><th>faces</th></tr>",
                  rows(sorted(s.people.items(), key=lambda kv: (-kv[1], kv[0]))), "</table>"]
    if s.failures:
        parts += ["<h2>Failures</h2><table><tr><th>file</th><th>reason</th></tr>", rows(s.failures), "</table>"]
    if thumbs:
        from vision_studio.core.batch import output_suffix

        parts.append("<h2>Images</h2><div class='grid'>")
        for source, data in thumbs.items():
            item = items.get(source)
            name = item.relative.as_posix() if item else Path(source).name
            img = f"<img alt='{e(name, quote=True)}' src='data:image/jpeg;base64,{base64.b64encode(data).decode()}'>"
            if item is not None and options.annotated:
                href = PurePosixPath(name).with_suffix(output_suffix(item.source, options.image_format)).as_posix()
                img = f"<a href='{e(quote(href), quote=True)}'>{img}</a>"
            parts.append(f"<figure>{img}<figcaption>{e(name)}</figcaption></figure>")
        parts.append("</div>")
        if s.processed > len(thumbs):
            parts.append(f"<p>(first {len(thumbs)} of {s.processed} images shown)</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
