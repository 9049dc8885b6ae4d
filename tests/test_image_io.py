"""vision_studio.core.image_io: every way an image enters the program.

Every file is generated here, under tmp_path (Pillow, tifffile, cv2.imencode, or a
hand-written PNG), except the last test, which reads the shared real photos.
The contract checked throughout: `original` keeps what the file stores (dtype,
bit depth, values), `pixels` is RGB uint8 H x W x 3 C-contiguous, and every
failure is an ImageReadError whose str() is one line "path: reason".
"""
from __future__ import annotations

import io
import os
import pickle
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from vision_studio.core import image_io
from vision_studio.core.image_io import (
    IMAGE_EXTENSIONS,
    ImageInfo,
    ImageReadError,
    LoadedImage,
    is_image_path,
    list_images,
    make_thumbnail,
    natural_key,
    read_image,
    read_info,
    to_analysis_rgb,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED_IMAGES = ROOT.parent / "shared" / "testdata" / "images"

# ------------------------------------------------------------------------------ helpers


def rgb8(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def rgb16(h: int = 24, w: int = 32, seed: int = 0, channels: int = 3) -> np.ndarray:
    shape = (h, w) if channels == 1 else (h, w, channels)
    return np.random.default_rng(seed).integers(0, 65536, shape, dtype=np.uint16)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def pil_bytes(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def save_pil(path: Path, im: Image.Image, fmt: str | None = None, **kw) -> Path:
    return write(path, pil_bytes(im, fmt or Image.registered_extensions()[path.suffix.lower()], **kw))


def tifffile_bytes(arr: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, **kw)
    return buf.getvalue()


def save_tiff(path: Path, arr: np.ndarray, **kw) -> Path:
    return write(path, tifffile_bytes(arr, **kw))


def save_cv2(path: Path, arr_rgb: np.ndarray) -> Path:
    """Encode with OpenCV (which wants BGR); the file keeps arr_rgb's values in RGB order."""
    arr = arr_rgb
    if arr.ndim == 3:
        arr = arr[:, :, [2, 1, 0, 3][: arr.shape[2]]] if arr.shape[2] in (3, 4) else arr
    ok, buf = cv2.imencode(path.suffix, np.ascontiguousarray(arr))
    assert ok, f"cv2 could not encode {path.suffix}"
    return write(path, buf.tobytes())


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bytes(arr: np.ndarray | None, color_type: int, bit_depth: int = 8, *,
              size: tuple[int, int] | None = None, exif: bytes | None = None) -> bytes:
    """A PNG written by hand: any bit depth / colour type, optional eXIf, or a bare header.

    With arr=None and size=(w, h) only the header claims that size (a tiny fake IDAT).
    """
    if arr is None:
        w, h = size
        idat = zlib.compress(b"\x00" * 64)
    else:
        h, w = arr.shape[:2]
        dtype = ">u2" if bit_depth == 16 else "u1"
        idat = zlib.compress(b"".join(b"\x00" + arr[y].astype(dtype).tobytes() for y in range(h)))
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)
    chunks = [_chunk(b"IHDR", ihdr)]
    if exif:
        chunks.append(_chunk(b"eXIf", exif.removeprefix(b"Exif\x00\x00")))
    chunks += [_chunk(b"IDAT", idat), _chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def exif_bytes(orientation: int | None = None, **tags) -> bytes:
    ex = Image.Exif()
    if orientation is not None:
        ex[0x0112] = orientation
    for tag, value in tags.items():
        ex[int(tag.removeprefix("t"), 16)] = value
    return ex.tobytes()


def assert_analysis_format(img: LoadedImage, h: int, w: int) -> None:
    px = img.pixels
    assert px.dtype == np.uint8 and px.shape == (h, w, 3) and px.flags.c_contiguous
    assert (img.width, img.height) == (w, h) == (img.info.width, img.info.height)
    assert img.info.dtype == str(img.original.dtype)
    assert img.original.shape[:2] == (h, w)


def u16_to_u8(v: np.ndarray) -> np.ndarray:
    return np.round(v.astype(np.float64) / 257).astype(np.uint8)


def assert_one_line_error(exc: ImageReadError, path: Path, *words: str) -> None:
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    assert text.startswith(f"{path}: "), text
    assert exc.path == Path(path)
    for word in words:
        assert word in text.lower(), f"{word!r} not in {text!r}"


# ------------------------------------------------------------------------------ lossless formats


LOSSLESS_RGB = {
    "png": lambda p, a: save_pil(p.with_suffix(".png"), Image.fromarray(a)),
    "bmp": lambda p, a: save_pil(p.with_suffix(".bmp"), Image.fromarray(a)),
    "tiff-pillow": lambda p, a: save_pil(p.with_suffix(".tif"), Image.fromarray(a)),
    "tiff-deflate": lambda p, a: save_tiff(p.with_suffix(".tiff"), a, photometric="rgb",
                                           compression="zlib"),
    "webp-lossless": lambda p, a: save_pil(p.with_suffix(".webp"), Image.fromarray(a),
                                           lossless=True),
    "ppm": lambda p, a: save_pil(p.with_suffix(".ppm"), Image.fromarray(a)),
    "ppm-cv2": lambda p, a: save_cv2(p.with_suffix(".ppm"), a),
    "png-cv2": lambda p, a: save_cv2(p.with_suffix(".png"), a),
}


@pytest.mark.parametrize("kind", sorted(LOSSLESS_RGB))
def test_lossless_rgb_formats_keep_exact_values(tmp_path, kind):
    arr = rgb8(24, 32)
    img = read_image(LOSSLESS_RGB[kind](tmp_path / "img", arr))
    assert_analysis_format(img, 24, 32)
    assert img.original.dtype == np.uint8 and np.array_equal(img.original, arr)
    assert np.array_equal(img.pixels, arr)
    assert (img.info.channels, img.info.bit_depth, img.info.mode) == (3, 8, "RGB")
    assert img.info.notes == ()


@pytest.mark.parametrize("quality", [75, 95])
def test_jpeg_decodes_close_to_the_source(tmp_path, quality):
    arr = np.zeros((48, 64, 3), np.uint8)
    arr[:, :32] = (200, 40, 30)
    arr[:, 32:] = (20, 90, 220)
    img = read_image(save_pil(tmp_path / "a.jpg", Image.fromarray(arr), quality=quality))
    assert_analysis_format(img, 48, 64)
    assert (img.info.format, img.info.mode, img.info.bit_depth) == ("JPEG", "RGB", 8)
    assert np.abs(img.pixels.astype(int) - arr).mean() < 4


def test_webp_lossy_decodes(tmp_path):
    arr = np.full((20, 30, 3), (10, 200, 90), np.uint8)
    img = read_image(save_pil(tmp_path / "a.webp", Image.fromarray(arr), quality=90))
    assert_analysis_format(img, 20, 30)
    assert img.info.format == "WEBP"
    assert np.abs(img.pixels.astype(int) - arr).max() < 8


def test_gif_keeps_palette_colours(tmp_path):
    pal = Image.new("P", (4, 2))
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30])
    pal.putdata([0, 1, 2, 3, 3, 2, 1, 0])
    img = read_image(save_pil(tmp_path / "a.gif", pal))
    assert_analysis_format(img, 2, 4)
    assert img.pixels[0].tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]
    assert (img.info.format, img.info.mode, img.info.channels) == ("GIF", "P", 1)


def test_animated_gif_is_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (16, 12), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=40, loop=0)
    img = read_image(path)
    assert_analysis_format(img, 12, 16)
    assert img.info.frames == 3
    assert (img.pixels == (255, 0, 0)).all()


def test_multipage_tiff_is_its_first_page(tmp_path):
    pages = np.stack([np.full((10, 12), v, np.uint16) for v in (1000, 2000, 3000)])
    img = read_image(save_tiff(tmp_path / "stack.tif", pages, photometric="minisblack"))
    assert img.info.frames == 3
    assert img.original.shape == (10, 12) and (img.original == 1000).all()


# ------------------------------------------------------------------------------ bit depths


def test_gray8_png_is_2d_and_gray_in_pixels(tmp_path):
    gray = rgb8(20, 30)[:, :, 0]
    img = read_image(save_pil(tmp_path / "g.png", Image.fromarray(gray)))
    assert_analysis_format(img, 20, 30)
    assert img.original.shape == (20, 30) and np.array_equal(img.original, gray)
    assert all(np.array_equal(img.pixels[:, :, c], gray) for c in range(3))
    assert (img.info.mode, img.info.channels, img.info.bit_depth) == ("L", 1, 8)


GRAY16 = {
    "png-pillow": lambda p, a: save_pil(p.with_suffix(".png"), Image.fromarray(a)),
    "png-cv2": lambda p, a: save_cv2(p.with_suffix(".png"), a),
    "tiff": lambda p, a: save_tiff(p.with_suffix(".tif"), a, photometric="minisblack"),
    "pgm-cv2": lambda p, a: save_cv2(p.with_suffix(".pgm"), a),
}


@pytest.mark.parametrize("kind", sorted(GRAY16))
def test_gray16_keeps_all_16_bits(tmp_path, kind):
    arr = rgb16(20, 30, channels=1)
    img = read_image(GRAY16[kind](tmp_path / "g16", arr))
    assert_analysis_format(img, 20, 30)
    assert img.original.dtype == np.uint16 and np.array_equal(img.original, arr)
    assert (img.info.bit_depth, img.info.dtype, img.info.channels) == (16, "uint16", 1)
    assert np.array_equal(img.pixels[:, :, 1], u16_to_u8(arr))


RGB16 = {
    "png-cv2": lambda p, a: save_cv2(p.with_suffix(".png"), a),
    "ppm-cv2": lambda p, a: save_cv2(p.with_suffix(".ppm"), a),
    "tiff": lambda p, a: save_tiff(p.with_suffix(".tif"), a, photometric="rgb"),
    "tiff-planar": lambda p, a: save_tiff(p.with_suffix(".tif"), np.moveaxis(a, -1, 0),
                                          photometric="rgb", planarconfig="separate"),  # (S, H, W)
}


@pytest.mark.parametrize("kind", sorted(RGB16))
def test_rgb16_keeps_all_16_bits(tmp_path, kind):
    arr = rgb16(20, 30)
    img = read_image(RGB16[kind](tmp_path / "c16", arr))
    assert_analysis_format(img, 20, 30)
    assert img.original.dtype == np.uint16 and img.original.shape == (20, 30, 3)
    assert np.array_equal(img.original, arr)
    assert (img.info.bit_depth, img.info.mode, img.info.channels) == (16, "RGB", 3)
    assert np.array_equal(img.pixels, u16_to_u8(arr))


def test_rgba16_png_keeps_alpha_and_composites_over_white(tmp_path):
    arr = rgb16(10, 12, channels=4)
    arr[0, 0, 3] = 0
    arr[0, 1, 3] = 65535
    img = read_image(save_cv2(tmp_path / "a16.png", arr))
    assert img.original.dtype == np.uint16 and np.array_equal(img.original, arr)
    assert (img.info.mode, img.info.channels, img.info.bit_depth) == ("RGBA", 4, 16)
    assert img.pixels[0, 0].tolist() == [255, 255, 255]
    assert img.pixels[0, 1].tolist() == u16_to_u8(arr[0, 1, :3]).tolist()


def test_gray_alpha16_png_stays_two_channels(tmp_path):
    arr = rgb16(6, 8, channels=2)
    arr[:, :, 1] = 65535
    arr[2, 3] = (0, 0)  # transparent black -> white
    img = read_image(write(tmp_path / "ga16.png", png_bytes(arr, color_type=4, bit_depth=16)))
    assert img.original.dtype == np.uint16 and img.original.shape == (6, 8, 2)
    assert np.array_equal(img.original, arr)
    assert (img.info.mode, img.info.channels, img.info.bit_depth) == ("LA", 2, 16)
    assert img.pixels[2, 3].tolist() == [255, 255, 255]
    assert img.pixels[0, 0].tolist() == [u16_to_u8(arr[0, 0, 0])] * 3


def test_float32_gray_tiff_keeps_values(tmp_path):
    arr = np.random.default_rng(3).random((20, 30), dtype=np.float32)
    img = read_image(save_tiff(tmp_path / "f.tif", arr, photometric="minisblack"))
    assert_analysis_format(img, 20, 30)
    assert img.original.dtype == np.float32 and np.array_equal(img.original, arr)
    assert (img.info.bit_depth, img.info.dtype) == (32, "float32")
    assert np.abs(img.pixels[:, :, 0] - arr * 255).max() <= 0.5 + 1e-3


def test_float32_rgb_tiff_keeps_values(tmp_path):
    arr = np.random.default_rng(4).random((20, 30, 3), dtype=np.float32)
    img = read_image(save_tiff(tmp_path / "f3.tif", arr, photometric="rgb"))
    assert_analysis_format(img, 20, 30)
    assert img.original.dtype == np.float32 and np.array_equal(img.original, arr)
    assert (img.info.mode, img.info.channels, img.info.bit_depth) == ("RGB", 3, 32)
    assert np.abs(img.pixels - arr * 255).max() <= 0.5 + 1e-3


def test_float_outside_unit_range_is_stretched_to_be_visible(tmp_path):
    arr = np.linspace(-50.0, 1000.0, 20 * 30, dtype=np.float32).reshape(20, 30)
    img = read_image(save_tiff(tmp_path / "wide.tif", arr, photometric="minisblack"))
    assert np.array_equal(img.original, arr)
    assert img.pixels.min() == 0 and img.pixels.max() == 255


def test_int32_tiff_stays_int32(tmp_path):
    arr = np.arange(20 * 30, dtype=np.int32).reshape(20, 30)  # small values fit in uint16 too
    img = read_image(save_tiff(tmp_path / "i32.tif", arr, photometric="minisblack"))
    assert img.original.dtype == np.int32 and np.array_equal(img.original, arr)
    assert (img.info.dtype, img.info.bit_depth) == ("int32", 32)


def test_cmyk16_tiff_is_converted_to_rgb_not_read_as_rgba(tmp_path):
    cmyk = np.zeros((4, 4, 4), np.uint16)
    cmyk[0, 0] = (65535, 0, 0, 0)  # cyan
    cmyk[0, 1] = (0, 0, 0, 65535)  # black
    img = read_image(save_tiff(tmp_path / "cmyk16.tif", cmyk, photometric="separated"))
    assert (img.info.mode, img.info.channels, img.info.bit_depth) == ("CMYK", 4, 16)
    assert img.pixels[0, 0].tolist() == [0, 255, 255]
    assert img.pixels[0, 1].tolist() == [0, 0, 0]
    assert img.pixels[1, 1].tolist() == [255, 255, 255]


# ------------------------------------------------------------------------------ colour modes


def test_rgba_is_composited_over_white(tmp_path):
    arr = np.zeros((4, 6, 4), np.uint8)
    arr[..., :3] = (10, 20, 30)
    arr[..., 3] = 255
    arr[0, 0] = (0, 0, 0, 0)  # fully transparent black
    arr[0, 1] = (0, 0, 0, 128)  # half transparent black
    img = read_image(save_pil(tmp_path / "a.png", Image.fromarray(arr, "RGBA")))
    assert_analysis_format(img, 4, 6)
    assert img.original.shape == (4, 6, 4) and np.array_equal(img.original, arr)
    assert (img.info.mode, img.info.channels) == ("RGBA", 4)
    assert img.pixels[0, 0].tolist() == [255, 255, 255]
    assert np.abs(img.pixels[0, 1].astype(int) - 127).max() <= 1
    assert img.pixels[1, 1].tolist() == [10, 20, 30]


def test_la_keeps_two_channels_and_composites_over_white(tmp_path):
    arr = np.zeros((3, 5, 2), np.uint8)
    arr[..., 0], arr[..., 1] = 40, 255
    arr[1, 2] = (0, 0)
    img = read_image(save_pil(tmp_path / "la.png", Image.fromarray(arr, "LA")))
    assert img.original.shape == (3, 5, 2) and np.array_equal(img.original, arr)
    assert (img.info.mode, img.info.channels) == ("LA", 2)
    assert img.pixels[1, 2].tolist() == [255, 255, 255]
    assert img.pixels[0, 0].tolist() == [40, 40, 40]


@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_palette_with_transparency(tmp_path, suffix):
    pal = Image.new("P", (3, 1))
    pal.putpalette([200, 10, 10, 0, 0, 0, 5, 6, 7])
    pal.putdata([0, 1, 2])
    img = read_image(save_pil(tmp_path / f"p{suffix}", pal, transparency=1))
    assert (img.info.mode, img.info.channels) == ("P", 1)
    assert img.original.shape == (1, 3, 4)  # expanded to RGBA: the alpha stays available
    assert img.original[0, 1, 3] == 0
    assert img.pixels[0].tolist() == [[200, 10, 10], [255, 255, 255], [5, 6, 7]]


def test_palette_png_without_transparency_is_rgb(tmp_path):
    pal = Image.new("P", (2, 2))
    pal.putpalette([1, 2, 3, 250, 251, 252])
    pal.putdata([0, 1, 1, 0])
    img = read_image(save_pil(tmp_path / "p.png", pal, bits=1))
    assert (img.info.mode, img.info.bit_depth) == ("P", 1)
    assert img.original.shape == (2, 2, 3)
    assert img.pixels.tolist() == [[[1, 2, 3], [250, 251, 252]], [[250, 251, 252], [1, 2, 3]]]


def test_gray_png_colour_key_becomes_transparent(tmp_path):
    gray = np.array([[10, 77, 10]], np.uint8)
    img = read_image(save_pil(tmp_path / "key.png", Image.fromarray(gray), transparency=77))
    assert img.pixels[0].tolist() == [[10, 10, 10], [255, 255, 255], [10, 10, 10]]


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    cmyk = Image.new("CMYK", (32, 16), (0, 0, 0, 0))
    cmyk.paste((255, 0, 0, 0), (0, 0, 16, 16))  # cyan on the left, paper white on the right
    img = read_image(save_pil(tmp_path / "cmyk.jpg", cmyk, quality=95))
    assert_analysis_format(img, 16, 32)
    assert (img.info.mode, img.info.channels, img.info.format) == ("CMYK", 4, "JPEG")
    assert np.abs(img.pixels[8, 4].astype(int) - (0, 255, 255)).max() <= 6
    assert np.abs(img.pixels[8, 28].astype(int) - (255, 255, 255)).max() <= 6


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp"])
def test_one_bit_images(tmp_path, suffix):
    bits = np.zeros((8, 16), bool)
    bits[:, 8:] = True
    bits[0, 0] = True
    img = read_image(save_pil(tmp_path / f"bw{suffix}", Image.fromarray(bits).convert("1")))
    assert_analysis_format(img, 8, 16)
    assert (img.info.mode, img.info.bit_depth, img.info.channels) == ("1", 1, 1)
    assert np.array_equal(img.pixels[:, :, 0] == 255, bits)
    assert set(np.unique(img.pixels).tolist()) <= {0, 255}


# ------------------------------------------------------------------------------ EXIF orientation


def _marked(h: int, w: int) -> np.ndarray:
    """Gray image, a 16x16 red block in the top-left corner (survives JPEG)."""
    arr = np.full((h, w, 3), 128, np.uint8)
    arr[:16, :16] = (255, 0, 0)
    return arr


def test_jpeg_orientation_6_is_applied(tmp_path):
    stored = _marked(48, 80)  # landscape as stored: 80 wide, 48 high
    img = read_image(save_pil(tmp_path / "rot.jpg", Image.fromarray(stored),
                              exif=exif_bytes(6), quality=95))
    assert img.info.exif_orientation == 6
    assert_analysis_format(img, 80, 48)  # upright: portrait
    # Orientation 6 = rotate 90 degrees clockwise to view: stored top-left -> top-right.
    assert np.abs(img.pixels[4, 48 - 5].astype(int) - (255, 0, 0)).max() < 40
    assert np.abs(img.pixels[4, 4].astype(int) - 128).max() < 40
    assert img.original.shape == (80, 48, 3)


# Stored array -> upright, from the EXIF spec's wording (exiftool's names), written
# independently of the module: "mirror horizontal" = a[:, ::-1], "rotate 90 CW" = rot90(a, -1).
UPRIGHT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: np.rot90(a, 2),
    4: lambda a: a[::-1],
    5: lambda a: np.rot90(a[:, ::-1], 1),  # mirror horizontal and rotate 270 CW
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a[:, ::-1], -1),  # mirror horizontal and rotate 90 CW
    8: lambda a: np.rot90(a, 1),
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_in_every_decoder(tmp_path, orientation):
    small = rgb8(5, 7, seed=orientation)
    big = rgb16(5, 7, seed=orientation)
    want8, want16 = UPRIGHT[orientation](small), UPRIGHT[orientation](big)
    ex = exif_bytes(orientation)
    png8 = read_image(write(tmp_path / "o8.png", png_bytes(small, color_type=2, exif=ex)))
    png16 = read_image(write(tmp_path / "o16.png", png_bytes(big, color_type=2, bit_depth=16,
                                                            exif=ex)))  # OpenCV decodes it
    tif16 = read_image(save_tiff(tmp_path / "o16.tif", big, photometric="rgb",
                                 extratags=[(274, "H", 1, orientation, True)]))  # tifffile
    assert np.array_equal(png8.original, want8)
    assert np.array_equal(png16.original, want16)
    assert np.array_equal(tif16.original, want16)
    for img in (png8, png16, tif16):
        assert img.info.exif_orientation == orientation
        assert (img.height, img.width) == want8.shape[:2]


def test_exif_camera_date_and_gps_are_summarised(tmp_path):
    ex = Image.Exif()
    ex[0x010F], ex[0x0110] = "Canon", "Canon EOS 5D"
    ex[0x0132] = "2024:01:02 03:04:05"
    ex.get_ifd(0x8769)[0x9003] = "2023:05:06 07:08:09"  # DateTimeOriginal wins
    ex.get_ifd(0x8825)[1] = "N"
    info = read_info(save_pil(tmp_path / "cam.jpg", Image.new("RGB", (8, 8)), exif=ex))
    assert (info.has_camera, info.camera) == (True, "Canon EOS 5D")
    assert (info.has_datetime, info.datetime) == (True, "2023:05:06 07:08:09")
    assert info.has_gps and info.exif_orientation is None


def test_no_exif_means_no_metadata(tmp_path):
    info = read_info(save_pil(tmp_path / "plain.png", Image.new("RGB", (3, 2))))
    assert (info.exif_orientation, info.has_camera, info.has_datetime, info.has_gps) == (
        None, False, False, False)


# ------------------------------------------------------------------------------ paths


NON_ASCII = "bilder/straße café/Ünïcødé 图像"


@pytest.mark.parametrize("suffix,maker", [
    (".png", lambda p: save_pil(p, Image.fromarray(rgb8(6, 9)))),
    (".jpg", lambda p: save_pil(p, Image.fromarray(rgb8(6, 9)))),
    (".tif", lambda p: save_tiff(p, rgb16(6, 9), photometric="rgb")),  # tifffile
    (".ppm", lambda p: save_cv2(p, rgb16(6, 9))),  # OpenCV
])
def test_non_ascii_paths_with_spaces(tmp_path, suffix, maker):
    path = maker(tmp_path / f"{NON_ASCII}{suffix}")
    img = read_image(path)
    assert_analysis_format(img, 6, 9)
    assert img.path == path
    assert list_images(path.parent) == [path]


def test_non_ascii_path_in_error_message(tmp_path):
    missing = tmp_path / f"{NON_ASCII}.png"
    with pytest.raises(ImageReadError) as err:
        read_image(missing)
    assert_one_line_error(err.value, missing, "not found")


def test_accepts_str_paths(tmp_path):
    path = save_pil(tmp_path / "s.png", Image.new("RGB", (2, 2)))
    assert read_image(str(path)).path == path


# ------------------------------------------------------------------------------ pixel cap


def test_cap_rejects_a_huge_one_bit_png_before_decoding(tmp_path):
    path = save_pil(tmp_path / "bomb.png", Image.new("1", (20000, 20000)))  # 400 MP, ~50 KB
    start = time.perf_counter()
    with pytest.raises(ImageReadError) as err:
        read_image(path, max_pixels=1_000_000)
    assert time.perf_counter() - start < 1.0  # decoding 400 MP would take far longer
    assert_one_line_error(err.value, path, "limit", "1,000,000", "20000x20000")


@pytest.mark.parametrize("bit_depth,color_type", [(8, 2), (16, 2), (1, 0)])
def test_cap_trusts_the_header_not_the_data(tmp_path, bit_depth, color_type):
    """The IDAT is 64 bytes of nothing: an error about the limit proves nothing was decoded."""
    path = write(tmp_path / "liar.png",
                 png_bytes(None, color_type, bit_depth, size=(100_000, 100_000)))
    with pytest.raises(ImageReadError) as err:
        read_image(path, max_pixels=250_000_000)
    assert_one_line_error(err.value, path, "limit", "250,000,000")


CAP_MAKERS = {
    "png": lambda p: save_pil(p.with_suffix(".png"), Image.fromarray(rgb8(80, 100))),
    "jpeg": lambda p: save_pil(p.with_suffix(".jpg"), Image.fromarray(rgb8(80, 100))),
    "png16-opencv": lambda p: save_cv2(p.with_suffix(".png"), rgb16(80, 100)),
    "tiff16-tifffile": lambda p: save_tiff(p.with_suffix(".tif"), rgb16(80, 100),
                                           photometric="rgb"),
    "float-rgb-tifffile": lambda p: save_tiff(
        p.with_suffix(".tif"), np.zeros((80, 100, 3), np.float32), photometric="rgb"),
}


@pytest.mark.parametrize("kind", sorted(CAP_MAKERS))
def test_cap_applies_to_every_decoder(tmp_path, kind):
    path = CAP_MAKERS[kind](tmp_path / "img")  # 100 x 80 = 8000 pixels
    with pytest.raises(ImageReadError) as err:
        read_image(path, max_pixels=7999)
    assert_one_line_error(err.value, path, "limit", "7,999")
    with pytest.raises(ImageReadError):
        make_thumbnail(path, max_pixels=7999)
    assert read_image(path, max_pixels=8000).width == 100  # the cap itself is allowed
    assert read_image(path, max_pixels=0).width == 100  # 0 = no cap


@pytest.mark.parametrize("raw,expected", [
    ("", 250_000_000), ("1000", 1000), ("1_000_000", 1_000_000), ("5e8", 500_000_000),
    ("0", 0), ("lots", 250_000_000), ("-5", 0),
])
def test_max_pixels_env_value_parsing(monkeypatch, raw, expected):
    monkeypatch.setenv("VISION_STUDIO_MAX_PIXELS", raw)
    assert image_io._max_pixels_from_env() == expected


# ------------------------------------------------------------------------------ bad inputs


def _jpeg() -> bytes:
    return pil_bytes(Image.fromarray(rgb8(64, 64)), "JPEG", quality=90)


def _png() -> bytes:
    return pil_bytes(Image.fromarray(rgb8(64, 64)), "PNG")


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


BAD_INPUTS = {
    # name: (make(tmp_path) -> path, words the message must contain)
    "empty": (lambda d: write(d / "empty.png", b""), ["empty"]),
    "truncated-jpeg": (lambda d: write(d / "cut.jpg", _half(_jpeg())), ["truncated"]),
    "truncated-jpeg-header": (lambda d: write(d / "cut2.jpg", _jpeg()[:40]), ["truncated"]),
    "truncated-png": (lambda d: write(d / "cut.png", _half(_png())), ["truncated"]),
    "truncated-png-header": (lambda d: write(d / "cut2.png", _png()[:20]), ["truncated"]),
    "truncated-png16": (lambda d: write(d / "cut16.png", _half(
        cv2.imencode(".png", rgb16(64, 64))[1].tobytes())), ["truncated"]),  # OpenCV's path
    "truncated-tiff16": (lambda d: write(d / "cut16.tif", _half(
        tifffile_bytes(rgb16(64, 64), photometric="rgb"))), ["truncated"]),  # tifffile's path
    "random-bytes-as-jpg": (lambda d: write(d / "noise.jpg", random.Random(1).randbytes(4096)),
                            ["not an image", "jpeg"]),
    "jpeg-header-then-garbage": (lambda d: write(d / "bad.jpg", _jpeg()[:20] + random.Random(2)
                                                 .randbytes(4096)), ["jpeg"]),
    "text-as-png": (lambda d: write(d / "notes.png", b"just some text\nnot pixels\n"),
                    ["not an image", "text"]),
    "text-starting-with-BM": (lambda d: write(d / "bmw.bmp", b"BMW and Mini are car brands\n"),
                              ["not an image", "text"]),
    "folder": (lambda d: (d / "a folder.png").mkdir() or d / "a folder.png", ["folder"]),
    "missing": (lambda d: d / "nope" / "missing.jpg", ["not found"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
@pytest.mark.parametrize("reader", [read_image, read_info, make_thumbnail],
                         ids=["read_image", "read_info", "make_thumbnail"])
def test_bad_input_gives_one_line_error(tmp_path, case, reader):
    make, words = BAD_INPUTS[case]
    path = make(tmp_path)
    with pytest.raises(ImageReadError) as err:
        reader(path)
    assert_one_line_error(err.value, path, *words)


@pytest.mark.parametrize("case", ["truncated-jpeg", "truncated-png"])
def test_truncation_is_reported_even_if_pillow_was_told_to_allow_it(tmp_path, monkeypatch, case):
    """face_recognition sets ImageFile.LOAD_TRUNCATED_IMAGES = True for the whole process."""
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    make, words = BAD_INPUTS[case]
    path = make(tmp_path)
    for reader in (read_image, make_thumbnail):
        with pytest.raises(ImageReadError) as err:
            reader(path)
        assert_one_line_error(err.value, path, *words)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # and the global is left as it was


def test_png_with_a_bad_header_checksum_is_corrupt_not_truncated(tmp_path):
    data = bytearray(_png())
    data[30] ^= 0xFF  # the IHDR chunk's CRC (bytes 29..32)
    path = write(tmp_path / "crc.png", bytes(data))
    with pytest.raises(ImageReadError) as err:
        read_image(path)
    assert_one_line_error(err.value, path, "corrupt png")


_DROP_PRIVILEGES_AND_READ = r"""
import os, sys
from vision_studio.core.image_io import ImageReadError, read_image
readable, locked = sys.argv[1], sys.argv[2]
read_image(readable)  # import every lazily loaded module while still root
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
print("euid", os.geteuid())
print("readable", read_image(readable).width)
try:
    read_image(locked)
except ImageReadError as exc:
    print("ImageReadError", exc)
else:
    print("LOADED")
"""


def test_permission_denied(tmp_path):
    if not hasattr(os, "geteuid"):
        pytest.skip("POSIX permissions only")
    if os.geteuid() != 0:
        locked = save_pil(tmp_path / "locked.png", Image.new("RGB", (5, 4)))
        locked.chmod(0)
        try:
            with pytest.raises(ImageReadError) as err:
                read_image(locked)
        finally:
            locked.chmod(0o644)
        assert_one_line_error(err.value, locked, "permission denied")
        return
    # Root reads a chmod-000 file anyway: read it from a child that drops to 'nobody',
    # in a folder under /tmp it can traverse (pytest's tmp_path is root-only).
    work = Path(tempfile.mkdtemp(prefix="vs-perm-", dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        work.chmod(0o755)
        readable = save_pil(work / "readable ä.png", Image.new("RGB", (5, 4)))
        locked = save_pil(work / "locked ä.png", Image.new("RGB", (5, 4)))
        readable.chmod(0o644)
        locked.chmod(0)
        proc = subprocess.run(
            [sys.executable, "-c", _DROP_PRIVILEGES_AND_READ, str(readable), str(locked)],
            check=False, capture_output=True, text=True, timeout=120, encoding="utf-8",
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"},
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["euid 65534", "readable 5"], proc.stdout
    assert len(lines) == 3 and lines[2].startswith(f"ImageReadError {locked}: "), proc.stdout
    assert "permission denied" in lines[2].lower()


def test_nul_in_path_is_an_image_read_error():
    with pytest.raises(ImageReadError) as err:
        read_image("bad\x00name.png")
    assert "\x00" not in str(err.value) and "invalid file name" in str(err.value)


def test_newline_in_file_name_keeps_the_message_on_one_line(tmp_path):
    path = write(tmp_path / "two\nlines.png", b"")
    with pytest.raises(ImageReadError) as err:
        read_image(path)
    assert "\n" not in str(err.value) and "empty" in str(err.value)


def test_image_read_error_survives_pickling(tmp_path):
    err = ImageReadError(tmp_path / "x.png", "file not found")
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.path, back.reason) == (str(err), err.path, err.reason)


# ------------------------------------------------------------------------------ extension mismatch


def test_jpeg_named_png_loads_with_a_note(tmp_path):
    path = write(tmp_path / "photo.png", _jpeg())
    img = read_image(path)
    assert_analysis_format(img, 64, 64)
    assert img.info.format == "JPEG"
    assert len(img.info.notes) == 1
    assert "PNG" in img.info.notes[0] and "JPEG" in img.info.notes[0]


def test_png_named_jpg_loads_with_a_note(tmp_path):
    img = read_image(write(tmp_path / "photo.JPG", _png()))
    assert img.info.format == "PNG" and "JPEG" in img.info.notes[0]


# ------------------------------------------------------------------------------ fuzz


def _fuzz_seeds() -> dict[str, bytes]:
    im = Image.fromarray(rgb8(24, 32, seed=7))
    return {
        "PNG": pil_bytes(im, "PNG"), "JPEG": pil_bytes(im, "JPEG"), "GIF": pil_bytes(im, "GIF"),
        "BMP": pil_bytes(im, "BMP"), "TIFF": pil_bytes(im, "TIFF"),
        "WEBP": pil_bytes(im, "WEBP"), "PNG16": cv2.imencode(".png", rgb16(24, 32))[1].tobytes(),
        "TIFF16": tifffile_bytes(rgb16(24, 32), photometric="rgb"),
    }


FUZZ_SEEDS = _fuzz_seeds()


def _mutate(data: bytes, rnd: random.Random, how: int) -> bytes:
    if how == 0:  # a valid header, then noise
        keep = rnd.randrange(4, min(len(data), 80))
        return data[:keep] + rnd.randbytes(rnd.randrange(0, 3000))
    if how == 1:  # flipped bytes anywhere
        out = bytearray(data)
        for _ in range(rnd.randrange(1, 12)):
            out[rnd.randrange(len(out))] = rnd.randrange(256)
        return bytes(out)
    return data[: rnd.randrange(1, len(data))]  # cut anywhere


@pytest.mark.parametrize("case", range(6))
@pytest.mark.parametrize("fmt", sorted(FUZZ_SEEDS))
def test_fuzz_only_image_read_error(tmp_path, fmt, case):
    rnd = random.Random(f"{fmt}-{case}")
    path = tmp_path / f"fuzz.{fmt.lower()}"
    for how in range(3):
        write(path, _mutate(FUZZ_SEEDS[fmt], rnd, how))
        for reader in (read_image, make_thumbnail):
            try:
                result = reader(path, max_pixels=2_000_000)
            except ImageReadError as exc:
                assert_one_line_error(exc, path)
                continue
            pixels = result.pixels if isinstance(result, LoadedImage) else result
            assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
            assert pixels.flags.c_contiguous


# ------------------------------------------------------------------------------ analysis array


def test_pixels_and_original_are_read_only(tmp_path):
    img = read_image(save_cv2(tmp_path / "a.png", rgb16(4, 4)))
    for arr in (img.pixels, img.original):
        with pytest.raises(ValueError):
            arr[0, 0] = 0


@pytest.mark.parametrize("arr,expected", [
    (np.array([[True, False]]), [[255] * 3, [0] * 3]),
    (np.array([[0, 128, 129, 65535]], np.uint16), [[0] * 3, [0] * 3, [1] * 3, [255] * 3]),
    (np.array([[0.0, 0.5, 1.0]], np.float32), [[0] * 3, [128] * 3, [255] * 3]),
    (np.array([[-1.0, 0.0, 1.0, np.nan, np.inf]]), [[0] * 3, [128] * 3, [255] * 3, [0] * 3,
                                                     [255] * 3]),
    (np.array([[1000, 1010]], np.int32), [[0] * 3, [255] * 3]),  # min..max, not 0..max
    (np.array([[7, 7]], np.int32), [[0] * 3, [0] * 3]),  # flat: nothing to stretch
    (np.full((1, 2), np.nan, np.float32), [[0] * 3, [0] * 3]),
], ids=["bool", "uint16-rounds", "float01", "float-stretch-nonfinite", "int-stretch", "flat-int",
        "all-nan"])
def test_to_analysis_rgb_values(arr, expected):
    out = to_analysis_rgb(arr)
    assert out.dtype == np.uint8 and out.flags.c_contiguous
    assert out.reshape(-1, 3).tolist() == expected


def test_to_analysis_rgb_integer_alpha_uses_the_full_type_range():
    rgba = np.zeros((1, 2, 4), np.uint32)
    rgba[..., 3] = np.iinfo(np.uint32).max  # opaque, even though the alpha is constant
    rgba[0, 1, :3] = 7
    out = to_analysis_rgb(rgba)
    assert out[0, 0].tolist() == [0, 0, 0] and out[0, 1].tolist() == [255, 255, 255]


def test_to_analysis_rgb_cmyk_mode_and_extra_channels():
    cmyk = np.array([[[255, 0, 0, 0], [0, 0, 0, 255]]], np.uint8)
    assert to_analysis_rgb(cmyk, "CMYK").tolist() == [[[0, 255, 255], [0, 0, 0]]]
    five = np.arange(2 * 2 * 5, dtype=np.uint8).reshape(2, 2, 5)
    assert np.array_equal(to_analysis_rgb(five), five[:, :, :3])


def test_to_analysis_rgb_rejects_other_shapes():
    with pytest.raises(ValueError):
        to_analysis_rgb(np.zeros((2, 2, 2, 2), np.uint8))


def test_info_to_dict_is_plain_data(tmp_path):
    info = read_info(write(tmp_path / "p.png", _png()))
    d = info.to_dict()
    assert isinstance(info, ImageInfo)
    assert d["path"] == str(tmp_path / "p.png") and d["notes"] == [] and d["width"] == 64
    assert d["file_size"] == (tmp_path / "p.png").stat().st_size


# ------------------------------------------------------------------------------ folders


def test_list_images_natural_order_hidden_and_non_images_skipped(tmp_path):
    for name in ["img10.png", "img2.png", "IMG1.jpg", "img2b.tif", ".hidden.png", "notes.txt",
                 "img1².png"]:
        write(tmp_path / name, b"x")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "img3.png", b"x")
    names = [p.name for p in list_images(tmp_path)]
    assert names == ["IMG1.jpg", "img1².png", "img2.png", "img2b.tif", "img10.png"]


def test_list_images_recursive_skips_hidden_folders(tmp_path):
    write(tmp_path / "a" / "img2.png", b"x")
    write(tmp_path / "a" / "img10.png", b"x")
    write(tmp_path / ".cache" / "img1.png", b"x")
    write(tmp_path / "b.png", b"x")
    got = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path, recursive=True)]
    assert got == ["a/img2.png", "a/img10.png", "b.png"]


def test_natural_key_handles_unusual_digits_and_ties():
    names = ["x1²2.png", "x٣.png", "x2.png", "x02.png", "X2.png"]
    ordered = sorted(names, key=natural_key)  # must not raise on '²' or Arabic-Indic digits
    assert ordered.index("x2.png") < ordered.index("x٣.png")
    assert natural_key("a2") < natural_key("a10")


def test_is_image_path_and_extensions():
    assert is_image_path("a/B.JPG") and is_image_path(Path("x.tiff")) and is_image_path("y.webp")
    assert not is_image_path("notes.txt") and not is_image_path("png")
    assert {".jpg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".ppm", ".pgm"} <= IMAGE_EXTENSIONS


# ------------------------------------------------------------------------------ thumbnails


THUMB_MAKERS = {
    "jpeg": lambda d: save_pil(d / "t.jpg", Image.fromarray(rgb8(300, 400))),
    "png": lambda d: save_pil(d / "t.png", Image.fromarray(rgb8(300, 400))),
    "png-rgba": lambda d: save_pil(d / "t.png", Image.fromarray(np.zeros((300, 400, 4), np.uint8))),
    "tiff16": lambda d: save_tiff(d / "t.tif", rgb16(300, 400), photometric="rgb"),
    "tiff16-gray": lambda d: save_tiff(d / "t.tif", rgb16(300, 400, channels=1),
                                       photometric="minisblack"),
    "cmyk-jpeg": lambda d: save_pil(d / "t.jpg", Image.new("CMYK", (400, 300), (0, 0, 0, 0))),
    "png16-opencv": lambda d: save_cv2(d / "t.png", rgb16(300, 400)),
}


@pytest.mark.parametrize("kind", sorted(THUMB_MAKERS))
def test_make_thumbnail_is_small_rgb_uint8(tmp_path, kind):
    thumb = make_thumbnail(THUMB_MAKERS[kind](tmp_path), size=64)
    assert thumb.dtype == np.uint8 and thumb.ndim == 3 and thumb.shape[2] == 3
    assert thumb.flags.c_contiguous
    assert max(thumb.shape[:2]) <= 64 and thumb.shape[:2] == (48, 64)


def test_make_thumbnail_applies_orientation(tmp_path):
    path = save_pil(tmp_path / "rot.jpg", Image.fromarray(_marked(96, 160)), exif=exif_bytes(6))
    thumb = make_thumbnail(path, size=40)
    assert thumb.shape[:2] == (40, 24)  # portrait, like read_image


def test_make_thumbnail_of_a_small_image_is_not_enlarged(tmp_path):
    thumb = make_thumbnail(save_pil(tmp_path / "s.png", Image.fromarray(rgb8(10, 12))), size=96)
    assert thumb.shape == (10, 12, 3)


def test_make_thumbnail_corrupt_file_raises(tmp_path):
    path = write(tmp_path / "broken.jpg", _jpeg()[:300])
    with pytest.raises(ImageReadError) as err:
        make_thumbnail(path)
    assert_one_line_error(err.value, path, "truncated")


# ------------------------------------------------------------------------------ real photos

# From ../shared/testdata/README.md ("images/" table): file -> (width, height).
REAL_IMAGES = {
    "bus.jpg": (810, 1080), "zidane.jpg": (1280, 720), "darknet_dog.jpg": (768, 576),
    "darknet_horses.jpg": (773, 512), "darknet_kite.jpg": (1352, 900),
    "darknet_person.jpg": (640, 424), "skimage_astronaut.png": (512, 512),
    "skimage_coffee.png": (600, 400), "skimage_chelsea.png": (451, 300),
}


@pytest.mark.skipif(not SHARED_IMAGES.is_dir(),
                    reason=f"shared test photos not present at {SHARED_IMAGES}; every other test "
                           "here generates its own images")
def test_real_photos_load_with_their_documented_size():
    present = {p.name for p in SHARED_IMAGES.iterdir() if is_image_path(p)}
    assert set(REAL_IMAGES) <= present, f"missing from {SHARED_IMAGES}: {set(REAL_IMAGES) - present}"
    for path in list_images(SHARED_IMAGES):
        img = read_image(path)
        if path.name in REAL_IMAGES:
            w, h = REAL_IMAGES[path.name]
            assert_analysis_format(img, h, w)
        thumb = make_thumbnail(path)
        assert max(thumb.shape[:2]) == 96 and thumb.dtype == np.uint8
