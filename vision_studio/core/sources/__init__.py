"""Live sources: video files, folders as sequences, cameras and stream URLs -> frames.

    spec = parse_source("clip.mp4")               # or "camera:0", "rtsp://…", a folder
    cap = Capture(spec).start()                   # one capture thread, newest frame wins
    frame = cap.latest()
    cap.stop()

Modules: spec (parsing, camera listing; no numpy), readers (cv2 / image folders),
capture (the thread, watchdog, reconnect, player controls), writer (atomic MP4).
Names are imported lazily so a window can parse and list sources without numpy/cv2.
"""
from __future__ import annotations

from vision_studio.core.sources.spec import (
    CameraInfo,
    SourceError,
    SourceSpec,
    is_live_input,
    is_video_path,
    list_cameras,
    parse_source,
)

_LAZY = {"Capture": "capture", "CaptureStats": "capture", "Frame": "capture", "SourceInfo": "readers",
         "open_reader": "readers", "VideoWriter": "writer"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"vision_studio.core.sources.{_LAZY[name]}"), name)
    raise AttributeError(name)


__all__ = [
    "CameraInfo",
    "Capture",
    "CaptureStats",
    "Frame",
    "SourceError",
    "SourceInfo",
    "SourceSpec",
    "VideoWriter",
    "is_live_input",
    "is_video_path",
    "list_cameras",
    "open_reader",
    "parse_source",
]
