"""The export dialog (style, format, live preview), File > Export Results and the batch dialog,
driven in the real window: files compared with what the core and the CLI write."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vision_studio.core.analysis import AnalysisPlan
from vision_studio.core.annotate import Style
from vision_studio.core.batch import export_image
from vision_studio.core.image_io import read_image
from vision_studio.core.pipeline import Pipeline, Step
from vision_studio.core.results import Detection

ROOT = Path(__file__).resolve().parents[1]
PARTICLES = Pipeline((Step("analyze_particles", {}),))


@pytest.fixture
def blobs(tmp_path):
    """Images with white squares: analyze_particles finds them (real detections, no model)."""
    d = tmp_path / "blobs"
    (d / "sub").mkdir(parents=True)
    for i, rel in enumerate(["a.png", "b.png", "sub/c.png"]):
        img = np.zeros((80 + i * 10, 120, 3), np.uint8)
        img[10:30, 10:40] = 255
        img[45:70, 60 + i * 5:100] = 255
        Image.fromarray(img).save(d / rel)
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nno")
    return d


def open_with_pipeline(qtbot, window, path, pipeline=PARTICLES):
    with qtbot.waitSignal(window.browser.sig_loaded, timeout=10000):
        window.open_paths([path])
    with qtbot.waitSignal(window.pipeline.sig_rendered, timeout=10000, check_params_cb=lambda r: r.full):
        window.pipeline.replace_all(pipeline, "test")
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=10000)


def make_dialog(qtbot, window, settings, dets=None):
    from vision_studio.gui.export_dialog import ExportDialog

    image = np.full((60, 90, 3), 40, np.uint8)
    dets = dets if dets is not None else [Detection("object", "car", 0.9, (10, 10, 50, 40), class_id=2),
                                          Detection("face", "face", 0.8, (55, 5, 85, 35), identity="Ada")]
    dialog = ExportDialog(window.jobs, settings, image, dets, 1.0, Path("/tmp/x.annotated.png"), window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: getattr(dialog, "preview_rgb", None) is not None, timeout=10000)
    return dialog


def test_preview_follows_the_style_and_the_style_is_remembered(qtbot, window, settings):
    from vision_studio.core.annotate import render
    from vision_studio.gui.export_dialog import load_style

    dialog = make_dialog(qtbot, window, settings)
    assert np.array_equal(dialog.preview_rgb, render(dialog._image, dialog._detections, Style()))
    before = dialog.preview_rgb
    dialog.width_spin.setValue(6)
    dialog.show_conf.setChecked(False)
    dialog.set_class_color("car", (0, 255, 0))
    qtbot.waitUntil(lambda: dialog.preview_rgb is not before, timeout=10000)
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=10000)
    style = dialog.style()
    assert style.line_width == 6 and not style.show_confidence and style.class_colors == (("car", (0, 255, 0)),)
    assert np.array_equal(dialog.preview_rgb, render(dialog._image, dialog._detections, style))
    assert tuple(dialog.preview_rgb[25, 10]) == (0, 255, 0)  # the car's box edge in its own colour
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData(".jpg"))
    assert dialog.quality_spin.isEnabled() and dialog.target_path().suffix == ".jpg"
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData(".png"))
    assert not dialog.quality_spin.isEnabled()
    dialog.accept()
    assert load_style(settings) == style and settings.value("export/format") == ".png"


def test_window_export_equals_the_core_and_the_cli_for_the_same_style(qtbot, window, blobs, tmp_path):
    open_with_pipeline(qtbot, window, blobs / "a.png")
    style = Style(line_width=3, show_label=False, mask_opacity=0.0, class_colors=(("object", (255, 0, 255)),))
    out = tmp_path / "gui.jpg"
    window.export_to(out, style, 80)
    qtbot.waitUntil(lambda: out.exists() and not window.jobs.busy, timeout=10000)
    expected = tmp_path / "core.jpg"
    export_image(AnalysisPlan(PARTICLES), read_image(blobs / "a.png").pixels, expected, style, 80)
    assert out.read_bytes() == expected.read_bytes()

    (tmp_path / "style.json").write_text(json.dumps(style.to_dict()))
    (tmp_path / "pipe.json").write_text(json.dumps({"version": 1, "steps": [{"op": "analyze_particles"}]}))
    r = subprocess.run([sys.executable, "-m", "vision_studio", "analyze", blobs / "a.png", "-o", tmp_path / "cli",
                        "--pipeline", tmp_path / "pipe.json", "--style", tmp_path / "style.json",
                        "--format", "jpg", "--quality", "80"],
                       capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "cli" / "a.jpg").read_bytes() == out.read_bytes()


@pytest.mark.parametrize("fmt, name", [("coco", "r.json"), ("csv", "r.csv"), ("voc", "r.xml"), ("yolo", "r.txt")])
def test_export_results_of_the_current_image(qtbot, window, blobs, tmp_path, fmt, name):
    from vision_studio.gui.export_actions import start_results_export

    open_with_pipeline(qtbot, window, blobs / "a.png")
    path = tmp_path / name
    start_results_export(window, path, fmt)
    qtbot.waitUntil(lambda: path.exists() and not window.jobs.busy, timeout=10000)
    text = path.read_text()
    if fmt == "coco":
        doc = json.loads(text)
        assert sorted(a["bbox"] for a in doc["annotations"]) == [[10, 10, 30, 20], [60, 45, 40, 25]]
    elif fmt == "csv":
        assert len(text.splitlines()) == 3 and "attr_area" in text.splitlines()[0]
    elif fmt == "voc":
        assert text.count("<object>") == 2 and "<xmin>10</xmin>" in text
    else:
        assert len(text.splitlines()) == 2 and (tmp_path / "classes.txt").read_text() == "object\n"
        assert (tmp_path / "data.yaml").exists()
    assert "Saved" in window.statusBar().currentMessage()


def test_file_menu_has_the_export_and_batch_actions(qtbot, window):
    file_menu = window.menuBar().actions()[0].menu()
    texts = [a.text().replace("&", "") for a in file_menu.actions()]
    assert {"Export Annotated Image…", "Export Results…", "Batch Process Folder or Video…"} <= set(texts)
    window.act_batch.trigger()
    assert window._batch_dialog.isVisible()
    window._batch_dialog.close()


def batch_dialog(qtbot, window, blobs, out, pipeline=PARTICLES):
    from vision_studio.gui.batch_dialog import BatchDialog

    dialog = BatchDialog(window.jobs, window.settings, pipeline, window.pipeline.analyzers, Style(), blobs, window)
    qtbot.addWidget(dialog)
    dialog.output_edit.setText(str(out))
    return dialog


def test_batch_dialog_runs_the_folder_lists_errors_and_links_the_report(qtbot, window, blobs, tmp_path):
    out = tmp_path / "out"
    dialog = batch_dialog(qtbot, window, blobs, out)
    dialog.format_boxes["coco"].setChecked(True)
    dialog.show()
    dialog.start()
    assert dialog.running and not dialog.start_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.summary is not None and not window.jobs.busy, timeout=20000)
    s = dialog.summary
    assert (s.processed, s.skipped, len(s.failures)) == (3, 0, 1)
    assert dialog.progress.value() == dialog.progress.maximum() == 4
    assert dialog.errors.count() == 1 and dialog.errors.item(0).text().startswith(str(blobs / "broken.png"))
    assert "report.html" in dialog.result.text() and "6 object" in dialog.result.text()
    assert (out / "sub" / "c.png").exists() and (out / "report.html").exists() and (out / "coco.json").exists()
    assert dialog.start_button.isEnabled() and not dialog.running

    dialog.start()  # again: everything already exported is skipped
    qtbot.waitUntil(lambda: not dialog.running and not window.jobs.busy, timeout=20000)
    assert (dialog.summary.processed, dialog.summary.skipped) == (0, 3)
    assert "3 skipped" in dialog.status.text() or "Done" in dialog.status.text()


def test_batch_cancel_stops_and_keeps_the_work_done(qtbot, window, blobs, tmp_path):
    for i in range(30):
        Image.open(blobs / "a.png").save(blobs / f"copy{i:02}.png")
    dialog = batch_dialog(qtbot, window, blobs, tmp_path / "out")
    dialog.start()
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.summary is not None and not window.jobs.busy, timeout=20000)
    assert dialog.summary.cancelled and dialog.summary.processed < 33
    assert "Cancelled" in dialog.result.text()
    entries = json.loads((tmp_path / "out" / "results.json").read_text())
    assert len(entries) == dialog.summary.processed


def test_batch_dialog_refuses_bad_folders(qtbot, window, blobs, tmp_path):
    dialog = batch_dialog(qtbot, window, blobs, blobs)
    dialog.start()
    assert not dialog.running and "must not be the input folder" in dialog.status.text()
    dialog.input_edit.setText(str(tmp_path / "nope"))
    dialog.start()
    assert not dialog.running and "not a folder" in dialog.status.text()


MODEL = ROOT.parent / "shared" / "testdata" / "models" / "yolov8n_int8.onnx"


@pytest.mark.skipif(not MODEL.exists(), reason="needs ../shared/testdata/models/yolov8n_int8.onnx")
def test_batch_with_objects_loads_its_own_model_and_keeps_the_model_ids(qtbot, window, bus_jpg, tmp_path):
    from vision_studio.core.analyzers import AnalyzerSettings, ObjectSettings
    from vision_studio.gui.batch_dialog import BatchDialog

    src = tmp_path / "in"
    src.mkdir()
    (src / "bus.jpg").write_bytes(bus_jpg.read_bytes())
    analyzers = AnalyzerSettings(objects=ObjectSettings(model=str(MODEL)))
    dialog = BatchDialog(window.jobs, window.settings, Pipeline(), analyzers, Style(), src, window)
    qtbot.addWidget(dialog)
    dialog.output_edit.setText(str(tmp_path / "out"))
    dialog.format_boxes["yolo"].setChecked(True)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.summary is not None and not window.jobs.busy, timeout=120000)
    assert dialog.summary.ok and dialog.summary.classes["bus"] == 1 and dialog.summary.classes["person"] >= 4
    classes = (tmp_path / "out" / "yolo" / "classes.txt").read_text().splitlines()
    assert len(classes) == 80 and classes[5] == "bus"  # the model's own ids
    assert any(label.text() == "objects" for label in dialog.findChildren(type(dialog.status)))  # "Runs: objects"


def test_file_export_action_runs_the_dialog_and_writes_its_choice(qtbot, window, blobs, tmp_path, monkeypatch):
    from vision_studio.gui.export_dialog import ExportDialog

    open_with_pipeline(qtbot, window, blobs / "a.png")
    target = tmp_path / "chosen.webp"

    def fake_exec(dialog):  # the user picks WebP, quality 70, thick boxes, and presses Save
        qtbot.waitUntil(lambda: getattr(dialog, "preview_rgb", None) is not None, timeout=10000)
        assert len(dialog._detections) == 2 and dialog.classes.count() == 1  # what the canvas shows
        dialog.format_combo.setCurrentIndex(dialog.format_combo.findData(".webp"))
        dialog.path_edit.setText(str(target))
        dialog.quality_spin.setValue(70)
        dialog.width_spin.setValue(5)
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(ExportDialog, "exec", fake_exec)
    window.act_export.trigger()
    qtbot.waitUntil(lambda: target.exists() and not window.jobs.busy, timeout=10000)
    expected = tmp_path / "expected.webp"
    export_image(AnalysisPlan(PARTICLES), read_image(blobs / "a.png").pixels, expected, Style(line_width=5), 70)
    assert target.read_bytes() == expected.read_bytes()


def test_batch_dialog_runs_a_video_and_cancel_keeps_what_was_analysed(qtbot, window, tmp_path, sample_images):
    import cv2
    from live_helpers import make_video

    from vision_studio.core.pipeline import Step

    clip = tmp_path / "clip.mp4"
    make_video(clip, [sample_images["bus.jpg"], sample_images["zidane.jpg"]], n=24)
    out = tmp_path / "out"
    dialog = batch_dialog(qtbot, window, tmp_path, out, pipeline=Pipeline((Step("canny", {}),)))
    dialog.input_edit.setText(str(clip))
    dialog.show()
    dialog.start()
    qtbot.waitUntil(lambda: dialog.summary is not None and not window.jobs.busy, timeout=60000)
    outcome = dialog.summary
    assert outcome.frames == 24 and outcome.error is None and "24 frames" in dialog.result.text()
    lines = (out / "clip.frames.jsonl").read_text().splitlines()
    assert [json.loads(line)["frame"] for line in lines] == list(range(24))
    cap = cv2.VideoCapture(str(out / "clip.annotated.mp4"))
    ok, bgr = cap.read()
    assert ok and cap.get(cv2.CAP_PROP_FRAME_COUNT) == 24
    bright = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) > 128
    assert 0.005 < bright.mean() < 0.3, "the pipeline's edge map (white edges on black), not the photo"
    cap.release()

    dialog.start()  # exists: skipped, nothing rewritten
    qtbot.waitUntil(lambda: not dialog.running and not window.jobs.busy, timeout=20000)
    assert dialog.summary.skipped and "Skipped" in dialog.status.text()

    dialog.overwrite.setChecked(True)
    dialog.start()
    dialog.cancel()  # stops between frames; the files hold what was analysed
    qtbot.waitUntil(lambda: not dialog.running and not window.jobs.busy, timeout=60000)
    stopped = dialog.summary
    assert stopped.error and "stopped after" in stopped.error and 1 <= stopped.frames < 24
    assert len((out / "clip.frames.jsonl").read_text().splitlines()) == stopped.frames
    assert not list(out.glob(".*part*")), "no temporary files left"

    dialog.input_edit.setText(str(tmp_path / "missing.mp4"))
    dialog.start()
    assert "not a folder or a video file" in dialog.status.text()
