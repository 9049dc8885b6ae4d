"""core.faces.video: FaceVideoRecognizer names faces on a video, tracks them, encodes rarely.

The video is written with cv2.VideoWriter (MJPG) into tmp_path and read back: 640x480
frames of ../shared/testdata/faces/face_recognition photos, each letterboxed and held
for HOLD frames while it pans 2 px per frame (boxes move; every hold ends in a cut).
Obama and Biden are enrolled from knn_examples/train (other photos than the video's).
Without the shared faces the people tests are skipped with a reason; the tracking
tests then run on ultralytics' zidane.jpg and the pure helpers always run.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from vision_studio.core.faces import (
    FaceOptions,
    FaceVideoRecognizer,
    Matcher,
    TrackOptions,
    analyze_faces,
    detect_faces,
    encode_faces,
)
from vision_studio.core.faces.matching import Match
from vision_studio.core.faces.video import greedy_pairs, iou_matrix
from vision_studio.core.image_io import read_image

EX = Path(__file__).resolve().parents[1].parent / "shared" / "testdata" / "faces" / "face_recognition" / "examples"
W, H, HOLD = 640, 480, 15
SCENES = [("obama-480p.jpg", ["Obama"]), ("two_people.jpg", ["Obama", "Biden"]),
          ("lin-manuel-miranda.png", ["Unknown"]), ("biden.jpg", ["Biden"])]
HOG = FaceOptions(detector="hog")


def needs_faces():
    if not EX.is_dir():
        pytest.skip(f"needs the named test faces in {EX} (absent here)")


def letterbox(pixels: np.ndarray, dx: int = 0, dy: int = 0) -> np.ndarray:
    import cv2

    h, w = pixels.shape[:2]
    s = min(W * 0.85 / w, H * 0.85 / h)
    small = cv2.resize(pixels, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    frame = np.zeros((H, W, 3), np.uint8)
    y, x = (H - small.shape[0]) // 2 + dy, (W - small.shape[1]) // 2 + dx
    frame[y:y + small.shape[0], x:x + small.shape[1]] = small
    return frame


def write_video(path: Path, photos: list[np.ndarray]) -> Path:
    import cv2

    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (W, H))
    assert out.isOpened(), f"cannot write {path}"
    for photo in photos:
        for i in range(HOLD):
            out.write(np.ascontiguousarray(letterbox(photo, 2 * i - HOLD, i - HOLD // 2)[..., ::-1]))
    out.release()
    return path


def read_video(path: Path) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(bgr[..., ::-1]))
    cap.release()
    return frames


def rgb(path: Path) -> np.ndarray:
    return read_image(path).pixels


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> list[np.ndarray]:
    needs_faces()
    frames = read_video(write_video(tmp_path_factory.mktemp("video") / "faces.avi",
                                    [rgb(EX / name) for name, _ in SCENES]))
    assert len(frames) == HOLD * len(SCENES) and frames[0].shape == (H, W, 3)
    return frames


@pytest.fixture(scope="module")
def people() -> dict[str, np.ndarray]:
    """name -> encoding, each enrolled from one photo not in the video."""
    needs_faces()
    names, encodings = [], []
    train = EX / "knn_examples" / "train"
    for name, path in (("Obama", train / "obama" / "obama.jpg"), ("Biden", train / "biden" / "biden2.jpg")):
        pixels = rgb(path)
        faces = detect_faces(pixels, FaceOptions(detector="hog", max_side=1000))
        assert len(faces) == 1, path
        names.append(name)
        encodings.append(encode_faces(pixels, faces)[0])
    return dict(zip(names, encodings))


@pytest.fixture(scope="module")
def matcher(people) -> Matcher:
    return Matcher(list(people), np.array(list(people.values())))


@pytest.fixture(scope="module")
def run(video, matcher):
    """One pass of the default recognizer over the video: (per-frame detections, stats)."""
    rec = FaceVideoRecognizer(HOG, matcher)
    out = [rec.process(frame) for frame in video]
    return out, rec.stats


def scene_frames(out, n):
    return out[n * HOLD:(n + 1) * HOLD]


def test_names_on_every_frame(run):
    out, _ = run
    for n, (name, labels) in enumerate(SCENES):
        for i, faces in enumerate(scene_frames(out, n)):
            got = [f.identity for f in sorted(faces, key=lambda f: f.box[0])]
            assert got == labels, f"{name} frame {i}: {got}"
            assert all(f.kind == "face" and f.distance is not None and 0 <= f.confidence <= 1 for f in faces)
    unknown = scene_frames(out, 2)[7][0]
    assert unknown.distance > 0.6 and unknown.attributes["nearest"] == "Obama"  # near, but not him


def test_boxes_in_frame_pixels_and_names_match_the_per_frame_loop(run, video, matcher):
    out, _ = run
    for n in range(len(SCENES)):
        k = n * HOLD + 7
        direct = sorted(analyze_faces(video[k], HOG, matcher), key=lambda f: f.box[0])
        ours = sorted(out[k], key=lambda f: f.box[0])
        assert [f.identity for f in ours] == [f.identity for f in direct]
        ious = iou_matrix([f.box for f in ours], [f.box for f in direct]).diagonal()
        assert (ious > 0.6).all(), (SCENES[n][0], ious)


def test_track_ids_persist_within_a_hold_and_change_at_cuts(run):
    out, _ = run
    seen = set()
    for n, (name, labels) in enumerate(SCENES):
        ids = {f.track_id for faces in scene_frames(out, n) for f in faces}
        assert len(ids) == len(labels), (name, ids)
        assert not ids & seen, f"{name} reuses a track id of an earlier photo"
        seen |= ids
    obama_ids = [f.track_id for f in out[HOLD] + out[2 * HOLD - 1] if f.box[0] < W / 2]
    assert obama_ids[0] == obama_ids[1]


def test_encodes_far_fewer_faces_than_face_frames(run):
    out, stats = run
    face_frames = sum(len(labels) for _, labels in SCENES) * HOLD
    assert stats.frames == len(out) and stats.faces_out == face_frames
    assert len(SCENES) + 1 <= stats.faces_encoded <= face_frames // 5, stats  # every face once, few rechecks
    assert stats.cuts == len(SCENES) - 1
    assert stats.searches < stats.frames / 2  # detect_every 3 (+ the cuts)
    tracked = sum(f.attributes["tracked"] for faces in out for f in faces)
    assert tracked >= face_frames / 2  # most frames are bridged by the flow, not searched


def test_a_named_face_survives_one_unknown_recheck(video, matcher):
    rec = FaceVideoRecognizer(HOG, matcher, TrackOptions(detect_every=1, recheck_every=1, recheck_unknown_every=1))
    for frame in video[:3]:
        assert [f.identity for f in rec.process(frame)] == ["Obama"]
    real = rec.matcher

    class Blind:  # as if the next looks were too blurred to recognize
        def match_many(self, encodings):
            return [Match("Unknown", 0.7, 0.6, "Obama", None, "too far") for _ in encodings]

    rec.matcher = Blind()
    assert [f.identity for f in rec.process(video[3])] == ["Obama"]  # one bad look: keeps the name
    assert [f.identity for f in rec.process(video[4])] == ["Unknown"]  # the second: believed
    rec.matcher = real
    assert [f.identity for f in rec.process(video[5])] == ["Obama"]


def test_set_matcher_renames_faces_on_the_next_frame(video, matcher, people):
    rec = FaceVideoRecognizer(HOG, matcher)
    first = rec.process(video[HOLD])  # two_people: Obama, Biden
    assert sorted(f.identity for f in first) == ["Biden", "Obama"]
    rec.set_matcher(Matcher(["Biden"], [people["Biden"]]))
    after = rec.process(video[HOLD + 1])
    assert {f.track_id: f.identity for f in after} == {
        f.track_id: ("Biden" if f.identity == "Biden" else "Unknown") for f in first}
    assert all(f.attributes["encoded"] for f in after)
    rec.set_matcher(None)
    again = rec.process(video[HOLD + 2])  # detection and tracking only
    assert [f.track_id for f in again] == [f.track_id for f in after] and all(f.identity is None for f in again)


def test_landmarks_on_tracked_frames(video, matcher):
    rec = FaceVideoRecognizer(FaceOptions(detector="hog", landmarks="68"), matcher)
    frames = [rec.process(f) for f in video[:4]]
    assert [f[0].attributes["tracked"] for f in frames] == [False, True, True, False]
    for faces in frames:
        x1, y1, x2, y2 = faces[0].box
        pts = np.array(faces[0].landmarks["nose_tip"])
        assert ((pts[:, 0] > x1) & (pts[:, 0] < x2) & (pts[:, 1] > y1) & (pts[:, 1] < y2)).all()


@pytest.fixture(scope="module")
def plain_photo() -> np.ndarray:
    """A photo with a face HOG finds: two_people.jpg, else ultralytics' zidane.jpg."""
    if (EX / "two_people.jpg").is_file():
        return rgb(EX / "two_people.jpg")
    spec = importlib.util.find_spec("ultralytics")
    zidane = Path(spec.origin).parent / "assets" / "zidane.jpg" if spec and spec.origin else None
    if zidane is None or not zidane.is_file():
        pytest.fail(f"no face image: {EX} is missing and ultralytics (which ships zidane.jpg) is not installed")
    return rgb(zidane)


def test_tracks_without_a_matcher_reset_and_odd_frames(plain_photo):
    rec = FaceVideoRecognizer(HOG)
    frames = [letterbox(plain_photo, 2 * i, i) for i in range(6)]
    out = [rec.process(f) for f in frames]
    assert out[0] and all(len(o) == len(out[0]) for o in out)
    assert all(f.identity is None and f.track_id is not None for o in out for f in o)
    assert rec.stats.faces_encoded == 0
    first_ids = sorted(f.track_id for f in out[0])
    assert first_ids == list(range(1, len(out[0]) + 1))
    rec.reset()
    assert rec.stats.frames == 0
    gray = np.ascontiguousarray(frames[0].mean(axis=2).astype(np.uint8))
    assert sorted(f.track_id for f in rec.process(gray)) == first_ids  # ids restart; gray accepted
    rgba = np.dstack([frames[0], np.full((H, W), 255, np.uint8)])
    assert len(rec.process(rgba)) == len(out[0])
    small = letterbox(plain_photo)[::2, ::2]  # another size: a new stream
    assert all(f.box[2] <= W / 2 and f.box[3] <= H / 2 for f in rec.process(small))
    assert rec.process(np.zeros((H, W, 3), np.uint8)) == []
    assert rec.process(np.zeros((0, W, 3), np.uint8)) == []  # an empty grab: no faces, no error


def test_iou_helpers_and_options():
    iou = iou_matrix([(0, 0, 10, 10), (100, 100, 110, 110)], [(5, 0, 15, 10), (0, 0, 10, 10)])
    assert np.allclose(iou, [[1 / 3, 1.0], [0.0, 0.0]])
    assert greedy_pairs(iou, 0.3) == [(0, 1)]
    assert greedy_pairs(np.array([[0.5, 0.9], [0.8, 0.1]]), 0.3) == [(0, 1), (1, 0)]
    assert iou_matrix(np.empty((0, 4)), [(0, 0, 1, 1)]).shape == (0, 1)
    for bad in ({"detect_every": 0}, {"recheck_every": 1.5}, {"min_iou": 0}, {"smoothing": 2},
                {"max_missed": -1}, {"cut_threshold": 0}):
        with pytest.raises(ValueError):
            TrackOptions(**bad)
