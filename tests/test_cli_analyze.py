"""`vision-studio ops` and `vision-studio analyze --pipeline`, run as a user runs them."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from vision_studio.core.image_io import read_image
from vision_studio.core.pipeline import loads, run_pipeline


def vs(*args):
    return subprocess.run([sys.executable, "-m", "vision_studio", *map(str, args)],
                          capture_output=True, text=True, timeout=180, env=os.environ)


def test_ops_lists_every_operation_with_its_parameters():
    r = vs("ops", "--json")
    assert r.returncode == 0, r.stderr
    specs = {s["op"]: s for s in json.loads(r.stdout)}
    assert {"gaussian_blur", "canny", "otsu_threshold", "analyze_particles", "crop", "clahe"} <= set(specs)
    ksize = next(p for p in specs["gaussian_blur"]["params"] if p["name"] == "ksize")
    assert ksize["type"] == "int" and ksize["odd"] and ksize["min"] == 1 and "default" in ksize
    text = vs("ops").stdout
    assert "Smooth" in text and "gaussian_blur" in text and "ksize" in text


@pytest.fixture
def images(tmp_path):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    rng = np.random.default_rng(5)
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), np.uint8)).save(d / "a.png")
    Image.fromarray(rng.integers(0, 255, (30, 50, 3), np.uint8)).save(d / "b.jpg", quality=95)
    Image.fromarray(rng.integers(0, 255, (20, 20, 3), np.uint8)).save(d / "sub" / "c.bmp")
    return d


def write_pipeline(tmp_path, steps, version=1):
    p = tmp_path / "pipe.json"
    p.write_text(json.dumps({"version": version, "steps": steps}))
    return p


BLUR = [{"op": "gaussian_blur", "params": {"ksize": 5}, "enabled": True}]


def test_analyze_folder_writes_each_image_in_its_own_format(tmp_path, images):
    pipe = write_pipeline(tmp_path, BLUR)
    out = tmp_path / "out"
    r = vs("analyze", images, "-o", out, "--pipeline", pipe, "--recursive")
    assert r.returncode == 0, r.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == \
        ["a.png", "b.jpg", "results.json", "sub/c.bmp"]
    expected = run_pipeline(loads(pipe.read_text()), read_image(images / "a.png").pixels).image
    assert np.array_equal(np.asarray(Image.open(out / "a.png")), expected)
    entries = json.loads((out / "results.json").read_text())
    assert [(e["width"], e["height"]) for e in entries] == [(60, 40), (50, 30), (20, 20)]

    again = vs("analyze", images, "-o", out, "--pipeline", pipe, "--recursive")
    assert again.returncode == 0 and "exists, skipped" in again.stderr


def test_a_bad_image_is_named_and_the_rest_still_written(tmp_path, images):
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    out = tmp_path / "out"
    r = vs("analyze", images, "-o", out, "--pipeline", write_pipeline(tmp_path, BLUR), "--format", "png")
    assert r.returncode == 1
    assert f"{images / 'broken.png'}: error:" in r.stderr and "Traceback" not in r.stderr
    assert (out / "a.png").exists() and (out / "b.png").exists() and not (out / "broken.png").exists()


@pytest.mark.parametrize("steps, version, message", [
    ([{"op": "gaussian_blurr"}], 1, "step 1 (gaussian_blurr): unknown operation 'gaussian_blurr'"),
    ([{"op": "gaussian_blur", "params": {"ksize": 4}}], 1, "step 1 (gaussian_blur): ksize: must be odd, got 4"),
    ([{"op": "gaussian_blur", "params": {"ksize": "big"}}], 1, "step 1 (gaussian_blur): ksize: expected a number"),
    ([{"op": "median_blur"}, {"op": "gaussian_blur", "params": {"sigma": 500}}], 1,
     "step 2 (gaussian_blur): sigma: 500.0 is above the maximum 50"),
    ([{"op": "gaussian_blur", "params": {"kernel": 3}}], 1, "step 1 (gaussian_blur): kernel: unknown parameter"),
    ([{"params": {}}], 1, "step 1: missing \"op\""),
    (BLUR, 2, "unsupported version 2"),
])
def test_invalid_pipelines_name_step_and_field_and_write_nothing(tmp_path, images, steps, version, message):
    out = tmp_path / "out"
    r = vs("analyze", images, "-o", out, "--pipeline", write_pipeline(tmp_path, steps, version))
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_json_is_reported_with_its_position(tmp_path, images):
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "steps": [')
    r = vs("analyze", images, "-o", tmp_path / "out", "--pipeline", bad)
    assert r.returncode == 2 and f"{bad}: invalid JSON at line 1" in r.stderr


def test_resumed_run_keeps_earlier_results_and_files_are_not_private(tmp_path, images):
    pipe = write_pipeline(tmp_path, [{"op": "analyze_particles"}])
    out = tmp_path / "out"
    assert vs("analyze", images / "a.png", "-o", out, "--pipeline", pipe).returncode == 0
    r = vs("analyze", images, "-o", out, "--pipeline", pipe)
    assert r.returncode == 0 and "exists, skipped" in r.stderr
    sources = sorted(os.path.basename(e["source"]) for e in json.loads((out / "results.json").read_text()))
    assert sources == ["a.png", "b.jpg"]
    assert (out / "a.png").stat().st_mode & 0o044  # group/other may read, like any written file


def test_crop_preview_scales_the_rectangle():
    from vision_studio.core.ops import get_op
    from vision_studio.core.pipeline import scaled_params

    assert scaled_params(get_op("crop"), {"rect": (2000, 1500, 1500, 1000)}, 0.25)["rect"] == (500, 375, 375, 250)
