import numpy as np
import pytest

from vision_studio.core.annotate import PALETTE, Style, color_for, label_text, render
from vision_studio.core.results import Detection


def _gray(h=120, w=160):
    return np.full((h, w, 3), 100, np.uint8)


def test_render_draws_box_in_class_colour_and_leaves_input_alone():
    img = _gray()
    det = Detection(kind="object", label="dog", class_id=3, box=(20, 30, 120, 100), confidence=0.9)
    out = render(img, [det], Style(line_width=2, show_label=False, show_confidence=False))
    assert (img == 100).all(), "render must not modify its input"
    assert tuple(out[60, 20]) == PALETTE[3]  # left edge of the box
    assert tuple(out[65, 70]) == (100, 100, 100)  # inside untouched
    assert tuple(out[5, 5]) == (100, 100, 100)  # outside untouched


def test_labels_support_non_ascii_names():
    det = Detection(kind="face", label="face", identity="Zoë Ñúñez", box=(30, 60, 90, 110), confidence=0.5)
    out = render(_gray(200, 200), [det])
    above = out[30:60, 30:120]
    assert (above != 100).any(), "label background drawn above the box"
    assert label_text(det) == "Zoë Ñúñez 0.50"


def test_mask_is_blended_with_opacity():
    mask = np.zeros((120, 160), bool)
    mask[10:20, 10:20] = True
    det = Detection(kind="object", label="x", class_id=0, mask=mask)
    out = render(_gray(), [det], Style(mask_opacity=0.5, show_label=False, show_confidence=False))
    expected = ((100 * 0.5 + np.array(PALETTE[0]) * 0.5)).astype(np.uint8)
    assert np.abs(out[15, 15].astype(int) - expected).max() <= 1
    assert tuple(out[50, 50]) == (100, 100, 100)


def test_known_and_unknown_faces_get_different_colours():
    known = Detection(kind="face", label="face", identity="Ann")
    unknown = Detection(kind="face", label="Unknown")
    assert color_for(known) != color_for(unknown)


def test_render_rejects_non_rgb_uint8():
    with pytest.raises(ValueError, match="RGB uint8"):
        render(np.zeros((4, 4), np.uint8), [])


def test_measured_regions_are_labelled_by_id_and_keypoints_by_count():
    region = Detection(kind="region", label="object", box=(1, 1, 5, 5), attributes={"id": 7})
    orb = Detection(kind="keypoint", label="ORB", keypoints=[[1, 1, 0.5], [2, 2, 0.4]])
    assert label_text(region) == "#7"
    assert label_text(orb) == "ORB: 2 keypoints"


def test_feature_keypoints_are_all_drawn_whatever_their_response():
    kp = Detection(kind="keypoint", label="ORB", keypoints=[[40, 40, 0.001], [100, 80, 0.02]])
    out = render(_gray(), [kp], Style(show_label=False))
    for x, y in ((40, 40), (100, 80)):
        assert (out[y - 6:y + 7, x - 6:x + 7] != 100).any()
    empty = Detection(kind="keypoint", label="ORB", keypoints=np.zeros((0, 3), np.float32))
    render(_gray(), [empty])  # no crash on zero keypoints
