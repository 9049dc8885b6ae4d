"""Entry point: `vision-studio [PATH...]`, `--screenshot OUT.png`, and CLI subcommands.

Kept import-light: the GUI modules (and so Qt) load only when a window is
wanted, and torch/ultralytics/dlib only when a feature needs them.
"""
from __future__ import annotations

import argparse
import os
import sys

from vision_studio import __version__
from vision_studio.core.runtime import configure_environment

# The libraries Qt's xcb plugin most often misses on a fresh Debian/Ubuntu (soname: package).
_XCB_LIBS = {"libxcb-cursor.so.0": "libxcb-cursor0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
             "libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-keysyms.so.1": "libxcb-keysyms1"}


def _loadable(soname: str) -> bool:
    """dlopen it, as Qt will (ctypes.util.find_library would spawn ldconfig: slower)."""
    import ctypes

    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def gui_parser() -> argparse.ArgumentParser:
    from vision_studio.cli import COMMANDS, _Parser

    p = _Parser(prog="vision-studio", description="Vision Studio: image analysis. "
                f"Headless commands: {', '.join(COMMANDS)} (vision-studio COMMAND --help).")
    p.add_argument("paths", nargs="*", metavar="PATH", help="images or folders to open")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="open PATHs, wait until loaded, save a PNG of the window and exit")
    p.add_argument("--pipeline", metavar="FILE", help="load this pipeline file at start")
    p.add_argument("--version", action="version", version=f"vision-studio {__version__}")
    p.add_argument("--debug", action="store_true", help="verbose log and tracebacks")
    return p


def display_problem(screenshot: bool) -> str | None:
    """Why the window cannot open here (one line), or None. May pick offscreen."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        if screenshot:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
            return None
        return ("no display: DISPLAY is not set. Run it in a desktop session, under "
                "xvfb-run, or headless with `vision-studio --screenshot OUT.png PATH`")
    if os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        missing = [pkg for lib, pkg in _XCB_LIBS.items() if not _loadable(lib)]
        if missing:
            return ("Qt's xcb platform plugin needs system libraries that are missing; install them "
                    f"with: sudo apt-get install {' '.join(missing)}")
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    configure_environment()
    from vision_studio import cli

    if argv and argv[0] in cli.COMMANDS:
        return cli.run(argv)
    if argv and argv[0] == "--debug" and len(argv) > 1 and argv[1] in cli.COMMANDS:
        return cli.run(argv)
    args = gui_parser().parse_args(argv)
    _setup_logging(args.debug)
    problem = display_problem(bool(args.screenshot))
    if problem:
        print(f"vision-studio: error: {problem}", file=sys.stderr)
        return 2
    try:
        from vision_studio.gui.application import run_gui

        return run_gui(args.paths, screenshot=args.screenshot, pipeline=args.pipeline)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line, not a traceback
        if args.debug:
            raise
        print(f"vision-studio: error: {exc}", file=sys.stderr)
        return 1


def _setup_logging(debug: bool) -> None:
    import logging

    # The console gets warnings (everything with --debug); the Log panel gets INFO too.
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if debug else logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(console)
    logging.getLogger("vision_studio").setLevel(logging.DEBUG if debug else logging.INFO)
