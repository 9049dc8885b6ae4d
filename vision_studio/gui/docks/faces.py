"""Faces panel: face analysis settings, the gallery of known people, unknown-face clusters.

The panel describes and asks; it never computes. Its settings go out as a FaceSettings
value (`sig_settings_changed`, None while faces are off) to MainWindow.set_face_settings;
the model thread does the analysis. Gallery work (listing, enrolling, renaming, …) runs
as JobRunner jobs from gui.faces_jobs, each opening its own Gallery. After every change
`gallery_version` is bumped, so the next analysis builds a fresh matcher and the image
on screen is named again. A gallery that cannot be opened gives one line here; the rest
of the app is unaffected. The gallery is first read when the panel is first shown, so
the window still opens without numpy.
"""
from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QInputDialog,
    QLabel,
    QProgressBar,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from vision_studio.gui import faces_jobs as fj
from vision_studio.gui.face_picking import FacePicker
from vision_studio.gui.faces_clusters import ClusterPanel
from vision_studio.gui.faces_form import FaceSettingsForm
from vision_studio.gui.faces_people import PeoplePanel
from vision_studio.gui.workers import JobRunner

LOAD_DELAY_MS = 300


class FacesDock(QDockWidget):
    sig_settings_changed = Signal(object)  # FaceSettings | None
    sig_message = Signal(str)
    sig_people_changed = Signal(list)  # [PersonRow] after every (re)load
    sig_gallery_changed = Signal()  # a job changed the gallery (after the list reloads)

    def __init__(self, jobs: JobRunner, settings: QSettings, parent=None):
        super().__init__("Faces", parent)
        self.setObjectName("FacesDock")
        self.jobs = jobs
        self._settings = settings
        self.gallery_version = 0
        self._loaded = False
        self._active: set[int] = set()  # ids of our jobs in flight (the progress bar shows meanwhile)
        self._keyed: dict[str, tuple[JobRunner, int]] = {}
        self._current: object = None  # the FaceSettings last emitted
        self._dlib_ready = False
        self._dlib_waiting: list = []
        self.browser = self.pipeline = None  # set by attach()
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.enabled = QCheckBox("Enable faces", body)
        self.enabled.setToolTip("Detect (and recognize) faces in the image")
        self.enabled.setChecked(str(settings.value("faces/enabled", "false")).lower() == "true")
        layout.addWidget(self.enabled)
        self.status = QLabel("", body)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(body)
        self.progress.setMaximumHeight(14)
        self.progress.setVisible(False)
        self.tabs = QTabWidget(body)
        self.form = FaceSettingsForm(settings, self)
        scroll = QScrollArea(self.tabs)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.form)
        self.people_panel = PeoplePanel(self)
        self.tabs.addTab(self.people_panel, "People")
        self.tabs.addTab(scroll, "Settings")
        self._settings_page = scroll
        self.clusters = ClusterPanel(self)
        self.tabs.addTab(self.clusters, "Unknown")
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        self.setWidget(body)
        self.picker = FacePicker(self)
        self.enabled.toggled.connect(self._on_enabled)
        self.form.sig_changed.connect(self.emit_settings)
        self.visibilityChanged.connect(self._on_visible)
        self.tabs.currentChanged.connect(self._on_tab)
        if self.enabled.isChecked():  # after the window is up: FaceOptions imports numpy
            QTimer.singleShot(0, self.emit_settings)

    def attach(self, canvas, browser, pipeline) -> None:
        """Where faces come from: right-clicks on the canvas's face boxes (with the pipeline's
        last result and the browser's current image), and the open folder for clustering."""
        self.browser, self.pipeline = browser, pipeline
        canvas.sig_face_menu_requested.connect(self.picker.show_menu)

    # ------------------------------------------------------------------ settings out
    def gallery_path(self) -> str | None:
        """The gallery file in use (None: core's default_gallery_path())."""
        return str(self._settings.value("faces/gallery_path", "") or "") or None

    def face_settings(self):
        """The FaceSettings the panel describes, or None (faces off, or settings that cannot run)."""
        if not self.enabled.isChecked():
            return None
        problem = self.form.yunet_problem()
        if problem:
            self.show_status(problem, error=True)
            return None
        try:
            return self.form.face_settings(self.gallery_path(), self.gallery_version)
        except ValueError as exc:
            self.show_status(f"Face settings: {exc}", error=True)
            return None

    def emit_settings(self) -> None:
        value = self.face_settings()
        if value is not None and not self._dlib_ready:
            self.when_dlib_ready(self.emit_settings)
            return
        if value != self._current:
            self._current = value
            self.sig_settings_changed.emit(value)

    def _on_enabled(self, on: bool) -> None:
        self._settings.setValue("faces/enabled", on)
        self.emit_settings()

    def set_gallery_path(self, path: str | None) -> None:
        self._settings.setValue("faces/gallery_path", str(path) if path else "")
        self.people_panel.sync_path_label()
        self.clusters.clear()
        self.gallery_changed(None)

    # ------------------------------------------------------------------ people list
    def _on_visible(self, visible: bool) -> None:
        # A moment later, not at once: the window paints first, and a tab that was only
        # shown while the layout settled has been hidden again by then.
        if visible and not self._loaded:
            QTimer.singleShot(LOAD_DELAY_MS, lambda: self.isVisible() and not self._loaded and self.refresh())

    def _on_tab(self, index: int) -> None:
        if self.tabs.widget(index) is self._settings_page:
            self.when_dlib_ready(lambda: None)  # tells what "auto" means here

    def when_dlib_ready(self, then) -> None:
        """Call `then` once the face engine (dlib in its helper process) has started
        (faces_jobs.preload_dlib). Nothing dlib-related leaves this panel before that."""
        if self._dlib_ready:
            then()
            return
        self._dlib_waiting.append(then)
        if len(self._dlib_waiting) == 1:
            self.start(fj.preload_dlib, name="Loading face recognition", on_result=self._on_dlib_ready)

    def _on_dlib_ready(self, auto_detector: str) -> None:
        self._dlib_ready = True
        self.form.set_auto_detector(auto_detector)
        waiting, self._dlib_waiting = self._dlib_waiting, []
        for then in waiting:
            then()

    def refresh(self) -> None:
        """Read the people list in a job."""
        self._loaded = True
        self.start(fj.load_people, self.gallery_path(), name="Reading the face gallery", key="faces-list",
                   on_result=self.people_panel.set_people)

    # ------------------------------------------------------------------ jobs
    def runner(self, dlib: bool) -> JobRunner:
        """Jobs that run dlib (detect, encode) go to the window's model thread, which owns the
        models (face_recognition's networks are process-wide). Gallery-only jobs use the pool."""
        if dlib and self.pipeline is not None:
            return self.pipeline.model_jobs
        return self.jobs

    def start(self, fn, *args, name: str, on_result=None, key: str | None = None, on_finished=None,
              dlib: bool = False, **kwargs) -> int:
        """Run a gallery job; errors become one line in the panel, progress shows in its bar.
        dlib=True: the job runs dlib (after when_dlib_ready); the id is -1 while that waits."""
        if dlib and not self._dlib_ready:
            self.when_dlib_ready(lambda: self.start(fn, *args, name=name, on_result=on_result, key=key,
                                                    on_finished=on_finished, dlib=True, **kwargs))
            return -1
        runner = self.runner(dlib)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        if key is not None:  # the runner drops a superseded job's callbacks: forget it here too
            self._active.discard(self._keyed.pop(key, (None, -1))[1])
        job: list[int] = []

        def finished():
            self._active.discard(job[0])
            self._sync_progress()
            if on_finished is not None:
                on_finished()
        job.append(runner.start(fn, *args, name=name, key=key, on_result=on_result,
                                   on_progress=self._on_progress, on_error=lambda exc: self._on_error(name, exc),
                                   on_finished=finished, **kwargs))
        self._active.add(job[0])
        if key is not None:
            self._keyed[key] = (runner, job[0])
        return job[0]

    def cancel(self, key: str) -> None:
        runner, job = self._keyed.pop(key, (None, -1))
        if runner is not None:
            runner.cancel(key)
        self._active.discard(job)
        self._sync_progress()

    def busy(self) -> bool:
        return bool(self._active)

    def _sync_progress(self) -> None:
        self.progress.setVisible(bool(self._active))

    def _on_progress(self, value) -> None:
        done, total = value
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    def _on_error(self, name: str, exc: BaseException) -> None:
        from vision_studio.core.faces import GalleryError

        if name == "Loading face recognition":
            self._dlib_waiting = []  # the next request tries again

        if isinstance(exc, GalleryError) and name == "Reading the face gallery":
            self.people_panel.set_people([])
            self.show_status(f"Gallery unusable — {exc}", error=True, kind="gallery-error")
            return
        self.show_status(f"{name} failed: {exc}", error=True)

    def show_status(self, text: str, error: bool = False, kind: str = "") -> None:
        self.status.setText(text)
        self.status.setProperty("kind", kind)
        self.status.setStyleSheet("color: #c0392b;" if error else "")
        if text:
            self.sig_message.emit(text)

    def gallery_changed(self, message: str | None) -> None:
        """After any gallery edit: rerun the analysis with the new people, reload the list."""
        self.gallery_version += 1
        self.emit_settings()
        if message:
            self.show_status(message)
        self.start(fj.load_people, self.gallery_path(), name="Reading the face gallery", key="faces-list",
                   on_result=lambda people: (self.people_panel.set_people(people), self.sig_gallery_changed.emit()))
        self._loaded = True

    def _enrolled(self, report: fj.EnrollReport) -> None:
        self.gallery_changed(report.summary())
        if report.people:
            self.people_panel.select_after_reload(report.people[-1])

    def enrollment_options(self):
        return self.form.face_options(for_display=False)

    @property
    def people(self) -> list[fj.PersonRow]:
        return self.people_panel.people

    def names(self) -> list[str]:
        return [p.name for p in self.people]

    # ------------------------------------------------------------------ dialogs
    def ask_name(self, title: str, label: str, suggestion: str = "") -> str | None:
        """A name, new or existing (an editable list of the people)."""
        names = self.names()
        if suggestion and suggestion not in names:
            names = [suggestion] + names
        name, ok = QInputDialog.getItem(self, title, label, names or [""], 0, True)
        name = " ".join(name.split()) if ok else ""
        return name or None
