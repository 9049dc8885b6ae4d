"""The main window: assembles canvas, docks, menus, toolbar and status bar, and wires them."""
from __future__ import annotations

import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QStyle,
)

from vision_studio import APP_NAME
from vision_studio.core.pixels import describe_pixel
from vision_studio.gui.browser import ImageBrowser
from vision_studio.gui.canvas import ImageCanvas
from vision_studio.gui.docks.faces import FacesDock
from vision_studio.gui.docks.files import FilesDock
from vision_studio.gui.docks.histogram import HistogramDock
from vision_studio.gui.docks.info import InfoDock
from vision_studio.gui.docks.log import LogDock
from vision_studio.gui.docks.objects import ObjectsDock
from vision_studio.gui.docks.pipeline import PipelineDock
from vision_studio.gui.docks.results import ResultsDock
from vision_studio.gui.docks.sources import SourcesDock
from vision_studio.gui.live_controller import LiveController
from vision_studio.gui.pipeline_controller import PipelineController
from vision_studio.gui.qimage import rgb_to_pixmap
from vision_studio.gui.theme import MODES, apply_appearance
from vision_studio.gui.workers import JobRunner

if TYPE_CHECKING:  # loaded on first use: the window must appear before numpy & co. load
    import numpy as np

    from vision_studio.core.analyzers import FaceSettings, ObjectSettings
    from vision_studio.core.image_io import LoadedImage
    from vision_studio.core.pipeline import Pipeline

log = logging.getLogger(__name__)
STATE_VERSION = 2  # bump when the dock set changes, so old layouts are ignored (2: Sources, Objects, Faces)
MAX_RECENT = 10


def summarize(detections) -> str:
    """'12 objects measured, ORB: 500 keypoints' for the status bar."""
    parts = []
    regions = sum(1 for d in detections if d.kind == "region")
    if regions:
        parts.append(f"{regions} object{'s' if regions != 1 else ''} measured")
    for d in detections:
        if d.kind == "keypoint" and d.keypoints is not None:
            parts.append(f"{d.label}: {len(d.keypoints)} keypoints")
    return ", ".join(parts)


class MainWindow(QMainWindow):
    sig_idle = Signal()  # no job running any more (used by --screenshot)

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.setObjectName("MainWindow")
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.settings = settings or QSettings()
        self.jobs = JobRunner(self)
        self.browser = ImageBrowser(self.jobs, self)
        self.canvas = ImageCanvas(self)
        self.setCentralWidget(self.canvas)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)

        self.pipeline = PipelineController(self.jobs, self)
        self.displayed: np.ndarray | None = None  # what the canvas shows (for pixel values)

        self.files_dock = FilesDock(self.jobs, self)
        self.pipeline_dock = PipelineDock(self.pipeline, self)
        self.info_dock = InfoDock(self)
        self.histogram_dock = HistogramDock(self)
        self.results_dock = ResultsDock(self)
        self.log_dock = LogDock(self)
        self.objects_dock = ObjectsDock(self.jobs, self.settings, self)
        self.faces_dock = FacesDock(self.jobs, self.settings, self)
        self.sources_dock = SourcesDock(self.settings, self)
        self.live = LiveController(self.canvas, self.pipeline, self)  # cameras, videos, streams
        left, right, bottom = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea,
                               Qt.DockWidgetArea.BottomDockWidgetArea)
        self.addDockWidget(left, self.files_dock)
        self.tabifyDockWidget(self.files_dock, self.sources_dock)
        self.files_dock.raise_()
        self.addDockWidget(right, self.pipeline_dock)
        self.tabifyDockWidget(self.pipeline_dock, self.objects_dock)
        self.tabifyDockWidget(self.pipeline_dock, self.faces_dock)
        self.pipeline_dock.raise_()
        self.addDockWidget(right, self.info_dock)
        self.tabifyDockWidget(self.info_dock, self.histogram_dock)
        self.info_dock.raise_()
        self.addDockWidget(bottom, self.log_dock)
        self.tabifyDockWidget(self.log_dock, self.results_dock)
        self.log_dock.raise_()
        self.resizeDocks([self.files_dock, self.pipeline_dock], [230, 330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.pipeline_dock, self.info_dock], [480, 200], Qt.Orientation.Vertical)
        self.resizeDocks([self.log_dock], [100], Qt.Orientation.Vertical)
        self._default_state = self.saveState(STATE_VERSION)

        self._build_status_bar()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._wire()
        self._restore_settings()

    # ------------------------------------------------------------------ construction
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.pixel_label = QLabel("", self)
        self.pixel_label.setMinimumWidth(260)
        self.size_label = QLabel("", self)
        self.zoom_label = QLabel("", self)
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)  # indeterminate: a busy indicator
        self.busy.setMaximumWidth(120)
        self.busy.setMaximumHeight(14)
        self.busy.setVisible(False)
        for w in (self.busy, self.pixel_label, self.size_label, self.zoom_label):
            bar.addPermanentWidget(w)
        bar.showMessage("Ready")

    def _action(self, text, slot, shortcut=None, icon=None, tip=None) -> QAction:
        action = QAction(text, self)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                              if action.shortcut() else tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even with the menu bar hidden
        return action

    def _build_actions(self) -> None:
        SP = QStyle.StandardPixmap
        self.act_open = self._action("&Open…", self.open_dialog, QKeySequence.StandardKey.Open,
                                     SP.SP_DialogOpenButton, "Open images")
        self.act_open_folder = self._action("Open &Folder…", self.open_folder_dialog, "Ctrl+Shift+O",
                                            SP.SP_DirOpenIcon, "Open a folder of images")
        self.act_export = self._action("&Export Annotated Image…", self.export_dialog,
                                       QKeySequence.StandardKey.Save, SP.SP_DialogSaveButton,
                                       "Save the image with its overlays")
        self.act_export_results = self._action("Export &Results…", self._export_results_dialog,
                                               tip="Save the detections as JSON, CSV, COCO, YOLO or VOC")
        self.act_batch = self._action("&Batch Process Folder or Video…", self._batch_dialog_open, "Ctrl+B",
                                      tip="Run the pipeline and analyzers over a folder and export everything")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_prev = self._action("&Previous Image", lambda: self._go(-1),
                                     ["PgUp", "Left"], SP.SP_ArrowBack, "Previous image (a video: frame)")
        self.act_next = self._action("&Next Image", lambda: self._go(1),
                                     ["PgDown", "Right"], SP.SP_ArrowForward, "Next image (a video: frame)")
        # Playback keys press the Sources panel's buttons, so they follow its enabled state
        # (a camera cannot pause or step; nothing happens without a source).
        dock = self.sources_dock
        self.act_play = self._action("&Play / Pause", dock.play_button.click, "Space", tip="Play or pause the video")
        self.act_frame_next = self._action("&Next Frame", dock.next_button.click, ".", tip="Pause and step forward")
        self.act_frame_prev = self._action("&Previous Frame", dock.back_button.click, ",", tip="Pause and step back")
        self.act_snapshot = self._action("&Snapshot", dock.snapshot_button.click, "Shift+S",
                                         tip="Save the frame on screen with its overlays")
        self.act_record = self._action("&Record / Stop Recording", dock.record_button.click, "Shift+R",
                                       tip="Record the annotated stream to an MP4")
        self.act_zoom_in = self._action("Zoom &In", self.canvas.zoom_in,
                                        [QKeySequence.StandardKey.ZoomIn, "+", "="], tip="Zoom in")
        self.act_zoom_out = self._action("Zoom &Out", self.canvas.zoom_out,
                                         [QKeySequence.StandardKey.ZoomOut, "-"], tip="Zoom out")
        self.act_fit = self._action("&Fit to Window", self.canvas.fit, ["Ctrl+0", "F"], tip="Fit to window")
        self.act_actual = self._action("&Actual Size (100%)", self.canvas.actual_size, ["Ctrl+1", "1"],
                                       tip="Actual size")
        self.act_reset_layout = self._action("&Reset Panel Layout", self.reset_layout)
        self.act_original = self._action("Show &Original", self._refresh_display, "B",
                                         tip="Compare: show the original instead of the result")
        self.act_original.setCheckable(True)
        self.act_original.setIconText("Original")
        self.act_apply = self._action("&Apply at Full Resolution", self.pipeline.run_full, "Ctrl+Return",
                                      tip="Compute the full-resolution result now")
        self.act_undo = self.pipeline.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts([QKeySequence(QKeySequence.StandardKey.Undo)])
        self.act_redo = self.pipeline.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence(QKeySequence.StandardKey.Redo)])
        self.addActions([self.act_undo, self.act_redo])
        self.act_about = self._action("&About Vision Studio", self.show_about)
        self.act_prefs = self._action("&Preferences…", self.show_preferences, QKeySequence.StandardKey.Preferences)
        for action, short in ((self.act_zoom_in, "Zoom In"), (self.act_zoom_out, "Zoom Out"),
                              (self.act_fit, "Fit"), (self.act_actual, "100%")):
            action.setIconText(short)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        file_menu.addActions([self.act_open, self.act_open_folder])
        file_menu.addAction("Open &Video, Camera or Stream…", self.show_sources)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        file_menu.addActions([self.act_export, self.act_export_results, self.act_batch])
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)

        edit = mb.addMenu("&Edit")
        edit.addActions([self.act_undo, self.act_redo])
        edit.addSeparator()
        edit.addAction(self.act_prefs)

        view = mb.addMenu("&View")
        view.addActions([self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual])
        view.addSeparator()
        view.addAction(self.act_original)
        view.addSeparator()
        self.panels_menu = view.addMenu("&Panels")
        for dock in self.docks():
            self.panels_menu.addAction(dock.toggleViewAction())
        self.panels_menu.addSeparator()
        self.panels_menu.addAction(self.act_reset_layout)
        appearance = view.addMenu("&Appearance")
        self._appearance_group = QActionGroup(self)
        for mode in MODES:
            a = appearance.addAction(mode.capitalize() if mode != "system" else "Follow System")
            a.setCheckable(True)
            a.setData(mode)
            self._appearance_group.addAction(a)
        self._appearance_group.triggered.connect(lambda a: self.set_appearance(a.data()))

        pipeline_menu = mb.addMenu("&Pipeline")
        pipeline_menu.addAction(self.act_apply)
        pipeline_menu.addSeparator()
        self.pipeline_dock.build_menu(pipeline_menu)

        go = mb.addMenu("&Go")
        go.addActions([self.act_prev, self.act_next])
        playback = mb.addMenu("P&layback")
        playback.addActions([self.act_play, self.act_frame_prev, self.act_frame_next])
        playback.addSeparator()
        playback.addActions([self.act_snapshot, self.act_record])
        playback.addSeparator()
        playback.addAction("Open &Video, Camera or Stream…", self.show_sources)
        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self.act_about)

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("MainToolBar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addActions([self.act_open, self.act_open_folder, self.act_export])
        tb.addSeparator()
        tb.addActions([self.act_prev, self.act_next])
        tb.addSeparator()
        tb.addActions([self.act_zoom_out, self.act_zoom_in, self.act_fit, self.act_actual])
        tb.addSeparator()
        tb.addAction(self.act_original)

    def _wire(self) -> None:
        b = self.browser
        b.sig_list_changed.connect(self.files_dock.set_files)
        b.sig_loading.connect(self._on_loading)
        b.sig_loaded.connect(self._on_loaded)
        b.sig_failed.connect(self._on_failed)
        b.sig_notice.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.files_dock.sig_file_activated.connect(b.show)
        self.canvas.sig_cursor_moved.connect(self._on_cursor)
        self.canvas.sig_zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.jobs.sig_error.connect(self._on_job_error)
        self.pipeline.sig_rendered.connect(self._on_rendered)
        self.pipeline.sig_failed.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.pipeline.sig_pipeline_changed.connect(self._on_pipeline_changed)
        self.pipeline.sig_analyzers_changed.connect(self._on_pipeline_changed)
        self.pipeline.sig_status.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.pipeline.model_jobs.sig_busy_changed.connect(self._on_busy)
        self.pipeline.model_jobs.sig_error.connect(self._on_job_error)
        self.pipeline_dock.sig_message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.pipeline_dock.editor.sig_rect_requested.connect(self._on_rect_requested)
        self.canvas.sig_rect_selected.connect(self._on_rect_selected)
        self.canvas.sig_overlay_clicked.connect(self.results_dock.select_detection)
        self.results_dock.sig_detection_selected.connect(self.canvas.highlight)
        self.objects_dock.sig_settings_changed.connect(self.set_object_settings)
        self.objects_dock.sig_detect_on_changed.connect(self.set_detect_on)
        self.objects_dock.sig_message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.faces_dock.attach(self.canvas, self.browser, self.pipeline)
        self.faces_dock.sig_settings_changed.connect(self.set_face_settings)
        self.faces_dock.sig_message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.sources_dock.attach(self.live)
        self.sources_dock.sig_message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.live.sig_message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.live.sig_state.connect(self._on_live_state)
        b.sig_loading.connect(lambda _path: self.live.stop() if self.live.active else None)  # an image replaces it
        self._rect_param: str | None = None
        self._original_before_rect = False  # Show Original as it was before a rectangle was asked for
        self.jobs.sig_busy_changed.connect(self._on_busy)
        app = QApplication.instance()
        app.styleHints().colorSchemeChanged.connect(lambda _: self._apply_appearance())

    def docks(self) -> list[QDockWidget]:
        return [self.files_dock, self.sources_dock, self.pipeline_dock, self.objects_dock, self.faces_dock,
                self.info_dock, self.histogram_dock, self.results_dock, self.log_dock]

    # ------------------------------------------------------------------ opening
    def open_paths(self, paths) -> None:
        paths = [Path(p) for p in paths]
        if paths:
            self.browser.open_paths(paths)

    def open_dialog(self) -> None:
        from vision_studio.core.image_io import IMAGE_EXTENSIONS

        patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(self, "Open images", self._last_dir(),
                                                f"Images ({patterns});;All files (*)")
        if files:
            self.open_paths(files)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder", self._last_dir())
        if folder:
            self.open_paths([folder])

    def _last_dir(self) -> str:
        path = self.browser.current_path
        return str(path.parent) if path else str(self.settings.value("last_dir", str(Path.home())))

    def _on_loading(self, path: Path) -> None:
        self.files_dock.select(path)
        self.statusBar().showMessage(f"Loading {path.name}…")
        self.setWindowTitle(f"{path.name} — {APP_NAME}")

    def _on_loaded(self, image: LoadedImage) -> None:
        self.canvas.set_pixmap(rgb_to_pixmap(image.pixels))
        self.displayed = image.original
        self._show_histogram(image.pixels)
        self.results_dock.set_tables([])
        self.pipeline.set_source(image.pixels)
        self.info_dock.show_info(image.info)
        self.size_label.setText(f"{image.width} × {image.height}")
        notes = f" — note: {'; '.join(image.info.notes)}" if image.info.notes else ""
        self.statusBar().showMessage(f"{image.path.name}{notes}", 10000)
        self._add_recent(image.path)
        self.settings.setValue("last_dir", str(image.path.parent))

    def _on_live_state(self, state: str, _message: str) -> None:
        if state in ("opening", "playing"):  # the panels must not keep describing the still image
            self.info_dock.show_info(None)
            self.size_label.setText("")
            self.results_dock.set_tables([])

    # ------------------------------------------------------------------ analyzers
    def set_face_settings(self, faces: FaceSettings | None) -> None:
        """From the Faces panel: None turns face analysis off."""
        self.pipeline.set_analyzers(replace(self.pipeline.analyzers, faces=faces))

    def set_object_settings(self, objects: ObjectSettings | None) -> None:
        """From the Objects panel: None turns object detection off."""
        self.pipeline.set_analyzers(replace(self.pipeline.analyzers, objects=objects))

    def set_detect_on(self, detect_on: str) -> None:
        """"filtered" (analyzers see the pipeline's result) or "original"."""
        self.pipeline.set_analyzers(replace(self.pipeline.analyzers, detect_on=detect_on))

    # ------------------------------------------------------------------ pipeline results
    def _on_pipeline_changed(self, pipeline) -> None:
        if not self.pipeline.active():
            self._refresh_display()

    def _on_rendered(self, rendered) -> None:
        self._refresh_display()

    def result_image(self) -> np.ndarray | None:
        """The image the pipeline made (RGB or gray uint8), or None when there is none."""
        last = self.pipeline.last
        if last is None or not self.pipeline.active():
            return None
        return last.output.image

    def _show_histogram(self, pixels) -> None:
        from vision_studio.core.histogram import histogram

        self.histogram_dock.view.set_histogram(histogram(pixels))

    def _refresh_display(self) -> None:
        from vision_studio.core.ops.spec import to_rgb

        if self.live.active:  # the live view draws its own frames
            return
        image = self.browser.current
        if image is None:
            return
        last = self.pipeline.last
        show_result = (last is not None and self.pipeline.active() and not self.act_original.isChecked())
        if show_result:
            out = last.output
            self.canvas.set_pixmap(rgb_to_pixmap(to_rgb(out.image)), keep_view=True, scale=out.scale)
            self.canvas.set_results(list(out.detections), last.style)
            self.histogram_dock.view.set_histogram(last.hist)
            had_results = self.results_dock.row_count() > 0
            self.results_dock.set_results(out.detections, out.tables)
            if self.results_dock.row_count() and not had_results and last.full:
                self.results_dock.raise_()  # new measurements: bring the table forward
            self.displayed = out.image if last.full else None
            if last.full:
                found = summarize(out.detections)
                self.statusBar().showMessage(
                    f"Pipeline: {len(self.pipeline.pipeline.steps)} steps applied" + (f" — {found}" if found else ""),
                    10000)
        else:
            self.canvas.set_pixmap(rgb_to_pixmap(image.pixels), keep_view=True)
            self._show_histogram(image.pixels)
            self.results_dock.set_tables([])
            self.displayed = image.original

    def _on_rect_requested(self, name: str) -> None:
        if not self.canvas.has_image():
            self.statusBar().showMessage("Open an image first, then draw the rectangle on it", 6000)
            return
        self._rect_param = name
        self._original_before_rect = self.act_original.isChecked()
        self.act_original.setChecked(True)  # draw in original-image coordinates
        self._refresh_display()
        self.canvas.select_rect()
        self.statusBar().showMessage("Drag a rectangle on the image", 10000)

    def _on_rect_selected(self, rect) -> None:
        if self._rect_param is None:
            return
        name, self._rect_param = self._rect_param, None
        self.act_original.setChecked(self._original_before_rect)
        if rect is not None:
            self.pipeline_dock.editor.set_param_value(name, tuple(rect))
        self._refresh_display()
        if rect is None:  # after the refresh, which reports the pipeline in the status bar
            self.statusBar().showMessage(f"No rectangle drawn: {name} is unchanged", 6000)

    def _on_failed(self, path: Path, message: str) -> None:
        if path == self.browser.current_path:
            self.canvas.clear(f"Cannot open this image\n\n{message}")
            self.info_dock.show_info(None)
            self.size_label.setText("")
        self.statusBar().showMessage(message, 15000)

    def _on_job_error(self, name: str, exc: BaseException) -> None:
        message = f"{name} failed: {exc}"
        log.error("%s", message)
        self.statusBar().showMessage(message, 15000)

    def _on_busy(self, _busy: bool) -> None:
        busy = self.jobs.busy or self.pipeline.model_jobs.busy
        self.busy.setVisible(busy)
        if not busy:
            QTimer.singleShot(0, self.sig_idle.emit)

    def _on_cursor(self, pos) -> None:
        if pos is None or self.displayed is None:
            self.pixel_label.setText("")
            return
        self.pixel_label.setText(describe_pixel(self.displayed, *pos) or "")

    # ------------------------------------------------------------------ export
    def export_dialog(self) -> None:
        from vision_studio.gui.export_dialog import run_export_dialog

        run_export_dialog(self)  # style, format and quality with a preview, then export_to

    def _export_results_dialog(self) -> None:
        from vision_studio.gui.export_actions import run_results_export

        run_results_export(self)

    def _batch_dialog_open(self) -> None:
        from vision_studio.gui.export_actions import run_batch_dialog

        run_batch_dialog(self)

    def export_to(self, path: Path, style=None, quality: int = 95) -> None:
        from vision_studio.gui.export_dialog import export_image_job

        image = self.browser.current
        if image is None:
            return
        # Computed afresh at full resolution (not taken from the screen, which may show a
        # preview): the file equals what `vision-studio analyze --style` writes.
        from vision_studio.core.annotate import Style

        runner, stages = self.pipeline.analysis_runner()
        runner.start(export_image_job, path, self.pipeline.pipeline, image.pixels, stages, self.pipeline.analyzers,
                     style or Style(), quality, name=f"Exporting {path.name}",
                     on_result=lambda p: self.statusBar().showMessage(f"Saved {p}", 8000),
                     on_error=lambda exc: self._on_export_error(path, exc))

    def _on_export_error(self, path: Path, exc: BaseException) -> None:
        from vision_studio.core.export import ExportError

        message = str(exc) if isinstance(exc, ExportError) else f"{path}: {exc}"
        log.error("Export failed: %s", message)
        QMessageBox.warning(self, "Export failed", message)

    # ------------------------------------------------------------------ recent, layout, appearance
    def _add_recent(self, path: Path) -> None:
        recent = [p for p in self.recent_files() if p != str(path)]
        recent.insert(0, str(path))
        self.settings.setValue("recent_files", recent[:MAX_RECENT])
        self._rebuild_recent_menu()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for p in recent:
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.open_paths([p]))
        if recent:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent", self._clear_recent)
        self.recent_menu.setEnabled(bool(recent))

    def _clear_recent(self) -> None:
        self.settings.setValue("recent_files", [])
        self._rebuild_recent_menu()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, STATE_VERSION)
        for dock in self.docks():
            dock.setFloating(False)
            dock.show()

    def set_appearance(self, mode: str) -> None:
        self.settings.setValue("appearance", mode)
        self._apply_appearance()

    def _apply_appearance(self) -> None:
        mode = str(self.settings.value("appearance", "system"))
        mode = mode if mode in MODES else "system"
        for a in self._appearance_group.actions():
            a.setChecked(a.data() == mode)
        apply_appearance(QApplication.instance(), mode)

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state, STATE_VERSION)
        self._rebuild_recent_menu()
        self._apply_preferences()

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(STATE_VERSION))
        self.settings.sync()

    # ------------------------------------------------------------------ window events
    def show_preferences(self) -> None:
        from vision_studio.gui.preferences import PreferencesDialog

        dialog = PreferencesDialog(self.settings, self)
        if dialog.exec():
            dialog.apply()
            self._apply_preferences()

    def _apply_preferences(self) -> None:
        from vision_studio.gui.preferences import max_pixels

        self.browser.max_pixels = max_pixels(self.settings)
        self._apply_appearance()

    def show_about(self) -> None:
        from vision_studio.gui.about import show_about

        show_about(self)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def _go(self, step: int) -> None:
        """Left/Right: the next image, or with a video playing, the next frame."""
        if self.live.active:
            (self.sources_dock.next_button if step > 0 else self.sources_dock.back_button).click()
        else:
            self.browser.step(step)

    def show_sources(self) -> None:
        self.sources_dock.show()
        self.sources_dock.raise_()
        self.sources_dock.url.setFocus()

    def closeEvent(self, event: QCloseEvent) -> None:
        engine = sys.modules.get("vision_studio.core.faces.engine")  # only if faces were used
        if engine is not None:
            engine.close_engine()  # a job inside a long dlib call (CNN: ~27 s) fails now, not later
        if not self.live.stop():
            log.warning("The live source did not stop within its time limit")
        self.save_settings()
        if not (self.jobs.shutdown(5000) and self.pipeline.shutdown(5000)):
            log.warning("Some background jobs did not stop within 5 s")
        self.log_dock.detach()
        super().closeEvent(event)
