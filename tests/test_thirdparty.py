"""face_recognition must work with the prebuilt dlib-bin and a setuptools without pkg_resources."""
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

SHARED_FACES = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "faces" / "face_recognition" / "examples"


def test_dlib_comes_from_the_prebuilt_wheel():
    # The shim named "dlib" only carries metadata; the module itself is dlib-bin's.
    assert metadata.version("dlib-bin")
    assert metadata.requires("dlib") == ["dlib-bin>=19.24"]


@pytest.mark.timeout(180)
def test_face_recognition_imports_and_finds_faces_without_pkg_resources(sample_images):
    image = sample_images.get("zidane.jpg") or sample_images["bus.jpg"]
    code = f"""
import sys
sys.modules["pkg_resources"] = None  # as with setuptools >= 81: `import pkg_resources` fails
from vision_studio.core.thirdparty import import_face_recognition
fr = import_face_recognition()
assert sys.modules["pkg_resources"] is None, "the stand-in must not leak"
img = fr.load_image_file({str(image)!r})
print(len(fr.face_locations(img, model="hog")))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=170)
    assert r.returncode == 0, r.stdout + r.stderr
    assert int(r.stdout.strip().splitlines()[-1]) >= 1


SERIAL_FACE_JOBS = r"""
import sys
from PySide6.QtCore import QCoreApplication, QTimer
from vision_studio.core import thirdparty
from vision_studio.core.faces import analyze_faces, encode_faces
from vision_studio.core.image_io import read_image
from vision_studio.gui.workers import JobRunner

if sys.argv[2] == "direct":  # what the fix avoids: the first import inside a pool thread
    thirdparty._in_own_thread = lambda load: load()
app = QCoreApplication([])
runner = JobRunner(serial=True)
pixels = read_image(sys.argv[1]).pixels
done = []

def job():
    faces = analyze_faces(pixels)
    return len(encode_faces(pixels, faces))

def next_job(result=None):
    if result is not None:
        done.append(result)
    if len(done) == 3:
        print("done", done)
        app.quit()
        return
    runner.start(job, name="faces", on_result=next_job)

QTimer.singleShot(0, next_job)
app.exec()
"""


@pytest.mark.skipif(not (SHARED_FACES / "two_people.jpg").exists(), reason="needs ../shared/testdata/faces")
def test_face_jobs_one_after_another_on_one_pool_thread_do_not_hang(tmp_path):
    """dlib imported inside a Qt pool thread made the next dlib job on that thread wait for
    the GIL forever; core.thirdparty imports it in a thread of its own."""
    script = tmp_path / "jobs.py"
    script.write_text(SERIAL_FACE_JOBS)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, str(script), str(SHARED_FACES / "two_people.jpg"), "fixed"],
                       capture_output=True, text=True, timeout=180, env=env)
    assert r.returncode == 0, r.stderr
    assert "done [2, 2, 2]" in r.stdout
