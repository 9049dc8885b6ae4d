"""128-d face encodings (dlib's ResNet, through face_recognition.face_encodings).

`encode_faces(pixels, faces)` gives exactly what
`face_recognition.face_encodings(image, known_face_locations, num_jitters, model)`
gives for the same image and boxes: the boxes are handed over in
face_recognition's own convention (see detection._box_to_css), rounded to
whole pixels. Two encodings of the same person are typically 0.3-0.5 apart
(euclidean), different people 0.7-1.0; 0.6 is face_recognition's threshold.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vision_studio.core.faces.detection import (
    FaceError,
    boxes_to_face_locations,
    face_engine,
    prepare_pixels,
)

ENCODING_SIZE = 128


def encode_faces(pixels, faces: Sequence, num_jitters: int = 1, model: str = "small") -> np.ndarray:
    """An N x 128 float64 array, one row per face (Detections or (x1, y1, x2, y2) boxes).

    `model` picks the landmark model used to align each face before encoding:
    "small" (5 points, face_recognition's default for encodings) or "large" (68).
    """
    if model not in ("small", "large"):
        raise ValueError(f"model must be 'small' or 'large', got {model!r}")
    if not faces:
        return np.empty((0, ENCODING_SIZE), np.float64)
    eng = face_engine()
    img = prepare_pixels(pixels)
    locations = boxes_to_face_locations(faces)
    try:
        found = eng.encodings(img, locations, int(num_jitters), model)
    except MemoryError:
        raise FaceError("not enough memory to encode faces") from None
    except RuntimeError as exc:
        raise FaceError(f"face encoding failed: {' '.join(str(exc).split())[:200]}") from None
    if not found:
        return np.empty((0, ENCODING_SIZE), np.float64)
    return np.asarray(found, dtype=np.float64).reshape(len(found), ENCODING_SIZE)


def check_encoding(encoding) -> np.ndarray:
    """One encoding as a finite float64 vector of ENCODING_SIZE, or ValueError."""
    enc = np.asarray(encoding, dtype=np.float64).reshape(-1)
    if enc.shape != (ENCODING_SIZE,):
        raise ValueError(f"a face encoding has {ENCODING_SIZE} numbers, got {enc.size}")
    if not np.isfinite(enc).all():
        raise ValueError("a face encoding must not contain NaN or infinity")
    return enc
