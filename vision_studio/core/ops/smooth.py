"""Smoothing and denoising. Each op wraps one OpenCV call, adding nothing but validation."""
from __future__ import annotations

import numpy as np

from vision_studio.core.ops.spec import Param, cv2, op

_KSIZE = dict(min=1, max=99, step=2, odd=True, pixels=True)


@op("gaussian_blur", "Gaussian blur", "Smooth",
    Param("ksize", "int", 5, help="kernel size (odd)", **_KSIZE),
    Param("sigma", "float", 0.0, min=0, max=50, step=0.1, pixels=True,
          help="standard deviation; 0 derives it from the kernel size"))
def gaussian_blur(image: np.ndarray, ksize: int, sigma: float) -> np.ndarray:
    """Blur with a Gaussian kernel."""
    return cv2.GaussianBlur(image, (ksize, ksize), sigma)


@op("median_blur", "Median blur", "Smooth",
    Param("ksize", "int", 5, help="aperture size (odd)", **_KSIZE))
def median_blur(image: np.ndarray, ksize: int) -> np.ndarray:
    """Median filter: removes salt-and-pepper noise, keeps edges."""
    return cv2.medianBlur(image, ksize)


@op("bilateral", "Bilateral filter", "Smooth",
    Param("diameter", "int", 9, min=1, max=50, pixels=True, help="pixel neighbourhood diameter"),
    Param("sigma_color", "float", 75.0, min=0, max=300, step=1, help="colour range mixed together"),
    Param("sigma_space", "float", 75.0, min=0, max=300, step=1, pixels=True, help="spatial extent"))
def bilateral(image: np.ndarray, diameter: int, sigma_color: float, sigma_space: float) -> np.ndarray:
    """Edge-preserving smoothing."""
    return cv2.bilateralFilter(image, diameter, sigma_color, sigma_space)


@op("box_blur", "Box blur", "Smooth",
    Param("ksize", "int", 5, min=1, max=99, pixels=True, help="kernel size"))
def box_blur(image: np.ndarray, ksize: int) -> np.ndarray:
    """Mean over a square window."""
    return cv2.blur(image, (ksize, ksize))


@op("nl_means", "Non-local means denoise", "Smooth",
    Param("strength", "float", 10.0, min=0, max=50, step=0.5, help="filter strength (h)"),
    Param("template_size", "int", 7, min=3, max=21, odd=True, help="template patch size (odd)"),
    Param("search_size", "int", 21, min=5, max=51, odd=True, help="search window size (odd)"))
def nl_means(image: np.ndarray, strength: float, template_size: int, search_size: int) -> np.ndarray:
    """Slow, strong denoising (OpenCV fastNlMeansDenoising[Colored])."""
    if image.ndim == 2:
        return cv2.fastNlMeansDenoising(image, None, strength, template_size, search_size)
    return cv2.fastNlMeansDenoisingColored(image, None, strength, strength, template_size, search_size)
