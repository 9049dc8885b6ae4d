"""What a source string means, and which cameras this machine has.

    parse_source("clip.mp4")            -> SourceSpec(kind="video", target="clip.mp4")
    parse_source("camera:0")            -> kind "camera", target "0"   (also "/dev/video0" on Linux)
    parse_source("rtsp://cam/stream")   -> kind "stream"                (any scheme://…)
    parse_source("shots/")              -> kind "folder": its images played as a sequence

Cameras: on Linux the V4L2 nodes (/dev/videoN) with the names the kernel gives in
/sys/class/video4linux/videoN/name (no device is opened, so listing is instant and
never steals a camera from another program). Elsewhere OpenCV has no device names;
indices are probed with the backend that works best per OS (DirectShow on Windows,
whose index order matches the OS's device list and which honours resolution
requests better than MSMF; AVFoundation on macOS).
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".avi", ".mkv", ".mov", ".webm", ".wmv", ".flv", ".mpg",
                              ".mpeg", ".ts", ".mts", ".m2ts", ".3gp", ".ogv", ".mjpeg", ".mjpg", ".y4m"})
KINDS = ("camera", "video", "stream", "folder")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_CAMERA = re.compile(r"^(?:camera|cam|webcam):(\d+)$", re.IGNORECASE)
_DEV_VIDEO = re.compile(r"^/dev/video(\d+)$")


class SourceError(Exception):
    """A source that cannot be opened or read; the message is one line naming it and the reason."""


@dataclass(frozen=True)
class SourceSpec:
    """A source and the capture format asked for (None: the device's default)."""

    kind: str
    target: str  # a path, a URL or a camera index as text
    width: int | None = None
    height: int | None = None
    fps: float | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown source kind {self.kind!r} (expected one of {KINDS})")

    @property
    def live(self) -> bool:
        """Cameras and streams deliver at their own pace and cannot seek."""
        return self.kind in ("camera", "stream")

    @property
    def label(self) -> str:
        if self.kind == "camera":
            return f"camera:{self.target}"
        if self.kind == "stream":
            return _redact(self.target)
        return self.target

    @property
    def stem(self) -> str:
        """A file-name stem for outputs: clip.mp4 -> clip, camera:0 -> camera0, a URL -> host_path."""
        if self.kind == "camera":
            return f"camera{self.target}"
        if self.kind == "stream":
            rest = _URL.sub("", _redact(self.target)).split("?")[0]
            rest = rest.split("@")[-1]
            return re.sub(r"[^A-Za-z0-9._-]+", "_", rest).strip("._") or "stream"
        p = Path(self.target)
        return p.stem if self.kind == "video" else (p.name or "sequence")


def _redact(url: str) -> str:
    """rtsp://user:secret@host -> rtsp://user:***@host (URLs end up in status lines and logs)."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^/:@]+):[^/@]*@", r"\1:***@", url)


def is_video_path(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def is_live_input(text: str) -> bool:
    """True for what `vision-studio analyze` sends to the video path: a video file, a URL, camera:N."""
    text = str(text)
    return bool(_URL.match(text) or _CAMERA.match(text) or _DEV_VIDEO.match(text)) or is_video_path(text)


def parse_source(text: str, width: int | None = None, height: int | None = None,
                 fps: float | None = None) -> SourceSpec:
    """Source string -> SourceSpec; SourceError for what cannot be a source (a missing file, …)."""
    text = str(text).strip()
    if not text:
        raise SourceError("empty source: give a video file, a folder of images, a URL or camera:N")
    for value, name in ((width, "width"), (height, "height")):
        if value is not None and int(value) <= 0:
            raise SourceError(f"{text}: {name} must be positive, got {value}")
    if fps is not None and float(fps) <= 0:
        raise SourceError(f"{text}: fps must be positive, got {fps}")
    fmt = {"width": int(width) if width else None, "height": int(height) if height else None,
           "fps": float(fps) if fps else None}
    m = _CAMERA.match(text) or _DEV_VIDEO.match(text)
    if m:
        return SourceSpec("camera", str(int(m.group(1))), **fmt)
    if _URL.match(text):
        if text.lower().startswith("file://"):
            return parse_source(text[7:], width, height, fps)
        return SourceSpec("stream", text, **fmt)
    path = Path(text).expanduser()
    if path.is_dir():
        return SourceSpec("folder", str(path), **fmt)
    if not path.exists():
        raise SourceError(f"{text}: no such file or folder")
    if not path.is_file():
        raise SourceError(f"{text}: not a regular file")
    return SourceSpec("video", str(path), **fmt)


@dataclass(frozen=True)
class CameraInfo:
    index: int
    name: str
    device: str | None = None  # /dev/videoN on Linux

    @property
    def source(self) -> str:
        return f"camera:{self.index}"


def camera_backend() -> int:
    """The OpenCV capture API to open cameras with on this OS."""
    import cv2

    if sys.platform.startswith("win"):
        return cv2.CAP_DSHOW
    if sys.platform == "darwin":
        return cv2.CAP_AVFOUNDATION
    if sys.platform.startswith("linux"):
        return cv2.CAP_V4L2
    return cv2.CAP_ANY


def list_cameras(max_probe: int = 6, sysfs: str | os.PathLike = "/sys/class/video4linux",
                 dev: str | os.PathLike = "/dev") -> list[CameraInfo]:
    """Cameras present now. Linux: read sysfs (no device opened); other OSes: probe 0..max_probe-1."""
    if sys.platform.startswith("linux"):
        return _linux_cameras(Path(sysfs), Path(dev))
    return _probe_cameras(max_probe)


def _linux_cameras(sysfs: Path, dev: Path) -> list[CameraInfo]:
    found = []
    for node in sorted(dev.glob("video*"), key=lambda p: int(p.name[5:]) if p.name[5:].isdigit() else 1 << 30):
        if not node.name[5:].isdigit():
            continue
        index = int(node.name[5:])
        info = sysfs / node.name
        name = _read(info / "name") or f"Camera {index}"
        # A UVC webcam exposes two nodes: index 0 captures, index 1 carries metadata only.
        if _read(info / "index") not in (None, "0"):
            continue
        found.append(CameraInfo(index, name, str(node)))
    return found


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip() or None
    except OSError:
        return None


def _probe_cameras(max_probe: int) -> list[CameraInfo]:
    import cv2

    backend = camera_backend()
    found = []
    for index in range(max_probe):
        cap = cv2.VideoCapture(index, backend)
        try:
            if cap.isOpened():
                found.append(CameraInfo(index, f"Camera {index}"))
        finally:
            cap.release()
    return found
