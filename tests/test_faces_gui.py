"""The Faces panel (gui/docks/faces.py and its parts): settings out, the gallery, clicked faces, clusters.

Real photos from ../shared/testdata/faces/face_recognition, a real SQLite gallery in
tmp_path, the real window and model thread. Gallery jobs are awaited through the dock's
signals, analyses through the pipeline's sig_rendered.
"""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = (ROOT.parent / "shared" / "testdata" / "faces" / "face_recognition" / "examples").resolve()  # ../shared may be a symlink
TRAIN = EXAMPLES / "knn_examples" / "train"
YUNET = ROOT.parent / "shared" / "testdata" / "models" / "face_detection_yunet_2023mar.onnx"

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("face_recognition") is None, reason="needs the faces extra"),
    pytest.mark.skipif(not EXAMPLES.is_dir(), reason="needs ../shared/testdata/faces"),
]


@pytest.fixture
def dock(qtbot, window, tmp_path):
    d = window.faces_dock
    with qtbot.waitSignal(d.sig_gallery_changed, timeout=30_000):
        d.set_gallery_path(str(tmp_path / "people.sqlite"))
    return d


def gallery_job(qtbot, dock, start, timeout=120_000):
    """Run a gallery-changing action and wait until the people list has reloaded."""
    with qtbot.waitSignal(dock.sig_gallery_changed, timeout=timeout):
        start()
    assert not dock.status.styleSheet(), dock.status.text()  # no error line


def people(dock) -> dict[str, int]:
    return {p.name: p.faces for p in dock.people}


def list_texts(dock) -> list[str]:
    lw = dock.people_panel.people_list
    return [lw.item(i).text() for i in range(lw.count())]


def open_and_analyze(qtbot, window, path: Path, check=None, timeout=120_000):
    """Open `path` and wait for a full analysis whose faces pass `check`; the faces by x."""
    def done(rendered) -> bool:
        faces = [d for d in rendered.output.detections if d.kind == "face"]
        return rendered.full and (check is None or check(faces))
    with qtbot.waitSignal(window.pipeline.sig_rendered, timeout=timeout, check_params_cb=done):
        window.open_paths([path])
    return faces_by_x(window)


def faces_by_x(window):
    dets = window.pipeline.last.output.detections
    return sorted(((i, d) for i, d in enumerate(dets) if d.kind == "face"), key=lambda t: t[1].box[0])


def identities(faces) -> list[str]:
    return [d.identity for d in sorted(faces, key=lambda d: d.box[0])]


def test_enroll_from_files_skips_no_face_and_several_faces(qtbot, dock, tmp_path):
    from PIL import Image

    blank = tmp_path / "wall.png"
    Image.new("RGB", (320, 240), (200, 180, 160)).save(blank)
    files = [TRAIN / "obama" / "obama.jpg", blank, EXAMPLES / "two_people.jpg"]
    gallery_job(qtbot, dock, lambda: dock.people_panel.enroll_files("Barack Obama", [str(f) for f in files]))
    assert people(dock) == {"Barack Obama": 1}
    assert list_texts(dock) == ["Barack Obama\n1 face"]
    icon = dock.people_panel.people_list.item(0).icon()
    assert not icon.pixmap(48, 48).isNull()
    text = dock.status.text()
    assert "1 face enrolled (Barack Obama)" in text
    assert "wall.png: no face found" in text and "two_people.jpg: 2 faces found" in text
    assert dock.people_panel.selected_person() == "Barack Obama"
    from vision_studio.core.faces import Gallery

    with Gallery(tmp_path / "people.sqlite", create=False) as g:
        [face] = g.faces("Barack Obama")
        assert face.thumbnail.startswith(b"\xff\xd8") and face.source == str(files[0])


def test_window_names_obama_and_biden_after_enrolling_them(qtbot, window, dock):
    dock.enabled.setChecked(True)
    faces = open_and_analyze(qtbot, window, EXAMPLES / "two_people.jpg", lambda f: len(f) == 2)
    assert [d.identity for _, d in faces] == ["Unknown", "Unknown"]  # empty gallery
    version = dock.gallery_version
    gallery_job(qtbot, dock, lambda: dock.people_panel.enroll_files("Obama", [str(TRAIN / "obama" / "obama.jpg")]))
    with qtbot.waitSignal(window.pipeline.sig_rendered, timeout=120_000,
                          check_params_cb=lambda r: identities(
                              [d for d in r.output.detections if d.kind == "face"]) == ["Obama", "Biden"]):
        dock.people_panel.enroll_files("Biden", [str(TRAIN / "biden" / "biden2.jpg")])
    assert dock.gallery_version == version + 2
    (_, obama), (_, biden) = faces_by_x(window)
    assert obama.box[2] < biden.box[0] and obama.distance < 0.6 and biden.distance < 0.6
    assert window.pipeline.analyzers.faces.gallery_version == dock.gallery_version


def test_rename_merge_delete(qtbot, dock, tmp_path):
    panel = dock.people_panel
    gallery_job(qtbot, dock, lambda: panel.enroll_files("Obama", [str(TRAIN / "obama" / "obama.jpg")]))
    gallery_job(qtbot, dock, lambda: panel.enroll_files("Barack", [str(TRAIN / "obama" / "obama2.jpg")]))
    assert people(dock) == {"Barack": 1, "Obama": 1}
    gallery_job(qtbot, dock, lambda: panel.merge_people("Barack", "Obama"))
    assert people(dock) == {"Obama": 2}
    assert "2 faces" in list_texts(dock)[0]
    gallery_job(qtbot, dock, lambda: panel.rename_person("Obama", "Barack Obama"))
    assert people(dock) == {"Barack Obama": 2}
    assert "Renamed Obama to Barack Obama" in dock.status.text()
    # A bad rename is one line in the panel, and nothing changes.
    with qtbot.waitSignal(dock.sig_message, timeout=30_000, check_params_cb=lambda t: "failed" in t):
        panel.rename_person("Barack Obama", "Unknown 3")
    assert "reserved" in dock.status.text() and people(dock) == {"Barack Obama": 2}
    gallery_job(qtbot, dock, lambda: panel.delete_person("Barack Obama"))
    assert people(dock) == {} and list_texts(dock) == []
    from vision_studio.core.faces import Gallery

    with Gallery(tmp_path / "people.sqlite", create=False) as g:
        assert len(g) == 0 and g.faces() == [] and g.all_encodings()[1].shape == (0, 128)


def test_delete_asks_first(qtbot, dock, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    panel = dock.people_panel
    gallery_job(qtbot, dock, lambda: panel.enroll_files("Obama", [str(TRAIN / "obama" / "obama.jpg")]))
    panel.select_person("Obama")
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Cancel)
    panel._delete_dialog()
    assert asked and "Delete Obama and all 1 stored face(s)" in asked[0]
    qtbot.waitUntil(lambda: not dock.busy(), timeout=30_000)  # a list refresh after enrolling may still run
    assert people(dock) == {"Obama": 1}  # Cancel deleted nothing


def test_import_folder_export_and_import_gallery(qtbot, dock, tmp_path):
    panel = dock.people_panel
    gallery_job(qtbot, dock, lambda: panel.import_folder(str(TRAIN)))
    expected = {"alex_lacamoire": 1, "biden": 1, "kit_harington": 2, "obama": 2, "rose_leslie": 2}
    assert people(dock) == expected
    with qtbot.waitSignal(dock.sig_message, timeout=30_000, check_params_cb=lambda t: t.startswith("Exported")):
        panel.export_gallery(str(tmp_path / "export"))
    assert (tmp_path / "export" / "gallery.json").is_file()
    dock.set_gallery_path(str(tmp_path / "other.sqlite"))
    qtbot.waitUntil(lambda: not dock.busy())
    assert people(dock) == {}
    gallery_job(qtbot, dock, lambda: panel.import_gallery(str(tmp_path / "export")))
    assert people(dock) == expected
    assert "Imported 5 new people, 8 faces" in dock.status.text()


def test_corrupt_gallery_is_one_line_and_the_window_works(qtbot, window, tmp_path):
    bad = tmp_path / "broken.sqlite"
    bad.write_bytes(b"this is not an sqlite database" * 100)
    dock = window.faces_dock
    with qtbot.waitSignal(dock.sig_message, timeout=30_000, check_params_cb=lambda t: "Gallery unusable" in t):
        dock.set_gallery_path(str(bad))
    assert dock.status.text() == f"Gallery unusable — {bad}: not a gallery database (file is not a database)"
    assert "\n" not in dock.status.text() and dock.people == []
    # The rest of the app carries on: an image still opens and shows.
    with qtbot.waitSignal(window.browser.sig_loaded, timeout=30_000):
        window.open_paths([EXAMPLES / "obama_small.jpg"])
    assert window.canvas.has_image()
    # Back to a good gallery: the message goes.
    gallery_job(qtbot, dock, lambda: dock.set_gallery_path(str(tmp_path / "good.sqlite")))
    assert dock.status.text() == ""


def test_add_a_clicked_face_to_the_gallery(qtbot, window, dock, tmp_path):
    gallery_job(qtbot, dock, lambda: dock.people_panel.enroll_files("Obama", [str(TRAIN / "obama" / "obama.jpg")]))
    dock.enabled.setChecked(True)
    faces = open_and_analyze(qtbot, window, EXAMPLES / "two_people.jpg",
                             lambda f: identities(f) == ["Obama", "Unknown"])
    index, biden = faces[1]
    # Right-click on Biden's box: the canvas names the detection.
    canvas = window.canvas
    canvas.sig_face_menu_requested.disconnect()  # the real menu would block: listen to the signal instead
    x1, y1, x2, y2 = biden.box
    pos = canvas.mapFromScene((x1 + x2) / 2, (y1 + y2) / 2)
    with qtbot.waitSignal(canvas.sig_face_menu_requested, timeout=5000) as blocker:
        QApplication.sendEvent(canvas.viewport(), QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos,
                                                                   canvas.viewport().mapToGlobal(pos)))
    assert blocker.args[0] == index and canvas.highlighted() == index
    menu = dock.picker.build_menu(index)
    texts = [a.text() for a in menu.actions()]
    assert texts[0] == "Add to Gallery as…" and "Add to" in texts
    [sub] = [a.menu() for a in menu.actions() if a.text() == "Add to"]
    assert [a.text() for a in sub.actions()] == ["Obama"]
    # Enroll it as a new person: the analysis reruns and names him.
    with qtbot.waitSignal(window.pipeline.sig_rendered, timeout=120_000,
                          check_params_cb=lambda r: identities(
                              [d for d in r.output.detections if d.kind == "face"]) == ["Obama", "Joe Biden"]):
        dock.picker.add(index, "Joe Biden")
    qtbot.waitUntil(lambda: "Joe Biden" in people(dock))
    assert people(dock) == {"Joe Biden": 1, "Obama": 1}
    from vision_studio.core.faces import Gallery

    with Gallery(tmp_path / "people.sqlite", create=False) as g:
        [face] = g.faces("Joe Biden")
        assert face.source == str((EXAMPLES / "two_people.jpg").resolve()) and face.thumbnail
    # The menu now offers both people; "Add to Joe Biden" stores a duplicate only once.
    menu = dock.picker.build_menu(index)
    assert "Add to Joe Biden" in [a.text() for a in menu.actions()]


def test_a_box_that_is_not_a_face_gets_no_menu(qtbot, window):
    from vision_studio.core.results import Detection

    with qtbot.waitSignal(window.browser.sig_loaded, timeout=30_000):
        window.open_paths([EXAMPLES / "obama_small.jpg"])
    window.canvas.set_results([Detection("object", "person", 0.9, (10, 10, 100, 100))])
    got = []
    window.canvas.sig_face_menu_requested.disconnect()
    window.canvas.sig_face_menu_requested.connect(lambda i, p: got.append(i))
    pos = window.canvas.mapFromScene(50, 50)
    QApplication.sendEvent(window.canvas.viewport(), QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos,
                                                                      QPoint(0, 0)))
    assert got == []
    assert not window.faces_dock.busy()


def test_cluster_the_open_folder_and_name_a_cluster(qtbot, window, dock, tmp_path):
    folder = tmp_path / "party"
    folder.mkdir()
    for name in ("obama-240p.jpg", "obama_small.jpg", "biden.jpg"):
        shutil.copy(EXAMPLES / name, folder / name)
    with qtbot.waitSignal(window.browser.sig_loaded, timeout=30_000):
        window.open_paths([folder])
    panel = dock.clusters
    with qtbot.waitSignal(panel.list.model().rowsInserted, timeout=120_000):
        panel.run()
    qtbot.waitUntil(lambda: panel.report is not None)
    labels = [(c.label, len(c), sorted(Path(s).name for s in c.sources)) for c in panel.report.clusters]
    assert labels == [("Unknown 1", 2, ["obama-240p.jpg", "obama_small.jpg"]), ("Unknown 2", 1, ["biden.jpg"])]
    assert panel.list.item(0).text() == "Unknown 1\n2 faces in 2 images"
    gallery_job(qtbot, dock, lambda: panel.name_cluster("Unknown 1", "Obama"))
    assert people(dock) == {"Obama": 2}
    assert [panel.list.item(i).text().split("\n")[0] for i in range(panel.list.count())] == ["Unknown 2"]


def test_settings_out_and_remembered(qtbot, window, settings, tmp_path):
    from vision_studio.gui.docks.faces import FacesDock

    dock = window.faces_dock
    got = []
    dock.sig_settings_changed.connect(got.append)
    with qtbot.waitSignal(dock.sig_settings_changed, timeout=60_000):  # once face_recognition is loaded
        dock.enabled.setChecked(True)
    assert got[-1] is not None and got[-1].options.detector == "auto" and got[-1].options.tolerance == 0.6
    dock.form.tolerance.setValue(0.45)
    dock.form.landmarks.setCurrentIndex(dock.form.landmarks.findData("68"))
    dock.form.anonymize.setCurrentIndex(dock.form.anonymize.findData("pixelate"))
    dock.form.unknown_only.setChecked(True)
    s = got[-1]
    assert (s.options.tolerance, s.options.landmarks, s.anonymize, s.unknown_only) == (0.45, "68", "pixelate", True)
    assert window.pipeline.analyzers.faces == s
    # YuNet without its model file cannot run: faces go off, and the panel says why.
    dock.form.detector.setCurrentIndex(dock.form.detector.findData("yunet"))
    assert got[-1] is None and "YuNet needs its model file" in dock.status.text()
    dock.form.yunet_path.setText(str(YUNET))
    dock.form.yunet_path.editingFinished.emit()
    assert got[-1].options.detector == "yunet" and got[-1].options.yunet_model == str(YUNET)
    dock.form.detector.setCurrentIndex(dock.form.detector.findData("cnn"))
    assert "27 s per 720p image" in dock.form.detector_note.text()
    dock.enabled.setChecked(False)
    assert got[-1] is None and window.pipeline.analyzers.faces is None
    # A new panel with the same settings file comes back the same.
    again = FacesDock(window.jobs, settings)
    qtbot.addWidget(again)
    assert not again.enabled.isChecked() and again.form.detector_name() == "cnn"
    assert again.form.tolerance.value() == 0.45 and again.form.yunet_path.text() == str(YUNET)
    assert again.form.anonymize_mode() == "pixelate" and again.form.unknown_only.isChecked()
    assert again.form.landmarks.currentData() == "68"
    assert again.gallery_path() == dock.gallery_path()


def test_dialog_paths_add_files_and_export_confirm(qtbot, dock, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

    panel = dock.people_panel
    photo = str(TRAIN / "obama" / "obama2.jpg")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([photo], ""))
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("  Barack   Obama ", True))
    gallery_job(qtbot, dock, panel._add_files_dialog)
    assert people(dock) == {"Barack Obama": 1}
    target = tmp_path / "export"
    target.mkdir()
    (target / "gallery.json").write_text("{}")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(target))
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Cancel)
    panel._export_dialog()
    assert asked and "already holds a gallery export" in asked[0]
    assert not dock.busy() and (target / "gallery.json").read_text() == "{}"


PRELOAD_SCRIPT = """
import sys
from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
from vision_studio.gui import faces_jobs
from vision_studio.gui.workers import JobRunner
from vision_studio.core.image_io import read_image
app = QCoreApplication([])
if sys.argv[2] == "preload":
    faces_jobs.preload_dlib()
pixels = read_image(sys.argv[1]).pixels
def job():
    from vision_studio.core.faces import FaceOptions, detect_faces, encode_faces
    return len(encode_faces(pixels, detect_faces(pixels, FaceOptions())))
runner = JobRunner(serial=True)  # one OS thread for every job, like the window's model thread
got = []
for _ in range(3):
    loop = QEventLoop()
    runner.start(job, name="faces", on_result=got.append, on_finished=loop.quit)
    loop.exec()
print(got)
"""


def test_dlib_imported_by_preload_survives_jobs_on_one_pool_thread(tmp_path):
    # Imported inside a Qt pool thread instead, dlib's second job on that thread never returns.
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", PRELOAD_SCRIPT, str(EXAMPLES / "two_people.jpg"), "preload"],
                       check=False, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[2, 2, 2]"


def test_closing_the_window_ends_a_long_face_call_at_once(window):
    # A job inside a long dlib call (CNN: ~27 s a frame on a CPU) must not hold the app open.
    import threading
    import time

    import numpy as np

    from vision_studio.core.faces.engine import FaceEngineError, engine

    eng = engine()
    big = np.random.default_rng(0).integers(0, 255, (1600, 2400, 3), np.uint8)
    out: list = []

    def search():
        try:
            out.append(eng.hog(big, 2))  # seconds
        except FaceEngineError as exc:
            out.append(exc)

    worker = threading.Thread(target=search)
    worker.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    window.close()
    worker.join(10)
    assert time.monotonic() - t0 < 3 and isinstance(out[0], FaceEngineError)
    assert engine().pid is not None  # the next use starts a new helper
