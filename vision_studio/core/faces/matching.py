"""Who is this face? Nearest person in the gallery, with a tolerance and a margin.

For a face encoding q and a person P with encodings e_1..e_k, the person's
distance is d(P) = min_i ||q - e_i|| (euclidean, as face_recognition.face_distance).
With the best person B and the second-best person S:

- identity = B when d(B) <= tolerance (default 0.6, face_recognition's value)
  AND d(S) - d(B) >= margin (default 0.03); otherwise "Unknown".
  The margin refuses to name a face that two people match almost equally well
  (siblings, a bad gallery photo): better "Unknown" than the wrong name. 0 turns
  it off; 0.05 is strict. With one person in the gallery there is no S.
- distance = d(B), also for "Unknown" (then attributes "nearest" names B).
- confidence = how sure we are of the label shown:
  named: c(d(B)); Unknown: 1 - c(d(B)); c(d) with t = tolerance is
      d >  t:  (1 - d) / (2 (1 - t))                         (t -> 0.5, 1.0 -> 0)
      d <= t:  l + (1 - l) ((l - 0.5) * 2) ** 0.2,  l = 1 - d / (2 t)   (0 -> 1, t -> 0.5)
  clipped to 0..1; the curve from face_recognition's wiki ("face_distance_to_conf"):
  0.5 exactly at the tolerance, steep near it, flat near 0 and 1.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_TOLERANCE = 0.6
DEFAULT_MARGIN = 0.03
UNKNOWN = "Unknown"


def distance_confidence(distance: float, tolerance: float = DEFAULT_TOLERANCE) -> float:
    """0..1 confidence that a face at `distance` is that person (0.5 at the tolerance)."""
    d, t = float(distance), float(tolerance)
    if d > t:
        value = (1.0 - d) / ((1.0 - t) * 2.0)
    else:
        lin = 1.0 - d / (t * 2.0)
        value = lin + (1.0 - lin) * ((lin - 0.5) * 2.0) ** 0.2
    return float(min(1.0, max(0.0, value)))


@dataclass(frozen=True)
class Match:
    identity: str  # a person's name, or "Unknown"
    distance: float | None  # to the nearest person; None when the gallery is empty
    confidence: float | None  # in `identity` (module docstring); None when the gallery is empty
    nearest: str | None = None  # the nearest person, also when identity is Unknown
    second_distance: float | None = None  # to the second-nearest person
    reason: str = "match"  # "match", "too far", "ambiguous" or "empty gallery"

    @property
    def known(self) -> bool:
        return self.identity != UNKNOWN


class Matcher:
    """Matches encodings against a fixed set of (name, encoding) pairs; vectorised, reusable.

    Build one per gallery state (`Matcher.from_gallery`) and reuse it across
    frames: matching M faces against N encodings is one M x N distance matrix.
    """

    def __init__(self, names: Sequence[str], encodings, tolerance: float = DEFAULT_TOLERANCE,
                 margin: float = DEFAULT_MARGIN):
        if not 0.0 < tolerance < 1.0:
            raise ValueError(f"tolerance must be between 0 and 1, got {tolerance!r}")
        if not 0.0 <= margin < 1.0:
            raise ValueError(f"margin must be between 0 and 1, got {margin!r}")
        names = np.asarray(list(names), dtype=object)
        matrix = np.asarray(encodings, dtype=np.float64)
        if matrix.size == 0:
            matrix = matrix.reshape(0, matrix.shape[-1] if matrix.ndim == 2 else 128)
        if matrix.ndim != 2 or len(names) != matrix.shape[0]:
            raise ValueError(f"need one name per encoding row, got {len(names)} names for shape {matrix.shape}")
        self.tolerance = float(tolerance)
        self.margin = float(margin)
        order = np.argsort(names.astype(str), kind="stable")
        self._matrix = matrix[order]
        sorted_names = names[order]
        if len(sorted_names):
            starts = np.flatnonzero(np.r_[True, sorted_names[1:] != sorted_names[:-1]])
        else:
            starts = np.empty(0, np.intp)
        self._starts = starts
        self.people: tuple[str, ...] = tuple(str(n) for n in sorted_names[starts])

    @classmethod
    def from_gallery(cls, gallery, tolerance: float = DEFAULT_TOLERANCE,
                     margin: float = DEFAULT_MARGIN) -> Matcher:
        names, matrix = gallery.all_encodings()
        return cls(names, matrix, tolerance, margin)

    def __len__(self) -> int:
        return self._matrix.shape[0]

    def person_distances(self, encodings) -> np.ndarray:
        """M x P matrix: distance of each face to each person in `self.people` (min over encodings)."""
        q = np.asarray(encodings, dtype=np.float64)
        q = q.reshape(1, -1) if q.ndim == 1 else q
        if not self.people:
            return np.empty((q.shape[0], 0))
        if q.shape[1] != self._matrix.shape[1]:
            raise ValueError(f"encodings have {q.shape[1]} numbers, the gallery's {self._matrix.shape[1]}")
        # One face at a time: exactly face_recognition.face_distance, memory N x 128 (not M x N x 128).
        d = np.stack([np.linalg.norm(self._matrix - row, axis=1) for row in q])
        return np.minimum.reduceat(d, self._starts, axis=1)

    def match(self, encoding) -> Match:
        return self.match_many(np.asarray(encoding, dtype=np.float64).reshape(1, -1))[0]

    def match_many(self, encodings) -> list[Match]:
        q = np.asarray(encodings, dtype=np.float64)
        if q.size == 0:
            return []
        q = q.reshape(1, -1) if q.ndim == 1 else q
        if not self.people:
            return [Match(UNKNOWN, None, None, reason="empty gallery") for _ in range(q.shape[0])]
        per_person = self.person_distances(q)
        out = []
        for row in per_person:
            order = np.argsort(row, kind="stable")
            best = float(row[order[0]])
            second = float(row[order[1]]) if len(order) > 1 else None
            nearest = self.people[order[0]]
            conf = distance_confidence(best, self.tolerance)
            if best > self.tolerance:
                out.append(Match(UNKNOWN, best, 1.0 - conf, nearest, second, "too far"))
            elif second is not None and second - best < self.margin:
                out.append(Match(UNKNOWN, best, 1.0 - conf, nearest, second, "ambiguous"))
            else:
                out.append(Match(nearest, best, conf, nearest, second, "match"))
        return out


def match_encodings(encodings, names: Sequence[str], known, tolerance: float = DEFAULT_TOLERANCE,
                    margin: float = DEFAULT_MARGIN) -> list[Match]:
    """One-off form of Matcher(names, known, tolerance, margin).match_many(encodings)."""
    return Matcher(names, known, tolerance, margin).match_many(encodings)
