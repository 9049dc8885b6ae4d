"""Finding faces: face_recognition's HOG or CNN detector, or OpenCV's YuNet.

This module is the only place that knows face_recognition's box convention,
the (top, right, bottom, left) tuple ("css" order in its docs): `_css_to_box`
and `_box_to_css` convert, and everything outside speaks `Detection.box`
= (x1, y1, x2, y2) in ORIGINAL image pixels.

Detectors (`FaceOptions.detector`):

- "hog": dlib's HOG + linear SVM (face_recognition's default). ~0.25 s for a
  1280x720 image with upsample=1 on a laptop CPU core; frontal faces >= ~40 px.
- "cnn": dlib's MMOD CNN. More accurate (profiles, odd lighting), but ~27 s per
  720p frame on a CPU without CUDA, so it is never the default there.
- "yunet": OpenCV's YuNet (cv2.FaceDetectorYN); needs `yunet_model`, the path of
  face_detection_yunet_2023mar.onnx from OpenCV Zoo. Fast, finds small and
  turned faces, gives 5 landmarks of its own. `upsample` does not apply.
- "auto" (default): "cnn" when dlib was built with CUDA, else "hog".

Speed vs recall: `downscale=2` searches a half-size copy (about 4x faster, misses
faces below ~80 px in the original); `upsample` finds smaller faces at 4x the cost
per step. Images whose long side exceeds `max_side` (after `downscale`) are shrunk
further for the search, so a 100-megapixel scan works instead of exhausting memory;
landmarks and encodings are always computed on the full-resolution pixels.

Input arrays are made safe at the boundary (`prepare_pixels`): gray, RGBA,
16-bit, float, read-only and non-contiguous arrays are all accepted (dlib
silently finds nothing in a non-contiguous view, so this matters).
"""
from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vision_studio.core.results import Detection

DETECTORS = ("auto", "hog", "cnn", "yunet")
LANDMARK_MODELS = ("none", "68", "5")
MIN_SIDE = 8  # below this no detector can find a face; such images give [] at once
MAX_SEARCH_PIXELS = 160_000_000  # pixels the HOG/CNN pyramid may start from (after upsampling)

class FaceError(Exception):
    """Face analysis could not run (bad input, missing model, too large). One-line message."""


@dataclass(frozen=True)
class FaceOptions:
    """Everything that changes what the face pipeline finds. Defaults suit photos on a CPU.

    detector       "auto" | "hog" | "cnn" | "yunet" (see the module docstring)
    upsample       face_recognition's number_of_times_to_upsample (HOG/CNN): 1 finds faces
                   down to ~40 px, each step halves that and costs ~4x the time
    min_face_size  drop faces whose box is narrower or lower than this (original pixels)
    downscale      search a copy shrunk by this factor (>= 1); boxes come back in original pixels
    landmarks      "none", "68" (face_recognition.face_landmarks, large model: chin, eyebrows,
                   nose, eyes, lips) or "5" (small model: eyes, nose tip; YuNet's own 5 points
                   with the yunet detector: eyes, nose tip, mouth corners)
    yunet_model    path of the YuNet .onnx (needed for detector="yunet")
    yunet_score, yunet_nms, yunet_top_k   cv2.FaceDetectorYN thresholds (OpenCV Zoo defaults)
    max_side       the search copy's long side is capped at this (0 = no cap)
    tolerance      a face matches a person when its distance is <= this (face_recognition's 0.6)
    margin         ... and the next-best person is at least this much farther (see matching)
    num_jitters    face_recognition's re-sampling count for encodings (1 = fast)
    """

    detector: str = "auto"
    upsample: int = 1
    min_face_size: int = 0
    downscale: float = 1.0
    landmarks: str = "none"
    yunet_model: str | None = None
    yunet_score: float = 0.9
    yunet_nms: float = 0.3
    yunet_top_k: int = 5000
    max_side: int = 4096
    tolerance: float = 0.6
    margin: float = 0.03
    num_jitters: int = 1

    def __post_init__(self):
        if self.detector not in DETECTORS:
            raise ValueError(f"unknown face detector {self.detector!r} (use one of {', '.join(DETECTORS)})")
        landmarks = {"large": "68", "small": "5", None: "none", False: "none", True: "68"}.get(
            self.landmarks, str(self.landmarks))
        if landmarks not in LANDMARK_MODELS:
            raise ValueError(f"landmarks must be one of {', '.join(LANDMARK_MODELS)}, got {self.landmarks!r}")
        object.__setattr__(self, "landmarks", landmarks)
        if not (isinstance(self.upsample, int) and 0 <= self.upsample <= 4):
            raise ValueError(f"upsample must be an integer 0..4, got {self.upsample!r}")
        if not (math.isfinite(self.downscale) and self.downscale >= 1.0):
            raise ValueError(f"downscale must be >= 1 (2 = search a half-size copy), got {self.downscale!r}")
        if self.min_face_size < 0 or self.max_side < 0:
            raise ValueError("min_face_size and max_side must be >= 0")
        if not 0.0 < self.tolerance < 1.0:
            raise ValueError(f"tolerance must be between 0 and 1, got {self.tolerance!r}")
        if not 0.0 <= self.margin < 1.0:
            raise ValueError(f"margin must be between 0 and 1, got {self.margin!r}")
        if not 0.0 <= self.yunet_score <= 1.0 or not 0.0 <= self.yunet_nms <= 1.0 or self.yunet_top_k < 1:
            raise ValueError("yunet_score and yunet_nms must be in 0..1, yunet_top_k >= 1")
        if not (isinstance(self.num_jitters, int) and 1 <= self.num_jitters <= 100):
            raise ValueError(f"num_jitters must be an integer 1..100, got {self.num_jitters!r}")

    def resolved_detector(self) -> str:
        return default_detector() if self.detector == "auto" else self.detector


def default_detector() -> str:
    """"cnn" when dlib was compiled with CUDA, else "hog" (CNN on a CPU: ~27 s per 720p frame).
    FaceError when the face engine cannot start (nothing could detect faces then anyway)."""
    return "cnn" if face_engine().cuda else "hog"


def face_engine():
    """The face engine (dlib in a helper process, see core/faces/engine.py), started on first
    use; FaceError with one line when face_recognition is missing or cannot start."""
    from vision_studio.core.faces.engine import FaceEngineError, engine
    from vision_studio.core.thirdparty import MissingDependency, check_face_recognition

    try:
        check_face_recognition()  # here, at once: the same message as before the helper existed
        return engine()
    except (MissingDependency, FaceEngineError) as exc:
        raise FaceError(str(exc)) from None


# --------------------------------------------------------------------------- input

def prepare_pixels(pixels) -> np.ndarray:
    """Any image array -> RGB uint8 H x W x 3, C-contiguous (a no-copy pass when it already is).

    Gray and gray+alpha are expanded, alpha is composited over white, 16-bit is
    scaled, floats in 0..1 are scaled by 255 (others stretched), as in image_io.
    """
    from vision_studio.core.image_io import to_analysis_rgb

    arr = np.asarray(pixels)
    if arr.ndim not in (2, 3):
        raise FaceError(f"expected an image array (H x W or H x W x C), got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros((arr.shape[0], arr.shape[1], 3), np.uint8)
    if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3 and arr.flags.c_contiguous:
        return arr
    try:
        return to_analysis_rgb(arr)
    except MemoryError:
        raise FaceError(f"not enough memory to convert a {arr.shape[1]}x{arr.shape[0]} image") from None
    except (ValueError, TypeError) as exc:
        raise FaceError(f"unsupported image array ({arr.dtype}, shape {arr.shape}): {exc}") from None


# --------------------------------------------------------------------------- box conventions

def _css_to_box(css) -> tuple[float, float, float, float]:
    top, right, bottom, left = css
    return (float(left), float(top), float(right), float(bottom))


def _box_to_css(box) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    return (y1, x2, y2, x1)


def _trimmed(left, top, right, bottom, width, height) -> tuple[float, float, float, float]:
    """face_recognition's _trim_css_to_bounds, in box order."""
    return (float(max(left, 0)), float(max(top, 0)), float(min(right, width)), float(min(bottom, height)))


def box_of(face) -> tuple[float, float, float, float]:
    """A Detection's box, or a plain (x1, y1, x2, y2)."""
    box = face.box if isinstance(face, Detection) else face
    if box is None or len(box) != 4:
        raise FaceError(f"expected a face box (x1, y1, x2, y2), got {box!r}")
    return tuple(float(v) for v in box)


def boxes_to_face_locations(faces: Sequence) -> list[tuple[int, int, int, int]]:
    """Boxes (or Detections) -> face_recognition's known_face_locations (rounded to pixels)."""
    return [_box_to_css(box_of(f)) for f in faces]


# --------------------------------------------------------------------------- detectors

def _score_to_confidence(score: float) -> float:
    """dlib's HOG/MMOD score (0 = dlib's own threshold) -> 0..1, monotone: 1 - exp(-score)."""
    return float(min(1.0, max(0.0, 1.0 - math.exp(-max(0.0, score)))))


def _detect_dlib(img: np.ndarray, upsample: int, cnn: bool):
    eng = face_engine()
    found = eng.cnn(img, upsample) if cnn else eng.hog(img, upsample)
    h, w = img.shape[:2]
    return [(_trimmed(left, top, right, bottom, w, h), score, None) for left, top, right, bottom, score in found]


_YUNET_CACHE: dict[tuple, object] = {}
_YUNET_LOCK = threading.Lock()
# YuNet's points in its order, named as face_recognition names them (viewer's left/right).
_YUNET_POINTS = ("left_eye", "right_eye", "nose_tip", "mouth_left", "mouth_right")


def _detect_yunet(img: np.ndarray, options: FaceOptions):
    import cv2

    if not options.yunet_model:
        raise FaceError("the yunet detector needs a model file: set yunet_model to the path of "
                        "face_detection_yunet_2023mar.onnx (OpenCV Zoo)")
    model = Path(options.yunet_model)
    if not model.is_file():
        raise FaceError(f"{model}: YuNet model file not found")
    h, w = img.shape[:2]
    key = (str(model.resolve()), options.yunet_score, options.yunet_nms, options.yunet_top_k)
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    with _YUNET_LOCK:
        det = _YUNET_CACHE.get(key)
        if det is None:
            try:
                det = cv2.FaceDetectorYN.create(key[0], "", (w, h), options.yunet_score,
                                                options.yunet_nms, options.yunet_top_k)
            except cv2.error as exc:
                raise FaceError(f"{model}: cannot load the YuNet model ({_cv_reason(exc)})") from None
            _YUNET_CACHE[key] = det
        det.setInputSize((w, h))
        try:
            _, faces = det.detect(bgr)
        except cv2.error as exc:
            raise FaceError(f"YuNet failed on a {w}x{h} image ({_cv_reason(exc)})") from None
    out = []
    for row in (faces if faces is not None else ()):
        x, y, bw, bh = (float(v) for v in row[:4])
        box = _trimmed(x, y, x + bw, y + bh, w, h)
        if box[2] <= box[0] or box[3] <= box[1]:
            continue
        points = {name: [(float(row[4 + 2 * i]), float(row[5 + 2 * i]))] for i, name in enumerate(_YUNET_POINTS)}
        out.append((box, float(row[14]), points))
    return out


def _cv_reason(exc) -> str:
    text = str(exc).strip().splitlines()
    return text[-1].strip() if text else type(exc).__name__


# --------------------------------------------------------------------------- public

def detect_faces(pixels, options: FaceOptions | None = None) -> list[Detection]:
    """Faces in an image as Detection(kind="face", label="face"), boxes in original pixels.

    `confidence` is the detector's: YuNet's score, or 1 - exp(-score) for dlib's
    HOG/CNN scores (the raw score is in attributes["score"]). With
    options.landmarks, `landmarks` holds face_recognition-style named point lists.
    Order: the detector's own (for HOG/CNN the same as face_recognition.face_locations).
    """
    options = options or FaceOptions()
    img = prepare_pixels(pixels)
    h, w = img.shape[:2]
    if min(h, w) < MIN_SIDE:
        return []
    detector = options.resolved_detector()
    search, sx, sy = _search_copy(img, options)
    sh, sw = search.shape[:2]
    if detector != "yunet" and sw * sh * 4 ** options.upsample > MAX_SEARCH_PIXELS:
        raise FaceError(f"image too large to search for faces ({w}x{h} with upsample={options.upsample}); "
                        "use a larger downscale, a smaller max_side or less upsampling")
    try:
        if detector in ("hog", "cnn"):
            raw = _detect_dlib(search, options.upsample, cnn=detector == "cnn")
        else:
            raw = _detect_yunet(search, options)
    except MemoryError:
        raise FaceError(f"not enough memory to search a {sw}x{sh} image for faces") from None
    except RuntimeError as exc:  # dlib reports its failures as RuntimeError
        raise FaceError(f"the {detector} face detector failed: {' '.join(str(exc).split())[:200]}") from None

    faces = []
    for box, score, points in raw:
        x1, y1, x2, y2 = box
        if (sx, sy) != (1.0, 1.0):
            box = (x1 * sx, y1 * sy, x2 * sx, y2 * sy)
            if points:
                points = {k: [(x * sx, y * sy) for x, y in v] for k, v in points.items()}
        if min(box[2] - box[0], box[3] - box[1]) < max(1, options.min_face_size):
            continue
        confidence = score if detector == "yunet" else _score_to_confidence(score)
        faces.append(Detection(kind="face", label="face", confidence=confidence, box=box,
                               landmarks=points if options.landmarks == "5" else None,
                               attributes={"detector": detector, "score": round(score, 4)}))
    if options.landmarks != "none" and faces and not (detector == "yunet" and options.landmarks == "5"):
        faces = add_landmarks(img, faces, options.landmarks)
    return faces


def add_landmarks(pixels, faces: Sequence[Detection], model: str = "68") -> list[Detection]:
    """Copies of `faces` with face_recognition.face_landmarks points ("68" = large, "5" = small)."""
    if model not in ("68", "5"):
        raise ValueError(f"landmark model must be '68' or '5', got {model!r}")
    if not faces:
        return []
    img = prepare_pixels(pixels)
    try:
        found = face_engine().landmarks(img, boxes_to_face_locations(faces), "large" if model == "68" else "small")
    except MemoryError:
        raise FaceError("not enough memory to find face landmarks") from None
    except RuntimeError as exc:
        raise FaceError(f"face landmarks failed: {' '.join(str(exc).split())[:200]}") from None
    return [replace(f, landmarks={k: [(float(x), float(y)) for x, y in pts] for k, pts in lm.items()})
            for f, lm in zip(faces, found)]


def _search_copy(img: np.ndarray, options: FaceOptions) -> tuple[np.ndarray, float, float]:
    h, w = img.shape[:2]
    factor = options.downscale
    if options.max_side and max(h, w) / factor > options.max_side:
        factor = max(h, w) / options.max_side
    if factor <= 1.0:
        return img, 1.0, 1.0
    import cv2

    sw, sh = max(1, round(w / factor)), max(1, round(h / factor))
    try:
        small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
    except MemoryError:
        raise FaceError(f"not enough memory to shrink a {w}x{h} image") from None
    return np.ascontiguousarray(small), w / sw, h / sh
