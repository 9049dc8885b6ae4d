"""core/faces/engine.py: dlib runs in a helper process, so face work never holds this one's GIL.

The images here are noise: HOG costs the same whatever the picture shows, and an encoding
can be computed for any box, so these tests need no photo. (That results are exactly
face_recognition's is checked in test_faces.py, which compares against it directly.)
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from vision_studio.core.faces import FaceError, FaceOptions, detect_faces, encode_faces
from vision_studio.core.faces.engine import FaceEngine, FaceEngineError, engine

HOG = FaceOptions(detector="hog")


def noise(w: int, h: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), np.uint8)


def longest_pause_while(work) -> tuple[float, float]:
    """(longest gap between 1 ms heartbeats of a Python thread, seconds `work` took)."""
    gaps, done = [], threading.Event()

    def beat():
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    thread = threading.Thread(target=beat)
    thread.start()
    t0 = time.perf_counter()
    try:
        work()
    finally:
        took = time.perf_counter() - t0
        done.set()
        thread.join()
    return max(gaps), took


def test_face_work_runs_elsewhere_and_leaves_this_process_responsive():
    img = noise(1280, 720)
    boxes = [(100 + 150 * i, 100, 240 + 150 * i, 240) for i in range(4)]
    detect_faces(img, HOG)  # start the engine outside the measurement
    assert engine().pid not in (None, os.getpid())

    def work():
        for _ in range(2):
            detect_faces(img, HOG)
            encode_faces(img, boxes)

    pause, took = longest_pause_while(work)
    # One HOG search of 1280x720 holds dlib for ~0.3 s here; in this process (the old way)
    # the heartbeat stopped for all of it. Only pickling the image holds the GIL now.
    assert took > 0.3, "the work was too quick to tell anything"
    assert pause < 0.06, f"a Python thread was paused {pause * 1000:.0f} ms while dlib ran"


def test_in_process_mode_gives_the_same_answers():
    img = noise(640, 480, seed=1)
    boxes = [(50, 60, 200, 210), (300, 100, 420, 220)]
    local = FaceEngine(in_process=True)
    assert local.pid is None
    locations = [(60, 200, 210, 50), (100, 420, 220, 300)]
    assert np.array_equal(np.array(local.encodings(img, locations, 1, "small")), encode_faces(img, boxes))
    assert local.hog(img, 1) == engine().hog(img, 1)


def test_a_helper_killed_mid_call_fails_that_call_in_one_line_and_the_next_call_restarts_it():
    eng = FaceEngine()
    try:
        eng.start()
        pid = eng.pid
        big = noise(2400, 1600, seed=2)
        out: list = []
        worker = threading.Thread(target=lambda: out.append(_catch(lambda: eng.hog(big, 2))))
        worker.start()
        time.sleep(0.5)  # HOG with upsample 2 on this image takes seconds
        os.kill(pid, signal.SIGKILL)
        worker.join(30)
        assert isinstance(out[0], FaceEngineError)
        message = str(out[0])
        assert "face engine stopped while running hog" in message and "SIGKILL" in message
        assert "\n" not in message
        assert eng.hog(noise(320, 240), 0) == [] and eng.pid not in (None, pid)
    finally:
        eng.close()
    assert eng.pid is None


def test_close_during_a_long_call_ends_it_at_once():
    eng = FaceEngine()
    eng.start()
    out: list = []
    worker = threading.Thread(target=lambda: out.append(_catch(lambda: eng.hog(noise(2400, 1600, 3), 2))))
    worker.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    eng.close()  # the app is closing: it must not wait for the search (seconds; CNN: minutes)
    worker.join(10)
    assert time.monotonic() - t0 < 3 and not worker.is_alive()
    assert isinstance(out[0], FaceEngineError) and "(it was closed)" in str(out[0])
    assert eng.pid is None


def test_calls_from_several_threads_take_turns_and_get_their_own_answers():
    images = [noise(320, 240, seed) for seed in range(4)]
    box = [(20, 100, 120, 0)]
    expected = [engine().encodings(img, box, 1, "small")[0] for img in images]
    got: dict[int, object] = {}

    def work(i: int) -> None:
        for _ in range(3):
            got[i] = engine().encodings(images[i], box, 1, "small")[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(np.array_equal(got[i], expected[i]) for i in range(4))
    assert not np.array_equal(expected[0], expected[1])


def test_the_helper_ignores_modules_in_the_folder_the_app_was_started_from(tmp_path):
    (tmp_path / "face_recognition.py").write_text("raise ImportError('a stray file, not the package')\n")
    code = ("import numpy as np; from vision_studio.core.faces import detect_faces; "
            "print(len(detect_faces(np.zeros((120, 160, 3), np.uint8))))")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "0"


def test_a_helper_whose_import_fails_says_why_in_one_line(tmp_path, monkeypatch):
    (tmp_path / "face_recognition.py").write_text("raise ImportError('broken install: no models')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # searched before site-packages, in the helper too
    with pytest.raises(FaceEngineError, match=r"^the face engine could not start: broken install: no models$"):
        FaceEngine().start()


def test_a_helper_that_cannot_start_is_one_line(monkeypatch):
    monkeypatch.setattr(sys, "executable", "/bin/false")  # exits at once with 1
    with pytest.raises(FaceEngineError, match=r"^the face engine could not start \(exit code 1\)$"):
        FaceEngine().start()


def test_missing_face_recognition_is_one_line_naming_the_install(monkeypatch):
    from vision_studio.core import thirdparty
    from vision_studio.core.faces.detection import face_engine

    real = thirdparty.importlib.util.find_spec
    monkeypatch.setattr(thirdparty.importlib.util, "find_spec",
                        lambda name, *a: None if name == "face_recognition" else real(name, *a))
    with pytest.raises(FaceError, match="face_recognition is not installed; run packaging/bootstrap.sh setup"):
        face_engine()


def test_a_script_without_a_main_guard_can_use_faces(tmp_path):
    # multiprocessing's spawn would run this script again in the helper (and fail there).
    script = tmp_path / "count_faces.py"
    script.write_text("import numpy as np\n"
                      "from vision_studio.core.faces import detect_faces\n"
                      "print('top level ran')\n"
                      "print(len(detect_faces(np.zeros((120, 160, 3), np.uint8))))\n")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["top level ran", "0"]


def _catch(call):
    try:
        return call()
    except BaseException as exc:  # noqa: BLE001 - handed to the test
        return exc
