"""`vision-studio faces ...` end to end, as a user runs it: a real subprocess, a temporary gallery.

The shared photos are copied shrunk to 480 px (HOG then takes ~40 ms per image);
each command that looks at images still pays ~2 s to load face_recognition.
Without ../shared/testdata the gallery commands run on generated data and the
image commands on ultralytics' zidane.jpg; the tests that need named people skip
and say why.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT.parent / "shared" / "testdata" / "faces" / "face_recognition"
EX = FACES / "examples"
KNN = EX / "knn_examples"


def vs(*args, timeout=120, data_dir=None):
    env = {**os.environ}
    if data_dir is not None:
        env["VISION_STUDIO_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "vision_studio", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env)


def ok(r):
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    return r


def shrunk_copy(src: Path, dst: Path, max_side: int = 480) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as im:
        im = im.convert("RGB")
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        im.save(dst.with_suffix(".jpg"), quality=92)
    return dst.with_suffix(".jpg")


def needs_faces():
    if not FACES.is_dir():
        pytest.skip(f"needs the named test faces in {FACES}")


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    """Small copies: train/<person>/ (the knn_examples layout), eval/<person>/ + eval/unknown/."""
    needs_faces()
    root = tmp_path_factory.mktemp("faces_data")
    for person_dir in sorted((KNN / "train").iterdir()):
        for img in sorted(person_dir.iterdir()):
            shrunk_copy(img, root / "train" / person_dir.name / img.name)
    (root / "train" / "README.txt").write_text("not a person folder")
    shrunk_copy(EX / "lin-manuel-miranda.png", root / "train" / "unknown" / "lmm.png")
    for person, rel in (("obama", "test/obama1.jpg"), ("obama", "../obama-480p.jpg"),
                        ("biden", "../biden.jpg"), ("kit_harington", "test/johnsnow_test1.jpg"),
                        ("alex_lacamoire", "test/alex_lacamoire1.jpg"),
                        ("unknown", "../lin-manuel-miranda.png")):
        src = (KNN / rel).resolve()
        shrunk_copy(src, root / "eval" / person / src.name)
    return root


@pytest.fixture(scope="session")
def imported(data, tmp_path_factory):
    """A gallery made by `faces import` from the train folder (shared by the read-only tests)."""
    gallery = tmp_path_factory.mktemp("g") / "gallery.sqlite"
    r = vs("faces", "import", data / "train", "--gallery", gallery)
    ok(r)
    return gallery, r


def face_photo() -> Path:
    if (EX / "obama_small.jpg").is_file():
        return EX / "obama_small.jpg"
    spec = importlib.util.find_spec("ultralytics")
    zidane = Path(spec.origin).parent / "assets" / "zidane.jpg" if spec and spec.origin else None
    if zidane is None or not zidane.is_file():
        pytest.fail(f"no face photo: {FACES} is missing and ultralytics (assets/zidane.jpg) is not installed")
    return zidane


def test_import_a_folder_per_person(imported):
    gallery, r = imported
    for person in ("alex_lacamoire", "biden", "kit_harington", "obama", "rose_leslie"):
        assert f"{person}: " in r.stdout
    assert "face(s) of 5 people added" in r.stdout
    assert "README.txt: not in a person folder, skipped" in r.stderr
    assert "unknown: the 'unknown' folder is for `faces eval`, skipped" in r.stderr
    assert stat.S_IMODE(gallery.stat().st_mode) == 0o600
    listed = json.loads(ok(vs("faces", "list", "--json", "--gallery", gallery)).stdout)
    assert [(p["name"], p["faces"]) for p in listed] == [
        ("alex_lacamoire", 1), ("biden", 1), ("kit_harington", 2), ("obama", 2), ("rose_leslie", 2)]


def test_eval_prints_the_metrics(imported, data):
    gallery, _ = imported
    r = ok(vs("faces", "eval", "--gallery", gallery, data / "eval"))
    out = r.stdout
    values = {k: float(v) for k, v in re.findall(r"^(accuracy|precision|recall|unknown rate)\s+([\d.]+)", out, re.MULTILINE)}
    assert values == {"accuracy": 1.0, "precision": 1.0, "recall": 1.0, "unknown rate": pytest.approx(1 / 6, abs=1e-3)}
    assert "false accepts  0.000  (0/1 unknown people given a name)" in out
    assert "confusion matrix (rows: truth, columns: prediction)" in out
    lines = out.splitlines()
    start = lines.index("confusion matrix (rows: truth, columns: prediction)") + 1
    assert lines[start].split()[3:] == ["alex_lacamoire", "biden", "kit_harington", "obama", "Unknown", "no", "face"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[start + 1:] if not line.startswith("wrong:")}
    assert rows["obama"] == ["0", "0", "0", "2", "0", "0"]
    assert rows["Unknown"] == ["0", "0", "0", "0", "1", "0"]
    report = json.loads(ok(vs("faces", "eval", "--json", "--gallery", gallery, data / "eval")).stdout)
    assert report["images"] == 6 and report["recall"] == {"value": 1.0, "count": 5, "of": 5}
    assert report["labels"]["columns"][-2:] == ["Unknown", "no face"]


def test_eval_help_defines_the_metrics():
    out = ok(vs("faces", "eval", "--help")).stdout
    for term in ("accuracy      =", "precision     =", "recall        =", "unknown rate  =", "false accepts =",
                 "confusion matrix", "unknown"):
        assert term in out


def test_list_rename_merge_remove_export_import(imported, tmp_path):
    gallery = tmp_path / "copy.sqlite"
    shutil.copy(imported[0], gallery)
    assert "renamed kit_harington to Kit Harington (2 faces)" in ok(
        vs("faces", "rename", "kit_harington", "Kit Harington", "--gallery", gallery)).stdout
    assert "1 faces moved, 3 in total" in ok(
        vs("faces", "merge", "alex_lacamoire", "rose_leslie", "--gallery", gallery)).stdout
    assert "removed rose_leslie (3 faces)" in ok(vs("faces", "remove", "rose_leslie", "--gallery", gallery)).stdout
    table = ok(vs("faces", "list", "--gallery", gallery)).stdout
    assert re.search(r"^Kit Harington\s+2\s", table, re.MULTILINE) and "3 people, 5 faces" in table
    r = vs("faces", "remove", "nobody", "--gallery", gallery)
    assert r.returncode == 1 and r.stderr.strip() == f"{gallery}: error: no person named 'nobody' in the gallery"
    r = vs("faces", "rename", "biden", "obama", "--gallery", gallery)
    assert r.returncode == 1 and "already in the gallery (use merge)" in r.stderr
    exported = tmp_path / "export"
    assert "exported 3 people, 5 faces" in ok(vs("faces", "export", exported, "--gallery", gallery)).stdout
    assert (exported / "gallery.json").is_file() and len(list((exported / "thumbnails").glob("*.jpg"))) == 5
    assert vs("faces", "export", exported, "--gallery", gallery).returncode == 1  # no silent overwrite
    other = tmp_path / "other.sqlite"
    assert "imported 5 faces (3 new people" in ok(vs("faces", "import-gallery", exported, "--gallery", other)).stdout
    assert json.loads(ok(vs("faces", "list", "--json", "--gallery", other)).stdout) == json.loads(
        ok(vs("faces", "list", "--json", "--gallery", gallery)).stdout)


def test_enroll_skips_images_with_no_face_or_several(tmp_path):
    gallery = tmp_path / "g.sqlite"
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 150), "gray").save(blank)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    photo = face_photo()
    args = ["faces", "enroll", "Someone", photo, blank, broken]
    if (EX / "two_people.jpg").is_file():
        args.append(shrunk_copy(EX / "two_people.jpg", tmp_path / "two.jpg"))
    r = vs(*args, "--gallery", gallery)
    assert r.returncode == 1, r.stderr
    assert f"{photo}: enrolled as Someone" in r.stdout
    assert f"{blank}: error: no face found, skipped" in r.stderr
    assert f"{broken}: error: " in r.stderr and "Traceback" not in r.stderr
    if len(args) > 6:
        assert f"{args[-1]}: error: 2 faces found, skipped" in r.stderr
    assert "Someone: 1 face(s) added, 1 in" in r.stdout
    again = vs("faces", "enroll", "someone", photo, "--gallery", gallery)  # same person, same photo
    assert again.returncode == 0 and "already enrolled" in again.stdout


def test_cluster_then_name_a_cluster(data, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for rel in ("train/rose_leslie/img1.jpg", "train/rose_leslie/img2.jpg", "train/kit_harington/john1.jpg",
                "train/kit_harington/john2.jpg", "train/biden/biden2.jpg"):
        shutil.copy(data / rel, folder / rel.replace("/", "_"))
    gallery = tmp_path / "g.sqlite"
    r = ok(vs("faces", "cluster", folder, "--json", "--gallery", gallery))
    doc = json.loads(r.stdout)
    groups = {c["label"]: sorted(Path(f["source"]).name.split("_")[1] for f in c["faces"]) for c in doc["clusters"]}
    assert groups == {"Unknown 1": ["kit", "kit"], "Unknown 2": ["rose", "rose"], "Unknown 3": ["biden"]}
    assert not gallery.exists()  # looking does not create a gallery
    r = ok(vs("faces", "cluster", folder, "--gallery", gallery, "--enroll", "Unknown 2=Rose Leslie",
              "--enroll", "Unknown 1=Kit"))
    assert "Unknown 2 -> Rose Leslie: 2 face(s) enrolled" in r.stdout
    assert "Unknown 1: 2 faces" in r.stdout
    after = ok(vs("faces", "cluster", folder, "--gallery", gallery)).stdout
    assert "known (not clustered; --all to include): Kit 2, Rose Leslie 2" in after
    assert after.startswith("Unknown 1: 1 face\n")
    bad = vs("faces", "cluster", folder, "--gallery", gallery, "--enroll", "Unknown 7=X")
    assert bad.returncode == 2 and "no cluster 'Unknown 7'" in bad.stderr and "nothing enrolled" in bad.stderr


def test_corrupt_gallery_and_usage_errors(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(os.urandom(4096))
    r = vs("faces", "list", "--gallery", junk)
    assert r.returncode == 1 and r.stderr.startswith(f"{junk}: error: not a gallery database")
    assert "Traceback" not in r.stderr
    r = vs("faces", "list", "--gallery", tmp_path / "none.sqlite")
    assert r.returncode == 0 and "no gallery yet" in r.stderr and not (tmp_path / "none.sqlite").exists()
    r = vs("faces", "enroll", "Unknown 3", "x.jpg", "--gallery", tmp_path / "g.sqlite")
    assert r.returncode == 2 and "reserved" in r.stderr
    r = vs("faces", "cluster", tmp_path, "--detector", "yunet", "--gallery", tmp_path / "g.sqlite")
    assert r.returncode == 2 and "--yunet-model" in r.stderr
    r = vs("faces", "cluster", tmp_path, "--enroll", "Jane", "--gallery", tmp_path / "g.sqlite")
    assert r.returncode == 2 and "'Unknown N=NAME'" in r.stderr
    assert vs("faces").returncode == 2


def test_default_gallery_is_in_the_data_dir(tmp_path):
    data_dir = tmp_path / "vs-data"
    r = ok(vs("faces", "enroll", "Someone", face_photo(), data_dir=data_dir))
    gallery = data_dir / "faces.sqlite"
    assert str(gallery) in r.stdout
    assert stat.S_IMODE(gallery.stat().st_mode) == 0o600 and stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    listed = json.loads(ok(vs("faces", "list", "--json", data_dir=data_dir)).stdout)
    assert [(p["name"], p["faces"]) for p in listed] == [("Someone", 1)]
