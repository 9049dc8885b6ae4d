"""Writing files safely: temp file in the same folder, then an atomic rename.

Either the complete file exists under its final name or nothing does; a full
disk or an unwritable folder raises ExportError naming the file and the reason.
"""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


class ExportError(Exception):
    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
           ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP", ".gif": "GIF"}


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, overwrite: bool = True):
    """Yield a binary file object; on success it replaces `path` in one step."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ExportError(path, "already exists (choose overwrite to replace it)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(path, f"folder does not exist: {folder}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise ExportError(path, _reason(exc)) from None
    # mkstemp makes the file 0600; a written image should get the usual umask-based mode.
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ExportError(path, _reason(exc)) from None
        raise


def save_image(path: str | os.PathLike, rgb: np.ndarray, quality: int = 95, overwrite: bool = True) -> Path:
    """Save an RGB (H x W x 3) or gray (H x W) uint8 image; the format comes from the extension."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ExportError(path, f"unsupported image format {path.suffix or '(no extension)'}; "
                                f"use one of {', '.join(sorted(FORMATS))}")
    image = Image.fromarray(np.ascontiguousarray(rgb))
    options = {"quality": int(quality)} if fmt in ("JPEG", "WEBP") else {}
    if fmt == "TIFF":
        options = {"compression": "tiff_deflate"}
    with atomic_write(path, overwrite=overwrite) as fh:
        image.save(fh, format=fmt, **options)
    return path


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "disk full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (folder is not writable)"
    return exc.strerror or str(exc)
