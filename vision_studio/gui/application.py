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
    if pipeline:
        window.pipeline_dock.load_file(Path(pipeline))
    if paths:
        QTimer.singleShot(0, lambda: window.open_paths(paths))
    if screenshot:
        _arm_screenshot(app, window, Path(screenshot), expect_jobs=bool(paths))
    code = app.exec()
    return code if code else getattr(app, "_vs_exit_code", 0)


def _arm_screenshot(app, window, out: Path, expect_jobs: bool) -> None:
    """Save a PNG of the whole window once everything has loaded, then quit."""
    from vision_studio.core.export import ExportError, atomic_write

    state = {"done": False}

    def take():
        if state["done"]:
            return
        state["done"] = True
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
            print(f"error: {exc}", file=sys.stderr)
            app._vs_exit_code = 1
        window.close()
        app.quit()

    def settle():
        QTimer.singleShot(SETTLE_MS, lambda: None if window.jobs.busy else take())

    window.sig_idle.connect(settle)
    window.browser.sig_failed.connect(lambda *_: QTimer.singleShot(0, lambda: None if window.jobs.busy else settle()))
    if not expect_jobs:
        settle()
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, take)
