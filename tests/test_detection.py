"""Objects: vision_studio.core.detection (models, settings, predictor) and `vision-studio models`.

Real models from ../shared/testdata/models (yolov8n_int8.onnx via onnxruntime, its OpenVINO
export); without that folder the COCO checks fall back to the official yolov8n.pt download
(and say so). Plumbing for segment/pose/classify/obb uses networks built from ultralytics'
YAML files (random weights, no download) and hand-built ultralytics Results. One subprocess
checks the process-level promises: settings file under our data dir, sync off, no network,
no font, nothing written to the current directory or the home folder.
"""
from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("ultralytics") is None:  # find_spec: importing it here would configure it
    pytest.skip("the objects extra (ultralytics) is not installed", allow_module_level=True)

from vision_studio.core.detection import models, settings  # noqa: E402
from vision_studio.core.detection.predictor import (  # noqa: E402
    ClassFilterError,
    ObjectDetector,
    class_ids,
    results_to_detections,
)
from vision_studio.core.image_io import read_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "testdata"
INT8_ONNX = SHARED / "models" / "yolov8n_int8.onnx"
INT8_OPENVINO = SHARED / "models" / "yolov8n_int8_openvino_model"


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module", autouse=True)
def _ultralytics_home(tmp_path_factory):
    """ultralytics reads its settings once per process: give it a private, throw-away home."""
    home = tmp_path_factory.mktemp("ultralytics-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VISION_STUDIO_DATA_DIR", str(home / "data"))
        if "ultralytics.utils" not in sys.modules:
            mp.setenv("YOLO_CONFIG_DIR", str(home / "data" / "ultralytics"))
        settings.ensure_configured()
    yield home


@pytest.fixture(autouse=True)
def _empty_cwd(tmp_path, monkeypatch):
    """Every test runs in an empty current directory, which must stay empty."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    yield
    assert sorted(p.name for p in cwd.iterdir()) == [], "something was written to the current directory"


@pytest.fixture(scope="module")
def coco_onnx() -> Path:
    if INT8_ONNX.is_file():
        return INT8_ONNX
    print("no ../shared/testdata: using the official yolov8n.pt download instead of yolov8n_int8.onnx")
    return models.download_model("yolov8n.pt")


@pytest.fixture(scope="module")
def coco_openvino(coco_onnx) -> Path:
    if INT8_OPENVINO.is_dir():
        return INT8_OPENVINO
    print("no ../shared/testdata: exporting yolov8n.pt to OpenVINO instead")
    return models.optimize(coco_onnx, "openvino")


@pytest.fixture(scope="module")
def bus(sample_images) -> np.ndarray:
    return read_image(sample_images["bus.jpg"]).pixels


@pytest.fixture(scope="module")
def onnx_detector(coco_onnx) -> ObjectDetector:
    return ObjectDetector(coco_onnx, threads="batch")


@pytest.fixture(scope="module")
def random_pt(tmp_path_factory) -> Path:
    """yolo26n from its YAML (random weights) saved as a .pt: the input optimize() needs."""
    import torch
    from ultralytics import YOLO

    path = tmp_path_factory.mktemp("weights") / "yolo26n_random.pt"
    torch.manual_seed(0)  # seed 0 gives boxes at conf 0 (test_optimize_... predicts with it)
    YOLO("yolo26n.yaml").save(str(path))
    return path


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _sorted_boxes(boxes, cls):
    order = np.lexsort((boxes[:, 0], cls))
    return boxes[order], cls[order]


# ----------------------------------------------------------------------------- real models

def test_bus_matches_direct_ultralytics_to_a_thousandth_of_a_pixel(onnx_detector, bus, coco_onnx, tmp_path):
    from ultralytics import YOLO

    found = onnx_detector.predict(bus)
    labels = Counter(d.label for d in found)
    assert labels["bus"] == 1 and labels["person"] >= 4, labels
    assert all(d.kind == "object" and d.mask is None and d.keypoints is None for d in found)
    h, w = bus.shape[:2]
    for d in found:
        x1, y1, x2, y2 = d.box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h  # original pixels, not the 640 input
    # ultralytics takes numpy input as BGR: give it the same decoded pixels, channel-swapped
    direct = YOLO(str(coco_onnx)).predict(np.ascontiguousarray(bus[..., ::-1]), conf=0.25, iou=0.7,
                                          verbose=False, save=False, project=str(tmp_path / "runs"))[0]
    theirs, their_cls = _sorted_boxes(direct.boxes.xyxy.cpu().numpy(), direct.boxes.cls.cpu().numpy())
    ours, our_cls = _sorted_boxes(np.array([d.box for d in found]), np.array([d.class_id for d in found]))
    assert our_cls.tolist() == their_cls.tolist()
    np.testing.assert_allclose(ours, theirs, atol=1e-3, rtol=0)
    assert [d.label for d in found] == [direct.names[int(c)] for c in direct.boxes.cls]
    np.testing.assert_allclose([d.confidence for d in found], direct.boxes.conf.cpu().numpy(), atol=1e-6)
    assert not (tmp_path / "runs").exists()  # save=False writes nothing, not even its folder


def test_openvino_export_finds_the_same_objects(coco_openvino, onnx_detector, bus):
    ov = ObjectDetector(coco_openvino)
    assert ov.format == "openvino" and ov.task == "detect" and ov.names == onnx_detector.names
    a, b = onnx_detector.predict(bus), ov.predict(bus)
    assert Counter(d.label for d in a if d.confidence >= 0.4) == Counter(d.label for d in b if d.confidence >= 0.4)
    for d in (d for d in b if d.confidence >= 0.4):  # each box has a twin (two int8 quantizations)
        twin = max(a, key=lambda e: _iou(e.box, d.box))
        assert twin.label == d.label and _iou(twin.box, d.box) > 0.9


def test_class_filter_by_name_and_id(coco_onnx, onnx_detector, bus):
    everything = onnx_detector.predict(bus)
    people = ObjectDetector(coco_onnx, classes=["person"]).predict(bus)
    assert people and {d.label for d in people} == {"person"}
    assert len(people) == sum(d.label == "person" for d in everything)
    mixed = ObjectDetector(coco_onnx, classes=["Bus", 0])  # names are case-insensitive, ids work too
    assert mixed.classes == [0, 5]
    assert {d.label for d in mixed.predict(bus)} == {"bus", "person"}
    with pytest.raises(ClassFilterError) as err:
        ObjectDetector(coco_onnx, classes=["person", "unicorn"])
    assert "'unicorn'" in str(err.value) and "valid: person, bicycle, car" in str(err.value)
    with pytest.raises(ClassFilterError):
        class_ids([99], {0: "a", 1: "b"})


def test_track_gives_stable_ids(coco_onnx, bus):
    det = ObjectDetector(coco_onnx)
    first = det.track(bus)
    second = det.track(bus)
    assert first and all(isinstance(d.track_id, int) for d in first)
    assert len({d.track_id for d in first}) == len(first)
    by_id = {d.track_id: d for d in first}
    for d in second:  # the same frame again: the same objects keep their ids
        assert d.track_id in by_id and by_id[d.track_id].label == d.label
    assert all(d.confidence >= det.conf for d in second)
    plain = det.predict(bus)  # predict after track: no ids, tracker untouched
    assert plain and all(d.track_id is None for d in plain)


def test_bot_sort_replaces_byte_track_and_keeps_ids(coco_onnx, bus):
    det = ObjectDetector(coco_onnx)
    det.track(bus)
    assert type(det._model.predictor.trackers[0]).__name__ == "BYTETracker"
    det.set_tracker("botsort")
    frames = [det.track(bus) for _ in range(3)]
    assert type(det._model.predictor.trackers[0]).__name__ == "BOTSORT"
    assert len(det._model.predictor.trackers) == 1  # replaced, not stacked
    ids = [sorted(d.track_id for d in f) for f in frames]
    assert ids[0] and None not in ids[0] and ids[1] == ids[2]
    det.set_tracker("botsort")  # the same kind again: the tracks stay
    assert sorted(d.track_id for d in det.track(bus)) == ids[2]


def test_thread_policy_applied_by_the_detector(onnx_detector, bus, monkeypatch):
    import torch

    cores = settings.available_cores()
    assert settings.thread_count("batch") == cores
    assert settings.thread_count("interactive") == min(cores, max(2, cores - 1))
    assert settings.thread_count("live") == max(1, cores - 1)
    assert settings.thread_count(3) == 3
    monkeypatch.setenv("VISION_STUDIO_THREADS", "1")
    assert settings.thread_count("batch") == 1
    with pytest.raises(ValueError):
        settings.thread_count("fast")
    onnx_detector.predict(bus)
    assert torch.get_num_threads() == 1, "an exported model: torch only pre/post-processes, on one thread"
    monkeypatch.delenv("VISION_STUDIO_THREADS")
    torch_model = ObjectDetector("yolo26n.yaml", imgsz=160, threads=2)
    torch_model.predict(bus)
    assert torch.get_num_threads() == 2 == torch_model.threads


# ----------------------------------------------------------------------------- plumbing (random weights)

@pytest.mark.parametrize("yaml, task", [("yolo26n-seg.yaml", "segment"), ("yolo26n-pose.yaml", "pose"),
                                        ("yolo26n-cls.yaml", "classify"), ("yolo26n-obb.yaml", "obb")])
def test_yaml_models_convert_every_task(yaml, task, sample_images):
    pixels = read_image(sample_images["zidane.jpg"]).pixels  # 1280 x 720: not square, not 320
    h, w = pixels.shape[:2]
    import torch

    torch.manual_seed(0)  # random weights: with some seeds even conf=0 leaves nothing after NMS
    det = ObjectDetector(yaml, conf=0.0, imgsz=160, max_det=4)
    assert det.task == task and det.names
    raw = det.predict_raw(pixels)
    found = det.predict(pixels)
    assert found, "conf=0.0 and seed 0 should let random weights through"
    if task == "classify":
        assert [d.attributes["rank"] for d in found] == [1, 2, 3, 4, 5]
        assert all(d.kind == "classification" and d.box is None for d in found)
        conf = [d.confidence for d in found]
        assert conf == sorted(conf, reverse=True)
        assert found[0].class_id == int(raw.probs.top1)
        return
    assert len(found) == len(raw.obb if task == "obb" else raw.boxes) <= 4
    for d in found:
        assert d.kind == "object" and d.label == det.names[d.class_id] and d.box is not None
        if task == "segment":
            assert d.mask.shape == (h, w) and d.mask.dtype == bool
        if task == "pose":
            assert d.keypoints.shape == (17, 3)
        if task == "obb":
            corners = np.array(d.attributes["obb"])
            assert corners.shape == (4, 2) and isinstance(d.attributes["angle"], float)
            np.testing.assert_allclose(d.box, [*corners.min(0), *corners.max(0)], atol=1e-2)
    json.dumps([d.to_dict() for d in found])  # the results.json shape


def _results(orig_hw=(300, 400), **parts):
    import torch
    from ultralytics.engine.results import Results

    names = {i: f"class{i}" for i in range(10)}
    tensors = {k: torch.as_tensor(np.asarray(v, np.float32)) for k, v in parts.items()}
    return Results(np.zeros((*orig_hw, 3), np.uint8), path="frame.jpg", names=names, **tensors)


def test_converter_on_hand_built_results():
    boxes = [[10, 20, 110, 220, 0.9, 0], [50, 60, 70, 80, 0.4, 2]]
    # masks at the letterboxed 320 x 320 input of a 300 x 400 image: gain 0.8, 40 px pad top and bottom
    masks = np.zeros((2, 320, 320), np.float32)
    masks[0, 40 + 16:40 + 80, 8:80] = 1  # -> original rows 20..100, cols 10..100
    kpts = np.random.default_rng(0).uniform(0, 300, (2, 17, 3)).astype(np.float32)
    found = results_to_detections(_results(boxes=boxes, masks=masks, keypoints=kpts))
    assert [(d.label, d.class_id) for d in found] == [("class0", 0), ("class2", 2)]
    assert found[0].box == (10.0, 20.0, 110.0, 220.0) and found[0].confidence == pytest.approx(0.9)
    m = found[0].mask
    assert m.shape == (300, 400) and m.dtype == bool
    assert m[25:95, 15:95].all() and not m[:15].any() and not m[105:].any() and not m[:, 105:].any()
    assert not found[1].mask.any()
    np.testing.assert_allclose(found[1].keypoints, kpts[1])
    # tracking adds an id column: x1 y1 x2 y2 id conf cls
    tracked = results_to_detections(_results(boxes=[[1, 2, 3, 4, 7, 0.5, 1]]))
    assert tracked[0].track_id == 7 and tracked[0].class_id == 1
    assert results_to_detections(_results(boxes=np.zeros((0, 6)))) == []
    probs = np.array([0.01, 0.3, 0.05, 0.4, 0.02, 0.1, 0.03, 0.04, 0.03, 0.02])
    top = results_to_detections(_results(probs=probs))
    assert [(d.class_id, d.attributes["rank"]) for d in top] == [(3, 1), (1, 2), (5, 3), (2, 4), (7, 5)]
    rotated = results_to_detections(_results(obb=[[200, 150, 100, 40, np.pi / 2, 0.8, 4]]))
    assert rotated[0].label == "class4"
    np.testing.assert_allclose(rotated[0].box, (180, 100, 220, 200), atol=1e-3)
    assert sorted(map(tuple, np.round(rotated[0].attributes["obb"]))) == [
        (180.0, 100.0), (180.0, 200.0), (220.0, 100.0), (220.0, 200.0)]


def test_a_broken_model_file_is_one_clear_error(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx model")
    with pytest.raises(models.ModelUnavailable, match=r"broken.onnx: cannot load this model") as err:
        ObjectDetector(broken).predict(np.zeros((64, 64, 3), np.uint8))
    assert "\n" not in str(err.value) and "ERROR" not in str(err.value)


def test_devices():
    import torch

    from vision_studio.core.detection.predictor import resolve_device

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("0" if torch.cuda.is_available() else
                                      "mps" if torch.backends.mps.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")


def test_bad_input_pixels_are_rejected(onnx_detector):
    with pytest.raises(ValueError, match="uint8"):
        onnx_detector.predict(np.zeros((20, 20, 3), np.float32))
    with pytest.raises(ValueError, match="H x W x 3"):
        onnx_detector.predict(np.zeros((20, 20, 5), np.uint8))


# ----------------------------------------------------------------------------- models: default, download, trust

def test_offline_default_model_fails_fast_and_clearly():
    t0 = time.monotonic()
    with pytest.raises(models.ModelUnavailable) as err:
        ObjectDetector()  # the default, yolo26n.pt, is not downloaded and there is no network
    assert time.monotonic() - t0 < 10
    msg = str(err.value)
    assert msg.startswith("yolo26n.pt: cannot download (no network): choose a local model file"), msg
    assert "\n" not in msg
    assert not (models.models_dir() / "yolo26n.pt").exists()
    with pytest.raises(models.ModelUnavailable, match="not downloaded yet"):
        models.resolve_model("yolo26n.pt", download=False)
    with pytest.raises(models.ModelUnavailable, match="file not found"):
        models.resolve_model("no_such_model.pt")


def test_offline_through_ultralytics_downloader_leaves_nothing(monkeypatch):
    monkeypatch.setattr(models, "network_reachable", lambda **kw: True)  # the probe is fooled...
    t0 = time.monotonic()
    with pytest.raises(models.ModelUnavailable) as err:  # ...ultralytics' safe_download still fails fast
        models.download_model("yolo26n.pt")
    assert time.monotonic() - t0 < 20 and str(err.value).startswith("yolo26n.pt: ")
    leftovers = list(models.models_dir().glob("*")) if models.models_dir().exists() else []
    assert leftovers == []


@pytest.fixture
def local_server(tmp_path):
    """A local HTTP server with one 300 kB file, standing in for GitHub's release assets."""
    root = tmp_path / "www"
    root.mkdir()
    payload = np.random.default_rng(1).integers(0, 255, 300_000, np.uint8).tobytes()
    (root / "yolo26n.pt").write_bytes(payload)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", payload
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_download_reports_progress_and_can_be_cancelled(local_server, monkeypatch):
    base, payload = local_server
    monkeypatch.setattr(models, "network_reachable", lambda **kw: True)
    monkeypatch.setattr(models, "_download_url", lambda name: f"{base}/{name}")
    seen = []
    with pytest.raises(models.DownloadCancelled):
        models.download_model("yolo26n.pt", progress=lambda d, t: seen.append((d, t)),
                              cancel=lambda: len(seen) >= 2)
    assert not (models.models_dir() / "yolo26n.pt").exists()
    assert list(models.models_dir().glob(".*.part")) == []  # the partial file is cleaned up
    seen.clear()
    path = models.download_model("yolo26n.pt", progress=lambda d, t: seen.append((d, t)))
    assert path == models.models_dir() / "yolo26n.pt" and path.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload)) and len(seen) >= 2
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert models.resolve_model(None) == path  # now the default resolves locally
    assert not models.needs_trust_warning(path)  # our own download


def test_trust_warning_and_formats(tmp_path):
    outside = tmp_path / "someone_elses.pt"
    assert models.needs_trust_warning(outside)
    assert models.needs_trust_warning(tmp_path / "model.torchscript")
    assert not models.needs_trust_warning(models.models_dir() / "yolo26n.pt")
    assert not models.needs_trust_warning(tmp_path / "m.onnx")
    assert not models.needs_trust_warning(tmp_path / f"m{models.OPENVINO_SUFFIX}")
    assert models.model_format(tmp_path / f"x{models.OPENVINO_SUFFIX}") == "openvino"
    assert models.model_format(tmp_path / f"x{models.OPENVINO_SUFFIX}" / "x.xml") == "openvino"
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    (renamed / "model.xml").write_text("<net/>")
    with pytest.raises(models.ModelUnavailable, match="_openvino_model"):
        models.resolve_model(renamed)
    with pytest.raises(models.ModelUnavailable, match="unsupported model type"):
        models.model_format(tmp_path / "model.h5")


class _Booby:
    """Unpickling this calls open(path, "w"): what a malicious checkpoint would do."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_safe_loading_refuses_a_checkpoint_that_runs_code(tmp_path):
    import torch
    from ultralytics.nn import tasks

    assert tasks.SAFE_LOAD is True  # .pt loads use torch.load(weights_only=True) + an allow-list
    marker = tmp_path / "pwned.txt"
    evil = tmp_path / "evil.pt"
    torch.save({"model": _Booby(str(marker)), "train_args": {}}, evil)
    assert models.needs_trust_warning(evil)
    with pytest.raises(models.ModelUnavailable, match="cannot load this model"):
        ObjectDetector(evil)
    assert not marker.exists()


def test_recent_models(tmp_path):
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    a.write_bytes(b"x")
    b.write_bytes(b"y")
    assert models.recent_models() == []
    models.add_recent(a)
    models.add_recent(b)
    models.add_recent(a)
    assert models.recent_models() == [a.resolve(), b.resolve()]
    b.unlink()
    assert models.recent_models() == [a.resolve()]  # missing files are skipped
    (models.data_dir() / "recent_models.json").write_text("{not json")
    assert models.recent_models() == []


# ----------------------------------------------------------------------------- optimize + CLI

def test_optimize_exports_once_and_reuses_the_cache(random_pt, sample_images):
    t0 = time.monotonic()
    out = models.optimize(random_pt, "onnx", imgsz=160)
    first_s = time.monotonic() - t0
    assert out.is_file() and out.suffix == ".onnx" and models.is_inside(out, settings.optimized_dir())
    stamp = out.stat().st_mtime_ns
    t0 = time.monotonic()
    assert models.optimize(random_pt, "onnx", imgsz=160) == out
    assert time.monotonic() - t0 < min(0.5, first_s)
    assert out.stat().st_mtime_ns == stamp
    [entry] = models.optimized_models()
    assert entry.path == out and entry.imgsz == 160 and entry.source == str(random_pt.resolve())
    assert models.find_optimized(random_pt, "onnx", 160) == out
    assert models.find_optimized(random_pt, "onnx", 320) is None
    det = ObjectDetector(out, imgsz=160, conf=0.0, max_det=3)
    assert det.task == "detect" and len(det.names) == 80
    assert det.predict(read_image(sample_images["bus.jpg"]).pixels)
    assert not list(settings.optimized_dir().glob(".tmp-*"))  # the private work folder is gone
    with pytest.raises(models.ModelUnavailable, match="only .pt models"):
        models.optimize(out, "openvino")
    with pytest.raises(ValueError, match="multiple of 32"):
        models.optimize(random_pt, "onnx", imgsz=100)


def test_optimize_without_the_exporter_package(random_pt, monkeypatch, caplog):
    monkeypatch.setattr(models, "_required_packages", lambda fmt, int8=False: ["vision_studio_no_such_exporter"])
    with pytest.raises(models.ExportUnavailable) as err:
        models.optimize(random_pt, "openvino")
    assert "pip install vision_studio_no_such_exporter" in str(err.value)
    assert "still runs unoptimized" in str(err.value)
    assert models.optimize(random_pt, "openvino", fallback=True) == random_pt
    assert "not installed" in caplog.text


def test_optimize_int8_calibrates_on_local_images(random_pt, sample_images, tmp_path, capsys):
    from vision_studio.cli import run

    calib = tmp_path / "calib"
    calib.mkdir()
    for name in ("bus.jpg", "zidane.jpg"):
        (calib / name).write_bytes(sample_images[name].read_bytes())
    out = models.optimize(random_pt, "openvino", imgsz=160, int8=True, calibration=[calib])
    assert out.is_dir() and out.name.endswith("_int8_openvino_model") and list(out.glob("*.xml"))
    assert capsys.readouterr().out == "", "exporter progress must not go to stdout (the CLI prints the path there)"
    assert models.find_optimized(random_pt, "openvino", 160, int8=True) == out
    assert models.find_optimized(random_pt, "openvino", 160) is None  # FP32 is a different export
    [entry] = [m for m in models.optimized_models() if m.path == out]
    assert entry.int8
    det = ObjectDetector(out, imgsz=160, conf=0.0, max_det=3)
    assert det.format == "openvino" and det.predict(read_image(sample_images["bus.jpg"]).pixels)
    assert not (settings.optimized_dir() / out.parent.name / "calib").exists()  # calibration copies removed
    with pytest.raises(ValueError, match="openvino format only"):
        models.optimize(random_pt, "onnx", int8=True)
    with pytest.raises(models.ModelError, match="no images"):
        models.optimize(random_pt, "openvino", imgsz=160, int8=True, calibration=[tmp_path / "cwd"])
    assert run(["models", "optimize", str(random_pt), "--int8", "--format", "onnx"]) == 2
    assert "needs --format openvino" in capsys.readouterr().err
    assert run(["models", "optimize", str(random_pt), "--int8", "--imgsz", "160", "--calibration", str(calib)]) == 0
    assert Path(capsys.readouterr().out.strip()) == out  # cached


def test_cli_models_list_and_optimize(random_pt, capsys):
    from vision_studio.cli import run

    assert run(["models", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["kind"] == "default" and rows[0]["name"] == "yolo26n.pt" and not rows[0]["available"]
    assert run(["models", "optimize", str(random_pt), "--format", "onnx", "--imgsz", "160"]) == 0
    out = Path(capsys.readouterr().out.strip())
    assert out.is_file() and out.suffix == ".onnx"
    assert run(["models", "optimize", str(random_pt), "--format", "onnx", "--imgsz", "160"]) == 0
    assert Path(capsys.readouterr().out.strip()) == out  # the cached one
    assert run(["models", "list"]) == 0
    text = capsys.readouterr().out
    assert "optimized" in text and str(out) in text and "(not downloaded)" in text
    assert run(["models", "optimize", "missing.pt"]) == 1
    assert capsys.readouterr().err.strip() == "missing.pt: error: file not found"
    assert run(["models", "optimize", str(random_pt), "--imgsz", "100"]) == 2


# ----------------------------------------------------------------------------- process-level promises

_PROBE = r"""
import json, os, socket, sys
calls = []
def refuse(name):
    def f(*args, **kwargs):
        calls.append((name, repr(args[:2])))
        raise OSError("network access refused by the test")
    return f
socket.getaddrinfo = refuse("getaddrinfo")
socket.create_connection = refuse("create_connection")
socket.socket.connect = refuse("connect")
socket.socket.connect_ex = refuse("connect_ex")

import cv2
import numpy as np
before = (cv2.getNumThreads(), np.get_printoptions()["linewidth"])
from vision_studio.core.detection import ObjectDetector, models, settings
from vision_studio.core.image_io import read_image
status = settings.status()
after = (cv2.getNumThreads(), np.get_printoptions()["linewidth"])
bus = read_image(sys.argv[1]).pixels
det = ObjectDetector(sys.argv[2])
found = det.predict(bus)
tracked = det.track(bus)
dicts = [d.to_dict() for d in found + tracked]
import torch
torch.manual_seed(0)  # random weights; seed 0 gives boxes at conf 0
seg = ObjectDetector("yolo26n-seg.yaml", conf=0.0, imgsz=160, max_det=2).predict(bus)
assert all(d.mask.shape == bus.shape[:2] for d in seg)
from ultralytics import YOLO
torch.manual_seed(0)
YOLO("yolo26n.yaml").save(sys.argv[3])
exported = models.optimize(sys.argv[3], "openvino", imgsz=160)
ov = ObjectDetector(exported, imgsz=160, conf=0.0, max_det=2).predict(bus)
print(json.dumps({"status": status, "calls": calls, "side_effects": [before, after], "found": len(found), "seg": len(seg),
                  "ov": len(ov), "exported": str(exported)}))
"""


@pytest.mark.timeout(240)
def test_process_settings_no_network_no_fonts_no_stray_files(tmp_path, coco_onnx, bus_jpg):
    home, cwd, data = tmp_path / "home", tmp_path / "cwd2", tmp_path / "data"
    home.mkdir()
    cwd.mkdir()
    weights = tmp_path / "weights" / "y.pt"
    weights.parent.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("YOLO_", "ULTRALYTICS_", "ORT_", "VISION_STUDIO_", "XDG_"))}
    env.update(HOME=str(home), VISION_STUDIO_DATA_DIR=str(data), PYTHONPATH=str(ROOT),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"))
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(_PROBE), str(bus_jpg), str(coco_onnx), str(weights)],
                       cwd=cwd, env=env, capture_output=True, text=True, timeout=230)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    status = out["status"]
    assert status["settings_file"] == str(data / "ultralytics" / "Ultralytics" / "settings.json")
    saved = json.loads(Path(status["settings_file"]).read_text())
    assert saved["sync"] is False and status["sync"] is False
    assert saved["runs_dir"].startswith(str(data)) and saved["weights_dir"] == str(data / "models")
    assert status["autoinstall"] is False and status["safe_load"] is True and status["online_probe"] is False
    before, after = out["side_effects"]  # ultralytics' cv2.setNumThreads(0) and print options undone
    assert before == after
    assert out["calls"] == []  # predicting, tracking, converting and exporting touched no network
    assert out["found"] >= 5 and out["seg"] >= 1 and out["ov"] >= 1
    assert Path(out["exported"]).is_dir() and models.is_inside(out["exported"], data / "models" / "optimized")
    assert sorted(p.name for p in cwd.iterdir()) == []
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []  # no ~/intel, ~/.cache/Microsoft
    fonts = [p for root in (home, data, tmp_path / "weights") for p in root.rglob("*.ttf")]
    assert fonts == []
