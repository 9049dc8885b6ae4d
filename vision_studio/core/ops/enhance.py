"""Brightness, contrast and colour balance. Each op wraps one OpenCV call (or a
256-entry lookup table applied with cv2.LUT), adding nothing but validation."""
from __future__ import annotations

import numpy as np

from vision_studio.core.ops.spec import Param, cv2, op

_LEVELS = np.arange(256, dtype=np.float64)


def _lut(values: np.ndarray) -> np.ndarray:
    """A float curve over 0..255 as a uint8 lookup table (rounded, clipped)."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


@op("brightness_contrast", "Brightness / contrast", "Enhance",
    Param("alpha", "float", 1.0, min=0, max=5, step=0.05, label="Contrast",
          help="gain: 1 keeps the contrast, below 1 flattens, above 1 stretches"),
    Param("beta", "float", 0.0, min=-255, max=255, step=1, label="Brightness",
          help="offset added after the gain"))
def brightness_contrast(image: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """out = saturate(alpha * in + beta), per channel."""
    # cv2.addWeighted rather than cv2.convertScaleAbs: convertScaleAbs takes |alpha*x + beta|,
    # so a negative brightness would turn the darkest pixels lighter again. For beta >= 0
    # both give identical output (tests/test_ops.py checks it).
    return cv2.addWeighted(image, alpha, image, 0.0, beta)


@op("gamma", "Gamma", "Enhance",
    Param("gamma", "float", 1.0, min=0.05, max=5, step=0.05,
          help="out = 255 * (in / 255) ^ gamma: below 1 brightens, above 1 darkens (as Fiji)"))
def gamma(image: np.ndarray, gamma: float) -> np.ndarray:
    """Power-law curve applied with a lookup table."""
    return cv2.LUT(image, _lut(255.0 * (_LEVELS / 255.0) ** gamma))


def _histogram(image: np.ndarray) -> np.ndarray:
    """Counts of the 256 levels over all channels together."""
    flat = image.reshape(image.shape[0], -1)  # a view: H x (W * channels), one channel
    return cv2.calcHist([flat], [0], None, [256], [0, 256]).ravel().astype(np.int64)


def _sorted_value(cum: np.ndarray, k: int) -> int:
    """The k-th smallest value (0-based) from a cumulative histogram."""
    return int(np.searchsorted(cum, k, side="right"))


@op("auto_contrast", "Auto contrast", "Enhance",
    Param("low_percent", "float", 0.5, min=0, max=50, step=0.05,
          help="percent of the values allowed to saturate to black"),
    Param("high_percent", "float", 0.5, min=0, max=50, step=0.05,
          help="percent of the values allowed to saturate to white"))
def auto_contrast(image: np.ndarray, low_percent: float, high_percent: float) -> np.ndarray:
    """Linear stretch between two percentiles (all channels alike, so hues stay)."""
    # The percentiles are order statistics of all values: low = sorted[floor(n * low%)],
    # high = sorted[ceil(n * (1 - high%)) - 1]; from the histogram, no sort.
    cum = np.cumsum(_histogram(image))
    n = int(cum[-1])
    lo = _sorted_value(cum, min(n - 1, int(np.floor(n * low_percent / 100.0))))
    hi = _sorted_value(cum, max(0, int(np.ceil(n * (1.0 - high_percent / 100.0))) - 1))
    if hi <= lo:
        return image  # flat image, or percentiles that meet: nothing to stretch
    return cv2.LUT(image, _lut((_LEVELS - lo) * (255.0 / (hi - lo))))


@op("equalize_hist", "Equalize histogram", "Enhance")
def equalize_hist(image: np.ndarray) -> np.ndarray:
    """Histogram equalization; colour images are equalized on the luma (Y of YCrCb)."""
    if image.ndim == 2:
        return cv2.equalizeHist(image)
    y, cr, cb = cv2.split(cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb))
    return cv2.cvtColor(cv2.merge((cv2.equalizeHist(y), cr, cb)), cv2.COLOR_YCrCb2RGB)


@op("clahe", "CLAHE (local equalization)", "Enhance",
    Param("clip_limit", "float", 2.0, min=0, max=40, step=0.1,
          help="contrast limit per tile; higher equalizes harder"),
    Param("tile_grid", "int", 8, min=1, max=64,
          help="tiles per side: the image is split into tile_grid x tile_grid regions"))
def clahe(image: np.ndarray, clip_limit: float, tile_grid: int) -> np.ndarray:
    """Contrast-limited adaptive histogram equalization; colour on L of Lab."""
    c = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tile_grid, tile_grid))
    if image.ndim == 2:
        return c.apply(image)
    lum, a, b = cv2.split(cv2.cvtColor(image, cv2.COLOR_RGB2Lab))
    return cv2.cvtColor(cv2.merge((c.apply(lum), a, b)), cv2.COLOR_Lab2RGB)


@op("gray_world", "White balance (gray world)", "Enhance")
def gray_world(image: np.ndarray) -> np.ndarray:
    """Scale each channel so its mean equals the mean of all three (gray input: unchanged)."""
    if image.ndim == 2:
        return image
    means = np.array(cv2.mean(image)[:3])
    gains = np.divide(means.mean(), means, out=np.ones(3), where=means > 0)
    table = np.stack([_lut(_LEVELS * g) for g in gains], axis=-1)  # 256 x 3: one curve per channel
    return cv2.LUT(image, table.reshape(256, 1, 3))


@op("unsharp_mask", "Unsharp mask", "Enhance",
    Param("amount", "float", 1.0, min=0, max=10, step=0.1,
          help="how much of the detail (image minus blur) to add back"),
    Param("sigma", "float", 2.0, min=0.1, max=50, step=0.1, pixels=True, label="Radius (sigma)",
          help="Gaussian sigma of the blur: the size of the detail that is sharpened"),
    Param("threshold", "int", 0, min=0, max=255,
          help="leave pixels whose detail is below this unchanged (spares noise and flat areas)"))
def unsharp_mask(image: np.ndarray, amount: float, sigma: float, threshold: int) -> np.ndarray:
    """out = in + amount * (in - gaussian(in, sigma)), per channel."""
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    out = cv2.addWeighted(image, 1.0 + amount, blurred, -amount, 0)
    if threshold > 0:
        np.copyto(out, image, where=cv2.absdiff(image, blurred) < threshold)
    return out
