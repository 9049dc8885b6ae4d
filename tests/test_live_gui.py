"""Live sources in the window: a generated video plays at its rate with overlays from the
analysis thread, player controls, snapshot and record, "Reconnecting…" on a real MJPEG
stream that goes down, bad sources, and every thread stopped on switch and close."""
from __future__ import annotations

import threading
from dataclasses import replace
import time

import cv2
import numpy as np
import pytest
from conftest import SHARED
from live_helpers import MjpegServer, SilentServer, make_video

from vision_studio.gui.qimage import qimage_to_rgb

MODEL = SHARED / "models" / "yolov8n_int8.onnx"


@pytest.fixture
def clip(tmp_path, sample_images):
    path = tmp_path / "street.mp4"
    frames = make_video(path, [sample_images["bus.jpg"], sample_images["darknet_dog.jpg"]], n=90,
                        size=(480, 360))
    return path, frames


def shown(window) -> np.ndarray:
    return qimage_to_rgb(window.canvas._pixmap_item.pixmap().toImage())


def capture_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("capture ")]


def test_video_plays_at_its_rate_with_player_controls(window, qtbot, clip, sample_images):
    path, frames = clip
    dock, live = window.sources_dock, window.live
    window.open_paths([sample_images["bus.jpg"]])
    qtbot.waitUntil(lambda: window.info_dock._tree.topLevelItemCount() > 0, timeout=10000)
    assert dock.open_source(str(path))
    qtbot.waitUntil(lambda: window.canvas.has_image(), timeout=5000)
    qtbot.waitUntil(lambda: window.info_dock._tree.topLevelItemCount() == 0, timeout=5000)  # not bus.jpg's facts
    assert window.size_label.text() == ""
    qtbot.wait(1500)
    hud = live.hud_text()
    shown_fps = live._shown.value()
    assert shown_fps > 20, hud  # 30 fps source, on a shared 2-core machine
    assert "analysis off" in hud and "source" in hud and "dropped" in hud
    assert live.hud.isVisible() and live.hud.text().startswith("source 30")
    assert dock.seek.maximum() == 89 and 20 < dock.seek.value() < 89
    dock.play_button.click()  # pause
    qtbot.waitUntil(lambda: live.capture.stats().state == "paused", timeout=3000)
    qtbot.wait(100)
    at = live._frame.index
    qtbot.wait(300)
    assert live._frame.index == at
    dock.next_button.click()
    qtbot.waitUntil(lambda: live._frame.index == at + 1, timeout=3000)
    from PySide6.QtCore import QPoint, Qt

    # A click on the seek bar jumps to that place (not a page step of 30 frames).
    bar = dock.seek
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=QPoint(bar.width() * 3 // 4, bar.height() // 2))
    qtbot.waitUntil(lambda: abs(live._frame.index - 67) <= 5, timeout=3000)
    live.seek(80)  # the second photo
    qtbot.waitUntil(lambda: live._frame.index == 80, timeout=3000)
    qtbot.wait(50)
    assert np.abs(shown(window).astype(int) - frames[1].astype(int)).mean() < 8
    assert np.abs(shown(window).astype(int) - frames[0].astype(int)).mean() > 30
    dock.speed.setCurrentText("4×")
    dock.play_button.click()
    qtbot.waitUntil(lambda: "End of" in dock.state.text(), timeout=3000)
    assert live.capture.stats().state == "ended"
    qtbot.waitUntil(lambda: dock.position.text() == "90 / 90", timeout=1000)  # sent <= 10 times a second


def test_playing_repaints_the_picture_not_the_whole_window(window, qtbot, clip):
    """Each frame repaints the canvas; the Sources panel (seek bar, frame number, live numbers)
    is repainted at most ~10 times a second and the window is not re-laid out per frame.
    (A QLabel with per-frame text re-laid out and repainted every dock: 7 ms a frame.)"""
    from collections import Counter

    from PySide6.QtCore import QEvent, QObject

    events: Counter = Counter()

    class Count(QObject):
        def eventFilter(self, obj, ev):
            if ev.type() in (QEvent.Type.Paint, QEvent.Type.LayoutRequest) and obj is not None:
                events[(ev.type(), obj.objectName())] += 1
            return False

    path, _ = clip
    window.sources_dock.open_source(str(path))
    qtbot.waitUntil(lambda: window.live._shown.value() > 20, timeout=5000)
    counter = Count()
    window.sources_dock.installEventFilter(counter)
    window.installEventFilter(counter)
    window.canvas.viewport().installEventFilter(counter)
    shown0 = window.live._shown._t[-1] if window.live._shown._t else 0
    qtbot.wait(1000)
    frames = sum(1 for t in window.live._shown._t if t > shown0)
    window.removeEventFilter(counter)
    window.sources_dock.removeEventFilter(counter)
    window.canvas.viewport().removeEventFilter(counter)
    assert frames > 20
    assert events[(QEvent.Type.Paint, "SourcesDock")] <= 16, events
    assert events[(QEvent.Type.LayoutRequest, "MainWindow")] <= 3, events


def test_keyboard_plays_pauses_and_steps(window, qtbot, clip):
    from PySide6.QtCore import Qt

    live = window.live
    window.activateWindow()
    window.canvas.setFocus()
    assert window.sources_dock.open_source(str(clip[0]))
    qtbot.waitUntil(lambda: live.capture.stats().state == "playing", timeout=5000)
    assert "Space" in window.act_play.shortcut().toString()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: live.capture.stats().state == "paused", timeout=3000)
    qtbot.wait(200)
    at = live._frame.index
    qtbot.keyClick(window.canvas, Qt.Key.Key_Period)
    qtbot.waitUntil(lambda: live._frame.index == at + 1, timeout=3000)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right)  # with a video open, Left/Right step frames
    qtbot.waitUntil(lambda: live._frame.index == at + 2, timeout=3000)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: live._frame.index == at + 1, timeout=3000)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: live._frame.index > at + 5, timeout=3000)


@pytest.mark.skipif(not MODEL.is_file(), reason="needs ../shared/testdata/models")
def test_objects_are_tracked_and_drawn_while_the_picture_keeps_its_rate(window, qtbot, clip):
    from vision_studio.core.analyzers import ObjectSettings

    window.set_object_settings(ObjectSettings(model=str(MODEL)))
    window.sources_dock.open_source(str(clip[0]))
    qtbot.waitUntil(lambda: window.live.result is not None and len(window.live.result.detections) >= 3,
                    timeout=20000)
    res = window.live.result
    # The labels fit the frame that was analysed (the clip shows bus.jpg, then darknet_dog.jpg).
    assert {d.label for d in res.detections} >= ({"bus", "person"} if res.index < 45 else {"dog", "bicycle"})
    assert all(d.track_id is not None for d in res.detections)
    # Video keeps a core for decoding and painting (the still-image model may take two).
    from vision_studio.core.detection import settings

    assert window.live._stages.detector.threads == settings.thread_count("live")
    qtbot.waitUntil(lambda: len(window.canvas._boxes) >= 3, timeout=3000)
    # A new frame with the same result keeps the overlay items; a new result replaces them.
    live, pixels = window.live, window.live._frame.pixels
    live._show(pixels)
    items = list(window.canvas._boxes.values())
    live._show(pixels)
    assert list(window.canvas._boxes.values()) == items
    assert len(items) == sum(d.box is not None for d in live.result.detections)
    live.result = replace(live.result, detections=live.result.detections[:1])
    live._show(pixels)
    assert len(window.canvas._boxes) == 1 and list(window.canvas._boxes.values())[0] not in items
    window.live.seek(0)  # the 3 s clip may have ended while the model loaded
    window.live.play()
    qtbot.wait(1500)
    assert window.live._shown.value() > 15  # the picture does not wait for the model
    assert "latency" in window.live.hud_text()


def test_snapshot_and_record(window, qtbot, clip, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    window.settings.setValue("sources/output_dir", str(out))
    dock = window.sources_dock
    dock.open_source(str(clip[0]))
    qtbot.waitUntil(lambda: window.live._frame is not None, timeout=5000)
    assert dock.out_dir_label.text().startswith("Saved to ") and str(out) in dock.out_dir_label.toolTip()
    snap = dock.snapshot()
    assert snap is not None and snap.parent == out and snap.name.startswith("street-")
    again = dock.snapshot()  # the same second: its own file, nothing overwritten
    assert again is not None and (again.stem == snap.stem + "-2" or again.stem > snap.stem)  # a new second
    qtbot.waitUntil(lambda: snap.exists() and again.exists(), timeout=5000)
    img = cv2.imread(str(snap))
    assert img.shape == (360, 480, 3)
    dock.record_button.click()
    qtbot.waitUntil(lambda: dock.rec_label.text().startswith("● REC"), timeout=3000)
    qtbot.wait(1200)
    assert list(out.glob(".street-*.part.mp4"))  # being written under a temporary name
    assert "REC" in window.live.hud.text()
    dock.record_button.click()
    qtbot.waitUntil(lambda: dock.rec_label.text() == "", timeout=5000)
    videos = list(out.glob("street-*.mp4"))
    assert len(videos) == 1 and not list(out.glob(".*.part.mp4"))
    cap = cv2.VideoCapture(str(videos[0]))
    n, fps = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    assert 20 <= n <= 60 and fps == 30
    assert "Saved" in window.statusBar().currentMessage()


def test_stream_that_goes_down_shows_reconnecting_and_resumes(window, qtbot):
    live = window.live
    with MjpegServer(fps=25, per_connection=40) as server:
        window.sources_dock.open_source(server.url)
        qtbot.waitUntil(lambda: live._frame is not None, timeout=6000)
        qtbot.waitUntil(lambda: window.sources_dock.position.text() == "live", timeout=1000)
        server.down.set()
        qtbot.waitUntil(lambda: live.banner.isVisible(), timeout=8000)
        assert live.banner.text().startswith("Reconnecting…")
        seq = live._frame.seq
        server.down.clear()
        qtbot.waitUntil(lambda: live._frame.seq > seq + 5 and not live.banner.isVisible(), timeout=15000)
        window.sources_dock.stop_button.click()
    assert not live.active and not capture_threads()


def test_bad_sources_say_why(window, qtbot, tmp_path):
    dock = window.sources_dock
    assert not dock.open_source(str(tmp_path / "missing.mp4"))
    assert "missing.mp4: no such file" in dock.state.text()
    with SilentServer() as server:
        t0 = time.monotonic()
        dock.open_source(f"rtsp://127.0.0.1:{server.port}/cam")
        qtbot.waitUntil(lambda: "no video within" in window.canvas._placeholder, timeout=7000)
        assert time.monotonic() - t0 < 5.5
        # Said once, on the canvas (no banner over an empty picture), and nothing to press.
        assert not window.live.banner.isVisible()
        qtbot.waitUntil(lambda: not window.live.hud.isVisible(), timeout=1000)  # no "0.0 fps" either
        assert not dock.snapshot_button.isEnabled() and not dock.record_button.isEnabled()
        assert not dock.play_button.isEnabled() and dock.position.text() == "–"
        # The next bad source replaces the message instead of leaving the old one up.
        assert not dock.open_source(str(tmp_path / "nope.mp4"))
        assert "nope.mp4: no such file" in window.canvas._placeholder
        window.live.stop()


def test_switching_sources_and_closing_stop_every_thread(window, qtbot, clip, tmp_path, bus_jpg):
    other = tmp_path / "other.avi"
    make_video(other, [bus_jpg], n=30, codec="MJPG")
    window.sources_dock.open_source(str(clip[0]))
    qtbot.waitUntil(lambda: window.live._frame is not None, timeout=5000)
    first = window.live.capture
    window.sources_dock.open_source(str(other))
    assert not first.running and len(capture_threads()) == 1
    qtbot.waitUntil(lambda: window.live._frame is not None, timeout=5000)
    window.open_paths([bus_jpg])  # an image replaces the live view
    qtbot.waitUntil(lambda: not window.live.active, timeout=5000)
    assert not capture_threads()
    qtbot.waitUntil(lambda: shown(window).shape == (1080, 810, 3), timeout=5000)
    window.sources_dock.open_source(str(clip[0]))
    qtbot.waitUntil(lambda: window.live._frame is not None, timeout=5000)
    window.close()
    assert not window.live.active and not capture_threads()


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union if union > 0 else 0.0


@pytest.mark.skipif(not MODEL.is_file(), reason="needs ../shared/testdata/models")
def test_filtered_video_keeps_its_rate_and_is_what_the_model_sees(window, qtbot, clip):
    from vision_studio.core.analyzers import ObjectSettings
    from vision_studio.core.detection import ObjectDetector

    path, frames = clip
    live = window.live
    window.pipeline_dock.add_op("flip")  # mirror left-right: the picture and the boxes both move
    window.set_object_settings(ObjectSettings(model=str(MODEL)))
    window.sources_dock.open_source(str(path))
    qtbot.waitUntil(lambda: live.result is not None and len(live.result.detections) >= 3, timeout=20000)
    res = live.result
    assert res.image is None  # the filter thread makes the picture, not the analysis
    photo = frames[0] if res.index < 45 else frames[1]
    expected = ObjectDetector(MODEL, threads=1).predict(np.ascontiguousarray(photo[:, ::-1]))
    best = max(expected, key=lambda d: d.confidence)
    assert max(_iou(best.box, d.box) for d in res.detections if d.box) > 0.7  # analysed: the flipped frames
    live.seek(0)
    live.play()
    qtbot.wait(1500)
    assert live._shown.value() > 15  # filtered, and still not waiting for the model
    photo = frames[0] if live._frame.index < 45 else frames[1]
    assert np.abs(shown(window).astype(int) - photo[:, ::-1].astype(int)).mean() < 8
    from vision_studio.core.pipeline import Pipeline

    window.pipeline.edit(Pipeline(), "Remove all steps")  # filters off: the raw frames again
    live.seek(0)
    qtbot.waitUntil(lambda: live._frame.index < 40 and np.abs(shown(window).astype(int)
                                                              - frames[0].astype(int)).mean() < 8, timeout=5000)


def test_playing_in_fit_mode_does_not_refit_every_frame(window, qtbot, clip):
    canvas, live = window.canvas, window.live
    assert window.sources_dock.open_source(str(clip[0]))
    qtbot.waitUntil(lambda: live._frame is not None and live._frame.index > 3, timeout=5000)
    fits = []
    original_fit = canvas.fit
    canvas.fit = lambda: (fits.append(1), original_fit())[1]
    start = live._frame.index
    qtbot.wait(700)
    assert live._frame.index - start >= 8 and len(fits) == 0  # fitInView held the GIL each frame
    zoom = canvas.zoom()
    window.resize(window.width() - 200, window.height() - 150)
    qtbot.waitUntil(lambda: canvas.zoom() < zoom, timeout=3000)  # a resize still refits
