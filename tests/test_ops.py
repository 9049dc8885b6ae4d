"""Pixel operations: each registered op gives exactly what the OpenCV / numpy call it wraps
gives (np.array_equal), runs with its defaults on RGB and gray input, and has a valid,
JSON-serializable parameter spec whose errors name the field."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision_studio.core.ops import CATEGORIES, REGISTRY, OpResult, ParamError, all_ops, get_op
from vision_studio.core.results import Detection

BUS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "images" / "bus.jpg"
SIZE = (160, 120)  # w, h: small, for speed


def _generated() -> np.ndarray:
    """A stand-in photo: gradients, shapes and noise (when ../shared/testdata is missing)."""
    w, h = SIZE
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) * 255 // (w + h)], -1).astype(np.uint8)
    cv2.circle(img, (50, 60), 25, (250, 30, 30), -1)
    cv2.rectangle(img, (95, 20), (140, 70), (20, 200, 60), -1)
    rng = np.random.default_rng(0)
    return cv2.add(img, rng.integers(0, 20, img.shape, dtype=np.uint8))


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    if BUS.is_file():
        bgr = cv2.imread(str(BUS), cv2.IMREAD_COLOR)
        return cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), SIZE, interpolation=cv2.INTER_AREA)
    print(f"{BUS} missing: using a generated image")
    return _generated()


@pytest.fixture(scope="module")
def gray(rgb) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


@pytest.fixture(params=["rgb", "gray"])
def image(request, rgb, gray) -> np.ndarray:
    return rgb if request.param == "rgb" else gray


def G(im):
    return im if im.ndim == 2 else cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)


def RGB(im):
    return im if im.ndim == 3 else cv2.cvtColor(im, cv2.COLOR_GRAY2RGB)


def _lut(values) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


LEVELS = np.arange(256, dtype=np.float64)


# ------------------------------------------------------------------ references

def ref_auto_contrast(im, low, high):
    s = np.sort(im.ravel())
    n = s.size
    lo = int(s[min(n - 1, int(np.floor(n * low / 100.0)))])
    hi = int(s[max(0, int(np.ceil(n * (1.0 - high / 100.0))) - 1)])
    return _lut((LEVELS - lo) * (255.0 / (hi - lo)))[im]


def ref_equalize(im):
    if im.ndim == 2:
        return cv2.equalizeHist(im)
    ycc = cv2.cvtColor(im, cv2.COLOR_RGB2YCrCb)
    ycc[:, :, 0] = cv2.equalizeHist(np.ascontiguousarray(ycc[:, :, 0]))
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


def ref_clahe(im, clip, tiles):
    c = cv2.createCLAHE(clip, (tiles, tiles))
    if im.ndim == 2:
        return c.apply(im)
    lab = cv2.cvtColor(im, cv2.COLOR_RGB2Lab)
    lab[:, :, 0] = c.apply(np.ascontiguousarray(lab[:, :, 0]))
    return cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)


def ref_gray_world(im):
    if im.ndim == 2:
        return im
    means = im.reshape(-1, 3).mean(axis=0)
    out = np.empty_like(im)
    for c in range(3):
        out[:, :, c] = _lut(LEVELS * (means.mean() / means[c]))[im[:, :, c]]
    return out


def ref_unsharp(im, amount, sigma, threshold):
    blurred = cv2.GaussianBlur(im, (0, 0), sigma)
    sharp = cv2.addWeighted(im, 1 + amount, blurred, -amount, 0)
    if threshold:
        sharp = np.where(np.abs(im.astype(int) - blurred) < threshold, im, sharp)
    return sharp


def ref_auto_canny(im, sigma):
    g = G(im)
    m = np.median(g)
    return cv2.Canny(g, int(max(0, (1 - sigma) * m)), int(min(255, (1 + sigma) * m)))


def ref_derivative(im, f, direction, **kw):
    g = G(im)
    if direction == "magnitude":
        return cv2.convertScaleAbs(cv2.magnitude(f(g, cv2.CV_32F, 1, 0, **kw), f(g, cv2.CV_32F, 0, 1, **kw)))
    dx, dy = (1, 0) if direction == "x" else (0, 1)
    return cv2.convertScaleAbs(f(g, cv2.CV_16S, dx, dy, **kw))


def ref_morph(im, op, shape, k, iterations):
    return cv2.morphologyEx(im, op, cv2.getStructuringElement(shape, (k, k)), iterations=iterations)


def ref_hsv_mask(im, lo, hi, output="mask"):
    h, s, v = cv2.split(cv2.cvtColor(RGB(im), cv2.COLOR_RGB2HSV))
    hue = (h >= lo[0]) & (h <= hi[0]) if lo[0] <= hi[0] else (h >= lo[0]) | (h <= hi[0])
    mask = hue & (s >= lo[1]) & (s <= hi[1]) & (v >= lo[2]) & (v <= hi[2])
    if output == "mask":
        return mask.astype(np.uint8) * 255
    return np.where(mask[..., None] if im.ndim == 3 else mask, im, 0).astype(np.uint8)


def ref_free_rotation(im, angle, expand, border):
    h, w = im.shape[:2]
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    nw, nh = (round(w * c + h * s), round(w * s + h * c)) if expand else (w, h)
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    m[0, 2] += (nw - w) / 2
    m[1, 2] += (nh - h) / 2
    fill = tuple(float(v) for v in border) if im.ndim == 3 else float(G(np.uint8([[border]]))[0, 0])
    return cv2.warpAffine(im, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=fill)


def ref_kmeans(im, k, attempts, max_iter, seed):
    data = im.reshape(-1, 1 if im.ndim == 2 else 3).astype(np.float32)
    cv2.setRNGSeed(seed)
    _, labels, centers = cv2.kmeans(data, k, None, (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER,
                                                     max_iter, 1.0), attempts, cv2.KMEANS_PP_CENTERS)
    return np.clip(np.rint(centers), 0, 255).astype(np.uint8)[labels.ravel()].reshape(im.shape)


_T = {"binary": cv2.THRESH_BINARY, "binary_inv": cv2.THRESH_BINARY_INV, "truncate": cv2.THRESH_TRUNC,
      "to_zero": cv2.THRESH_TOZERO, "to_zero_inv": cv2.THRESH_TOZERO_INV}
_MORPH = {"erode": cv2.MORPH_ERODE, "dilate": cv2.MORPH_DILATE, "open": cv2.MORPH_OPEN,
          "close": cv2.MORPH_CLOSE, "morph_gradient": cv2.MORPH_GRADIENT, "top_hat": cv2.MORPH_TOPHAT,
          "black_hat": cv2.MORPH_BLACKHAT}
_SHAPE = {"rect": cv2.MORPH_RECT, "ellipse": cv2.MORPH_ELLIPSE, "cross": cv2.MORPH_CROSS}
_ROT90 = {"90": 1, "180": 2, "270": 3}

# (op, params, reference(image) -> expected image)
CASES = [
    # Enhance
    ("brightness_contrast", dict(alpha=1.3, beta=20.0), lambda im: cv2.convertScaleAbs(im, alpha=1.3, beta=20)),
    ("brightness_contrast", dict(alpha=0.7, beta=-40.0), lambda im: cv2.addWeighted(im, 0.7, im, 0, -40)),
    ("brightness_contrast", dict(alpha=0.0, beta=-10.0), lambda im: np.zeros_like(im)),  # not |-10|
    ("gamma", dict(gamma=0.5), lambda im: _lut(255 * (LEVELS / 255) ** 0.5)[im]),
    ("gamma", dict(gamma=2.2), lambda im: _lut(255 * (LEVELS / 255) ** 2.2)[im]),
    ("auto_contrast", dict(low_percent=2.0, high_percent=1.0), lambda im: ref_auto_contrast(im, 2.0, 1.0)),
    ("auto_contrast", dict(low_percent=0.0, high_percent=0.0), lambda im: ref_auto_contrast(im, 0.0, 0.0)),
    ("equalize_hist", {}, ref_equalize),
    ("clahe", dict(clip_limit=3.0, tile_grid=4), lambda im: ref_clahe(im, 3.0, 4)),
    ("gray_world", {}, ref_gray_world),
    ("unsharp_mask", dict(amount=1.5, sigma=1.5, threshold=0), lambda im: ref_unsharp(im, 1.5, 1.5, 0)),
    ("unsharp_mask", dict(amount=0.8, sigma=3.0, threshold=8), lambda im: ref_unsharp(im, 0.8, 3.0, 8)),
    # Smooth (the existing module)
    ("gaussian_blur", dict(ksize=7, sigma=1.2), lambda im: cv2.GaussianBlur(im, (7, 7), 1.2)),
    ("median_blur", dict(ksize=5), lambda im: cv2.medianBlur(im, 5)),
    ("bilateral", dict(diameter=5, sigma_color=50.0, sigma_space=30.0),
     lambda im: cv2.bilateralFilter(im, 5, 50, 30)),
    ("box_blur", dict(ksize=4), lambda im: cv2.blur(im, (4, 4))),
    # Threshold
    *[("threshold", dict(value=100, mode=m, max_value=200), lambda im, m=m: cv2.threshold(G(im), 100, 200, _T[m])[1])
      for m in _T],
    ("otsu_threshold", dict(invert=False),
     lambda im: cv2.threshold(G(im), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]),
    ("otsu_threshold", dict(invert=True),
     lambda im: cv2.threshold(G(im), 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]),
    ("triangle_threshold", dict(invert=False),
     lambda im: cv2.threshold(G(im), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_TRIANGLE)[1]),
    ("adaptive_threshold", dict(method="mean", block_size=15, c=3.0, invert=False),
     lambda im: cv2.adaptiveThreshold(G(im), 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 15, 3)),
    ("adaptive_threshold", dict(method="gaussian", block_size=11, c=-2.0, invert=True),
     lambda im: cv2.adaptiveThreshold(G(im), 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY_INV, 11, -2)),
    # Edges
    ("canny", dict(low=50.0, high=150.0), lambda im: cv2.Canny(G(im), 50, 150)),
    ("canny", dict(low=80.0, high=160.0, aperture=5, l2gradient=True),
     lambda im: cv2.Canny(G(im), 80, 160, apertureSize=5, L2gradient=True)),
    ("canny", dict(auto=True, sigma=0.33), lambda im: ref_auto_canny(im, 0.33)),
    ("canny", dict(auto=True, sigma=0.6), lambda im: ref_auto_canny(im, 0.6)),
    *[("sobel", dict(direction=d, ksize=k), lambda im, d=d, k=k: ref_derivative(im, cv2.Sobel, d, ksize=k))
      for d in ("x", "y", "magnitude") for k in (1, 3, 5)],
    ("sobel", dict(direction="x", ksize=3, scale=0.25),
     lambda im: cv2.convertScaleAbs(cv2.Sobel(G(im), cv2.CV_16S, 1, 0, ksize=3), alpha=0.25)),
    *[("scharr", dict(direction=d), lambda im, d=d: ref_derivative(im, cv2.Scharr, d))
      for d in ("x", "y", "magnitude")],
    ("laplacian", dict(ksize=1), lambda im: cv2.convertScaleAbs(cv2.Laplacian(G(im), cv2.CV_16S, ksize=1))),
    ("laplacian", dict(ksize=5, scale=0.5),
     lambda im: cv2.convertScaleAbs(cv2.Laplacian(G(im), cv2.CV_16S, ksize=5), alpha=0.5)),
    # Morphology: every op, with morphologyEx as the reference (also for erode / dilate)
    *[(name, dict(shape=s, ksize=k, iterations=i),
       lambda im, o=o, s=s, k=k, i=i: ref_morph(im, o, _SHAPE[s], k, i))
      for name, o in _MORPH.items() for s, k, i in (("rect", 3, 1), ("ellipse", 5, 2), ("cross", 7, 1))],
    # Color
    ("grayscale", {}, G),
    ("invert", {}, lambda im: 255 - im),
    *[("channel_extract", dict(space=sp, channel=ch),
       lambda im, code=code, ch=ch: (RGB(im) if code is None else cv2.cvtColor(RGB(im), code))[:, :, ch])
      for sp, code in (("rgb", None), ("hsv", cv2.COLOR_RGB2HSV), ("lab", cv2.COLOR_RGB2Lab)) for ch in (0, 2)],
    ("hsv_range_mask", dict(h_low=10, h_high=40, s_low=30, s_high=255, v_low=20, v_high=250),
     lambda im: ref_hsv_mask(im, (10, 30, 20), (40, 255, 250))),
    ("hsv_range_mask", dict(h_low=160, h_high=20, s_low=0, s_high=255, v_low=0, v_high=255),
     lambda im: ref_hsv_mask(im, (160, 0, 0), (20, 255, 255))),
    ("hsv_range_mask", dict(h_low=90, h_high=130, s_low=40, v_low=40, output="masked"),
     lambda im: ref_hsv_mask(im, (90, 40, 40), (130, 255, 255), "masked")),
    # Geometry
    ("resize", dict(mode="scale", scale=0.5, interpolation="area"),
     lambda im: cv2.resize(im, (80, 60), interpolation=cv2.INTER_AREA)),
    ("resize", dict(mode="size", width=100, height=100, keep_aspect=True, interpolation="cubic"),
     lambda im: cv2.resize(im, (100, 75), interpolation=cv2.INTER_CUBIC)),
    ("resize", dict(mode="size", width=50, height=90, keep_aspect=False, interpolation="nearest"),
     lambda im: cv2.resize(im, (50, 90), interpolation=cv2.INTER_NEAREST)),
    ("resize", dict(mode="scale", scale=2.0, interpolation="lanczos"),
     lambda im: cv2.resize(im, (320, 240), interpolation=cv2.INTER_LANCZOS4)),
    *[("rotate", dict(rotation=r), lambda im, k=k: np.rot90(im, k)) for r, k in _ROT90.items()],
    ("rotate", dict(rotation="free", angle=0.0), lambda im: im),
    ("rotate", dict(rotation="free", angle=90.0, expand=True), lambda im: np.rot90(im, 1)),
    ("rotate", dict(rotation="free", angle=-90.0, expand=True), lambda im: np.rot90(im, 3)),
    ("rotate", dict(rotation="free", angle=30.0, expand=True, border=[255, 0, 0]),
     lambda im: ref_free_rotation(im, 30.0, True, (255, 0, 0))),
    ("rotate", dict(rotation="free", angle=-12.5, expand=False, border=[10, 200, 30]),
     lambda im: ref_free_rotation(im, -12.5, False, (10, 200, 30))),
    ("flip", dict(direction="horizontal"), lambda im: im[:, ::-1]),
    ("flip", dict(direction="vertical"), lambda im: im[::-1]),
    ("flip", dict(direction="both"), lambda im: im[::-1, ::-1]),
    ("crop", dict(rect=[10, 20, 50, 40]), lambda im: im[20:60, 10:60]),
    ("crop", dict(rect=[100, 90, 500, 500]), lambda im: im[90:, 100:]),  # clipped to the image
    # Segment
    ("kmeans_quantize", dict(k=4, attempts=2, max_iter=10, seed=7), lambda im: ref_kmeans(im, 4, 2, 10, 7)),
    ("kmeans_quantize", {}, lambda im: ref_kmeans(im, 8, 3, 10, 0)),
]


def _case_id(case):
    name, params, _ = case
    return name + ("-" + "-".join(f"{k}={v}" for k, v in params.items()) if params else "")


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_op_output_equals_the_call_it_wraps(case, image):
    name, params, reference = case
    result = get_op(name)(image, **params)
    expected = reference(image)
    assert isinstance(result, OpResult)
    assert result.image.dtype == np.uint8
    assert result.image.shape == expected.shape
    assert np.array_equal(result.image, expected)


def test_every_op_has_an_exactness_case():
    measured = {"analyze_particles", "watershed", "orb_keypoints", "sift_keypoints", "nl_means"}
    covered = {c[0] for c in CASES} | measured  # those get their own tests below
    assert covered == set(REGISTRY), set(REGISTRY) ^ covered


def test_nl_means_equals_opencv(rgb):
    tiny = np.ascontiguousarray(rgb[40:72, 60:100])
    spec = get_op("nl_means")
    assert np.array_equal(spec(tiny, strength=8.0, template_size=5, search_size=11).image,
                          cv2.fastNlMeansDenoisingColored(tiny, None, 8, 8, 5, 11))
    g = G(tiny)
    assert np.array_equal(spec(g, strength=8.0, template_size=5, search_size=11).image,
                          cv2.fastNlMeansDenoising(g, None, 8, 5, 11))


def test_brightness_matches_convert_scale_abs_where_that_is_correct(rgb):
    """cv2.convertScaleAbs mirrors negative results (|-30| = 30); for beta >= 0 it is our output."""
    spec = get_op("brightness_contrast")
    for alpha, beta in ((0.5, 0.0), (1.0, 35.0), (2.5, 7.5)):
        assert np.array_equal(spec(rgb, alpha=alpha, beta=beta).image,
                              cv2.convertScaleAbs(rgb, alpha=alpha, beta=beta))
    dark = np.full((2, 2), 20, np.uint8)
    assert cv2.convertScaleAbs(dark, alpha=1.0, beta=-50)[0, 0] == 30
    assert spec(dark, alpha=1.0, beta=-50.0).image[0, 0] == 0


def test_auto_contrast_stretches_to_full_range(gray):
    out = get_op("auto_contrast")(gray, low_percent=0.0, high_percent=0.0).image
    assert out.min() == 0 and out.max() == 255
    flat = np.full((8, 8), 77, np.uint8)
    assert np.array_equal(get_op("auto_contrast")(flat).image, flat)


# ------------------------------------------------------------------ measuring ops

def _blobs() -> np.ndarray:
    m = np.zeros((60, 80), np.uint8)
    m[5:15, 5:15] = 255  # a 10 x 10 square
    cv2.circle(m, (50, 30), 12, 255, -1)  # a disc
    m[40, 10] = m[41, 11] = 255  # two diagonal pixels: 1 object at 8-, 2 at 4-connectivity
    m[50:60, 70:80] = 255  # touches the border
    return m


def test_analyze_particles_matches_connected_components(rgb, gray):
    for im in (rgb, gray):
        binary = cv2.threshold(G(im), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
        n, _, stats, centroids = cv2.connectedComponentsWithStats(binary, connectivity=8)
        result = get_op("analyze_particles")(im, threshold="otsu", min_area=5)
        assert result.image is im  # unchanged
        keep = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 5]
        assert len(result.table) == len(result.detections) == len(keep) > 0
        for row, det, i in zip(result.table, result.detections, keep):
            x, y, w, h, area = stats[i]
            assert row["area"] == area == det.attributes["area"]
            assert (row["x1"], row["y1"], row["x2"], row["y2"]) == (x, y, x + w, y + h)
            assert det.box == (x, y, x + w, y + h)
            assert row["centroid_x"] == pytest.approx(centroids[i, 0] + 0.5)
            assert row["centroid_y"] == pytest.approx(centroids[i, 1] + 0.5)
            assert det.attributes["centroid"] == [row["centroid_x"], row["centroid_y"]]
            assert 0.0 <= row["circularity"] <= 1.0 and row["perimeter"] > 0
        # the same through threshold="nonzero" on the binary mask
        again = get_op("analyze_particles")(binary, min_area=5)
        assert again.table == result.table


def test_analyze_particles_measures_like_fiji():
    m = _blobs()
    spec = get_op("analyze_particles")
    rows = spec(m).table
    assert [r["id"] for r in rows] == [1, 2, 3, 4]
    square = rows[0]
    assert square["area"] == 100 and (square["x1"], square["y1"], square["x2"], square["y2"]) == (5, 5, 15, 15)
    assert (square["centroid_x"], square["centroid_y"]) == (10.0, 10.0)  # pixel-edge coordinates
    assert square["perimeter"] == pytest.approx(36.0)  # through the boundary pixel centres
    assert square["circularity"] == pytest.approx(math.pi / 4)
    disc = max(rows, key=lambda r: r["area"])
    assert 0.8 < disc["circularity"] < 1.0 and disc["circularity"] > square["circularity"]
    assert len(spec(m, connectivity="4").table) == 5  # the diagonal pair splits
    assert len(spec(m, exclude_edges=True).table) == 3
    assert [r["area"] for r in spec(m, min_area=50, max_area=200).table] == [100, 100]
    inverted = spec(cv2.bitwise_not(m), invert=True).table
    assert inverted == rows
    assert spec(np.zeros((20, 20), np.uint8)).table == ()
    for det in spec(m).detections:
        assert det.kind == "region" and det.label == "object" and det.mask is None
    json.dumps([d.to_dict() for d in spec(m).detections])
    json.dumps(rows)


def _touching_discs() -> np.ndarray:
    m = np.zeros((80, 130), np.uint8)
    cv2.circle(m, (40, 40), 25, 255, -1)
    cv2.circle(m, (80, 40), 25, 255, -1)
    cv2.circle(m, (118, 70), 4, 255, -1)  # a small separate one keeps its own seed
    return m


def test_watershed_splits_touching_objects():
    m = _touching_discs()
    assert len(get_op("analyze_particles")(m).table) == 2
    spec = get_op("watershed")
    result = spec(m, open_iterations=0, output="mask")
    assert len(result.table) == len(result.detections) == 3
    big = sorted(result.table, key=lambda r: -r["area"])[:2]
    assert big[0]["area"] == big[1]["area"]  # split halfway
    assert big[0]["x2"] <= 61 <= big[1]["x1"] or big[1]["x2"] <= 61 <= big[0]["x1"]
    out = result.image
    assert out.dtype == np.uint8 and out.shape == m.shape and set(np.unique(out)) == {0, 255}
    assert not np.any(out[m == 0])  # objects stay inside the mask
    cut = (m > 0) & (out == 0)
    assert 0 < cut.sum() <= 60  # only the 1-pixel line between the two discs
    assert sum(r["area"] for r in result.table) == int((out > 0).sum())
    rows = spec(m, open_iterations=0, output="labels")
    assert rows.image.shape == (*m.shape, 3) and rows.image.dtype == np.uint8
    assert np.array_equal(rows.image.any(axis=2), out > 0)
    assert rows.table == result.table
    assert all(d.kind == "region" and d.label == "object" for d in rows.detections)
    json.dumps(list(rows.table))


def test_watershed_mask_separates_objects_for_analyze_particles(rgb):
    """Watershed, then Analyze particles on its mask (the Fiji workflow): same objects."""
    result = get_op("watershed")(rgb, threshold="otsu", output="mask")
    assert len(result.table) > 10
    again = get_op("analyze_particles")(result.image, connectivity="8")
    assert sorted(r["area"] for r in again.table) == sorted(r["area"] for r in result.table)
    binary = cv2.threshold(G(rgb), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    assert not np.any(result.image[binary == 0])


def test_watershed_objects_touching_the_border_keep_their_edge():
    full = np.full((30, 40), 255, np.uint8)
    (row,) = get_op("watershed")(full).table
    assert row["area"] == 30 * 40 and (row["x1"], row["y1"], row["x2"], row["y2"]) == (0, 0, 40, 30)
    assert get_op("watershed")(np.zeros((30, 40), np.uint8)).table == ()


def test_kmeans_is_deterministic_across_calls_and_threads(rgb):
    spec = get_op("kmeans_quantize")
    first = spec(rgb, k=5, seed=3).image
    assert np.array_equal(first, spec(rgb, k=5, seed=3).image)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("image", spec(rgb, k=5, seed=3).image))
    t.start()
    t.join()
    assert np.array_equal(first, out["image"])
    assert len(np.unique(first.reshape(-1, 3), axis=0)) <= 5


@pytest.mark.parametrize("name, make", [("orb_keypoints", lambda n: cv2.ORB_create(nfeatures=n)),
                                        ("sift_keypoints", lambda n: cv2.SIFT_create(nfeatures=n))])
def test_keypoints_match_opencv(name, make, image):
    result = get_op(name)(image, n_features=200)
    assert result.image is image
    kps = make(200).detect(G(image), None)
    (det,) = result.detections
    assert isinstance(det, Detection) and det.kind == "keypoint"
    assert det.label == name.split("_")[0].upper()
    assert det.attributes == {"count": len(kps)} and det.keypoints.shape == (len(kps), 3)
    expected = np.array([(k.pt[0], k.pt[1], k.response) for k in kps], np.float32)
    assert np.array_equal(det.keypoints, expected)
    json.dumps(det.to_dict())
    flat = np.full((64, 64), 128, np.uint8)
    assert get_op(name)(flat).detections == ()


# ------------------------------------------------------------------ every op, every param

@pytest.mark.parametrize("spec", all_ops(), ids=lambda s: s.name)
def test_every_op_runs_with_defaults(spec, rgb, gray):
    for im in (rgb, gray):
        before = im.copy()
        tiny = spec.name == "nl_means"
        src = np.ascontiguousarray(im[:32, :40]) if tiny else im
        result = spec(src)
        assert isinstance(result, OpResult)
        out = result.image
        assert out.dtype == np.uint8
        assert out.ndim == 2 or (out.ndim == 3 and out.shape[2] == 3)
        if spec.category != "Geometry":
            assert out.shape[:2] == src.shape[:2]
        assert out.size > 0
        assert np.array_equal(im, before), "ops must not modify their input"
        for det in result.detections:
            json.dumps(det.to_dict())
        json.dumps(list(result.table))


def test_geometry_defaults_have_the_expected_shape(rgb):
    assert get_op("resize")(rgb).image.shape == (60, 80, 3)
    assert get_op("rotate")(rgb).image.shape == (160, 120, 3)
    assert get_op("flip")(rgb).image.shape == rgb.shape
    assert get_op("crop")(rgb).image.shape == rgb.shape  # default 256 x 256, clipped


@pytest.mark.parametrize("spec", all_ops(), ids=lambda s: s.name)
def test_spec_is_complete_and_json_serializable(spec):
    assert spec.category in CATEGORIES
    assert spec.title and spec.help
    d = json.loads(json.dumps(spec.to_dict()))
    assert d["op"] == spec.name and len(d["params"]) == len(spec.params)
    assert spec.validate({}) == spec.defaults()
    for p in spec.params:
        assert p.help, f"{spec.name}.{p.name} has no help"
        value = p.validate(p.default)
        assert value == (tuple(p.default) if p.type in ("rect", "color") else p.default)
        if p.type in ("int", "float"):
            assert p.min is not None and p.max is not None, f"{spec.name}.{p.name} needs a range"
        if p.type == "choice":
            assert p.default in p.choices


def _bad_values(p):
    wrong_type = {"int": "seven", "float": "x", "bool": 1, "choice": "no-such-choice",
                  "rect": [1, 2, 3], "color": [300, 0, 0]}[p.type]
    bad = [wrong_type]
    if p.type in ("int", "float"):
        bad += [p.min - 1, p.max + 1, None, True]
        if p.type == "int":
            bad.append(p.default + 0.5)
        if p.odd:
            bad.append(p.default + 1 if p.default + 1 <= p.max else p.default - 1)
    if p.type == "rect":
        bad += [[-1, 0, 5, 5], "0,0,5,5"]
    return bad


PARAMS = [(s, p) for s in all_ops() for p in s.params]


@pytest.mark.parametrize("spec, param", PARAMS, ids=[f"{s.name}.{p.name}" for s, p in PARAMS])
def test_bad_values_raise_param_error_naming_the_field(spec, param, gray):
    for bad in _bad_values(param):
        with pytest.raises(ParamError) as err:
            spec(gray, **{param.name: bad})
        assert err.value.field == param.name
        assert str(err.value).startswith(f"{param.name}: ")


def test_unknown_parameter_is_named(gray):
    with pytest.raises(ParamError) as err:
        get_op("gaussian_blur")(gray, radius=3)
    assert err.value.field == "radius"


def test_crop_empty_rect_is_an_error_naming_the_field(rgb):
    crop = get_op("crop")
    for rect in ([0, 0, 0, 10], [5, 5, 10, 0], [500, 0, 10, 10], [0, 120, 10, 10]):
        with pytest.raises(ParamError) as err:
            crop(rgb, rect=rect)
        assert err.value.field == "rect"


def test_morphology_operations_are_separate_steps():
    for name in _MORPH:
        assert get_op(name).category == "Morphology"
    assert [p.name for p in get_op("erode").params] == ["shape", "ksize", "iterations"]


def test_categories_are_all_populated():
    assert {s.category for s in all_ops()} == set(CATEGORIES)
    assert [s.category for s in all_ops()] == sorted((s.category for s in all_ops()), key=CATEGORIES.index)


def test_kernel_and_length_params_are_flagged():
    assert get_op("adaptive_threshold").param("block_size").odd
    assert get_op("adaptive_threshold").param("block_size").pixels
    for name in _MORPH:
        p = get_op(name).param("ksize")
        assert p.odd and p.pixels
    assert get_op("unsharp_mask").param("sigma").pixels
    assert get_op("crop").param("rect").pixels
    assert get_op("resize").param("width").pixels and not get_op("resize").param("scale").pixels
    assert not get_op("analyze_particles").param("min_area").pixels  # an area, not a length


def test_importing_the_ops_does_not_import_cv2():
    code = ("import sys, vision_studio.core.ops as o; assert len(o.REGISTRY) > 30; "
            "print('cv2' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
