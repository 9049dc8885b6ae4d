"""Model files: the default model and its download, local models, recent models, optimized exports.

A model is a path: a `.pt` checkpoint, a `.torchscript` file, an `.onnx` file or an OpenVINO
folder (whose name must end in `_openvino_model`: ultralytics picks its backend from that),
or a model YAML (random weights; for tests and benchmarks). Task and class names always
come from the model itself. A bare official name such as "yolo26n.pt" means the file in
`models_dir()`, downloaded from the ultralytics assets release on first use
(`resolve_model`/`download_model`, with a progress callback and cancellation).

Where things live (all under the app's data dir):
  models/                      downloads (also ultralytics' weights_dir)
  models/optimized/KEY/        one export per (source content hash, format, imgsz, fp16, dynamic)
  recent_models.json           the recently used models, newest first

Loading a `.pt` unpickles it. ultralytics 8.4 can do that with `torch.load(weights_only=True)`
and an allow-list of its own classes; `settings.ensure_configured()` turns that on
(ULTRALYTICS_SAFE_LOAD), so an ordinary checkpoint loads and a booby-trapped one fails with
an error. `needs_trust_warning(path)` still says when to ask the user first: a pickle- or
TorchScript-based file from outside the app's own model folder.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import socket
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vision_studio.core.detection import settings
from vision_studio.core.detection.settings import models_dir, optimized_dir
from vision_studio.core.runtime import data_dir

log = logging.getLogger(__name__)

DEFAULT_MODEL = "yolo26n.pt"
OPENVINO_SUFFIX = "_openvino_model"
FORMATS = ("openvino", "onnx")  # what optimize() produces
RECENT_MAX = 10
_MANIFEST = "optimized.json"
_UNTRUSTED_SUFFIXES = (".pt", ".pth", ".torchscript")

ProgressCallback = Callable[[int, int], None]  # (done_bytes, total_bytes; 0 when unknown)
CancelCheck = Callable[[], bool]  # True: stop the download


class ModelError(RuntimeError):
    """Base of this module's errors; `str()` is one line for the user."""


class ModelUnavailable(ModelError):
    """The model cannot be found, downloaded or read."""


class DownloadCancelled(ModelError):
    """The caller's cancel hook stopped a download; nothing partial is left behind."""


class ExportUnavailable(ModelError):
    """optimize() cannot run: its exporter package is missing (or the export failed)."""


# ----------------------------------------------------------------------------- what a path is

def model_format(path: str | os.PathLike) -> str:
    """'pytorch', 'torchscript', 'onnx', 'openvino' or 'yaml' (by name; the file need not exist)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if p.name.endswith(OPENVINO_SUFFIX) or (suffix == ".xml" and p.parent.name.endswith(OPENVINO_SUFFIX)):
        return "openvino"
    formats = {".pt": "pytorch", ".pth": "pytorch", ".torchscript": "torchscript", ".onnx": "onnx",
               ".yaml": "yaml", ".yml": "yaml"}
    if suffix in formats:
        return formats[suffix]
    if p.is_dir():
        if any(p.glob("*.xml")):
            raise ModelUnavailable(f"{p}: an OpenVINO model folder must keep its name ending in "
                                   f"'{OPENVINO_SUFFIX}' (e.g. yolo26n{OPENVINO_SUFFIX}); rename it")
        raise ModelUnavailable(f"{p}: not a model folder (an OpenVINO export ends in '{OPENVINO_SUFFIX}')")
    raise ModelUnavailable(f"{p}: unsupported model type {suffix or '(no extension)'}; use a .pt, "
                           f".onnx, .torchscript file or an OpenVINO *{OPENVINO_SUFFIX} folder")


def is_inside(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except (ValueError, OSError):
        return False


def needs_trust_warning(path: str | os.PathLike) -> bool:
    """True for a pickle/TorchScript model from outside the app's model folder: ask before loading.

    Loading such a file can run code it carries. We load `.pt` with weights_only (see the
    module doc), which refuses unknown objects, but a user should still only open models
    they trust; ONNX and OpenVINO are plain data and need no warning.
    """
    p = Path(path)
    if p.suffix.lower() not in _UNTRUSTED_SUFFIXES:
        return False
    return not is_inside(p, models_dir())


def is_official_name(name: str) -> bool:
    """A bare file name ultralytics publishes (yolo26n.pt, yolo11s-seg.pt, ...)."""
    if Path(name).name != name:
        return False
    settings.ensure_configured()
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

    return name in GITHUB_ASSETS_NAMES


def _local(model: str | os.PathLike) -> Path | None:
    p = Path(model).expanduser()
    if p.suffix.lower() == ".xml" and p.parent.name.endswith(OPENVINO_SUFFIX):
        p = p.parent  # ultralytics loads the folder
    if p.exists():
        return p
    if p.name == str(model):  # a bare name: look in our models folder
        q = models_dir() / p.name
        if q.exists():
            return q
    return None


def resolve_model(model: str | os.PathLike | None = None, *, download: bool = True,
                  progress: ProgressCallback | None = None, cancel: CancelCheck | None = None) -> Path:
    """The local path for `model` (None: the default), downloading an official name if allowed.

    A model YAML name ('yolo26n.yaml') is returned as is: ultralytics builds it from its
    own package data. Raises ModelUnavailable with a one-line reason.
    """
    model = DEFAULT_MODEL if model is None or str(model) == "" else model
    found = _local(model)
    if found is not None:
        model_format(found)  # validates folders and suffixes
        return found
    name = str(model)
    fmt = model_format(name)
    if fmt == "yaml" and Path(name).name == name:
        return Path(name)
    if Path(name).name == name and is_official_name(name):
        if not download:
            raise ModelUnavailable(f"{name}: not downloaded yet (it goes to {models_dir()})")
        return download_model(name, progress=progress, cancel=cancel)
    raise ModelUnavailable(f"{name}: file not found")


# ----------------------------------------------------------------------------- download

class _Cancel(BaseException):
    """Raised inside ultralytics' download loop: BaseException, so its retry loop lets it through."""


_hooks = threading.local()
_tqdm_lock = threading.Lock()


class _Reporter:
    """Stands in for the TQDM bar ultralytics' safe_download drives: reports and may cancel."""

    def __init__(self, hook, total=None, initial=0, **_kwargs):
        self.hook = hook
        self.total = int(total or 0)
        self.n = int(initial or 0)
        self._check()

    def _check(self):
        progress, cancel = self.hook
        if cancel is not None and cancel():
            raise _Cancel()
        if progress is not None:
            progress(self.n, self.total)

    def update(self, n=1):
        self.n += int(n)
        self._check()

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _install_progress_hook() -> None:
    """Make ultralytics.utils.downloads create our reporter in a thread that asked for one."""
    import ultralytics.utils.downloads as dl

    with _tqdm_lock:
        if getattr(dl.TQDM, "_vision_studio", False):
            return
        original = dl.TQDM

        def tqdm_factory(*args, **kwargs):
            hook = getattr(_hooks, "current", None)
            if hook is None:
                return original(*args, **kwargs)
            return _Reporter(hook, **kwargs)

        tqdm_factory._vision_studio = True
        tqdm_factory.original = original
        dl.TQDM = tqdm_factory


def _has_proxy() -> bool:
    return any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"))


def network_reachable(host: str = "github.com", port: int = 443, timeout: float = 3.0) -> bool:
    """Resolve and connect to host within `timeout` seconds (a proxy, if set, is trusted instead)."""
    if _has_proxy():
        return True
    result: list[bool] = []

    def probe():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    t = threading.Thread(target=probe, name="vs-network-probe", daemon=True)  # getaddrinfo has no timeout
    t.start()
    t.join(timeout)
    return bool(result and result[0])


def _release() -> str:
    import inspect

    from ultralytics.utils.downloads import attempt_download_asset

    return inspect.signature(attempt_download_asset).parameters["release"].default


def _download_url(name: str) -> str:
    """Where attempt_download_asset would fetch an official name from (same repo and release)."""
    from ultralytics.utils.downloads import GITHUB_ASSETS_REPO

    return f"https://github.com/{GITHUB_ASSETS_REPO}/releases/download/{_release()}/{name}"


def download_model(name: str = DEFAULT_MODEL, *, progress: ProgressCallback | None = None,
                   cancel: CancelCheck | None = None, timeout: float = 3.0) -> Path:
    """Download an official model into models_dir() with ultralytics' downloader.

    `progress(done_bytes, total_bytes)` is called as data arrives (total 0 if unknown);
    `cancel()` returning True stops it (DownloadCancelled). Offline -> ModelUnavailable
    within about `timeout` seconds.
    """
    target = models_dir() / name
    if target.is_file():
        return target
    if not is_official_name(name):
        raise ModelUnavailable(f"{name}: not an official ultralytics model name; choose a local model file")
    if cancel is not None and cancel():
        raise DownloadCancelled(f"{name}: download cancelled")
    offline = (f"{name}: cannot download (no network): choose a local model file "
               f"(.pt, .onnx or an OpenVINO folder), or copy {name} into {models_dir()}")
    if not network_reachable(timeout=timeout):
        raise ModelUnavailable(offline)
    from ultralytics.utils.downloads import safe_download

    _install_progress_hook()
    target.parent.mkdir(parents=True, exist_ok=True)
    url = _download_url(name)
    _hooks.current = (progress, cancel)
    try:
        path = safe_download(url=url, file=name, dir=target.parent, min_bytes=1e5, retry=1,
                             progress=True, unzip=False)
    except _Cancel:
        raise DownloadCancelled(f"{name}: download cancelled") from None
    except ConnectionError as exc:
        online = network_reachable(timeout=timeout)
        raise ModelUnavailable(offline if not online else f"{name}: download failed ({_short(exc)})") from None
    except Exception as exc:
        raise ModelUnavailable(f"{name}: download failed ({_short(exc)})") from None
    finally:
        _hooks.current = None
        for part in target.parent.glob(f".{name}.*.part"):  # what a cancelled/failed attempt leaves
            with contextlib.suppress(OSError):
                part.unlink()
    path = Path(path)
    if not path.is_file():
        raise ModelUnavailable(f"{name}: download failed (no file written)")
    return path


def _short(exc: BaseException) -> str:
    """An exception as one line without ultralytics' decorations ('ERROR ❌️ ', 'Recommended fixes ...')."""
    text = str(exc).split("\nRecommended")[0]
    for mark in ("❌️", "❌", "⚠️"):
        text = text.replace(mark, "")
    text = " ".join(text.split()).removeprefix("ERROR").strip()
    return (text or type(exc).__name__)[:300]


# ----------------------------------------------------------------------------- recent models

def _recent_file() -> Path:
    return data_dir() / "recent_models.json"


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def recent_models(existing_only: bool = True) -> list[Path]:
    """Recently used models, newest first (a corrupt or missing file is an empty list)."""
    try:
        data = json.loads(_recent_file().read_text(encoding="utf-8"))
        items = [Path(p) for p in data.get("models", []) if isinstance(p, str)]
    except (OSError, ValueError, AttributeError):
        return []
    return [p for p in items if p.exists()] if existing_only else items


def add_recent(path: str | os.PathLike) -> list[Path]:
    """Put `path` (made absolute) first in the recent list; returns the new list."""
    p = Path(path)
    if p.exists():
        p = p.resolve()
    items = [p] + [q for q in recent_models(existing_only=False) if q != p]
    items = items[:RECENT_MAX]
    _write_json(_recent_file(), {"version": 1, "models": [str(q) for q in items]})
    return items


def remove_recent(path: str | os.PathLike) -> None:
    p = Path(path)
    items = [q for q in recent_models(existing_only=False) if q not in (p, p.resolve())]
    _write_json(_recent_file(), {"version": 1, "models": [str(q) for q in items]})


# ----------------------------------------------------------------------------- optimize (export)

@dataclass(frozen=True)
class OptimizedModel:
    path: Path  # the .onnx file or the *_openvino_model folder
    format: str
    imgsz: int
    source: str  # the .pt it was made from (as given then)
    source_sha256: str
    half: bool = False
    dynamic: bool = False
    created: str = ""
    int8: bool = False

    def to_dict(self) -> dict:
        return {"path": str(self.path), "format": self.format, "imgsz": self.imgsz, "source": self.source,
                "source_sha256": self.source_sha256, "half": self.half, "dynamic": self.dynamic,
                "int8": self.int8, "created": self.created}


_hash_cache: dict[tuple[str, int, int], str] = {}
_export_lock = threading.Lock()


def file_sha256(path: str | os.PathLike) -> str:
    """Content hash, remembered per (path, size, mtime) for this process."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _hash_cache:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _hash_cache[key] = h.hexdigest()
    return _hash_cache[key]


CALIBRATION_MAX = 300  # images used to calibrate an INT8 export (ultralytics' own default)


def _required_packages(fmt: str, int8: bool = False) -> list[str]:
    return {"openvino": ["openvino"], "onnx": ["onnx"]}[fmt] + (["nncf"] if int8 else [])


def missing_exporter(fmt: str, int8: bool = False) -> str | None:
    """The first package optimize(format=fmt, int8=...) needs that is not installed, or None."""
    import importlib.util

    for pkg in _required_packages(fmt, int8):
        if importlib.util.find_spec(pkg) is None:
            return pkg
    return None


def _cache_key(stem: str, sha: str, fmt: str, imgsz: int, half: bool, dynamic: bool, int8: bool = False) -> str:
    return (f"{stem}-{sha[:16]}-{fmt}-{imgsz}" + ("-fp16" if half else "") + ("-int8" if int8 else "")
            + ("-dynamic" if dynamic else ""))


def _artifact_name(stem: str, fmt: str) -> str:
    return f"{stem}{OPENVINO_SUFFIX}" if fmt == "openvino" else f"{stem}.onnx"


def find_optimized(path: str | os.PathLike, format: str = "openvino", imgsz: int = 640, *,
                   half: bool = False, dynamic: bool = False, int8: bool = False) -> Path | None:
    """The cached export of `path` for these options, if it was made before (never exports)."""
    src = Path(path)
    if not src.is_file():
        return None
    key = _cache_key(src.stem, file_sha256(src), format, int(imgsz), half, dynamic, int8)
    out = optimized_dir() / key / _artifact_name(src.stem + ("_int8" if int8 else ""), format)
    return out if out.exists() and (out.parent / _MANIFEST).is_file() else None


def optimizable_source(path: str | os.PathLike) -> Path:
    """The local .pt that optimize(path) would export; ModelUnavailable says why not."""
    src = Path(path) if Path(path).exists() else resolve_model(path, download=False)
    fmt_in = model_format(src)
    if fmt_in != "pytorch":
        raise ModelUnavailable(f"{src}: only .pt models can be optimized (this one is {fmt_in} already)")
    if not src.is_file():
        raise ModelUnavailable(f"{src}: not a file")
    return src


def optimize(path: str | os.PathLike, format: str = "openvino", imgsz: int = 640, *,
             half: bool = False, dynamic: bool = False, fallback: bool = False, int8: bool = False,
             calibration: Sequence[str | os.PathLike] | None = None) -> Path:
    """Export a `.pt` model to OpenVINO or ONNX once; later calls return the cached export.

    The cache key is the source's content hash (so a copied or touched file reuses it, an
    edited one does not) plus format, imgsz, half and dynamic. The export runs in a private
    folder under optimized_dir() and is published with one rename, so a crash or a
    concurrent process never leaves a half-written model in the cache.

    When the exporter package is missing: ExportUnavailable with the pip command, or, with
    `fallback=True`, the source path itself (and a logged warning), so callers can just run
    the unoptimized model.

    `int8=True` (OpenVINO only) quantizes weights and activations with NNCF, calibrated on
    `calibration` images (files or folders; up to CALIBRATION_MAX images; default: the two
    photos ultralytics ships). Fastest on CPUs with VNNI/AMX, at a small accuracy cost that
    depends on how well the calibration images match what the model will see.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r} (use one of {', '.join(FORMATS)})")
    if int8 and format != "openvino":
        raise ValueError("int8 is available for the openvino format only")
    imgsz = int(imgsz)
    if imgsz < 32 or imgsz % 32:
        raise ValueError(f"imgsz must be a positive multiple of 32, got {imgsz}")
    src = optimizable_source(path)
    missing = missing_exporter(format, int8)
    if missing:
        message = (f"cannot optimize {src.name} for {format}{' int8' if int8 else ''}: the '{missing}' package is not installed "
                   f"(pip install {missing}); the model still runs unoptimized")
        if fallback:
            log.warning(message)
            return src
        raise ExportUnavailable(message)
    images = calibration_images(calibration) if int8 else []
    cached = find_optimized(src, format, imgsz, half=half, dynamic=dynamic, int8=int8)
    if cached is not None:
        return cached
    with _export_lock:
        cached = find_optimized(src, format, imgsz, half=half, dynamic=dynamic, int8=int8)
        if cached is not None:
            return cached
        return _export(src, format, imgsz, half, dynamic, images)


def calibration_images(sources: Sequence[str | os.PathLike] | None = None) -> list[Path]:
    """Image files for INT8 calibration: the given files and folders (recursively), or the
    photos shipped inside ultralytics. ModelError when there is none."""
    from vision_studio.core.image_io import IMAGE_EXTENSIONS

    if not sources:
        from ultralytics.utils import ASSETS

        sources = [ASSETS]
    found: list[Path] = []
    for item in sources:
        p = Path(item)
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
        elif p.is_file():
            found.append(p)
        else:
            raise ModelError(f"{p}: calibration images not found")
    if not found:
        raise ModelError(f"{', '.join(map(str, sources))}: no images to calibrate the INT8 model with")
    return found[:CALIBRATION_MAX]


def _calibration_dataset(images: list[Path], names: dict, folder: Path) -> Path:
    """A YOLO-format dataset (images only, no labels) that ultralytics' INT8 export reads."""
    val = folder / "images" / "val"
    val.mkdir(parents=True)
    for i, img in enumerate(images):
        dest = val / f"{i:04d}{img.suffix.lower()}"  # our own names: nothing user-supplied in paths
        try:
            os.link(img, dest)
        except OSError:
            shutil.copy2(img, dest)
    data = folder / "data.yaml"
    lines = [f"path: {json.dumps(str(folder))}", "train: images/val", "val: images/val", "names:"]
    lines += [f"  {int(k)}: {json.dumps(str(v))}" for k, v in sorted(names.items())]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data


def _export(src: Path, fmt: str, imgsz: int, half: bool, dynamic: bool, calibration: list[Path] | None = None) -> Path:
    import importlib.util

    settings.ensure_configured()
    from ultralytics import YOLO

    sha = file_sha256(src)
    int8 = bool(calibration)
    key = _cache_key(src.stem, sha, fmt, imgsz, half, dynamic, int8)
    final_dir = optimized_dir() / key
    work = optimized_dir() / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    try:
        staged = work / f"{src.stem}.pt"  # ultralytics writes the export next to its input
        try:
            os.link(src, staged)
        except OSError:
            shutil.copy2(src, staged)
        kwargs = {"format": fmt, "imgsz": imgsz, "dynamic": dynamic, "device": "cpu",
                  "batch": 1, "verbose": False, "project": str(settings.runs_dir()), "name": "export",
                  "exist_ok": True}
        if half:
            kwargs["quantize"] = 16  # ultralytics 8.4's name for half=True
        if fmt == "onnx":
            kwargs["simplify"] = importlib.util.find_spec("onnxslim") is not None
        try:
            model = YOLO(str(staged))
            if int8:
                import nncf

                nncf.set_log_level(logging.ERROR)  # its per-layer INFO lines would bury our messages
                kwargs.update(int8=True, data=str(_calibration_dataset(calibration, model.names, work / "calib")),
                              fraction=1.0)
            # Exporters warn a lot (torch.jit.trace, onnx, openvino), and NNCF draws progress bars on
            # stdout, where `models optimize` prints the resulting path.
            with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
                warnings.simplefilter("ignore")
                out = Path(model.export(**kwargs))
        except Exception as exc:
            raise ExportUnavailable(f"cannot optimize {src.name} for {fmt}: {_short(exc)}") from exc
        expected = work / _artifact_name(src.stem + ("_int8" if int8 else ""), fmt)
        if out.resolve() != expected.resolve() or not expected.exists():
            raise ExportUnavailable(f"cannot optimize {src.name} for {fmt}: exporter wrote {out}, "
                                    f"expected {expected}")
        staged.unlink()
        shutil.rmtree(work / "calib", ignore_errors=True)
        manifest = OptimizedModel(path=final_dir / expected.name, format=fmt, imgsz=imgsz,
                                  source=str(src.resolve()), source_sha256=sha, half=half, dynamic=dynamic,
                                  created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), int8=int8)
        _write_json(work / _MANIFEST, {**manifest.to_dict(), "path": expected.name,
                                       "ultralytics": _ultralytics_version()})
        if final_dir.exists():  # an old half-finished attempt, or another process won the race
            if (final_dir / _MANIFEST).is_file() and (final_dir / expected.name).exists():
                return final_dir / expected.name
            shutil.rmtree(final_dir, ignore_errors=True)
        os.replace(work, final_dir)
        return final_dir / expected.name
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def _ultralytics_version() -> str:
    from importlib import metadata

    for dist in ("ultralytics-opencv-headless", "ultralytics"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            return metadata.version(dist)
    return "unknown"


def optimized_models() -> list[OptimizedModel]:
    """Every export in the cache (reads the manifests only), newest first."""
    out = []
    root = optimized_dir()
    if not root.is_dir():
        return []
    for manifest in root.glob(f"*/{_MANIFEST}"):
        try:
            d = json.loads(manifest.read_text(encoding="utf-8"))
            out.append(OptimizedModel(path=manifest.parent / d["path"], format=d["format"],
                                      imgsz=int(d["imgsz"]), source=d.get("source", ""),
                                      source_sha256=d.get("source_sha256", ""), half=bool(d.get("half")),
                                      dynamic=bool(d.get("dynamic")), created=d.get("created", ""),
                                      int8=bool(d.get("int8"))))
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable %s", manifest)
    return sorted(out, key=lambda m: m.created, reverse=True)


def downloaded_models() -> list[Path]:
    root = models_dir()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir()
                  if not p.name.startswith(".") and p.name != optimized_dir().name
                  and (p.suffix.lower() in (".pt", ".onnx", ".torchscript") or p.name.endswith(OPENVINO_SUFFIX)))


def list_models() -> list[dict]:
    """The default model, downloaded and recent models, and cached exports: for `models list`."""
    rows: list[dict] = []
    default = models_dir() / DEFAULT_MODEL
    rows.append({"kind": "default", "name": DEFAULT_MODEL, "path": str(default),
                 "available": default.is_file(), "format": "pytorch"})
    seen = {default.resolve()}
    for p in downloaded_models():
        if p.resolve() not in seen:
            seen.add(p.resolve())
            rows.append({"kind": "downloaded", "name": p.name, "path": str(p), "available": True,
                         "format": _safe_format(p)})
    for p in recent_models(existing_only=False):
        if p.exists() and p.resolve() in seen:
            continue
        rows.append({"kind": "recent", "name": p.name, "path": str(p), "available": p.exists(),
                     "format": _safe_format(p)})
    for m in optimized_models():
        rows.append({"kind": "optimized", "name": m.path.name, "path": str(m.path), "available": m.path.exists(),
                     "format": m.format, "imgsz": m.imgsz, "source": m.source, "half": m.half,
                     "dynamic": m.dynamic, "int8": m.int8})
    return rows


def _safe_format(p: Path) -> str:
    try:
        return model_format(p)
    except ModelError:
        return "unknown"
