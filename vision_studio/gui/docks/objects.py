"""Objects panel: which YOLO model, its parameters and classes; emits `ObjectSettings`.

The panel never runs a model. It describes what the user wants as an ObjectSettings value
(or None: objects off) and the window hands it to the pipeline's model thread. To fill the
class list it reads the model once in a job (model_manager.read_model_info). Nothing is
loaded or downloaded at start-up: the default model (yolo26n.pt) is fetched, with a
progress dialog, only when the user enables objects without a local model; a model is
read when it is chosen or objects are enabled. Settings are remembered in QSettings
(the on/off state is not: a new session starts with objects off, so opening an image
never loads torch unasked).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vision_studio.core.analyzers import ObjectSettings
from vision_studio.gui import model_manager as mm
from vision_studio.gui.class_picker import ClassPicker
from vision_studio.gui.widgets import LabeledSlider
from vision_studio.gui.workers import JobRunner

DEFAULT_MODEL = "yolo26n.pt"  # = core.detection.models.DEFAULT_MODEL (not imported at start-up)
DEVICES = (("auto", "Auto"), ("cpu", "CPU"), ("cuda", "CUDA (NVIDIA GPU)"), ("mps", "MPS (Apple GPU)"))
MODEL_FILTER = "Models (*.pt *.onnx *.torchscript *.xml *.yaml *.yml);;All files (*)"


_models, local_model = mm.models, mm.local_model


class ObjectsDock(QDockWidget):
    sig_settings_changed = Signal(object)  # ObjectSettings | None
    sig_detect_on_changed = Signal(str)  # "filtered" | "original"
    sig_model_info = Signal(object)  # model_manager.ModelInfo, once read
    sig_message = Signal(str)  # for the status bar

    def __init__(self, jobs: JobRunner, settings: QSettings, parent=None):
        super().__init__("Objects", parent)
        self.setObjectName("ObjectsDock")
        self.jobs, self.settings = jobs, settings
        self.model = str(settings.value("objects/model", DEFAULT_MODEL) or DEFAULT_MODEL)
        self.info: mm.ModelInfo | None = None
        self.last_message = None  # the latest message box (tests read it)
        self._emitted: ObjectSettings | None = None
        self._detect_on_sent = "filtered"  # the window's default
        self.downloader = mm.Downloader(jobs, self)
        self.downloader.sig_done.connect(self._on_downloaded)
        self.downloader.sig_failed.connect(self._on_download_failed)
        self.downloader.sig_cancelled.connect(self._on_download_cancelled)
        self._build()
        self._restore()
        self._show_model()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        self.enable = QCheckBox("Enable objects", body)
        self.enable.setToolTip("Detect objects with the model below after the filters")
        self.enable.toggled.connect(self._on_enable)
        layout.addWidget(self.enable)

        model_box = QGroupBox("Model", body)
        mlay = QVBoxLayout(model_box)
        row = QHBoxLayout()
        self.model_combo = QComboBox(model_box)
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(12)
        self.model_combo.setToolTip("The default model and recently used ones")
        self.model_combo.activated.connect(lambda i: self.choose_model(self.model_combo.itemData(i)))
        self.choose_button = QToolButton(model_box)
        self.choose_button.setText("Choose model file…")
        self.choose_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.choose_button.setToolTip(".pt, .onnx, .torchscript, a model .yaml, or an OpenVINO model "
                                      "(its .xml, or the folder from the menu)")
        self.choose_button.clicked.connect(self.choose_file_dialog)
        menu = QMenu(self.choose_button)
        menu.addAction("Model file…", self.choose_file_dialog)
        menu.addAction("OpenVINO folder…", self.choose_folder_dialog)
        self.choose_button.setMenu(menu)
        self.optimize_button = QPushButton("Optimize for this CPU", model_box)
        self.optimize_button.setToolTip("Export this .pt once to OpenVINO (or ONNX), keep the export in the "
                                        "app's data folder and use it from then on: 2-3x faster on a CPU")
        self.optimize_button.clicked.connect(self.optimize)
        mlay.addWidget(self.model_combo)
        row.addWidget(self.choose_button)
        row.addWidget(self.optimize_button)
        mlay.addLayout(row)
        self.info_label = QLabel(model_box)
        self.info_label.setWordWrap(True)
        self.info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        mlay.addWidget(self.info_label)
        layout.addWidget(model_box)

        params = QGroupBox("Parameters", body)
        form = QFormLayout(params)
        self.conf = LabeledSlider(0.0, 1.0, 0.01, 2, params)
        self.conf.setToolTip("Keep detections at least this confident")
        self.iou = LabeledSlider(0.0, 1.0, 0.01, 2, params)
        self.iou.setToolTip("Overlap above which boxes of one class are merged (non-maximum suppression)")
        self.max_det = QSpinBox(params)
        self.max_det.setRange(1, 3000)
        self.imgsz = QSpinBox(params)
        self.imgsz.setRange(32, 2048)
        self.imgsz.setSingleStep(32)
        self.imgsz.setSuffix(" px")
        self.imgsz.setToolTip("The model's input size (a multiple of 32); larger finds smaller objects, slower")
        self.imgsz.editingFinished.connect(lambda: self.imgsz.setValue(self._imgsz()))  # typed 500 -> 512
        self.device = QComboBox(params)
        for key, text in DEVICES:
            self.device.addItem(text, key)
        self.half = QCheckBox("Half precision (GPU only)", params)
        self.tracker = QComboBox(params)
        self.tracker.addItem("ByteTrack", "bytetrack")
        self.tracker.addItem("BoT-SORT", "botsort")
        self.tracker.setToolTip("On video, how objects keep their track ids from frame to frame "
                                "(BoT-SORT also follows the camera's motion; a little slower)")
        self.detect_on = QComboBox(params)
        self.detect_on.addItem("Filtered image", "filtered")
        self.detect_on.addItem("Original image", "original")
        self.detect_on.setToolTip("What the detectors see: the pipeline's result or the unfiltered image")
        for label, w in (("Confidence", self.conf), ("IoU", self.iou), ("Max detections", self.max_det),
                         ("Image size", self.imgsz), ("Device", self.device), ("", self.half),
                         ("Run on", self.detect_on), ("Tracker (video)", self.tracker)):
            form.addRow(label, w)
        layout.addWidget(params)

        classes = QGroupBox("Classes", body)
        clay = QVBoxLayout(classes)
        self.classes = ClassPicker(self._setting_list("objects/classes"), classes)
        self.classes.sig_changed.connect(self._on_classes)
        self.class_list, self.class_filter, self.class_summary = (self.classes.list, self.classes.filter,
                                                                  self.classes.summary)
        clay.addWidget(self.classes)
        layout.addWidget(classes, 1)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # wrap, never scroll sideways
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        self.setWidget(scroll)

    def _setting_list(self, key: str) -> list[str]:
        value = self.settings.value(key, [])
        if isinstance(value, str):
            return [value] if value else []
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else []

    def _value(self, key: str, default, kind=float):
        """A remembered number; a missing or garbled entry gives the default."""
        try:
            return kind(self.settings.value(f"objects/{key}", default))
        except (TypeError, ValueError):
            return default

    def _restore(self) -> None:
        self.conf.setValue(self._value("conf", 0.25))
        self.iou.setValue(self._value("iou", 0.7))
        self.max_det.setValue(self._value("max_det", 300, int))
        self.imgsz.setValue(self._value("imgsz", 640, int))
        self.device.setCurrentIndex(max(0, self.device.findData(self._value("device", "auto", str))))
        self.half.setChecked(self._value("half", "false", str).lower() == "true")
        self.tracker.setCurrentIndex(max(0, self.tracker.findData(self._value("tracker", "bytetrack", str))))
        self.detect_on.setCurrentIndex(max(0, self.detect_on.findData(self._value("detect_on", "filtered", str))))
        self._set_devices(("auto", "cpu"))
        self._update_half()
        for signal in (self.conf.valueChanged, self.iou.valueChanged, self.max_det.valueChanged,
                       self.imgsz.valueChanged, self.device.currentIndexChanged, self.half.toggled,
                       self.tracker.currentIndexChanged):
            signal.connect(self._on_param)
        self.detect_on.currentIndexChanged.connect(self._on_detect_on)

    # ------------------------------------------------------------------ what the panel says
    def settings_value(self) -> ObjectSettings | None:
        """The current ObjectSettings; None while off or before the model has been read."""
        if not self.enable.isChecked() or self.info is None:
            return None
        classes = tuple(n for n in self.info.names if n in self.classes.wanted)
        return ObjectSettings(model=self.info.path, conf=round(self.conf.value(), 4), iou=round(self.iou.value(), 4),
                              max_det=self.max_det.value(), classes=classes or None, imgsz=self._imgsz(),
                              device=self.device.currentData(), half=self.half.isEnabled() and self.half.isChecked(),
                              tracker=self.tracker.currentData())

    def detect_on_value(self) -> str:
        return self.detect_on.currentData()

    def _imgsz(self) -> int:
        return max(32, round(self.imgsz.value() / 32) * 32)

    def _emit(self) -> None:
        value = self.settings_value()
        if value is not None and self.detect_on_value() != self._detect_on_sent:
            self._on_detect_on(0)  # a remembered "original image" reaches the window before the first run
        if value != self._emitted:
            self._emitted = value
            self.sig_settings_changed.emit(value)

    def _on_param(self, *_args) -> None:
        self._update_half()
        s = self.settings
        s.setValue("objects/conf", self.conf.value())
        s.setValue("objects/iou", self.iou.value())
        s.setValue("objects/max_det", self.max_det.value())
        s.setValue("objects/imgsz", self._imgsz())
        s.setValue("objects/device", self.device.currentData())
        s.setValue("objects/half", self.half.isChecked())
        s.setValue("objects/tracker", self.tracker.currentData())
        self._emit()

    def _on_detect_on(self, _index: int) -> None:
        self.settings.setValue("objects/detect_on", self.detect_on_value())
        self._detect_on_sent = self.detect_on_value()
        self.sig_detect_on_changed.emit(self.detect_on_value())

    def _set_devices(self, usable) -> None:
        model = self.device.model()
        for i, (key, _text) in enumerate(DEVICES):
            item = model.item(i)
            item.setEnabled(key in usable)
            item.setToolTip("" if key in usable else "Not available on this computer" if self.info
                            else "Checked when a model is loaded")
        if self.device.currentData() not in usable:
            self.device.setCurrentIndex(0)

    def _update_half(self) -> None:
        usable = self.info.devices if self.info else ("auto", "cpu")
        device = self.device.currentData()
        gpu = device in ("cuda", "mps") or (device == "auto" and any(d in usable for d in ("cuda", "mps")))
        self.half.setEnabled(gpu)

    # ------------------------------------------------------------------ model choice
    def choose_file_dialog(self) -> None:
        models = _models().models_dir()
        # An existing folder, or the file of the current model: a missing folder's name would be
        # typed into the dialog's file-name box instead.
        start = self.info.path if self.info and Path(self.info.path).exists() else \
            str(models if models.is_dir() else Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model", start, MODEL_FILTER)
        if path:
            self.choose_model(path)

    def choose_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose an OpenVINO model folder", str(Path.home()))
        if folder:
            self.choose_model(folder)

    def choose_model(self, model: str) -> None:
        """Use `model` (a path or an official/YAML name): asks about trust first when needed."""
        model = str(model)
        p = Path(model)
        if p.suffix.lower() == ".xml" and p.parent.name.endswith("_openvino_model"):
            model = str(p.parent)  # ultralytics loads the folder
        elif p.name != model or p.exists():
            model = str(p.resolve())
        if model == self.model and self.info is not None:
            return
        local = local_model(model)
        if local is not None and Path(local).exists():
            self.last_message = mm.ask_trust(self, self.settings, Path(local),
                                             lambda ok: self._set_model(model) if ok else self._show_model())
        else:
            self._set_model(model)

    def _set_model(self, model: str) -> None:
        self.model, self.info = model, None
        self.settings.setValue("objects/model", model)
        local = local_model(model)
        if local is not None and Path(local).exists():
            _models().add_recent(local)
        self._show_model()
        self._emit()  # off until the new model has been read
        self.load_model()

    def load_model(self) -> None:
        """Read the current model's task and classes (downloading the default first, if enabled)."""
        if self.info is not None and self.info.model == self.model:
            return
        if local_model(self.model) is None:
            if self.model == DEFAULT_MODEL and self.enable.isChecked():
                self.downloader.start(DEFAULT_MODEL)
            return
        self.info_label.setText(f"Reading {Path(self.model).name}…")
        self.jobs.start(mm.read_model_info, self.model, self._imgsz(), name="Reading the model", key="objects-info",
                        on_result=self._on_info, on_error=self._on_info_error)

    def _on_info(self, info: mm.ModelInfo) -> None:
        if info.model != self.model:
            return
        self.info = info
        self._set_devices(info.devices)
        self._update_half()
        self.classes.set_names(info.names)
        self._show_model()
        self.sig_model_info.emit(info)
        self._emit()

    def _on_info_error(self, exc: BaseException) -> None:
        self.info = None
        self._show_model()
        self.info_label.setText(f"Cannot use this model: {exc}")
        self.sig_message.emit(str(exc))
        self._emit()

    def _show_model(self) -> None:
        """The combo (default + recent models) and the info line for the current model."""
        combo = self.model_combo
        combo.blockSignals(True)
        combo.clear()
        default_local = local_model(DEFAULT_MODEL)
        combo.addItem(f"{DEFAULT_MODEL} (default)", DEFAULT_MODEL)
        entries = [DEFAULT_MODEL]
        for p in _models().recent_models():
            if default_local is None or p != Path(default_local).resolve():
                combo.addItem(p.name, str(p))
                combo.setItemData(combo.count() - 1, str(p), Qt.ItemDataRole.ToolTipRole)
                entries.append(str(p))
        if self.model not in entries:
            combo.insertItem(1, Path(self.model).name, self.model)
        combo.setCurrentIndex(max(0, combo.findData(self.model)))
        combo.blockSignals(False)
        info = self.info
        self.optimize_button.setEnabled(info is not None and info.format == "pytorch")
        self.info_label.setToolTip(info.path if info else "")
        if info is not None:
            self.info_label.setText(mm.describe(info))
        elif local_model(self.model) is None:
            self.info_label.setText(
                f"{DEFAULT_MODEL} is not downloaded yet: it is fetched (about 5 MB) when you enable objects. Or "
                "choose a local model file." if self.model == DEFAULT_MODEL
                else f"{self.model}: file not found. Choose another model.")
        else:
            self.info_label.setText("Loading…" if self.enable.isChecked() else
                                    "Tick “Enable objects” to load the model.")

    # ------------------------------------------------------------------ enable, download
    def _on_enable(self, on: bool) -> None:
        if on:
            self.load_model()
        if self.info is None:
            self._show_model()
        self._emit()

    def _on_downloaded(self, path: str) -> None:
        self.sig_message.emit(f"Downloaded {Path(path).name} to {Path(path).parent}")
        if self.model == DEFAULT_MODEL:
            self._show_model()
            self.load_model()

    def _on_download_failed(self, message: str) -> None:
        self.enable.setChecked(False)
        self.sig_message.emit(message)
        self.last_message = mm.show_message(
            self, "Model not available", f"Could not get the default model: {message}",
            "Use “Choose model file…” to pick a model on this computer (.pt, .onnx, .torchscript or an "
            "OpenVINO folder), or try again when the network is back.")

    def _on_download_cancelled(self, message: str) -> None:
        self.enable.setChecked(False)
        self.sig_message.emit(message)
        self.info_label.setText(f"{message}. Enable objects to try again, or choose a local model file.")

    # ------------------------------------------------------------------ optimize
    def optimize(self) -> None:
        info = self.info
        if info is None or info.format != "pytorch":
            return
        name = Path(info.path).name
        dialog = mm.busy_dialog(self, "Optimizing model",
                                f"Exporting {name} for this CPU (OpenVINO, else ONNX); this takes a minute once…")

        def done(result):
            path, fmt = result
            self.sig_message.emit(f"Optimized {name} for this CPU ({fmt}): {path}")
            self._set_model(path)

        def failed(exc):
            self.sig_message.emit(str(exc))
            self.last_message = mm.show_message(self, "Cannot optimize", str(exc))

        self.jobs.start(mm.optimize_job, info.path, self._imgsz(), name=f"Optimizing {name}", key="objects-optimize",
                        on_result=done, on_error=failed, on_finished=dialog.close)

    # ------------------------------------------------------------------ classes
    def set_classes(self, names) -> None:
        """Tick exactly `names` (empty: all classes are detected)."""
        self.classes.set_checked(names)

    def _on_classes(self, wanted: set[str]) -> None:
        self.settings.setValue("objects/classes", sorted(wanted))
        self._emit()
