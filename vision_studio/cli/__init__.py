"""The headless front door: the same core, no Qt (import-linter checks this).

One module per command group (info, ...), each with `register(subparsers)`
that sets `func` on its parser. Every command reports bad input as
`PATH: error: REASON` on stderr and returns 1 when some input failed, 2 on
usage errors; tracebacks only with --debug.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from vision_studio import __version__

# Command name -> module in this package; each module registers its own subcommand.
COMMAND_MODULES = {"info": "info", "ops": "ops", "analyze": "analyze", "models": "models", "faces": "faces"}
COMMANDS = tuple(COMMAND_MODULES)


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
    for module in COMMAND_MODULES.values():
        mod = importlib.import_module(f"vision_studio.cli.{module}")
        cmd = mod.register(sub)
        # SUPPRESS: a subparser default would overwrite `vision-studio --debug CMD`.
        cmd.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show tracebacks")
    return parser


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`vision-studio ops | head`): not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second complaint at exit
        return 0
    except Exception as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1


