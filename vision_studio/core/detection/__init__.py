"""Objects: YOLO detection, segmentation, pose, classification and oriented boxes (no Qt).

Importing this package is cheap: torch and ultralytics load inside the functions that need
them (2-4 s, once). Everything ultralytics does to the process is decided in `settings`.

    from vision_studio.core.detection import ObjectDetector, models
    det = ObjectDetector(models.resolve_model(None, progress=cb, cancel=stop))  # yolo26n.pt
    detections = det.predict(loaded.pixels)            # list[Detection], original pixels
"""
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

__all__ = [
    "DEFAULT_MODEL", "ClassFilterError", "DownloadCancelled", "ExportUnavailable", "ModelError",
    "ModelUnavailable", "ObjectDetector", "models", "needs_trust_warning", "optimize", "resolve_model",
    "results_to_detections", "settings",
]
