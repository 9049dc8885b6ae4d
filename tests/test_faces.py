"""vision_studio.core.faces: detection, encodings, gallery, matching, clustering, anonymizing.

Real faces come from ../shared/testdata/faces/face_recognition (see its README).
Without that folder the generic tests run on zidane.jpg, which the ultralytics
wheel ships (one face for HOG), and the tests that need particular people
(Obama, Biden, ...) are skipped with a reason that says so. Big photos are
shrunk before detection: HOG costs ~0.25 s per 720p image on this CPU.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vision_studio.core.faces import (
    Cluster,
    FaceError,
    FaceOptions,
    FaceSample,
    Gallery,
    GalleryError,
    Matcher,
    add_landmarks,
    analyze_faces,
    analyze_faces_with_encodings,
    anonymize,
    cluster_encodings,
    cluster_faces,
    default_gallery_path,
    detect_faces,
    distance_confidence,
    encode_faces,
    enroll_cluster,
    export_gallery,
    face_thumbnail,
    import_gallery,
)
from vision_studio.core.image_io import read_image
from vision_studio.core.results import Detection

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "testdata"
FACES = SHARED / "faces" / "face_recognition"
EX = FACES / "examples"
YUNET = SHARED / "models" / "face_detection_yunet_2023mar.onnx"
HOG = FaceOptions(detector="hog")


def shrink(pixels: np.ndarray, max_side: int) -> np.ndarray:
    im = Image.fromarray(np.asarray(pixels))
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.ascontiguousarray(np.asarray(im))


def load(rel: str, max_side: int | None = None) -> np.ndarray:
    pixels = read_image(FACES / rel).pixels
    return shrink(pixels, max_side) if max_side else pixels


def needs_faces():
    if not FACES.is_dir():
        pytest.skip(f"needs the named test faces in {FACES} (absent here; the generic face tests "
                    "ran on ultralytics' zidane.jpg instead)")


@pytest.fixture(scope="session")
def fr():
    from vision_studio.core.thirdparty import import_face_recognition

    return import_face_recognition()


@pytest.fixture(scope="session")
def face_image() -> np.ndarray:
    """An RGB photo with at least one face HOG finds: two_people.jpg, else ultralytics' zidane.jpg."""
    if (EX / "two_people.jpg").is_file():
        return load("examples/two_people.jpg", 640)
    spec = importlib.util.find_spec("ultralytics")  # where its wheel keeps ASSETS, without importing it
    zidane = Path(spec.origin).parent / "assets" / "zidane.jpg" if spec and spec.origin else None
    if zidane is None or not zidane.is_file():
        pytest.fail(f"no face image: {FACES} is missing and ultralytics (which ships "
                    "assets/zidane.jpg) is not installed")
    print(f"face tests use {zidane} ({FACES} is missing)")
    return read_image(zidane).pixels


@pytest.fixture(scope="session")
def people():
    """Encodings from the shared faces: Obama and Biden enrolled from one photo each."""
    needs_faces()
    out = {}
    for name, rel in (("Obama", "examples/knn_examples/train/obama/obama.jpg"),
                      ("Biden", "examples/knn_examples/train/biden/biden2.jpg")):
        pixels = load(rel, 600)
        found = analyze_faces_with_encodings(pixels, HOG)
        assert len(found) == 1, rel
        out[name] = (found[0][1], face_thumbnail(pixels, found[0][0].box), rel)
    return out


@pytest.fixture
def gallery(tmp_path, people):
    with Gallery(tmp_path / "g" / "faces.sqlite") as g:
        for name, (enc, thumb, src) in people.items():
            g.enroll(name, enc, thumb, src)
        yield g


def random_encodings(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(n, 128))
    return e / np.linalg.norm(e, axis=1, keepdims=True) * 0.4


# --------------------------------------------------------------------------- detection

def test_boxes_landmarks_and_encodings_equal_face_recognition(fr, face_image):
    img = face_image
    locations = fr.face_locations(img, 1, "hog")
    faces = detect_faces(img, FaceOptions(detector="hog", upsample=1, landmarks="68"))
    assert len(faces) == len(locations) >= 1
    for face, (top, right, bottom, left) in zip(faces, locations):
        assert face.kind == "face" and face.label == "face" and face.identity is None
        assert face.box == (left, top, right, bottom)
        assert 0.0 < face.confidence <= 1.0 and face.attributes["detector"] == "hog"
    assert [f.landmarks for f in faces] == fr.face_landmarks(img, locations)
    small = add_landmarks(img, faces, "5")
    assert [f.landmarks for f in small] == fr.face_landmarks(img, locations, model="small")
    expected = np.array(fr.face_encodings(img, locations))
    ours = encode_faces(img, faces)
    assert ours.shape == (len(faces), 128) and ours.dtype == np.float64
    assert np.allclose(ours, expected, atol=1e-12)
    # ... and for another upsample setting
    assert [f.box for f in detect_faces(img, FaceOptions(detector="hog", upsample=0))] == [
        (float(l), float(t), float(r), float(b)) for t, r, b, l in fr.face_locations(img, 0, "hog")]


def test_unusual_arrays_are_made_safe(face_image):
    img = face_image
    reference = [f.box for f in detect_faces(img, HOG)]
    readonly = img.copy()
    readonly.flags.writeable = False
    rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    variants = {
        "read-only": readonly,
        "fortran order": np.asfortranarray(img),  # dlib silently finds nothing in such a view
        "strided view": np.dstack([img, img])[:, :, :3],
        "RGBA": rgba,
        "16-bit": img.astype(np.uint16) * 257,
        "float 0..1": img.astype(np.float32) / 255.0,
    }
    for what, arr in variants.items():
        assert [f.box for f in detect_faces(arr, HOG)] == reference, what
    gray = np.asarray(Image.fromarray(img).convert("L"))
    assert len(detect_faces(gray, HOG)) >= 1
    assert encode_faces(rgba, detect_faces(rgba, HOG)).shape[1] == 128


@pytest.mark.parametrize("shape", [(0, 0, 3), (1, 1, 3), (5, 5, 3), (5, 5), (1, 1, 4), (3, 400, 3)])
@pytest.mark.parametrize("detector", ["hog", "cnn"])
def test_tiny_images_have_no_faces(shape, detector):
    assert detect_faces(np.zeros(shape, np.uint8), FaceOptions(detector=detector, landmarks="68")) == []
    assert analyze_faces(np.zeros(shape, np.uint8), FaceOptions(detector=detector)) == []


def test_bad_input_and_limits_are_clear_errors():
    with pytest.raises(FaceError, match="expected an image array"):
        detect_faces(np.zeros((2, 2, 2, 3), np.uint8))
    with pytest.raises(FaceError, match="unsupported image array"):
        detect_faces(np.full((20, 20), "x"))
    # a huge search (here: no max_side, upsample 2) is refused before dlib allocates gigabytes
    huge = np.zeros((5000, 5000, 3), np.uint8)
    with pytest.raises(FaceError, match="too large"):
        detect_faces(huge, FaceOptions(detector="hog", upsample=2, max_side=0))
    with pytest.raises(ValueError, match="detector"):
        FaceOptions(detector="mtcnn")
    with pytest.raises(ValueError, match="downscale"):
        FaceOptions(downscale=0.5)
    with pytest.raises(FaceError, match="needs a model file"):
        detect_faces(np.zeros((64, 64, 3), np.uint8), FaceOptions(detector="yunet"))
    with pytest.raises(FaceError, match="not found"):
        detect_faces(np.zeros((64, 64, 3), np.uint8), FaceOptions(detector="yunet", yunet_model="/no/such.onnx"))
    assert encode_faces(np.zeros((10, 10, 3), np.uint8), []).shape == (0, 128)


def test_downscale_and_max_side_map_boxes_back_to_original_pixels(face_image):
    img = face_image
    full = detect_faces(img, HOG)
    big = np.ascontiguousarray(np.repeat(np.repeat(img, 2, axis=0), 2, axis=1))  # 2x the size
    for pixels, options, factor in ((img, FaceOptions(detector="hog", downscale=1.5), 1),
                                    (big, FaceOptions(detector="hog", max_side=max(img.shape[:2])), 2)):
        found = detect_faces(pixels, options)
        assert len(found) == len(full)
        for a, b in zip(sorted(found, key=lambda f: f.box), sorted(full, key=lambda f: f.box)):
            scaled = tuple(v * factor for v in b.box)
            assert iou(a.box, scaled) > 0.6, (a.box, scaled)
        # encodings and landmarks use the full-resolution pixels, at the mapped boxes
        assert encode_faces(pixels, found).shape == (len(found), 128)


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_min_face_size_and_default_detector(face_image):
    import dlib

    faces = detect_faces(face_image, HOG)
    smallest = min(min(f.box[2] - f.box[0], f.box[3] - f.box[1]) for f in faces)
    assert len(detect_faces(face_image, FaceOptions(detector="hog", min_face_size=int(smallest) + 1))) < len(faces)
    assert FaceOptions().resolved_detector() == ("cnn" if dlib.DLIB_USE_CUDA else "hog")


def test_cnn_finds_the_face_hog_finds():
    needs_faces()
    img = load("examples/obama_small.jpg")  # 320x240 with upsample 0: ~0.4 s of CNN on a CPU
    hog = detect_faces(img, FaceOptions(detector="hog"))
    cnn = detect_faces(img, FaceOptions(detector="cnn", upsample=0))
    assert len(cnn) == len(hog) == 1 and iou(cnn[0].box, hog[0].box) > 0.5
    assert cnn[0].attributes["detector"] == "cnn"


def test_yunet_finds_both_faces_with_five_landmarks():
    needs_faces()
    if not YUNET.is_file():
        pytest.skip(f"needs {YUNET}")
    img = load("examples/two_people.jpg")
    options = FaceOptions(detector="yunet", yunet_model=str(YUNET), landmarks="5")
    faces = detect_faces(img, options)
    hog = detect_faces(img, HOG)
    assert len(faces) == 2
    for face in faces:
        assert 0.9 <= face.confidence <= 1.0 and face.attributes["detector"] == "yunet"
        assert set(face.landmarks) == {"left_eye", "right_eye", "nose_tip", "mouth_left", "mouth_right"}
        (lx, _), (rx, _) = face.landmarks["left_eye"][0], face.landmarks["right_eye"][0]
        assert lx < rx  # named from the viewer's side, as face_recognition names them
        assert max(iou(face.box, h.box) for h in hog) > 0.4
    assert detect_faces(np.zeros((5, 5, 3), np.uint8), options) == []
    with_68 = detect_faces(img, FaceOptions(detector="yunet", yunet_model=str(YUNET), landmarks="68"))
    assert all(len(f.landmarks["chin"]) == 17 for f in with_68)


# --------------------------------------------------------------------------- recognition

def test_obama_enrolled_once_is_recognized_in_his_other_photos(gallery, people, fr):
    matcher = Matcher.from_gallery(gallery)
    for rel in ("examples/obama_small.jpg", "tests/test_images/obama3.jpg",
                "tests/test_images/obama_partial_face2.jpg", "examples/knn_examples/test/obama1.jpg"):
        faces = analyze_faces(load(rel, 640), HOG, matcher)
        assert [f.identity for f in faces] == ["Obama"], rel
        face = faces[0]
        assert face.distance < 0.5 and face.confidence > 0.5
        assert face.confidence == pytest.approx(distance_confidence(face.distance))


def test_rgba_photos_work_and_distances_are_face_recognitions(gallery, people, fr):
    image = read_image(FACES / "tests/test_images/32bit.png")
    assert image.original.shape[2] == 4
    for pixels in (image.pixels, image.original):  # composited by image_io, or raw RGBA
        found = analyze_faces_with_encodings(pixels, HOG, gallery)
        assert [f.identity for f, _ in found] == ["Obama"]
        face, enc = found[0]
        assert face.distance == pytest.approx(fr.face_distance([people["Obama"][0]], enc)[0], abs=1e-12)


def test_biden_and_obama_in_one_photo_are_not_confused(gallery):
    faces = analyze_faces(load("examples/two_people.jpg"), HOG, gallery)
    by_x = sorted(faces, key=lambda f: f.box[0])
    assert [f.identity for f in by_x] == ["Obama", "Biden"]  # Obama left, Biden right
    assert all(f.distance < 0.5 for f in faces)
    biden_alone = analyze_faces(load("examples/biden.jpg", 800), HOG, gallery)
    assert [f.identity for f in biden_alone] == ["Biden"]


def test_lin_manuel_miranda_is_unknown(gallery):
    image = read_image(EX / "lin-manuel-miranda.png")  # RGBA
    faces = analyze_faces(image.pixels, FaceOptions(detector="hog", landmarks="68"), gallery)
    assert len(faces) == 1
    face = faces[0]
    assert face.identity == "Unknown" and face.display_label == "Unknown"
    assert face.distance > 0.6 and face.attributes["unknown_reason"] == "too far"
    assert face.attributes["nearest"] in ("Obama", "Biden") and 0.5 < face.confidence <= 1.0
    assert len(face.landmarks["chin"]) == 17
    json.dumps(face.to_dict())  # what results.json will hold


def test_analyze_without_gallery_only_detects(face_image, monkeypatch):
    import vision_studio.core.faces.analyze as analyze_mod

    monkeypatch.setattr(analyze_mod, "encode_faces", lambda *a, **k: pytest.fail("encoded without a gallery"))
    faces = analyze_faces(face_image, HOG)
    assert faces and all(f.identity is None and f.distance is None for f in faces)


def test_matcher_tolerance_margin_and_confidence():
    a, b, c = random_encodings(3, seed=1)
    names = ["Ann", "Ann", "Bob"]
    known = np.stack([a, a + 0.05, b])
    m = Matcher(names, known, tolerance=0.6, margin=0.03)
    assert m.people == ("Ann", "Bob")
    hit = m.match(a + 0.001)
    assert hit.identity == "Ann" and hit.known and hit.reason == "match"
    assert hit.distance == pytest.approx(np.linalg.norm(0.001 * np.ones(128)))  # min over Ann's two
    assert m.match(c * 3).identity == "Unknown"  # far from everyone
    # halfway between Ann and Bob, both within the tolerance: ambiguous -> Unknown
    close = Matcher(["Ann", "Bob"], np.stack([a, a + 0.02]), margin=0.03)
    mid = close.match(a + 0.01)
    assert mid.identity == "Unknown" and mid.reason == "ambiguous" and mid.nearest in ("Ann", "Bob")
    assert Matcher(["Ann", "Bob"], np.stack([a, a + 0.02]), margin=0.0).match(a + 0.009).identity == "Ann"
    empty = Matcher([], np.empty((0, 128)))
    assert empty.match(a).identity == "Unknown" and empty.match(a).distance is None
    # confidence: 0.5 at the tolerance, 1 at distance 0, 0 at 1, decreasing
    assert distance_confidence(0.6) == pytest.approx(0.5)
    assert distance_confidence(0.0) == 1.0 and distance_confidence(1.0) == 0.0
    values = [distance_confidence(d) for d in np.linspace(0, 1.2, 50)]
    assert all(x >= y for x, y in zip(values, values[1:]))
    with pytest.raises(ValueError):
        Matcher(["Ann"], np.stack([a, b]))


# --------------------------------------------------------------------------- gallery

def test_gallery_round_trip_and_permissions(tmp_path):
    path = tmp_path / "new" / "deeper" / "faces.sqlite"
    enc = random_encodings(3)
    with Gallery(path) as g:
        assert g.enroll("Ann", enc[0], source="a.jpg") is not None
        assert g.enroll("Ann", enc[0]) is None  # identical encoding: not stored twice
        g.enroll("ann ", enc[1])  # same person: names match case-insensitively
        g.enroll("Bob", enc[2], thumbnail=face_thumbnail(np.zeros((50, 50, 3), np.uint8), (10, 10, 40, 40)))
        assert [(p.name, p.faces) for p in g.people()] == [("Ann", 2), ("Bob", 1)]
        names, matrix = g.all_encodings()
        assert list(names) == ["Ann", "Ann", "Bob"] and matrix.dtype == np.float64
        assert np.array_equal(matrix, enc)  # bit-exact float64
        assert g.faces("Bob")[0].thumbnail.startswith(b"\xff\xd8")
        assert g.faces("Ann")[0].source == "a.jpg"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    with Gallery(path, create=False) as again:  # reopened: the same data
        assert np.array_equal(again.all_encodings()[1], enc)
    raw = sqlite3.connect(path)
    blobs = [r[0] for r in raw.execute("SELECT encoding FROM encodings")]
    raw.close()
    assert all(len(b) == 128 * 8 and b"numpy" not in b and not b.startswith(b"\x80") for b in blobs)  # no pickle


def test_rename_merge_delete(tmp_path):
    enc = random_encodings(4)
    with Gallery(tmp_path / "g.sqlite") as g:
        for name, e in zip(["Ann", "Ann", "Bob", "Cy"], enc):
            g.enroll(name, e, thumbnail=face_thumbnail(np.full((40, 40, 3), 99, np.uint8), (5, 5, 30, 30)))
        assert g.rename("ann", "ANN").name == "ANN"  # a change of case
        with pytest.raises(GalleryError, match="already in the gallery"):
            g.rename("ANN", "bob")
        assert g.rename("ANN", "Anne").faces == 2
        assert g.merge("Bob", "Anne") == 1
        assert [(p.name, p.faces) for p in g.people()] == [("Anne", 3), ("Cy", 1)]
        with pytest.raises(GalleryError, match="no person named 'Bob'"):
            g.delete("Bob")
        assert g.delete("Anne") == 3
        assert [p.name for p in g.people()] == ["Cy"]
        names, matrix = g.all_encodings()
        assert list(names) == ["Cy"] and np.array_equal(matrix, enc[3:])
        for bad in ("", "  ", "Unknown", "unknown 3", "a\x07b", "x" * 201):
            with pytest.raises(GalleryError):
                g.enroll(bad, enc[0])
        with pytest.raises(GalleryError, match="128"):
            g.enroll("Dee", np.zeros(64))
    raw = sqlite3.connect(tmp_path / "g.sqlite")
    assert raw.execute("SELECT COUNT(*) FROM encodings WHERE thumbnail IS NOT NULL").fetchone()[0] == 1
    assert raw.execute("SELECT COUNT(*) FROM encodings").fetchone()[0] == 1
    raw.close()


def test_corrupt_or_foreign_files_give_a_clear_error(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all\n" * 200)
    with pytest.raises(GalleryError) as info:
        Gallery(junk)
    assert str(info.value).startswith(f"{junk}: not a gallery database")
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    with pytest.raises(GalleryError, match="not a gallery database"):
        Gallery(other)
    with pytest.raises(GalleryError, match="is a folder"):
        Gallery(tmp_path)
    with pytest.raises(GalleryError, match="no gallery here"):
        Gallery(tmp_path / "missing.sqlite", create=False)
    # damaged inside: a valid gallery whose encoding blob was truncated
    path = tmp_path / "damaged.sqlite"
    with Gallery(path) as g:
        g.enroll("Ann", random_encodings(1)[0])
    con = sqlite3.connect(path)
    con.execute("UPDATE encodings SET encoding = x'00'")
    con.commit()
    con.close()
    with Gallery(path) as g, pytest.raises(GalleryError, match="damaged"):
        g.all_encodings()


def test_default_gallery_lives_in_the_data_dir():
    from vision_studio.core.runtime import data_dir

    assert default_gallery_path() == data_dir() / "faces.sqlite"
    with Gallery() as g:  # conftest points the data dir at a temporary folder
        assert g.path == default_gallery_path() and g.path.is_file()


def test_export_import_round_trip(tmp_path):
    enc = random_encodings(3, seed=5)
    thumb = face_thumbnail(np.full((60, 60, 3), 128, np.uint8), (10, 10, 50, 50))
    with Gallery(tmp_path / "a.sqlite") as a:
        a.enroll("Ann", enc[0], thumb, "/photos/ann.jpg")
        a.enroll("Ann", enc[1], None, "/photos/ann2.jpg")
        a.enroll("Bob", enc[2], thumb, "/photos/bob.jpg")
        out = tmp_path / "export"
        assert export_gallery(a, out) == {"people": 2, "faces": 3}
        with pytest.raises(GalleryError, match="already exists"):
            export_gallery(a, out)
    doc = json.loads((out / "gallery.json").read_text())
    assert [p["name"] for p in doc["people"]] == ["Ann", "Bob"]
    assert doc["people"][0]["faces"][0]["source"] == "/photos/ann.jpg"
    assert np.array_equal(np.load(out / "encodings.npy", allow_pickle=False), enc)
    assert sorted(p.name for p in (out / "thumbnails").iterdir()) == ["0.jpg", "2.jpg"]
    assert stat.S_IMODE((out / "encodings.npy").stat().st_mode) == 0o600
    with Gallery(tmp_path / "b.sqlite") as b:
        b.enroll("bob", enc[2])  # already there: merged by name, the identical face skipped
        assert import_gallery(b, out) == {"people": 1, "faces": 2, "duplicates": 1}
        assert import_gallery(b, out) == {"people": 0, "faces": 0, "duplicates": 3}
        assert [(p.name, p.faces) for p in b.people()] == [("Ann", 2), ("bob", 1)]
        ann = b.faces("Ann")
        assert [f.source for f in ann] == ["/photos/ann.jpg", "/photos/ann2.jpg"]
        assert ann[0].thumbnail == thumb and ann[1].thumbnail is None
        assert np.array_equal(b.faces("Ann")[0].encoding, enc[0])
    # a tampered export is refused as a whole
    doc["people"][0]["faces"][0]["thumbnail"] = "../../etc/passwd"
    (out / "gallery.json").write_text(json.dumps(doc))
    with Gallery(tmp_path / "c.sqlite") as c:
        with pytest.raises(GalleryError, match="not a gallery export"):
            import_gallery(c, out)
        assert c.people() == []
        with pytest.raises(GalleryError, match="gallery.json is missing"):
            import_gallery(c, tmp_path)


# --------------------------------------------------------------------------- clustering

def test_clustering_groups_the_same_person(tmp_path):
    needs_faces()
    images = {  # Kit Harington x3, Rose Leslie x2 + her face in kit_with_rose.jpg
        "john1": "examples/knn_examples/train/kit_harington/john1.jpeg",
        "john2": "examples/knn_examples/train/kit_harington/john2.jpeg",
        "johnsnow": "examples/knn_examples/test/johnsnow_test1.jpg",
        "rose1": "examples/knn_examples/train/rose_leslie/img1.jpg",
        "rose2": "examples/knn_examples/train/rose_leslie/img2.jpg",
        "both": "examples/knn_examples/test/kit_with_rose.jpg",
    }
    samples = []
    for key, rel in images.items():
        pixels = load(rel, 600)
        for face, enc in analyze_faces_with_encodings(pixels, HOG):
            samples.append(FaceSample(key, face, enc, face_thumbnail(pixels, face.box)))
    assert len(samples) == 7
    clusters = cluster_faces(samples)
    assert [c.label for c in clusters] == ["Unknown 1", "Unknown 2"]
    groups = [sorted(s.source for s in c.samples) for c in clusters]
    assert sorted(groups) == [["both", "john1", "john2", "johnsnow"], ["both", "rose1", "rose2"]]
    again = cluster_faces(samples)  # deterministic: the same numbers on every run
    assert [[s.source for s in c.samples] for c in again] == [[s.source for s in c.samples] for c in clusters]
    kit = clusters[0]
    with Gallery(tmp_path / "g.sqlite") as g:
        assert enroll_cluster(g, kit, "Kit Harington") == 4
        assert [(p.name, p.faces) for p in g.people()] == [("Kit Harington", 4)]
        faces = analyze_faces(load("examples/knn_examples/test/kit_with_rose.jpg"), HOG, g)
        assert sorted(f.identity for f in faces) == ["Kit Harington", "Unknown"]


def test_cluster_encodings_edge_cases():
    assert cluster_encodings(np.empty((0, 128))) == []
    assert cluster_encodings(random_encodings(1)) == [0]
    a = random_encodings(2, seed=3)
    labels = cluster_encodings(np.stack([a[0], a[1], a[0] + 0.001, a[0] + 0.002]))
    assert labels == [0, 1, 0, 0]  # largest cluster first
    assert isinstance(Cluster("Unknown 1", ()), Cluster)


# --------------------------------------------------------------------------- anonymize

@pytest.mark.parametrize("mode", ["blur", "pixelate"])
def test_anonymize_hides_faces_and_nothing_else(face_image, mode):
    img = face_image
    found = analyze_faces_with_encodings(img, HOG)
    faces = [f for f, _ in found]
    out = anonymize(img, faces, mode=mode, expand=0.0)
    assert out.shape == img.shape and out.dtype == img.dtype and out is not img
    mask = np.zeros(img.shape[:2], bool)
    for f in faces:
        x1, y1, x2, y2 = (int(v) for v in f.box)
        mask[y1:y2, x1:x2] = True
        region_before = img[y1:y2, x1:x2].astype(np.int16)
        region_after = out[y1:y2, x1:x2].astype(np.int16)
        assert np.abs(region_after - region_before).mean() > 8
        # detail is gone: the pixel-to-pixel variation collapses
        assert np.abs(np.diff(region_after, axis=1)).mean() < 0.35 * np.abs(np.diff(region_before, axis=1)).mean()
    assert np.array_equal(out[~mask], img[~mask])
    # the encoder no longer recognizes the faces (or no longer finds them)
    for (face, enc), new in zip(found, encode_faces(out, faces)):
        assert np.linalg.norm(new - enc) > 0.5
    if mode == "pixelate":
        x1, y1, x2, y2 = (int(v) for v in faces[0].box)
        assert len(np.unique(out[y1:y2, x1:x2].reshape(-1, 3), axis=0)) <= 12 * 14


def test_anonymize_unknown_only_and_expand(face_image):
    faces = detect_faces(face_image, HOG)
    named = [Detection(kind="face", label="face", box=f.box, identity="Ann") for f in faces]
    unknown = [Detection(kind="face", label="face", box=f.box, identity="Unknown 2") for f in faces]
    assert np.array_equal(anonymize(face_image, named, unknown_only=True), face_image)
    assert not np.array_equal(anonymize(face_image, unknown, unknown_only=True), face_image)
    x1, y1, x2, y2 = faces[0].box
    grown = anonymize(face_image, faces[:1], expand=0.1)
    gx, gy = 0.1 * (x2 - x1), 0.1 * (y2 - y1)
    band = (slice(int(y1), int(y2)), slice(max(0, int(x1 - gx) + 1), int(x1)))  # just left of the box
    assert np.abs(grown[band].astype(int) - face_image[band]).sum() > 0
    above = max(0, int(y1 - gy) - 1)
    assert np.array_equal(grown[:above], face_image[:above])
    with pytest.raises(ValueError):
        anonymize(face_image, faces, mode="swirl")
    gray = np.asarray(Image.fromarray(face_image).convert("L"))
    assert anonymize(gray, faces).shape == gray.shape


def test_importing_the_package_is_cheap():
    code = ("import sys, vision_studio.core.faces as f; f.FaceOptions; "
            "print(sorted(m for m in ('dlib', 'face_recognition', 'cv2', 'PySide6') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env={**os.environ})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
