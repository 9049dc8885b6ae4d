"""Per-channel histograms of uint8 images (for the Histogram panel)."""
from __future__ import annotations

import numpy as np


def histogram(image: np.ndarray) -> dict[str, np.ndarray]:
    """{'R','G','B'} or {'L'} -> 256 counts. np.bincount is ~4x faster than np.histogram here."""
    if image.dtype != np.uint8:
        raise ValueError(f"histogram expects uint8, got {image.dtype}")
    if image.ndim == 2:
        return {"L": np.bincount(image.ravel(), minlength=256)}
    return {name: np.bincount(image[:, :, i].ravel(), minlength=256) for i, name in enumerate("RGB")}
