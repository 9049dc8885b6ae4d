"""Export formats read back by the tools people use (pycocotools, ultralytics, ElementTree, csv),
safe file names, atomic writes under a full disk, a read-only folder and SIGKILL, and the
golden overlay image."""
import csv
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vision_studio.core.annotate import Style, render
from vision_studio.core.export import ExportError, atomic_write, inside, safe_filename, save_image
from vision_studio.core.export import datasets as ds
from vision_studio.core.results import Detection, ImageResults

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).with_name("golden")


def _mask(h, w, box):
    m = np.zeros((h, w), bool)
    x1, y1, x2, y2 = box
    m[y1:y2, x1:x2] = True
    return m


@pytest.fixture
def dataset(tmp_path):
    """Two real image files and their results: objects with model ids, a named face, a masked region."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (120, 200, 3), np.uint8)).save(root / "a.jpg")
    Image.fromarray(rng.integers(0, 255, (80, 100, 3), np.uint8)).save(root / "sub" / "b.png")
    a = ImageResults(str(root / "a.jpg"), 200, 120, (
        Detection("object", "person", 0.91, (10.5, 20.25, 60.75, 110.0), class_id=0),
        Detection("object", "car", 0.5, (100, 30, 190, 90), class_id=2, track_id=7),
        Detection("face", "face", 0.99, (20, 25, 40, 50), identity="Zoë <b>"),
        Detection("keypoint", "ORB", keypoints=np.array([[5, 5, 1.0]])),  # no box: not a dataset annotation
    ))
    b = ImageResults(str(root / "sub" / "b.png"), 100, 80, (
        Detection("region", "particle", None, (10, 10, 30, 40), mask=_mask(80, 100, (10, 10, 30, 40)),
                  attributes={"id": 1, "area": 600, "centroid": [19.5, 24.5]}),
        Detection("object", "=cmd|' /C calc'!A0", 0.4, (0, 0, 100, 80), class_id=5),
    ))
    names = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 4: "airplane", 5: "=cmd|' /C calc'!A0"}
    return root, [a, b], ["a.jpg", "sub/b.png"], names


def test_class_list_follows_model_ids_then_other_classes(dataset):
    _, entries, _, names = dataset
    classes = ds.class_list(entries, names)
    assert classes[:6] == [names[i] for i in range(6)] and classes[6:] == ["face", "particle"]
    assert ds.class_list(entries)[:3] == ["person", "class1", "car"]  # ids kept without the names too


def test_coco_loads_in_pycocotools_with_the_same_boxes_and_mask(dataset, tmp_path):
    from pycocotools.coco import COCO

    _, entries, names_, model = dataset
    classes = ds.class_list(entries, model)
    path = tmp_path / "coco.json"
    path.write_text(ds.coco_json(entries, classes, names_))
    coco = COCO(str(path))
    assert [coco.imgs[i]["file_name"] for i in sorted(coco.imgs)] == ["a.jpg", "sub/b.png"]
    for image_id, entry in zip(sorted(coco.imgs), entries):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        expected = [d for d in entry.results if d.box is not None]
        assert len(anns) == len(expected)
        for ann, det in zip(anns, expected):
            x1, y1, x2, y2 = det.box
            assert ann["bbox"] == pytest.approx([x1, y1, x2 - x1, y2 - y1], abs=0.01)
            assert coco.cats[ann["category_id"]]["name"] == ds.dataset_class(det)
            if det.mask is not None:
                with warnings.catch_warnings():  # pycocotools' own numpy-2 deprecation, not ours
                    warnings.simplefilter("ignore", DeprecationWarning)
                    decoded = coco.annToMask(ann).astype(bool)
                assert np.array_equal(decoded, det.mask)
    face = next(a for a in coco.dataset["annotations"] if coco.cats[a["category_id"]]["name"] == "face")
    assert face["attributes"]["identity"] == "Zoë <b>"


def test_yolo_labels_pass_ultralytics_own_label_check(dataset, tmp_path):
    import yaml
    from ultralytics.data.utils import img2label_paths, verify_image_label

    root, entries, names_, model = dataset
    classes = ds.class_list(entries, model)
    out = tmp_path / "yolo"
    ds.write_yolo(out, entries, classes, names_, [Path(e.source) for e in entries])
    meta = yaml.safe_load((out / "data.yaml").read_text())
    assert meta["names"] == dict(enumerate(classes)) and meta["nc"] == len(classes)
    assert (out / "classes.txt").read_text().splitlines() == classes
    for entry, name in zip(entries, names_):
        image = out / "images" / name
        assert image.read_bytes() == Path(entry.source).read_bytes()
        (label,) = img2label_paths([str(image)])
        result = verify_image_label((str(image), label, "", False, len(classes), 0, 0, False))
        lb, shape = result[1], result[2]
        assert result[9] == "" or "WARNING" not in result[9], result[9]
        assert tuple(shape) == (entry.height, entry.width)
        dets = [d for d in entry.results if d.box is not None]
        assert len(lb) == len(dets)
        for row, det in zip(lb, dets):
            x1, y1, x2, y2 = det.box
            assert classes[int(row[0])] == ds.dataset_class(det)
            w, h = entry.width, entry.height
            assert row[1:] == pytest.approx([(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h],
                                            abs=1e-5)


def test_voc_xml_parses_to_the_same_boxes(dataset, tmp_path):
    _, entries, names_, _ = dataset
    ds.write_voc(tmp_path / "voc", entries, names_)
    tree = ET.parse(tmp_path / "voc" / "Annotations" / "a.xml").getroot()
    assert tree.findtext("filename") == "a.jpg"
    assert (tree.findtext("size/width"), tree.findtext("size/height")) == ("200", "120")
    objs = [(o.findtext("name"), [int(o.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")])
            for o in tree.iter("object")]
    assert objs == [("person", [10, 20, 61, 110]), ("car", [100, 30, 190, 90]), ("face", [20, 25, 40, 50])]
    assert [o.findtext("identity") for o in tree.iter("object")] == [None, None, "Zoë <b>"]
    sub = ET.parse(tmp_path / "voc" / "Annotations" / "sub" / "b.xml").getroot()
    assert sub.findtext("folder") == "sub" and len(list(sub.iter("object"))) == 2


def test_csv_one_row_per_detection_with_measurements_and_no_formulas(dataset):
    _, entries, _, _ = dataset
    rows = list(csv.DictReader(ds.results_csv(entries).splitlines()))
    assert len(rows) == 6
    assert rows[0]["label"] == "person" and float(rows[0]["x1"]) == 10.5 and rows[0]["confidence"] == "0.91"
    assert rows[2]["label"] == "Zoë <b>" and rows[2]["class_label"] == "face"
    assert rows[4]["attr_area"] == "600" and rows[4]["attr_centroid"] == "19.5;24.5"
    assert rows[5]["label"].startswith("'=")  # a spreadsheet shows it, never runs it


def test_results_json_round_trip_carries_the_schema_version(dataset, tmp_path):
    _, entries, _, _ = dataset
    path = tmp_path / "results.json"
    path.write_text(ds.results_json(entries))
    assert all(d["schema_version"] == 1 for d in json.loads(path.read_text()))
    back = ds.read_results_json(path)
    assert [d.box for d in back[0].results] == [d.box for d in entries[0].results]
    assert np.array_equal(back[1].results[0].mask, entries[1].results[0].mask)
    path.write_text(json.dumps([{"schema_version": 99, "source": "x", "width": 1, "height": 1}]))
    with pytest.raises(ValueError, match="newer than this program"):
        ds.read_results_json(path)


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "_etc_passwd"), ("CON", "_CON"), ("nul.txt", "_nul.txt"), ("com1", "_com1"),
    ("Zoë / Ann", "Zoë _ Ann"), ("..", "_"), ("  ", "_"), ("a\x00b\nc", "a_b_c"), ('x<>:"|?*y', "x_y"),
    ("trailing. ", "trailing"), ("José", "José"),
])
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_limits_bytes_without_breaking_characters():
    long = safe_filename("é" * 300)
    assert len(long.encode("utf-8")) <= 120 and long == "é" * 60


def test_face_crops_per_person_stay_inside_the_folder(tmp_path):
    pixels = np.zeros((100, 100, 3), np.uint8)
    pixels[20:40, 30:50] = 200
    entry = ImageResults("x.png", 100, 100, (
        Detection("face", "face", 0.9, (30, 20, 50, 40), identity="../../escape"),
        Detection("face", "face", 0.9, (0, 0, 10, 10), identity="CON"),
        Detection("face", "face", 0.9, (60, 60, 70, 70), identity="Unknown"),
        Detection("face", "face", 0.9, (60, 60, 70, 70), identity="Unknown")))
    written = ds.face_crops(tmp_path / "crops", pixels, entry, "x")
    assert sorted(p.relative_to(tmp_path / "crops").as_posix() for p in written) == [
        "Unknown/x-1.jpg", "Unknown/x-2.jpg", "_CON/x-1.jpg", "_escape/x-1.jpg"]
    assert all(inside(tmp_path / "crops", p) for p in written)
    crop = np.asarray(Image.open(tmp_path / "crops" / "_escape" / "x-1.jpg"))
    assert crop.shape == (28, 28, 3)  # the box with a 20% margin
    assert ds.face_crops(tmp_path / "crops", pixels, entry, "x") == []  # nothing overwritten silently


def _no_leftovers(folder: Path):
    return [p.name for p in folder.iterdir()]


def test_disk_full_gives_a_clear_error_and_no_file(tmp_path, monkeypatch):
    target = tmp_path / "out.png"

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ExportError) as err:
        save_image(target, np.zeros((20, 20, 3), np.uint8))
    assert str(err.value) == f"{target}: disk full"
    assert _no_leftovers(tmp_path) == []


def test_disk_full_on_a_real_tiny_tmpfs(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root and mount rights)")
    try:
        noise = np.random.default_rng(0).integers(0, 255, (300, 300, 3), np.uint8)  # ~270 kB as PNG
        with pytest.raises(ExportError, match="disk full"):
            save_image(mnt / "big.png", noise)
        assert _no_leftovers(mnt) == []
        save_image(mnt / "small.png", np.zeros((8, 8, 3), np.uint8))  # the space was given back
        assert _no_leftovers(mnt) == ["small.png"]
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_existing_files_are_never_overwritten_silently(tmp_path):
    target = tmp_path / "x.png"
    save_image(target, np.zeros((4, 4, 3), np.uint8))
    before = target.read_bytes()
    with pytest.raises(ExportError, match="already exists"):
        save_image(target, np.full((4, 4, 3), 255, np.uint8), overwrite=False)
    assert target.read_bytes() == before and _no_leftovers(tmp_path) == ["x.png"]


_UNWRITABLE = r"""
import os, sys
import numpy as np
from vision_studio.core.export import ExportError, save_image
save_image(sys.argv[2], np.zeros((2, 2, 3), np.uint8))  # load every lazy import while still root
os.unlink(sys.argv[2])
if os.geteuid() == 0:
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
try:
    save_image(os.path.join(sys.argv[1], "x.png"), np.zeros((8, 8, 3), np.uint8))
except ExportError as exc:
    print("ExportError", exc)
"""


def test_unwritable_folder_gives_a_clear_error(tmp_path):
    work = Path(tempfile.mkdtemp(prefix="vs-ro-", dir="/tmp"))
    try:
        work.chmod(0o755)
        locked = work / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        proc = subprocess.run([sys.executable, "-c", _UNWRITABLE, str(locked), str(tmp_path / "warm.png")],
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"ExportError {locked / 'x.png'}: permission denied (folder is not writable)"
        assert list(locked.iterdir()) == []
    finally:
        shutil.rmtree(work, ignore_errors=True)


_SLOW_WRITER = r"""
import sys
import numpy as np
from vision_studio.core.export import save_image
big = np.random.default_rng(1).integers(0, 255, (2500, 2500, 3), np.uint8)
print("start", flush=True)
save_image(sys.argv[1], big)  # PNG of noise: a few seconds of encoding
print("done", flush=True)
"""


def test_sigkill_mid_export_leaves_the_old_file_or_the_new_one_never_a_partial(tmp_path):
    target = tmp_path / "out.png"
    save_image(target, np.full((10, 10, 3), 7, np.uint8))  # an earlier export under the same name
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(target)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == "start"
        deadline = time.monotonic() + 60
        while not any(p.name.endswith(".part") and p.stat().st_size > 100_000 for p in tmp_path.iterdir()):
            assert time.monotonic() < deadline and proc.poll() is None, "the writer never got going"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    with Image.open(target) as im:  # the complete earlier file, still decodable in full
        assert np.array_equal(np.asarray(im), np.full((10, 10, 3), 7, np.uint8))
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".part")] == ["out.png"]


def test_atomic_write_removes_its_temp_file_on_error(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_write(tmp_path / "x.json") as fh:
            fh.write(b"half")
            raise RuntimeError("boom")
    assert _no_leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- golden overlay
def golden_scene():
    """A small synthetic image and fixed results: one of each thing the overlay draws."""
    yy, xx = np.mgrid[0:96, 0:128]
    image = np.stack([xx * 2, yy * 2, np.full_like(xx, 90)], axis=-1).astype(np.uint8)
    dets = [
        Detection("object", "car", 0.87, (8, 30, 70, 88), class_id=2, track_id=4,
                  mask=_mask(96, 128, (12, 50, 60, 84))),
        Detection("face", "face", 0.99, (80, 20, 120, 70), identity="Zoë",
                  landmarks={"nose": [(100.0, 45.0)]}),
    ]
    style = Style(line_width=2, font_scale=0.8, mask_opacity=0.5, class_colors=(("car", (250, 200, 0)),))
    return image, dets, style


def _golden_diff(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return float(diff.mean()), float((diff.max(axis=-1) > 40).mean())


def test_overlay_matches_the_golden_image():
    image, dets, style = golden_scene()
    out = render(image, dets, style)
    path = GOLDEN / "overlay.png"
    if os.environ.get("VISION_STUDIO_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(out).save(path)
    golden = np.asarray(Image.open(path).convert("RGB"))
    mean, changed = _golden_diff(out, golden)
    # Tolerance for font rasterization across FreeType/Pillow versions, nothing more.
    assert mean < 1.0 and changed < 0.005, f"overlay differs from {path}: mean {mean:.2f}, {changed:.2%} pixels"


@pytest.mark.parametrize("change", [{"line_width": 3}, {"font_scale": 1.5}, {"mask_opacity": 0.3},
                                    {"show_confidence": False}, {"class_colors": ()}])
def test_golden_comparison_notices_a_style_change(change):
    from dataclasses import replace

    image, dets, style = golden_scene()
    golden = np.asarray(Image.open(GOLDEN / "overlay.png").convert("RGB"))
    mean, changed = _golden_diff(render(image, dets, replace(style, **change)), golden)
    assert mean >= 1.0 or changed >= 0.005, f"{change} went unnoticed"


def test_style_round_trips_and_bad_values_fall_back():
    _, _, style = golden_scene()
    assert Style.from_dict(json.loads(json.dumps(style.to_dict()))) == style
    bad = Style.from_dict({"line_width": "thick", "mask_opacity": 7, "font_scale": None, "nope": 1,
                           "class_colors": [["car", [300, -4, 9]]]})
    assert bad.line_width is None and bad.mask_opacity == 1.0 and bad.font_scale == 1.0
    assert bad.class_colors == (("car", (255, 0, 9)),)
