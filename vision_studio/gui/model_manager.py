"""The Objects panel's model jobs and dialogs: model info, download, trust, optimize.

Jobs (plain functions, run by the window's JobRunner; they never touch a widget):
  read_model_info   loads a THROWAWAY ObjectDetector in its own pool thread to read the
                    task and class names, and probes which devices torch can use. The
                    detector is dropped at the end of the job: the model that really runs
                    is loaded by the pipeline's model thread (StageCache), never shared.
  download_job      models.download_model with a progress record the GUI polls (so the
                    worker needs no Qt object) and a cancel hook the Cancel button sets.
  optimize_job      models.optimize: OpenVINO, else ONNX; one clear error if neither works.

Dialogs (GUI thread): `Downloader` (QProgressDialog with bytes and percent; Cancel really
stops the transfer, and models.download_model removes the partial file), `ask_trust`
(a `.pt`/`.torchscript` from outside the app's model folder can run code when loaded:
ask once per file, remembered in QSettings), `busy_dialog` and `show_message` (non-blocking,
so a test or a user can keep working while it is open).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from vision_studio.gui.workers import JobRunner

TRUST_KEY = "objects/trusted_models"


# ----------------------------------------------------------------------------- jobs (no widgets)

def models():
    """core.detection.models, imported on first use (cheap: no numpy, no torch)."""
    from vision_studio.core.detection import models

    return models


def local_model(model: str) -> str | None:
    """The local path of `model` (a YAML name stays a name), or None: no download, no ultralytics."""
    p = Path(model)
    if p.suffix.lower() in (".yaml", ".yml") and p.name == model:
        return model  # ultralytics builds it from its own package data
    if p.name == model and not p.exists():
        p = models().models_dir() / model
    return str(p) if p.exists() else None


@dataclass(frozen=True)
class ModelInfo:
    model: str  # what the user chose (a path, or an official or YAML name)
    path: str  # what ObjectSettings.model gets: the local path (a YAML name stays a name)
    format: str  # pytorch, torchscript, onnx, openvino, yaml
    task: str
    names: tuple[str, ...]  # class names in class-id order
    devices: tuple[str, ...]  # usable here, of auto/cpu/cuda/mps
    optimized_from: str | None = None  # this is a cached export of that .pt
    optimized_copy: str | None = None  # a .pt whose export is cached (optimize is instant)


def available_devices() -> tuple[str, ...]:
    import torch

    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return tuple(devices)


def read_model_info(model: str, imgsz: int = 640) -> ModelInfo:
    """Job: what `model` is (never downloads: the dock downloads with a dialog first)."""
    from vision_studio.core.detection import models
    from vision_studio.core.detection.predictor import ObjectDetector
    from vision_studio.core.detection.settings import optimized_dir

    path = models.resolve_model(model, download=False)
    detector = ObjectDetector(path, device="cpu", imgsz=imgsz)  # this thread's own; dropped below
    names = tuple(detector.names[i] for i in sorted(detector.names))
    task, fmt = detector.task, detector.format
    del detector
    source = copy = None
    if models.is_inside(path, optimized_dir()):
        source = next((m.source for m in models.optimized_models() if Path(m.path) == Path(path)), "a .pt model")
    elif fmt == "pytorch":
        found = models.find_optimized(path, "openvino", imgsz) or models.find_optimized(path, "onnx", imgsz)
        copy = str(found) if found else None
    return ModelInfo(model=model, path=str(path), format=fmt, task=task, names=names,
                     devices=available_devices(), optimized_from=source, optimized_copy=copy)


_FORMATS = {"pytorch": "PyTorch", "torchscript": "TorchScript", "onnx": "ONNX", "openvino": "OpenVINO",
            "yaml": "YAML (random weights)"}


def describe(info: ModelInfo) -> str:
    """'Task: detect · 80 classes · ONNX · runs as is' for the panel."""
    if info.optimized_from:
        state = f"optimized for this CPU (from {Path(info.optimized_from).name})"
    elif info.optimized_copy:
        state = "not optimized (an optimized copy exists: Optimize switches to it)"
    else:
        state = "not optimized" if info.format == "pytorch" else "runs as is"
    return f"Task: {info.task} · {len(info.names)} classes · {_FORMATS.get(info.format, info.format)} · {state}"


class DownloadProgress:
    """Written by the download thread, read by a GUI timer; `cancel` is set by the Cancel button."""

    def __init__(self):
        self._lock = threading.Lock()
        self._done = self._total = 0
        self.cancel = threading.Event()

    def report(self, done: int, total: int) -> None:
        with self._lock:
            self._done, self._total = int(done), int(total)

    def read(self) -> tuple[int, int]:
        with self._lock:
            return self._done, self._total


def download_job(name: str, progress: DownloadProgress, should_stop: Callable[[], bool]) -> str:
    from vision_studio.core.detection import models

    path = models.download_model(name, progress=progress.report,
                                 cancel=lambda: progress.cancel.is_set() or should_stop())
    return str(path)


def optimize_job(model: str, imgsz: int) -> tuple[str, str]:
    """Job: (export path, format). OpenVINO first (fastest on Intel/AMD CPUs), else ONNX."""
    from vision_studio.core.detection import models

    source = models.optimizable_source(model)
    reasons = []
    for fmt in models.FORMATS:
        missing = models.missing_exporter(fmt)
        if missing:
            reasons.append(f"{fmt} needs the '{missing}' package (pip install {missing})")
            continue
        try:
            return str(models.optimize(source, fmt, imgsz)), fmt
        except models.ExportUnavailable as exc:
            reasons.append(str(exc))
    raise models.ExportUnavailable(f"cannot optimize {source.name} for this CPU: {'; '.join(reasons)}. "
                                   "The model still runs unoptimized.")


# ----------------------------------------------------------------------------- dialogs

def human_bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.0f} kB"


def download_label(name: str, done: int, total: int) -> str:
    if total > 0:
        return f"Downloading {name}: {human_bytes(done)} of {human_bytes(total)} ({100 * done // total}%)"
    return f"Downloading {name}: {human_bytes(done)}"


class Downloader(QObject):
    """One download at a time, with a progress dialog. Emits the local path, or a message."""

    sig_done = Signal(str)  # path of the downloaded model
    sig_failed = Signal(str)  # one line for the user ("" never)
    sig_cancelled = Signal(str)

    def __init__(self, jobs: JobRunner, parent: QWidget):
        super().__init__(parent)
        self.jobs = jobs
        self.dialog: QProgressDialog | None = None
        self.progress: DownloadProgress | None = None
        self._name = ""
        self._timer = QTimer(self, interval=100)
        self._timer.timeout.connect(self._poll)

    @property
    def running(self) -> bool:
        return self.progress is not None

    def start(self, name: str) -> None:
        if self.running:
            return
        self._name, self.progress = name, DownloadProgress()
        self.dialog = dialog = QProgressDialog(f"Connecting to download {name}…", "Cancel", 0, 100,
                                               self.parent())
        dialog.setWindowTitle("Downloading model")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumWidth(420)
        dialog.canceled.connect(self.cancel)
        dialog.setValue(0)
        dialog.show()
        self._timer.start()
        self.jobs.start(download_job, name, self.progress, name=f"Downloading {name}", key="objects-download",
                        on_result=self._on_result, on_error=self._on_error, on_finished=self._on_finished)

    def cancel(self) -> None:
        """Ask the transfer to stop; sig_cancelled follows once it has (and its file is gone)."""
        if self.progress is not None:
            self.progress.cancel.set()
        if self.dialog is not None:
            self.dialog.setLabelText(f"Cancelling the download of {self._name}…")

    def _poll(self) -> None:
        if self.progress is None or self.dialog is None or self.progress.cancel.is_set():
            return
        done, total = self.progress.read()
        if total > 0:
            self.dialog.setValue(min(100, 100 * done // total))
        elif done:
            self.dialog.setRange(0, 0)  # size unknown: a busy bar
        if done or total:
            self.dialog.setLabelText(download_label(self._name, done, total))

    def _on_result(self, path: str) -> None:
        self.sig_done.emit(path)

    def _on_error(self, exc: BaseException) -> None:
        from vision_studio.core.detection import models

        if isinstance(exc, models.DownloadCancelled):
            self.sig_cancelled.emit(f"Download of {self._name} cancelled; nothing was kept")
        else:
            self.sig_failed.emit(str(exc) or type(exc).__name__)

    def _on_finished(self) -> None:
        self._timer.stop()
        self.progress = None
        if self.dialog is not None:
            self.dialog.canceled.disconnect(self.cancel)
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None


def busy_dialog(parent: QWidget, title: str, text: str) -> QProgressDialog:
    """An indeterminate progress dialog without a Cancel button (for a job that cannot stop)."""
    dialog = QProgressDialog(text, "", 0, 0, parent)
    dialog.setWindowTitle(title)
    dialog.setCancelButton(None)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setMinimumWidth(380)
    dialog.show()
    return dialog


def show_message(parent: QWidget, title: str, text: str, details: str = "",
                 icon=QMessageBox.Icon.Warning) -> QMessageBox:
    """A non-blocking message box (open(), not exec()); returned so tests can read and close it."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setInformativeText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


# ----------------------------------------------------------------------------- trust

def _trust_id(path: Path) -> str:
    """The file as it is now: a replaced file (other size or time) is asked about again."""
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def trusted(settings: QSettings) -> list[str]:
    value = settings.value(TRUST_KEY, [])
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def is_trusted(settings: QSettings, path: Path) -> bool:
    try:
        return _trust_id(path) in trusted(settings)
    except OSError:
        return False


def remember_trust(settings: QSettings, path: Path) -> None:
    settings.setValue(TRUST_KEY, [_trust_id(path)] + [t for t in trusted(settings) if t != _trust_id(path)][:199])


def ask_trust(parent: QWidget, settings: QSettings, path: Path,
              on_answer: Callable[[bool], None]) -> QMessageBox | None:
    """Ask before opening a pickle/TorchScript model from outside the app's model folder.

    Calls `on_answer(True)` at once when no question is needed; otherwise shows the box
    (non-blocking) and answers when it closes. "Open anyway" is remembered for this file.
    """
    from vision_studio.core.detection import models

    if not models.needs_trust_warning(path) or is_trusted(settings, path):
        on_answer(True)
        return None
    box = QMessageBox(QMessageBox.Icon.Warning, "Open this model?",
                      f"{path.name} is a PyTorch file from outside Vision Studio's model folder.", parent=parent)
    box.setInformativeText(
        "Loading a .pt or .torchscript file can run code hidden in it. Vision Studio loads it in "
        "PyTorch's safe mode, which refuses most such files, but only open models from a source you "
        "trust. ONNX and OpenVINO models carry no code.\n\n" + str(path))
    open_button = box.addButton("Open anyway", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def done(_result: int) -> None:
        yes = box.clickedButton() is open_button
        if yes:
            remember_trust(settings, path)
        on_answer(yes)

    box.finished.connect(done)
    box.open()
    return box
