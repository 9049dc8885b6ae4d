"""The headless front door: the same core, no Qt (import-linter checks this).

Every subcommand reports bad input as `PATH: error: REASON` on stderr and
returns 1 when some input failed, 2 on usage errors; tracebacks only with --debug.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vision_studio import __version__
from vision_studio.core.image_io import ImageInfo, ImageReadError, list_images, read_info

COMMANDS = ("info",)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 itself; keep the message to one clear line
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vision-studio", description="Vision Studio command line")
    parser.add_argument("--version", action="version", version=f"vision-studio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    info = sub.add_parser("info", help="print format, size, channels, bit depth and EXIF facts")
    info.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    info.add_argument("--json", action="store_true", help="one JSON list instead of text")
    info.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "info":
            return cmd_info(args.paths, as_json=args.json)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 2


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
