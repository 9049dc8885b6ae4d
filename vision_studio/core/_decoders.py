"""Format decoders behind `image_io.read_image` (private module).

Every decoder gets the file's bytes and returns a `Decoded` (the original array
plus what the file says about itself) or raises `DecodeError(reason)`; the
caller adds the path. Nothing here knows about paths, Qt or the analysis format.

Order: Pillow (most formats, EXIF, palette, CMYK), then tifffile for TIFFs that
Pillow cannot represent or would reduce to 8 bits (16-bit RGB, float RGB, many
channels), then OpenCV for what neither handles exactly (16-bit colour PNG and
PPM, Radiance HDR, ...). tifffile and OpenCV are imported lazily.
"""
from __future__ import annotations

import io
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageFile, ImageOps

# Pillow's own bomb check warns at 89 MP and raises at 179 MP; image_io enforces
# its own, configurable cap instead (see check_size), before decoding.
Image.MAX_IMAGE_PIXELS = None


class DecodeError(Exception):
    """The one-line reason an image cannot be decoded (without the path)."""


@dataclass
class Decoded:
    original: np.ndarray  # orientation applied; gray is H x W
    format: str
    mode: str  # the file's colour model: L, LA, RGB, RGBA, CMYK, P, 1, ...
    channels: int  # channels stored in the file
    bit_depth: int  # bits per sample stored in the file
    frames: int = 1
    meta: dict = field(default_factory=dict)  # EXIF summary (ImageInfo fields)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- sniffing

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
    (b"v/1\x01", "EXR"),
    (b"#?RADIANCE", "HDR"),
    (b"#?RGBE", "HDR"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG2000"),
)
_BMP_HEADER_SIZES = (12, 16, 40, 52, 56, 64, 108, 124)


def sniff(data: bytes) -> str | None:
    """The format the content claims by its magic number, or None."""
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            return name
    if data[:2] == b"BM" and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES:
        return "BMP"  # "BM" alone would make a text file starting with "BMW" a BMP
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:12] in (b"ftypavif", b"ftypavis", b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "AVIF/HEIF"
    if len(data) > 2 and data[0:1] == b"P" and data[1:2] in b"123456" and data[2:3].isspace():
        return "PNM"
    return None


def describe_unknown(data: bytes) -> str:
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at 512 is still text
        text = head[: exc.start].decode("utf-8") if exc.start > len(head) - 4 else None
    if text is not None and all(c.isprintable() or c in "\t\r\n" for c in text):
        return "not an image (the content is text)"
    return "not an image (unknown content, no known image signature)"


# --------------------------------------------------------------------------- limits, reasons

def megapixels(n: int) -> str:
    mp = n / 1e6
    return f"{mp:.0f}" if mp >= 10 else f"{mp:.3g}"


def check_size(width: int, height: int, limit: int | None) -> None:
    """Raise DecodeError when the header's size is invalid or above `limit` pixels."""
    if width <= 0 or height <= 0:
        raise DecodeError(f"invalid image size {width}x{height}")
    if limit is not None and limit > 0 and width * height > limit:
        raise DecodeError(
            f"image is {width}x{height} = {megapixels(width * height)} megapixels, above the "
            f"limit of {limit:,} pixels ({megapixels(limit)} MP); a possible decompression bomb, "
            "so it was not decoded (raise the limit in Preferences or with VISION_STUDIO_MAX_PIXELS)"
        )


_OBJECT_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-fA-F]+>")


def short(exc: BaseException) -> str:
    """The first line of an exception's text, without object reprs, at most 200 chars."""
    text = _OBJECT_REPR.sub("", str(exc)).strip()
    text = text.splitlines()[0].strip() if text else ""
    return (text or type(exc).__name__)[:200]


def _looks_truncated(data: bytes, fmt: str | None) -> bool:
    """The file lacks its format's end marker or is shorter than its header says."""
    if fmt == "PNG":
        return data.rfind(b"IEND") < 0
    if fmt == "JPEG":
        return not data.rstrip(b"\x00\r\n\t ").endswith(b"\xff\xd9")
    if fmt == "GIF":
        return not data.rstrip(b"\x00").endswith(b";")
    if fmt == "WEBP":
        return len(data) < 8 + int.from_bytes(data[4:8], "little")
    if fmt == "BMP":
        return len(data) < int.from_bytes(data[2:6], "little")
    return False


_TRUNCATED_WORDS = ("truncat", "premature end", "failed to read", "unexpected end", "not enough data")


def failure_reason(exc: BaseException | None, data: bytes, fmt: str | None) -> str:
    # An ImportError is an optional decoder plugin that is not installed (e.g. pi_heif for
    # HEIF), not a fact about this file: it would only mislead.
    text = short(exc) if exc is not None and not isinstance(exc, ImportError) else ""
    detail = f" ({text})" if text else ""
    if any(w in text.lower() for w in _TRUNCATED_WORDS):
        return f"truncated {fmt or 'image'} file: it ends before the image data is complete{detail}"
    if _looks_truncated(data, fmt):
        return f"truncated or damaged {fmt} file: its end marker is missing{detail}"
    return f"corrupt {fmt + ' ' if fmt else ''}image data{detail}"


# --------------------------------------------------------------------------- entry point

@contextmanager
def _strict_pillow():
    """Truncated files raise, even if someone set Pillow's global LOAD_TRUNCATED_IMAGES
    (face_recognition does, on import)."""
    old = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = old


def decode(data: bytes, limit: int | None, sniffed: str | None) -> Decoded:
    with _strict_pillow():
        return _decode(data, limit, sniffed)


def _decode(data: bytes, limit: int | None, sniffed: str | None) -> Decoded:
    try:
        im = Image.open(io.BytesIO(data))
    except MemoryError:
        raise
    except Exception as exc:  # UnidentifiedImageError, SyntaxError, struct.error, EOFError ...
        if sniffed == "TIFF":
            return _from_tifffile(data, limit, exc)
        return _from_opencv(data, sniffed, limit, exc)

    with im:
        check_size(im.width, im.height, limit)
        bits = _file_bits(im, data)
        fmt = sniffed or im.format
        if not (bits > 8 and im.mode in _EIGHT_BIT_MODES):
            try:
                return _from_pil(im, data, bits)
            except (DecodeError, MemoryError):
                raise
            except Exception as exc:
                if im.format != "TIFF":
                    raise DecodeError(failure_reason(exc, data, fmt)) from None
                return _from_tifffile(data, limit, exc, exif_summary(im))  # e.g. a codec Pillow lacks
        # Pillow would silently reduce this file to 8 bits per channel.
        meta = exif_summary(im)
        try:
            if im.format == "TIFF":
                return _from_tifffile(data, limit, None, meta)
            return _from_opencv(data, fmt, limit, None, meta)
        except DecodeError as exact_error:
            try:  # better 8 bits than nothing (e.g. a TIFF compression tifffile lacks)
                decoded = _from_pil(im, data, bits)
            except Exception:
                raise exact_error from None
            decoded.notes.append(f"decoded at 8 bits per channel only ({exact_error})")
            return decoded


# --------------------------------------------------------------------------- Pillow

_EIGHT_BIT_MODES = frozenset("L LA La P PA RGB RGBA RGBa RGBX CMYK YCbCr LAB HSV".split())
_EXIF_ORIENTATION = 0x0112
_EXIF_MAKE, _EXIF_MODEL, _EXIF_DATETIME = 0x010F, 0x0110, 0x0132
_EXIF_GPS_IFD = 0x8825
_EXIF_IFD, _EXIF_DATETIME_ORIGINAL = 0x8769, 0x9003


def _file_bits(im: Image.Image, data: bytes) -> int:
    """Bits per sample as stored in the file (not as Pillow holds them)."""
    if im.format == "PNG" and data[12:16] == b"IHDR":
        return int(data[24])
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258)
        if isinstance(bits, tuple) and bits:
            return int(max(bits))
        if isinstance(bits, int):
            return bits
    if im.format == "PPM":
        maxval = _pnm_maxval(data)
        if maxval:
            return 1 if maxval == 1 else (16 if maxval > 255 else 8)
    if im.mode == "1":
        return 1
    if im.mode.startswith("I;16"):
        return 16
    return 32 if im.mode in ("I", "F") else 8


def _pnm_maxval(data: bytes) -> int | None:
    """maxval of a P1..P6 header (1 for bitmaps), None if unparsable."""
    magic = data[:2]
    if magic in (b"P1", b"P4"):
        return 1
    if magic not in (b"P2", b"P3", b"P5", b"P6"):
        return None
    header = re.sub(rb"#[^\n]*", b" ", data[2:512])
    tokens = header.split()
    try:
        return int(tokens[2])
    except (IndexError, ValueError):
        return None


def orientation(im: Image.Image) -> int | None:
    try:
        value = im.getexif().get(_EXIF_ORIENTATION)
    except Exception:
        return None
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else None


def exif_summary(im: Image.Image) -> dict:
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
    camera = model if make and model.lower().startswith(make.lower()) else " ".join(
        p for p in (make, model) if p)
    date = str(date).strip("\x00 ") if date else ""
    return {
        "exif_orientation": orientation(im),
        "has_camera": bool(camera), "camera": camera or None,
        "has_datetime": bool(date), "datetime": date or None,
        "has_gps": gps,
    }


def _from_pil(im: Image.Image, data: bytes, bits: int) -> Decoded:
    frames = int(getattr(im, "n_frames", 1) or 1)
    if frames > 1:
        im.seek(0)  # GIF/APNG/WebP/multi-page TIFF: the first frame is the image
    meta = exif_summary(im)
    mode, channels, fmt = im.mode, len(im.getbands()), im.format or "unknown"
    im.load()  # decode now so that truncation surfaces here
    if meta.get("exif_orientation") not in (None, 1):
        im = ImageOps.exif_transpose(im)
    return Decoded(original=pil_to_array(im, bits), format=fmt, mode=mode, channels=channels,
                   bit_depth=bits, frames=frames, meta=meta)


def pil_to_array(im: Image.Image, bits: int = 8) -> np.ndarray:
    """A Pillow image as a numpy array: palette expanded, CMYK as RGB, native byte order."""
    mode = im.mode
    has_key = im.info.get("transparency") is not None
    if mode in ("P", "PA"):
        im = im.convert("RGBA" if (has_key or mode == "PA") else "RGB")
    elif mode in ("L", "RGB") and has_key:  # a tRNS colour key: make it real alpha
        im = im.convert(mode + "A")
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        im = im.convert("RGB")  # naive CMYK->RGB; no ICC colour management yet
    elif mode in ("La", "RGBa"):  # premultiplied alpha
        im = im.convert({"La": "LA", "RGBa": "RGBA"}[mode])
    arr = np.asarray(im)
    if arr.dtype.byteorder == ">":  # I;16B
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if im.mode == "I" and bits == 16 and (arr.size == 0 or (arr.min() >= 0 and arr.max() <= 65535)):
        arr = arr.astype(np.uint16)  # a 16-bit PNG/PGM that Pillow holds as 32-bit "I"
    return np.ascontiguousarray(arr)


def pil_thumbnail(data: bytes, size: int, limit: int | None) -> np.ndarray | None:
    """A small uint8 array from Pillow (JPEG draft mode), or None if Pillow cannot."""
    with _strict_pillow(), Image.open(io.BytesIO(data)) as im:
        check_size(im.width, im.height, limit)
        if im.mode not in ("RGB", "L", "RGBA", "P", "LA", "PA", "CMYK", "1"):
            return None
        if im.format == "JPEG":
            im.draft(im.mode if im.mode in ("L", "CMYK") else "RGB", (size * 2, size * 2))
        im.load()
        im = ImageOps.exif_transpose(im)
        im.thumbnail((size, size))
        return pil_to_array(im)


# --------------------------------------------------------------------------- tifffile

def _from_tifffile(data: bytes, limit: int | None, pil_error: BaseException | None,
                   meta: dict | None = None) -> Decoded:
    import tifffile

    quiet = logging.getLogger("tifffile")  # it logs what we report in one line anyway
    old_level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages.first
            check_size(int(page.imagewidth), int(page.imagelength), limit)
            arr = page.asarray()
            axes = page.axes
            photometric = int(page.photometric)
            colormap = page.colormap if photometric == 3 else None
            tag = page.tags.get("Orientation")
            exif_orientation = int(tag.value) if tag is not None else None
            bits = int(page.bitspersample)
            frames = len(tif.pages)
    except (DecodeError, MemoryError):
        raise
    except Exception as exc:
        # Pillow's words are clearer when it saw the truncation ("image file is truncated").
        pil_saw_it = pil_error is not None and "truncat" in str(pil_error).lower()
        raise DecodeError(failure_reason(pil_error if pil_saw_it else exc, data, "TIFF")) from None
    finally:
        quiet.setLevel(old_level)
    arr = _to_yxs(arr, axes)
    mode = None
    if photometric == 0 and arr.dtype.kind in "ub":  # MINISWHITE: 0 is white
        arr = ~arr if arr.dtype == np.bool_ else np.iinfo(arr.dtype).max - arr
    elif photometric == 3 and colormap is not None and arr.ndim == 2:
        arr = np.ascontiguousarray(np.moveaxis(colormap[:, arr], 0, -1))
        mode = "P"
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    if photometric == 5 and arr.ndim == 3 and channels >= 4:
        mode, arr = "CMYK", cmyk_to_rgb(arr)  # as Pillow does for 8-bit CMYK
    if mode is None:
        mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}.get(channels, f"{channels}-channel")
    if exif_orientation not in range(1, 9):
        exif_orientation = None
    arr = apply_orientation(np.ascontiguousarray(arr), exif_orientation)
    meta = {**(meta or {}), "exif_orientation": exif_orientation}
    return Decoded(original=arr, format="TIFF", mode=mode, channels=1 if mode == "P" else channels,
                   bit_depth=1 if arr.dtype == np.bool_ else bits, frames=frames, meta=meta)


def cmyk_to_rgb(arr: np.ndarray) -> np.ndarray:
    """H x W x 4+ CMYK (any dtype) -> H x W x 3 RGB of the same dtype, Pillow's formula."""
    full = float(np.iinfo(arr.dtype).max) if arr.dtype.kind in "ui" else 1.0
    c, k = arr[:, :, :3].astype(np.float64), arr[:, :, 3:4].astype(np.float64)
    rgb = (full - c) * (full - k) / full
    if arr.dtype.kind in "ui":
        return np.clip(rgb + 0.5, 0, full).astype(arr.dtype)
    return rgb.astype(arr.dtype)


def _to_yxs(arr: np.ndarray, axes: str) -> np.ndarray:
    """tifffile's array with `axes` (e.g. 'SYX', 'ZYXS') -> (Y, X) or (Y, X, S)."""
    if len(axes) != arr.ndim or "Y" not in axes or "X" not in axes:
        while arr.ndim > 3:
            arr = arr[0]
        return arr
    index = tuple(slice(None) if a in "YXS" else 0 for a in axes)
    arr, axes = arr[index], "".join(a for a in axes if a in "YXS")
    order = [axes.index(a) for a in "YXS" if a in axes]
    return np.transpose(arr, order)


# --------------------------------------------------------------------------- OpenCV

_HDR_SIZE = re.compile(rb"\n([-+])([XY]) (\d+) ([-+])([XY]) (\d+)\s*\n")


def _header_size(data: bytes, fmt: str | None) -> tuple[int, int] | None:
    """(width, height) from headers that only OpenCV decodes, to check the cap first."""
    if fmt == "HDR":
        m = _HDR_SIZE.search(data[:8192])
        if m:
            first, second = (m.group(2), int(m.group(3))), (m.group(5), int(m.group(6)))
            dims = dict((first, second))
            return dims.get(b"X", 0), dims.get(b"Y", 0)
    if fmt == "PNG" and data[12:16] == b"IHDR" and len(data) >= 33:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


def _from_opencv(data: bytes, fmt: str | None, limit: int | None, pil_error: BaseException | None,
                 meta: dict | None = None) -> Decoded:
    size = _header_size(data, fmt)
    if size is not None:
        check_size(*size, limit)
    arr = _cv2_decode(data)
    if arr is None or arr.size == 0:
        if fmt is None:
            raise DecodeError(describe_unknown(data))
        raise DecodeError(failure_reason(pil_error, data, fmt))
    if fmt == "PNG" and _looks_truncated(data, "PNG"):
        raise DecodeError(failure_reason(None, data, "PNG"))
    check_size(arr.shape[1], arr.shape[0], limit)  # formats whose header we do not parse
    import cv2

    if arr.ndim == 3 and arr.shape[2] in (3, 4):  # OpenCV decodes BGR(A)
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    if fmt == "PNG" and data[25:26] == b"\x04" and arr.ndim == 3 and arr.shape[2] == 4:
        arr = np.ascontiguousarray(arr[:, :, [0, 3]])  # gray + alpha, which OpenCV expands
    meta = dict(meta or {})
    arr = apply_orientation(arr, meta.get("exif_orientation"))
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    bits = int(data[24]) if fmt == "PNG" and data[12:16] == b"IHDR" else arr.dtype.itemsize * 8
    return Decoded(original=np.ascontiguousarray(arr), format={"PNM": "PPM"}.get(fmt, fmt) or "unknown",
                   mode={1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}.get(channels, f"{channels}-channel"),
                   channels=channels, bit_depth=bits, meta=meta)


def _cv2_decode(data: bytes) -> np.ndarray | None:
    import cv2

    cv_log = getattr(getattr(cv2, "utils", None), "logging", None)
    old_level = cv_log.getLogLevel() if cv_log else None
    if cv_log:  # a corrupt file is reported by us, in one line, not on stderr by OpenCV
        cv_log.setLogLevel(cv_log.LOG_LEVEL_SILENT)
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        return None
    finally:
        if cv_log:
            cv_log.setLogLevel(old_level)


def apply_orientation(arr: np.ndarray, orientation: int | None) -> np.ndarray:
    """EXIF orientation 1..8 -> upright, on a (H, W, ...) array."""
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
