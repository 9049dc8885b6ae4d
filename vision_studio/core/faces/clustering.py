"""Grouping faces nobody has named yet: dlib's Chinese whispers over face encodings.

Two faces are linked when their encodings are closer than `threshold` (0.5 by
default: a little stricter than the 0.6 matching tolerance, so that two
different people are rarely chained into one cluster). Clusters are numbered by
size (largest first, ties by first appearance) as "Unknown 1", "Unknown 2", ...;
dlib's clustering is deterministic, so the same faces in the same order give the
same numbers. Naming a cluster (`enroll_cluster`) enrolls all its faces.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from vision_studio.core.faces.anonymization import is_unknown
from vision_studio.core.faces.matching import UNKNOWN
from vision_studio.core.results import Detection

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True, eq=False)
class FaceSample:
    """One face found in one image, with what enrolling it needs."""

    source: str
    detection: Detection
    encoding: np.ndarray
    thumbnail: bytes | None = None


@dataclass(frozen=True, eq=False)
class Cluster:
    label: str  # "Unknown 1", ...
    samples: tuple[FaceSample, ...]

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def sources(self) -> list[str]:
        return sorted({s.source for s in self.samples})


def cluster_encodings(encodings, threshold: float = DEFAULT_THRESHOLD) -> list[int]:
    """A cluster number per encoding: 0 = the largest cluster, 1 the next, ..."""
    matrix = np.asarray(encodings, dtype=np.float64)
    if matrix.size == 0:
        return []
    matrix = matrix.reshape(len(matrix), -1)
    if not 0.0 < threshold < 2.0:
        raise ValueError(f"threshold must be between 0 and 2, got {threshold!r}")
    if len(matrix) == 1:
        return [0]
    from vision_studio.core.faces.detection import face_engine

    # dlib's chinese whispers (O(N^2) distances in C++, with the GIL held): in the face engine.
    raw = face_engine().cluster(matrix, threshold)
    sizes: dict[int, int] = {}
    first: dict[int, int] = {}
    for i, label in enumerate(raw):
        sizes[label] = sizes.get(label, 0) + 1
        first.setdefault(label, i)
    order = sorted(sizes, key=lambda lab: (-sizes[lab], first[lab]))
    renumber = {lab: n for n, lab in enumerate(order)}
    return [renumber[lab] for lab in raw]


def cluster_faces(samples: Sequence[FaceSample], threshold: float = DEFAULT_THRESHOLD) -> list[Cluster]:
    """Clusters of `samples`, largest first, labelled "Unknown 1", "Unknown 2", ..."""
    labels = cluster_encodings([s.encoding for s in samples], threshold)
    groups: dict[int, list[FaceSample]] = {}
    for sample, label in zip(samples, labels):
        groups.setdefault(label, []).append(sample)
    return [Cluster(f"{UNKNOWN} {n + 1}", tuple(groups[n])) for n in sorted(groups)]


def collect_faces(paths: Iterable[str | os.PathLike], options=None, gallery=None, *,
                  include_known: bool = False, thumbnails: bool = True,
                  on_error: Callable[[str, str], None] | None = None
                  ) -> tuple[list[FaceSample], list[FaceSample]]:
    """Every face in the images: (unknown faces, faces the gallery names).

    With include_known all faces go in the first list. A file that cannot be read
    or analysed is reported as on_error(path, reason) and skipped.
    """
    from vision_studio.core.faces.analyze import (
        analyze_faces_with_encodings,
        matcher_for,
    )
    from vision_studio.core.faces.detection import FaceError, FaceOptions
    from vision_studio.core.faces.gallery import face_thumbnail
    from vision_studio.core.image_io import ImageReadError, read_image

    options = options or FaceOptions()
    matcher = matcher_for(gallery, options) if gallery is not None else None
    unknown: list[FaceSample] = []
    known: list[FaceSample] = []
    for path in paths:
        try:
            image = read_image(path)
            found = analyze_faces_with_encodings(image.pixels, options, matcher)
        except ImageReadError as exc:
            if on_error:
                on_error(str(exc.path), exc.reason)
            continue
        except FaceError as exc:
            if on_error:
                on_error(str(path), str(exc))
            continue
        for face, encoding in found:
            thumb = face_thumbnail(image.pixels, face.box) if thumbnails else None
            sample = FaceSample(str(path), face, encoding, thumb)
            (unknown if include_known or is_unknown(face) else known).append(sample)
    return unknown, known


def enroll_cluster(gallery, cluster: Cluster, name: str) -> int:
    """Enroll every face of `cluster` as `name`; the number of faces stored."""
    return sum(gallery.enroll(name, s.encoding, s.thumbnail, s.source) is not None for s in cluster.samples)
