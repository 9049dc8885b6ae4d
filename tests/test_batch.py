"""The folder runner: overlap of decode/analyze/encode, bounded memory, resume, errors collected,
cancel, summary and report; and `vision-studio analyze` with --formats/--jobs as a user runs it."""
import csv
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vision_studio.core import batch as B
from vision_studio.core.analysis import AnalysisPlan, analyze_image
from vision_studio.core.annotate import Style
from vision_studio.core.export import ExportError
from vision_studio.core.pipeline import Pipeline, Step
from vision_studio.core.results import Detection

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT.parent / "shared" / "testdata" / "models" / "yolov8n_int8.onnx"


class FakeStage:
    """Stands in for ObjectStage: fixed boxes, an optional delay, a failure on demand, and a
    record of which thread ran it (the model must stay in the caller's thread)."""

    def __init__(self, delay=0.0, fail_on_width=None, label="widget"):
        self.delay, self.fail_on_width, self.label = delay, fail_on_width, label
        self.threads = set()
        self.calls = 0

    def run(self, pixels):
        self.threads.add(threading.get_ident())
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        h, w = pixels.shape[:2]
        if w == self.fail_on_width:
            raise RuntimeError("model exploded on this one")
        return [Detection("object", self.label, 0.8, (1, 1, w // 2, h // 2), class_id=0),
                Detection("face", "face", 0.9, (w // 2, h // 2, w - 1, h - 1), identity="Ada")]


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "in"
    (d / "sub" / "deeper").mkdir(parents=True)
    rng = np.random.default_rng(7)
    for i, rel in enumerate(["a.png", "b.jpg", "sub/c.png", "sub/deeper/d.webp", "e.tif"]):
        Image.fromarray(rng.integers(0, 255, (40 + i, 60 + i, 3), np.uint8)).save(d / rel)
    return d


def run(plan, items, options, **kw):
    gen = B.run_batch(plan, items, options, **kw)
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return stop.value, events


def test_outputs_mirror_input_folders_and_the_model_stays_in_the_caller_thread(folder, tmp_path):
    stage = FakeStage()
    items, errors = B.collect([folder], recursive=True)
    assert errors == [] and len(items) == 5
    out = tmp_path / "out"
    summary, events = run(AnalysisPlan(objects=stage), items, B.BatchOptions(out, formats=B.ALL_FORMATS, jobs=3))
    assert summary.ok and summary.processed == 5 and [e.done for e in events] == [1, 2, 3, 4, 5]
    assert stage.threads == {threading.get_ident()}
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    for rel in ["a.png", "b.jpg", "sub/c.png", "sub/deeper/d.webp", "e.tif", "results.json", "results.csv",
                "coco.json", "yolo/data.yaml", "yolo/labels/sub/deeper/d.txt", "yolo/images/sub/c.png",
                "voc/Annotations/sub/c.xml", "crops/Ada/sub_deeper_d-1.jpg", "summary.csv", "report.html"]:
        assert rel in files, rel
    assert summary.classes == {"widget": 5, "face": 5} and summary.people == {"Ada": 5}
    assert not [t for t in threading.enumerate() if t.name.startswith("vs-batch")]
    entries = json.loads((out / "results.json").read_text())
    assert [e["name"] for e in entries] == ["a.png", "b.jpg", "e.tif", "sub/c.png", "sub/deeper/d.webp"]


def test_written_image_equals_analyze_image_with_the_default_style(folder, tmp_path):
    plan = AnalysisPlan(pipeline=Pipeline((Step("gaussian_blur", {"ksize": 5}),)), objects=FakeStage())
    items, _ = B.collect([folder / "a.png"], recursive=False)
    run(plan, items, B.BatchOptions(tmp_path / "out"))
    from vision_studio.core.image_io import read_image

    expected, _ = analyze_image(plan, read_image(folder / "a.png").pixels)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "a.png")), expected)
    # ... and another style gives another image
    run(plan, items, B.BatchOptions(tmp_path / "styled", style=Style(line_width=5)))
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "styled" / "a.png")), expected)


def test_decoding_analysis_and_encoding_overlap(tmp_path, monkeypatch):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(8):
        Image.fromarray(np.full((30, 30, 3), i * 20, np.uint8)).save(d / f"{i}.png")
    import vision_studio.core.image_io as io_mod

    real_read, real_save = io_mod.read_image, B.save_image
    delay = 0.1

    def slow_read(path, *a, **k):
        time.sleep(delay)
        return real_read(path, *a, **k)

    def slow_save(*a, **k):
        time.sleep(delay)
        return real_save(*a, **k)

    monkeypatch.setattr(io_mod, "read_image", slow_read)
    monkeypatch.setattr(B, "save_image", slow_save)
    items, _ = B.collect([d], recursive=False)
    t0 = time.perf_counter()
    summary, _ = run(AnalysisPlan(objects=FakeStage(delay=delay)), items, B.BatchOptions(tmp_path / "out", jobs=2))
    elapsed = time.perf_counter() - t0
    assert summary.processed == 8
    serial = 3 * delay * 8  # read + model + write, one after another
    assert elapsed < 0.6 * serial, f"{elapsed:.2f} s: the stages did not overlap (serial {serial:.2f} s)"


def test_memory_stays_bounded_when_the_writers_are_slow(tmp_path, monkeypatch):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(12):
        Image.fromarray(np.full((20, 20, 3), i, np.uint8)).save(d / f"{i}.png")
    in_flight, peak, lock = [0], [0], threading.Lock()
    real_write = B._write_one

    class Counting(FakeStage):
        def run(self, pixels):
            with lock:
                in_flight[0] += 1
                peak[0] = max(peak[0], in_flight[0])
            return super().run(pixels)

    def slow_write(*a, **k):
        time.sleep(0.05)
        try:
            return real_write(*a, **k)
        finally:
            with lock:
                in_flight[0] -= 1

    monkeypatch.setattr(B, "_write_one", slow_write)
    items, _ = B.collect([d], recursive=False)
    summary, _ = run(AnalysisPlan(objects=Counting()), items, B.BatchOptions(tmp_path / "out", jobs=2))
    assert summary.processed == 12
    assert peak[0] <= 2 * 2 + 1, f"{peak[0]} analyzed images waited for the writers"


def test_resume_skips_done_files_keeps_entries_and_overwrite_redoes_them(folder, tmp_path):
    items, _ = B.collect([folder], recursive=True)
    out = tmp_path / "out"
    first, _ = run(AnalysisPlan(objects=FakeStage()), items[:2], B.BatchOptions(out, formats=("json", "coco")))
    assert first.processed == 2
    stamp = (out / items[0].relative.as_posix()).stat().st_mtime_ns
    stage = FakeStage()
    second, events = run(AnalysisPlan(objects=stage), items, B.BatchOptions(out, formats=("json", "coco")))
    assert (second.processed, second.skipped, stage.calls) == (3, 2, 3)
    assert sum("exists, skipped" in (e.notice or "") for e in events) == 2
    assert (out / items[0].relative.as_posix()).stat().st_mtime_ns == stamp  # not rewritten
    assert len(json.loads((out / "results.json").read_text())) == 5
    assert len(json.loads((out / "coco.json").read_text())["images"]) == 5
    assert second.classes["widget"] == 5  # the summary counts the skipped ones from the earlier run
    third, _ = run(AnalysisPlan(objects=FakeStage()), items, B.BatchOptions(out, overwrite=True))
    assert (third.processed, third.skipped) == (5, 0)


def test_errors_are_collected_and_the_run_goes_on(folder, tmp_path):
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    items, _ = B.collect([folder], recursive=False)
    summary, events = run(AnalysisPlan(objects=FakeStage(fail_on_width=61)), items,
                          B.BatchOptions(tmp_path / "out", formats=("json", "report")))
    failed = dict(summary.failures)
    assert set(failed) == {str(folder / "broken.png"), str(folder / "b.jpg")}
    assert failed[str(folder / "b.jpg")] == "model exploded on this one"
    assert summary.processed == 2 and (tmp_path / "out" / "a.png").exists()
    assert [e.error for e in events if e.error] == summary.failures
    rows = list(csv.reader((tmp_path / "out" / "summary.csv").read_text().splitlines()))
    assert ["total", "failed", "2"] in rows and ["failure", str(folder / "b.jpg"), "model exploded on this one"] in rows


def test_full_disk_while_writing_is_a_failure_not_a_partial_file(folder, tmp_path, monkeypatch):
    def full(path, *a, **k):
        if Path(path).name == "b.jpg":
            raise ExportError(path, "disk full")
        return real(path, *a, **k)

    real = B.save_image
    monkeypatch.setattr(B, "save_image", full)
    items, _ = B.collect([folder], recursive=False)
    summary, _ = run(AnalysisPlan(objects=FakeStage()), items, B.BatchOptions(tmp_path / "out"))
    assert summary.failures == [(str(tmp_path / "out" / "b.jpg"), "disk full")]
    assert not (tmp_path / "out" / "b.jpg").exists() and (tmp_path / "out" / "e.tif").exists()


def test_cancel_stops_soon_keeps_what_was_done_and_leaves_no_threads(tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(20):
        Image.fromarray(np.full((20, 20, 3), i, np.uint8)).save(d / f"{i:02}.png")
    items, _ = B.collect([d], recursive=False)
    stage = FakeStage(delay=0.02)
    summary, _ = run(AnalysisPlan(objects=stage), items, B.BatchOptions(tmp_path / "out"),
                     should_stop=lambda: stage.calls >= 5)
    assert summary.cancelled and not summary.ok and 5 <= summary.processed <= 6
    assert len(json.loads((tmp_path / "out" / "results.json").read_text())) == summary.processed
    assert not [t for t in threading.enumerate() if t.name.startswith("vs-batch")]
    again, _ = run(AnalysisPlan(objects=FakeStage()), items, B.BatchOptions(tmp_path / "out"))
    assert (again.skipped, again.processed) == (summary.processed, 20 - summary.processed)  # resumed


def test_report_escapes_everything_and_shows_thumbnails(folder, tmp_path):
    items, _ = B.collect([folder / "a.png", folder / "b.jpg"], recursive=False)
    summary, _ = run(AnalysisPlan(objects=FakeStage(label="<script>alert(1)</script>")), items,
                     B.BatchOptions(tmp_path / "out", formats=("report",)))
    html = summary.report.read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("data:image/jpeg;base64,") == 2 and "href='a.png'" in html
    rows = list(csv.reader(summary.summary_csv.read_text().splitlines()))
    assert ["class", "<script>alert(1)</script>", "2"] in rows and ["person", "Ada", "2"] in rows
    again, _ = run(AnalysisPlan(objects=FakeStage()), items, B.BatchOptions(tmp_path / "out", formats=("report",)))
    assert again.skipped == 2 and again.report.read_text().count("data:image/jpeg;base64,") == 2  # read back


def test_two_inputs_that_would_write_the_same_file_are_refused(tmp_path):
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(tmp_path / d / "same.png")
    items, _ = B.collect([tmp_path / "x" / "same.png", tmp_path / "y" / "same.png"], recursive=False)
    summary, _ = run(AnalysisPlan(objects=FakeStage()), items, B.BatchOptions(tmp_path / "out"))
    assert summary.processed == 1 and "would overwrite the result of" in summary.failures[0][1]


# ----------------------------------------------------------------------------- the CLI
def vs(*args):
    return subprocess.run([sys.executable, "-m", "vision_studio", *map(str, args)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


BLUR = {"version": 1, "steps": [{"op": "gaussian_blur", "params": {"ksize": 3}}]}


def test_cli_formats_no_annotated_and_exit_status(folder, tmp_path):
    pipe = tmp_path / "p.json"
    pipe.write_text(json.dumps(BLUR))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8garbage")
    out = tmp_path / "out"
    r = vs("analyze", folder, "-o", out, "--pipeline", pipe, "--formats", "json,csv,report", "--no-annotated",
           "--jobs", "3", "--recursive")
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if ": error: " in ln]
    assert len(lines) == 1 and lines[0].startswith(f"{folder / 'broken.jpg'}: error: ")
    assert "Traceback" not in r.stderr and "note:" not in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "results.csv", "results.json", "summary.csv"]
    again = vs("analyze", folder, "-o", out, "--pipeline", pipe, "--no-annotated", "--recursive")
    assert again.returncode == 1 and again.stderr.count("exists, skipped") == 5


@pytest.mark.parametrize("args, message", [
    (["--formats", "json,tiff"], "--formats: unknown format tiff"),
    (["--jobs", "0"], "--jobs 0: must be at least 1"),
    (["--quality", "0"], "--quality 0"),
])
def test_cli_usage_errors_exit_2_and_write_nothing(folder, tmp_path, args, message):
    pipe = tmp_path / "p.json"
    pipe.write_text(json.dumps(BLUR))
    r = vs("analyze", folder, "-o", tmp_path / "out", "--pipeline", pipe, *args)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not MODEL.exists(), reason="needs ../shared/testdata/models/yolov8n_int8.onnx")
def test_cli_objects_to_coco_and_yolo_with_the_model_ids(tmp_path, bus_jpg):
    from pycocotools.coco import COCO

    out = tmp_path / "out"
    r = vs("analyze", bus_jpg, "-o", out, "--objects", "--model", MODEL, "--formats", "coco,yolo,voc")
    assert r.returncode == 0, r.stderr
    (entry,) = json.loads((out / "results.json").read_text())
    coco = COCO(str(out / "coco.json"))
    assert len(coco.cats) == 80 and coco.cats[1]["name"] == "person" and coco.cats[6]["name"] == "bus"
    assert sorted(a["bbox"][0] for a in coco.dataset["annotations"]) == \
        pytest.approx(sorted(d["box"][0] for d in entry["results"]), abs=0.01)
    ids = sorted(int(line.split()[0]) for line in (out / "yolo" / "labels" / "bus.txt").read_text().splitlines())
    assert ids == sorted(d["class_id"] for d in entry["results"])  # YOLO ids are the model's ids


def test_cli_style_file_gives_the_same_image_as_the_core_with_that_style(tmp_path):
    from vision_studio.core.analysis import analyze
    from vision_studio.core.image_io import read_image

    src = tmp_path / "shapes.png"
    img = np.zeros((60, 80, 3), np.uint8)
    img[20:40, 30:50] = 255
    Image.fromarray(img).save(src)
    pipe = tmp_path / "p.json"
    pipe.write_text(json.dumps({"version": 1, "steps": [{"op": "analyze_particles"}]}))
    style = Style(line_width=4, show_label=False, class_colors=(("object", (0, 255, 0)),))
    (tmp_path / "style.json").write_text(json.dumps({"style": style.to_dict()}))
    r = vs("analyze", src, "-o", tmp_path / "out", "--pipeline", pipe, "--style", tmp_path / "style.json")
    assert r.returncode == 0, r.stderr
    from vision_studio.core.pipeline import load

    result = analyze(AnalysisPlan(load(pipe)), read_image(src).pixels)
    assert result.detections
    expected = B.annotate(result, style)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "shapes.png")), expected)
    assert not np.array_equal(expected, B.annotate(result, Style()))
    bad = vs("analyze", src, "-o", tmp_path / "o2", "--pipeline", pipe, "--style", tmp_path / "nope.json")
    assert bad.returncode == 2 and "--style" in bad.stderr and not (tmp_path / "o2").exists()


def test_files_that_are_not_images_are_named_not_silently_dropped(folder, tmp_path):
    (folder / "notes.txt").write_text("x")
    (folder / "sub" / "data.csv").write_text("x")
    (folder / ".hidden").write_text("x")
    notices: list[str] = []
    items, errors = B.collect([folder], True, notices)
    assert len(items) == 5 and not errors
    assert len(notices) == 1
    assert notices[0].startswith(f"{folder}: note: 2 files that are not images left out (")
    assert "notes.txt" in notices[0] and "data.csv" in notices[0] and ".hidden" not in notices[0]
    B.collect([folder], False, notices := [])
    assert notices == [f"{folder}: note: 1 file that is not an image left out (notes.txt)"]
    pipe = tmp_path / "p.json"
    pipe.write_text(json.dumps(BLUR))
    r = vs("analyze", folder, "-o", tmp_path / "out", "--pipeline", pipe, "--no-annotated")
    assert r.returncode == 0 and "1 file that is not an image left out (notes.txt)" in r.stderr
