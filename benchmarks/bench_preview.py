"""Preview: latency of one parameter change on a 24-megapixel image, in the real window.

One fresh process with the app's Python (this file with --child) opens the main window
offscreen, loads a 6000 x 4000 image (bus.jpg upscaled; a generated one without
../shared/testdata), adds a step, and then, like a slider drag, changes one parameter
`repeat` times. Per change it measures the wall time from the change to the end of the
canvas update showing the new preview (the proxy run, the histogram, QImage/QPixmap
conversion and the repaint), waiting for each before the next.

Side by side, in the same process: the raw OpenCV call on the full 24 MP image, which is
what a preview without a proxy would cost per update at least. Goal (from the issue):
preview latency <= 60 ms per update.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, median, p90, python_exe  # noqa: E402

IMAGE = Path(os.environ.get("VS_BENCH_IMAGE", "/work/shared/testdata/images/bus.jpg"))
GOAL_MS = 60.0
# (op, parameter, values a drag passes through)
CASES = (("gaussian_blur", "ksize", [7, 9, 11, 13, 15, 17, 19, 21, 23, 25]),
         ("brightness_contrast", "alpha", [1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0]),
         ("canny", "low", [40.0, 45.0, 50.0, 55.0, 60.0, 65.0, 70.0, 75.0, 80.0, 85.0]))


def run(repeat: int = 10) -> list[dict]:
    cmd = [python_exe(), str(Path(__file__).resolve()), "--child", "--repeat", str(max(1, repeat))]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if out.returncode != 0:
        return [{"case": "error", "note": (out.stderr.strip().splitlines() or ["failed"])[-1]}]
    return json.loads(out.stdout)


def summary(rows: list[dict]) -> list[str]:
    lines = []
    for r in rows:
        if "preview_ms" in r:
            verdict = "MET" if r["preview_ms"] <= GOAL_MS else "NOT met"
            lines.append(f"{r['case']}: preview median {r['preview_ms']:.1f} ms "
                         f"(raw full-res call {r['raw_full_ms']:.0f} ms) -> goal <= {GOAL_MS:.0f} ms {verdict}")
    return lines


# ----------------------------------------------------------------------------- child

def _child(repeat: int) -> None:
    import tempfile

    import numpy as np
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from vision_studio.core.ops import get_op
    from vision_studio.core.ops.spec import cv2
    from vision_studio.gui.application import make_app
    from vision_studio.gui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp())
    big = tmp / "big24mp.png"
    if IMAGE.is_file():
        src = cv2.cvtColor(cv2.imread(str(IMAGE)), cv2.COLOR_BGR2RGB)
        note = f"{IMAGE.name} upscaled"
    else:
        rng = np.random.default_rng(0)
        src = rng.integers(0, 255, (400, 600, 3), np.uint8)
        note = "generated"
    img = cv2.resize(src, (6000, 4000), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(big), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])

    app = make_app()
    w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
    w.show()
    loaded = []
    w.browser.sig_loaded.connect(loaded.append)
    w.open_paths([big])
    _wait(app, lambda: loaded and not w.jobs.busy, 120)
    rows = []
    for op, param, values in CASES:
        w.pipeline_dock.add_op(op)
        _wait(app, lambda: w.pipeline.is_current() and not w.jobs.busy, 120)
        latencies = []
        for value in (values * ((repeat + len(values) - 1) // len(values)))[:repeat]:
            seen = []
            handler = lambda r: seen.append(time.perf_counter()) if not r.full else None  # noqa: E731
            w.pipeline.sig_rendered.connect(handler)
            t0 = time.perf_counter()
            w.pipeline_dock.editor.set_param_value(param, value)
            _wait(app, lambda: seen, 30)
            app.processEvents()  # the repaint of the new pixmap
            latencies.append((time.perf_counter() - t0) * 1000)
            w.pipeline.sig_rendered.disconnect(handler)
            _wait(app, lambda: not w.jobs.busy, 120)  # let the full-res run finish first
        params = dict(w.pipeline.pipeline.steps[-1].params)
        spec = get_op(op)
        raw = []
        for _ in range(3):
            t0 = time.perf_counter()
            spec.func(img, **params)
            raw.append((time.perf_counter() - t0) * 1000)
        rows.append({"case": op, "n": len(latencies), "preview_ms": round(median(latencies), 1),
                     "p90_ms": round(p90(latencies), 1), "raw_full_ms": round(median(raw), 1),
                     "proxy": "1280 px long side", "note": note})
        w.pipeline_dock.clear()
        _wait(app, lambda: not w.jobs.busy, 60)
    w.close()
    print(json.dumps(rows))


def _wait(app, cond, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise SystemExit("timed out waiting for the window")
        app.processEvents()
        time.sleep(0.001)


if __name__ == "__main__" and "--child" in sys.argv:
    _child(int(sys.argv[sys.argv.index("--repeat") + 1]))
