"""Every way an image enters the program.

`read_image` returns the decoded ORIGINAL (any dtype / channel count, EXIF
orientation applied) and one ANALYSIS array that every later stage can rely
on: RGB, uint8, H x W x 3, C-contiguous. Every failure is an `ImageReadError`
whose message names the file and the reason in one line.

Decoders, in order: Pillow (most formats, EXIF, palette, CMYK), then tifffile
for TIFFs Pillow cannot represent (16-bit RGB, float RGB, many channels), then
OpenCV for what neither knows (e.g. 16-bit RGB PNG, EXR, HDR). OpenCV is
imported lazily so that merely opening the window does not pay for it.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow's own bomb check warns at 89 MP and raises at 179 MP; we enforce our
# own, configurable cap instead (see DEFAULT_MAX_PIXELS) before decoding.
Image.MAX_IMAGE_PIXELS = None

DEFAULT_MAX_PIXELS = int(os.environ.get("VISION_STUDIO_MAX_PIXELS", 250_000_000))

IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .jfif .png .bmp .dib .tif .tiff .webp .gif .ppm .pgm .pbm .pnm "
    ".tga .ico .jp2 .j2k .exr .hdr .pic .sr .ras .pfm .avif .heic .heif".split()
)

# Magic numbers of the formats we name in messages (content beats extension).
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
    (b"v/1\x01", "EXR"),
    (b"#?RADIANCE", "HDR"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG2000"),
)
_EXT_FORMAT = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".png": "PNG",
    ".gif": "GIF", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP",
}
_EXIF_ORIENTATION = 0x0112
_EXIF_MAKE, _EXIF_MODEL, _EXIF_DATETIME = 0x010F, 0x0110, 0x0132
_EXIF_GPS_IFD = 0x8825
_EXIF_IFD, _EXIF_DATETIME_ORIGINAL = 0x8769, 0x9003


class ImageReadError(Exception):
    """An image could not be read. `str()` is the one line a user sees."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class ImageInfo:
    path: Path
    format: str
    width: int
    height: int
    channels: int
    bit_depth: int
    dtype: str
    mode: str  # what the channels mean: L, LA, RGB, RGBA, CMYK, P, ...
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
    original: np.ndarray  # as decoded, orientation applied; gray is H x W
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
    """Images of a folder by extension, in natural (human) order."""
    folder = Path(folder)
    it = folder.rglob("*") if recursive else folder.iterdir()
    files = [p for p in it if p.is_file() and is_image_path(p) and not p.name.startswith(".")]
    return sorted(files, key=natural_key)


def natural_key(path: Path) -> list:
    import re

    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


def read_image(path: str | os.PathLike, max_pixels: int | None = None) -> LoadedImage:
    """Decode `path`; raise ImageReadError (never anything else) on failure."""
    path = Path(path)
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    data = _read_bytes(path)
    sniffed = _sniff(data)
    notes = _extension_note(path, sniffed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. Pillow's "palette with transparency"
            return _decode(path, data, sniffed, limit, notes)
    except ImageReadError:
        raise
    except MemoryError:
        raise ImageReadError(path, "not enough memory to decode this image") from None
    except Exception as exc:  # a decoder bug must still be one clear line
        raise ImageReadError(path, f"cannot decode image ({_short(exc)})") from exc


def read_info(path: str | os.PathLike, max_pixels: int | None = None) -> ImageInfo:
    """Metadata of one image. Decodes the pixels too, so a truncated file is reported."""
    return read_image(path, max_pixels).info


# --------------------------------------------------------------------------- internals

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
        raise ImageReadError(path, "permission denied") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a folder, not an image file") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file ({exc.strerror or exc})") from None
    if not data:
        raise ImageReadError(path, "empty file (0 bytes)")
    return data


def _sniff(data: bytes) -> str | None:
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:12] in (b"ftypavif", b"ftypheic", b"ftypmif1"):
        return "AVIF/HEIF"
    return None


def _extension_note(path: Path, sniffed: str | None) -> tuple[str, ...]:
    expected = _EXT_FORMAT.get(path.suffix.lower())
    if expected and sniffed and expected != sniffed:
        return (f"extension says {expected} but the content is {sniffed}",)
    return ()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _check_size(path: Path, width: int, height: int, limit: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageReadError(path, f"invalid image size {width}x{height}")
    if limit and width * height > limit:
        raise ImageReadError(
            path,
            f"image is {width}x{height} = {width * height / 1e6:.0f} megapixels, above the "
            f"{limit / 1e6:.0f} MP limit (a possible decompression bomb; raise the limit in "
            "Preferences or with VISION_STUDIO_MAX_PIXELS)",
        )


def _needs_other_decoder(im: Image.Image, data: bytes) -> bool:
    """Pillow silently drops precision for 16-bit colour PNGs; let OpenCV decode those."""
    if im.format == "PNG" and len(data) > 25:
        bit_depth, color_type = data[24], data[25]
        return bit_depth == 16 and color_type in (2, 6)
    return False


def _decode(path: Path, data: bytes, sniffed: str | None, limit: int, notes) -> LoadedImage:
    pil_error: Exception | None = None
    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        pil_error = exc
        im = None
    except Image.DecompressionBombError as exc:  # pragma: no cover - cap disabled above
        raise ImageReadError(path, _short(exc)) from None
    except (OSError, SyntaxError, ValueError) as exc:
        pil_error = exc
        im = None

    if im is not None:
        with im:
            _check_size(path, im.width, im.height, limit)
            if not _needs_other_decoder(im, data):
                try:
                    return _from_pil(path, im, data, notes)
                except (OSError, SyntaxError, ValueError) as exc:
                    if im.format != "TIFF":
                        raise ImageReadError(path, _pil_reason(exc)) from None
                    pil_error = exc
            exif_orientation = _orientation(im)
    else:
        exif_orientation = None

    if sniffed == "TIFF":
        return _from_tifffile(path, data, limit, notes, pil_error)
    return _from_opencv(path, data, sniffed, limit, notes, exif_orientation, pil_error)


def _pil_reason(exc: Exception) -> str:
    text = _short(exc)
    low = text.lower()
    if "truncated" in low or "broken data stream" in low or "premature end" in low:
        return f"truncated or damaged image data ({text})"
    return f"corrupt image data ({text})"


def _orientation(im: Image.Image) -> int | None:
    try:
        value = im.getexif().get(_EXIF_ORIENTATION)
    except Exception:
        return None
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else None


def _exif_summary(im: Image.Image) -> dict:
    try:
        exif = im.getexif()
    except Exception:
        return {}
    make = str(exif.get(_EXIF_MAKE, "")).strip("\x00 ")
    model = str(exif.get(_EXIF_MODEL, "")).strip("\x00 ")
    date = exif.get(_EXIF_DATETIME)
    try:
        date = exif.get_ifd(_EXIF_IFD).get(_EXIF_DATETIME_ORIGINAL) or date
        gps = bool(exif.get_ifd(_EXIF_GPS_IFD))
    except Exception:
        gps = _EXIF_GPS_IFD in exif
    camera = " ".join(p for p in (make, model) if p and not model.startswith(make)) or model
    return {
        "exif_orientation": _orientation(im),
        "has_camera": bool(camera), "camera": camera or None,
        "has_datetime": bool(date), "datetime": str(date).strip("\x00 ") if date else None,
        "has_gps": gps,
    }


def _bit_depth(mode: str, data: bytes, fmt: str | None) -> int:
    if mode == "1":
        return 1
    if mode in ("I;16", "I;16B", "I;16L"):
        return 16
    if mode in ("I", "F"):
        return 32
    if fmt == "PNG" and len(data) > 24 and data[24] in (1, 2, 4) and mode in ("L", "P"):
        return int(data[24])
    return 8


def _info_from_pil(path, im, data, notes, oriented_size=False, **extra) -> ImageInfo:
    meta = _exif_summary(im)
    width, height = im.size
    if oriented_size and meta.get("exif_orientation") in (5, 6, 7, 8):
        width, height = height, width
    bands = len(im.getbands())
    kwargs = dict(
        path=path, format=im.format or "unknown", width=width, height=height,
        channels=bands, bit_depth=_bit_depth(im.mode, data, im.format),
        dtype=_PIL_DTYPE.get(im.mode, "uint8"), mode=im.mode, file_size=len(data),
        frames=int(getattr(im, "n_frames", 1) or 1), notes=tuple(notes), **meta,
    )
    kwargs.update(extra)
    return ImageInfo(**kwargs)


_PIL_DTYPE = {"1": "bool", "I;16": "uint16", "I;16B": "uint16", "I;16L": "uint16",
              "I": "int32", "F": "float32"}


def _from_pil(path: Path, im: Image.Image, data: bytes, notes) -> LoadedImage:
    frames = int(getattr(im, "n_frames", 1) or 1)
    if frames > 1:
        im.seek(0)  # GIF/APNG/multi-page TIFF: the first frame is the image
    info = _info_from_pil(path, im, data, notes)
    im.load()  # decode now so truncation surfaces here as OSError
    oriented = ImageOps.exif_transpose(im) if info.exif_orientation not in (None, 1) else im
    original = _pil_to_array(oriented)
    pixels = to_analysis_rgb(original, oriented.mode)
    h, w = pixels.shape[:2]
    info = ImageInfo(**{**info.__dict__, "width": w, "height": h})
    return LoadedImage(info=info, original=original, pixels=pixels)


def _pil_to_array(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode == "P" or mode == "PA":
        im = im.convert("RGBA" if ("transparency" in im.info or mode == "PA") else "RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        im = im.convert("RGB")  # naive CMYK->RGB; no ICC colour management yet
    elif mode in ("La", "RGBa"):  # premultiplied alpha
        im = im.convert({"La": "LA", "RGBa": "RGBA"}[mode])
    arr = np.asarray(im)
    if arr.dtype.byteorder == ">":  # I;16B
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if im.mode == "I" and arr.size and arr.min() >= 0 and arr.max() <= 65535:
        arr = arr.astype(np.uint16)  # 16-bit TIFF/PNG decoded as 32-bit "I"
    return np.ascontiguousarray(arr)


def to_analysis_rgb(original: np.ndarray, mode: str | None = None) -> np.ndarray:
    """Any decoded array -> RGB uint8 H x W x 3, C-contiguous.

    Alpha is composited over white (what viewers and printers show); 16-bit is
    scaled by 1/257; float in [0, 1] is scaled by 255, other floats and ints are
    stretched min..max so a scientific image is visible rather than black.
    """
    arr = original
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"unsupported array shape {original.shape}")
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
        a = _to_uint8(alpha[:, :, None]).astype(np.float32) / 255.0
        rgb = (rgb.astype(np.float32) * a + 255.0 * (1.0 - a) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(rgb)


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if arr.dtype == np.uint16:
        return (arr // 257).astype(np.uint8)
    a = arr.astype(np.float64)
    finite = np.isfinite(a)
    if not finite.all():
        a = np.where(finite, a, 0.0)
    if np.issubdtype(arr.dtype, np.floating) and a.min(initial=0) >= 0 and a.max(initial=0) <= 1.0:
        return (a * 255.0 + 0.5).astype(np.uint8)
    lo, hi = float(a.min(initial=0)), float(a.max(initial=0))
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    return ((a - lo) * (255.0 / (hi - lo)) + 0.5).astype(np.uint8)


def _from_tifffile(path, data, limit, notes, pil_error) -> LoadedImage:
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages.first
            shape = page.shape
            photometric = getattr(page.photometric, "name", str(page.photometric))
            h, w = (shape[0], shape[1]) if page.planarconfig != 2 or len(shape) == 2 else (shape[1], shape[2])
            _check_size(path, int(w), int(h), limit)
            arr = page.asarray()
            orientation = page.tags.get("Orientation")
            orientation = int(orientation.value) if orientation is not None else None
            frames = len(tif.pages)
    except ImageReadError:
        raise
    except Exception as exc:
        reason = _short(exc)
        if pil_error is not None and "truncat" in str(pil_error).lower():
            reason = _pil_reason(pil_error)
        raise ImageReadError(path, f"unreadable TIFF ({reason})") from None
    if arr.ndim == 3 and page.planarconfig == 2 and arr.shape[0] <= 4:
        arr = np.moveaxis(arr, 0, -1)  # planar (C, H, W) -> (H, W, C)
    if arr.ndim > 3:
        arr = arr.reshape(arr.shape[-3:]) if arr.shape[-1] <= 4 else arr[(0,) * (arr.ndim - 2)]
    arr = _apply_orientation(np.ascontiguousarray(arr), orientation)
    pixels = to_analysis_rgb(arr)
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}.get(channels, f"{channels}-channel")
    if photometric == "SEPARATED":
        mode = "CMYK"
    info = ImageInfo(
        path=path, format="TIFF", width=pixels.shape[1], height=pixels.shape[0],
        channels=channels, bit_depth=arr.dtype.itemsize * 8 if arr.dtype != np.bool_ else 1,
        dtype=str(arr.dtype), mode=mode, file_size=len(data), exif_orientation=orientation,
        frames=frames, notes=tuple(notes),
    )
    return LoadedImage(info=info, original=arr, pixels=pixels)


def _from_opencv(path, data, sniffed, limit, notes, exif_orientation, pil_error) -> LoadedImage:
    import cv2

    buf = np.frombuffer(data, np.uint8)
    arr = None
    try:
        arr = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        if "imread" in str(exc) and "pixels" in str(exc).lower():
            raise ImageReadError(path, "image too large for OpenCV's pixel limit") from None
    if arr is None:
        if sniffed is None:
            head = data[:64]
            text_like = head and all(32 <= b < 127 or b in (9, 10, 13) for b in head)
            what = "a text file" if text_like else "an unknown format"
            raise ImageReadError(path, f"not an image: content is {what}")
        if pil_error is not None:
            raise ImageReadError(path, _pil_reason(pil_error)) from None
        raise ImageReadError(path, f"corrupt or unsupported {sniffed} data")
    _check_size(path, arr.shape[1], arr.shape[0], limit)
    if arr.ndim == 3 and arr.shape[2] >= 3:  # OpenCV decodes BGR(A)
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    arr = _apply_orientation(arr, exif_orientation)
    pixels = to_analysis_rgb(arr)
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    info = ImageInfo(
        path=path, format=sniffed or path.suffix.lstrip(".").upper() or "unknown",
        width=pixels.shape[1], height=pixels.shape[0], channels=channels,
        bit_depth=arr.dtype.itemsize * 8, dtype=str(arr.dtype),
        mode={1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}.get(channels, f"{channels}-channel"),
        file_size=len(data), exif_orientation=exif_orientation, notes=tuple(notes),
    )
    return LoadedImage(info=info, original=np.ascontiguousarray(arr), pixels=pixels)


def _apply_orientation(arr: np.ndarray, orientation: int | None) -> np.ndarray:
    """EXIF orientation 1..8 -> upright, on a (H, W, ...) array."""
    if orientation in (None, 1):
        return arr
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.swapaxes(a, 0, 1)[::-1],
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(arr)) if op else arr


def make_thumbnail(path: str | os.PathLike, size: int = 96, max_pixels: int | None = None) -> np.ndarray:
    """A small RGB uint8 preview, fast for JPEG (decoder draft mode)."""
    path = Path(path)
    data = _read_bytes(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                _check_size(path, im.width, im.height,
                            DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels)
                if im.format == "JPEG":
                    im.draft("RGB", (size * 2, size * 2))
                if im.mode in ("RGB", "L", "RGBA", "P", "LA", "PA", "CMYK", "1") and not _needs_other_decoder(im, data):
                    im.load()
                    im = ImageOps.exif_transpose(im)
                    im.thumbnail((size, size))
                    return to_analysis_rgb(_pil_to_array(im), im.mode)
    except ImageReadError:
        raise
    except Exception:
        pass
    loaded = read_image(path, max_pixels)  # slow path: exotic formats
    return _downscale(loaded.pixels, size)


def _downscale(pixels: np.ndarray, size: int) -> np.ndarray:
    h, w = pixels.shape[:2]
    scale = min(1.0, size / max(h, w))
    if scale >= 1.0:
        return pixels
    im = Image.fromarray(pixels).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                        Image.Resampling.BILINEAR)
    return np.asarray(im)
