"""Faces: detection, encodings, a gallery of known people, matching, clustering, anonymizing.

No Qt here, and importing this package is cheap: numpy, OpenCV, dlib and
face_recognition load on the first call that needs them (the names below are
resolved lazily). face_recognition is always imported through
core.thirdparty.import_face_recognition.

The call for "find and name the faces in this image" (`analyze --faces`, the
Faces panel, video frames):

    from vision_studio.core.faces import FaceOptions, Gallery, Matcher, analyze_faces

    options = FaceOptions(detector="hog", landmarks="68")   # see FaceOptions' docstring
    with Gallery() as gallery:                               # data_dir()/faces.sqlite
        matcher = Matcher.from_gallery(gallery, options.tolerance, options.margin)
        faces = analyze_faces(pixels, options, matcher)      # list[Detection]

`analyze_faces(pixels, options=None, gallery=None) -> list[Detection]`:
`pixels` is any image array (RGB uint8 best; gray, RGBA, 16-bit, read-only and
non-contiguous arrays are converted). Each face is Detection(kind="face",
label="face", box=(x1, y1, x2, y2) in `pixels`' coordinates, confidence,
landmarks={"chin": [(x, y), ...], ...} when options.landmarks is "68" or "5",
attributes={"detector", "score"}). With a gallery (a Gallery, or a Matcher built
once and reused across frames) it also encodes and matches: identity = a name or
"Unknown", distance = to the nearest person, confidence = the match confidence
(matching's docstring has the formula), attributes["nearest"] for Unknown faces.
Without a gallery it only detects (no 128-d encodings are computed).
Failures are FaceError (bad array, missing YuNet model, too large) with a one-line message.

Building blocks:
    detect_faces(pixels, options) -> list[Detection]
    add_landmarks(pixels, faces, model="68"|"5") -> list[Detection]
    encode_faces(pixels, faces, num_jitters=1) -> N x 128 float64
    analyze_faces_with_encodings(pixels, options, gallery) -> [(Detection, encoding)]
    Gallery(path=None, create=True): add_person, enroll, people, person, faces, rename,
        merge, delete, remove_face, all_encodings; face_thumbnail(pixels, box) -> JPEG bytes
    export_gallery(gallery, folder), import_gallery(gallery, folder); GalleryError
    Matcher(names, encodings, tolerance, margin).match_many(encodings) -> [Match]
    distance_confidence(distance, tolerance)
    collect_faces(paths, options, gallery) -> (unknown, known) FaceSamples;
        cluster_faces(samples, threshold=0.5) -> [Cluster "Unknown 1", ...];
        enroll_cluster(gallery, cluster, name)
    anonymize(pixels, detections, mode="blur"|"pixelate", unknown_only=False) -> new array
    FaceVideoRecognizer(options, matcher, TrackOptions(...)).process(frame) -> [Detection]
        with track_id: video and webcam frames (detect every N, track, encode new faces; see video)
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "FaceOptions": "detection", "FaceError": "detection", "DETECTORS": "detection",
    "LANDMARK_MODELS": "detection", "detect_faces": "detection", "add_landmarks": "detection",
    "prepare_pixels": "detection", "default_detector": "detection",
    "encode_faces": "encoding", "ENCODING_SIZE": "encoding",
    "Gallery": "gallery", "GalleryError": "gallery", "Person": "gallery", "Face": "gallery",
    "default_gallery_path": "gallery", "export_gallery": "gallery", "import_gallery": "gallery",
    "face_thumbnail": "gallery", "check_name": "gallery",
    "Matcher": "matching", "Match": "matching", "match_encodings": "matching",
    "distance_confidence": "matching", "UNKNOWN": "matching",
    "DEFAULT_TOLERANCE": "matching", "DEFAULT_MARGIN": "matching",
    "FaceSample": "clustering", "Cluster": "clustering", "cluster_encodings": "clustering",
    "cluster_faces": "clustering", "collect_faces": "clustering", "enroll_cluster": "clustering",
    "anonymize": "anonymization", "is_unknown": "anonymization",
    "analyze_faces": "analyze", "analyze_faces_with_encodings": "analyze", "matcher_for": "analyze",
    "FaceVideoRecognizer": "video", "TrackOptions": "video", "VideoStats": "video",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
