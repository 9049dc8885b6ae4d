"""Writing files safely: temp file in the same folder, then an atomic rename.

Either the complete file exists under its final name or nothing does; a full
disk or an unwritable folder raises ExportError naming the file and the reason.
A process killed mid-write leaves at most a hidden `.NAME.*.part` file, never a
truncated file under the final name.

The dataset formats (COCO, YOLO, VOC, CSV, results JSON, face crops) are in
`vision_studio.core.export.datasets`; file names made from labels or person
names go through `safe_filename`.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import unicodedata
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


def write_bytes(path: str | os.PathLike, data: bytes, overwrite: bool = True) -> Path:
    with atomic_write(path, overwrite=overwrite) as fh:
        fh.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, overwrite: bool = True) -> Path:
    return write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def image_bytes(rgb: np.ndarray, fmt: str, quality: int = 95) -> bytes:
    """Encode in memory (thumbnails for the HTML report)."""
    import io

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format=fmt, quality=int(quality))
    return buf.getvalue()


# Windows refuses these as file names whatever the extension ("NUL.txt" too).
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10)),
             *(f"COM{c}" for c in "¹²³"), *(f"LPT{c}" for c in "¹²³")}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def safe_filename(name: str, max_bytes: int = 120, fallback: str = "_") -> str:
    """A label or person name made into ONE path component that is valid on Linux, macOS and
    Windows: no separators or traversal ("../x" -> "_x"), no control or reserved characters,
    no reserved device names (CON, NUL, COM1, ...), no trailing dots/spaces, at most
    `max_bytes` UTF-8 bytes (file systems allow 255; room is left for suffixes)."""
    text = unicodedata.normalize("NFC", str(name))
    text = re.sub(r"\.{2,}", "_", _UNSAFE.sub("_", text)).strip(" .")
    text = re.sub(r"_{2,}", "_", text)
    if not text:
        return fallback
    if text.split(".")[0].upper().rstrip(" ") in _RESERVED:
        text = "_" + text
    raw = text.encode("utf-8")
    if len(raw) > max_bytes:
        text = raw[:max_bytes].decode("utf-8", errors="ignore").rstrip(" .") or fallback
    return text


def inside(folder: str | os.PathLike, target: str | os.PathLike) -> bool:
    """True when `target` resolves to a path inside `folder` (no traversal out of it)."""
    base = Path(folder).resolve()
    try:
        Path(target).resolve().relative_to(base)
    except ValueError:
        return False
    return True


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "disk full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (folder is not writable)"
    return exc.strerror or str(exc)
