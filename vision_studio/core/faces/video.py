"""Faces on a stream of frames (video files, webcams): detect, track, name — cheaply.

face_recognition's own video recipe runs `face_locations` + `face_encodings` on
every frame. The encoding is the expensive part (~70 ms per face on one CPU
core, against ~85 ms for a HOG search of a whole 640x480 frame), and a face
that stays on screen does not change who it is. So FaceVideoRecognizer:

1. searches for faces every `TrackOptions.detect_every` frames (and at once when
   the picture changed completely: a scene cut), on the downscaled copy that
   FaceOptions.downscale / max_side ask for;
2. follows each face between searches with sparse optical flow (Lucas-Kanade on
   a few corners inside the box: median shift and scale), and ties detections
   to tracks by IoU (greedy, highest first); a matched track's box is a blend
   of the detection and the flow prediction, which also smooths HOG's jitter;
3. encodes + matches a face only when its track is new, when its box changed a
   lot since the last encoding, after a scene cut, or every `recheck_every`
   frames (`recheck_unknown_every` for faces still Unknown). Encodings always
   use the detector's own box on the full-resolution frame, as in analyze_faces.

A named track keeps its name: a re-check that says another person renames it,
one that says "Unknown" only does so the second time in a row (one blurred frame
must not make a known face flicker to Unknown). A track the detector misses is
kept, moved by the flow, for `max_missed` searches, then dropped.

    rec = FaceVideoRecognizer(FaceOptions(downscale=2), matcher)  # matcher: Matcher or Gallery
    for frame in frames:                        # RGB arrays (anything prepare_pixels takes)
        faces = rec.process(frame)              # list[Detection], boxes in frame pixels
    rec.stats                                   # frames, searches, faces encoded
    rec.set_matcher(new_matcher)                # the gallery changed: name every face again
    rec.reset()                                 # a new stream: forget tracks, ids restart at 1

Each Detection: kind "face", identity (None without a matcher), distance,
confidence (the match's; the detector's without a matcher), track_id (stable
while the face is followed), attributes {"detector", "score", "tracked" (True on
frames bridged by the flow), "encoded" (True when encoded on this frame)}.
Landmarks, when FaceOptions.landmarks asks, are computed on every frame's boxes.

One instance per thread: it holds per-stream state and no lock of its own.
Measured in benchmarks/bench_faces.py (docs/benchmarks.md, "Faces on video"): with the
defaults and downscale 1, 4.5x face_recognition's loop at equal recall on a 640x480
video (24 encodings instead of 177). Downscale 2 doubles that again but loses faces
narrower than ~80 px (HOG at upsample 1 needs ~40 px in the searched copy): right for a
webcam at arm's length, wrong for group photos.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from vision_studio.core.faces.analyze import apply_match, matcher_for
from vision_studio.core.faces.detection import (
    MIN_SIDE,
    FaceOptions,
    add_landmarks,
    detect_faces,
    prepare_pixels,
)
from vision_studio.core.faces.encoding import encode_faces
from vision_studio.core.faces.matching import Match
from vision_studio.core.results import Detection

FLOW_MAX_SIDE = 640  # optical flow runs on a gray copy at most this large
MIN_FLOW_POINTS = 4  # fewer tracked corners than this: trust the box, search next frame
_CUT_THUMB = (32, 24)


@dataclass(frozen=True)
class TrackOptions:
    """How FaceVideoRecognizer trades work for latency. Defaults suit 640x480 at 15-30 fps.

    detect_every           search for faces every N frames (1 = every frame); new faces
                           appear within N-1 frames
    recheck_every          re-encode a named face every N frames (catches a swapped face)
    recheck_unknown_every  ... an Unknown face every N frames (it may turn to the camera)
    change_iou             re-encode when the box's IoU with the box last encoded drops below this
    min_iou                a detection continues a track when their IoU is at least this
    max_missed             searches a track may go unfound (moved by the flow) before it is dropped
    smoothing              weight of the new detection in a matched track's box (1 = no smoothing)
    cut_threshold          mean absolute difference (0..255) of 32x24 gray thumbnails above
                           which a frame is a scene cut: search, and re-encode every face
    """

    detect_every: int = 3
    recheck_every: int = 30
    recheck_unknown_every: int = 10
    change_iou: float = 0.5
    min_iou: float = 0.3
    max_missed: int = 1
    smoothing: float = 0.7
    cut_threshold: float = 15.0

    def __post_init__(self):
        for name in ("detect_every", "recheck_every", "recheck_unknown_every"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ValueError(f"{name} must be an integer >= 1, got {getattr(self, name)!r}")
        if not (isinstance(self.max_missed, int) and self.max_missed >= 0):
            raise ValueError(f"max_missed must be an integer >= 0, got {self.max_missed!r}")
        for name in ("change_iou", "min_iou"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)!r}")
        if not 0.0 < self.smoothing <= 1.0:
            raise ValueError(f"smoothing must be in (0, 1], got {self.smoothing!r}")
        if self.cut_threshold <= 0:
            raise ValueError(f"cut_threshold must be > 0, got {self.cut_threshold!r}")


@dataclass
class VideoStats:
    """Work done since the last reset(): what the benchmark and tests count."""

    frames: int = 0
    searches: int = 0  # detector runs
    cuts: int = 0  # frames taken for scene cuts
    faces_out: int = 0  # face boxes returned, summed over frames
    faces_encoded: int = 0  # 128-d encodings computed
    encode_calls: int = 0  # encode_faces calls (one per frame that encoded anything)


@dataclass
class _Track:
    track_id: int
    box: np.ndarray  # x1, y1, x2, y2 in frame pixels (smoothed)
    face: Detection  # the latest detection (its raw box, detector score)
    match: Match | None = None
    encoded_box: np.ndarray | None = None
    encoded_frame: int = -(10 ** 9)
    unknown_streak: int = 0
    missed: int = 0
    points: np.ndarray | None = field(default=None, repr=False)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in `a` (N x 4) with every box in `b` (M x 4), x1 y1 x2 y2."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def greedy_pairs(iou: np.ndarray, min_iou: float) -> list[tuple[int, int]]:
    """(row, col) pairs, highest IoU first, each row and column used once, IoU >= min_iou."""
    pairs, used_r, used_c = [], set(), set()
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        r, c = divmod(int(flat), iou.shape[1])
        if iou[r, c] < min_iou:
            break
        if r not in used_r and c not in used_c:
            pairs.append((r, c))
            used_r.add(r)
            used_c.add(c)
    return pairs


class FaceVideoRecognizer:
    """Named, tracked faces frame after frame (module docstring). One instance per thread."""

    def __init__(self, options: FaceOptions | None = None, matcher=None, tracking: TrackOptions | None = None):
        self.options = options or FaceOptions()
        self._search_options = replace(self.options, landmarks="none")  # landmarks: per frame, below
        self.matcher = None if matcher is None else matcher_for(matcher, self.options)
        self.tracking = tracking or TrackOptions()
        self.reset()

    def reset(self) -> None:
        """Start a new stream: no tracks, track ids from 1, stats zeroed."""
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._frame = -1
        self._last_search = -(10 ** 9)
        self._shape = None
        self._gray = None
        self._thumb = None
        self._force_search = True
        self.stats = VideoStats()

    def set_matcher(self, matcher) -> None:
        """Use another gallery state (someone was enrolled, renamed...): every face is named again
        at the next frame, the tracks and their ids stay."""
        self.matcher = None if matcher is None else matcher_for(matcher, self.options)
        for t in self._tracks:
            t.match, t.encoded_box, t.unknown_streak = None, None, 0
        self._force_search = True

    # ------------------------------------------------------------------ per frame

    def process(self, frame) -> list[Detection]:
        """Faces in this frame (boxes in its pixels), tracked from the previous frames."""
        img = prepare_pixels(frame)
        if img.shape != self._shape:
            self.reset()
            self._shape = img.shape
        self._frame += 1
        self.stats.frames += 1
        if min(img.shape[:2]) < MIN_SIDE:  # no face fits (an empty grab from a camera, say)
            return []
        gray, scale = self._flow_gray(img)
        cut = self._scene_cut(gray)
        if self._gray is not None and not cut:
            self._follow(self._gray, gray, scale)
        self._gray = gray
        searched = cut or self._force_search or self._frame - self._last_search >= self.tracking.detect_every
        encoded: set[int] = set()
        if searched:
            encoded = self._search(img, cut)
            self._force_search = False
        for t in self._tracks:
            t.points = self._corners(gray, t.box, scale)
            if t.points is None:
                self._force_search = True  # cannot follow it: look again next frame
        out = [self._output(t, searched, t.track_id in encoded) for t in self._tracks]
        if out and self.options.landmarks != "none":
            out = add_landmarks(img, out, self.options.landmarks)
        self.stats.faces_out += len(out)
        return out

    def _search(self, img: np.ndarray, cut: bool) -> set[int]:
        """Run the detector, tie its faces to tracks, encode what needs it; the ids encoded."""
        opts = self.tracking
        self._last_search = self._frame
        self.stats.searches += 1
        self.stats.cuts += int(cut)
        if cut:  # a new picture: old tracks cannot continue (their flow is meaningless)
            self._tracks = []
        faces = detect_faces(img, self._search_options)
        det_boxes = np.array([f.box for f in faces], np.float64).reshape(-1, 4)
        old = np.array([t.box for t in self._tracks], np.float64).reshape(-1, 4)
        pairs = greedy_pairs(iou_matrix(old, det_boxes), opts.min_iou) if len(old) and len(faces) else []
        matched_t = {r for r, _ in pairs}
        matched_d = {c for _, c in pairs}
        kept: list[_Track] = []
        for r, c in pairs:
            t = self._tracks[r]
            a = opts.smoothing
            t.box = a * det_boxes[c] + (1.0 - a) * t.box
            t.face, t.missed = faces[c], 0
            kept.append(t)
        for r, t in enumerate(self._tracks):
            if r not in matched_t:
                t.missed += 1
                if t.missed <= opts.max_missed:
                    kept.append(t)
        for c, face in enumerate(faces):
            if c not in matched_d:
                kept.append(_Track(self._next_id, det_boxes[c].copy(), face))
                self._next_id += 1
        self._tracks = sorted(kept, key=lambda t: t.track_id)
        return self._encode([t for t in self._tracks if t.missed == 0 and self._needs_encoding(t)], img)

    def _needs_encoding(self, t: _Track) -> bool:
        if self.matcher is None:
            return False
        if t.match is None or t.encoded_box is None:
            return True
        every = self.tracking.recheck_every if t.match.known else self.tracking.recheck_unknown_every
        if self._frame - t.encoded_frame >= every:
            return True
        raw = np.asarray(t.face.box, np.float64)
        return float(iou_matrix(raw, t.encoded_box)[0, 0]) < self.tracking.change_iou

    def _encode(self, tracks: list[_Track], img: np.ndarray) -> set[int]:
        if not tracks:
            return set()
        encodings = encode_faces(img, [t.face for t in tracks], num_jitters=self.options.num_jitters)
        self.stats.encode_calls += 1
        self.stats.faces_encoded += len(tracks)
        for t, match in zip(tracks, self.matcher.match_many(encodings)):
            t.encoded_box = np.asarray(t.face.box, np.float64)
            t.encoded_frame = self._frame
            previous = t.match
            if previous is not None and previous.known and not match.known:
                t.unknown_streak += 1
                if t.unknown_streak < 2:
                    continue  # keep the name: one bad look is not a different person
            t.unknown_streak = 0
            t.match = match
        return {t.track_id for t in tracks}

    def _output(self, t: _Track, searched: bool, encoded: bool) -> Detection:
        h, w = self._shape[:2]
        x1, y1, x2, y2 = (float(v) for v in np.clip(t.box, 0, [w, h, w, h]))
        face = replace(t.face, box=(x1, y1, x2, y2), track_id=t.track_id,
                       attributes={**t.face.attributes, "tracked": not searched or t.missed > 0,
                                   "encoded": encoded})
        return apply_match(face, t.match) if t.match is not None else face

    # ------------------------------------------------------------------ motion

    def _flow_gray(self, img: np.ndarray) -> tuple[np.ndarray, float]:
        import cv2

        h, w = img.shape[:2]
        scale = min(1.0, FLOW_MAX_SIDE / max(h, w))
        small = img if scale == 1.0 else cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))),
                                                    interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), scale

    def _scene_cut(self, gray: np.ndarray) -> bool:
        import cv2

        thumb = cv2.resize(gray, _CUT_THUMB, interpolation=cv2.INTER_AREA).astype(np.int16)
        previous, self._thumb = self._thumb, thumb
        if previous is None:
            return False
        return float(np.abs(thumb - previous).mean()) > self.tracking.cut_threshold

    def _corners(self, gray: np.ndarray, box: np.ndarray, scale: float) -> np.ndarray | None:
        """Up to 30 good corners inside the middle of `box` (flow-gray coordinates), or None."""
        import cv2

        x1, y1, x2, y2 = box * scale
        mx, my = (x2 - x1) * 0.15, (y2 - y1) * 0.15
        h, w = gray.shape
        c1, r1 = max(0, int(x1 + mx)), max(0, int(y1 + my))
        c2, r2 = min(w, int(x2 - mx)), min(h, int(y2 - my))
        if c2 - c1 < 4 or r2 - r1 < 4:
            return None
        pts = cv2.goodFeaturesToTrack(gray[r1:r2, c1:c2], 30, 0.01, 3)
        if pts is None or len(pts) < MIN_FLOW_POINTS:
            return None
        return (pts.reshape(-1, 2) + (c1, r1)).astype(np.float32)

    def _follow(self, prev: np.ndarray, gray: np.ndarray, scale: float) -> None:
        """Move every track's box by the median flow of its corners (shift and scale)."""
        import cv2

        for t in self._tracks:
            if t.points is None:
                continue
            p0 = t.points.reshape(-1, 1, 2)
            p1, status, _ = cv2.calcOpticalFlowPyrLK(prev, gray, p0, None, winSize=(15, 15), maxLevel=2)
            back, status_b, _ = cv2.calcOpticalFlowPyrLK(gray, prev, p1, None, winSize=(15, 15), maxLevel=2)
            ok = (status.reshape(-1) == 1) & (status_b.reshape(-1) == 1)
            ok &= np.linalg.norm((back - p0).reshape(-1, 2), axis=1) < 1.0  # forward-backward check
            if ok.sum() < MIN_FLOW_POINTS:
                self._force_search = True
                continue
            a, b = p0.reshape(-1, 2)[ok], p1.reshape(-1, 2)[ok]
            shift = np.median(b - a, axis=0) / scale
            da = np.linalg.norm(a - a.mean(axis=0), axis=1)
            db = np.linalg.norm(b - b.mean(axis=0), axis=1)
            good = da > 1.0
            zoom = float(np.clip(np.median(db[good] / da[good]), 0.8, 1.25)) if good.sum() >= 2 else 1.0
            cx, cy = (t.box[0] + t.box[2]) / 2 + shift[0], (t.box[1] + t.box[3]) / 2 + shift[1]
            hw, hh = (t.box[2] - t.box[0]) * zoom / 2, (t.box[3] - t.box[1]) * zoom / 2
            t.box = np.array([cx - hw, cy - hh, cx + hw, cy + hh])
