"""Results as the files other tools read: results JSON, CSV, COCO, YOLO, Pascal VOC, face crops.

Every writer takes `ImageResults` (boxes in original-image pixels) and a `name` per
image: its path relative to the dataset root, POSIX style ("sub/a.jpg"), which keeps
input folders mirrored. Every file goes through `atomic_write`.

Classes: a detection's dataset class is its class label (objects, regions, poses) or
"face" for faces; the person's name is kept as an extra field where the format has
room for one (COCO `attributes`, CSV `identity`), never as the class, so a dataset
of 3 people still has one "face" class. `class_list` orders classes by the model's
ids when known (YOLO ids then equal the model's ids), then by name. Detections
without a box (features, classifications) are not dataset annotations.

Coordinates: COCO `bbox` is [x, y, width, height] in floats; YOLO is normalized
centre/size; VOC is integer pixels (rounded; 0-based, as the boxes are).
"""
from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence
from xml.sax.saxutils import escape

import numpy as np

from vision_studio.core.export import ExportError, atomic_write, safe_filename, save_image, write_text
from vision_studio.core.results import SCHEMA_VERSION, Detection, ImageResults

DATASET_FORMATS = ("json", "csv", "coco", "yolo", "voc", "crops")
BOX_KINDS = ("object", "face", "pose", "region")


def dataset_class(det: Detection) -> str | None:
    if det.box is None or det.kind not in BOX_KINDS:
        return None
    return "face" if det.kind == "face" else det.label


def class_list(entries: Iterable[ImageResults], names: dict[int, str] | None = None) -> list[str]:
    """Model classes in id order (gaps filled with their names so ids stay aligned), then
    any other classes found (faces, measured regions) sorted by name."""
    out: list[str] = []
    if names:
        top = max(names)
        out = [names.get(i, f"class{i}") for i in range(top + 1)]
    seen_ids: dict[str, int] = {}
    extra: set[str] = set()
    for entry in entries:
        for det in entry.results:
            cls = dataset_class(det)
            if cls is None or cls in out:
                continue
            if det.kind == "object" and det.class_id is not None and not names:
                seen_ids.setdefault(cls, int(det.class_id))
            else:
                extra.add(cls)
    if seen_ids:  # no names given: keep the model's ids as far as they were seen
        top = max(seen_ids.values())
        by_id = {v: k for k, v in seen_ids.items()}
        out = [by_id.get(i, f"class{i}") for i in range(top + 1)]
    return out + sorted(extra - set(out))


# ----------------------------------------------------------------------------- results JSON / CSV
def results_json(entries: Iterable[ImageResults]) -> str:
    """The results.json list; each entry carries `schema_version` (entries from different
    runs are merged on resume, so the version travels with each one)."""
    return json.dumps([{"schema_version": SCHEMA_VERSION, **e.to_dict()} for e in entries],
                      indent=2, ensure_ascii=False)


def read_results_json(path: str | os.PathLike) -> list[ImageResults]:
    """Entries of a results.json; ValueError naming the file when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(data, dict):
            data = [data]
        for d in data:
            if int(d.get("schema_version", 1)) > SCHEMA_VERSION:
                raise ValueError(f"schema_version {d['schema_version']} is newer than this program "
                                 f"({SCHEMA_VERSION})")
        return [ImageResults.from_dict(d) for d in data]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a readable results file ({exc})") from None


CSV_FIELDS = ["source", "width", "height", "frame", "kind", "label", "class_label", "class_id",
              "confidence", "x1", "y1", "x2", "y2", "track_id", "identity", "distance"]


def results_csv(entries: Iterable[ImageResults]) -> str:
    """One row per detection; measured-region attributes (area, perimeter, ...) as extra
    columns, so the filters' measurement tables come out here too."""
    rows, extra = [], []
    for e in entries:
        for det in e.results:
            d = det.to_dict()
            row = {"source": e.source, "width": e.width, "height": e.height, "frame": e.frame_index,
                   "kind": det.kind, "label": d["label"], "class_label": det.label,
                   "class_id": det.class_id, "confidence": d.get("confidence"),
                   "track_id": det.track_id, "identity": det.identity, "distance": d.get("distance")}
            if det.box is not None:
                row.update(zip(("x1", "y1", "x2", "y2"), d["box"]))
            for key, value in det.attributes.items():
                col = f"attr_{key}"
                if col not in extra:
                    extra.append(col)
                row[col] = ";".join(map(str, value)) if isinstance(value, (list, tuple)) else value
            rows.append(row)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS + extra, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_safe(v) for k, v in row.items()})
    return buf.getvalue()


def _csv_safe(value):
    """Spreadsheets run cells starting with = + - @ as formulas: a label is text, not code."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


# ----------------------------------------------------------------------------- COCO
def coco_json(entries: Sequence[ImageResults], names: Sequence[str], file_names: Sequence[str]) -> str:
    categories = [{"id": i + 1, "name": n, "supercategory": "face" if n == "face" else "object"}
                  for i, n in enumerate(names)]
    cat_id = {n: i + 1 for i, n in enumerate(names)}
    images, annotations = [], []
    for image_id, (entry, name) in enumerate(zip(entries, file_names), start=1):
        images.append({"id": image_id, "file_name": name, "width": entry.width, "height": entry.height})
        for det in entry.results:
            cls = dataset_class(det)
            if cls is None or cls not in cat_id:
                continue
            x1, y1, x2, y2 = det.box
            ann = {"id": len(annotations) + 1, "image_id": image_id, "category_id": cat_id[cls],
                   "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                   "area": round((x2 - x1) * (y2 - y1), 2), "iscrowd": 0}
            if det.confidence is not None:
                ann["score"] = round(float(det.confidence), 6)
            if det.mask is not None:
                ann["segmentation"] = det.to_dict()["mask"]  # uncompressed RLE, as COCO defines it
                ann["area"] = int(det.mask.sum())
            if det.keypoints is not None and det.kind == "pose":
                kp = det.keypoints
                vis = [2 if (kp.shape[1] < 3 or p[2] >= 0.5) else 1 for p in kp]
                ann["keypoints"] = [v for p, s in zip(kp, vis) for v in (round(float(p[0]), 2),
                                                                         round(float(p[1]), 2), s)]
                ann["num_keypoints"] = len(kp)
            attrs = {k: v for k, v in (("identity", det.identity), ("track_id", det.track_id),
                                       ("distance", det.distance)) if v is not None}
            if attrs:
                ann["attributes"] = attrs
            annotations.append(ann)
    return json.dumps({"info": {"description": "Vision Studio export", "version": str(SCHEMA_VERSION)},
                       "images": images, "annotations": annotations, "categories": categories},
                      indent=1, ensure_ascii=False)


# ----------------------------------------------------------------------------- YOLO
def yolo_label_text(entry: ImageResults, names: Sequence[str]) -> str:
    index = {n: i for i, n in enumerate(names)}
    lines = []
    for det in entry.results:
        cls = dataset_class(det)
        if cls is None or cls not in index:
            continue
        x1, y1, x2, y2 = (float(v) for v in det.box)
        x1, x2 = max(0.0, x1), min(float(entry.width), x2)
        y1, y2 = max(0.0, y1), min(float(entry.height), y2)
        if x2 <= x1 or y2 <= y1:
            continue
        cx, cy = (x1 + x2) / 2 / entry.width, (y1 + y2) / 2 / entry.height
        w, h = (x2 - x1) / entry.width, (y2 - y1) / entry.height
        lines.append(f"{index[cls]} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return "".join(line + "\n" for line in lines)


def data_yaml(names: Sequence[str], root: Path) -> str:
    """ultralytics' dataset file; JSON strings are valid YAML, so names need no YAML library."""
    lines = [f"path: {json.dumps(str(root.resolve()))}", "train: images", "val: images",
             f"nc: {len(names)}", "names:"]
    lines += [f"  {i}: {json.dumps(n, ensure_ascii=False)}" for i, n in enumerate(names)]
    return "\n".join(lines) + "\n"


def write_yolo(folder: Path, entries: Sequence[ImageResults], names: Sequence[str],
               file_names: Sequence[str], sources: Sequence[Path] | None = None) -> None:
    """folder/data.yaml, classes.txt, labels/<name>.txt and, when `sources` are given,
    images/<name> (a copy of the input) so ultralytics can train on it as it is."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(folder, exc.strerror or str(exc)) from None
    write_text(folder / "data.yaml", data_yaml(names, folder))
    write_text(folder / "classes.txt", "".join(n + "\n" for n in names))
    for i, (entry, name) in enumerate(zip(entries, file_names)):
        label = _under(folder / "labels", PurePosixPath(name).with_suffix(".txt"))
        write_text(label, yolo_label_text(entry, names))
        if sources is not None and sources[i] is not None:
            copy_image(folder, name, Path(sources[i]))


def copy_image(folder: Path, name: str, source: Path) -> None:
    """folder/images/<name>: the batch copies each input as it goes (a writer thread), and
    write_yolo only fills in what is missing."""
    _copy(source, _under(folder / "images", PurePosixPath(name)))


def _copy(source: Path, target: Path) -> None:
    """A copy, not a hard link: a tool editing the dataset image in place must never
    change the user's original."""
    if target.exists():
        return
    try:
        with atomic_write(target) as fh, open(source, "rb") as src:
            while chunk := src.read(1 << 20):
                fh.write(chunk)
    except OSError as exc:  # the source went away or cannot be read
        raise ExportError(source, exc.strerror or str(exc)) from None


# ----------------------------------------------------------------------------- Pascal VOC
def voc_xml(entry: ImageResults, name: str, depth: int = 3) -> str:
    path = PurePosixPath(name)
    parts = ["<annotation>", f"  <folder>{escape(path.parent.as_posix())}</folder>",
             f"  <filename>{escape(path.name)}</filename>",
             f"  <size><width>{entry.width}</width><height>{entry.height}</height>"
             f"<depth>{depth}</depth></size>", "  <segmented>0</segmented>"]
    for det in entry.results:
        cls = dataset_class(det)
        if cls is None:
            continue
        x1, y1, x2, y2 = (int(round(v)) for v in det.box)
        parts += ["  <object>", f"    <name>{escape(cls)}</name>", "    <pose>Unspecified</pose>",
                  "    <truncated>0</truncated>", "    <difficult>0</difficult>"]
        if det.confidence is not None:
            parts.append(f"    <confidence>{float(det.confidence):.6f}</confidence>")
        if det.identity:
            parts.append(f"    <identity>{escape(det.identity)}</identity>")
        parts.append(f"    <bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox>")
        parts.append("  </object>")
    parts.append("</annotation>")
    return "\n".join(parts) + "\n"


def write_voc(folder: Path, entries: Sequence[ImageResults], file_names: Sequence[str]) -> None:
    for entry, name in zip(entries, file_names):
        write_text(_under(folder / "Annotations", PurePosixPath(name).with_suffix(".xml")), voc_xml(entry, name))


# ----------------------------------------------------------------------------- face crops
def face_crops(folder: Path, pixels: np.ndarray, entry: ImageResults, stem: str,
               margin: float = 0.2, overwrite: bool = False) -> list[Path]:
    """folder/<person>/<stem>-<n>.jpg for each face; person folder names are sanitized."""
    written = []
    h, w = pixels.shape[:2]
    n = Counter()
    for det in entry.results:
        if det.kind != "face" or det.box is None:
            continue
        person = safe_filename(det.display_label, fallback="Unknown")
        n[person] += 1
        x1, y1, x2, y2 = det.box
        mx, my = (x2 - x1) * margin, (y2 - y1) * margin
        a, b = max(0, int(x1 - mx)), max(0, int(y1 - my))
        c, d = min(w, int(np.ceil(x2 + mx))), min(h, int(np.ceil(y2 + my)))
        if c <= a or d <= b:
            continue
        target = _under(folder / person, PurePosixPath(f"{safe_filename(stem)}-{n[person]}.jpg"))
        if target.exists() and not overwrite:
            continue
        written.append(save_image(target, pixels[b:d, a:c], quality=92))
    return written


def _under(root: Path, relative: PurePosixPath) -> Path:
    """root/relative with its folders created; refuses to leave root (a crafted name)."""
    parts = [p for p in relative.parts if p not in ("", ".")]
    if any(p == ".." for p in parts) or relative.is_absolute():
        raise ExportError(root / str(relative), "refusing a path outside the output folder")
    target = root.joinpath(*parts)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(target.parent, exc.strerror or str(exc)) from None
    return target


def write_single(path: Path, fmt: str, entry: ImageResults, name: str,
                 model_names: dict[int, str] | None = None) -> Path:
    """One image's results as one file. YOLO also writes classes.txt and data.yaml next to
    the label file; an existing classes.txt with other classes is an error, never replaced."""
    classes = class_list([entry], model_names)
    if fmt == "json":
        return write_text(path, results_json([entry]))
    if fmt == "csv":
        return write_text(path, results_csv([entry]))
    if fmt == "coco":
        return write_text(path, coco_json([entry], classes, [name]))
    if fmt == "voc":
        return write_text(path, voc_xml(entry, name))
    if fmt == "yolo":
        listing = path.with_name("classes.txt")
        text = "".join(n + "\n" for n in classes)
        if listing.exists() and listing.read_text(encoding="utf-8", errors="replace") != text:
            raise ExportError(listing, "exists with other classes; choose another folder")
        write_text(path, yolo_label_text(entry, classes))
        write_text(listing, text)
        write_text(path.with_name("data.yaml"), data_yaml(classes, path.parent))
        return path
    raise ValueError(f"unknown results format {fmt!r}")
