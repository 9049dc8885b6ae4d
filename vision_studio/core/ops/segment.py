"""Segmentation and particle measurement (after Fiji's Analyze Particles).

Measured objects come back as `Detection(kind="region", label="object")` in
`OpResult.detections` and as rows of `OpResult.table`, with the same numbers:
  area          pixel count (holes excluded), in pixels² of the image the op ran on;
  x1, y1, x2, y2  bounding box in pixel-edge coordinates (x2 = last column + 1), as Detection.box;
  centroid      mean of the pixel centres, + 0.5 so it shares the box's pixel-edge coordinates
                (a pixel at column 5 spans 5..6 and has centre 5.5; Fiji reports the same);
  perimeter     length of the outer contour through the boundary pixel centres (cv2.arcLength;
                Fiji traces pixel edges instead: a 10 x 10 square is 36 here, 40 there);
  circularity   4 pi A / P² of that outer contour polygon (A its cv2.contourArea): 1 for a disc,
                0.785 for a square, 0 for objects without interior (lines, single pixels).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from vision_studio.core.ops.spec import OpResult, Param, cv2, op, to_gray, to_rgb
from vision_studio.core.results import Detection

_OBJECTS = (
    Param("threshold", "choice", "nonzero", choices=("nonzero", "otsu"),
          help="nonzero: every pixel > 0 is object (a binary mask from an earlier step); "
               "otsu: threshold the gray image automatically"),
    Param("invert", "bool", False, help="objects are the dark pixels (swap object and background)"),
)


def _binary(image: np.ndarray, threshold: str, invert: bool) -> np.ndarray:
    """The object mask (0 / 255) of a gray or colour image."""
    flag = cv2.THRESH_BINARY_INV if invert else cv2.THRESH_BINARY
    if threshold == "otsu":
        flag |= cv2.THRESH_OTSU
    return cv2.threshold(to_gray(image), 0, 255, flag)[1]


@op("kmeans_quantize", "K-means colour quantization", "Segment",
    Param("k", "int", 8, min=2, max=64, help="number of colours (clusters)"),
    Param("attempts", "int", 3, min=1, max=20, help="runs from different starts; the most compact wins"),
    Param("max_iter", "int", 10, min=1, max=300, label="Max iterations", help="iterations per attempt"),
    Param("seed", "int", 0, min=0, max=2**31 - 1, help="random seed: the same seed gives the same result"))
def kmeans_quantize(image: np.ndarray, k: int, attempts: int, max_iter: int, seed: int) -> np.ndarray:
    """Replace each pixel by the centre of its k-means cluster (cv2.kmeans, k-means++ starts)."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    data = image.reshape(-1, channels).astype(np.float32)
    cv2.setRNGSeed(seed)  # OpenCV's RNG is per thread: seeding here makes this call deterministic
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, max_iter, 1.0)
    _, labels, centers = cv2.kmeans(data, k, None, criteria, attempts, cv2.KMEANS_PP_CENTERS)
    palette = np.clip(np.rint(centers), 0, 255).astype(np.uint8)
    return palette[labels.ravel()].reshape(image.shape)


# ------------------------------------------------------------------ measurements

def measure(labels: np.ndarray, ids: np.ndarray, boxes: np.ndarray, areas: np.ndarray,
            centroids: np.ndarray) -> tuple[tuple[Detection, ...], tuple[dict[str, Any], ...]]:
    """Detections and table rows for the label values `ids` of a label image.

    boxes: N x 4 (x, y, w, h); areas: N; centroids: N x 2 in OpenCV's pixel-centre convention.
    """
    find, arc, poly, external, every = (cv2.findContours, cv2.arcLength, cv2.contourArea,
                                        cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)  # once, not per object
    detections, rows = [], []
    items = zip(ids.tolist(), boxes.tolist(), areas.tolist(), (centroids + 0.5).tolist(), strict=True)
    for n, (label, (x, y, w, h), area, (cx, cy)) in enumerate(items, 1):
        contours = find((labels[y:y + h, x:x + w] == label).view(np.uint8), external, every)[0]
        c = max(contours, key=len)  # one, unless a label is not 8-connected
        perimeter, poly_area = arc(c, True), poly(c)
        circularity = min(1.0, 4.0 * math.pi * poly_area / perimeter ** 2) if perimeter > 0 else 0.0
        x2, y2 = x + w, y + h
        detections.append(Detection(
            kind="region", label="object", box=(x, y, x2, y2),
            attributes={"id": n, "area": area, "perimeter": perimeter, "centroid": [cx, cy],
                        "circularity": circularity}))
        rows.append({"id": n, "area": area, "perimeter": perimeter, "centroid_x": cx, "centroid_y": cy,
                     "x1": x, "y1": y, "x2": x2, "y2": y2, "circularity": circularity})
    return tuple(detections), tuple(rows)


@op("analyze_particles", "Analyze particles", "Segment",
    *_OBJECTS,
    Param("min_area", "int", 0, min=0, max=10**9, help="smallest object kept, in pixels²"),
    Param("max_area", "int", 10**9, min=0, max=10**9, help="largest object kept, in pixels²"),
    Param("connectivity", "choice", "8", choices=("8", "4"),
          help="8: diagonal neighbours touch; 4: only edge neighbours"),
    Param("exclude_edges", "bool", False, help="drop objects that touch the image border"))
def analyze_particles(image: np.ndarray, threshold: str, invert: bool, min_area: int, max_area: int,
                      connectivity: str, exclude_edges: bool) -> OpResult:
    """Count and measure objects: area, perimeter, centroid, box, circularity (image unchanged)."""
    binary = _binary(image, threshold, invert)
    _, labels, stats, centroids = cv2.connectedComponentsWithStats(binary, connectivity=int(connectivity))
    x, y, w, h, area = (stats[:, i] for i in range(5))  # CC_STAT_LEFT, TOP, WIDTH, HEIGHT, AREA
    keep = (area >= min_area) & (area <= max_area)
    keep[0] = False  # label 0 is the background
    if exclude_edges:
        height, width = binary.shape
        keep &= (x > 0) & (y > 0) & (x + w < width) & (y + h < height)
    ids = np.flatnonzero(keep)
    detections, rows = measure(labels, ids, stats[ids, :4], area[ids], centroids[ids])
    return OpResult(image=image, detections=detections, table=rows)


# ------------------------------------------------------------------ watershed

def label_colors(n: int) -> np.ndarray:
    """n + 1 RGB colours: black for 0, then well-separated hues (golden-angle steps)."""
    if n == 0:
        return np.zeros((1, 3), np.uint8)
    hues = (np.arange(n) * 0.618033988749895 % 1.0 * 180).astype(np.uint8)
    hsv = np.stack([hues, np.full(n, 200, np.uint8), np.full(n, 255, np.uint8)], axis=-1)
    rgb = cv2.cvtColor(hsv.reshape(1, n, 3), cv2.COLOR_HSV2RGB).reshape(n, 3)
    return np.vstack([np.zeros((1, 3), np.uint8), rgb])


def watershed_labels(binary: np.ndarray, landscape: np.ndarray, open_iterations: int,
                     seed_fraction: float) -> np.ndarray:
    """Split the objects of a 0/255 mask where they narrow: int32 labels 1..n, 0 elsewhere.

    OpenCV's distance-transform recipe: seeds are the pixels farther from the background
    than seed_fraction x the largest distance in their blob (per blob rather than over the
    whole image, so every blob keeps a seed whatever its size); cv2.watershed grows them
    over `landscape` (the input image, as in OpenCV's tutorial; on a binary mask that is a
    flat flood, which meets halfway between seeds) within the mask. Objects are cut apart
    by lines of 0 that separate them also for 8-connectivity (Analyze particles sees them
    as separate); elsewhere every mask pixel keeps its object.
    """
    k3 = np.ones((3, 3), np.uint8)
    mask = cv2.morphologyEx(binary, cv2.MORPH_OPEN, k3, iterations=open_iterations) \
        if open_iterations else binary
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    n_blobs, blobs = cv2.connectedComponents(mask)
    blob_max = np.zeros(n_blobs, np.float32)
    np.maximum.at(blob_max, blobs.ravel(), dist.ravel())
    seeds = (dist > seed_fraction * np.take(blob_max, blobs)).view(np.uint8)
    markers = cv2.connectedComponents(seeds)[1] + 1  # background 1, seeds 2..
    flood = cv2.subtract(mask, seeds * np.uint8(255))  # 255: in the mask but not a seed
    markers = cv2.bitwise_and(markers, markers, mask=cv2.bitwise_not(flood))  # there 0: to be flooded
    # cv2.watershed makes the outermost pixel ring a dividing line: pad by one pixel so objects
    # touching the border keep their edge pixels, and crop the padding off at the end.
    padded = cv2.copyMakeBorder(markers, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1)
    cv2.watershed(cv2.copyMakeBorder(to_rgb(landscape), 1, 1, 1, 1, cv2.BORDER_REPLICATE), padded)
    labels = np.maximum(padded - 1, 0)  # objects 1..n; background and lines (-1) 0
    # The lines also run between each object and the background, over the object's edge
    # pixels: give a line pixel back when the objects among its 4 neighbours are just one.
    ys, xs = np.nonzero(padded[1:-1, 1:-1] == -1)
    ys, xs = ys + 1, xs + 1
    around = np.stack([labels[ys - 1, xs], labels[ys + 1, xs], labels[ys, xs - 1], labels[ys, xs + 1]])
    hi = around.max(axis=0)
    lo = np.where(around > 0, around, hi[None]).min(axis=0)
    one = (hi > 0) & (hi == lo)
    labels[ys[one], xs[one]] = hi[one]
    labels = np.ascontiguousarray(labels[1:-1, 1:-1])
    # The lines separate objects for 4-connectivity only (and two given-back pixels may touch):
    # where two objects still touch, also diagonally, drop the pixel of the higher label.
    lowest = cv2.erode(np.where(labels > 0, labels, 2**24).astype(np.float32), k3)  # exact below 2**24
    labels[lowest < labels] = 0
    return labels


def _label_stats(labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (x, y, w, h), areas and centroids (pixel-centre convention) of labels 1..n."""
    flat = labels.ravel()
    where = np.flatnonzero(flat)
    lab = flat[where]
    ys, xs = np.divmod(where, labels.shape[1])
    areas = np.bincount(lab, minlength=n + 1)[1:]
    safe = np.maximum(areas, 1)
    centroids = np.stack([np.bincount(lab, xs, n + 1)[1:] / safe, np.bincount(lab, ys, n + 1)[1:] / safe], 1)
    lo_x = np.full(n + 1, np.iinfo(np.int64).max)
    lo_y = lo_x.copy()
    hi_x = np.full(n + 1, -1)
    hi_y = hi_x.copy()
    np.minimum.at(lo_x, lab, xs)
    np.minimum.at(lo_y, lab, ys)
    np.maximum.at(hi_x, lab, xs)
    np.maximum.at(hi_y, lab, ys)
    boxes = np.stack([lo_x, lo_y, hi_x - lo_x + 1, hi_y - lo_y + 1], 1)[1:]
    return boxes, areas, centroids


@op("watershed", "Watershed split", "Segment",
    *_OBJECTS,
    Param("open_iterations", "int", 1, min=0, max=10,
          help="3 x 3 openings first, to remove specks (0: none)"),
    Param("seed_fraction", "float", 0.7, min=0.05, max=0.95, step=0.05,
          help="a blob is split where it narrows below this fraction of its widest part "
               "(seeds: distance to background > fraction x the blob's largest); lower splits less"),
    Param("output", "choice", "labels", choices=("labels", "mask"),
          help="labels: each object in its own colour; mask: binary objects, cut apart by 1-pixel lines"))
def watershed(image: np.ndarray, threshold: str, invert: bool, open_iterations: int,
              seed_fraction: float, output: str) -> OpResult:
    """Split touching objects (distance transform + seeds + cv2.watershed) and measure them."""
    labels = watershed_labels(_binary(image, threshold, invert), image, open_iterations, seed_fraction)
    n = int(labels.max())
    boxes, areas, centroids = _label_stats(labels, n)
    present = np.flatnonzero(areas)  # every seed keeps at least its own pixels, but be safe
    detections, rows = measure(labels, present + 1, boxes[present], areas[present], centroids[present])
    if output == "mask":
        out = (labels > 0).view(np.uint8) * 255
    else:
        out = label_colors(n)[labels]
    return OpResult(image=out, detections=detections, table=rows)
