"""Readers: one opened source, read frame by frame from ONE thread (the capture thread).

A reader gives RGB uint8 frames with their timestamp in seconds (media time for files
and folders, time since opening for cameras and streams). `read()` returns None at
the end of a file and raises SourceError when the source broke. Streams are opened
through FFmpeg with OpenCV's open/read timeouts, so a server that accepts the
connection and never sends gives up in `timeout` seconds instead of hanging.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vision_studio.core.sources.spec import SourceError, SourceSpec, camera_backend

OPEN_TIMEOUT_S = 4.0  # OpenCV's own limit; Capture's thread backstop is 5 s


@dataclass(frozen=True)
class SourceInfo:
    width: int
    height: int
    fps: float  # the rate to show frames at (nominal for files, as reported for cameras)
    frame_count: int | None = None  # files and folders
    seekable: bool = False
    backend: str = ""

    @property
    def duration(self) -> float | None:
        return self.frame_count / self.fps if self.frame_count and self.fps else None


class CvReader:
    """A cv2.VideoCapture: video files, cameras, stream URLs."""

    def __init__(self, spec: SourceSpec, timeout: float = OPEN_TIMEOUT_S):
        import cv2

        self.spec = spec
        self._t0 = time.monotonic()
        self._index = -1
        ms = int(timeout * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        if spec.kind == "camera":
            self._cap = cv2.VideoCapture(int(spec.target), camera_backend(), params)
            if self._cap.isOpened():
                self._apply_format()
        elif spec.kind == "stream":
            self._cap = cv2.VideoCapture(spec.target, cv2.CAP_FFMPEG, params)
        else:
            self._cap = cv2.VideoCapture(spec.target, cv2.CAP_FFMPEG)
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(self._open_reason(timeout))
        w = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not 0.5 < fps < 1000:  # streams often report 0 or 90000
            fps = spec.fps or 30.0
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if spec.kind == "video" else 0
        if spec.kind == "video" and (w <= 0 or h <= 0 or count <= 0):
            self._cap.release()
            raise SourceError(f"{spec.label}: no video frames in this file (not a video, or damaged)")
        self.info = SourceInfo(w, h, fps, count or None, seekable=spec.kind == "video",
                               backend=self._cap.getBackendName())

    def _open_reason(self, timeout: float) -> str:
        s = self.spec
        if s.kind == "camera":
            return f"{s.label}: cannot open this camera (not connected, or in use by another program)"
        if s.kind == "stream":
            if time.monotonic() - self._t0 >= timeout * 0.9:
                return f"{s.label}: no video within {timeout:.0f} s (the server accepted but sent nothing)"
            return f"{s.label}: cannot open this stream (unreachable, refused, or not a video)"
        return f"{s.label}: cannot open this video (not a video file OpenCV can read, or damaged)"

    def _apply_format(self) -> None:
        import cv2

        s = self.spec
        if s.width and s.height and s.width * s.height > 640 * 480:
            # Most USB webcams deliver large frames at full rate only as MJPEG.
            self._cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        if s.width:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, s.width)
        if s.height:
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, s.height)
        if s.fps:
            self._cap.set(cv2.CAP_PROP_FPS, s.fps)
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not one queued seconds ago

    def read(self) -> tuple[np.ndarray, float] | None:
        import cv2

        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            if self.spec.kind == "video":
                return None  # Capture tells the end from a truncation by the frame count
            raise SourceError(f"{self.spec.label}: stopped delivering frames")
        self._index += 1
        if self.spec.kind == "video":
            ts = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if ts <= 0 and self._index > 0:
                ts = self._index / self.info.fps
        else:
            ts = time.monotonic() - self._t0
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), ts

    @property
    def position(self) -> int:
        """Index of the frame last read."""
        return self._index

    def seek(self, index: int) -> None:
        import cv2

        index = max(0, min(int(index), (self.info.frame_count or 1) - 1))
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._index = int(self._cap.get(cv2.CAP_PROP_POS_FRAMES)) - 1

    def close(self) -> None:
        self._cap.release()


class FolderReader:
    """A folder of images played as a sequence at `spec.fps` (default 5 fps)."""

    def __init__(self, spec: SourceSpec):
        from vision_studio.core.image_io import list_images

        self.spec = spec
        self.files = list_images(spec.target)
        if not self.files:
            raise SourceError(f"{spec.label}: no images in this folder")
        first = self._load(0)
        self._first = first
        self._index = -1
        fps = spec.fps or 5.0
        self.info = SourceInfo(first.shape[1], first.shape[0], fps, len(self.files), seekable=True,
                               backend="images")

    def _load(self, i: int) -> np.ndarray:
        from vision_studio.core.image_io import ImageReadError, read_image

        try:
            return read_image(self.files[i]).pixels
        except ImageReadError as exc:
            raise SourceError(str(exc)) from None

    def read(self) -> tuple[np.ndarray, float] | None:
        if self._index + 1 >= len(self.files):
            return None
        self._index += 1
        pixels = self._first if self._index == 0 and self._first is not None else self._load(self._index)
        self._first = None
        return pixels, self._index / self.info.fps

    @property
    def position(self) -> int:
        return self._index

    def seek(self, index: int) -> None:
        self._index = max(0, min(int(index), len(self.files) - 1)) - 1

    def close(self) -> None:
        self._first = None


def open_reader(spec: SourceSpec, timeout: float = OPEN_TIMEOUT_S):
    """Open `spec` (blocking up to ~timeout for streams); SourceError with a one-line reason."""
    if spec.kind == "folder":
        return FolderReader(spec)
    if spec.kind == "video" and not Path(spec.target).is_file():
        raise SourceError(f"{spec.label}: no such file")
    return CvReader(spec, timeout)
