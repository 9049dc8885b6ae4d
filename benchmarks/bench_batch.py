"""Batch: `vision-studio analyze DIR --objects` vs `yolo predict source=DIR save=True`.

200 JPEGs (the images of ../shared/testdata, or ultralytics' bus/zidane, resized to a
spread of sizes between 480 and 1280 px wide and re-encoded), the same model on both
sides: yolo26n built from yolo26n.yaml and saved as a .pt (real compute, random weights,
no download; `--model PATH` picks another, e.g. an .onnx). Both write annotated images.
Each run is a fresh process (start-up and model load included, as a user sees it; the
rate after the first quarter of the images is reported too, without them), in
an empty temp folder, with its own YOLO_CONFIG_DIR and VISION_STUDIO_DATA_DIR, so
nothing is written elsewhere. Rounds are interleaved; the median is reported.

Memory: RSS is sampled every 0.2 s from /proc; "growth" is the median RSS over the last
quarter of the images minus the median over the second quarter: flat means it does not
grow with the folder (a 600-image run stayed within 827-869 MB from 10% to the end).

Threads: ultralytics sets torch to cpu_count-1 threads (1 on 2 cores), the CLI to all
cores ("batch" policy). The equal-threads row (VISION_STUDIO_THREADS=1) shows how much
of the gain is the pipeline overlap and how much the thread count.
Goal: ours >= 1.2x images per second with memory flat.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, median, python_exe  # noqa: E402

SHARED = REPO.parent / "shared" / "testdata" / "images"
N_IMAGES = 200
GOAL = 1.2


def make_images(folder: Path) -> None:
    code = r"""
import sys
from pathlib import Path
from PIL import Image
src, out, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
files = sorted(p for p in src.iterdir() if p.suffix.lower() in (".jpg", ".png")) if src.is_dir() else []
if not files:
    from ultralytics.utils import ASSETS
    files = sorted(Path(ASSETS).glob("*.jpg"))
widths = [480, 640, 800, 960, 1280]
for i in range(n):
    im = Image.open(files[i % len(files)]).convert("RGB")
    w = widths[(i // len(files)) % len(widths)]
    im = im.resize((w, max(1, round(im.height * w / im.width))))
    im.save(out / f"img_{i:03d}.jpg", quality=90)
"""
    folder.mkdir(parents=True)
    subprocess.run([python_exe(), "-c", code, str(SHARED), str(folder), str(N_IMAGES)], check=True)


def make_model(tmp: Path, env: dict) -> Path:
    path = tmp / "yolo26n_random.pt"
    code = f"from ultralytics import YOLO; YOLO('yolo26n.yaml').save({str(path)!r})"
    subprocess.run([python_exe(), "-c", code], check=True, cwd=tmp, env=env, capture_output=True)
    return path


def measure(cmd: list[str], cwd: Path, env: dict, outdir: Path, pattern: str) -> dict:
    """Wall time, peak RSS and RSS growth (from 25% done to the end) of one process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples = []  # (fraction done, rss MB)
    first = quarter = None  # when the first image / a quarter of them were written
    while proc.poll() is None:
        rss = _rss_mb(proc.pid)
        if rss:
            done = len(list(outdir.rglob(pattern))) / N_IMAGES if outdir.exists() else 0.0
            samples.append((done, rss))
            now = time.perf_counter() - t0
            first = now if first is None and done > 0 else first
            quarter = now if quarter is None and done >= 0.25 else quarter
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    err = proc.stderr.read()
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {err[-800:]}")
    written = len(list(outdir.rglob(pattern)))
    if written != N_IMAGES:
        raise RuntimeError(f"{cmd[0]} wrote {written} images, expected {N_IMAGES}")
    early = [r for f, r in samples if 0.25 <= f < 0.5]
    late = [r for f, r in samples if f >= 0.75]
    steady = 0.75 * N_IMAGES / (wall - quarter) if quarter is not None and wall > quarter else float("nan")
    return {"wall_s": wall, "fps": N_IMAGES / wall, "steady_fps": steady, "first_image_s": first or float("nan"), "peak_rss_mb": max((r for _, r in samples), default=0.0),
            "rss_growth_mb": (median(late) - median(early)) if early and late else 0.0}


def _rss_mb(pid: int) -> float:
    """RSS of the process and its children (ultralytics' CLI runs the work in a child)."""
    total = 0.0
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def run(repeat: int = 2, model: str | None = None) -> list[dict]:
    yolo = Path(python_exe()).with_name("yolo")
    with tempfile.TemporaryDirectory(prefix="vs-bench-batch-") as tmp_s:
        tmp = Path(tmp_s)
        env = {**os.environ, "YOLO_CONFIG_DIR": str(tmp / "yolo-config"), "PYTHONPATH": str(REPO),
               "VISION_STUDIO_DATA_DIR": str(tmp / "data"), "YOLO_OFFLINE": "1"}
        images = tmp / "in"
        make_images(images)
        weights = Path(model) if model else make_model(tmp, env)
        cases = {
            "ours": ([python_exe(), "-m", "vision_studio", "analyze", str(images), "-o", "OUT", "--objects",
                      "--model", str(weights)], {}),
            "ours (1 torch thread)": ([python_exe(), "-m", "vision_studio", "analyze", str(images), "-o", "OUT",
                                       "--objects", "--model", str(weights)], {"VISION_STUDIO_THREADS": "1"}),
            "yolo predict": ([str(yolo), "predict", f"model={weights}", f"source={images}", "save=True",
                              "project=OUT", "name=pred", "exist_ok=True", "verbose=False"], {}),
        }
        times: dict[str, list[dict]] = {k: [] for k in cases}
        for r in range(max(1, repeat)):
            for name, (cmd, extra) in cases.items():
                out = tmp / f"out-{r}-{len(times[name])}-{name.split()[0]}"
                cmd = [c.replace("OUT", str(out)) if c.endswith("OUT") else c for c in cmd]
                res = measure(cmd, tmp, {**env, **extra}, out, "*.jpg")
                print(f"  round {r + 1} {name}: {res['fps']:.2f} img/s (after 25%: {res['steady_fps']:.2f}; first "
                      f"image at {res['first_image_s']:.1f} s), peak {res['peak_rss_mb']:.0f} MB, "
                      f"growth {res['rss_growth_mb']:+.0f} MB", file=sys.stderr)
                times[name].append(res)
                shutil.rmtree(out, ignore_errors=True)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    base = median([x["fps"] for x in times["yolo predict"]])
    rows = []
    for name, runs in times.items():
        fps = median([x["fps"] for x in runs])
        rows.append({"case": name, "images": N_IMAGES, "fps": round(fps, 3), "ratio": round(fps / base, 3),
                     "wall_s": round(median([x["wall_s"] for x in runs]), 2),
                     "steady_fps": round(median([x["steady_fps"] for x in runs]), 2),
                     "first_image_s": round(median([x["first_image_s"] for x in runs]), 2),
                     "peak_rss_mb": round(max(x["peak_rss_mb"] for x in runs)),
                     "rss_growth_mb": round(max(x["rss_growth_mb"] for x in runs)),
                     "model": weights.name, "load_1min_after": load})
    return rows


def summary(rows: list[dict]) -> list[str]:
    ours = next(r for r in rows if r["case"] == "ours")
    verdict = "MET" if ours["ratio"] >= GOAL else "NOT met"
    return [f"ours {ours['fps']:.2f} img/s = {ours['ratio']:.2f}x yolo predict -> goal >= {GOAL}x {verdict}; "
            f"RSS growth after 25%: {ours['rss_growth_mb']} MB"]


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--model")
    a = ap.parse_args()
    result = run(a.repeat, a.model)
    print(json.dumps(result, indent=1))
    print("\n".join(summary(result)))
