"""Objects: YOLO detection, segmentation, pose, classification and oriented boxes (no Qt).

Importing this package is cheap: numpy, torch and ultralytics load only when something
needs them. The names below are resolved on first access (PEP 562 `__getattr__`), so the
GUI can import `models` (paths, recent models, trust) at start-up without loading numpy
through `predictor`. Everything ultralytics does to the process is decided in `settings`.

    from vision_studio.core.detection import ObjectDetector, models
    det = ObjectDetector(models.resolve_model(None, progress=cb, cancel=stop))  # yolo26n.pt
    detections = det.predict(loaded.pixels)            # list[Detection], original pixels
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vision_studio.core.detection import models, settings
    from vision_studio.core.detection.models import (
        DEFAULT_MODEL,
        DownloadCancelled,
        ExportUnavailable,
        ModelError,
        ModelUnavailable,
        needs_trust_warning,
        optimize,
        resolve_model,
    )
    from vision_studio.core.detection.predictor import (
        ClassFilterError,
        ObjectDetector,
        results_to_detections,
    )

_WHERE = {
    "models": None, "settings": None,
    "DEFAULT_MODEL": "models", "DownloadCancelled": "models", "ExportUnavailable": "models",
    "ModelError": "models", "ModelUnavailable": "models", "needs_trust_warning": "models",
    "optimize": "models", "resolve_model": "models",
    "ClassFilterError": "predictor", "ObjectDetector": "predictor", "results_to_detections": "predictor",
}

__all__ = [
    "DEFAULT_MODEL", "ClassFilterError", "DownloadCancelled", "ExportUnavailable", "ModelError",
    "ModelUnavailable", "ObjectDetector", "models", "needs_trust_warning", "optimize", "resolve_model",
    "results_to_detections", "settings",
]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _WHERE[name]
    if module is None:  # a submodule itself
        return importlib.import_module(f"{__name__}.{name}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # next access is a plain attribute
    return value
