"""`vision-studio info`: what each image is (size, channels, bit depth, format, EXIF facts)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from vision_studio.core.image_io import ImageInfo, ImageReadError, list_images, read_info


def register(sub):
    p = sub.add_parser("info", help="print format, size, channels, bit depth and EXIF facts")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    p.add_argument("--json", action="store_true", help="one JSON list instead of text")
    p.set_defaults(func=lambda args: cmd_info(args.paths, as_json=args.json))
    return p


def expand_inputs(paths: list[str]) -> tuple[list[Path], int]:
    """Folders become their images; an empty folder is reported and counted as failed."""
    out: list[Path] = []
    failed = 0
    for p in map(Path, paths):
        if p.is_dir():
            found = list_images(p)
            if not found:
                print(f"{p}: error: no images in this folder", file=sys.stderr)
                failed += 1
            out.extend(found)
        else:
            out.append(p)
    return out, failed


def cmd_info(paths: list[str], as_json: bool = False) -> int:
    inputs, failed = expand_inputs(paths)
    entries = []
    for path in inputs:
        try:
            info = read_info(path)
        except ImageReadError as exc:
            failed += 1
            print(f"{exc.path}: error: {exc.reason}", file=sys.stderr)
            continue
        if as_json:
            entries.append(info.to_dict())
        else:
            print(format_info(info))
    if as_json:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
    return 1 if failed else 0


def format_info(info: ImageInfo) -> str:
    lines = [
        f"{info.path}",
        f"  format:      {info.format}",
        f"  size:        {info.width} x {info.height}",
        f"  channels:    {info.channels} ({info.mode})",
        f"  bit depth:   {info.bit_depth} ({info.dtype})",
        f"  orientation: {info.exif_orientation if info.exif_orientation else 'none'}",
        f"  camera:      {info.camera if info.has_camera else 'no'}",
        f"  date:        {info.datetime if info.has_datetime else 'no'}",
        f"  GPS:         {'yes' if info.has_gps else 'no'}",
    ]
    if info.frames > 1:
        lines.append(f"  frames:      {info.frames}")
    lines += [f"  note:        {n}" for n in info.notes]
    return "\n".join(lines)
