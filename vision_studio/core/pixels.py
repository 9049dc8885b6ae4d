"""Human-readable pixel values for the status bar (values of the ORIGINAL data)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

_CHANNEL_NAMES = {1: ("",), 2: ("V", "A"), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}


def describe_pixel(original: np.ndarray, x: int, y: int) -> str | None:
    """'x, y: R 12  G 34  B 56' or None when (x, y) is outside the image."""
    import numpy as np

    h, w = original.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        return None
    value = original[y, x]
    values = np.atleast_1d(value)
    names = _CHANNEL_NAMES.get(values.size, tuple(f"c{i}" for i in range(values.size)))
    fmt = _fmt_float if np.issubdtype(original.dtype, np.floating) else str
    if values.size == 1:
        text = f"value {fmt(values[0])}"
    else:
        text = "  ".join(f"{n} {fmt(v)}" for n, v in zip(names, values))
    return f"{x}, {y}: {text}"


def _fmt_float(v) -> str:
    return f"{float(v):.4g}"
