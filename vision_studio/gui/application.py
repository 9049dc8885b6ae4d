"""Start the GUI: QApplication, the main window, and the --screenshot mode."""
from __future__ import annotations

import logging
import sys
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QSettings, QtMsgType, QTimer, qInstallMessageHandler
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from vision_studio import APP_NAME, ORG_NAME, __version__

log = logging.getLogger(__name__)
SETTLE_MS = 400  # after the last job finished, let layouts and thumbnails paint
SCREENSHOT_TIMEOUT_MS = 60_000


# Qt messages that are expected and say nothing to a user (offscreen has no native windows).
_QUIET_QT_MESSAGES = ("This plugin does not support propagateSizeHints", "This plugin does not support raise")


def _qt_message(mode, context, message: str) -> None:
    if any(message.startswith(q) for q in _QUIET_QT_MESSAGES):
        return
    level = logging.DEBUG if mode == QtMsgType.QtDebugMsg else logging.WARNING
    logging.getLogger("vision_studio.qt").log(level, "%s", message)


def make_app(argv: list[str] | None = None) -> QApplication:
    if QApplication.instance() is None and "pytest" not in sys.modules:  # pytest-qt has its own
        qInstallMessageHandler(_qt_message)
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("vision-studio")
    icon = resources.files("vision_studio").joinpath("resources", "vision-studio.svg")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def run_gui(paths: list[str], screenshot: str | None = None, pipeline: str | None = None) -> int:
    app = make_app()
    from vision_studio.gui.main_window import MainWindow

    window = MainWindow(QSettings())
    window.show()
    problems: list[str] = []  # --screenshot exits 1 when anything it was asked to show failed
    if pipeline:
        error = window.pipeline_dock.load_file(Path(pipeline))
        if error:
            problems.append(error)
    if paths:
        QTimer.singleShot(0, lambda: window.open_paths(paths))
    if screenshot:
        window.browser.sig_failed.connect(lambda _path, message: problems.append(message))
        _arm_screenshot(app, window, Path(screenshot), expect_jobs=bool(paths), problems=problems)
    code = app.exec()
    return code if code else getattr(app, "_vs_exit_code", 0)


def _busy(window) -> bool:
    return window.jobs.busy or window.pipeline.model_jobs.busy


def _arm_screenshot(app, window, out: Path, expect_jobs: bool, problems: list[str]) -> None:
    """Save a PNG of the whole window once everything has loaded, then quit.

    Exit status 1 (after saving what the window shows) when the image or pipeline could
    not be loaded, a job failed, or the jobs were still running at the timeout."""
    from vision_studio.core.export import ExportError, atomic_write

    state = {"done": False}
    window.jobs.sig_error.connect(lambda name, exc: problems.append(f"{name} failed: {exc}"))
    window.pipeline.sig_failed.connect(problems.append)

    def take(timed_out: bool = False):
        if state["done"]:
            return
        state["done"] = True
        if timed_out and _busy(window):
            running = ", ".join(window.jobs.running_names() + window.pipeline.model_jobs.running_names())
            problems.append(f"still running after {SCREENSHOT_TIMEOUT_MS // 1000} s: {running}")
        try:
            with atomic_write(out) as fh:
                from PySide6.QtCore import QBuffer, QByteArray, QIODevice

                data = QByteArray()
                buf = QBuffer(data)
                buf.open(QIODevice.OpenModeFlag.WriteOnly)
                if not window.grab().save(buf, "PNG"):
                    raise ExportError(out, "could not encode the screenshot")
                fh.write(bytes(data))
            print(f"screenshot saved: {out}")
        except ExportError as exc:
            problems.append(str(exc))
        for problem in dict.fromkeys(problems):  # each once, in order
            print(f"error: {problem}", file=sys.stderr)
        if problems:
            app._vs_exit_code = 1
        window.close()
        app.quit()

    def settle():
        QTimer.singleShot(SETTLE_MS, lambda: None if _busy(window) else take())

    window.sig_idle.connect(settle)
    window.browser.sig_failed.connect(lambda *_: QTimer.singleShot(0, lambda: None if _busy(window) else settle()))
    if not expect_jobs:
        settle()
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, lambda: take(timed_out=True))
