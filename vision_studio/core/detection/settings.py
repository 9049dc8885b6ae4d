"""Keep ultralytics (and the runtimes it loads) under the app's control.

Call `ensure_configured()` before anything imports ultralytics; every function of
this package does so itself. It is idempotent and thread-safe. What it does, and why:

Before the first import (environment; `setdefault`, so a user's explicit value wins):
  * the `runtime.configure_environment()` defaults: YOLO_CONFIG_DIR under our data dir
    (ultralytics writes `settings.json` there at import time), YOLO_AUTOINSTALL=false
    (never `pip install` at run time), YOLO_VERBOSE=false;
  * YOLO_OFFLINE=true: ultralytics otherwise resolves two DNS names at import time
    (`is_online()`), which can stall the import on a broken network and tells a resolver
    the app started. The app needs the network for exactly one thing, the explicit model
    download in `models.py`, which probes the network itself;
  * ULTRALYTICS_SAFE_LOAD=1: `.pt` checkpoints load with `torch.load(weights_only=True)`
    plus ultralytics' allow-list of its own model classes (8.4 supports this, off by
    default), so a foreign checkpoint cannot run arbitrary pickled code;
  * ORT_DISABLE_TELEMETRY=1: onnxruntime >= 1.2x on Linux/macOS collects usage telemetry
    (a device id and an event store under ~/.cache/Microsoft/DeveloperTools) unless this
    is set before its first session;
  * OpenVINO's Python package sends a Google Analytics "import" event and writes
    ~/intel/openvino_ga_cid on `import openvino` unless the user opted out with its
    script. Its converter falls back to a built-in no-op stub when the optional
    `openvino_telemetry` package cannot be imported, so we make that one package
    unimportable in this process (sys.modules entry None, the documented way to block
    an import). VISION_STUDIO_ALLOW_TELEMETRY=1 leaves all three telemetry switches alone.

After the import (`ultralytics.utils` pulls in torch, 2-4 s):
  * SETTINGS: sync (analytics and crash reports) off; runs_dir, weights_dir and
    datasets_dir under our data dir. Their defaults are relative to the current directory
    or to the git checkout the package sits in (a venv inside a repo makes that the
    repo): with those, `YOLO("yolo26n.pt")` would download into the current directory;
  * ultralytics' import-time side effects on the rest of the process are undone:
    `cv2.setNumThreads(0)` (every OpenCV filter of the app would run single-threaded)
    and numpy's print options;
  * font downloads happen only in ultralytics' plotting (Annotator/`Results.plot`),
    which we never call; predictions are passed `save=False` and an absolute
    `project` (see `predict_kwargs`) so nothing is written anywhere.

Threads: ultralytics sets OMP_NUM_THREADS=1 before torch loads and then
`torch.set_num_threads(cpu_count - 1)` whenever a predictor is set up, i.e. 1 thread on a
2-core machine. Measured there for yolo26n at 640x480: 67-88 ms/frame at 1 thread, 45 ms
at 2. Our policy (`thread_count`):
  * "batch" (CLI, benchmarks): every core this process may use; nothing else competes.
  * "interactive" (GUI, still images): cores - 1, leaving one for the UI and decoding, but
    at least 2: on a 2-core machine the UI thread is idle while it waits for a result, and
    a single inference thread makes each result ~1.5x later.
  * "live" (GUI, video/camera analysis): cores - 1, at least 1. Here the UI is NOT idle: it
    decodes and paints at the source rate, so on 2 cores a second inference thread only
    fights it (OpenMP waits for whichever thread was descheduled). Measured on 2 cores,
    30 fps video with yolo26n: 1 thread 13.8 analysed fps / 0.99 cores, 2 threads 12.8 fps /
    1.19 cores (docs/benchmarks.md).
  * VISION_STUDIO_THREADS=N overrides both.
torch's thread count is process-wide; `ObjectDetector` re-applies it after ultralytics'
own setup resets it. onnxruntime and OpenVINO pick their own (all physical cores).
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from vision_studio.core.runtime import configure_environment, data_dir

log = logging.getLogger(__name__)

_lock = threading.RLock()
_configured = False
_TRUE = {"1", "true", "yes", "on", "y", "t"}


# ----------------------------------------------------------------------------- paths

def ultralytics_dir() -> Path:
    """YOLO_CONFIG_DIR as we set it (ultralytics adds an 'Ultralytics' sub-folder)."""
    return data_dir() / "ultralytics"


def models_dir() -> Path:
    """Downloaded models; also ultralytics' weights_dir."""
    return data_dir() / "models"


def optimized_dir() -> Path:
    """Exports made by `models.optimize()`, one folder per (source, format, imgsz)."""
    return models_dir() / "optimized"


def runs_dir() -> Path:
    """ultralytics' runs_dir and the absolute `project` of every call (never written: save=False)."""
    return ultralytics_dir() / "runs"


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


# ----------------------------------------------------------------------------- environment

def prepare_environment() -> None:
    """The part that must happen before ultralytics/onnxruntime/openvino are imported. Cheap."""
    configure_environment()  # YOLO_CONFIG_DIR, YOLO_AUTOINSTALL, YOLO_VERBOSE (setdefault)
    os.environ.setdefault("YOLO_OFFLINE", "true")
    os.environ.setdefault("ULTRALYTICS_SAFE_LOAD", "1")
    if not _env_true("VISION_STUDIO_ALLOW_TELEMETRY"):
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        _block_openvino_telemetry()


def _block_openvino_telemetry() -> None:
    if "openvino_telemetry" not in sys.modules:
        sys.modules["openvino_telemetry"] = None  # `import openvino_telemetry` -> ImportError
        return
    if sys.modules["openvino_telemetry"] is None:
        return
    # Imported before us (someone imported openvino first): switch its converter to the stub.
    try:
        import importlib

        stub = importlib.import_module("openvino.tools.ovc.telemetry_stub")
        for name in ("openvino.tools.ovc.convert_impl", "openvino.tools.ovc.telemetry_utils",
                     "openvino.tools.ovc.utils"):
            mod = sys.modules.get(name)
            if mod is not None and hasattr(mod, "tm"):
                mod.tm = stub
    except Exception:  # pragma: no cover - openvino layout changed
        log.debug("could not switch OpenVINO telemetry to its stub", exc_info=True)


def ensure_configured() -> None:
    """Prepare the environment, import ultralytics once, and apply our settings to it."""
    global _configured
    if _configured:
        return
    with _lock:
        if _configured:
            return
        prepare_environment()
        already = "ultralytics.utils" in sys.modules
        import cv2
        import numpy as np

        cv2_threads = cv2.getNumThreads()
        np_print = np.get_printoptions()
        import ultralytics.utils as ul

        if not already:  # undo its import-time changes to the rest of the process
            cv2.setNumThreads(cv2_threads)
            np.set_printoptions(**np_print)
        else:
            log.warning("ultralytics was imported before Vision Studio configured it; "
                        "its settings file is %s", ul.SETTINGS_FILE)
        wanted = {"sync": False, "runs_dir": str(runs_dir()), "weights_dir": str(models_dir()),
                  "datasets_dir": str(ultralytics_dir() / "datasets")}
        changed = {k: v for k, v in wanted.items() if ul.SETTINGS.get(k) != v}
        if changed:
            ul.SETTINGS.update(changed)  # writes settings.json once
        if "ultralytics.utils.events" in sys.modules:  # created with the old sync value
            sys.modules["ultralytics.utils.events"].events.enabled = False
        if os.environ.get("ULTRALYTICS_SAFE_LOAD", "").strip().lower() in _TRUE:
            from ultralytics.nn import tasks

            if not tasks.SAFE_LOAD:  # ultralytics read the env before we set it
                tasks.SAFE_LOAD = True
        _configured = True


def status() -> dict[str, Any]:
    """What ultralytics actually uses (for tests, `models list` and the About box)."""
    ensure_configured()
    import ultralytics.utils as ul
    from ultralytics.nn import tasks

    return {
        "settings_file": str(ul.SETTINGS_FILE),
        "settings_under_data_dir": _is_under(Path(ul.SETTINGS_FILE), data_dir()),
        "sync": bool(ul.SETTINGS.get("sync")),
        "runs_dir": ul.SETTINGS.get("runs_dir"),
        "weights_dir": ul.SETTINGS.get("weights_dir"),
        "autoinstall": bool(ul.AUTOINSTALL),
        "online_probe": bool(ul.ONLINE),
        "safe_load": bool(tasks.SAFE_LOAD),
        "torch_threads": _torch_threads(),
    }


def _torch_threads() -> int | None:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


def _is_under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def predict_kwargs() -> dict[str, Any]:
    """Arguments every predict/track call gets so nothing is saved or written anywhere."""
    return {"verbose": False, "save": False, "save_txt": False, "save_crop": False, "show": False,
            "project": str(runs_dir()), "name": "predict", "exist_ok": True}


# ----------------------------------------------------------------------------- threads

def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on macOS/Windows
        return max(1, os.cpu_count() or 1)


def thread_count(policy: str | int | None = "interactive") -> int:
    """Torch intra-op threads for a policy: "batch", "interactive", "live" or an explicit number."""
    cores = available_cores()
    if isinstance(policy, int) and not isinstance(policy, bool):
        if policy < 1:
            raise ValueError(f"threads must be at least 1, got {policy}")
        n = policy
    elif policy in (None, "interactive"):
        n = min(cores, max(2, cores - 1))
    elif policy == "live":
        n = max(1, cores - 1)
    elif policy == "batch":
        n = cores
    else:
        raise ValueError(f"unknown thread policy {policy!r} (use 'batch', 'interactive', 'live' or a number)")
    override = os.environ.get("VISION_STUDIO_THREADS", "").strip()
    return int(override) if override.isdigit() and int(override) > 0 else n


def apply_threads(n: int) -> None:
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
