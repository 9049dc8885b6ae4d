"""Every way an image enters the program.

`read_image` returns the decoded ORIGINAL (any dtype / channel count, EXIF
orientation applied) and one ANALYSIS array that every later stage can rely
on: RGB, uint8, H x W x 3, C-contiguous. Both arrays are read-only (copy before
drawing on them). Every failure is an `ImageReadError` whose message names the
file and the reason in one line.

Decoders (in `_decoders`), in order: Pillow (most formats, EXIF, palette,
CMYK), then tifffile for TIFFs Pillow cannot represent or would reduce to 8 bits
(16-bit RGB, float RGB, many channels), then OpenCV for what neither decodes
exactly (e.g. 16-bit colour PNG or PPM, Radiance HDR). OpenCV and tifffile are
imported lazily so that merely opening the window does not pay for them.
"""
from __future__ import annotations

import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vision_studio.core import _decoders
from vision_studio.core._decoders import DecodeError

log = logging.getLogger(__name__)

_FALLBACK_MAX_PIXELS = 250_000_000


def _max_pixels_from_env(default: int = _FALLBACK_MAX_PIXELS) -> int:
    """VISION_STUDIO_MAX_PIXELS as an int (0 = no limit); a bad value keeps `default`."""
    raw = os.environ.get("VISION_STUDIO_MAX_PIXELS", "").strip().replace("_", "")
    if not raw:
        return default
    try:
        value = int(raw) if raw.lstrip("+-").isdigit() else int(float(raw))
    except (ValueError, OverflowError):
        log.warning("ignoring VISION_STUDIO_MAX_PIXELS=%r (not a number); using %d", raw, default)
        return default
    return max(0, value)


DEFAULT_MAX_PIXELS = _max_pixels_from_env()

IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .jfif .png .bmp .dib .tif .tiff .webp .gif .ppm .pgm .pbm .pnm "
    ".tga .ico .jp2 .j2k .exr .hdr .pic .sr .ras .pfm .avif .heic .heif".split()
)

# What the extension promises, compared with what the content's magic number says.
_EXT_FORMAT = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".png": "PNG",
    ".gif": "GIF", ".bmp": "BMP", ".dib": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP",
    ".ppm": "PNM", ".pgm": "PNM", ".pbm": "PNM", ".pnm": "PNM", ".exr": "EXR", ".hdr": "HDR",
}


def _one_line(text: str) -> str:
    """Control characters (a newline in a file name, say) shown escaped, so str() stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ImageReadError(Exception):
    """An image could not be read. `str()` is the one line a user sees: 'path: reason'."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = Path(path)
        self.reason = _one_line(" ".join(str(reason).split()))
        super().__init__(f"{_one_line(str(self.path))}: {self.reason}")

    def __reduce__(self):  # picklable, e.g. across a process pool
        return (type(self), (self.path, self.reason))


@dataclass(frozen=True)
class ImageInfo:
    """What the FILE is. `dtype` is the dtype of `LoadedImage.original`."""

    path: Path
    format: str
    width: int  # upright, i.e. after EXIF orientation
    height: int
    channels: int  # channels stored in the file (a palette image has 1)
    bit_depth: int  # bits per sample stored in the file (1, 2, 4, 8, 16, 32)
    dtype: str
    mode: str  # the file's colour model: L, LA, RGB, RGBA, CMYK, P, 1, I;16, F, ...
    file_size: int
    exif_orientation: int | None = None
    has_camera: bool = False
    camera: str | None = None
    has_datetime: bool = False
    datetime: str | None = None
    has_gps: bool = False
    frames: int = 1
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["path"] = str(self.path)
        d["notes"] = list(self.notes)
        return d


@dataclass(frozen=True, eq=False)
class LoadedImage:
    info: ImageInfo
    # As decoded, orientation applied; gray is H x W, palette is expanded to RGB(A),
    # CMYK converted to RGB, 1-bit is 0/255 uint8; 16-bit and float stay as they are.
    original: np.ndarray
    pixels: np.ndarray = field(repr=False)  # analysis format: RGB uint8 H x W x 3

    @property
    def path(self) -> Path:
        return self.info.path

    @property
    def width(self) -> int:
        return self.info.width

    @property
    def height(self) -> int:
        return self.info.height


def is_image_path(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_images(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Images of a folder by extension, in natural (human) order; hidden files and folders skipped."""
    folder = Path(folder)
    it = folder.rglob("*") if recursive else folder.iterdir()
    files = [
        p for p in it
        if is_image_path(p) and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.is_file()
    ]
    return sorted(files, key=lambda p: (natural_key(p), str(p)))


_DIGITS = re.compile(r"(\d+)")


def natural_key(path: str | os.PathLike) -> list:
    """Sort key: digit runs compare as numbers ('img2' < 'img10'), text case-insensitively."""
    parts = _DIGITS.split(str(path))
    return [int(t) if i % 2 else t.lower() for i, t in enumerate(parts)]


def read_image(path: str | os.PathLike, max_pixels: int | None = None) -> LoadedImage:
    """Decode `path`; raise ImageReadError (never anything else) on failure.

    `max_pixels` caps width x height (checked from the header, before decoding);
    None means DEFAULT_MAX_PIXELS, 0 means no cap.
    """
    path = Path(path)
    return _load(path, _read_bytes(path), _limit(max_pixels))


def read_info(path: str | os.PathLike, max_pixels: int | None = None) -> ImageInfo:
    """Metadata of one image. Decodes the pixels too, so a truncated file is reported."""
    return read_image(path, max_pixels).info


def to_analysis_rgb(original: np.ndarray, mode: str | None = None) -> np.ndarray:
    """Any decoded array -> RGB uint8 H x W x 3, C-contiguous.

    Alpha is composited over white (what viewers and printers show); 16-bit is
    scaled by 1/257; float in [0, 1] is scaled by 255, other floats and ints are
    stretched min..max so a scientific image is visible rather than black.
    `mode="CMYK"` converts a 4-channel CMYK array instead of reading it as RGBA.
    """
    arr = np.asarray(original)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] == 0:
        raise ValueError(f"unsupported array shape {arr.shape}")
    if mode == "CMYK" and arr.shape[2] >= 4 and arr.dtype != np.bool_:
        arr = _decoders.cmyk_to_rgb(arr)
    channels = arr.shape[2]
    alpha = None
    if channels == 2:  # gray + alpha
        arr, alpha = arr[:, :, :1], arr[:, :, 1]
    elif channels == 4:
        arr, alpha = arr[:, :, :3], arr[:, :, 3]
    elif channels > 4:
        arr = arr[:, :, :3]
    rgb = _to_uint8(arr)
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    if alpha is not None:
        a = _alpha_fraction(alpha)[:, :, None]
        rgb = (rgb.astype(np.float32) * a + 255.0 * (1.0 - a) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(rgb)


def make_thumbnail(path: str | os.PathLike, size: int = 96, max_pixels: int | None = None) -> np.ndarray:
    """A small RGB uint8 preview (at most size x size), fast for JPEG (decoder draft mode)."""
    path = Path(path)
    data = _read_bytes(path)
    limit = _limit(max_pixels)
    thumb = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            thumb = _decoders.pil_thumbnail(data, max(1, int(size)), limit)
    except DecodeError as exc:  # above the pixel cap
        raise ImageReadError(path, str(exc)) from None
    except Exception:
        pass  # not for Pillow's fast path; read_image below names the real problem
    if thumb is not None:
        return to_analysis_rgb(thumb)
    return _downscale(_load(path, data, limit).pixels, max(1, int(size)))


# --------------------------------------------------------------------------- internals

def _limit(max_pixels: int | None) -> int:
    return DEFAULT_MAX_PIXELS if max_pixels is None else int(max_pixels)


def _read_bytes(path: Path) -> bytes:
    try:
        if path.is_dir():
            raise ImageReadError(path, "is a folder, not an image file")
        with open(path, "rb") as fh:
            data = fh.read()
    except ImageReadError:
        raise
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied (cannot read this file)") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a folder, not an image file") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file ({exc.strerror or exc})") from None
    except ValueError as exc:  # e.g. an embedded NUL character
        raise ImageReadError(path, f"invalid file name ({_decoders.short(exc)})") from None
    if not data:
        raise ImageReadError(path, "empty file (0 bytes)")
    return data


def _load(path: Path, data: bytes, limit: int) -> LoadedImage:
    sniffed = _decoders.sniff(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. Pillow's "palette with transparency"
            decoded = _decoders.decode(data, limit, sniffed)
            pixels = to_analysis_rgb(decoded.original)
    except DecodeError as exc:
        reason = str(exc)
        expected = _EXT_FORMAT.get(path.suffix.lower())
        if reason.startswith("not an image") and expected:
            reason += f"; the {path.suffix} extension promises {expected}"
        raise ImageReadError(path, reason) from None
    except MemoryError:
        raise ImageReadError(path, "not enough memory to decode this image") from None
    except Exception as exc:  # a decoder bug must still be one clear line
        raise ImageReadError(path, f"cannot decode image ({_decoders.short(exc)})") from exc
    original = decoded.original
    for arr in (original, pixels):
        arr.flags.writeable = False
    meta = {k: v for k, v in decoded.meta.items() if k in ImageInfo.__dataclass_fields__}
    info = ImageInfo(
        path=path, format=decoded.format, width=pixels.shape[1], height=pixels.shape[0],
        channels=decoded.channels, bit_depth=decoded.bit_depth, dtype=str(original.dtype),
        mode=decoded.mode, file_size=len(data), frames=decoded.frames,
        notes=_extension_note(path, sniffed) + tuple(decoded.notes), **meta,
    )
    return LoadedImage(info=info, original=original, pixels=pixels)


def _extension_note(path: Path, sniffed: str | None) -> tuple[str, ...]:
    expected = _EXT_FORMAT.get(path.suffix.lower())
    if expected and sniffed and expected != sniffed:
        return (f"extension says {expected} ({path.suffix}) but the content is {sniffed}",)
    return ()


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if arr.dtype == np.uint16:
        return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    a = arr.astype(np.float64)
    finite = np.isfinite(a)
    if not finite.any():
        return np.zeros(a.shape, np.uint8)
    lo, hi = float(a[finite].min()), float(a[finite].max())
    if not finite.all():  # NaN and -inf as the darkest value, +inf as the brightest
        a = np.where(finite, a, np.where(a == np.inf, hi, lo))
    if np.issubdtype(arr.dtype, np.floating) and lo >= 0 and hi <= 1.0:
        return (a * 255.0 + 0.5).astype(np.uint8)
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    return ((a - lo) * (255.0 / (hi - lo)) + 0.5).astype(np.uint8)


def _alpha_fraction(alpha: np.ndarray) -> np.ndarray:
    """Alpha as float32 0..1: integers by their type's full range, floats as 0..1."""
    if alpha.dtype == np.bool_:
        return alpha.astype(np.float32)
    if np.issubdtype(alpha.dtype, np.integer):
        return np.clip(alpha.astype(np.float32) / float(np.iinfo(alpha.dtype).max), 0.0, 1.0)
    a = np.nan_to_num(alpha.astype(np.float32), nan=1.0, posinf=1.0, neginf=0.0)
    return np.clip(a, 0.0, 1.0)


def _downscale(pixels: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    h, w = pixels.shape[:2]
    scale = min(1.0, size / max(h, w))
    if scale >= 1.0:
        return pixels
    im = Image.fromarray(pixels).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                        Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(im))
