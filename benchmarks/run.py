"""Run the benchmarks: benchmarks/bench_*.py, each exposing run(repeat) -> list[dict].

    python benchmarks/run.py                    # all of them
    python benchmarks/run.py startup --repeat 5 # some of them, fewer runs
    python benchmarks/run.py --json out.json    # also write machine-readable results
    python benchmarks/run.py --list

A benchmark module may also define summary(rows) -> list[str] (lines printed
under its table). A row with an "error" key marks a failed measurement; the
exit status is then 1. Stdlib only: any python3 can run this file; the measured
processes use the app's interpreter (.venv/bin/python, or $VS_BENCH_PYTHON).
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import python_exe  # noqa: E402


def discover() -> dict[str, Path]:
    return {p.stem[len("bench_"):]: p for p in sorted(HERE.glob("bench_*.py"))}


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    info = {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(), "python": python_exe()}
    if hasattr(os, "getloadavg"):
        info["loadavg_1m"] = round(os.getloadavg()[0], 2)  # others' load skews the timings
    try:
        head = subprocess.run(["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        info["commit"] = head or "unknown"
    except (OSError, subprocess.SubprocessError):
        info["commit"] = "unknown"
    probe = ("import sys, importlib.metadata as m; print(sys.version.split()[0]); "
             "print(m.version('PySide6-Essentials'))")
    try:
        out = subprocess.run([python_exe(), "-c", probe], capture_output=True, text=True,
                             timeout=60).stdout.split()
        info["python_version"], info["pyside6"] = out[0], out[1]
    except (OSError, IndexError, subprocess.SubprocessError):
        pass
    return info


def fmt(value) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.3f}"
    return "" if value is None else str(value)


def table(rows: list[dict]) -> str:
    """A plain aligned text table over the union of the rows' keys (in first-seen order)."""
    if not rows:
        return "(no rows)"
    cols: list[str] = []
    for row in rows:
        cols += [k for k in row if k not in cols]
    cells = [cols] + [[fmt(row.get(c)) for c in cols] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cols))]
    numeric = [all(isinstance(row.get(c), (int, float)) or row.get(c) is None for row in rows)
               for c in cols]
    lines = []
    for n, r in enumerate(cells):
        lines.append("  ".join(v.rjust(w) if numeric[i] else v.ljust(w)
                               for i, (v, w) in enumerate(zip(r, widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    available = discover()
    p = argparse.ArgumentParser(description="Run Vision Studio's benchmarks.")
    p.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(available)}")
    p.add_argument("--repeat", type=int, default=10, help="timed runs per measurement (default 10)")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = p.parse_args(argv)
    if args.list:
        for name, path in available.items():
            doc = (load(name, path).__doc__ or "").strip().splitlines()
            print(f"{name:12} {doc[0] if doc else ''}")
        return 0
    unknown = [n for n in args.names if n not in available]
    if unknown:
        p.error(f"unknown benchmark(s): {', '.join(unknown)} (have: {', '.join(available)})")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")

    info = machine()
    started = dt.datetime.now().astimezone()
    print(f"date:    {started:%Y-%m-%d %H:%M %z}")
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['os']}, "
          f"load {info.get('loadavg_1m', '?')}")
    print(f"python:  {info['python']} ({info.get('python_version', '?')}), "
          f"PySide6 {info.get('pyside6', '?')}")
    print(f"commit:  {info['commit']}")
    results, failed = {}, False
    for name in args.names or list(available):
        module = load(name, available[name])
        print(f"\n== {name} (repeat {args.repeat}) ==", flush=True)
        t0 = time.monotonic()
        try:
            rows = module.run(repeat=args.repeat)
        except Exception as exc:  # one broken benchmark must not hide the others
            print(f"FAILED: {type(exc).__name__}: {exc}")
            results[name] = {"error": str(exc)}
            failed = True
            continue
        print(table(rows))
        notes = module.summary(rows) if hasattr(module, "summary") else []
        for line in notes:
            print(line)
        print(f"({time.monotonic() - t0:.0f} s)")
        results[name] = {"rows": rows, "summary": notes}
        failed = failed or any(row.get("error") for row in rows)
    if args.json:
        out = {"date": started.isoformat(timespec="seconds"), "machine": info,
               "repeat": args.repeat, "command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]]),
               "benchmarks": results}
        Path(args.json).write_text(json.dumps(out, indent=2, default=str) + "\n")
        print(f"\nwrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
