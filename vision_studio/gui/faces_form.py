"""The Faces panel's settings form: detection, landmarks, recognition, anonymizing.

It only describes: `face_options()` / `face_settings()` turn the widgets into the core's
frozen values (FaceOptions, FaceSettings); nothing is loaded here. Every change emits
`sig_changed` and is remembered in QSettings under "faces/". Building the form imports
nothing heavy; FaceOptions (numpy) is imported only when settings are asked for.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from vision_studio.gui.widgets import LabeledSlider

DETECTORS = [("Auto", "auto"), ("HOG (fast, CPU)", "hog"), ("CNN (accurate, slow on CPU)", "cnn"),
             ("YuNet (OpenCV, needs model file)", "yunet")]
LANDMARKS = [("None", "none"), ("68 points", "68"), ("5 points", "5")]
ANONYMIZE = [("Off", "off"), ("Blur", "blur"), ("Pixelate", "pixelate")]
YUNET_NAME = "face_detection_yunet_2023mar.onnx"


def _combo(parent, entries) -> QComboBox:
    box = QComboBox(parent)
    for text, data in entries:
        box.addItem(text, data)
    return box


class FaceSettingsForm(QWidget):
    sig_changed = Signal()

    def __init__(self, settings: QSettings, parent=None):
        super().__init__(parent)
        self._settings = settings
        self.auto_detector: str | None = None  # what "auto" means here: "hog"/"cnn" ("" while asking)
        form = self._form = QFormLayout(self)
        form.setContentsMargins(4, 4, 4, 4)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.detector = _combo(self, DETECTORS)
        form.addRow("Detector", self.detector)
        self.yunet_path = QLineEdit(self)
        self.yunet_path.setPlaceholderText(YUNET_NAME)
        self.yunet_browse = QPushButton("…", self)
        self.yunet_browse.setToolTip("Choose the YuNet model file (.onnx, from OpenCV Zoo)")
        self.yunet_browse.setFixedWidth(32)
        self.yunet_row = QWidget(self)
        row = QHBoxLayout(self.yunet_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.yunet_path, 1)
        row.addWidget(self.yunet_browse)
        form.addRow("YuNet model", self.yunet_row)
        self.detector_note = QLabel(self)
        self.detector_note.setWordWrap(True)
        form.addRow(self.detector_note)

        self.upsample = QSpinBox(self)
        self.upsample.setRange(0, 4)
        self.upsample.setToolTip("Upsample the image N times to find smaller faces (HOG/CNN); each step ~4× slower")
        form.addRow("Upsample", self.upsample)
        self.min_size = QSpinBox(self)
        self.min_size.setRange(0, 2000)
        self.min_size.setSuffix(" px")
        self.min_size.setToolTip("Ignore faces smaller than this (0: keep all)")
        form.addRow("Min face size", self.min_size)
        self.downscale = QDoubleSpinBox(self)
        self.downscale.setRange(1.0, 8.0)
        self.downscale.setSingleStep(0.5)
        self.downscale.setDecimals(1)
        self.downscale.setPrefix("÷ ")
        self.downscale.setToolTip("Search a copy shrunk by this factor: faster, misses small faces")
        form.addRow("Downscale", self.downscale)
        self.landmarks = _combo(self, LANDMARKS)
        self.landmarks.setToolTip("Draw facial landmarks on the image")
        form.addRow("Landmarks", self.landmarks)

        self.recognize = QCheckBox("Recognize people from the gallery", self)
        form.addRow(self.recognize)
        self.tolerance = LabeledSlider(0.30, 0.90, 0.01, decimals=2, parent=self)
        self.tolerance.setToolTip("Largest face distance that still names a person (lower = stricter)")
        form.addRow("Tolerance", self.tolerance)
        self.margin = QDoubleSpinBox(self)
        self.margin.setRange(0.0, 0.3)
        self.margin.setSingleStep(0.01)
        self.margin.setDecimals(2)
        self.margin.setToolTip("The second-best person must be this much farther, else Unknown")
        form.addRow("Margin", self.margin)

        self.anonymize = _combo(self, ANONYMIZE)
        self.unknown_only = QCheckBox("Unknown faces only", self)
        anon = QWidget(self)
        row = QHBoxLayout(anon)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.anonymize, 1)
        row.addWidget(self.unknown_only)
        form.addRow("Anonymize", anon)

        self._restore()
        for w in (self.detector, self.landmarks, self.anonymize):
            w.currentIndexChanged.connect(self._changed)
        for w in (self.upsample, self.min_size):
            w.valueChanged.connect(self._changed)
        self.downscale.valueChanged.connect(self._changed)
        self.margin.valueChanged.connect(self._changed)
        self.tolerance.valueChanged.connect(self._changed)
        self.recognize.toggled.connect(self._changed)
        self.unknown_only.toggled.connect(self._changed)
        self.yunet_path.editingFinished.connect(self._changed)
        self.yunet_browse.clicked.connect(self._browse_yunet)
        self._update_visibility()

    # ------------------------------------------------------------------ values
    def detector_name(self) -> str:
        return self.detector.currentData()

    def yunet_problem(self) -> str | None:
        """Why the YuNet choice cannot run yet (None: it can, or YuNet is not chosen)."""
        if self.detector_name() != "yunet":
            return None
        text = self.yunet_path.text().strip()
        if not text:
            return f"YuNet needs its model file: choose {YUNET_NAME} (…)"
        if not Path(text).is_file():
            return f"{text}: YuNet model file not found"
        return None

    def face_options(self, for_display: bool = True):
        """FaceOptions from the widgets; for_display=False (enrolling, clustering) skips landmarks."""
        from vision_studio.core.faces import FaceOptions

        yunet = self.yunet_path.text().strip() or None
        return FaceOptions(detector=self.detector_name(), upsample=self.upsample.value(),
                           min_face_size=self.min_size.value(), downscale=float(self.downscale.value()),
                           landmarks=self.landmarks.currentData() if for_display else "none",
                           yunet_model=yunet if self.detector_name() == "yunet" else None,
                           tolerance=float(self.tolerance.value()), margin=float(self.margin.value()))

    def face_settings(self, gallery_path: str | None, gallery_version: int):
        from vision_studio.core.analyzers import FaceSettings

        return FaceSettings(options=self.face_options(), recognize=self.recognize.isChecked(),
                            gallery_path=gallery_path, gallery_version=gallery_version,
                            anonymize=self.anonymize_mode(), unknown_only=self.unknown_only.isChecked())

    def anonymize_mode(self) -> str | None:
        mode = self.anonymize.currentData()
        return None if mode == "off" else mode

    def set_auto_detector(self, name: str) -> None:
        self.auto_detector = name
        self._update_visibility()

    # ------------------------------------------------------------------ internals
    def _changed(self, *_):
        self._update_visibility()
        self._save()
        self.sig_changed.emit()

    def _update_visibility(self) -> None:
        det = self.detector_name()
        self._form.setRowVisible(self.yunet_row, det == "yunet")
        self.upsample.setEnabled(det != "yunet")
        cnn = det == "cnn" or (det == "auto" and self.auto_detector == "cnn")
        note = ""
        if det == "cnn" and self.auto_detector != "cnn":
            note = ("⚠ CNN on this CPU takes ~27 s per 720p image (no CUDA in dlib). "
                    "HOG (~0.3 s) or YuNet are much faster.")
        elif det == "auto":
            note = {"cnn": "Auto: CNN (dlib has CUDA here)", "hog": "Auto: HOG (no CUDA for the CNN here)"}.get(
                self.auto_detector or "", "Auto: CNN with CUDA, else HOG")
        elif det == "yunet":
            note = self.yunet_problem() or "YuNet: fast, finds small and turned faces; 5 landmarks of its own"
        self.detector_note.setText(note)
        self.detector_note.setStyleSheet("color: #c0392b;" if (cnn and det == "cnn" and note.startswith("⚠"))
                                         or self.yunet_problem() else "")
        on = self.recognize.isChecked()
        self.tolerance.setEnabled(on)
        self.margin.setEnabled(on)
        self.unknown_only.setEnabled(self.anonymize_mode() is not None and on)

    def _browse_yunet(self) -> None:
        start = self.yunet_path.text().strip() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "YuNet face detection model", start,
                                              "ONNX models (*.onnx);;All files (*)")
        if path:
            self.yunet_path.setText(path)
            self._changed()

    def _save(self) -> None:
        s = self._settings
        s.setValue("faces/detector", self.detector_name())
        s.setValue("faces/yunet_model", self.yunet_path.text().strip())
        s.setValue("faces/upsample", self.upsample.value())
        s.setValue("faces/min_face_size", self.min_size.value())
        s.setValue("faces/downscale", float(self.downscale.value()))
        s.setValue("faces/landmarks", self.landmarks.currentData())
        s.setValue("faces/recognize", self.recognize.isChecked())
        s.setValue("faces/tolerance", float(self.tolerance.value()))
        s.setValue("faces/margin", float(self.margin.value()))
        s.setValue("faces/anonymize", self.anonymize.currentData())
        s.setValue("faces/unknown_only", self.unknown_only.isChecked())

    def _restore(self) -> None:
        s = self._settings

        def number(key, default, kind=float):
            try:
                return kind(s.value(key, default))
            except (TypeError, ValueError):
                return default

        def pick(combo, value):
            index = combo.findData(value)
            combo.setCurrentIndex(max(0, index))

        pick(self.detector, str(s.value("faces/detector", "auto")))
        self.yunet_path.setText(str(s.value("faces/yunet_model", "") or ""))
        self.upsample.setValue(number("faces/upsample", 1, int))
        self.min_size.setValue(number("faces/min_face_size", 0, int))
        self.downscale.setValue(number("faces/downscale", 1.0))
        pick(self.landmarks, str(s.value("faces/landmarks", "none")))
        self.recognize.setChecked(str(s.value("faces/recognize", "true")).lower() == "true")
        self.tolerance.setValue(number("faces/tolerance", 0.6))
        self.margin.setValue(number("faces/margin", 0.03))
        pick(self.anonymize, str(s.value("faces/anonymize", "off")))
        self.unknown_only.setChecked(str(s.value("faces/unknown_only", "false")).lower() == "true")
