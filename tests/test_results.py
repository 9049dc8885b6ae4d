import json

import numpy as np
import pytest

from vision_studio.core import results as R
from vision_studio.core.results import Detection, ImageResults


def _full_detection():
    mask = np.zeros((6, 8), bool)
    mask[1:4, 2:7] = True
    mask[5, 7] = True
    return Detection(kind="object", label="person", confidence=0.87, box=(10, 20, 110, 220),
                     class_id=0, mask=mask, keypoints=[[1, 2, 0.9], [3, 4, 0.1]], track_id=7,
                     attributes={"area_px": 15})


def test_json_round_trip_keeps_every_field():
    entry = ImageResults("a/b.jpg", 640, 480, [_full_detection(),
                         Detection(kind="face", label="face", identity="Zoë", confidence=0.7,
                                   box=(1, 2, 3, 4), distance=0.41,
                                   landmarks={"nose_tip": [(2.5, 3.0)]})])
    back = R.loads(R.dumps([entry]))[0]
    assert (back.source, back.width, back.height) == ("a/b.jpg", 640, 480)
    a, b = back.results
    orig = entry.results[0]
    assert a.box == orig.box and a.class_id == 0 and a.track_id == 7
    assert np.array_equal(a.mask, orig.mask)
    assert np.allclose(a.keypoints, orig.keypoints)
    assert a.attributes == {"area_px": 15}
    assert b.identity == "Zoë" and b.label == "face" and b.distance == pytest.approx(0.41)
    assert b.landmarks == {"nose_tip": [(2.5, 3.0)]}


def test_face_json_has_the_documented_shape():
    det = Detection(kind="face", label="face", identity="Obama", confidence=0.9,
                    box=(5, 6, 50, 60), distance=0.33)
    d = ImageResults("x.jpg", 100, 80, [det]).to_dict()
    assert d == {"source": "x.jpg", "width": 100, "height": 80, "results": [
        {"kind": "face", "label": "Obama", "class_label": "face", "confidence": 0.9,
         "box": [5.0, 6.0, 50.0, 60.0], "distance": 0.33}]}
    json.dumps(d)  # plain JSON types only


def test_box_is_normalized_and_scaled_back_to_original_pixels():
    det = Detection(kind="object", label="car", box=(50, 40, 10, 20), keypoints=[[10, 10]])
    assert det.box == (10, 20, 50, 40)
    big = det.scaled(2.0, dx=5)
    assert big.box == (25, 40, 105, 80)
    assert big.keypoints[0].tolist() == [25, 20]
    assert det.area == 40 * 20


def test_bad_values_are_rejected():
    with pytest.raises(ValueError, match="unknown result kind"):
        Detection(kind="banana", label="x")
    with pytest.raises(ValueError, match="keypoints"):
        Detection(kind="pose", label="p", keypoints=[1, 2, 3])


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (7, 4)])
def test_mask_rle_matches_coco_convention(shape):
    rng = np.random.default_rng(0)
    for _ in range(20):
        mask = rng.random(shape) > 0.5
        rle = R.mask_to_rle(mask)
        assert sum(rle["counts"]) == mask.size
        assert np.array_equal(R.rle_to_mask(rle), mask)
    # COCO: counts start with the number of zeros (0 when the first pixel is set).
    assert R.mask_to_rle(np.ones((2, 2), bool))["counts"] == [0, 4]
    assert R.mask_to_rle(np.array([[0, 1], [0, 1]], bool))["counts"] == [2, 2]
