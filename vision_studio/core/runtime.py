"""Process-wide hygiene and facts: data directories, third-party settings, versions.

`configure_environment()` runs first thing in every entry point (GUI and CLI),
before torch or ultralytics can be imported, because both read their settings
from the environment at import time.
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from vision_studio import APP_NAME, ORG_NAME, __version__


def data_dir() -> Path:
    """Per-user data (gallery, models, caches). VISION_STUDIO_DATA_DIR overrides."""
    override = os.environ.get("VISION_STUDIO_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, ORG_NAME))


def configure_environment() -> None:
    """Keep ultralytics under the app's control. setdefault: a user's explicit value wins."""
    ul_dir = data_dir() / "ultralytics"
    # ultralytics writes settings.json under YOLO_CONFIG_DIR (default: ~/.config/Ultralytics).
    os.environ.setdefault("YOLO_CONFIG_DIR", str(ul_dir))
    # Never pip-install packages at run time from inside the app.
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "false")
    # OpenCV prints decoder complaints straight to stderr; we report failures ourselves.
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    # ... and FFmpeg's own lines ("moov atom not found", "Connection refused") beside our
    # one-line reason; -8 is AV_LOG_QUIET. Read when OpenCV first opens a video.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    # OMP_WAIT_POLICY is left alone on purpose: PASSIVE helped a 2-thread batch on a machine
    # busy with other work, but made 2-thread torch 65% slower on a quiet one (27 -> 44.5 ms
    # per yolo26n frame, measured); the user can still set it.


def library_versions(qt_version: str | None = None) -> dict[str, str]:
    """Versions without importing the libraries (torch alone takes seconds to import)."""
    from importlib import metadata  # 17 ms: only when asked (About box), not at start-up

    def version(*dists: str) -> str:
        for dist in dists:
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
        return "not installed"

    out = {"Vision Studio": __version__}
    if qt_version:
        out["Qt"] = qt_version
    out.update({
        "PySide6": version("PySide6-Essentials", "PySide6"),
        "OpenCV": version("opencv-python-headless", "opencv-python", "opencv-contrib-python"),
        "Pillow": version("pillow"),
        "NumPy": version("numpy"),
        "torch": version("torch"),
        "ultralytics": version("ultralytics-opencv-headless", "ultralytics"),
        "dlib": version("dlib-bin", "dlib"),
        "face_recognition": version("face-recognition"),
    })
    return out
