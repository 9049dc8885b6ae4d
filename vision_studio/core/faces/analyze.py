"""One call from pixels to named faces: what `analyze --faces` and the Faces panel use."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from vision_studio.core.faces.detection import FaceOptions, detect_faces, prepare_pixels
from vision_studio.core.faces.encoding import ENCODING_SIZE, encode_faces
from vision_studio.core.faces.matching import Match, Matcher
from vision_studio.core.results import Detection


def matcher_for(gallery, options: FaceOptions) -> Matcher:
    """A Matcher for a Gallery (with the options' tolerance and margin); a Matcher passes through."""
    if isinstance(gallery, Matcher):
        return gallery
    return Matcher.from_gallery(gallery, options.tolerance, options.margin)


def apply_match(face: Detection, match: Match) -> Detection:
    """`face` with identity, distance and confidence from `match` (see matching)."""
    attributes = dict(face.attributes)
    if match.nearest is not None and not match.known:
        attributes["nearest"] = match.nearest
    if match.reason != "match":
        attributes["unknown_reason"] = match.reason
    return replace(face, identity=match.identity, distance=match.distance,
                   confidence=face.confidence if match.confidence is None else match.confidence,
                   attributes=attributes)


def analyze_faces_with_encodings(pixels, options: FaceOptions | None = None,
                                 gallery=None) -> list[tuple[Detection, np.ndarray]]:
    """Like analyze_faces, but always encodes and returns (Detection, 128-d encoding) pairs."""
    options = options or FaceOptions()
    img = prepare_pixels(pixels)
    faces = detect_faces(img, options)
    encodings = encode_faces(img, faces, num_jitters=options.num_jitters) if faces else np.empty((0, ENCODING_SIZE))
    if gallery is not None and faces:
        matches = matcher_for(gallery, options).match_many(encodings)
        faces = [apply_match(f, m) for f, m in zip(faces, matches)]
    return list(zip(faces, encodings))


def analyze_faces(pixels, options: FaceOptions | None = None, gallery=None) -> list[Detection]:
    """Detect faces, and with a gallery (a Gallery or a prebuilt Matcher) name them.

    Without a gallery nothing is encoded (detection only, plus landmarks if asked);
    identity stays None. With one, every face gets identity (a name or "Unknown"),
    distance and a match confidence. Boxes and landmarks are in `pixels`' coordinates.
    """
    options = options or FaceOptions()
    if gallery is None:
        return detect_faces(pixels, options)
    return [face for face, _ in analyze_faces_with_encodings(pixels, options, gallery)]
