"""Sources panel: pick a camera, a video file, a stream URL or a folder played as a sequence;
play/pause/step/seek/speed for files; Snapshot and Record. It only collects choices and
calls the LiveController (gui/live_controller.py), which owns every thread.

Remembered (QSettings "sources/…"): the last source, camera format, URL, folders.
Cameras are listed from the OS without opening them (core.sources.list_cameras).
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProxyStyle,
    QPushButton,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vision_studio.gui.widgets import StatusText

RESOLUTIONS = ("Default", "640x480", "1280x720", "1920x1080")
RATES = ("Default", "15", "30", "60")
SPEEDS = ("0.25×", "0.5×", "1×", "2×", "4×")
VIDEO_FILTER = "Videos (*.mp4 *.m4v *.avi *.mkv *.mov *.webm *.wmv *.mpg *.mpeg *.ts *.mjpeg);;All files (*)"


class _ClickToSeek(QProxyStyle):
    """A click on the seek bar jumps there (as in video players), instead of a page step."""

    def styleHint(self, hint, option=None, widget=None, returnData=None):  # noqa: N802 - Qt's name
        if hint == QStyle.StyleHint.SH_Slider_AbsoluteSetButtons:
            return Qt.MouseButton.LeftButton.value
        return super().styleHint(hint, option, widget, returnData)


class SourcesDock(QDockWidget):
    sig_message = Signal(str)

    def __init__(self, settings: QSettings, parent=None):
        super().__init__("Sources", parent)
        self.setObjectName("SourcesDock")
        self.settings = settings
        self.live = None
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)

        cams = QGroupBox("Camera", body)
        form = QFormLayout(cams)
        row = QHBoxLayout()
        self.cameras = QComboBox(cams)
        self.cameras.setObjectName("CameraList")
        self.refresh_button = QPushButton("Refresh", cams)
        self.refresh_button.clicked.connect(self.refresh_cameras)
        row.addWidget(self.cameras, 1)
        row.addWidget(self.refresh_button)
        form.addRow(row)
        self.resolution = QComboBox(cams)
        self.resolution.addItems(RESOLUTIONS)
        self.rate = QComboBox(cams)
        self.rate.addItems(RATES)
        fmt = QHBoxLayout()
        fmt.addWidget(self.resolution)
        fmt.addWidget(QLabel("fps", cams))
        fmt.addWidget(self.rate)
        form.addRow("Format", fmt)
        self.camera_button = QPushButton("Open camera", cams)
        self.camera_button.clicked.connect(self._open_camera)
        form.addRow(self.camera_button)
        layout.addWidget(cams)

        other = QGroupBox("File, folder or stream", body)
        ol = QVBoxLayout(other)
        buttons = QHBoxLayout()
        self.video_button = QPushButton("Video file…", other)
        self.video_button.clicked.connect(self._open_video_dialog)
        self.folder_button = QPushButton("Folder as sequence…", other)
        self.folder_button.clicked.connect(self._open_folder_dialog)
        buttons.addWidget(self.video_button)
        buttons.addWidget(self.folder_button)
        ol.addLayout(buttons)
        url_row = QHBoxLayout()
        self.url = QLineEdit(other)
        self.url.setObjectName("SourceUrl")
        self.url.setPlaceholderText("rtsp://…, http://…/video.mjpg, a file path or camera:N")
        self.url.returnPressed.connect(self._open_url)
        self.url_button = QPushButton("Open", other)
        self.url_button.clicked.connect(self._open_url)
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.url_button)
        ol.addLayout(url_row)
        layout.addWidget(other)

        player = QGroupBox("Playback", body)
        pl = QVBoxLayout(player)
        controls = QHBoxLayout()
        sp = QStyle.StandardPixmap
        self.back_button = self._tool(sp.SP_MediaSkipBackward, "Previous frame", lambda: self._live("step", -1))
        self.play_button = self._tool(sp.SP_MediaPause, "Play / pause", lambda: self._live("toggle"))
        self.next_button = self._tool(sp.SP_MediaSkipForward, "Next frame", lambda: self._live("step", 1))
        self.stop_button = self._tool(sp.SP_MediaStop, "Stop the source", self._stop)
        self.speed = QComboBox(player)
        self.speed.addItems(SPEEDS)
        self.speed.setCurrentText("1×")
        self.speed.currentTextChanged.connect(lambda t: self._live("set_speed", float(t.rstrip("×"))))
        for w in (self.back_button, self.play_button, self.next_button, self.stop_button):
            controls.addWidget(w)
        controls.addStretch(1)
        controls.addWidget(self.speed)
        pl.addLayout(controls)
        seek_row = QHBoxLayout()
        self.seek = QSlider(Qt.Orientation.Horizontal, player)
        self.seek.setObjectName("SeekBar")
        self._seek_style = _ClickToSeek()  # no base given: it follows the application's style
        self.seek.setStyle(self._seek_style)
        self.seek.sliderReleased.connect(lambda: self._live("seek", self.seek.value()))
        self.seek.valueChanged.connect(self._on_seek_value)
        self.position = QLabel("–", player)
        # A fixed size (set per source, _fit_position): its text changes with every frame, and a
        # label whose size can change re-lays out the whole window on each setText (measured: a
        # quarter of the GUI thread at 30 fps).
        self.position.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._position_template = ""
        self._fit_position("–")
        seek_row.addWidget(self.seek, 1)
        seek_row.addWidget(self.position)
        pl.addLayout(seek_row)
        out_row = QHBoxLayout()
        self.snapshot_button = QPushButton("Snapshot", player)
        self.snapshot_button.clicked.connect(self.snapshot)
        self.record_button = QPushButton("Record", player)
        self.record_button.setCheckable(True)
        self.record_button.toggled.connect(self._on_record_toggled)
        self.folder_label = QToolButton(player)
        self.folder_label.setText("…")
        self.folder_label.setToolTip("Choose the folder for snapshots and recordings")
        self.folder_label.clicked.connect(self._choose_output_folder)
        out_row.addWidget(self.snapshot_button)
        out_row.addWidget(self.record_button)
        out_row.addWidget(self.folder_label)
        pl.addLayout(out_row)
        self.out_dir_label = QLabel(player)  # where they go, before the first one is saved
        self.out_dir_label.setObjectName("OutputFolder")
        pl.addWidget(self.out_dir_label)
        self._issued: set[Path] = set()  # names handed out this session (a save may still be running)
        self.rec_label = QLabel("", player)
        self.rec_label.setStyleSheet("QLabel { color: #d22; font-weight: bold; }")
        pl.addWidget(self.rec_label)
        layout.addWidget(player)

        self.state = QLabel("No source open", body)
        self.state.setWordWrap(True)
        self.hud = StatusText(body)  # the live numbers, twice a second
        layout.addWidget(self.state)
        layout.addWidget(self.hud)
        layout.addStretch(1)
        self.setWidget(body)
        self._restore()
        self._set_player_enabled(False)
        self._show_out_dir()
        self.refresh_cameras()

    def _tool(self, icon, tip: str, slot) -> QToolButton:
        b = QToolButton(self)
        b.setIcon(self.style().standardIcon(icon))
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    # ------------------------------------------------------------------ wiring
    def attach(self, live) -> None:
        self.live = live
        live.sig_state.connect(self._on_state)
        live.sig_position.connect(self._on_position)
        live.sig_hud.connect(self.hud.setText)
        live.sig_recording.connect(self._on_recording)

    def _live(self, method: str, *args) -> None:
        if self.live is not None and self.live.active:
            getattr(self.live, method)(*args)

    # ------------------------------------------------------------------ opening
    def refresh_cameras(self) -> None:
        from vision_studio.core.sources.spec import list_cameras

        current = self.cameras.currentData()
        self.cameras.clear()
        try:
            cams = list_cameras()
        except Exception as exc:  # noqa: BLE001 - a probe that broke: say so, keep the panel usable
            cams = []
            self.sig_message.emit(f"Cannot list cameras: {exc}")
        for c in cams:
            self.cameras.addItem(f"{c.name} ({c.device or c.source})", c.source)
        if not cams:
            self.cameras.addItem("No camera found", None)
        index = self.cameras.findData(current or self.settings.value("sources/camera", ""))
        self.cameras.setCurrentIndex(max(0, index))
        self.camera_button.setEnabled(bool(cams))

    def _format(self) -> tuple[int | None, int | None, float | None]:
        w = h = fps = None
        if self.resolution.currentText() != "Default":
            w, h = (int(v) for v in self.resolution.currentText().split("x"))
        if self.rate.currentText() != "Default":
            fps = float(self.rate.currentText())
        return w, h, fps

    def _open_camera(self) -> None:
        source = self.cameras.currentData()
        if source:
            self.settings.setValue("sources/camera", source)
            self.open_source(source, *self._format())

    def _open_video_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", self._dir("video"), VIDEO_FILTER)
        if path:
            self.settings.setValue("sources/video_dir", str(Path(path).parent))
            self.open_source(path)

    def _open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Play a folder of images", self._dir("folder"))
        if folder:
            self.settings.setValue("sources/folder_dir", str(Path(folder).parent))
            self.open_source(folder)

    def _open_url(self) -> None:
        text = self.url.text().strip()
        if text:
            self.settings.setValue("sources/url", text)
            self.open_source(text, *self._format())

    def _dir(self, kind: str) -> str:
        return str(self.settings.value(f"sources/{kind}_dir", str(Path.home())))

    def open_source(self, text: str, width=None, height=None, fps=None) -> bool:
        """Parse and open; a bad source string is one line in the panel and the status bar."""
        from vision_studio.core.sources.spec import SourceError, parse_source

        try:
            spec = parse_source(text, width, height, fps)
        except SourceError as exc:
            self.state.setText(str(exc))
            self.sig_message.emit(str(exc))
            if self.live is not None:
                self.live.report_error(str(exc))  # a source that is playing plays on
            return False
        if self.live is None:
            return False
        self.settings.setValue("sources/last", text)
        self.live.open(spec)
        self._set_player_enabled(True, seekable=not spec.live)
        self.speed.setCurrentText("1×")
        self._fit_position("–")
        self.position.setText("–")
        self._show_out_dir()
        self.seek.blockSignals(True)
        self.seek.setValue(0)
        self.seek.blockSignals(False)
        self.show()
        self.raise_()
        return True

    def _stop(self) -> None:
        if self.live is not None:
            self.live.stop()
        self.state.setText("Stopped")
        self._set_player_enabled(False)

    # ------------------------------------------------------------------ player state
    def _set_player_enabled(self, on: bool, seekable: bool = False) -> None:
        for w in (self.back_button, self.next_button, self.seek, self.speed):
            w.setEnabled(on and seekable)
        for w in (self.play_button, self.stop_button, self.snapshot_button, self.record_button):
            w.setEnabled(on)
        self.play_button.setEnabled(on and seekable)

    def _on_state(self, state: str, message: str) -> None:
        self.state.setText(message)
        if state == "failed":  # nothing to play, step, save or record any more
            self._set_player_enabled(False)
            self.position.setText("–")
        icon = QStyle.StandardPixmap.SP_MediaPlay if state in ("paused", "ended") else \
            QStyle.StandardPixmap.SP_MediaPause
        self.play_button.setIcon(self.style().standardIcon(icon))

    def _fit_position(self, template: str) -> None:
        """Size the frame number for the widest text this source can show (digits as 0s)."""
        if template != self._position_template:
            self._position_template = template
            wide = "".join("0" if c.isdigit() else c for c in template)
            self.position.setFixedSize(self.position.fontMetrics().horizontalAdvance(wide) + 6,
                                       self.position.sizeHint().height())

    def _on_position(self, index: int, count: int) -> None:
        self._fit_position(f"{count} / {count}" if count else "live")
        if count:
            if not self.seek.isSliderDown():
                self.seek.blockSignals(True)
                self.seek.setRange(0, count - 1)
                self.seek.setValue(index)
                self.seek.blockSignals(False)
            self.position.setText(f"{index + 1} / {count}")
        else:
            self.position.setText("live")

    def _on_seek_value(self, value: int) -> None:
        if not self.seek.isSliderDown():  # a key on the bar (a click or a drag seeks on release)
            self._live("seek", value)
        elif self.seek.maximum() > 0:  # dragging: the number follows the handle
            self.position.setText(f"{value + 1} / {self.seek.maximum() + 1}")

    # ------------------------------------------------------------------ snapshot and record
    def _out_dir(self) -> Path:
        d = Path(str(self.settings.value("sources/output_dir", "")) or Path.home())
        return d if d.is_dir() else Path.home()

    def _choose_output_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for snapshots and recordings", str(self._out_dir()))
        if folder:
            self.settings.setValue("sources/output_dir", folder)
            self._show_out_dir()

    def _show_out_dir(self) -> None:
        folder = self._out_dir()
        home = Path.home()
        shown = f"~/{folder.relative_to(home)}" if folder.is_relative_to(home) and folder != home else \
            "~" if folder == home else str(folder)
        metrics = self.out_dir_label.fontMetrics()
        self.out_dir_label.setText(metrics.elidedText(f"Saved to {shown}", Qt.TextElideMode.ElideMiddle, 260))
        self.out_dir_label.setToolTip(f"Snapshots and recordings are saved to {folder} (change it with …)")

    def _name(self, ext: str) -> Path:
        """<source>-<date>-<time><ext>, never the name of a file that exists or is being written
        (two snapshots in one second get -2, -3, ...)."""
        stem = self.live.capture.spec.stem if self.live and self.live.capture else "live"
        base = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        path, n = self._out_dir() / f"{base}{ext}", 2
        while path.exists() or path in self._issued:
            path, n = self._out_dir() / f"{base}-{n}{ext}", n + 1
        self._issued.add(path)
        return path

    def snapshot(self) -> Path | None:
        if self.live is None or not self.live.active:
            self.sig_message.emit("Nothing to save: no source is open")
            return None
        path = self._name(".png")
        if self.live.snapshot(path):
            return path
        self.sig_message.emit("Nothing to save yet: the source has not delivered a frame")
        return None

    def _on_record_toggled(self, on: bool) -> None:
        if self.live is None:
            return
        if on and not self.live.recording:
            if not self.live.start_recording(self._name(".mp4")):
                self.record_button.setChecked(False)
                self.sig_message.emit("Nothing to record yet: the source has not delivered a frame")
        elif not on:
            self.live.stop_recording()

    def _on_recording(self, text: str) -> None:
        self.rec_label.setText(text)
        if not text and self.record_button.isChecked():
            self.record_button.blockSignals(True)
            self.record_button.setChecked(False)
            self.record_button.blockSignals(False)

    # ------------------------------------------------------------------ settings
    def _restore(self) -> None:
        s = self.settings
        self.url.setText(str(s.value("sources/url", "") or s.value("sources/last", "") or ""))
        res = str(s.value("sources/resolution", "Default"))
        self.resolution.setCurrentText(res if res in RESOLUTIONS else "Default")
        rate = str(s.value("sources/fps", "Default"))
        self.rate.setCurrentText(rate if rate in RATES else "Default")
        self.resolution.currentTextChanged.connect(lambda t: s.setValue("sources/resolution", t))
        self.rate.currentTextChanged.connect(lambda t: s.setValue("sources/fps", t))
