"""The Pipeline panel driven like a user: add, edit, undo/redo, preview, and the same output as the CLI."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from vision_studio.core.pipeline import Pipeline, make_step, run_pipeline


@pytest.fixture
def photo(tmp_path, bus_jpg):
    return bus_jpg


def load(qtbot, w, path):
    with qtbot.waitSignal(w.browser.sig_loaded, timeout=10000):
        w.open_paths([path])
    qtbot.waitUntil(lambda: not w.jobs.busy, timeout=10000)


def wait_full(qtbot, w):
    qtbot.waitUntil(lambda: w.pipeline.is_current() and not w.jobs.busy, timeout=20000)


def test_add_edit_undo_redo_and_see_the_result_change(qtbot, window, photo):
    load(qtbot, window, photo)
    dock = window.pipeline_dock
    dock.add_op("gaussian_blur")
    wait_full(qtbot, window)
    pixels = window.browser.current.pixels
    first = window.result_image().copy()
    assert np.array_equal(first, run_pipeline(Pipeline([make_step("gaussian_blur")]), pixels).image)
    assert not np.array_equal(first, pixels), "the canvas shows the blurred result"

    # Drag the kernel-size slider through several values: one undo step.
    slider = dock.editor.widget("ksize")
    for value in (7, 9, 11, 15):
        slider.setValue(value)
    wait_full(qtbot, window)
    assert window.pipeline.pipeline.steps[0].params["ksize"] == 15
    blurred_more = window.result_image().copy()
    assert not np.array_equal(blurred_more, first)

    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.pipeline.pipeline.steps[0].params["ksize"] == 5
    assert dock.editor.widget("ksize").value() == 5
    wait_full(qtbot, window)
    assert np.array_equal(window.result_image(), first)

    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.pipeline.pipeline.steps[0].params["ksize"] == 15
    wait_full(qtbot, window)
    assert np.array_equal(window.result_image(), blurred_more)

    window.act_undo.trigger()
    window.act_undo.trigger()  # undoes "Add": back to the original
    assert window.pipeline.pipeline.steps == ()
    assert window.result_image() is None
    assert window.displayed is window.browser.current.original


def test_structure_edits_are_undoable(qtbot, window, photo):
    load(qtbot, window, photo)
    dock = window.pipeline_dock
    dock.add_op("grayscale")
    dock.add_op("median_blur")
    dock.duplicate_selected()
    names = lambda: [s.op for s in window.pipeline.pipeline.steps]  # noqa: E731
    assert names() == ["grayscale", "median_blur", "median_blur"]
    dock.steps.setCurrentRow(0)
    dock.move_selected(1)
    assert names() == ["median_blur", "grayscale", "median_blur"]
    dock.steps.item(1).setCheckState(Qt.CheckState.Unchecked)
    assert window.pipeline.pipeline.steps[1].enabled is False
    dock.steps.setCurrentRow(2)
    dock.remove_selected()
    assert names() == ["median_blur", "grayscale"]
    stack = window.pipeline.undo_stack
    texts = [stack.text(i) for i in range(stack.count())]
    assert texts == ["Add Grayscale", "Add Median blur", "Duplicate Median blur", "Move step",
                     "Disable Grayscale", "Remove Median blur"]
    while stack.canUndo():
        stack.undo()
    assert names() == []
    wait_full_or_idle(qtbot, window)


def wait_full_or_idle(qtbot, w):
    qtbot.waitUntil(lambda: not w.jobs.busy, timeout=20000)


def test_large_images_preview_on_a_proxy_then_compute_full_resolution(qtbot, window, tmp_path):
    big = tmp_path / "big.png"
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (2400, 3200, 3), np.uint8)).save(big, compress_level=1)
    load(qtbot, window, big)
    seen = []
    window.pipeline.sig_rendered.connect(lambda r: seen.append((r.full, r.output.scale, r.output.image.shape)))
    window.pipeline_dock.add_op("box_blur")
    wait_full(qtbot, window)
    previews = [s for s in seen if not s[0]]
    assert previews and previews[0][1] < 1.0 and max(previews[0][2][:2]) <= 1280
    assert seen[-1][0] is True and seen[-1][2] == (2400, 3200, 3)


def test_gui_result_equals_cli_output(qtbot, window, photo, tmp_path):
    pipeline_file = tmp_path / "p.json"
    pipeline_file.write_text(json.dumps({"version": 1, "steps": [
        {"op": "median_blur", "params": {"ksize": 7}},
        {"op": "gaussian_blur", "params": {"ksize": 5, "sigma": 1.5}, "enabled": True}]}))
    load(qtbot, window, photo)
    window.pipeline_dock.load_file(pipeline_file)
    wait_full(qtbot, window)
    gui_png = tmp_path / "gui.png"
    window.export_to(gui_png)
    qtbot.waitUntil(lambda: gui_png.exists() and not window.jobs.busy, timeout=10000)

    out = tmp_path / "cli"
    r = subprocess.run([sys.executable, "-m", "vision_studio", "analyze", str(photo), "-o", str(out),
                        "--pipeline", str(pipeline_file), "--format", "png"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    cli = np.asarray(Image.open(out / (photo.stem + ".png")).convert("RGB"))
    gui = np.asarray(Image.open(gui_png).convert("RGB"))
    assert np.array_equal(cli, gui)


def test_show_original_toggles_before_and_after(qtbot, window, photo):
    load(qtbot, window, photo)
    window.pipeline_dock.add_op("invert")
    wait_full(qtbot, window)
    assert window.displayed is window.result_image()
    window.act_original.trigger()
    assert window.displayed is window.browser.current.original
    window.act_original.trigger()
    assert window.displayed is window.result_image()
    assert window.histogram_dock.view.channels() == ["R", "G", "B"]


def test_bad_pipeline_file_is_reported_and_changes_nothing(qtbot, window, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "steps": [{"op": "gaussian_blur", "params": {"ksize": 4}}]}')
    window.pipeline_dock.load_file(bad)
    assert window.pipeline.pipeline.steps == ()
    message = window.statusBar().currentMessage()
    assert message == f"{bad}: step 1 (gaussian_blur): ksize: must be odd, got 4"


def drag(widget, start, end):
    """A real left-button drag (QTest's mouseMove does not hold the button down)."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mods = Qt.KeyboardModifier.NoModifier

    def send(kind, pos, button, buttons):
        p = QPointF(pos)
        QApplication.sendEvent(widget, QMouseEvent(kind, p, widget.mapToGlobal(p), button, buttons, mods))

    send(QEvent.Type.MouseButtonPress, start, left, left)
    for t in (0.25, 0.5, 0.75, 1.0):
        send(QEvent.Type.MouseMove, start + (end - start) * t, none, left)
    send(QEvent.Type.MouseButtonRelease, end, left, none)


def test_crop_rectangle_drawn_on_the_canvas(qtbot, window, photo):
    load(qtbot, window, photo)
    window.pipeline_dock.add_op("crop")
    window.act_actual.trigger()
    canvas = window.canvas
    canvas.centerOn(0, 0)
    window.pipeline_dock.editor.sig_rect_requested.emit("rect")
    assert canvas.selecting()
    start = canvas.mapFromScene(100, 50)
    end = canvas.mapFromScene(300, 200)
    drag(canvas.viewport(), start, end)
    assert not canvas.selecting()
    x, y, w, h = window.pipeline.pipeline.steps[0].params["rect"]
    assert abs(x - 100) <= 2 and abs(y - 50) <= 2 and abs(w - 200) <= 3 and abs(h - 150) <= 3
    wait_full(qtbot, window)
    assert window.result_image().shape[:2] == (h, w)
    assert not window.act_original.isChecked()

    # A click without a drag changes nothing and gives the result view back.
    window.pipeline_dock.editor.sig_rect_requested.emit("rect")
    assert window.act_original.isChecked() and canvas.selecting()
    drag(canvas.viewport(), start, start)
    assert not canvas.selecting() and not window.act_original.isChecked()
    assert window.pipeline.pipeline.steps[0].params["rect"] == (x, y, w, h)
    assert "No rectangle drawn" in window.statusBar().currentMessage()


@pytest.mark.parametrize("name", ["Count objects", "Document cleanup", "Edge map"])
def test_presets_load_and_run(qtbot, window, photo, name):
    from vision_studio.gui.docks.pipeline import presets

    paths = dict(presets())
    assert name in paths
    load(qtbot, window, photo)
    window.pipeline_dock.load_file(paths[name])
    assert window.pipeline.pipeline.steps
    wait_full(qtbot, window)
    assert window.result_image() is not None
    if name == "Count objects":
        assert window.results_dock.row_count() > 0
        assert "found" in window.results_dock.summary.text()


def test_orb_keypoints_are_drawn_and_counted(qtbot, window, photo):
    load(qtbot, window, photo)
    window.pipeline_dock.add_op("orb_keypoints")
    wait_full(qtbot, window)
    (det,) = window.pipeline.last.output.detections
    assert det.kind == "keypoint" and len(det.keypoints) > 50
    assert f"ORB: {len(det.keypoints)} keypoints" in window.statusBar().currentMessage()
    assert window.canvas._overlay_items, "keypoints drawn on the canvas"


def test_reorder_by_drag_and_drop_in_the_list(qtbot, window, photo):
    from PySide6.QtCore import QModelIndex

    dock = window.pipeline_dock
    for op in ("grayscale", "median_blur", "invert"):
        dock.add_op(op)
    # What an internal drag-and-drop does to the list's model: move row 0 below row 2.
    assert dock.steps.model().moveRow(QModelIndex(), 0, QModelIndex(), 3)
    qtbot.waitUntil(lambda: window.pipeline.pipeline.steps[0].op == "median_blur")
    assert [s.op for s in window.pipeline.pipeline.steps] == ["median_blur", "invert", "grayscale"]
    assert [dock.steps.item(i).text() for i in range(3)] == ["1. Median blur", "2. Invert", "3. Grayscale"]
    window.act_undo.trigger()
    assert [s.op for s in window.pipeline.pipeline.steps] == ["grayscale", "median_blur", "invert"]


def test_results_table_and_canvas_select_each_other(qtbot, window, tmp_path):
    blobs = np.zeros((200, 300, 3), np.uint8)
    blobs[20:40, 20:40] = 255     # 400 px
    blobs[100:160, 50:150] = 255  # 6000 px
    blobs[150:180, 200:290] = 255  # 2700 px
    path = tmp_path / "blobs.png"
    Image.fromarray(blobs).save(path)
    load(qtbot, window, path)
    window.pipeline_dock.add_op("analyze_particles")
    wait_full(qtbot, window)
    dock = window.results_dock
    assert dock.row_count() == 3 and dock.summary.text().startswith("3 found")
    dock.table.sortByColumn(8, Qt.SortOrder.DescendingOrder)  # by area
    areas = [dock.proxy.index(r, 8).data() for r in range(3)]
    assert areas == sorted(areas, reverse=True) and areas[0] == 6000
    csv_lines = dock.csv_text().strip().splitlines()
    assert csv_lines[0].startswith("#,kind,label,confidence,x1,y1,x2,y2,area")
    assert len(csv_lines) == 4

    dock.table.selectRow(0)  # the biggest blob
    biggest = int(dock.proxy.index(0, 0).data())
    assert window.canvas.highlighted() == biggest

    window.act_actual.trigger()
    canvas = window.canvas
    canvas.centerOn(40, 40)
    point = canvas.mapFromScene(30, 30)  # inside the small blob's box
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)
    selected = dock.table.selectionModel().selectedRows()
    assert selected and int(dock.proxy.index(selected[0].row(), 0).data()) != biggest
    assert window.canvas.highlighted() == int(dock.proxy.index(selected[0].row(), 0).data())

    dock.filter.setText("zzz")
    assert dock.row_count() == 0


def test_edits_of_different_steps_never_merge_into_one_undo(qtbot, window, photo):
    dock = window.pipeline_dock
    dock.add_op("gaussian_blur")
    dock.add_op("median_blur")
    dock.steps.setCurrentRow(0)
    dock.editor.set_param_value("ksize", 9)
    dock.steps.setCurrentRow(1)
    dock.editor.set_param_value("ksize", 7)
    window.act_undo.trigger()
    steps = window.pipeline.pipeline.steps
    assert steps[0].params["ksize"] == 9 and steps[1].params["ksize"] == 5


def test_two_separate_slider_drags_are_two_undo_steps(qtbot, window, photo):
    dock = window.pipeline_dock
    dock.add_op("gaussian_blur")
    slider = dock.editor.widget("ksize").slider
    for values in ((7, 9), (13, 15)):  # two gestures, each press - move - release
        slider.setSliderDown(True)
        for v in values:
            slider.setValue(v)
        slider.setSliderDown(False)  # emits sliderReleased, as the mouse release does
    assert window.pipeline.pipeline.steps[0].params["ksize"] == 15
    window.act_undo.trigger()
    assert window.pipeline.pipeline.steps[0].params["ksize"] == 9, "the first drag stays its own step"
    window.act_undo.trigger()
    assert window.pipeline.pipeline.steps[0].params["ksize"] == 5
