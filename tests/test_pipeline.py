"""The pipeline model and file format (no Qt)."""
import json

import numpy as np
import pytest

from vision_studio.core import pipeline as P
from vision_studio.core.ops import get_op


def test_json_round_trip_is_exact(tmp_path):
    pipe = P.Pipeline([P.make_step("gaussian_blur", ksize=7), P.make_step("crop", rect=[1, 2, 30, 40]),
                       P.Step("invert", {}, enabled=False)])
    path = P.save(pipe, tmp_path / "p.json")
    assert P.load(path) == pipe
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert data["steps"][0] == {"op": "gaussian_blur", "params": {"ksize": 7, "sigma": 0.0}, "enabled": True}
    assert data["steps"][1]["params"]["rect"] == [1, 2, 30, 40]


def test_missing_params_take_their_defaults():
    pipe = P.loads('{"version": 1, "steps": [{"op": "canny"}]}')
    assert pipe.steps[0].params == get_op("canny").defaults()


@pytest.mark.parametrize("text, message", [
    ("[]", "expected a JSON object"),
    ('{"steps": []}', 'missing "version"'),
    ('{"version": 1}', '"steps" must be a list'),
    ('{"version": 1, "steps": [], "extra": 1}', "unknown top-level field 'extra'"),
    ('{"version": 1, "steps": [3]}', "step 1: expected an object"),
    ('{"version": 1, "steps": [{"op": "invert", "enabled": "yes"}]}', 'step 1 (invert): "enabled" must be true or false'),
    ('{"version": 1, "steps": [{"op": "invert", "params": []}]}', 'step 1 (invert): "params" must be an object'),
    ('{"version": 1, "steps": [{"op": "invert", "colour": 1}]}', "step 1 (invert): unknown field 'colour'"),
])
def test_every_problem_names_its_place(text, message):
    with pytest.raises(P.PipelineError) as info:
        P.loads(text)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_preview_scale_keeps_kernel_sizes_valid():
    spec = get_op("gaussian_blur")
    scaled = P.scaled_params(spec, {"ksize": 25, "sigma": 4.0}, 0.25)
    assert scaled["ksize"] % 2 == 1 and scaled["ksize"] == 7 and scaled["sigma"] == 1.0
    assert P.scaled_params(spec, {"ksize": 3, "sigma": 0.0}, 0.1)["ksize"] == 1
    spec.validate(scaled)


def test_run_pipeline_skips_disabled_steps_and_never_modifies_the_input():
    img = np.full((20, 30, 3), 10, np.uint8)
    img.setflags(write=False)
    pipe = P.Pipeline([P.make_step("invert"), P.Step("invert", {}, enabled=False)])
    out = P.run_pipeline(pipe, img)
    assert (out.image == 245).all() and (img == 10).all()


def test_proxy_detections_come_back_in_full_resolution_pixels():
    img = np.zeros((100, 200), np.uint8)
    img[20:40, 60:100] = 255
    pipe = P.Pipeline([P.make_step("analyze_particles")])
    full = P.run_pipeline(pipe, img).detections[0].box
    half = P.run_pipeline(pipe, img[::2, ::2].copy(), scale=0.5).detections[0].box
    assert np.allclose(full, half, atol=2)
