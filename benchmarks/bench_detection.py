"""Detection: ObjectDetector.predict vs a bare ultralytics loop; optimized exports vs PyTorch.

One fresh process with the app's Python (this file with --child), its own empty
VISION_STUDIO_DATA_DIR (so exports are made, and cached, there and not in the user's
data), on a sequence of 8 different 640x480 frames (the images of ../shared/testdata
resized; generated ones without it).

(a) wrapper: frames per second of `ObjectDetector(model).predict(rgb)` (RGB->BGR, the
    predict call, conversion to Detections) vs a bare `YOLO(model).predict(bgr)` loop
    on the same model and frames, at the same torch thread count, rounds interleaved,
    one discarded warm-up round each. Models: yolo26n built from yolo26n.yaml (random
    weights, real compute) and, when present, yolov8n_int8.onnx (real detections, so
    the conversion has work to do). Goal: ours >= 0.95x bare throughput.
(b) optimized: the same yolo26n network (YAML -> .pt) exported by our optimize() to
    OpenVINO and ONNX, vs ultralytics' default PyTorch run (its own thread choice:
    cpu_count - 1, i.e. 1 thread on 2 cores) and vs PyTorch at our thread policy.
    OpenVINO also as INT8 (NNCF, calibrated on the same test photos; random weights, so
    this measures speed, not accuracy).
    Static exports run 640x640 letterboxed frames, PyTorch and dynamic exports 640x480
    (rectangular). Export time is reported separately, not in the per-frame numbers.
    Goal: optimized >= 3x ultralytics' default PyTorch.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, median, python_exe  # noqa: E402

SHARED = REPO.parent / "shared" / "testdata"
INT8_ONNX = SHARED / "models" / "yolov8n_int8.onnx"
FRAME_W, FRAME_H, N_FRAMES = 640, 480, 8
GOAL_WRAPPER = 0.95
GOAL_OPTIMIZED = 3.0
RUN_TIMEOUT_S = 3600


def run(repeat: int = 10) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="vs-bench-detection-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(REPO), "VISION_STUDIO_DATA_DIR": str(Path(tmp) / "data")}
        cmd = [python_exe(), str(Path(__file__).resolve()), "--child", "--repeat", str(max(1, repeat)),
               "--tmp", tmp]
        # stderr is inherited: the child reports progress there.
        proc = subprocess.run(cmd, cwd=tmp, stdout=subprocess.PIPE, text=True, env=env, timeout=RUN_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark process failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summary(rows: list[dict]) -> list[str]:
    lines = []
    for r in rows:
        if r.get("part") == "wrapper" and "ratio" in r:
            verdict = "MET" if r["ratio"] >= GOAL_WRAPPER else "NOT met"
            lines.append(f"wrapper {r['case']}: ours {r['ours_fps']:.1f} fps vs bare {r['bare_fps']:.1f} fps "
                         f"= {r['ratio']:.3f}x -> goal >= {GOAL_WRAPPER}x {verdict}")
    base = next((r for r in rows if r.get("case") == "pytorch (ultralytics default)"), None)
    for r in rows:
        if r.get("part") == "optimized" and r.get("speedup") and r["case"].startswith(("openvino", "onnx")):
            verdict = "MET" if r["speedup"] >= GOAL_OPTIMIZED else "NOT met"
            lines.append(f"optimized {r['case']}: {r['ms']:.1f} ms/frame vs {base['ms']:.1f} ms "
                         f"= {r['speedup']:.2f}x (vs ours-threads PyTorch {r['vs_pytorch_ours']:.2f}x) "
                         f"-> goal >= {GOAL_OPTIMIZED}x {verdict}")
    return lines


# ------------------------------------------------------------------ the measuring process

def _frames():
    import cv2
    import numpy as np

    images = sorted((SHARED / "images").glob("*")) if (SHARED / "images").is_dir() else []
    frames, note = [], "testdata images"
    for p in images[:N_FRAMES]:
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if bgr is not None:
            frames.append(cv2.resize(bgr, (FRAME_W, FRAME_H), interpolation=cv2.INTER_AREA))
    if len(frames) < N_FRAMES:
        note = "generated" if not frames else "testdata images + generated"
        rng = np.random.default_rng(0)
        while len(frames) < N_FRAMES:
            frames.append(rng.integers(0, 255, (FRAME_H, FRAME_W, 3), np.uint8))
    rgb = [np.ascontiguousarray(f[..., ::-1]) for f in frames]
    for a in rgb:
        a.flags.writeable = False  # like LoadedImage.pixels
    return frames, rgb, note


def _loop_ms(fn, inputs) -> float:
    """Median per-frame milliseconds over one pass of `inputs`."""
    import time

    times = []
    for x in inputs:
        t0 = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t0) * 1000)
    return median(times)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _child(repeat: int, tmp: Path) -> None:
    import time

    from vision_studio.core.detection import ObjectDetector, models, settings

    settings.ensure_configured()
    import torch
    from ultralytics import YOLO
    from ultralytics.utils import NUM_THREADS

    bgr, rgb, note = _frames()
    threads = settings.thread_count("batch")
    kw = settings.predict_kwargs()
    rows: list[dict] = []

    # the network, saved as a .pt so that every case loads the same weights
    pt = tmp / "yolo26n_random.pt"
    torch.manual_seed(0)
    YOLO("yolo26n.yaml").save(str(pt))

    # (a) wrapper overhead
    cases = [("yolo26n (pytorch, random weights)", pt)]
    if INT8_ONNX.is_file():
        cases.append(("yolov8n_int8.onnx (real detections)", INT8_ONNX))
    for name, path in cases:
        _log(f"wrapper: {name}")
        ours = ObjectDetector(path, threads=threads)
        bare = YOLO(str(path))

        def bare_predict(frame, _m=bare):
            return _m.predict(frame, **kw)

        bare_predict(bgr[0])
        torch.set_num_threads(threads)  # same threads as ours (ultralytics' setup reset them)
        ours.predict(rgb[0])
        bare_ms, ours_ms = [], []
        for i in range(repeat + 1):  # round 0: warm-up, discarded; frame by frame alternating
            for b_in, o_in in zip(bgr, rgb, strict=True):
                t0 = time.perf_counter()
                bare_predict(b_in)
                t1 = time.perf_counter()
                ours.predict(o_in)
                t2 = time.perf_counter()
                if i:
                    bare_ms.append((t1 - t0) * 1000)
                    ours_ms.append((t2 - t1) * 1000)
        found = sum(len(ours.predict(f)) for f in rgb)
        b, o = median(bare_ms), median(ours_ms)
        rows.append({"part": "wrapper", "case": name, "threads": threads, "frames": len(rgb),
                     "detections": found, "bare_ms": round(b, 2), "ours_ms": round(o, 2),
                     "bare_fps": round(1000 / b, 2), "ours_fps": round(1000 / o, 2),
                     "ratio": round(b / o, 3), "note": note})

    # (b) optimized exports vs PyTorch
    # (case, model path, torch threads: "default" = a bare YOLO with ultralytics' own choice)
    variants = [("pytorch (ultralytics default)", pt, "default"),
                (f"pytorch ({threads} threads, ours)", pt, threads)]
    export_s = {}
    # INT8 is calibrated on the benchmark's own source images (the shared test photos).
    calibration = [SHARED / "images"] if (SHARED / "images").is_dir() else None
    for fmt, dynamic, int8 in (("openvino", False, False), ("onnx", False, False), ("openvino", True, False),
                               ("onnx", True, False), ("openvino", False, True), ("openvino", True, True)):
        label = f"{fmt}{' int8' if int8 else ''}{' dynamic' if dynamic else ''}"
        opts = {"dynamic": dynamic, "int8": int8, "calibration": calibration if int8 else None}
        _log(f"optimize: {label}")
        t0 = time.perf_counter()
        try:
            out = models.optimize(pt, fmt, 640, **opts)
        except models.ModelError as exc:
            rows.append({"part": "optimized", "case": label, "error": str(exc)})
            continue
        export_s[label] = time.perf_counter() - t0
        t0 = time.perf_counter()
        models.optimize(pt, fmt, 640, **opts)  # the cache hit
        variants.append((label, out, threads))
        export_s[label + " (cached)"] = time.perf_counter() - t0
    results: dict[str, list[float]] = {}
    detectors = {}
    for case, path, th in variants:
        _log(f"optimized: {case}")
        if th == "default":
            m = YOLO(str(path))
            m.predict(bgr[0], **kw)  # ultralytics' own thread choice stays as it set it
            detectors[case] = (lambda f, _m=m: _m.predict(f, **kw)), bgr
        else:
            det = ObjectDetector(path, threads=th)
            det.predict(rgb[0])
            detectors[case] = det.predict, rgb
        results[case] = []
    for i in range(repeat + 1):  # interleaved rounds, round 0 discarded
        for case, (fn, inputs) in detectors.items():
            if case == "pytorch (ultralytics default)":
                torch.set_num_threads(NUM_THREADS)  # as its predictor set up left it
            ms = _loop_ms(fn, inputs)
            if i:
                results[case].append(ms)
    base = median(results["pytorch (ultralytics default)"])
    ours_pt = median(results[f"pytorch ({threads} threads, ours)"])
    for case, _path, th in variants:
        ms = median(results[case])
        input_shape = "640x480" if case.startswith("pytorch") or "dynamic" in case else "640x640"
        row = {"part": "optimized", "case": case, "ms": round(ms, 2), "fps": round(1000 / ms, 2),
               "speedup": round(base / ms, 2), "vs_pytorch_ours": round(ours_pt / ms, 2),
               "input": input_shape,
               "torch_threads": NUM_THREADS if th == "default" else th}
        if case in export_s:
            row["export_s"] = round(export_s[case], 1)
            row["cached_s"] = round(export_s[case + " (cached)"], 3)
        rows.append(row)
    print(json.dumps(rows))


if __name__ == "__main__" and "--child" in sys.argv:
    _child(int(sys.argv[sys.argv.index("--repeat") + 1]), Path(sys.argv[sys.argv.index("--tmp") + 1]))
