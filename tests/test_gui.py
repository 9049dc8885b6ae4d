"""The main window, driven offscreen with pytest-qt as a user would drive it."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QPalette, QWheelEvent
from PySide6.QtWidgets import QApplication

from vision_studio.core.annotate import render
from vision_studio.core.pixels import describe_pixel
from vision_studio.gui.application import make_app
from vision_studio.gui.main_window import MainWindow
from vision_studio.gui.workers import JobRunner


@pytest.fixture
def qapp():
    return make_app()


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "pics"
    d.mkdir()
    rng = np.random.default_rng(1)
    for i, (w, h) in enumerate([(64, 48), (40, 30), (100, 80)]):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), np.uint8)).save(d / f"img{i + 1}.png")
    (d / "img10.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")  # unreadable, listed anyway
    (d / "notes.txt").write_text("not an image")
    return d


def open_and_wait(qtbot, window, paths):
    with qtbot.waitSignal(window.browser.sig_loaded, timeout=10000):
        window.open_paths(paths)
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=10000)


def test_open_folder_lists_images_in_natural_order_with_thumbnails(qtbot, window, folder):
    open_and_wait(qtbot, window, [folder])
    names = [p.name for p in window.files_dock.paths]
    assert names == ["img1.png", "img2.png", "img3.png", "img10.png"]
    assert window.canvas.has_image()
    assert window.browser.current.path.name == "img1.png"
    assert ("Size", "64 × 48 px") in window.info_dock.rows()
    lst = window.files_dock._list
    assert lst.item(3).text().endswith("(unreadable)")
    assert not lst.item(0).icon().isNull()


def test_next_and_previous_with_the_keyboard(qtbot, window, folder):
    open_and_wait(qtbot, window, [folder / "img2.png"])
    assert window.browser.current.path.name == "img2.png"
    with qtbot.waitSignal(window.browser.sig_loaded, timeout=10000):
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert window.browser.current.path.name == "img3.png"
    with qtbot.waitSignal(window.browser.sig_loaded, timeout=10000):
        qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert window.browser.current.path.name == "img2.png"
    qtbot.waitUntil(lambda: not window.jobs.busy)


def test_unreadable_image_shows_a_one_line_reason(qtbot, window, folder):
    bad = folder / "img10.png"
    with qtbot.waitSignal(window.browser.sig_failed, timeout=10000) as blocker:
        window.open_paths([bad])
    path, message = blocker.args
    assert path == bad.resolve() and message.startswith(str(bad.resolve()))
    assert "\n" not in message
    qtbot.waitUntil(lambda: not window.jobs.busy)
    assert not window.canvas.has_image()
    assert message in window.statusBar().currentMessage()
    assert "ERROR" in window.log_dock.text()


def test_zoom_keys_fit_and_wheel_keeps_the_point_under_the_cursor(qtbot, window, bus_jpg):
    open_and_wait(qtbot, window, [bus_jpg])
    canvas = window.canvas
    fit_zoom = canvas.zoom()
    assert fit_zoom < 1.0  # 810x1080 does not fit 1:1
    qtbot.keyClick(window, Qt.Key.Key_Plus)
    assert canvas.zoom() == pytest.approx(fit_zoom * 1.25)
    qtbot.keyClick(window, Qt.Key.Key_Minus)
    assert canvas.zoom() == pytest.approx(fit_zoom)
    window.act_actual.trigger()
    assert canvas.zoom() == pytest.approx(1.0)
    window.act_fit.trigger()
    assert canvas.zoom() == pytest.approx(fit_zoom)

    window.act_actual.trigger()  # larger than the view: the point can stay put exactly
    viewport = canvas.viewport()
    pos = QPoint(viewport.width() // 2 + 60, viewport.height() // 2 - 40)
    before = canvas.mapToScene(pos)
    event = QWheelEvent(QPointF(pos), QPointF(viewport.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)
    assert canvas.zoom() == pytest.approx(1.25 ** 2)
    after = canvas.mapToScene(pos)
    assert abs(after.x() - before.x()) < 2 and abs(after.y() - before.y()) < 2


def test_status_bar_shows_pixel_position_and_value(qtbot, window, folder):
    open_and_wait(qtbot, window, [folder / "img3.png"])
    canvas = window.canvas
    window.act_actual.trigger()
    canvas.centerOn(0, 0)
    view_pos = canvas.mapFromScene(QPointF(10.5, 20.5))
    qtbot.mouseMove(canvas.viewport(), view_pos)
    qtbot.waitUntil(lambda: window.pixel_label.text() != "")
    scene = canvas.mapToScene(view_pos)
    x, y = int(scene.x()), int(scene.y())
    assert abs(x - 10) <= 1 and abs(y - 20) <= 1
    expected = describe_pixel(window.browser.current.original, x, y)
    assert window.pixel_label.text() == expected
    assert expected.startswith(f"{x}, {y}: R ")


def test_docks_hide_float_and_restore_and_layout_survives_restart(qtbot, qapp, settings, folder):
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert {d.objectName() for d in w.docks()} == {"FilesDock", "SourcesDock", "PipelineDock", "ObjectsDock",
                                                  "FacesDock", "InfoDock", "HistogramDock", "ResultsDock",
                                                  "LogDock"}
    w.info_dock.toggleViewAction().trigger()
    assert not w.info_dock.isVisible()
    w.log_dock.setFloating(True)
    w.resize(760, 700)
    size = (w.width(), w.height())  # the minimum size may have won over the request
    open_and_wait(qtbot, w, [folder / "img1.png"])
    w.close()

    w2 = MainWindow(settings)
    qtbot.addWidget(w2)
    w2.show()
    qtbot.waitExposed(w2)
    assert not w2.info_dock.isVisible() and w2.files_dock.isVisible()
    assert w2.log_dock.isFloating()
    assert (w2.width(), w2.height()) == size
    assert w2.recent_files()[0] == str((folder / "img1.png").resolve())
    assert w2.recent_menu.actions()[0].text() == str((folder / "img1.png").resolve())
    w2.act_reset_layout.trigger()
    assert w2.info_dock.isVisible() and not w2.log_dock.isFloating()
    w2.close()


def test_drop_files_and_folders_onto_the_window(qtbot, window, folder):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.browser.sig_loaded, timeout=10000):
        window.dropEvent(event)
    assert len(window.files_dock.paths) == 4
    qtbot.waitUntil(lambda: not window.jobs.busy)


def test_export_writes_the_rendered_image(qtbot, window, folder, tmp_path):
    open_and_wait(qtbot, window, [folder / "img1.png"])
    out = tmp_path / "out.png"
    window.export_to(out)
    qtbot.waitUntil(lambda: not window.jobs.busy and out.exists(), timeout=10000)
    expected = render(window.browser.current.pixels, [])
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), expected)
    assert "Saved" in window.statusBar().currentMessage()


def test_dark_and_light_appearance(qtbot, window, qapp):
    window.set_appearance("dark")
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
    window.set_appearance("light")
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 180
    assert window.settings.value("appearance") == "light"
    window.set_appearance("system")


def test_about_lists_library_versions():
    from vision_studio.gui.about import about_html

    text = about_html()
    for name in ("Qt", "OpenCV", "torch", "ultralytics", "dlib"):
        assert f"<td>{name}</td>" in text


# ---------------------------------------------------------------------- the worker pattern

def _boom():
    raise RuntimeError("model exploded")


def _slow_value(value, delay):
    time.sleep(delay)
    return value


def _counting(n):
    for i in range(n):
        time.sleep(0.01)
        yield i
    return "done"


def test_worker_exceptions_always_reach_the_user(qtbot, qapp):
    jobs = JobRunner()
    with qtbot.waitSignal(jobs.sig_error, timeout=5000) as blocker:
        jobs.start(_boom, name="Detect")
    name, exc = blocker.args
    assert name == "Detect" and str(exc) == "model exploded"
    qtbot.waitUntil(lambda: not jobs.busy)


def test_latest_request_wins(qtbot, qapp):
    jobs = JobRunner()
    got = []
    jobs.start(_slow_value, "old", 0.3, name="a", key="load", on_result=got.append)
    jobs.start(_slow_value, "new", 0.05, name="b", key="load", on_result=got.append)
    qtbot.waitUntil(lambda: not jobs.busy, timeout=5000)
    assert got == ["new"]


def test_generator_jobs_report_progress_and_can_be_cancelled(qtbot, qapp):
    jobs = JobRunner()
    seen, results = [], []
    jobs.start(_counting, 5, name="count", on_progress=seen.append, on_result=results.append)
    qtbot.waitUntil(lambda: not jobs.busy, timeout=5000)
    assert seen == [0, 1, 2, 3, 4] and results == ["done"]

    seen.clear()
    jobs.start(_counting, 10_000, name="long", key="k", on_progress=seen.append, on_result=results.append)
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=5000)
    assert jobs.shutdown(5000)
    qtbot.waitUntil(lambda: not jobs.busy, timeout=5000)
    assert len(seen) < 10_000 and results == ["done"]


def test_preferences_pixel_cap_refuses_big_images(qtbot, window, tmp_path):
    from vision_studio.gui.preferences import PreferencesDialog

    big = tmp_path / "big.png"
    Image.new("L", (3000, 1000)).save(big)  # 3 MP
    dialog = PreferencesDialog(window.settings, window)
    dialog.megapixels.setValue(2)
    dialog.apply()
    window._apply_preferences()
    with qtbot.waitSignal(window.browser.sig_failed, timeout=10000) as blocker:
        window.open_paths([big])
    assert "limit" in blocker.args[1] and "\n" not in blocker.args[1]
    qtbot.waitUntil(lambda: not window.jobs.busy)
