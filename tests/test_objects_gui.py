"""The Objects panel (gui/docks/objects.py) and its model jobs and dialogs (gui/model_manager.py).

Real models only: ../shared/testdata/models/yolov8n_int8.onnx and its OpenVINO folder (COCO),
and networks built from ultralytics' YAML files (random weights) for the other tasks, saved as
a real ultralytics checkpoint where a .pt is needed. Nothing is downloaded: the download tests
point the real downloader at a local, deliberately slow HTTP server, or make the network
probe fail the way it does offline.
"""
from __future__ import annotations

import http.server
import importlib.util
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton

if importlib.util.find_spec("ultralytics") is None:
    pytest.skip("the objects extra (ultralytics) is not installed", allow_module_level=True)

from vision_studio.gui import model_manager as mm
from vision_studio.gui.docks.objects import DEFAULT_MODEL, ObjectsDock

ROOT = Path(__file__).resolve().parents[1]
MODELS = (ROOT.parent / "shared" / "testdata" / "models").resolve()  # the app stores resolved paths
ONNX = MODELS / "yolov8n_int8.onnx"
OPENVINO = MODELS / "yolov8n_int8_openvino_model"
needs_models = pytest.mark.skipif(not ONNX.is_file(), reason="needs ../shared/testdata/models")


def _models():
    from vision_studio.core.detection import models

    return models


def _wait_info(qtbot, dock, timeout=120_000):
    qtbot.waitUntil(lambda: dock.info is not None and dock.info.model == dock.model, timeout=timeout)
    return dock.info


def _wait_analysis(qtbot, window, timeout=120_000):
    qtbot.waitUntil(lambda: window.pipeline.is_current() and not window.pipeline.model_jobs.busy, timeout=timeout)


def _wait_box(qtbot, dock, timeout=60_000) -> QMessageBox:
    qtbot.waitUntil(lambda: isinstance(dock.last_message, QMessageBox) and dock.last_message.isVisible(),
                    timeout=timeout)
    return dock.last_message


def _click(box: QMessageBox, text: str) -> None:
    [button] = [b for b in box.buttons() if b.text().replace("&", "") == text]
    button.click()


@pytest.fixture(scope="module")
def random_pt(tmp_path_factory) -> Path:
    """A real ultralytics checkpoint (yolo26n from its YAML, random weights), as YOLO.save writes it."""
    from vision_studio.core.detection import settings

    settings.ensure_configured()
    from ultralytics import YOLO

    path = tmp_path_factory.mktemp("outside") / "someones_model.pt"
    YOLO("yolo26n.yaml").save(str(path))
    return path


def test_startup_loads_and_downloads_nothing(window):
    dock = window.objects_dock
    assert dock.model == DEFAULT_MODEL and dock.info is None and not dock.enable.isChecked()
    assert not window.jobs.busy and not dock.downloader.running
    assert "not downloaded yet" in dock.info_label.text()
    assert not (_models().models_dir() / DEFAULT_MODEL).exists()
    assert window.pipeline.analyzers.objects is None
    assert dock in window.docks()


@needs_models
def test_onnx_model_fills_classes_and_only_bus_is_detected(qtbot, window, bus_jpg, settings):
    dock = window.objects_dock
    window.open_paths([bus_jpg])
    qtbot.waitUntil(lambda: window.browser.current is not None, timeout=20_000)
    with qtbot.waitSignal(dock.sig_model_info, timeout=120_000) as info:
        dock.choose_model(str(ONNX))
    assert info.args[0].names == dock.info.names
    names = [dock.class_list.item(i).text() for i in range(dock.class_list.count())]
    assert len(names) == 80 and names[0] == "person" and "bus" in names
    assert dock.info.task == "detect" and dock.info.format == "onnx"
    assert "Task: detect · 80 classes · ONNX" in dock.info_label.text()
    assert not dock.optimize_button.isEnabled()  # already an export
    assert window.pipeline.analyzers.objects is None  # not enabled yet

    dock.class_filter.setText("BU")  # searchable: case-insensitive substring
    visible = [dock.class_list.item(i).text() for i in range(dock.class_list.count())
               if not dock.class_list.item(i).isHidden()]
    assert visible == ["bus"]
    dock.class_list.findItems("bus", Qt.MatchFlag.MatchExactly)[0].setCheckState(Qt.CheckState.Checked)
    assert dock.class_summary.text() == "Only bus (1 of 80)"
    with qtbot.waitSignal(dock.sig_settings_changed, timeout=5000) as emitted:
        dock.enable.setChecked(True)
    value = emitted.args[0]
    assert value.model == str(ONNX) and value.classes == ("bus",) and value.conf == 0.25
    assert window.pipeline.analyzers.objects == value
    _wait_analysis(qtbot, window)
    found = window.pipeline.last.output.detections
    assert [d.label for d in found] == ["bus"] and found[0].confidence > 0.5
    x1, y1, x2, y2 = found[0].box
    assert x1 < 60 and y1 < 260 and x2 > 780 and y2 > 740  # the bus spans the 810 px wide photo
    assert len(window.canvas._boxes) == 1 and window.results_dock.row_count() == 1

    dock.set_classes(())  # all classes again: the bus and the people
    _wait_analysis(qtbot, window)
    labels = [d.label for d in window.pipeline.last.output.detections]
    assert labels.count("bus") == 1 and labels.count("person") >= 4
    assert settings.value("objects/model") == str(ONNX)
    assert _models().recent_models()[0] == ONNX.resolve()
    dock.enable.setChecked(False)
    assert window.pipeline.analyzers.objects is None


@needs_models
def test_openvino_folder_and_yaml_models_of_every_task(qtbot, window, bus_jpg):
    dock = window.objects_dock
    dock.choose_model(str(OPENVINO / "yolov8n_int8.xml"))  # picking the .xml means its folder
    info = _wait_info(qtbot, dock)
    assert dock.model == str(OPENVINO) and info.format == "openvino" and len(info.names) == 80
    expected = {"yolo26n.yaml": "detect", "yolo26n-seg.yaml": "segment", "yolo26n-pose.yaml": "pose",
                "yolo26n-cls.yaml": "classify"}
    for name, task in expected.items():
        dock.choose_model(name)
        info = _wait_info(qtbot, dock)
        assert info.task == task and info.format == "yaml", name
        assert dock.info_label.text().startswith(f"Task: {task} · {len(info.names)} classes · YAML")
        assert dock.class_list.count() == len(info.names)
    assert dock.model_combo.currentData() == "yolo26n-cls.yaml"
    dock.choose_model(str(ONNX))
    _wait_info(qtbot, dock)
    recent = [dock.model_combo.itemData(i) for i in range(dock.model_combo.count())]
    assert recent[:3] == [DEFAULT_MODEL, str(ONNX.resolve()), str(OPENVINO.resolve())]  # newest first
    dock.model_combo.activated.emit(2)  # the user picks the OpenVINO entry again
    assert dock.model == str(OPENVINO.resolve()) and _wait_info(qtbot, dock).format == "openvino"

    dock.choose_model("yolo26n-seg.yaml")  # a segment model runs through the window's model thread
    _wait_info(qtbot, dock)
    window.open_paths([bus_jpg])
    qtbot.waitUntil(lambda: window.browser.current is not None, timeout=20_000)
    dock.conf.setValue(0.0)
    dock.max_det.setValue(5)
    dock.imgsz.setValue(160)
    import torch

    torch.manual_seed(0)  # the model thread builds the random network next; seed 0 gives boxes at conf 0
    dock.enable.setChecked(True)
    _wait_analysis(qtbot, window)
    objects = window.pipeline.analyzers.objects
    assert objects.model == "yolo26n-seg.yaml" and objects.imgsz == 160 and objects.max_det == 5
    found = window.pipeline.last.output.detections
    assert 0 < len(found) <= 5 and all(d.mask is not None and d.mask.shape == (1080, 810) for d in found)
    assert "failed" not in window.statusBar().currentMessage()


@needs_models
def test_devices_half_and_settings_are_remembered(qtbot, window, settings):
    dock = window.objects_dock
    dock.choose_model(str(ONNX))
    info = _wait_info(qtbot, dock)
    items = {dock.device.itemData(i): dock.device.model().item(i).isEnabled() for i in range(dock.device.count())}
    assert items["auto"] and items["cpu"]
    assert items["cuda"] == ("cuda" in info.devices) and items["mps"] == ("mps" in info.devices)
    assert dock.half.isEnabled() == any(d in info.devices for d in ("cuda", "mps"))
    dock.conf.setValue(0.4)
    dock.iou.setValue(0.5)
    dock.max_det.setValue(50)
    dock.imgsz.setValue(320)
    dock.device.setCurrentIndex(dock.device.findData("cpu"))
    with qtbot.waitSignal(dock.sig_detect_on_changed, timeout=2000) as sent:
        dock.detect_on.setCurrentIndex(dock.detect_on.findData("original"))
    assert sent.args == ["original"] and window.pipeline.analyzers.detect_on == "original"
    dock.tracker.setCurrentIndex(dock.tracker.findData("botsort"))
    dock.set_classes(["car", "person"])
    dock.enable.setChecked(True)
    value = dock.settings_value()
    assert value.tracker == "botsort" and window.pipeline.analyzers.objects.tracker == "botsort"
    assert (value.conf, value.iou, value.max_det, value.imgsz, value.device, value.half) == (0.4, 0.5, 50, 320,
                                                                                             "cpu", False)
    assert value.classes == ("person", "car")  # in the model's class order

    again = ObjectsDock(window.jobs, settings)  # the next session
    qtbot.addWidget(again)
    assert again.model == str(ONNX) and not again.enable.isChecked() and again.info is None
    assert (again.conf.value(), again.iou.value(), again.max_det.value(), again.imgsz.value()) == (0.4, 0.5, 50, 320)
    assert again.device.currentData() == "cpu" and again.detect_on_value() == "original"
    assert again.tracker.currentData() == "botsort"
    again.imgsz.setValue(500)
    again.imgsz.editingFinished.emit()
    assert again.imgsz.value() == 512  # snapped to the multiple of 32 the model needs
    assert again.class_summary.text() == "Only car, person"
    with qtbot.waitSignal(again.sig_detect_on_changed, timeout=120_000):  # sent before its first settings
        again.enable.setChecked(True)
    _wait_info(qtbot, again)
    assert again.settings_value().classes == ("person", "car")


def test_trust_warning_once_per_outside_pt(qtbot, window, random_pt, tmp_path):
    dock = window.objects_dock
    dock.choose_model(str(random_pt))
    box = _wait_box(qtbot, dock)
    assert random_pt.name in box.text() and "run code" in box.informativeText()
    assert dock.model == DEFAULT_MODEL  # nothing happens before the answer
    _click(box, "Open anyway")
    info = _wait_info(qtbot, dock)
    assert dock.model == str(random_pt) and info.task == "detect" and info.format == "pytorch"
    assert dock.optimize_button.isEnabled() and "not optimized" in dock.info_label.text()

    dock.choose_model(DEFAULT_MODEL)
    dock.choose_model(str(random_pt))  # remembered: no second question
    assert dock.last_message is None and dock.model == str(random_pt)
    _wait_info(qtbot, dock)

    other = tmp_path / "other.pt"  # another outside file is asked about, and Cancel keeps the model
    other.write_bytes(random_pt.read_bytes())
    dock.choose_model(str(other))
    box = _wait_box(qtbot, dock)
    _click(box, "Cancel")
    assert dock.model == str(random_pt) and dock.model_combo.currentData() == str(random_pt)
    assert not mm.is_trusted(window.settings, other) and mm.is_trusted(window.settings, random_pt)
    other.write_bytes(random_pt.read_bytes() + b"x")  # a replaced file is asked about again
    assert not mm.is_trusted(window.settings, other)


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    """2 MB in 16 kB pieces, 40 ms apart (about 5 s): slow enough to cancel half-way.
    With `cut` set, the connection closes after that many bytes (a broken transfer)."""

    size = 2_000_000
    cut: int | None = None

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(self.size))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        try:
            for sent in range(0, self.size, 16_384):
                if self.cut is not None and sent >= self.cut:
                    return
                self.wfile.write(b"\0" * 16_384)
                self.wfile.flush()
                time.sleep(0.04)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_server(monkeypatch):
    models = _models()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setattr(models, "network_reachable", lambda **kw: True)
    monkeypatch.setattr(models, "_download_url", lambda name: f"{base}/{name}")
    yield base
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_cancelling_the_download_stops_it_and_leaves_no_file(qtbot, window, slow_server):
    dock = window.objects_dock
    dock.enable.setChecked(True)  # the default model is not there: the download starts, with a dialog
    assert dock.downloader.running
    dialog = dock.downloader.dialog
    qtbot.waitUntil(lambda: "%)" in dialog.labelText() and dialog.value() > 0, timeout=30_000)
    assert dialog.labelText().startswith("Downloading yolo26n.pt: ") and "of 2.0 MB" in dialog.labelText()
    folder = _models().models_dir()
    assert list(folder.glob(".yolo26n.pt.*.part")) or list(folder.glob("*.part"))  # it really streams to disk
    started = time.monotonic()
    dialog.findChild(QPushButton).click()  # Cancel
    qtbot.waitUntil(lambda: not dock.downloader.running, timeout=10_000)
    assert time.monotonic() - started < 2  # stopped at once, not after the whole file
    assert sorted(p.name for p in folder.iterdir()) == []  # no model, no partial file
    assert not dock.enable.isChecked() and window.pipeline.analyzers.objects is None
    assert "cancelled; nothing was kept" in window.statusBar().currentMessage()
    assert "cancelled" in dock.info_label.text()


def test_a_broken_transfer_is_a_message_and_leaves_no_file(qtbot, window, slow_server, monkeypatch):
    monkeypatch.setattr(_SlowHandler, "cut", 200_000)
    dock = window.objects_dock
    dock.enable.setChecked(True)
    box = _wait_box(qtbot, dock)
    assert box.text().startswith("Could not get the default model: yolo26n.pt: download failed")
    assert "\n" not in box.text() and "Traceback" not in box.text()
    assert not dock.downloader.running and not dock.enable.isChecked()
    folder = _models().models_dir()
    assert sorted(p.name for p in folder.iterdir()) == []
    box.close()


def test_offline_shows_what_failed_and_how_to_choose_a_local_model(qtbot, window, monkeypatch):
    models = _models()
    monkeypatch.setattr(models, "network_reachable", lambda **kw: False)  # what the probe says offline
    dock = window.objects_dock
    dock.enable.setChecked(True)
    box = _wait_box(qtbot, dock)
    assert box.text().startswith("Could not get the default model: yolo26n.pt: cannot download (no network)")
    assert "Choose model file…" in box.informativeText() and ".onnx" in box.informativeText()
    assert "Traceback" not in box.text() + box.informativeText()
    assert not dock.enable.isChecked() and not dock.downloader.running
    assert window.statusBar().currentMessage().startswith("yolo26n.pt: cannot download (no network)")
    assert not (models.models_dir() / DEFAULT_MODEL).exists()
    box.close()


def _model_in_app_folder(random_pt) -> Path:
    """A copy inside the app's model folder: trusted without a question."""
    folder = _models().models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "mine.pt"
    target.write_bytes(random_pt.read_bytes())
    return target


def test_optimize_with_no_exporter_says_so(qtbot, window, random_pt, monkeypatch):
    models = _models()
    monkeypatch.setattr(models, "_required_packages", lambda fmt, int8=False: [f"vision_studio_no_{fmt}_exporter"])
    dock = window.objects_dock
    pt = _model_in_app_folder(random_pt)
    dock.choose_model(str(pt))
    assert dock.last_message is None  # no trust question inside the app's folder
    _wait_info(qtbot, dock)
    dock.optimize_button.click()
    box = _wait_box(qtbot, dock)
    assert box.text().startswith("cannot optimize mine.pt for this CPU:")
    assert "pip install vision_studio_no_openvino_exporter" in box.text()
    assert "pip install vision_studio_no_onnx_exporter" in box.text() and "still runs unoptimized" in box.text()
    assert dock.model == str(pt) and dock.info.format == "pytorch"
    box.close()


def test_optimize_falls_back_to_onnx_and_switches_to_it(qtbot, window, random_pt, monkeypatch):
    models = _models()
    real = models.missing_exporter
    monkeypatch.setattr(models, "missing_exporter",
                        lambda fmt, int8=False: "openvino" if fmt == "openvino" else real(fmt, int8))
    dock = window.objects_dock
    pt = _model_in_app_folder(random_pt)
    dock.imgsz.setValue(160)
    dock.choose_model(str(pt))
    _wait_info(qtbot, dock)
    dock.optimize_button.click()
    qtbot.waitUntil(lambda: dock.model.endswith(".onnx"), timeout=300_000)
    info = _wait_info(qtbot, dock)
    assert models.is_inside(dock.model, models.models_dir() / "optimized")
    assert info.format == "onnx" and info.optimized_from == str(pt.resolve())
    assert "optimized for this CPU (from mine.pt)" in dock.info_label.text()
    assert "Optimized mine.pt for this CPU (onnx)" in window.statusBar().currentMessage()
    dock.choose_model(str(pt))  # the .pt now knows its cached export
    assert "an optimized copy exists" in (_wait_info(qtbot, dock) and dock.info_label.text())


def test_a_broken_model_file_or_garbled_settings_are_one_line_not_a_crash(qtbot, window, tmp_path, settings):
    dock = window.objects_dock
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a model")
    dock.choose_model(str(bad))
    qtbot.waitUntil(lambda: dock.info_label.text().startswith("Cannot use this model: "), timeout=60_000)
    text = dock.info_label.text()
    assert "broken.onnx" in text and "\n" not in text and "Traceback" not in text
    assert "broken.onnx" in window.statusBar().currentMessage()
    dock.enable.setChecked(True)
    assert dock.settings_value() is None and window.pipeline.analyzers.objects is None

    for key, value in (("conf", "abc"), ("max_det", "many"), ("imgsz", ""), ("device", "tpu"), ("classes", 7)):
        settings.setValue(f"objects/{key}", value)
    again = ObjectsDock(window.jobs, settings)
    qtbot.addWidget(again)
    assert (again.conf.value(), again.max_det.value(), again.imgsz.value()) == (0.25, 300, 640)
    assert again.device.currentData() == "auto" and not again.half.isEnabled()  # no GPU known yet
