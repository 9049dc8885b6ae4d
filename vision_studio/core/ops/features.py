"""Feature keypoints on gray (colour is converted first); the image passes through unchanged.

All keypoints of one call go into ONE `Detection(kind="keypoint")` (overlays stay cheap):
keypoints is N x 3 (x, y, response) in OpenCV's pixel-centre coordinates, and
attributes["count"] is N. No keypoints: no detection.
"""
from __future__ import annotations

import numpy as np

from vision_studio.core.ops.spec import OpResult, Param, cv2, op, to_gray
from vision_studio.core.results import Detection


def keypoint_array(keypoints) -> np.ndarray:
    """N x 3 float32 (x, y, response) from OpenCV KeyPoints."""
    return np.array([(k.pt[0], k.pt[1], k.response) for k in keypoints], np.float32).reshape(-1, 3)


def _result(image: np.ndarray, label: str, keypoints) -> OpResult:
    if not keypoints:
        return OpResult(image=image)
    det = Detection(kind="keypoint", label=label, keypoints=keypoint_array(keypoints),
                    attributes={"count": len(keypoints)})
    return OpResult(image=image, detections=(det,))


@op("orb_keypoints", "ORB keypoints", "Features",
    Param("n_features", "int", 500, min=1, max=100000, help="keep at most this many, strongest first"))
def orb_keypoints(image: np.ndarray, n_features: int) -> OpResult:
    """Fast binary-descriptor corners (cv2.ORB_create(...).detect)."""
    return _result(image, "ORB", cv2.ORB_create(nfeatures=n_features).detect(to_gray(image), None))


@op("sift_keypoints", "SIFT keypoints", "Features",
    Param("n_features", "int", 500, min=0, max=100000,
          help="keep at most this many, strongest first (0: all)"),
    Param("contrast_threshold", "float", 0.04, min=0, max=1, step=0.005,
          help="drop weak, low-contrast features; higher keeps fewer"))
def sift_keypoints(image: np.ndarray, n_features: int, contrast_threshold: float) -> OpResult:
    """Scale-invariant blob features (cv2.SIFT_create(...).detect)."""
    sift = cv2.SIFT_create(nfeatures=n_features, contrastThreshold=contrast_threshold)
    return _result(image, "SIFT", sift.detect(to_gray(image), None))
