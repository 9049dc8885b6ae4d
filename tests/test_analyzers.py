"""Analyzer settings → one model thread → detections on the canvas and in the Results panel."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from vision_studio.core.analyzers import AnalyzerSettings, FaceSettings, ObjectSettings, StageCache
from vision_studio.core.pipeline import Pipeline

SHARED = Path(__file__).resolve().parents[2] / "shared" / "testdata"
MODEL = SHARED / "models" / "yolov8n_int8.onnx"
FACES = SHARED / "faces" / "face_recognition" / "examples"
needs_model = pytest.mark.skipif(not MODEL.exists(), reason="needs ../shared/testdata/models/yolov8n_int8.onnx")


def test_settings_are_values():
    a = AnalyzerSettings(objects=ObjectSettings(model="m.onnx", conf=0.3))
    assert a == AnalyzerSettings(objects=ObjectSettings(model="m.onnx", conf=0.3))
    assert a.active and not AnalyzerSettings().active
    with pytest.raises(ValueError, match="detect_on"):
        AnalyzerSettings(detect_on="both")
    with pytest.raises(ValueError, match="anonymize"):
        FaceSettings(anonymize="smudge")
    with pytest.raises(ValueError, match="tracker must be bytetrack or botsort"):
        ObjectSettings(tracker="sort")


@needs_model
def test_stage_cache_loads_a_model_once_and_applies_thresholds(bus_jpg):
    from vision_studio.core.analysis import analyze_image
    from vision_studio.core.image_io import read_image

    pixels = read_image(bus_jpg).pixels
    cache = StageCache(threads=1)
    settings = AnalyzerSettings(objects=ObjectSettings(model=str(MODEL)))
    assert cache.pending_loads(settings) == [f"Loading model {MODEL}…"]
    _, found = analyze_image(cache.plan(Pipeline(), settings), pixels)
    first = cache.detector
    labels = [d.label for d in found]
    assert labels.count("bus") == 1 and labels.count("person") >= 4
    assert cache.pending_loads(settings) == []

    only_bus = AnalyzerSettings(objects=ObjectSettings(model=str(MODEL), classes=("bus",), conf=0.5))
    _, found = analyze_image(cache.plan(Pipeline(), only_bus), pixels)
    assert cache.detector is first, "a threshold or class change must not reload the model"
    assert [d.label for d in found] == ["bus"] and all(d.confidence >= 0.5 for d in found)
    cache.plan(Pipeline(), AnalyzerSettings(objects=ObjectSettings(model=str(MODEL), tracker="botsort")))
    assert cache.detector is first and first.tracker == "botsort.yaml"  # the tracker is set per call

    cache.plan(Pipeline(), AnalyzerSettings(objects=ObjectSettings(model=str(MODEL), imgsz=320)))
    assert cache.detector is not first  # the input size is fixed when the model loads


def test_a_failed_model_load_does_not_leave_the_old_model(tmp_path):
    cache = StageCache(threads=1)
    with pytest.raises(Exception, match="missing.onnx"):
        cache.plan(Pipeline(), AnalyzerSettings(objects=ObjectSettings(model=str(tmp_path / "missing.onnx"))))
    assert cache.detector is None


def _wait_analysis(qtbot, window, timeout=120_000):
    qtbot.waitUntil(lambda: window.pipeline.is_current() and not window.pipeline.model_jobs.busy, timeout=timeout)


@needs_model
def test_objects_in_the_window_run_on_the_model_thread(qtbot, window, bus_jpg, monkeypatch):
    from vision_studio.core import analysis

    threads = set()
    original = analysis.ObjectStage.run

    def recording_run(self, pixels):
        threads.add(threading.get_ident())
        return original(self, pixels)

    monkeypatch.setattr(analysis.ObjectStage, "run", recording_run)
    window.open_paths([bus_jpg])
    qtbot.waitUntil(lambda: window.browser.current is not None, timeout=20_000)
    window.set_object_settings(ObjectSettings(model=str(MODEL)))
    _wait_analysis(qtbot, window)
    labels = [d.label for d in window.pipeline.last.output.detections]
    assert labels.count("bus") == 1 and labels.count("person") >= 4
    assert window.results_dock.row_count() == len(labels)
    assert len(window.canvas._boxes) == len(labels)

    window.set_object_settings(ObjectSettings(model=str(MODEL), classes=("bus",)))
    _wait_analysis(qtbot, window)
    assert [d.label for d in window.pipeline.last.output.detections] == ["bus"]
    assert len(threads) == 1 and threading.get_ident() not in threads

    window.set_object_settings(None)  # off again: the plain image, no overlays
    qtbot.waitUntil(lambda: len(window.canvas._boxes) == 0, timeout=10_000)
    assert window.results_dock.row_count() == 0


@needs_model
def test_a_bad_model_is_one_line_in_the_status_bar(qtbot, window, bus_jpg, tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a model")
    window.open_paths([bus_jpg])
    qtbot.waitUntil(lambda: window.browser.current is not None, timeout=20_000)
    window.set_object_settings(ObjectSettings(model=str(bad)))
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Analysis failed"), timeout=60_000)
    message = window.statusBar().currentMessage()
    assert "broken.onnx" in message and "\n" not in message and "Traceback" not in message


@pytest.mark.skipif(not FACES.exists(), reason="needs ../shared/testdata/faces")
def test_faces_detected_and_anonymized_in_the_window(qtbot, window):
    import numpy as np

    from vision_studio.core.faces.detection import FaceOptions

    window.open_paths([FACES / "two_people.jpg"])
    qtbot.waitUntil(lambda: window.browser.current is not None, timeout=20_000)
    original = window.browser.current.pixels
    window.set_face_settings(FaceSettings(options=FaceOptions(detector="hog"), recognize=False))
    _wait_analysis(qtbot, window)
    faces = window.pipeline.last.output.detections
    assert len(faces) == 2 and all(d.kind == "face" and d.identity is None for d in faces)
    assert np.array_equal(window.pipeline.last.output.image, original)

    window.set_face_settings(FaceSettings(options=FaceOptions(detector="hog"), recognize=False, anonymize="pixelate"))
    _wait_analysis(qtbot, window)
    shown = window.pipeline.last.output.image
    x1, y1, x2, y2 = (int(v) for v in faces[0].box)
    assert not np.array_equal(shown[y1:y2, x1:x2], original[y1:y2, x1:x2])  # the face is hidden on screen
    assert np.array_equal(shown[:, :5], original[:, :5])  # the rest is untouched
