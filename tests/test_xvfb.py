"""The real app on a real X server with Qt's xcb plugin.

Offscreen tests pass even when the system libraries xcb needs are missing, so
this one starts Xvfb and insists on QT_QPA_PLATFORM=xcb (Qt does not fall back).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from PIL import Image

pytestmark = [pytest.mark.xvfb,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 test, Linux only")]


@pytest.fixture(scope="module")
def xserver():
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.fail("Xvfb is not installed: run packaging/bootstrap.sh test (it installs xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([exe, "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        display = fh.readline().strip()
    if not display:
        proc.kill()
        pytest.fail("Xvfb did not start")
    yield f":{display}"
    proc.terminate()
    proc.wait(10)


def test_screenshot_on_a_real_x_server(xserver, tmp_path, bus_jpg):
    env = {**os.environ, "DISPLAY": xserver, "QT_QPA_PLATFORM": "xcb"}
    env.pop("WAYLAND_DISPLAY", None)
    out = tmp_path / "xcb.png"
    r = subprocess.run([sys.executable, "-m", "vision_studio", "--screenshot", str(out), str(bus_jpg)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Could not load the Qt platform plugin" not in r.stderr
    with Image.open(out) as im:
        rgb = im.convert("RGB")
    assert rgb.size == (1280, 800)
    # The photo is in the middle of the window: many distinct colours there.
    centre = rgb.crop((500, 200, 800, 500))
    assert len(centre.getcolors(maxcolors=100_000) or range(100_001)) > 500
