"""File > Batch process: the current pipeline and analyzers over a whole folder or a video.

A video file goes through `core.sources.video_job.analyze_video` (the loop `vision-studio
analyze clip.mp4` runs): an annotated MP4 and a frames.jsonl in the output folder, with
objects tracked and names kept on face tracks; Cancel keeps what was analysed.

The run is `core.batch.run_batch` inside one JobRunner generator job (`batch_job`):
that job's thread builds its own StageCache, so the batch's models have one owner and
the window's model thread stays free for interactive work. Progress values come back
to the dialog (count, rate, time left, each failure); Cancel sets an event the run
checks between images, so it stops soon, keeps what was written and still writes
results.json and the summary (a later run resumes). Closing the window aborts the job
(JobRunner closes the generator; run_batch stops its threads).
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QSettings, QUrl
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vision_studio.gui.workers import JobRunner

OPTIONAL_FORMATS = (("csv", "CSV table"), ("coco", "COCO JSON"), ("yolo", "YOLO labels"),
                    ("voc", "Pascal VOC XML"), ("crops", "Face crops per person"),
                    ("report", "Summary and HTML report"))


def batch_job(inputs, recursive: bool, options, pipeline, analyzers, cancel: threading.Event):
    """Worker job (no Qt): yields Progress values, returns the BatchSummary."""
    from vision_studio.core.analysis import AnalysisPlan
    from vision_studio.core.analyzers import StageCache
    from vision_studio.core.batch import Progress, collect, run_batch

    yield Progress(0, 0, 0, 0, 0, 0.0, notice="Listing the images…")
    notices: list[str] = []
    items, errors = collect(inputs, recursive, notices)
    for line in notices:
        yield Progress(0, len(items), 0, 0, 0, 0.0, notice=line)
    if analyzers is not None and analyzers.active:
        yield Progress(0, len(items), 0, 0, 0, 0.0, notice="Loading the models…")
        stages = StageCache(threads="batch")
        plan = stages.plan(pipeline, analyzers, cancel=cancel.is_set)
        names = getattr(stages.detector, "names", None)
        if names:
            from dataclasses import replace

            options = replace(options, class_names=dict(names))
    else:
        plan = AnalysisPlan(pipeline)
    summary = yield from run_batch(plan, items, options, should_stop=cancel.is_set)
    summary.failures[:0] = errors
    return summary


def video_batch_job(source: Path, outdir: Path, overwrite: bool, pipeline, analyzers, cancel: threading.Event):
    """Worker job (no Qt): yields VideoProgress values, returns the VideoOutcome."""
    from vision_studio.core.analysis import AnalysisPlan
    from vision_studio.core.analyzers import StageCache
    from vision_studio.core.sources.spec import parse_source
    from vision_studio.core.sources.video_job import VideoProgress, analyze_video

    spec = parse_source(str(source))
    yield VideoProgress(0, None, 0.0)
    if analyzers is not None and analyzers.active:
        plan = StageCache(threads="batch").plan(pipeline, analyzers, cancel=cancel.is_set)
    else:
        plan = AnalysisPlan(pipeline)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"{outdir}: cannot create folder ({exc.strerror or exc})") from None
    return (yield from analyze_video(spec, plan, outdir, overwrite=overwrite, should_stop=cancel.is_set))


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02}:{s:02}" if h else f"{m}:{s:02}"


class BatchDialog(QDialog):
    def __init__(self, jobs: JobRunner, settings: QSettings, pipeline, analyzers, style,
                 folder: Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Batch Process Folder or Video")
        self.jobs, self.settings = jobs, settings
        self.pipeline, self.analyzers, self.style = pipeline, analyzers, style
        self._cancel: threading.Event | None = None
        self.summary = None

        self.input_edit = QLineEdit(str(folder or settings.value("batch/input", "")), self)
        self.output_edit = QLineEdit(str(settings.value("batch/output", "")), self)
        if folder and not self.output_edit.text():
            self.output_edit.setText(str(folder.parent / f"{folder.name} (analyzed)"))
        self.recursive = QCheckBox("Include sub-folders (mirrored in the output)", self)
        self.recursive.setChecked(settings.value("batch/recursive", "true") in (True, "true"))
        self.overwrite = QCheckBox("Overwrite files already exported (otherwise they are skipped)", self)
        self.annotated = QCheckBox("Annotated images", self)
        self.annotated.setChecked(True)
        self.image_format = QComboBox(self)
        for text, ext in (("Same as input", None), ("PNG", "png"), ("JPEG", "jpg"), ("WebP", "webp"),
                          ("TIFF", "tif")):
            self.image_format.addItem(text, ext)
        self.format_boxes: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        json_box = QCheckBox("results.json (always)", self)
        json_box.setChecked(True)
        json_box.setEnabled(False)
        grid.addWidget(json_box, 0, 0)
        saved = str(settings.value("batch/formats", "report")).split(",")
        for i, (key, text) in enumerate(OPTIONAL_FORMATS, start=1):
            box = QCheckBox(text, self)
            box.setChecked(key in saved)
            self.format_boxes[key] = box
            grid.addWidget(box, i // 2, i % 2)

        form = QFormLayout()
        input_row = self._with_browse(self.input_edit, "Input folder")
        video_button = QPushButton("Video…", self)
        video_button.setToolTip("Analyse a video file: an annotated MP4 and one JSON line per frame")
        video_button.clicked.connect(self._browse_video)
        input_row.addWidget(video_button)
        form.addRow("Input folder or video", input_row)
        form.addRow("Output folder", self._with_browse(self.output_edit, "Output folder"))
        form.addRow("", self.recursive)
        form.addRow("", self.overwrite)
        images = QHBoxLayout()
        images.addWidget(self.annotated)
        images.addWidget(self.image_format)
        images.addStretch(1)
        form.addRow("Write", images)
        form.addRow("", grid)
        n = sum(1 for step in pipeline.steps if step.enabled)
        what = [f"the pipeline ({n} step{'s' if n != 1 else ''})"] if n else []
        what += [name for name, on in (("faces", analyzers and analyzers.faces),
                                       ("objects", analyzers and analyzers.objects)) if on]
        form.addRow("Runs", QLabel(", ".join(what) or "nothing: the images are copied as they are", self))

        self.progress = QProgressBar(self)
        self.progress.setFormat("%v / %m")
        self.status = QLabel("", self)
        self.errors = QListWidget(self)
        self.errors.setMaximumHeight(120)
        self.errors.setVisible(False)
        self.result = QLabel("", self)
        self.result.setOpenExternalLinks(True)
        self.result.setWordWrap(True)
        self.start_button = QPushButton("Start", self)
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.start_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.errors)
        layout.addWidget(self.result)
        layout.addLayout(buttons)
        self.resize(620, self.sizeHint().height())

    def _with_browse(self, edit: QLineEdit, title: str) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        button = QPushButton("Browse…", self)
        button.clicked.connect(lambda: self._browse(edit, title))
        row.addWidget(button)
        return row

    def _browse(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text())
        if folder:
            edit.setText(folder)

    def _browse_video(self) -> None:
        from vision_studio.core.sources.spec import VIDEO_EXTENSIONS

        patterns = " ".join(f"*{ext}" for ext in sorted(VIDEO_EXTENSIONS))
        path, _ = QFileDialog.getOpenFileName(self, "Video file", self.input_edit.text(),
                                              f"Videos ({patterns});;All files (*)")
        if path:
            self.input_edit.setText(path)

    # ------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        return self._cancel is not None

    def formats(self) -> tuple[str, ...]:
        return ("json",) + tuple(k for k, box in self.format_boxes.items() if box.isChecked())

    def start(self) -> None:
        from vision_studio.core.batch import BatchOptions

        from vision_studio.core.sources.spec import is_video_path

        src, dst = Path(self.input_edit.text().strip()), Path(self.output_edit.text().strip())
        video = src.is_file() and is_video_path(src)
        if not self.input_edit.text().strip() or not (src.is_dir() or video):
            return self._fail(f"{src}: not a folder or a video file")
        if not self.output_edit.text().strip() or (dst.exists() and not dst.is_dir()):
            return self._fail(f"{dst}: choose an output folder")
        if dst.resolve() == src.resolve():
            return self._fail("the output folder must not be the input folder")
        if video:
            return self._start_video(src, dst)
        for key, value in (("input", str(src)), ("output", str(dst)), ("formats", ",".join(self.formats())),
                           ("recursive", self.recursive.isChecked())):
            self.settings.setValue(f"batch/{key}", value)
        options = BatchOptions(outdir=dst, formats=self.formats(), annotated=self.annotated.isChecked(),
                               image_format=self.image_format.currentData(), overwrite=self.overwrite.isChecked(),
                               style=self.style)
        self._cancel = threading.Event()
        self.summary = None
        self.errors.clear()
        self.errors.setVisible(False)
        self.result.setText("")
        self.status.setText("Starting…")
        self.progress.setRange(0, 0)
        self._set_running(True)
        self.jobs.start(batch_job, [src], self.recursive.isChecked(), options, self.pipeline, self.analyzers,
                        self._cancel, name="Batch", on_progress=self._on_progress, on_result=self._on_done,
                        on_error=self._on_error, on_finished=lambda: self._set_running(False))

    def _start_video(self, src: Path, dst: Path) -> None:
        self.settings.setValue("batch/output", str(dst))
        self._cancel = threading.Event()
        self.summary = None
        self.errors.clear()
        self.errors.setVisible(False)
        self.result.setText("")
        self.status.setText(f"Opening {src.name}…")
        self.progress.setRange(0, 0)
        self._set_running(True)
        self.jobs.start(video_batch_job, src, dst, self.overwrite.isChecked(), self.pipeline, self.analyzers,
                        self._cancel, name="Video batch", on_progress=self._on_video_progress,
                        on_result=self._on_video_done, on_error=self._on_error,
                        on_finished=lambda: self._set_running(False))

    def _on_video_progress(self, p) -> None:
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(min(p.frames, p.total))
        left = (p.total - p.frames) / p.fps if p.total and p.fps > 0 else None
        if p.frames:
            self.status.setText(f"frame {p.frames}" + (f" / {p.total}" if p.total else "")
                                + f" — {p.fps:.1f} frames/s — {format_eta(left)} left")

    def _on_video_done(self, outcome) -> None:
        self.summary = outcome
        if outcome.skipped:
            self.status.setText(f"Skipped: {outcome.mp4.name} exists (tick Overwrite to replace it).")
            return
        if outcome.error:
            self._add_error(outcome.mp4.name, outcome.error)
        out = QUrl.fromLocalFile(str(outcome.mp4.parent)).toString()
        self.result.setText(f"<b>{'Stopped' if outcome.error else 'Done'}</b>: {outcome.frames} frames in "
                            f"{outcome.elapsed:.1f} s → {_esc(outcome.mp4.name)} "
                            f"({outcome.size_bytes / 1e6:.1f} MB) and {_esc(outcome.jsonl.name)}"
                            f" · <a href=\"{out}\">Open the output folder</a>")
        self.progress.setRange(0, max(1, outcome.frames))
        self.progress.setValue(outcome.frames)
        self.status.setText("Done." if not outcome.error else "Stopped; what was analysed is kept.")

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.status.setText("Cancelling (the images being written are finished first)…")

    def _set_running(self, running: bool) -> None:
        if not running:
            self._cancel = None
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for w in (self.input_edit, self.output_edit, self.recursive, self.overwrite, self.annotated,
                  self.image_format, *self.format_boxes.values()):
            w.setEnabled(not running)

    def _fail(self, message: str) -> None:
        self.status.setText(message)

    def _on_progress(self, p) -> None:
        if p.notice and not p.done:  # before the first image: what the run is doing
            self.status.setText(p.notice)
            if p.notice.startswith("warning"):
                self._add_error("results.json", p.notice)
            elif ": note: " in p.notice:  # files of a folder left out: listed, the run goes on
                self.errors.setVisible(True)
                self.errors.addItem(p.notice)
            return
        if self.progress.maximum() != p.total:
            self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)
        self.status.setText(f"{p.done} / {p.total} — {p.rate:.1f} images/s — {format_eta(p.eta)} left"
                            + (f" — {p.skipped} skipped" if p.skipped else ""))
        if p.error:
            self._add_error(*p.error)

    def _add_error(self, path: str, reason: str) -> None:
        self.errors.setVisible(True)
        self.errors.addItem(f"{path}: {reason}")

    def _on_done(self, summary) -> None:
        self.summary = summary
        shown = {self.errors.item(i).text() for i in range(self.errors.count())}
        for path, reason in summary.failures:  # folder errors and the files written at the end
            if f"{path}: {reason}" not in shown:
                self._add_error(path, reason)
        what = "Cancelled" if summary.cancelled else "Done"
        counts = ", ".join(f"{n} {name}" for name, n in summary.classes.most_common(6))
        people = ", ".join(f"{name} {n}" for name, n in summary.people.most_common(6))
        text = (f"<b>{what}</b>: {summary.processed} processed, {summary.skipped} skipped, "
                f"{len(summary.failures)} failed in {summary.elapsed:.1f} s.")
        if counts:
            text += f"<br>Found: {_esc(counts)}"
        if people:
            text += f"<br>People: {_esc(people)}"
        if summary.report is not None and summary.report.exists():
            text += f"<br><a href=\"{QUrl.fromLocalFile(str(summary.report)).toString()}\">Open the report</a>"
        out = QUrl.fromLocalFile(str(summary.outdir)).toString()
        text += f" · <a href=\"{out}\">Open the output folder</a>"
        self.result.setText(text)
        self.progress.setRange(0, max(1, summary.total))
        self.progress.setValue(summary.total if not summary.cancelled else self.progress.value())
        self.status.setText(f"{what}.")

    def _on_error(self, exc: BaseException) -> None:
        self.status.setText(f"Batch failed: {exc}")

    def closeEvent(self, event) -> None:
        self.cancel()
        super().closeEvent(event)


def _esc(text: str) -> str:
    import html

    return html.escape(text)
