"""What File > Export Results and File > Batch Process Folder do (the window's actions call these).

Results are computed afresh at full resolution in the thread that owns the models
(`pipeline.analysis_runner()`), like the annotated export, so the file equals what
`vision-studio analyze --formats` writes for the same image.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

RESULT_FILTERS = (("JSON results (*.json)", "json", ".json"), ("CSV, one row per detection (*.csv)", "csv", ".csv"),
                  ("COCO JSON (*.json)", "coco", ".json"), ("YOLO label + classes.txt, data.yaml (*.txt)", "yolo", ".txt"),
                  ("Pascal VOC XML (*.xml)", "voc", ".xml"))


def export_results_job(path: Path, fmt: str, pipeline, pixels, source: Path, stages, analyzers) -> Path:
    from vision_studio.core.analysis import AnalysisPlan
    from vision_studio.core.batch import export_results

    plan = stages.plan(pipeline, analyzers) if stages is not None else AnalysisPlan(pipeline)
    return export_results(plan, pixels, source, path, fmt)


def run_results_export(window) -> None:
    """File > Export Results…: the current image's detections as JSON, CSV, COCO, YOLO or VOC."""
    image = window.browser.current
    if image is None:
        window.statusBar().showMessage("Nothing to export: open an image first", 6000)
        return
    filters = ";;".join(f for f, _, _ in RESULT_FILTERS)
    path, chosen = QFileDialog.getSaveFileName(window, "Export results", str(image.path.with_suffix(".json")),
                                               filters)
    if not path:
        return
    _, fmt, ext = next((r for r in RESULT_FILTERS if r[0] == chosen), RESULT_FILTERS[0])
    path = Path(path)
    if path.suffix.lower() != ext:
        path = path.with_suffix(ext)
    start_results_export(window, path, fmt)


def start_results_export(window, path: Path, fmt: str) -> None:
    image = window.browser.current
    runner, stages = window.pipeline.analysis_runner()
    runner.start(export_results_job, path, fmt, window.pipeline.pipeline, image.pixels, image.path, stages,
                 window.pipeline.analyzers, name=f"Exporting {path.name}",
                 on_result=lambda p: window.statusBar().showMessage(f"Saved {p}", 8000),
                 on_error=lambda exc: window._on_export_error(path, exc))


def run_batch_dialog(window) -> None:
    """File > Batch Process Folder…: one dialog per window, kept while it runs."""
    from vision_studio.gui.batch_dialog import BatchDialog
    from vision_studio.gui.export_dialog import load_style

    dialog = getattr(window, "_batch_dialog", None)
    if dialog is not None and dialog.running:
        dialog.raise_()
        return
    current = window.browser.current_path
    folder = current.parent if current is not None else None
    dialog = BatchDialog(window.jobs, window.settings, window.pipeline.pipeline, window.pipeline.analyzers,
                         load_style(window.settings), folder, window)
    window._batch_dialog = dialog
    dialog.show()
