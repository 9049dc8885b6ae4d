"""face_recognition must work with the prebuilt dlib-bin and a setuptools without pkg_resources."""
import subprocess
import sys
from importlib import metadata

import pytest


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
