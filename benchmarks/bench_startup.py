"""Startup: wall time from launch to the window's first paint, Vision Studio vs a bare QMainWindow.

Three cases, each a fresh process running _startup_probe.py with the app's Python:
  bare       a bare PySide6 QMainWindow (1280x800), the floor any Qt app pays;
  app        `vision-studio` with no arguments: main window first painted;
  app+image  `vision-studio IMAGE`: the image painted on the canvas.
The clock starts in this process just before Popen and stops at the probe's
CLOCK_MONOTONIC stamp taken after the paint pass, so interpreter start-up and
every import are included: what a user waits for. Teardown is not timed.

Platforms: QT_QPA_PLATFORM=offscreen, and xcb on an Xvfb server this benchmark
starts on a free display (-displayfd) and stops at the end (DISPLAY set,
QT_QPA_PLATFORM unset, as on an X11 desktop; the probe checks Qt really chose xcb);
xcb is skipped with a note if Xvfb is not installed. Each (platform, case) gets one discarded warm-up
run (fills the OS file cache), then `repeat` timed runs, cases interleaved so a
drift in machine load hits all of them alike. Every run gets a fresh, empty
XDG_CONFIG_HOME (no saved settings, window geometry or recent files).

Goal (from the issue): app median <= 2x bare median and <= 1.0 s.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

from _common import HERE, REPO, median, p90, python_exe

PROBE = HERE / "_startup_probe.py"
TEST_IMAGE = Path(os.environ.get("VS_BENCH_IMAGE", "/work/shared/testdata/images/bus.jpg"))
RUN_TIMEOUT_S = 60
GOAL_RATIO, GOAL_SECONDS = 2.0, 1.0
CASES = ("bare", "app", "app+image")
# Phases, from the probe's stamps (see _startup_probe.py); "launch" is the parent's t0.
PHASES = (("python_s", "launch", "start"),    # process spawn + interpreter + site
          ("imports_s", "start", "qapp"),     # imports (+ main(): cli, argparse) + QApplication
          ("window_s", "qapp", "show"),       # MainWindow import + construction (bare: QMainWindow())
          ("paint_s", "show", "done"))        # show -> expose -> first paint flushed (or image painted)


def run(repeat: int = 10) -> list[dict]:
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="vs-bench-startup-") as tmp:
        tmp = Path(tmp)
        image, image_note = _test_image(tmp)
        runtime = tmp / "runtime"
        runtime.mkdir(mode=0o700)
        base = dict(os.environ)
        for var in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "PYTHONPROFILEIMPORTTIME"):
            base.pop(var, None)
        base.update(XDG_RUNTIME_DIR=str(runtime), VISION_STUDIO_DATA_DIR=str(tmp / "data"),
                    PYTHONUNBUFFERED="1")
        argv = {"bare": ["bare"], "app": ["app"], "app+image": ["app", str(image)]}

        rows += _platform("offscreen", dict(base, QT_QPA_PLATFORM="offscreen"), argv, repeat, tmp,
                          image_note, expect="offscreen")
        with _xvfb() as (display, why_not):
            if display is None:
                rows.append({"platform": "xcb", "case": "-", "note": f"skipped: {why_not}"})
            else:
                # QT_QPA_PLATFORM left unset, as on a user's X11 desktop: Qt picks xcb from
                # DISPLAY, and the app runs its own xcb-library check (display_problem).
                env = dict(base, DISPLAY=display)
                rows += _platform(f"xcb (Xvfb {display})", env, argv, repeat, tmp, image_note,
                                  expect="xcb")
    return rows


def summary(rows: list[dict]) -> list[str]:
    """One line per platform: is the goal met?"""
    lines = []
    for row in rows:
        if row.get("case") == "app" and "median_s" in row:
            ok = row["ratio"] <= GOAL_RATIO and row["median_s"] <= GOAL_SECONDS
            lines.append(f"{row['platform']}: app median {row['median_s']:.3f} s = {row['ratio']:.2f}x "
                         f"bare -> goal (<= {GOAL_RATIO:g}x and <= {GOAL_SECONDS:g} s) "
                         f"{'MET' if ok else 'NOT met'}")
    return lines


# ---------------------------------------------------------------------- measuring
def _platform(name: str, env: dict, argv: dict, repeat: int, tmp: Path, image_note: str,
              expect: str) -> list[dict]:
    samples: dict[str, list[dict]] = {case: [] for case in CASES}
    errors: dict[str, str] = {}
    for i in range(repeat + 1):  # run 0 is the warm-up
        for case in CASES:
            if case in errors:
                continue
            try:
                sample = _launch(argv[case], env, tmp)
                if sample["platform"] != expect:
                    raise RuntimeError(f"Qt used platform {sample['platform']!r}, not {expect!r}")
            except RuntimeError as exc:
                errors[case] = str(exc)
                continue
            if i > 0:
                samples[case].append(sample)

    rows = []
    bare = median([s["total"] for s in samples["bare"]])
    for case in CASES:
        if case in errors:
            rows.append({"platform": name, "case": case, "error": errors[case]})
            continue
        totals = [s["total"] for s in samples[case]]
        row = {"platform": name, "case": case, "n": len(totals),
               "median_s": median(totals), "p90_s": p90(totals),
               "ratio": median(totals) / bare if bare else float("nan")}
        for phase, start, end in PHASES:
            row[phase] = median([s[end] - s[start] for s in samples[case]])
        if case == "app+image":
            row["note"] = image_note
        rows.append(row)
    return rows


def _launch(args: list[str], env: dict, tmp: Path) -> dict:
    """One launch; returns the probe's stamps relative to launch, plus 'total'."""
    config = Path(tempfile.mkdtemp(prefix="config-", dir=tmp))
    env = dict(env, XDG_CONFIG_HOME=str(config))
    t0 = time.monotonic()
    proc = subprocess.Popen([python_exe(), str(PROBE), *args], env=env, cwd=REPO,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise RuntimeError(f"`{' '.join(args)}` did not paint within {RUN_TIMEOUT_S} s") from None
    finally:
        shutil.rmtree(config, ignore_errors=True)
    line = next((ln for ln in out.splitlines() if ln.startswith("VS_PROBE ")), None)
    if line is None:
        tail = " | ".join((err or out).strip().splitlines()[-3:])
        raise RuntimeError(f"`{' '.join(args)}` exited {proc.returncode} without a paint: {tail}")
    report = json.loads(line[len("VS_PROBE "):])
    rel = {key: value - t0 for key, value in report["t"].items()}
    rel.update(launch=0.0, total=rel["done"], platform=report["platform"])
    return rel


# ---------------------------------------------------------------------- X server
@contextmanager
def _xvfb():
    """Yield (DISPLAY, None) for a private Xvfb, or (None, reason). Stops it afterwards."""
    exe = shutil.which("Xvfb")
    if exe is None:
        yield None, "Xvfb is not installed (apt-get install -y xvfb)"
        return
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([exe, "-displayfd", str(write_fd), "-screen", "0", "1920x1080x24",
                             "-nolisten", "tcp", "-noreset"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_fd)
    try:
        number = _read_display(read_fd, proc)
        if number is None:
            err = proc.stderr.read().decode(errors="replace").strip() if proc.poll() is not None else ""
            yield None, f"Xvfb did not start ({err.splitlines()[-1] if err else 'no display number'})"
        else:
            yield f":{number}", None
    finally:
        os.close(read_fd)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()


def _read_display(fd: int, proc: subprocess.Popen, timeout: float = 15.0) -> str | None:
    """Xvfb writes its display number and a newline to -displayfd once it accepts clients."""
    import selectors

    data = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in data and time.monotonic() < deadline:
            if not sel.select(timeout=0.2):
                if proc.poll() is not None:
                    return None
                continue
            chunk = os.read(fd, 64)
            if not chunk:
                return None
            data += chunk
    number = data.strip().decode(errors="replace")
    return number if number.isdigit() else None


# ---------------------------------------------------------------------- test image
def _test_image(tmp: Path) -> tuple[Path, str]:
    if TEST_IMAGE.is_file():
        return TEST_IMAGE, f"{TEST_IMAGE.name} ({TEST_IMAGE.stat().st_size // 1024} KiB)"
    # Fallback: a generated 1280x720 RGB PNG, alone in its folder (the app browses the folder).
    folder = tmp / "image"
    folder.mkdir()
    path = folder / "generated.png"
    width, height = 1280, 720
    raw = b"".join(b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 128))
                                      for x in range(width))
                   for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path, f"generated {width}x{height} PNG ({TEST_IMAGE} missing)"
