"""`analyze --objects` and `analyze --faces`: the results.json the issues specify."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "testdata"
MODEL = SHARED / "models" / "yolov8n_int8.onnx"
FACES = SHARED / "faces" / "face_recognition" / "examples"


def vs(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "vision_studio", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=os.environ)


@pytest.mark.skipif(not MODEL.exists(), reason="needs ../shared/testdata/models/yolov8n_int8.onnx")
def test_objects_on_bus(tmp_path, bus_jpg):
    out = tmp_path / "out"
    r = vs("analyze", bus_jpg, "-o", out, "--objects", "--model", MODEL)
    assert r.returncode == 0, r.stderr
    (entry,) = json.loads((out / "results.json").read_text())
    assert (entry["width"], entry["height"]) == (810, 1080)
    labels = [d["label"] for d in entry["results"]]
    assert labels.count("bus") == 1 and labels.count("person") >= 4
    for d in entry["results"]:
        assert d["kind"] == "object" and set(d) >= {"label", "class_id", "confidence", "box"}
        x1, y1, x2, y2 = d["box"]
        assert 0 <= x1 < x2 <= 810 and 0 <= y1 < y2 <= 1080
    assert (out / "bus.jpg").exists()

    only = vs("analyze", bus_jpg, "-o", tmp_path / "only", "--objects", "--model", MODEL, "--classes", "bus")
    assert only.returncode == 0
    assert {d["label"] for d in json.loads((tmp_path / "only" / "results.json").read_text())[0]["results"]} == {"bus"}


def test_unknown_class_and_missing_model_are_usage_errors(tmp_path, bus_jpg):
    r = vs("analyze", bus_jpg, "-o", tmp_path / "o", "--objects", "--model", tmp_path / "nope.onnx")
    assert r.returncode == 2 and "nope.onnx" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()
    if MODEL.exists():
        r = vs("analyze", bus_jpg, "-o", tmp_path / "o", "--objects", "--model", MODEL, "--classes", "unicorn")
        assert r.returncode == 2 and "unicorn" in r.stderr


@pytest.mark.skipif(not FACES.exists(), reason="needs ../shared/testdata/faces")
def test_faces_named_from_a_gallery_and_anonymized(tmp_path):
    gallery = tmp_path / "g.sqlite"
    for name, image in (("Obama", "obama_small.jpg"), ("Biden", "biden.jpg")):
        r = vs("faces", "enroll", name, FACES / image, "--gallery", gallery)
        assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    r = vs("analyze", FACES / "two_people.jpg", FACES / "lin-manuel-miranda.png", "-o", out,
           "--faces", "--gallery", gallery, "--anonymize", "blur", "--unknown-only")
    assert r.returncode == 0, r.stderr
    entries = {Path(e["source"]).name: e for e in json.loads((out / "results.json").read_text())}
    two = sorted(entries["two_people.jpg"]["results"], key=lambda d: d["box"][0])
    assert [d["label"] for d in two] == ["Obama", "Biden"]  # Obama left, Biden right
    assert all(d["kind"] == "face" and d["distance"] < 0.6 and d["landmarks"] for d in two)
    (miranda,) = entries["lin-manuel-miranda.png"]["results"]
    assert miranda["label"] == "Unknown"


def test_a_corrupt_gallery_is_a_clear_usage_error(tmp_path, bus_jpg):
    bad = tmp_path / "g.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    r = vs("analyze", bus_jpg, "-o", tmp_path / "o", "--faces", "--gallery", bad)
    assert r.returncode == 2 and str(bad) in r.stderr and "Traceback" not in r.stderr
