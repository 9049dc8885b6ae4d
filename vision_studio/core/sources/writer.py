"""Annotated video out: an MP4 written under a temporary name, renamed when complete.

    with VideoWriter("out/clip.annotated.mp4", fps=30) as w:
        for rgb in frames:
            w.write(rgb)                  # the first frame fixes the size; others are resized to it
    w.size_bytes, w.elapsed, w.frames

Codec: "mp4v" (MPEG-4 Part 2). The OpenCV wheels on PyPI carry no H.264 encoder:
"avc1" fails here ("Could not open codec h264_v4l2m2m"), so it is only tried when asked.
The file is `.NAME.XXXX.part.mp4` in the target folder while it grows (the .mp4
suffix tells FFmpeg the container); a failure or `abort()` deletes it, so a reader
never finds a half-written video under the real name.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from vision_studio.core.sources.spec import SourceError

DEFAULT_CODEC = "mp4v"


class VideoWriter:
    def __init__(self, path: str | os.PathLike, fps: float, codec: str = DEFAULT_CODEC, overwrite: bool = True):
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise SourceError(f"{self.path}: already exists")
        if not self.path.parent.is_dir():
            raise SourceError(f"{self.path}: folder does not exist: {self.path.parent}")
        self.fps = float(fps) if fps and 0.5 < fps < 1000 else 30.0
        self.codec = codec
        self.frames = 0
        self.size: tuple[int, int] | None = None  # (width, height)
        self._writer = None
        self._started = time.monotonic()
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".part.mp4", dir=self.path.parent)
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot write here ({exc.strerror or exc})") from None
        os.close(fd)
        self._tmp = Path(tmp)
        self.closed = False

    def write(self, rgb: np.ndarray) -> None:
        import cv2

        if self.closed:
            raise SourceError(f"{self.path}: the video is already closed")
        if self._writer is None:
            h, w = rgb.shape[:2]
            self.size = (w - w % 2, h - h % 2)  # yuv420p needs even sizes
            self._writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*self.codec), self.fps, self.size)
            if not self._writer.isOpened():
                self.abort()
                raise SourceError(f"{self.path}: cannot encode {self.codec!r} video here")
        frame = rgb if rgb.ndim == 3 else np.repeat(rgb[:, :, None], 3, axis=2)
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
        self.frames += 1

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    @property
    def size_bytes(self) -> int:
        target = self.path if self.closed else self._tmp
        try:
            return target.stat().st_size
        except OSError:
            return 0

    def close(self) -> Path:
        """Finish the file and move it into place; SourceError when nothing was written."""
        if self.closed:
            return self.path
        if self._writer is None:
            self.abort()
            raise SourceError(f"{self.path}: no frames to write")
        self._writer.release()
        self._writer = None
        try:
            os.chmod(self._tmp, 0o666 & ~_umask())
            os.replace(self._tmp, self.path)
        except OSError as exc:
            self.abort()
            raise SourceError(f"{self.path}: cannot write ({exc.strerror or exc})") from None
        self.closed = True
        return self.path

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        with contextlib.suppress(OSError):
            self._tmp.unlink()
        self.closed = True

    def __enter__(self) -> VideoWriter:  # noqa: PYI034 - not subclassed
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
