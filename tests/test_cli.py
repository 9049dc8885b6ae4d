"""The headless entry points, run as a user runs them: a real subprocess."""
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

import vision_studio


def vs(*args, env=None, timeout=120):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "vision_studio", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=full_env)


def test_version():
    r = vs("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"vision-studio {vision_studio.__version__}"


def test_info_json_for_good_and_bad_files(tmp_path, bus_jpg):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    r = vs("info", "--json", bus_jpg, bad, empty)
    assert r.returncode == 1
    entries = json.loads(r.stdout)
    assert len(entries) == 1
    e = entries[0]
    assert (e["width"], e["height"], e["channels"], e["bit_depth"], e["format"]) == (810, 1080, 3, 8, "JPEG")
    lines = r.stderr.strip().splitlines()
    assert lines == [f"{bad}: error: " + lines[0].split(": error: ", 1)[1], f"{empty}: error: empty file (0 bytes)"]
    assert "Traceback" not in r.stderr


def test_info_text_reports_exif_facts(tmp_path):
    path = tmp_path / "with exif ü.jpg"
    im = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS 5D"
    exif[0x0132] = "2024:05:06 07:08:09"
    im.save(path, exif=exif)
    r = vs("info", path)
    assert r.returncode == 0, r.stderr
    assert "size:        20 x 40" in r.stdout  # orientation 6 applied
    assert "orientation: 6" in r.stdout
    assert "camera:      Canon EOS 5D" in r.stdout
    assert "date:        2024:05:06 07:08:09" in r.stdout
    assert "GPS:         no" in r.stdout


def test_info_on_a_folder_and_a_missing_path(tmp_path):
    Image.new("L", (8, 8)).save(tmp_path / "a.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "b.bmp")
    r = vs("info", "--json", tmp_path, tmp_path / "nope.jpg")
    assert r.returncode == 1
    assert [e["format"] for e in json.loads(r.stdout)] == ["PNG", "BMP"]
    assert r.stderr.strip() == f"{tmp_path / 'nope.jpg'}: error: file not found"


def test_usage_errors_exit_2_without_traceback():
    r = vs("info")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "error:" in r.stderr


def test_gui_without_display_says_why(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "-m", "vision_studio"], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 2
    assert "no display" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("platform_env", [{"QT_QPA_PLATFORM": "offscreen"}, {}])
def test_screenshot_offscreen(tmp_path, bus_jpg, platform_env):
    """--screenshot works offscreen, explicitly or picked automatically with no display."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(platform_env)
    out = tmp_path / "shot.png"
    r = subprocess.run([sys.executable, "-m", "vision_studio", "--screenshot", str(out), str(bus_jpg)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (1280, 800)
        colours = im.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is None or len(colours) > 1000, "a real picture, not a blank window"


def test_screenshot_says_so_when_the_image_or_pipeline_fails(tmp_path):
    """The screenshot is still saved (it shows the error), but the exit status is 1."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    bad_image = tmp_path / "broken.png"
    bad_image.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    bad_pipeline = tmp_path / "p.json"
    bad_pipeline.write_text('{"version": 1, "steps": [{"op": "no_such_op"}]}')
    out = tmp_path / "shot.png"
    r = subprocess.run([sys.executable, "-m", "vision_studio", "--screenshot", str(out), "--pipeline",
                        str(bad_pipeline), str(bad_image)], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert any("broken.png" in line for line in errors), r.stderr
    assert any("no_such_op" in line for line in errors), r.stderr
    assert "Traceback" not in r.stderr and out.is_file()


def test_a_closed_pipe_is_not_an_error():
    """`vision-studio ops | head -1`: the reader goes away early; no 'Broken pipe' message."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe now fails with EPIPE, as after `head` exits
    try:
        r = subprocess.run([sys.executable, "-m", "vision_studio", "ops"], stdout=write_end, stderr=subprocess.PIPE,
                           timeout=60, env=os.environ)
    finally:
        os.close(write_end)
    assert r.returncode == 0 and b"Broken pipe" not in r.stderr and b"Traceback" not in r.stderr, r.stderr
